//! The metrics host: a registry of metrics, snapshots of it, sandboxed wasm
//! renderers that format them, and the HTTP server that serves the result to
//! trusted peers.
//!
//! Data flows one way: [`registry`] -> [`snapshot`] -> [`plugin`] (wasm) ->
//! [`http`] body.
pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod plugin;
pub mod plugin_files;
pub mod plugin_watcher;
pub mod process_memory;
pub mod registry;
pub mod render_service;
pub mod renderers;
pub mod replay;
pub mod self_metrics;
pub mod series_batches;
pub mod server;
pub mod snapshot;
pub mod trusted_hosts;
