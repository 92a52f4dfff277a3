//! Asking a timestamp authority: the [`Stamper`] seam (RFC 3161 §3.4, HTTP transport), its HTTP
//! implementation [`HttpTsa`], and [`timestamp`], which sends a request with a fresh nonce and accepts only
//! an answer whose token verifies completely.
//!
//! Errors say whether trying again can help ([`TsaError::is_transient`], [`StampError::is_transient`]):
//! an unreachable or slow TSA is transient (keep the tree queued and retry), a wrong answer is not.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use der::Decode;
use http_body_util::{BodyExt, Full, Limited};

use crate::digest::DigestAlgorithm;
use crate::token::{TokenError, VerifiedToken, verify_token};
use crate::trust::TrustList;
use crate::tsp::{TimeStampRequest, TimeStampResp};

/// The largest answer we read from a TSA (a token with a certificate chain is a few KiB).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// A future returned by [`Stamper::stamp`].
pub type StampFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, TsaError>> + Send + 'a>>;

/// Sends a DER `TimeStampReq` to a TSA and returns the DER `TimeStampResp` it answered.
///
/// Contract: the answer is returned as received, unchecked ([`timestamp`] checks it); an error means no
/// answer was obtained, and [`TsaError::is_transient`] tells whether trying again later can help.
pub trait Stamper: Send + Sync {
    fn stamp<'a>(&'a self, request_der: &'a [u8]) -> StampFuture<'a>;
}

/// Talking to the TSA failed.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("TSA URL {url} is not usable: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "TSA {url}: TLS failed: {source} (is the TSA's server certificate trusted? see HttpTsa::with_tls_roots_pem)"
    )]
    Tls { url: String, source: std::io::Error },
    #[error(
        "TSA {url}: no TLS root certificates: install ca-certificates or give the TSA's CA with HttpTsa::with_tls_roots_pem"
    )]
    NoTlsRoots { url: String },
    #[error("TSA {url} is unreachable: {source}")]
    Unreachable { url: String, source: std::io::Error },
    #[error("TSA {url} did not answer within {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("TSA {url}: HTTP exchange failed: {source}")]
    Http { url: String, source: hyper::Error },
    #[error("TSA {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("TSA {url} answered content type {content_type:?}, not application/timestamp-reply")]
    ContentType { url: String, content_type: String },
    #[error("TSA {url} answered more than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge { url: String },
}

impl TsaError {
    /// Whether trying again later can help: the TSA was unreachable, slow, or answered 5xx or 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::Http { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::InvalidUrl { .. }
            | Self::ContentType { .. }
            | Self::TooLarge { .. }
            | Self::Tls { .. }
            | Self::NoTlsRoots { .. } => false,
        }
    }
}

/// A TSA reached over HTTP/1.1 (RFC 3161 §3.4), plain or with TLS (`https://`, rustls with the system's
/// root certificates unless [`HttpTsa::with_tls_roots_pem`] gives others): `POST` with `Content-Type:
/// application/timestamp-query`. One connection per request; the whole exchange (connect, TLS, send, read
/// the answer) is bounded by the timeout. TLS protects the request's privacy only: the token's own
/// signature is what makes it trustworthy, and [`timestamp`] checks it either way.
#[derive(Clone)]
pub struct HttpTsa {
    url: String,
    host: String,
    port: u16,
    path_and_query: String,
    timeout: Duration,
    tls: Option<TlsRoots>,
}

#[derive(Clone)]
enum TlsRoots {
    /// The system's roots, loaded on the first request.
    System,
    /// Roots given by the caller.
    Given(std::sync::Arc<rustls::RootCertStore>),
}

