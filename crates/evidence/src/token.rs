//! Checking an RFC 3161 timestamp token: the CMS `SignedData` around a `TSTInfo` (RFC 3161 §2.4.2,
//! RFC 5652 §5), its signature, its ESS signing-certificate attribute (RFC 2634 §5.4 / RFC 5035), the TSA
//! certificate (extendedKeyUsage timeStamping, critical: RFC 3161 §2.3) and its chain to the trust list,
//! every certificate valid at the token's `genTime`.
//!
//! Each failure is its own [`TokenError`] variant so that a log line or an offline verification report
//! names what failed. Revocation (CRL/OCSP) is not checked: that needs the network, and evidence records
//! are verified offline; a TSA certificate's revocation after `genTime` does not void older tokens.

use chrono::{DateTime, Utc};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectKeyIdentifier};

use crate::digest::DigestAlgorithm;
use crate::trust::TrustList;
use crate::tsp::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V2, ID_CT_TST_INFO, SigningCertificate,
    SigningCertificateV2, TstInfo,
};

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The longest certificate chain we follow from the TSA certificate to a trust anchor.
const MAX_CHAIN: usize = 8;

/// Why a timestamp token was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error("timestamp token is not DER CMS ContentInfo: {0}")]
    Decode(String),
    #[error("timestamp token is not CMS SignedData (content type {0})")]
    NotSignedData(String),
    #[error("timestamp token does not encapsulate a TSTInfo (content type {0})")]
    NotTstInfo(String),
    #[error("timestamp token's TSTInfo is malformed: {0}")]
    TstInfo(String),
    #[error("timestamp token's genTime is not a GeneralizedTime YYYYMMDDHHMMSS[.f]Z")]
    GenTime,
    #[error("timestamp imprint uses {actual}, expected {expected}")]
    ImprintAlgorithmMismatch { expected: String, actual: String },
    #[error("timestamp imprint {actual} is not the digest that was stamped ({expected})")]
    ImprintMismatch { expected: String, actual: String },
    #[error("timestamp token has no nonce, but the request sent one")]
    NonceMissing,
    #[error(
        "timestamp nonce {actual} differs from the request's nonce {expected}: a replayed or foreign answer"
    )]
    NonceMismatch { expected: String, actual: String },
    #[error("timestamp token has {0} signers; RFC 3161 requires exactly one")]
    SignerCount(usize),
    #[error("timestamp token does not carry its signer's certificate: request tokens with certReq true")]
    SignerCertificateMissing,
    #[error("timestamp token has no signed attributes (RFC 3161 §2.4.2 requires ESS signing certificate)")]
    SignedAttributesMissing,
    #[error("timestamp token's content-type attribute is missing or not id-ct-TSTInfo")]
    ContentTypeAttribute,
    #[error("timestamp token's message-digest attribute is missing or does not match the TSTInfo")]
    MessageDigestMismatch,
    #[error("timestamp token has no ESS signing-certificate(-v2) attribute")]
    EssSigningCertificateMissing,
    #[error("timestamp token's ESS signing certificate does not name the certificate that signed it")]
    EssSigningCertificateMismatch,
    #[error(
        "unsupported algorithm {0}: supported are SHA-256/384/512 with RSA PKCS#1 v1.5 and ECDSA P-256/P-384"
    )]
    UnsupportedAlgorithm(String),
    #[error("timestamp token's signature does not verify with the TSA certificate {subject}")]
    BadSignature { subject: String },
    #[error("TSA certificate {subject} has no extendedKeyUsage timeStamping (RFC 3161 §2.3)")]
    NotTimeStampingCertificate { subject: String },
    #[error(
        "TSA certificate {subject} has extendedKeyUsage timeStamping, but not marked critical (RFC 3161 §2.3)"
    )]
    ExtendedKeyUsageNotCritical { subject: String },
    #[error(
        "certificate {subject} is not valid at the token's genTime {gen_time} (valid {not_before} to {not_after})"
    )]
    CertificateNotValid { subject: String, gen_time: String, not_before: String, not_after: String },
    #[error("certificate {subject}'s signature by {issuer} does not verify")]
    ChainSignatureInvalid { subject: String, issuer: String },
    #[error("certificate {subject} is used as a CA but has no basicConstraints cA")]
    IssuerNotCa { subject: String },
    #[error(
        "TSA certificate {subject} does not chain to the trust list (no trusted issuer {issuer}): add its CA with --trust"
    )]
    Untrusted { subject: String, issuer: String },
}

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// When the TSA stamped (`genTime`).
    pub gen_time: DateTime<Utc>,
    /// The imprint's hash algorithm.
    pub algorithm: DigestAlgorithm,
    /// The stamped digest.
    pub imprint: Vec<u8>,
    /// The nonce, if the token has one.
    pub nonce: Option<Vec<u8>>,
    /// The token's serial number (big-endian bytes).
    pub serial: Vec<u8>,
    /// The TSA policy.
    pub policy: String,
    /// The TSA certificate's subject.
    pub tsa_subject: String,
    /// When the TSA certificate expires: renew the timestamp before then (RFC 4998 §5.2).
    pub tsa_not_after: DateTime<Utc>,
}

