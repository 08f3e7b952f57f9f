//! `metrics-host`: parses the command line and hands it to the library.
use clap::Parser;

fn main() -> std::process::ExitCode {
    // One malloc arena per core, before any thread starts (see heap.rs).
    metrics_host::heap::limit_arenas(std::thread::available_parallelism().map_or(2, |n| n.get()).max(2));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match metrics_host::app::cli::run(metrics_host::app::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
