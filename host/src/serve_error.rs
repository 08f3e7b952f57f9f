//! The one error the library's serving surface returns (the exporter, the
//! server's start and stop, its settings): typed, so an application can
//! tell a taken port from a bad setting; each message names what it is
//! about (the setting, the address, the folder).
use crate::registry::RegistryError;
use std::net::SocketAddr;

/// Why a server (or an embedded exporter) could not be configured,
/// started or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A setting is missing, unreadable or out of range (the message
    /// names it and its value).
    #[error("{0}")]
    Config(String),
    /// The listener could not bind its address.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The host's own metrics collide with families of the registry.
    #[error("registering the host's own metrics under {prefix:?} (choose another self_metrics_prefix)")]
    SelfMetrics {
        /// The self-metrics prefix in use.
        prefix: String,
        /// The collision.
        #[source]
        source: Box<RegistryError>,
    },
    /// The renderers could not be set up: the built-in one, or the
    /// plugins folder (not readable, not watchable).
    #[error("{0}")]
    Renderers(String),
    /// Another `metrics` facade recorder is already installed.
    #[error("another `metrics` recorder is already installed")]
    RecorderInstalled,
    /// The server task failed or panicked.
    #[error("server failed: {0}")]
    Server(String),
}

impl ServeError {
    /// A setting's error, with its whole context chain.
    pub(crate) fn config(error: impl std::fmt::Display) -> Self {
        ServeError::Config(error.to_string())
    }

    /// An error of `anyhow` code inside the library, with its context chain.
    pub(crate) fn config_chain(error: anyhow::Error) -> Self {
        ServeError::Config(format!("{error:#}"))
    }
}