/// A token taken apart, not yet verified.
pub(crate) struct ParsedToken {
    pub(crate) signed_data: SignedData,
    /// The signed attributes exactly as signed (`SET OF` tag), read from the raw token: decoding sorts a
    /// SET OF, so re-encoding the decoded attributes could differ from what a non-DER TSA signed.
    pub(crate) raw_signed_attributes: Option<Vec<u8>>,
    pub(crate) tst_der: Vec<u8>,
    pub(crate) tst: TstInfo,
    pub(crate) gen_time: DateTime<Utc>,
    pub(crate) algorithm: DigestAlgorithm,
}

/// Takes a token (`ContentInfo` DER) apart without verifying it.
pub(crate) fn parse_token(token_der: &[u8]) -> Result<ParsedToken, TokenError> {
    let content_info = ContentInfo::from_der(token_der).map_err(|e| TokenError::Decode(e.to_string()))?;
    parse_content_info(&content_info)
}

pub(crate) fn parse_content_info(content_info: &ContentInfo) -> Result<ParsedToken, TokenError> {
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(TokenError::NotSignedData(content_info.content_type.to_string()));
    }
    let signed_data: SignedData =
        content_info.content.decode_as().map_err(|e| TokenError::Decode(format!("SignedData: {e}")))?;
    let raw_signed_attributes = content_info
        .content
        .to_der()
        .and_then(|der| raw_signed_attributes(&der))
        .map_err(|e| TokenError::Decode(format!("SignedData: {e}")))?;
    let encap = &signed_data.encap_content_info;
    if encap.econtent_type != ID_CT_TST_INFO {
        return Err(TokenError::NotTstInfo(encap.econtent_type.to_string()));
    }
    let econtent =
        encap.econtent.as_ref().ok_or_else(|| TokenError::TstInfo("no encapsulated content".into()))?;
    let octets: OctetString = econtent.decode_as().map_err(|e| TokenError::TstInfo(e.to_string()))?;
    let tst_der = octets.as_bytes().to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(|e| TokenError::TstInfo(e.to_string()))?;
    if tst.version != 1 {
        return Err(TokenError::TstInfo(format!("version {} is not 1", tst.version)));
    }
    let gen_time = tst.gen_time().ok_or(TokenError::GenTime)?;
    let oid = tst.message_imprint.hash_algorithm.oid;
    let algorithm =
        DigestAlgorithm::from_oid(&oid).ok_or_else(|| TokenError::UnsupportedAlgorithm(oid.to_string()))?;
    Ok(ParsedToken { signed_data, raw_signed_attributes, tst_der, tst, gen_time, algorithm })
}

/// Verifies a token (`ContentInfo` DER, as in `TimeStampResp.timeStampToken` and
/// `ArchiveTimeStamp.timeStamp`) against the digest it must stamp, the request's nonce (None offline,
/// where no request exists) and the trust list.
pub fn verify_token(
    token_der: &[u8],
    algorithm: DigestAlgorithm,
    imprint: &[u8],
    nonce: Option<&[u8]>,
    trust: &TrustList,
) -> Result<VerifiedToken, TokenError> {
    let parsed = parse_token(token_der)?;
    verify_parsed(&parsed, algorithm, imprint, nonce, trust)
}

