//! The process heap: handing freed memory back to the operating system
//! after a large, short-lived allocation (a plugin artifact, the tables an
//! interner compaction replaced), so it does not stay resident; and, for
//! the server binary, how many malloc arenas its threads may spread over.

/// Releases free heap pages (glibc's `malloc_trim`; a no-op elsewhere).
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps glibc's malloc arenas at `arenas` (its default is 8 per core). A
/// burst of concurrent renders runs on as many threads, each of which
/// would otherwise get an arena of its own that keeps its pages after the
/// burst (`malloc_trim` cannot hand back what fragmentation pins there):
/// measured on 1M series, 8 concurrent scrapes left the idle server 32 to
/// 50 MB larger with the default and about 0 MB with one arena per core
/// (`make bench`: `burst_retained_mb`). Call before threads start; the
/// server binary does, an embedding application decides for itself
/// (`MALLOC_ARENA_MAX` in the environment wins).
pub fn limit_arenas(arenas: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas.clamp(1, 64) as libc::c_int);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = arenas;
}
