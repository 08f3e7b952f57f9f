//! The program around the library: the command line ([`cli`]), KumoMTA-like
//! demo data ([`demo`], with [`process_memory`] readings), checking a
//! plugin ([`crate::plugin_check`], against the preflight's samples) and starting
//! one ([`plugin_template`]). The server itself (its settings, lifecycle and
//! routes) is the library's: [`crate::config`], [`crate::server`],
//! [`crate::http`].
pub mod cli;
pub mod demo;
pub mod plugin_template;
pub mod process_memory;

/// The `metrics-host` program: one malloc arena per core (before any thread
/// starts, see heap.rs), logs to standard error, the command line parsed
/// and run; an error is printed with its context chain and exits 1.
pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    crate::heap::limit_arenas(std::thread::available_parallelism().map_or(2, |n| n.get()).max(2));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli::run(cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
