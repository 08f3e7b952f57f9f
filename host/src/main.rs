//! `metrics-host`: the library's program (`metrics_host::command_line_main`).
fn main() -> std::process::ExitCode {
    metrics_host::command_line_main()
}