impl std::fmt::Debug for HttpTsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTsa")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpTsa {
    /// A TSA at an `http://` or `https://` URL (for https, the system's root certificates are loaded on
    /// the first request).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, TsaError> {
        let invalid = |reason: &str| TsaError::InvalidUrl { url: url.to_owned(), reason: reason.to_owned() };
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        let (tls, default_port) = match uri.scheme_str() {
            Some("http") => (None, 80),
            Some("https") => (Some(TlsRoots::System), 443),
            _ => return Err(invalid("the URL must start with http:// or https://")),
        };
        let host =
            uri.host().ok_or_else(|| invalid("the URL has no host"))?.trim_matches(['[', ']']).to_owned();
        let port = uri.port_u16().unwrap_or(default_port);
        let path_and_query =
            uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
        Ok(Self { url: url.to_owned(), host, port, path_and_query, timeout, tls })
    }

    /// Trusts these PEM CA certificates (instead of the system's) for the TSA's TLS server certificate.
    /// Only for `https://` URLs.
    pub fn with_tls_roots_pem(mut self, pem: &[u8]) -> Result<Self, TsaError> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let invalid = |reason: String| TsaError::InvalidUrl { url: self.url.clone(), reason };
        if self.tls.is_none() {
            return Err(invalid("TLS roots given for an http:// URL".into()));
        }
        let mut store = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate =
                certificate.map_err(|e| invalid(format!("TLS roots are not PEM certificates: {e}")))?;
            store.add(certificate).map_err(|e| invalid(format!("TLS root certificate refused: {e}")))?;
        }
        if store.is_empty() {
            return Err(invalid("no PEM certificate in the TLS roots".into()));
        }
        self.tls = Some(TlsRoots::Given(std::sync::Arc::new(store)));
        Ok(self)
    }

    fn tls_connector(&self, roots: &TlsRoots) -> Result<tokio_rustls::TlsConnector, TsaError> {
        let store = match roots {
            TlsRoots::Given(store) => std::sync::Arc::clone(store),
            TlsRoots::System => {
                let mut store = rustls::RootCertStore::empty();
                let (added, _ignored) =
                    store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                if added == 0 {
                    return Err(TsaError::NoTlsRoots { url: self.url.clone() });
                }
                std::sync::Arc::new(store)
            }
        };
        // The provider is named: with several rustls providers compiled in, the process default is ambiguous.
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TsaError::Tls { url: self.url.clone(), source: std::io::Error::other(e) })?
        .with_root_certificates(store)
        .with_no_client_auth();
        Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)))
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn exchange(&self, request_der: &[u8]) -> Result<Vec<u8>, TsaError> {
        let url = &self.url;
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| TsaError::Unreachable { url: url.clone(), source })?;
        // Small request, one answer: Nagle's delay would only add latency.
        let _ = stream.set_nodelay(true);
        match &self.tls {
            None => self.send(stream, request_der).await,
            Some(roots) => {
                let connector = self.tls_connector(roots)?;
                let name = rustls_pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| TsaError::InvalidUrl { url: url.clone(), reason: e.to_string() })?;
                let tls = connector
                    .connect(name, stream)
                    .await
                    .map_err(|source| TsaError::Tls { url: url.clone(), source })?;
                self.send(tls, request_der).await
            }
        }
    }

    async fn send<Io>(&self, stream: Io, request_der: &[u8]) -> Result<Vec<u8>, TsaError>
    where
        Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let url = &self.url;
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|source| TsaError::Http { url: url.clone(), source })?;
        let driver = tokio::spawn(connection);
        let authority =
            if self.port == 80 { self.host.clone() } else { format!("{}:{}", self.host, self.port) };
        let request = http::Request::post(self.path_and_query.as_str())
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "application/timestamp-query")
            .header(http::header::ACCEPT, "application/timestamp-reply")
            .body(Full::new(Bytes::copy_from_slice(request_der)))
            .map_err(|e| TsaError::InvalidUrl { url: url.clone(), reason: e.to_string() })?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|source| TsaError::Http { url: url.clone(), source })?;
        let status = response.status();
        if !status.is_success() {
            driver.abort();
            return Err(TsaError::Status { url: url.clone(), status: status.as_u16() });
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase());
        if let Some(content_type) = content_type {
            let base = content_type.split(';').next().unwrap_or("").trim();
            if base != "application/timestamp-reply" && base != "application/timestamp-response" {
                driver.abort();
                return Err(TsaError::ContentType { url: url.clone(), content_type });
            }
        }
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES).collect().await;
        driver.abort();
        match body {
            Ok(collected) => Ok(collected.to_bytes().to_vec()),
            Err(error) => match error.downcast::<hyper::Error>() {
                Ok(source) => Err(TsaError::Http { url: url.clone(), source: *source }),
                Err(_) => Err(TsaError::TooLarge { url: url.clone() }),
            },
        }
    }
}

impl Stamper for HttpTsa {
    fn stamp<'a>(&'a self, request_der: &'a [u8]) -> StampFuture<'a> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.exchange(request_der)).await {
                Ok(result) => result,
                Err(_) => Err(TsaError::Timeout { url: self.url.clone(), after: self.timeout }),
            }
        })
    }
}

/// A verified timestamp: the token as the TSA sent it (`ContentInfo` DER, what the engine stores and
/// what goes into `ArchiveTimeStamp.timeStamp`) and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub token_der: Vec<u8>,
    pub verified: VerifiedToken,
}

/// Getting a verified timestamp failed.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error(transparent)]
    Tsa(#[from] TsaError),
    #[error("cannot encode the timestamp request: {0}")]
    Request(der::Error),
    #[error("TSA answer is not a DER TimeStampResp (RFC 3161 §2.4.2): {0}")]
    Response(der::Error),
    #[error("TSA refused the request: status {status} {text}")]
    Refused { status: u8, text: String },
    #[error("TSA granted the request but sent no token")]
    NoToken,
    #[error("TSA token refused: {0}")]
    Token(#[from] TokenError),
}

impl StampError {
    /// Whether trying again later can help (the TSA was unreachable or slow, or said "waiting").
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Tsa(e) => e.is_transient(),
            Self::Refused { status, .. } => *status == 3,
            _ => false,
        }
    }
}

/// Stamps `digest`: sends a request with a fresh nonce and `certReq`, and returns the token only if the
/// status is granted (0 or 1) and the token verifies (imprint, nonce, signature, TSA certificate, chain to
/// `trust` at `genTime`).
pub async fn timestamp(
    stamper: &dyn Stamper,
    algorithm: DigestAlgorithm,
    digest: &[u8],
    trust: &TrustList,
) -> Result<Timestamp, StampError> {
    let request = TimeStampRequest::new(algorithm, digest);
    let request_der = request.to_der().map_err(StampError::Request)?;
    let response_der = stamper.stamp(&request_der).await?;
    accept_response(&response_der, &request, trust)
}

/// Checks a `TimeStampResp` to a request (the second half of [`timestamp`], for callers that send the
/// request themselves).
pub fn accept_response(
    response_der: &[u8],
    request: &TimeStampRequest,
    trust: &TrustList,
) -> Result<Timestamp, StampError> {
    let response = TimeStampResp::from_der(response_der).map_err(StampError::Response)?;
    if response.status.status > 1 {
        return Err(StampError::Refused { status: response.status.status, text: response.status.text() });
    }
    let token = response.time_stamp_token.ok_or(StampError::NoToken)?;
    let token_der = der::Encode::to_der(&token).map_err(StampError::Response)?;
    let verified = verify_token(&token_der, request.algorithm, &request.digest, Some(&request.nonce), trust)?;
    Ok(Timestamp { token_der, verified })
}
