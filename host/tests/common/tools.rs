//! The programs some tests need besides cargo and the wasm target:
//! validators (promtool, Python's prometheus_client), receivers
//! (Prometheus, VictoriaMetrics, Pushgateway), the Python and JavaScript
//! plugin toolchains' output, Debian's packaging tools.
//!
//! `make test` installs all of them and sets `METRICS_TEST_REQUIRE_TOOLS=1`:
//! there a missing one fails the test. Under a plain `cargo test` on a fresh
//! clone, a test whose tool is missing says which on stderr and returns
//! without running, so the rest of the suite still runs.
use std::process::{Command, Stdio};

/// Whether any of `needs` is missing (then the caller returns). A need is
/// a program on `PATH` (`promtool`), a module of the test Python
/// (`python:prometheus_client`), or a file (`file:/path`).
///
/// Panics instead when `METRICS_TEST_REQUIRE_TOOLS` is set.
pub fn missing(needs: &[&str]) -> bool {
    let absent: Vec<&str> = needs.iter().copied().filter(|need| !present(need)).collect();
    if absent.is_empty() {
        return false;
    }
    if std::env::var_os("METRICS_TEST_REQUIRE_TOOLS").is_some() {
        panic!("missing {absent:?}; `make test-deps` (and `make examples` for example plugins) installs them");
    }
    eprintln!("skipped: missing {absent:?} (`make test` installs them and runs this test)");
    true
}

fn present(need: &str) -> bool {
    if let Some(module) = need.strip_prefix("python:") {
        return runs(&super::validators::python(), &["-c", &format!("import {module}")]);
    }
    if let Some(path) = need.strip_prefix("file:") {
        return std::path::Path::new(path).exists();
    }
    runs(need, &["--version"])
}

/// `program args` starts and exits 0.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
