//! Certificates made for a test with rcgen: a CA, and server or client
//! certificates it signs, written as PEM files into a temporary folder.
use std::path::PathBuf;

/// A CA and the folder its files are written to.
pub struct TestCa {
    pub dir: tempfile::TempDir,
    key: rcgen::KeyPair,
    certificate: rcgen::Certificate,
    /// `ca.pem`.
    pub ca_file: PathBuf,
}

/// A certificate and key the CA signed, as PEM files and in memory.
pub struct Issued {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, certificate.pem()).unwrap();
        TestCa { dir, key, certificate, ca_file }
    }

    /// A certificate for `names` (DNS names or IP addresses), written as
    /// `FILE.pem` and `FILE.key`.
    pub fn issue(&self, file: &str, names: &[&str]) -> Issued {
        let params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.certificate, &self.key).unwrap();
        let (cert_file, key_file) = (self.dir.path().join(format!("{file}.pem")), self.dir.path().join(format!("{file}.key")));
        let (cert_pem, key_pem) = (certificate.pem(), key.serialize_pem());
        std::fs::write(&cert_file, &cert_pem).unwrap();
        std::fs::write(&key_file, &key_pem).unwrap();
        Issued { cert_file, key_file, cert_pem, key_pem }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.certificate.pem()
    }
}
