//! Interned strings and label sets, shared by every family of a registry.
//!
//! Strings and label sets are stored once, in flat columns (one text blob
//! with end offsets; label sets as ranges of name and value ids), so taking
//! a snapshot hands out an `Arc` of the tables instead of copying strings;
//! `series_batches` reads label values from them when a renderer asks. New
//! entries go to a pending area first; a snapshot folds them into the
//! published tables. That copy is proportional to what was added since the
//! last snapshot (the first fold moves the tables instead); the published
//! tables are only cloned as a whole when a render still holds the previous
//! ones.
use hashbrown::HashTable;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The published string and label-set tables, as the WIT snapshot lays them out.
#[derive(Debug, Clone, Default)]
pub struct InternTables {
    /// Every string, concatenated.
    pub text: String,
    /// End offset of each string in `text`.
    pub string_ends: Vec<u32>,
    /// End (in pairs) of each label set.
    pub label_set_ends: Vec<u32>,
    /// Name string of each label pair.
    pub label_names: Vec<u32>,
    /// Value string of each label pair.
    pub label_values: Vec<u32>,
    /// The interner generation these ids belong to.
    pub generation: u64,
}

impl InternTables {
    /// String `index`. Panics when out of range.
    #[inline]
    pub fn string(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.string_ends[index - 1] as usize };
        &self.text[start..self.string_ends[index] as usize]
    }

    /// The value string ids of label set `set`, in the order of its names.
    /// Panics when out of range.
    #[inline]
    pub fn label_values_of(&self, set: u32) -> &[u32] {
        let i = set as usize;
        let start = if i == 0 { 0 } else { self.label_set_ends[i - 1] as usize };
        &self.label_values[start..self.label_set_ends[i] as usize]
    }

    /// Appends `pending`, whose offsets are relative to itself.
    fn append(&mut self, pending: &InternTables) {
        let text_base = self.text.len() as u32;
        let pair_base = self.label_names.len() as u32;
        self.text.push_str(&pending.text);
        self.string_ends.extend(pending.string_ends.iter().map(|end| end + text_base));
        self.label_set_ends.extend(pending.label_set_ends.iter().map(|end| end + pair_base));
        self.label_names.extend_from_slice(&pending.label_names);
        self.label_values.extend_from_slice(&pending.label_values);
    }

    fn clear(&mut self) {
        self.text.clear();
        self.string_ends.clear();
        self.label_set_ends.clear();
        self.label_names.clear();
        self.label_values.clear();
    }

    /// Number of strings.
    pub fn string_count(&self) -> u32 {
        self.string_ends.len() as u32
    }

    /// Number of label sets.
    pub fn label_set_count(&self) -> u32 {
        self.label_set_ends.len() as u32
    }
}

/// Pending text capacity kept between snapshots; above it the pending
/// tables are freed once published.
const PENDING_KEPT_BYTES: usize = 64 * 1024;

/// Why a string cannot be interned.
#[derive(Debug, thiserror::Error)]
#[error("the interned text would exceed 4 GiB")]
pub struct InternerFull;

#[derive(Default)]
struct InternState {
    /// What the last snapshot saw; render calls hold clones of this `Arc`.
    published: Arc<InternTables>,
    /// Added since the last snapshot; offsets relative to `pending` itself.
    pending: InternTables,
    /// String id by content; hashes the text, stores only ids.
    string_index: HashTable<u32>,
    hasher: RandomState,
}

impl InternState {
    fn string<'a>(published: &'a InternTables, pending: &'a InternTables, id: u32) -> &'a str {
        let published_count = published.string_ends.len();
        let id = id as usize;
        if id < published_count {
            published.string(id)
        } else {
            pending.string(id - published_count)
        }
    }

    fn string_count(&self) -> usize {
        self.published.string_ends.len() + self.pending.string_ends.len()
    }
}

/// The interned ids a family's table holds, which a compaction renumbers.
pub(crate) struct InternedIds<'a> {
    pub(crate) name: &'a mut u32,
    pub(crate) help: &'a mut Option<u32>,
    pub(crate) label_names: &'a mut [u32],
    /// One label set per series.
    pub(crate) label_sets: &'a mut [u32],
    /// Every series' label value ids, flat, replaced whole.
    pub(crate) label_values: &'a mut Vec<u32>,
}

/// A table of interned ids (a family's series table): what
/// [`Interner::compact`] rewrites, without the interner knowing families.
pub(crate) trait RenumberedTable {
    fn interned_ids(&mut self) -> InternedIds<'_>;
    /// Called once its ids are renumbered into `generation`.
    fn renumbered(&mut self, generation: u64);
}

