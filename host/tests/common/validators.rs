//! Validators we did not write: promtool (Debian's prometheus package) and
//! Python's prometheus_client (in `.venv`, `make test-deps`).
use std::io::Write;
use std::process::{Command, Stdio};

/// The Python with prometheus_client (`METRICS_TEST_PYTHON`, set by `make test`).
pub fn python() -> String {
    std::env::var("METRICS_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs `program args` with `input` on stdin; returns (exit code, stdout, stderr).
pub fn run_with_stdin(program: &str, args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); `make test-deps` installs it"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// promtool's naming lints, which KumoMTA's own metric names trigger.
pub const NAMING_LINTS: [&str; 3] = [
    "counter metrics should have \"_total\" suffix",
    "non-counter metrics should not have \"_total\" suffix",
    "non-histogram and non-summary metrics should not have \"_count\" suffix",
];

/// promtool finds nothing at all to say, naming lints included.
pub fn assert_promtool_lint_free(text: &str) {
    let (code, stdout, stderr) = run_with_stdin("promtool", &["check", "metrics"], text.as_bytes());
    assert_eq!((code, stdout.trim(), stderr.trim()), (0, "", ""), "--- input ---\n{text}");
}

pub fn assert_promtool_clean(text: &str) {
    let (code, stdout, stderr) = run_with_stdin("promtool", &["check", "metrics"], text.as_bytes());
    let complaints: Vec<&str> = stdout.lines().chain(stderr.lines()).filter(|l| !l.trim().is_empty()).collect();
    match code {
        0 => {}
        3 => {
            for line in &complaints {
                assert!(NAMING_LINTS.iter().any(|lint| line.contains(lint)), "promtool complaint beyond naming lints: {line}");
            }
        }
        _ => panic!("promtool exit {code}: {complaints:#?}\n--- input ---\n{text}"),
    }
}

/// What prometheus_client's parser (`text` or `openmetrics`) reads from
/// `text`: families as JSON (see `tests/prometheus_client_parse.py`).
pub fn prometheus_client_parse(parser: &str, text: &str) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/prometheus_client_parse.py");
    let (code, stdout, stderr) = run_with_stdin(&python(), &[script, parser], text.as_bytes());
    assert_eq!(code, 0, "prometheus_client {parser} parser refused the output: {stderr}\n--- input ---\n{text}");
    serde_json::from_str(&stdout).expect("parser output is JSON")
}
