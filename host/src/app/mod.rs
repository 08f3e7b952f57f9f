//! The program around the library: the command line ([`cli`]), settings
//! ([`config`]), the server lifecycle ([`server`]), KumoMTA-like demo data
//! ([`demo`], with [`process_memory`] readings), and metrics.json replay
//! ([`replay`]).
pub mod cli;
pub mod config;
pub mod demo;
pub mod process_memory;
pub mod replay;
pub mod server;