/// Interns strings and label sets; cheap to share behind an `Arc`.
#[derive(Default)]
pub struct Interner {
    state: RwLock<InternState>,
    /// Bumped by every compaction: ids from an older generation are void.
    generation: AtomicU64,
    /// Bumped whenever a series or family is removed or expires: handles
    /// cached by key (the facade's) may point at removed cells.
    removals: AtomicU64,
}

impl Interner {
    /// How many times series or families were removed.
    pub fn removals(&self) -> u64 {
        self.removals.load(Ordering::Acquire)
    }

    pub(crate) fn note_removal(&self) {
        self.removals.fetch_add(1, Ordering::Release);
    }

    /// The current generation of ids.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Label sets interned (published and pending), dead or alive.
    pub(crate) fn label_set_count(&self) -> usize {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state.published.label_set_ends.len() + state.pending.label_set_ends.len()
    }

    /// Rebuilds the tables with only what `tables` refer to (their names,
    /// help, label names and the label sets of their series), renumbering
    /// every id and rewriting the tables to match; starts a new generation.
    /// The caller holds every family's table (write lock) and keeps new
    /// families out meanwhile. Snapshots in flight keep the old tables.
    pub(crate) fn compact(&self, tables: &mut [&mut dyn RenumberedTable]) {
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        let (published, pending) = (&state.published, &state.pending);
        let old_strings = state.string_count();
        let published_sets = published.label_set_ends.len();
        let old_values = |set: u32| -> &[u32] {
            let set = set as usize;
            if set < published_sets {
                published.label_values_of(set as u32)
            } else {
                pending.label_values_of((set - published_sets) as u32)
            }
        };
        let mut fresh = InternTables::default();
        let mut index: HashTable<u32> = HashTable::new();
        let mut renumbered = vec![u32::MAX; old_strings];
        let hasher = &state.hasher;
        let mut remap = |old: u32, fresh: &mut InternTables| -> u32 {
            let slot = &mut renumbered[old as usize];
            if *slot == u32::MAX {
                let text = InternState::string(published, pending, old);
                fresh.text.push_str(text);
                fresh.string_ends.push(fresh.text.len() as u32);
                *slot = fresh.string_ends.len() as u32 - 1;
                let id = *slot;
                let strings = &*fresh;
                index.insert_unique(hasher.hash_one(text), id, |&id| hasher.hash_one(strings.string(id as usize)));
            }
            *slot
        };
        let generation = self.generation() + 1;
        for table in tables.iter_mut() {
            let ids = table.interned_ids();
            *ids.name = remap(*ids.name, &mut fresh);
            *ids.help = ids.help.map(|h| remap(h, &mut fresh));
            for label in ids.label_names.iter_mut() {
                *label = remap(*label, &mut fresh);
            }
            let mut values = Vec::with_capacity(ids.label_values.len());
            for set in ids.label_sets.iter_mut() {
                let start = values.len();
                values.extend(old_values(*set).iter().map(|&v| remap(v, &mut fresh)));
                fresh.label_names.extend_from_slice(ids.label_names);
                fresh.label_values.extend_from_slice(&values[start..]);
                fresh.label_set_ends.push(fresh.label_names.len() as u32);
                *set = fresh.label_set_ends.len() as u32 - 1;
            }
            *ids.label_values = values;
            table.renumbered(generation);
        }
        fresh.text.shrink_to_fit();
        fresh.string_ends.shrink_to_fit();
        fresh.label_set_ends.shrink_to_fit();
        fresh.label_names.shrink_to_fit();
        fresh.label_values.shrink_to_fit();
        index.shrink_to_fit(|&id| hasher.hash_one(fresh.string(id as usize)));
        fresh.generation = generation;
        state.published = Arc::new(fresh);
        state.pending = InternTables::default();
        state.string_index = index;
        self.generation.store(generation, Ordering::Release);
    }

    /// The id of `text`, adding it when new.
    pub fn intern(&self, text: &str) -> Result<u32, InternerFull> {
        if let Some(id) = self.find(text) {
            return Ok(id);
        }
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        let hash = state.hasher.hash_one(text);
        let (published, pending) = (&state.published, &state.pending);
        if let Some(&id) = state.string_index.find(hash, |&id| InternState::string(published, pending, id) == text) {
            return Ok(id);
        }
        let total_text = published.text.len() + pending.text.len() + text.len();
        if total_text > u32::MAX as usize {
            return Err(InternerFull);
        }
        let id = state.string_count() as u32;
        state.pending.text.push_str(text);
        state.pending.string_ends.push(state.pending.text.len() as u32);
        let (published, pending, hasher) = (&state.published, &state.pending, &state.hasher);
        state.string_index.insert_unique(hash, id, |&id| hasher.hash_one(InternState::string(published, pending, id)));
        Ok(id)
    }