pub(crate) fn verify_parsed(
    parsed: &ParsedToken,
    algorithm: DigestAlgorithm,
    imprint: &[u8],
    nonce: Option<&[u8]>,
    trust: &TrustList,
) -> Result<VerifiedToken, TokenError> {
    let tst = &parsed.tst;
    if parsed.algorithm != algorithm {
        return Err(TokenError::ImprintAlgorithmMismatch {
            expected: algorithm.name().into(),
            actual: parsed.algorithm.name().into(),
        });
    }
    let actual = tst.message_imprint.hashed_message.as_bytes();
    if actual != imprint {
        return Err(TokenError::ImprintMismatch { expected: hex(imprint), actual: hex(actual) });
    }
    if let Some(expected) = nonce {
        let actual = tst.nonce.as_ref().ok_or(TokenError::NonceMissing)?;
        if strip_zeros(actual.as_bytes()) != strip_zeros(expected) {
            return Err(TokenError::NonceMismatch {
                expected: hex(expected),
                actual: hex(actual.as_bytes()),
            });
        }
    }

    let signed_data = &parsed.signed_data;
    let signers: Vec<&SignerInfo> = signed_data.signer_infos.0.iter().collect();
    let [signer] = signers.as_slice() else {
        return Err(TokenError::SignerCount(signers.len()));
    };
    let certificates: Vec<Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let signer_certificate = certificates
        .iter()
        .find(|c| identifies(&signer.sid, c))
        .ok_or(TokenError::SignerCertificateMissing)?;
    let signer_der = signer_certificate.to_der().map_err(|e| TokenError::Decode(e.to_string()))?;
    let subject = signer_certificate.tbs_certificate.subject.to_string();

    // Signed attributes: content type, message digest, ESS signing certificate (RFC 5652 §5.3, §11;
    // RFC 3161 §2.4.2).
    let attributes = signer.signed_attrs.as_ref().ok_or(TokenError::SignedAttributesMissing)?;
    let attribute =
        |oid: ObjectIdentifier| attributes.iter().find(|a| a.oid == oid).and_then(|a| a.values.iter().next());
    let content_type: Option<ObjectIdentifier> = attribute(ID_CONTENT_TYPE).and_then(|v| v.decode_as().ok());
    if content_type != Some(ID_CT_TST_INFO) {
        return Err(TokenError::ContentTypeAttribute);
    }
    let digest_algorithm = DigestAlgorithm::from_oid(&signer.digest_alg.oid)
        .ok_or_else(|| TokenError::UnsupportedAlgorithm(signer.digest_alg.oid.to_string()))?;
    let message_digest: Option<OctetString> = attribute(ID_MESSAGE_DIGEST).and_then(|v| v.decode_as().ok());
    match message_digest {
        Some(d) if d.as_bytes() == digest_algorithm.digest(&parsed.tst_der).as_slice() => {}
        _ => return Err(TokenError::MessageDigestMismatch),
    }
    check_ess(&attribute, &signer_der)?;

    let signed_attributes_der = match &parsed.raw_signed_attributes {
        Some(raw) => raw.clone(),
        None => attributes.to_der().map_err(|e| TokenError::Decode(e.to_string()))?,
    };
    verify_signature(
        &signer_certificate.tbs_certificate.subject_public_key_info,
        &signer.signature_algorithm,
        Some(digest_algorithm),
        &signed_attributes_der,
        signer.signature.as_bytes(),
    )
    .map_err(|e| match e {
        SignatureFailure::Unsupported(what) => TokenError::UnsupportedAlgorithm(what),
        SignatureFailure::Invalid => TokenError::BadSignature { subject: subject.clone() },
    })?;

    // The TSA certificate: extendedKeyUsage timeStamping, critical (RFC 3161 §2.3).
    match signer_certificate.tbs_certificate.get::<ExtendedKeyUsage>() {
        Ok(Some((critical, eku))) if eku.0.contains(&ID_KP_TIME_STAMPING) => {
            if !critical {
                return Err(TokenError::ExtendedKeyUsageNotCritical { subject });
            }
        }
        _ => return Err(TokenError::NotTimeStampingCertificate { subject }),
    }
    check_chain(signer_certificate, &signer_der, &certificates, trust, parsed.gen_time)?;

    Ok(VerifiedToken {
        gen_time: parsed.gen_time,
        algorithm: parsed.algorithm,
        imprint: actual.to_vec(),
        nonce: tst.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
        serial: tst.serial_number.as_bytes().to_vec(),
        policy: tst.policy.to_string(),
        tsa_subject: subject,
        tsa_not_after: to_chrono(&signer_certificate.tbs_certificate.validity.not_after),
    })
}

