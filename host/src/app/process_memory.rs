//! Memory readings of this process and its cgroup (Linux), for the demo's
//! `memory_usage` and `memory_limit`.
use std::fs;

/// Resident set size of this process in bytes, from `/proc/self/status`.
pub fn resident_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    kib_field(&status, "VmRSS:")
}

/// The memory limit that applies to this process in bytes: the cgroup
/// limit (v2 `memory.max`, else v1 `memory.limit_in_bytes`) when one is
/// set, otherwise the machine's total memory.
pub fn limit_bytes() -> Option<u64> {
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .find_map(|text| text.trim().parse::<u64>().ok());
    let total = fs::read_to_string("/proc/meminfo").ok().and_then(|m| kib_field(&m, "MemTotal:"));
    match (cgroup, total) {
        // cgroup v1 reports "no limit" as a huge number.
        (Some(limit), Some(total)) => Some(limit.min(total)),
        (limit, total) => limit.or(total),
    }
}

fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kib_fields() {
        assert_eq!(kib_field("Name:\tx\nVmRSS:\t  2048 kB\n", "VmRSS:"), Some(2 * 1024 * 1024));
        assert_eq!(kib_field("VmRSS: junk\n", "VmRSS:"), None);
    }

    #[test]
    fn reads_this_process() {
        let rss = resident_bytes().expect("Linux has /proc/self/status");
        assert!(rss > 1 << 20, "a test binary uses more than 1 MiB: {rss}");
        assert!(limit_bytes().expect("a limit or the machine total") >= rss);
    }
}
