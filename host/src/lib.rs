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
pub mod app;
#[warn(missing_docs)]
pub mod bounded_text;
#[warn(missing_docs)]
pub mod config;
#[warn(missing_docs)]
pub mod exporter;
#[warn(missing_docs)]
pub mod facade;
#[warn(missing_docs)]
pub mod heap;
#[warn(missing_docs)]
pub mod http;
#[warn(missing_docs)]
pub mod metrics_json_input;
#[warn(missing_docs)]
pub mod name_escaping;
pub mod plugin;
#[warn(missing_docs)]
pub mod push;
#[warn(missing_docs)]
pub mod registry;
#[warn(missing_docs)]
pub mod render_service;
#[warn(missing_docs)]
pub mod render_slots;
#[warn(missing_docs)]
pub mod representation;
#[warn(missing_docs)]
pub mod self_metrics;
#[warn(missing_docs)]
pub mod server;
#[warn(missing_docs)]
pub mod shared_render;
#[warn(missing_docs)]
pub mod snapshot;
pub(crate) mod tls_files;
#[warn(missing_docs)]
pub mod upstream;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