/// The first SignerInfo's `signedAttrs` as they are in the token, retagged `SET OF` (0x31) as the signature
/// covers them (RFC 5652 §5.4).
fn raw_signed_attributes(signed_data_der: &[u8]) -> der::Result<Option<Vec<u8>>> {
    use der::asn1::AnyRef;
    use der::{Reader, SliceReader, Tag, TagNumber};
    let mut reader = SliceReader::new(signed_data_der)?;
    reader.sequence(|r| {
        // version, digestAlgorithms, encapContentInfo
        for _ in 0..3 {
            AnyRef::decode(r)?;
        }
        // certificates [0] and crls [1]
        while matches!(r.peek_tag()?, Tag::ContextSpecific { .. }) {
            AnyRef::decode(r)?;
        }
        let signer_infos = AnyRef::decode(r)?;
        let mut set = SliceReader::new(signer_infos.value())?;
        if set.is_finished() {
            return Ok(None);
        }
        set.sequence(|s| {
            // version, sid, digestAlgorithm
            for _ in 0..3 {
                AnyRef::decode(s)?;
            }
            let mut raw = None;
            if matches!(s.peek_tag()?, Tag::ContextSpecific { number: TagNumber::N0, .. }) {
                let mut der = AnyRef::decode(s)?.to_der()?;
                der[0] = 0x31;
                raw = Some(der);
            }
            while !s.is_finished() {
                AnyRef::decode(s)?;
            }
            Ok(raw)
        })
    })
}

fn check_ess<'a>(
    attribute: &dyn Fn(ObjectIdentifier) -> Option<&'a der::Any>,
    signer_der: &[u8],
) -> Result<(), TokenError> {
    if let Some(value) = attribute(ID_AA_SIGNING_CERTIFICATE_V2) {
        let v2: SigningCertificateV2 =
            value.decode_as().map_err(|_| TokenError::EssSigningCertificateMismatch)?;
        let first = v2.certs.first().ok_or(TokenError::EssSigningCertificateMismatch)?;
        let algorithm = match &first.hash_algorithm {
            None => DigestAlgorithm::Sha256,
            Some(a) => DigestAlgorithm::from_oid(&a.oid)
                .ok_or_else(|| TokenError::UnsupportedAlgorithm(a.oid.to_string()))?,
        };
        if first.cert_hash.as_bytes() != algorithm.digest(signer_der).as_slice() {
            return Err(TokenError::EssSigningCertificateMismatch);
        }
        return Ok(());
    }
    if let Some(value) = attribute(ID_AA_SIGNING_CERTIFICATE) {
        let v1: SigningCertificate =
            value.decode_as().map_err(|_| TokenError::EssSigningCertificateMismatch)?;
        let first = v1.certs.first().ok_or(TokenError::EssSigningCertificateMismatch)?;
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, signer_der);
        if first.cert_hash.as_bytes() != sha1.as_ref() {
            return Err(TokenError::EssSigningCertificateMismatch);
        }
        return Ok(());
    }
    Err(TokenError::EssSigningCertificateMissing)
}

fn identifies(sid: &SignerIdentifier, certificate: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == certificate.tbs_certificate.issuer
                && ias.serial_number == certificate.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(certificate.tbs_certificate.get::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
        }
    }
}

/// Follows issuers from the TSA certificate to a trust anchor, checking each signature and that each
/// certificate is valid at `at`.
fn check_chain(
    signer: &Certificate,
    signer_der: &[u8],
    token_certificates: &[Certificate],
    trust: &TrustList,
    at: DateTime<Utc>,
) -> Result<(), TokenError> {
    let mut current = signer.clone();
    let mut current_der = signer_der.to_vec();
    for _ in 0..MAX_CHAIN {
        check_valid_at(&current, at)?;
        if trust.anchors.iter().any(|a| a.der == current_der) {
            return Ok(());
        }
        let subject = current.tbs_certificate.subject.to_string();
        let issuer_name = &current.tbs_certificate.issuer;
        let tbs_der = current.tbs_certificate.to_der().map_err(|e| TokenError::Decode(e.to_string()))?;
        let signature = current.signature.raw_bytes();
        let verifies = |issuer: &Certificate| {
            verify_signature(
                &issuer.tbs_certificate.subject_public_key_info,
                &current.signature_algorithm,
                None,
                &tbs_der,
                signature,
            )
        };
        let mut bad_signature_by = None;
        for anchor in trust.anchors.iter().filter(|a| a.certificate.tbs_certificate.subject == *issuer_name) {
            match verifies(&anchor.certificate) {
                Ok(()) => return check_valid_at(&anchor.certificate, at),
                Err(_) => bad_signature_by = Some(anchor.certificate.tbs_certificate.subject.to_string()),
            }
        }
        let mut next = None;
        for candidate in token_certificates.iter().filter(|c| {
            c.tbs_certificate.subject == *issuer_name && c.tbs_certificate != current.tbs_certificate
        }) {
            match verifies(candidate) {
                Ok(()) => {
                    next = Some(candidate.clone());
                    break;
                }
                Err(_) => bad_signature_by = Some(candidate.tbs_certificate.subject.to_string()),
            }
        }
        let Some(issuer) = next else {
            if let Some(issuer) = bad_signature_by {
                return Err(TokenError::ChainSignatureInvalid { subject, issuer });
            }
            return Err(TokenError::Untrusted { subject, issuer: issuer_name.to_string() });
        };
        match issuer.tbs_certificate.get::<BasicConstraints>() {
            Ok(Some((_, constraints))) if constraints.ca => {}
            _ => return Err(TokenError::IssuerNotCa { subject: issuer.tbs_certificate.subject.to_string() }),
        }
        current_der = issuer.to_der().map_err(|e| TokenError::Decode(e.to_string()))?;
        current = issuer;
    }
    Err(TokenError::Untrusted {
        subject: signer.tbs_certificate.subject.to_string(),
        issuer: format!("(no trust anchor within {MAX_CHAIN} certificates)"),
    })
}

