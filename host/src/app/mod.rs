//! The program around the library: the command line ([`cli`]), settings
//! ([`config`]), the server lifecycle ([`server`]), KumoMTA-like demo data
//! ([`demo`], with [`process_memory`] readings), metrics.json replay
//! ([`replay`]), checking a plugin ([`plugin_check`], against the
//! preflight's samples) and starting one ([`plugin_template`]).
pub mod cli;
pub mod config;
pub mod demo;
pub mod plugin_check;
pub mod plugin_template;
pub mod process_memory;
pub mod replay;
pub mod server;
