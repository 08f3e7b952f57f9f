//! The metrics host: a registry of metrics, snapshots of it, sandboxed wasm
//! renderers that format them, and the HTTP server that serves the result to
//! trusted peers (and pushes it to receivers).
//!
//! # What you use
//! - [`Exporter`]: the endpoint embedded in an application (see its example);
//!   [`facade`]: the `metrics` crate's macros recorded into a [`Registry`].
//! - [`registry`]: counters, gauges, histograms and labelled families;
//!   [`snapshot`]: a consistent copy of their values, as renderers get it.
//! - [`config`] and [`server`]: the server's settings (flags and file,
//!   checked once) and its lifecycle (bind, serve, reload, shut down), for a
//!   program that runs the server itself; [`command_line_main`] is the whole
//!   `metrics-host` program.
//! - [`self_metrics`]: the host's own metrics, their names, prefix and switch.
//! - [`plugin_check`]: what `metrics-host plugin check` runs on a renderer.
//! - [`ServeError`], [`plugin_check::CheckError`]: the errors.
//!
//! # Inside
//! The rest is `pub(crate)` (public, undocumented and unstable with the
//! `internals` feature, which only this crate's tests, benches and fuzz
//! targets turn on). Data flows one way: `registry` -> `snapshot` ->
//! `render_service` (which runs a `plugin` renderer in the sandbox;
//! `shared_render` lets concurrent requests for the same output share one)
//! -> `http` body, or `push` to receivers. `name_escaping` and
//! `representation` decide names and content types for each client;
//! `upstream` (the sidecar) and `metrics_json_input` read data from outside
//! into the registry; `app` is the command line, demo data and `plugin
//! new`. README's "Layout" section maps every file.
#![warn(missing_docs)]

/// Declares the host's internal modules: `pub(crate)`, so the compiler sees
/// every unused item, and public only with the `internals` feature (hidden
/// from the docs, no stability promise), which this crate's own integration
/// tests, benches and fuzz targets turn on.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        pub(crate) mod $name;
    )*};
}

// The surface: what an application embedding the endpoint, or a program
// serving or checking renderers, uses.
pub mod config;
pub mod exporter;
pub mod facade;
pub mod plugin_check;
pub mod registry;
pub mod self_metrics;
pub mod serve_error;
pub mod server;
pub mod snapshot;

pub use exporter::{Exporter, ExporterHandle};
pub use registry::Registry;
pub use serve_error::ServeError;

internal_modules!(
    app,
    bounded_text,
    content_type,
    heap,
    http,
    metrics_json_input,
    name_escaping,
    plugin,
    push,
    render_service,
    render_slots,
    representation,
    shared_render,
    upstream,
);
pub(crate) mod tls_files;

/// Runs the `metrics-host` program: the command line of this process,
/// logging to standard error (`RUST_LOG`, `info` by default). What the
/// binary's `main` is; a program that ships the endpoint under its own name
/// can call it too.
pub fn command_line_main() -> std::process::ExitCode {
    app::main()
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