fn check_valid_at(certificate: &Certificate, at: DateTime<Utc>) -> Result<(), TokenError> {
    let validity = &certificate.tbs_certificate.validity;
    let not_before = to_chrono(&validity.not_before);
    let not_after = to_chrono(&validity.not_after);
    if at < not_before || at > not_after {
        return Err(TokenError::CertificateNotValid {
            subject: certificate.tbs_certificate.subject.to_string(),
            gen_time: at.to_rfc3339(),
            not_before: not_before.to_rfc3339(),
            not_after: not_after.to_rfc3339(),
        });
    }
    Ok(())
}

fn to_chrono(time: &x509_cert::time::Time) -> DateTime<Utc> {
    let seconds = time.to_unix_duration().as_secs();
    // X.509 times lie between 1950 and 9999, well inside chrono's range.
    DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX), 0)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub(crate) enum SignatureFailure {
    Unsupported(String),
    Invalid,
}

/// Verifies a signature with ring: RSA PKCS#1 v1.5 (2048 to 8192 bits) with SHA-256/384/512, ECDSA P-256
/// and P-384 with SHA-256/384. `digest_hint` gives the hash for a bare `rsaEncryption` algorithm (CMS
/// allows that, with the hash in `digestAlgorithm`).
pub(crate) fn verify_signature(
    key: &SubjectPublicKeyInfoOwned,
    signature_algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureFailure> {
    use ring::signature as rs;
    let oid = signature_algorithm.oid;
    let key_oid = key.algorithm.oid;
    let algorithm: &dyn rs::VerificationAlgorithm = if key_oid == RSA_ENCRYPTION {
        let hash = if oid == SHA256_WITH_RSA {
            DigestAlgorithm::Sha256
        } else if oid == SHA384_WITH_RSA {
            DigestAlgorithm::Sha384
        } else if oid == SHA512_WITH_RSA {
            DigestAlgorithm::Sha512
        } else if oid == RSA_ENCRYPTION {
            digest_hint.ok_or_else(|| SignatureFailure::Unsupported(format!("{oid} without a digest")))?
        } else {
            return Err(SignatureFailure::Unsupported(format!("signature {oid} with an RSA key")));
        };
        match hash {
            DigestAlgorithm::Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            DigestAlgorithm::Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            DigestAlgorithm::Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
        }
    } else if key_oid == ID_EC_PUBLIC_KEY {
        let curve: Option<ObjectIdentifier> =
            key.algorithm.parameters.as_ref().and_then(|p| p.decode_as().ok());
        match (curve, oid) {
            (Some(c), o) if c == SECP256R1 && o == ECDSA_WITH_SHA256 => &rs::ECDSA_P256_SHA256_ASN1,
            (Some(c), o) if c == SECP256R1 && o == ECDSA_WITH_SHA384 => &rs::ECDSA_P256_SHA384_ASN1,
            (Some(c), o) if c == SECP384R1 && o == ECDSA_WITH_SHA256 => &rs::ECDSA_P384_SHA256_ASN1,
            (Some(c), o) if c == SECP384R1 && o == ECDSA_WITH_SHA384 => &rs::ECDSA_P384_SHA384_ASN1,
            (curve, o) => {
                return Err(SignatureFailure::Unsupported(format!(
                    "ECDSA signature {o} on curve {}",
                    curve.map(|c| c.to_string()).unwrap_or_else(|| "(unnamed)".into())
                )));
            }
        }
    } else {
        return Err(SignatureFailure::Unsupported(format!("public key {key_oid}")));
    };
    rs::UnparsedPublicKey::new(algorithm, key.subject_public_key.raw_bytes())
        .verify(message, signature)
        .map_err(|_| SignatureFailure::Invalid)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    crate::tree::hex_string(bytes)
}
