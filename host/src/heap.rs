//! The process heap: handing freed memory back to the operating system
//! after a large, short-lived allocation (a plugin artifact, the tables an
//! interner compaction replaced), so it does not stay resident.

/// Releases free heap pages (glibc's `malloc_trim`; a no-op elsewhere).
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
