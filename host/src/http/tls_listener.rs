//! The TLS listener: each TCP connection from a trusted peer is handshaken
//! with the current certificate off the accept loop (at most
//! [`MAX_HANDSHAKES`] at once, each within [`HANDSHAKE_TIMEOUT`]) and then
//! handed to axum with the peer's address, so the trusted-host check and
//! everything after it run as over plain HTTP. A peer outside the trusted
//! hosts is closed before any TLS work (a handshake costs the server a
//! signature); a client certificate, when required, is a check in
//! addition to the trusted-host one, never instead of it.
//!
//! [`TlsReloader::reload`] (SIGHUP) reads the certificate, key and client
//! CA files again and serves new connections with them, without closing
//! the listener; if a file is bad, the previous ones keep serving.
use super::trusted_hosts::TrustedHosts;
use arc_swap::ArcSwap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

/// Handshakes in progress at once; a connection beyond them is closed.
pub const MAX_HANDSHAKES: usize = 256;
/// Time a client has to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener's PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Its private key.
    pub key_file: PathBuf,
    /// CAs a client certificate must chain to; `None`: none is asked for.
    pub client_ca_file: Option<PathBuf>,
}

impl TlsSettings {
    /// Reads and checks the files.
    pub fn load(&self) -> Result<Arc<ServerConfig>, String> {
        crate::tls_files::server_config(&self.cert_file, &self.key_file, self.client_ca_file.as_deref())
    }
}

/// Reloads the listener's certificate (see the module).
#[derive(Clone)]
pub struct TlsReloader {
    settings: TlsSettings,
    current: Arc<ArcSwap<ServerConfig>>,
}

impl TlsReloader {
    /// Loads `settings` for a first time.
    pub fn new(settings: TlsSettings) -> Result<Self, String> {
        let config = settings.load()?;
        Ok(TlsReloader { settings, current: Arc::new(ArcSwap::new(config)) })
    }

    /// Reads the files again; on success new connections use them.
    pub fn reload(&self) -> Result<(), String> {
        let config = self.settings.load()?;
        self.current.store(config);
        Ok(())
    }
}

/// Handshaken connections, for `axum::serve`.
pub struct TlsListener {
    incoming: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    accept_loop: tokio::task::AbortHandle,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl TlsListener {
    /// Accepts on `tcp`, handshakes trusted peers with `tls`'s current configuration.
    pub fn new(tcp: TcpListener, tls: &TlsReloader, trusted: TrustedHosts) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (sender, incoming) = tokio::sync::mpsc::channel(64);
        let current = Arc::clone(&tls.current);
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let accept_loop = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: pause, go on.
                        tracing::debug!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if !trusted.allows(peer.ip()) {
                    continue;
                }
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    tracing::debug!(%peer, "too many TLS handshakes at once; connection closed");
                    continue;
                };
                let (acceptor, sender) = (tokio_rustls::TlsAcceptor::from(current.load_full()), sender.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                    drop(permit);
                });
            }
        });
        Ok(TlsListener { incoming, local_addr, accept_loop: accept_loop.abort_handle() })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
