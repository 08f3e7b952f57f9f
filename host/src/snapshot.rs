//! Registry -> snapshot: reads every family's values at one instant.
//!
//! The string and label-set tables are shared with the registry (an `Arc`),
//! not copied, and so is each family's column of label-set ids while the
//! family gains no series; what is allocated per snapshot is the value
//! columns. Each family reads its own columns (`registry/family_read.rs`);
//! `series_batches` turns a snapshot into what a renderer reads.
use crate::registry::{InternTables, Registry};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::registry::family_read::{FamilySnapshot, HistogramColumns, SummaryColumns};

/// A consistent view of a registry, per family.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Strings and label sets, shared with the registry.
    pub tables: Arc<InternTables>,
    /// The families, in registration order.
    pub families: Vec<FamilySnapshot>,
    /// When the snapshot was taken, in ms since the Unix epoch.
    pub timestamp_ms: i64,
}

/// Which families a snapshot reads.
#[derive(Debug, Clone, Default)]
pub enum FamilyFilter {
    /// Every family.
    #[default]
    All,
    /// Only the families with these exact names (others are neither read
    /// nor rendered).
    Names(std::collections::HashSet<String>),
}

impl Registry {
    /// Reads every family. Series and families created while the snapshot
    /// is taken appear in the next one.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_of(&FamilyFilter::All)
    }

    /// Reads the families `filter` selects, like [`Registry::snapshot`].
    pub fn snapshot_of(&self, filter: &FamilyFilter) -> Snapshot {
        let (tables, families) = self.read_families(|name| match filter {
            FamilyFilter::All => true,
            FamilyFilter::Names(names) => names.contains(name),
        });
        let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Snapshot { tables, families, timestamp_ms }
    }
}