    /// The id of `text` if it was interned before.
    pub fn find(&self, text: &str) -> Option<u32> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let hash = state.hasher.hash_one(text);
        let (published, pending) = (&state.published, &state.pending);
        state.string_index.find(hash, |&id| InternState::string(published, pending, id) == text).copied()
    }

    /// Adds a label set of (name id, value id) pairs and returns its id.
    /// Label sets are not deduplicated: each series owns one.
    pub fn add_label_set(&self, names: &[u32], values: &[u32]) -> u32 {
        debug_assert_eq!(names.len(), values.len());
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let id = state.published.label_set_ends.len() + state.pending.label_set_ends.len();
        state.pending.label_names.extend_from_slice(names);
        state.pending.label_values.extend_from_slice(values);
        let end = state.pending.label_names.len() as u32;
        state.pending.label_set_ends.push(end);
        id as u32
    }

    /// Folds pending entries into the published tables and returns them.
    pub fn publish(&self) -> Arc<InternTables> {
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if state.pending.string_ends.is_empty() && state.pending.label_set_ends.is_empty() {
                return Arc::clone(&state.published);
            }
        }
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        match Arc::get_mut(&mut state.published) {
            // Nothing published yet (the first snapshot after start-up, when
            // most strings arrive): the pending tables become the published
            // ones as they are, without a copy.
            Some(published) if published.string_ends.is_empty() && published.label_set_ends.is_empty() => {
                std::mem::swap(published, &mut state.pending);
                // Kept for as long as the series live: no growth slack.
                // (Large buffers shrink in place: `realloc` remaps pages.)
                published.text.shrink_to_fit();
                published.string_ends.shrink_to_fit();
                published.label_set_ends.shrink_to_fit();
                published.label_names.shrink_to_fit();
                published.label_values.shrink_to_fit();
            }
            _ => Arc::make_mut(&mut state.published).append(&state.pending),
        }
        if state.pending.text.capacity() > PENDING_KEPT_BYTES {
            // A burst of new series: give its memory back rather than keep
            // a second copy of it for the next trickle.
            state.pending = InternTables::default();
        } else {
            state.pending.clear();
        }
        Arc::clone(&state.published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_a_burst_keeps_one_copy_of_it() {
        let interner = Interner::default();
        for i in 0..20_000 {
            interner.intern(&format!("queue number {i} of a burst")).unwrap();
        }
        let first = interner.publish();
        assert!(first.text.len() > PENDING_KEPT_BYTES);
        let pending_capacity = |interner: &Interner| interner.state.read().unwrap().pending.text.capacity();
        assert_eq!(pending_capacity(&interner), 0, "the first burst moved, not copied");
        for i in 0..20_000 {
            interner.intern(&format!("second burst {i}")).unwrap();
        }
        let second = interner.publish();
        assert_eq!(pending_capacity(&interner), 0, "a published burst is not kept twice");
        assert_eq!(second.string(0), "queue number 0 of a burst");
        assert_eq!(second.string(20_000), "second burst 0");
        assert_eq!(second.string_count(), 40_000);
        interner.intern("trickle").unwrap();
        interner.publish();
        assert!(pending_capacity(&interner) > 0, "small pending buffers are reused");
    }

    #[test]
    fn strings_are_stored_once_and_survive_publishing() {
        let interner = Interner::default();
        let a = interner.intern("alpha").unwrap();
        let b = interner.intern("beta").unwrap();
        assert_eq!(interner.intern("alpha").unwrap(), a);
        let first = interner.publish();
        let c = interner.intern("gamma").unwrap();
        assert_eq!(interner.intern("beta").unwrap(), b);
        let second = interner.publish();
        assert_eq!(first.string_count(), 2, "a held snapshot does not change");
        assert_eq!(second.string(a as usize), "alpha");
        assert_eq!(second.string(b as usize), "beta");
        assert_eq!(second.string(c as usize), "gamma");
        assert_eq!(second.text, "alphabetagamma");
    }

    #[test]
    fn label_sets_are_ranges_of_pairs() {
        let interner = Interner::default();
        let name = interner.intern("queue").unwrap();
        let value = interner.intern("a.com").unwrap();
        let empty = interner.add_label_set(&[], &[]);
        let one = interner.add_label_set(&[name], &[value]);
        let tables = interner.publish();
        assert_eq!((empty, one), (0, 1));
        assert_eq!(tables.label_set_ends, vec![0, 1]);
        assert_eq!((tables.label_names[0], tables.label_values[0]), (name, value));
    }
}
