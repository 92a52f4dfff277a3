//! The trust list: the CA (or TSA) certificates a timestamp token must chain to, read from PEM.

use der::{Decode, Encode};
use x509_cert::Certificate;

/// Reading the trust list failed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read trust list {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("trust list is not PEM certificates (-----BEGIN CERTIFICATE-----): {0}")]
    Pem(der::Error),
    #[error("trust list holds no certificate: give at least one PEM CA certificate")]
    Empty,
}

/// Certificates trusted as roots of a TSA certificate's chain. A TSA certificate that is itself on the list
/// is trusted directly (pinning).
#[derive(Clone, Debug, Default)]
pub struct TrustList {
    pub(crate) anchors: Vec<Anchor>,
}

#[derive(Clone, Debug)]
pub(crate) struct Anchor {
    pub(crate) certificate: Certificate,
    pub(crate) der: Vec<u8>,
}

impl TrustList {
    /// Reads one or more PEM certificates.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TrustError> {
        let certificates = Certificate::load_pem_chain(pem).map_err(TrustError::Pem)?;
        if certificates.is_empty() {
            return Err(TrustError::Empty);
        }
        let mut list = Self::default();
        for certificate in certificates {
            let der = certificate.to_der().map_err(TrustError::Pem)?;
            list.anchors.push(Anchor { certificate, der });
        }
        Ok(list)
    }

    /// Reads a PEM file of certificates.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Self, TrustError> {
        let bytes = std::fs::read(path)
            .map_err(|source| TrustError::Read { path: path.display().to_string(), source })?;
        Self::from_pem(&bytes)
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), TrustError> {
        let certificate = Certificate::from_der(der).map_err(TrustError::Pem)?;
        self.anchors.push(Anchor { certificate, der: der.to_vec() });
        Ok(())
    }

    /// The number of trusted certificates.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether the list is empty (then nothing verifies).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}
