//! The RFC 3161 (Time-Stamp Protocol) types we send and read, and the ESS signing-certificate attributes
//! (RFC 2634 §5.4, RFC 5035 §3) that bind a token to its TSA certificate.

use der::asn1::{Any, BitString, Int, ObjectIdentifier, OctetString, Uint, Utf8StringRef};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;

use crate::digest::DigestAlgorithm;

/// `id-ct-TSTInfo` (RFC 3161 §2.4.2).
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-aa-signingCertificate` (RFC 2634 §5.4).
pub const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// `id-aa-signingCertificateV2` (RFC 5035 §3).
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TimeStampReq {
    pub version: u8,
    pub message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo
/// PKIFailureInfo OPTIONAL }` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiStatusInfo {
    pub status: u8,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<Any>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }`.
/// The token is kept as raw DER: it is stored and hashed as it came.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER OPTIONAL, micros [1] INTEGER
/// OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Accuracy {
    #[asn1(optional = "true")]
    pub seconds: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<Int>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<Int>,
}

/// `TSTInfo` (RFC 3161 §2.4.2). `genTime` stays raw: RFC 3161 allows fractional seconds, which DER's
/// `GeneralizedTime` type of the `der` crate refuses; [`TstInfo::gen_time`] parses it.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: Any,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<Any>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `ESSCertID ::= SEQUENCE { certHash Hash (SHA-1), issuerSerial IssuerSerial OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EssCertId {
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<Any>,
}

/// `SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies SEQUENCE OF PolicyInformation
/// OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SigningCertificate {
    pub certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT id-sha256, certHash Hash,
/// issuerSerial IssuerSerial OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<Any>,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// A time-stamp request as we send it: the imprint, a fresh 64-bit nonce, and `certReq` true so the token
/// carries the TSA certificate that offline verification needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampRequest {
    /// The hash algorithm of the imprint.
    pub algorithm: DigestAlgorithm,
    /// The digest to be stamped (a tree root).
    pub digest: Vec<u8>,
    /// The nonce, big-endian without leading zeros.
    pub nonce: Vec<u8>,
}

impl TimeStampRequest {
    /// A request for `digest` with a random nonce.
    pub fn new(algorithm: DigestAlgorithm, digest: &[u8]) -> Self {
        let nonce: u64 = rand::random::<u64>() | 1;
        let bytes = nonce.to_be_bytes();
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
        Self { algorithm, digest: digest.to_vec(), nonce: bytes[first..].to_vec() }
    }

    /// The DER `TimeStampReq` to post (RFC 3161 §2.4.1, §3.4).
    pub fn to_der(&self) -> Result<Vec<u8>, der::Error> {
        TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: self.algorithm.algorithm_identifier(),
                hashed_message: OctetString::new(self.digest.clone())?,
            },
            req_policy: None,
            nonce: Some(Uint::new(&self.nonce)?),
            cert_req: true,
            extensions: None,
        }
        .to_der()
    }
}

impl PkiStatusInfo {
    /// The status text, joined, for messages.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        for any in self.status_string.iter().flatten() {
            if let Ok(s) = any.decode_as::<Utf8StringRef<'_>>() {
                parts.push(s.as_str().to_owned());
            }
        }
        parts.join("; ")
    }
}

impl TstInfo {
    /// Decodes the DER of a `TSTInfo`.
    pub fn from_der_bytes(bytes: &[u8]) -> Result<Self, der::Error> {
        Self::from_der(bytes)
    }

    /// `genTime` as UTC: `YYYYMMDDHHMMSS[.f+]Z` (RFC 3161 §2.4.2; fractions are truncated to nanoseconds).
    pub fn gen_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        if der::Tagged::tag(&self.gen_time) != der::Tag::GeneralizedTime {
            return None;
        }
        parse_generalized_time(self.gen_time.value())
    }
}

fn parse_generalized_time(value: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = std::str::from_utf8(value).ok()?;
    let text = text.strip_suffix('Z')?;
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let naive = chrono::NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").ok()?;
    let mut nanos = 0u32;
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(9).collect();
        nanos = digits.parse().ok()?;
    }
    let time = naive.and_utc();
    time.checked_add_signed(chrono::Duration::nanoseconds(i64::from(nanos)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_time_with_and_without_fractions() {
        let t = parse_generalized_time(b"20260102030405Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-02T03:04:05+00:00");
        let t = parse_generalized_time(b"20260102030405.25Z").unwrap();
        assert_eq!(t.timestamp_subsec_millis(), 250);
        assert!(parse_generalized_time(b"20260102030405").is_none());
        assert!(parse_generalized_time(b"2026010203040Z").is_none());
        assert!(parse_generalized_time(b"20260102030405.Z").is_none());
    }

    #[test]
    fn request_round_trips() {
        let request = TimeStampRequest::new(DigestAlgorithm::Sha256, &[1u8; 32]);
        let der = request.to_der().unwrap();
        let decoded = TimeStampReq::from_der(&der).unwrap();
        assert!(decoded.cert_req);
        assert_eq!(decoded.nonce.unwrap().as_bytes(), request.nonce.as_slice());
        assert_eq!(decoded.message_imprint.hashed_message.as_bytes(), &[1u8; 32]);
    }
}
