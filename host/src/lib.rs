//! The metrics host: a registry of metrics, snapshots of it, sandboxed wasm
//! renderers that format them, and the HTTP server that serves the result to
//! trusted peers.
//!
//! Data flows one way: [`registry`] -> [`snapshot`] -> [`render_service`]
//! (which runs a [`plugin`] renderer in the sandbox) -> [`http`] body.
//!
//! - [`registry`], [`snapshot`]: the metrics and a consistent copy of them;
//!   no wasm in sight.
//! - [`plugin`]: everything about renderers: the catalog of loaded ones and
//!   the plugins folder it watches, compiling, checking, one sandboxed render
//!   and its limits, the circuit breaker, the compiled-plugin cache.
//! - [`render_service`]: the one place a render is decided and run;
//!   [`shared_render`]: concurrent requests for the same output share one.
//! - [`http`]: routes, content negotiation, trusted hosts.
//! - [`name_escaping`], [`representation`]: Prometheus 3 names for clients
//!   that cannot read them; the content type and escaping of a response.
//! - [`self_metrics`]: the host's own metrics.
//! - [`exporter`]: the endpoint embedded in an application;
//!   [`facade`]: the `metrics` crate's macros recorded into a registry.
//! - [`config`], [`server`]: the server's settings (flags and file, checked
//!   once) and its lifecycle (bind, serve, reload, shut down).
//! - [`upstream`] (the sidecar) and [`metrics_json_input`]: data read from
//!   outside into the registry; [`push`]: the same snapshots sent out.
//! - [`app`]: the program around it: command line, demo data, `plugin
//!   check` and `plugin new`.
#![warn(missing_docs)]
// The command line's types: their doc comments would be clap's help text.
#[allow(missing_docs)]
pub mod app;
pub mod bounded_text;
pub mod config;
pub mod exporter;
pub mod facade;
pub mod heap;
pub mod http;
pub mod metrics_json_input;
pub mod name_escaping;
pub mod plugin;
pub mod push;
pub mod registry;
pub mod render_service;
pub mod render_slots;
pub mod representation;
pub mod self_metrics;
pub mod serve_error;
pub mod server;
pub mod shared_render;
pub mod snapshot;
pub(crate) mod tls_files;
pub mod upstream;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
