//! TLS material from PEM files (certificates, a private key, a CA bundle)
//! and the rustls configurations built from them: the client's, for
//! `https://` push receivers, and the server's, for the TLS listener. Every error names the file and what is wrong with it; a
//! file must be a regular file of at most [`MAX_PEM_BYTES`] (a FIFO or a
//! device never stalls start-up).
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};

/// The largest PEM file read.
pub const MAX_PEM_BYTES: u64 = 16 << 20;

fn read_pem(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let metadata = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!("{shown}: not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|file| file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes)).map_err(|e| format!("{shown}: {e}"))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(format!("{shown}: larger than {MAX_PEM_BYTES} bytes"));
    }
    Ok(bytes)
}

/// Every certificate in a PEM file (at least one).
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read_pem(path)?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{}: no CERTIFICATE block", path.display()));
    }
    Ok(certificates)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| format!("{}: no private key: {e}", path.display()))
}

/// The roots a server's certificate must chain to: the CA file's, or the
/// system's (Debian: `/etc/ssl/certs`) when none is given.
pub fn root_store(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certificates = match ca_file {
        Some(path) => certificates(path)?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    for certificate in certificates {
        roots.add(certificate).map_err(|e| format!("{}: {e}", ca_file.map_or("system roots".into(), |p| p.display().to_string())))?;
    }
    if roots.is_empty() {
        return Err("no trusted roots: the system has none; give a CA file".into());
    }
    Ok(roots)
}

/// rustls on ring, TLS 1.2 and 1.3. (rustls marks ring's provider
/// deprecated for lacking post-quantum key exchange; aws-lc-rs, which has
/// it, needs a C toolchain with cmake that fresh build machines lack.)
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration: server certificates checked against `ca_file`
/// (or the system roots), with a client certificate when both
/// `cert_file` and `key_file` are given; HTTP/1.1 by ALPN.
pub fn client_config(ca_file: Option<&Path>, client: Option<(&Path, &Path)>) -> Result<Arc<ClientConfig>, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(root_store(ca_file)?);
    let mut config = match client {
        Some((cert_file, key_file)) => builder
            .with_client_auth_cert(certificates(cert_file)?, private_key(key_file)?)
            .map_err(|e| format!("{} and {}: {e}", cert_file.display(), key_file.display()))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server configuration: the certificate chain in `cert_file` (leaf
/// first) with the key in `key_file`; with `client_ca_file`, clients must
/// present a certificate that chains to it. HTTP/1.1 by ALPN.
pub fn server_config(cert_file: &Path, key_file: &Path, client_ca_file: Option<&Path>) -> Result<Arc<ServerConfig>, String> {
    let builder = ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().map_err(|e| e.to_string())?;
    let builder = match client_ca_file {
        Some(path) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(Some(path))?), provider())
                .build()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certificates(cert_file)?, private_key(key_file)?)
        .map_err(|e| format!("{} and {}: {e}", cert_file.display(), key_file.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named_and_never_read_without_bound() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello\n").unwrap();
        let error = certificates(&not_pem).unwrap_err();
        assert!(error.contains("not.pem") && error.contains("no CERTIFICATE"), "{error}");
        assert!(private_key(&not_pem).unwrap_err().contains("no private key"));
        assert!(certificates(dir.path()).unwrap_err().contains("not a regular file"));
        assert!(certificates(Path::new("/dev/zero")).unwrap_err().contains("not a regular file"));
        assert!(certificates(&dir.path().join("missing.pem")).unwrap_err().contains("missing.pem"));
        assert!(client_config(Some(&not_pem), None).is_err());
    }
}
