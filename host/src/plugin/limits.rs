//! Bounds on one call into a plugin, and the resource limiter that enforces
//! the memory part of them inside wasmtime.
//!
//! wasmtime asks a [`ResourceLimiter`] about each linear memory and table
//! separately; [`StoreCaps`] adds them up, so a component with several
//! memories (multi-memory, or several core instances each with its own
//! memory) gets one budget for the whole render, not one per memory. It also
//! caps how many instances, memories and tables a render may create.
use std::time::Duration;
use wasmtime::ResourceLimiter;

/// Bounds on one render.
#[derive(Debug, Clone)]
pub struct RenderLimits {
    /// Wall-clock time the render may take, host calls included; only time
    /// blocked on a client that is not reading is excluded (that wait has its
    /// own limit, the client stall timeout).
    pub deadline: Duration,
    /// Bytes of every linear memory and table of the render together.
    pub memory_bytes: usize,
    /// Output bytes the guest may write.
    pub output_bytes: u64,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits { deadline: Duration::from_secs(30), memory_bytes: 256 << 20, output_bytes: 2 << 30 }
    }
}

/// Core instances a render may create (a std-built Rust component has a
/// handful, a componentize-py one a few dozen).
pub const MAX_INSTANCES: usize = 256;
/// Linear memories a render may create.
pub const MAX_MEMORIES: usize = 16;
/// Tables a render may create.
pub const MAX_TABLES: usize = 256;
/// What one table element is counted as against the memory cap.
const TABLE_ELEMENT_BYTES: usize = 8;
/// `output.write` calls per render. Output is also capped in bytes and every
/// call costs render time; this bounds the number of host calls outright.
pub const MAX_WRITE_CALLS: u64 = 4 << 20;
/// `output.write` calls a guest may make after one returned false before
/// the host stops it (a trap; the render fails for the refusal's reason):
/// a plugin ignoring the refusal would otherwise hold its render slot, and
/// burn a core, until the deadline.
pub const MAX_WRITES_AFTER_REFUSAL: u64 = 1024;
/// `input.next-batch` calls per render (a batch holds up to 4096 series, so
/// this is far beyond what any snapshot needs).
pub const MAX_BATCH_CALLS: u64 = 1 << 20;
/// Entries in the WASI resource table of one render (streams, pollables).
pub const MAX_WASI_RESOURCES: usize = 10_000;
/// Largest `wasi:random` request, in bytes.
pub const MAX_RANDOM_BYTES: u64 = 1 << 20;

/// The memory and count limiter of one store: one byte budget shared by all
/// linear memories and tables.
#[derive(Debug)]
pub struct StoreCaps {
    limit: usize,
    /// Bytes of memories and tables granted so far.
    used: usize,
    /// Set when a growth was refused, so the trap that usually follows is
    /// reported as "out of memory".
    pub refused: bool,
}

impl StoreCaps {
    /// Caps at `limit` bytes of memories and tables together.
    pub fn new(limit: usize) -> Self {
        StoreCaps { limit, used: 0, refused: false }
    }

    /// Bytes granted so far, over every memory and table.
    pub fn used(&self) -> usize {
        self.used
    }

    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let total = self.used.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.refused = true;
            return false;
        }
        self.used = total;
        true
    }
}

impl ResourceLimiter for StoreCaps {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.grow(current.saturating_mul(TABLE_ELEMENT_BYTES), desired.saturating_mul(TABLE_ELEMENT_BYTES)))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_and_tables_share_one_budget() {
        let mut caps = StoreCaps::new(100 << 20);
        assert!(caps.memory_growing(0, 60 << 20, None).unwrap(), "first memory");
        assert!(!caps.memory_growing(0, 60 << 20, None).unwrap(), "a second memory of the same size does not fit");
        assert!(caps.refused);
        assert!(caps.memory_growing(0, 40 << 20, None).unwrap(), "what is left fits");
        assert!(!caps.table_growing(0, 1, None).unwrap(), "tables count against the same budget");
        assert_eq!(caps.used(), 100 << 20);
    }

    #[test]
    fn growing_one_memory_counts_only_the_difference() {
        let mut caps = StoreCaps::new(10 << 20);
        assert!(caps.memory_growing(0, 4 << 20, None).unwrap());
        assert!(caps.memory_growing(4 << 20, 10 << 20, None).unwrap());
        assert!(!caps.memory_growing(10 << 20, (10 << 20) + 65536, None).unwrap());
        assert_eq!(caps.used(), 10 << 20);
    }
}
