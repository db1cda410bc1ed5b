//! TLS termination for the S3 endpoint: rustls on the ring provider, a certificate chain and
//! private key read from PEM files (`tls_cert`, `tls_key` in the config). HTTP/1.1 only
//! (ALPN `http/1.1`), like the plain endpoint.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate and key files of an HTTPS endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the TLS setup failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain {path}: {message}")]
    Cert { path: PathBuf, message: String },
    #[error("the certificate file {0} holds no certificate")]
    NoCert(PathBuf),
    #[error("cannot read the private key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("the certificate and key cannot be used: {0}")]
    Config(#[from] rustls::Error),
}

/// Reads the PEM files and builds the acceptor.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: files.key.clone(),
        message: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |e: rustls_pki_types::pem::Error| TlsError::Cert {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    if certs.is_empty() {
        return Err(TlsError::NoCert(path.to_path_buf()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_generated_pair_and_refuses_bad_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
        let good = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        assert!(acceptor(&good).is_ok());

        let missing = TlsFiles {
            cert: dir.join("nope.pem"),
            key: key.clone(),
        };
        assert!(matches!(acceptor(&missing), Err(TlsError::Cert { .. })));
        let swapped = TlsFiles {
            cert: key.clone(),
            key: cert.clone(),
        };
        assert!(matches!(acceptor(&swapped), Err(TlsError::NoCert(_))));
        let no_key = TlsFiles {
            cert: cert.clone(),
            key: cert,
        };
        assert!(matches!(acceptor(&no_key), Err(TlsError::Key { .. })));
    }
}
