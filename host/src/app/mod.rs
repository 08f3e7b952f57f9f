//! The program around the library: the command line ([`cli`]), KumoMTA-like
//! demo data ([`demo`], with [`process_memory`] readings), checking a
//! plugin ([`plugin_check`], against the preflight's samples) and starting
//! one ([`plugin_template`]). The server itself (its settings, lifecycle and
//! routes) is the library's: [`crate::config`], [`crate::server`],
//! [`crate::http`].
pub mod cli;
pub mod demo;
pub mod plugin_check;
pub mod plugin_template;
pub mod process_memory;
