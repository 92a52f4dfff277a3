//! The RFC 4998 ASN.1 types (module `ERS`, `DEFINITIONS IMPLICIT TAGS`, RFC 4998 Appendix A) in DER.
//!
//! The `timeStamp` of an `ArchiveTimeStamp` is kept as a CMS `ContentInfo` whose content is raw DER, so
//! that encoding a decoded record gives back the same bytes: timestamp renewal hashes those bytes
//! (RFC 4998 §5.2) and a re-encoding that changed them would break every later check.

use cms::content_info::ContentInfo;
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

use crate::digest::DigestAlgorithm;

/// `EvidenceRecord ::= SEQUENCE { version INTEGER { v1(1) }, digestAlgorithms SEQUENCE OF
/// AlgorithmIdentifier, cryptoInfos [0] CryptoInfos OPTIONAL, encryptionInfo [1] EncryptionInfo
/// OPTIONAL, archiveTimeStampSequence ArchiveTimeStampSequence }` (RFC 4998 §3).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EvidenceRecord {
    /// Always 1.
    pub version: u8,
    /// Every digest algorithm used in the record's chains.
    pub digest_algorithms: Vec<AlgorithmIdentifierOwned>,
    /// `CryptoInfos ::= SEQUENCE SIZE (1..MAX) OF Attribute`: carried, not interpreted.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    pub crypto_infos: Option<Vec<Attribute>>,
    /// Encryption information (RFC 4998 §6.2): carried, not interpreted.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    pub encryption_info: Option<EncryptionInfo>,
    /// The chains, oldest first.
    pub archive_time_stamp_sequence: ArchiveTimeStampSequence,
}

/// `EncryptionInfo ::= SEQUENCE { encryptionInfoType OBJECT IDENTIFIER, encryptionInfoValue ANY DEFINED
/// BY encryptionInfoType }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncryptionInfo {
    pub encryption_info_type: ObjectIdentifier,
    pub encryption_info_value: Any,
}

/// `ArchiveTimeStampSequence ::= SEQUENCE OF ArchiveTimeStampChain`: one chain per hash algorithm
/// generation (a new chain starts with each hash-tree renewal).
pub type ArchiveTimeStampSequence = Vec<ArchiveTimeStampChain>;

/// `ArchiveTimeStampChain ::= SEQUENCE OF ArchiveTimeStamp`: the first stamps the data, each later one
/// renews the timestamp before it.
pub type ArchiveTimeStampChain = Vec<ArchiveTimeStamp>;

/// `PartialHashtree ::= SEQUENCE OF OCTET STRING`.
pub type PartialHashtree = Vec<OctetString>;

/// `ArchiveTimeStamp ::= SEQUENCE { digestAlgorithm [0] AlgorithmIdentifier OPTIONAL, attributes [1]
/// Attributes OPTIONAL, reducedHashtree [2] SEQUENCE OF PartialHashtree OPTIONAL, timeStamp ContentInfo }`
/// (RFC 4998 §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ArchiveTimeStamp {
    /// Absent when the timestamp stamps the object itself; then the timestamp's imprint algorithm counts.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    pub digest_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Carried, not interpreted.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    pub attributes: Option<SetOfVec<Attribute>>,
    /// The path from the object's hash to the root; absent when the timestamp covers the object itself.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    pub reduced_hashtree: Option<Vec<PartialHashtree>>,
    /// The RFC 3161 timestamp token (a CMS `ContentInfo` of `SignedData`).
    pub time_stamp: ContentInfo,
}

/// Decoding or encoding an RFC 4998 structure failed.
#[derive(Debug, thiserror::Error)]
pub enum Asn1Error {
    /// The bytes are not a DER `EvidenceRecord`.
    #[error("not a DER evidence record (RFC 4998 §3): {0}")]
    Decode(der::Error),
    /// The structure decoded but breaks a rule of RFC 4998.
    #[error("invalid evidence record: {0}")]
    Invalid(&'static str),
    /// Encoding failed (a value out of DER's range, such as a length over 4 GiB).
    #[error("cannot encode evidence record: {0}")]
    Encode(der::Error),
}

impl EvidenceRecord {
    /// Decodes an `.ers` file (DER). Garbage, trailing bytes, BER and structures that break RFC 4998's
    /// size rules (no chains, an empty chain, an empty partial hash tree, version not 1) are refused.
    pub fn from_der_checked(bytes: &[u8]) -> Result<Self, Asn1Error> {
        let record = Self::from_der(bytes).map_err(Asn1Error::Decode)?;
        if record.version != 1 {
            return Err(Asn1Error::Invalid("version is not 1"));
        }
        if record.archive_time_stamp_sequence.is_empty() {
            return Err(Asn1Error::Invalid("the archive timestamp sequence is empty"));
        }
        for chain in &record.archive_time_stamp_sequence {
            if chain.is_empty() {
                return Err(Asn1Error::Invalid("an archive timestamp chain is empty"));
            }
            for ats in chain {
                if let Some(reduced) = &ats.reduced_hashtree {
                    if reduced.is_empty() {
                        return Err(Asn1Error::Invalid("a reduced hash tree is empty"));
                    }
                    if reduced.iter().any(Vec::is_empty) {
                        return Err(Asn1Error::Invalid("a partial hash tree is empty"));
                    }
                }
            }
        }
        Ok(record)
    }

    /// The DER encoding (the `.ers` file).
    pub fn to_der_bytes(&self) -> Result<Vec<u8>, Asn1Error> {
        self.to_der().map_err(Asn1Error::Encode)
    }

    /// Adds an algorithm to `digestAlgorithms` unless it is there.
    pub(crate) fn note_algorithm(&mut self, algorithm: DigestAlgorithm) {
        if !self.digest_algorithms.iter().any(|a| a.oid == algorithm.oid()) {
            self.digest_algorithms.push(algorithm.algorithm_identifier());
        }
    }
}

impl ArchiveTimeStamp {
    /// The reduced hash tree as plain byte vectors.
    pub fn reduced_values(&self) -> Option<Vec<Vec<Vec<u8>>>> {
        self.reduced_hashtree.as_ref().map(|tree| {
            tree.iter().map(|node| node.iter().map(|v| v.as_bytes().to_vec()).collect()).collect()
        })
    }

    /// The DER of the `timeStamp` field: what a timestamp renewal hashes (RFC 4998 §5.2).
    pub fn time_stamp_der(&self) -> Result<Vec<u8>, Asn1Error> {
        self.time_stamp.to_der().map_err(Asn1Error::Encode)
    }
}

/// Turns a path of byte vectors into a reduced hash tree, each entry one `PartialHashtree`.
pub(crate) fn partial_hashtrees(nodes: &[Vec<Vec<u8>>]) -> Result<Vec<PartialHashtree>, Asn1Error> {
    nodes
        .iter()
        .map(|node| node.iter().map(|v| OctetString::new(v.clone()).map_err(Asn1Error::Encode)).collect())
        .collect()
}
