//! Evidence records for one data object: assembly from a tree and its timestamp (RFC 4998 §4), offline
//! verification (RFC 4998 §5.3), timestamp renewal and hash-tree renewal (RFC 4998 §5.2).
//!
//! The shapes follow BouncyCastle 1.72 (`ERSArchiveTimeStampGenerator`, `ERSEvidenceRecord`), so its
//! `validatePresent` and `validate` accept what we write, and we accept what it writes:
//!
//! - a tree of one leaf gives an `ArchiveTimeStamp` without `digestAlgorithm` and `reducedHashtree`: the
//!   timestamp stamps the object's hash itself;
//! - a timestamp renewal stamps the group of the hashes of every `timeStamp` in the current chain (one hash
//!   alone is stamped directly), so each renewal covers all earlier timestamps of its chain;
//! - a hash-tree renewal starts a new chain whose leaf is `H(H(data) || H(DER(previous chains)))`.

use chrono::{DateTime, Utc};
use cms::content_info::ContentInfo;
use der::{Decode, Encode};

use crate::asn1::{ArchiveTimeStamp, Asn1Error, EvidenceRecord, partial_hashtrees};
use crate::digest::DigestAlgorithm;
use crate::token::{TokenError, VerifiedToken, hex, parse_content_info, parse_token, verify_parsed};
use crate::tree::{HashTree, TreeError, recover_root};
use crate::trust::TrustList;

/// The data object whose presence an evidence record proves: its bytes, or its digests (one per algorithm
/// the record uses; SHA-256 alone for a record that was never hash-tree renewed).
#[derive(Clone, Copy, Debug)]
pub enum DataInput<'a> {
    Bytes(&'a [u8]),
    Digests(&'a [(DigestAlgorithm, Vec<u8>)]),
}

impl DataInput<'_> {
    fn digest(&self, algorithm: DigestAlgorithm) -> Result<Vec<u8>, VerifyError> {
        match self {
            Self::Bytes(bytes) => Ok(algorithm.digest(bytes)),
            Self::Digests(digests) => digests
                .iter()
                .find(|(a, _)| *a == algorithm)
                .map(|(_, d)| d.clone())
                .ok_or(VerifyError::DigestMissing { algorithm: algorithm.name() }),
        }
    }
}

/// Assembling or renewing a record failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Asn1(#[from] Asn1Error),
    #[error("timestamp token unusable: {0}")]
    Token(#[from] TokenError),
    #[error(
        "the timestamp stamps {actual} with {algorithm}, but the tree's root is {expected}: it belongs to another tree"
    )]
    TokenForAnotherRoot { algorithm: &'static str, expected: String, actual: String },
    #[error("the renewal tree uses {tree}, but the record's chain uses {chain}")]
    AlgorithmMismatch { tree: &'static str, chain: &'static str },
    #[error("the record uses digest algorithm {0}, which this build does not know")]
    UnknownAlgorithm(String),
    #[error("the record's data digest is needed for {0}: {1}")]
    Data(&'static str, Box<VerifyError>),
}

/// Why an evidence record does not prove the data. `chain` and `stamp` count from 0 (chain 0 is the
/// original, stamp 0 of a chain stamps the data).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Decode(#[from] Asn1Error),
    #[error("chain {chain}: digest algorithm {oid} is unknown (supported: SHA-256, SHA-384, SHA-512)")]
    UnknownAlgorithm { chain: usize, oid: String },
    #[error("no {algorithm} digest of the data was given, and the record needs one")]
    DigestMissing { algorithm: &'static str },
    #[error(
        "chain {chain} uses {algorithm}, which the record's digestAlgorithms list does not name (RFC 4998 §3)"
    )]
    AlgorithmNotListed { chain: usize, algorithm: &'static str },
    #[error("chain {chain}, stamp {stamp}: digest algorithm changes inside a chain (RFC 4998 §5.3)")]
    AlgorithmChangedInChain { chain: usize, stamp: usize },
    #[error(
        "chain {chain}: the data's hash {hash} is not in the record's hash tree: the data differs from what was stamped"
    )]
    HashNotInTree { chain: usize, hash: String },
    #[error("chain {chain}, stamp {stamp}: the previous timestamp is not covered by this renewal")]
    PreviousTimestampNotCovered { chain: usize, stamp: usize },
    #[error(
        "chain {chain}, stamp {stamp}: the hash tree's root {root} is not the timestamp's imprint {imprint}"
    )]
    RootMismatch { chain: usize, stamp: usize, root: String, imprint: String },
    #[error("chain {chain}, stamp {stamp}: {source}")]
    Token { chain: usize, stamp: usize, source: TokenError },
    #[error(
        "chain {chain}, stamp {stamp}: renewed at {renewed}, after the previous TSA certificate expired at {expired}"
    )]
    RenewedTooLate { chain: usize, stamp: usize, renewed: String, expired: String },
}

/// What a verified record proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The time from which the data provably existed: the first timestamp's `genTime`.
    pub existed_at: DateTime<Utc>,
    /// Every chain with its verified timestamps, oldest first.
    pub chains: Vec<ChainReport>,
    /// The last TSA certificate's expiry: renew the timestamp before then.
    pub renew_before: DateTime<Utc>,
}

/// One verified chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub algorithm: DigestAlgorithm,
    pub timestamps: Vec<VerifiedToken>,
}

/// The evidence record of one leaf of a stamped tree. `token_der` is the timestamp token (`ContentInfo`
/// DER) over the tree's root; its signature is not checked here (it was when it was received).
pub fn evidence_record(
    tree: &HashTree,
    leaf: &[u8],
    token_der: &[u8],
) -> Result<EvidenceRecord, RecordError> {
    let ats = archive_time_stamp(tree, leaf, token_der, None)?;
    Ok(EvidenceRecord {
        version: 1,
        digest_algorithms: vec![tree.algorithm().algorithm_identifier()],
        crypto_infos: None,
        encryption_info: None,
        archive_time_stamp_sequence: vec![vec![ats]],
    })
}

/// Builds the `ArchiveTimeStamp` of `leaf` in `tree`. `first_node` replaces the leaf as the first partial
/// hash tree (a renewal's group of timestamp hashes, whose node hash is the leaf).
fn archive_time_stamp(
    tree: &HashTree,
    leaf: &[u8],
    token_der: &[u8],
    first_node: Option<Vec<Vec<u8>>>,
) -> Result<ArchiveTimeStamp, RecordError> {
    let algorithm = tree.algorithm();
    let time_stamp = ContentInfo::from_der(token_der).map_err(|e| TokenError::Decode(e.to_string()))?;
    let parsed = parse_content_info(&time_stamp)?;
    let imprint = parsed.tst.message_imprint.hashed_message.as_bytes();
    if parsed.algorithm != algorithm || imprint != tree.root() {
        return Err(RecordError::TokenForAnotherRoot {
            algorithm: parsed.algorithm.name(),
            expected: hex(tree.root()),
            actual: hex(imprint),
        });
    }
    let path = tree.path(leaf)?;
    let mut nodes: Vec<Vec<Vec<u8>>> = path.into_iter().map(|v| vec![v]).collect();
    if let Some(first) = first_node {
        nodes[0] = first;
    }
    // One node of one value: the timestamp stamps that value itself (BouncyCastle writes neither
    // digestAlgorithm nor reducedHashtree then).
    if nodes.len() == 1 && nodes[0].len() == 1 {
        return Ok(ArchiveTimeStamp {
            digest_algorithm: None,
            attributes: None,
            reduced_hashtree: None,
            time_stamp,
        });
    }
    Ok(ArchiveTimeStamp {
        digest_algorithm: Some(algorithm.algorithm_identifier()),
        attributes: None,
        reduced_hashtree: Some(partial_hashtrees(&nodes)?),
        time_stamp,
    })
}

/// The digest algorithm of an `ArchiveTimeStamp`: its own, or its timestamp's imprint algorithm.
fn ats_algorithm(ats: &ArchiveTimeStamp) -> Result<DigestAlgorithm, String> {
    match &ats.digest_algorithm {
        Some(a) => DigestAlgorithm::from_oid(&a.oid).ok_or_else(|| a.oid.to_string()),
        None => match parse_content_info(&ats.time_stamp) {
            Ok(parsed) => Ok(parsed.algorithm),
            Err(TokenError::UnsupportedAlgorithm(oid)) => Err(oid),
            Err(other) => Err(other.to_string()),
        },
    }
}

/// Decodes an `.ers` file and verifies it: see [`verify`].
pub fn verify_der(data: DataInput<'_>, ers_der: &[u8], trust: &TrustList) -> Result<Report, VerifyError> {
    let record = EvidenceRecord::from_der_checked(ers_der)?;
    verify(data, &record, trust)
}

/// Verifies that `record` proves the existence of `data` (RFC 4998 §5.3), offline: in every chain, the
/// first timestamp covers the data (with the previous chains, after a hash-tree renewal), each later one
/// covers the one before it; every tree path leads to its timestamp's imprint; every token verifies at its
/// `genTime` against `trust`; every renewal happened before the previous TSA certificate expired.
pub fn verify(
    data: DataInput<'_>,
    record: &EvidenceRecord,
    trust: &TrustList,
) -> Result<Report, VerifyError> {
    let sequence = &record.archive_time_stamp_sequence;
    if sequence.is_empty() || sequence.iter().any(Vec::is_empty) {
        return Err(Asn1Error::Invalid("an archive timestamp sequence or chain is empty").into());
    }
    let mut chains = Vec::with_capacity(sequence.len());
    let mut previous_expiry: Option<DateTime<Utc>> = None;
    for (c, chain) in sequence.iter().enumerate() {
        let algorithm =
            ats_algorithm(&chain[0]).map_err(|oid| VerifyError::UnknownAlgorithm { chain: c, oid })?;
        let mut target = data.digest(algorithm)?;
        if c > 0 {
            let previous = sequence[..c].to_vec().to_der().map_err(Asn1Error::Encode)?;
            target = algorithm.digest_parts(&[&target, &algorithm.digest(&previous)]);
        }
        let mut timestamps = Vec::with_capacity(chain.len());
        for (s, ats) in chain.iter().enumerate() {
            if s > 0 {
                let own =
                    ats_algorithm(ats).map_err(|oid| VerifyError::UnknownAlgorithm { chain: c, oid })?;
                if own != algorithm {
                    return Err(VerifyError::AlgorithmChangedInChain { chain: c, stamp: s });
                }
                target = algorithm.digest(&chain[s - 1].time_stamp_der()?);
            }
            let not_covered = || {
                if s == 0 {
                    VerifyError::HashNotInTree { chain: c, hash: hex(&target) }
                } else {
                    VerifyError::PreviousTimestampNotCovered { chain: c, stamp: s }
                }
            };
            let token_error = |source| VerifyError::Token { chain: c, stamp: s, source };
            let parsed = parse_content_info(&ats.time_stamp).map_err(token_error)?;
            let imprint = parsed.tst.message_imprint.hashed_message.as_bytes().to_vec();
            let root = match ats.reduced_values() {
                Some(nodes) => {
                    // RFC 4998 §4.3 step 2 and BouncyCastle: the hash is a value of the first partial tree.
                    if nodes.is_empty() || nodes.iter().any(Vec::is_empty) {
                        return Err(
                            Asn1Error::Invalid("a reduced hash tree or partial hash tree is empty").into()
                        );
                    }
                    if !nodes[0].contains(&target) {
                        return Err(not_covered());
                    }
                    recover_root(algorithm, &nodes).unwrap_or_default()
                }
                None => {
                    if imprint != target {
                        return Err(not_covered());
                    }
                    target.clone()
                }
            };
            if parsed.algorithm != algorithm || root != imprint {
                return Err(VerifyError::RootMismatch {
                    chain: c,
                    stamp: s,
                    root: hex(&root),
                    imprint: hex(&imprint),
                });
            }
            let verified = verify_parsed(&parsed, algorithm, &root, None, trust).map_err(token_error)?;
            if let Some(expired) = previous_expiry
                && verified.gen_time > expired
            {
                return Err(VerifyError::RenewedTooLate {
                    chain: c,
                    stamp: s,
                    renewed: verified.gen_time.to_rfc3339(),
                    expired: expired.to_rfc3339(),
                });
            }
            previous_expiry = Some(verified.tsa_not_after);
            timestamps.push(verified);
        }
        chains.push(ChainReport { algorithm, timestamps });
    }
    let existed_at = chains[0].timestamps[0].gen_time;
    let renew_before = previous_expiry.unwrap_or(existed_at);
    Ok(Report { existed_at, chains, renew_before })
}

/// What a timestamp renewal of one record stamps (RFC 4998 §5.2): the hashes of every `timeStamp` in the
/// record's last chain (the group), and the group's node hash, which is the leaf of the renewal tree.
/// Records whose last chains are equal (all leaves of one stamped tree) have the same leaf: renew them
/// with one leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewalLeaf {
    pub algorithm: DigestAlgorithm,
    pub group: Vec<Vec<u8>>,
    pub leaf: Vec<u8>,
}

/// The renewal leaf of a record (see [`RenewalLeaf`]).
pub fn timestamp_renewal_leaf(record: &EvidenceRecord) -> Result<RenewalLeaf, RecordError> {
    let chain = record
        .archive_time_stamp_sequence
        .last()
        .filter(|c| !c.is_empty())
        .ok_or(Asn1Error::Invalid("the archive timestamp sequence or its last chain is empty"))?;
    let algorithm = ats_algorithm(&chain[0]).map_err(RecordError::UnknownAlgorithm)?;
    let mut group = Vec::with_capacity(chain.len());
    for ats in chain {
        group.push(algorithm.digest(&ats.time_stamp_der()?));
    }
    group.sort();
    let leaf = algorithm.node_hash(&group);
    Ok(RenewalLeaf { algorithm, group, leaf })
}

/// Appends a timestamp renewal to the record's last chain. `tree` is the renewal tree (over the
/// [`RenewalLeaf::leaf`]s of the records renewed together, possibly one) and `token_der` the timestamp of
/// its root.
pub fn apply_timestamp_renewal(
    record: &EvidenceRecord,
    tree: &HashTree,
    token_der: &[u8],
) -> Result<EvidenceRecord, RecordError> {
    let renewal = timestamp_renewal_leaf(record)?;
    if tree.algorithm() != renewal.algorithm {
        return Err(RecordError::AlgorithmMismatch {
            tree: tree.algorithm().name(),
            chain: renewal.algorithm.name(),
        });
    }
    let ats = archive_time_stamp(tree, &renewal.leaf, token_der, Some(renewal.group))?;
    let mut renewed = record.clone();
    if let Some(chain) = renewed.archive_time_stamp_sequence.last_mut() {
        chain.push(ats);
    }
    Ok(renewed)
}

/// The leaf of a record in a hash-tree renewal with `algorithm` (RFC 4998 §5.2): `H(H(data) ||
/// H(DER(ArchiveTimeStampSequence)))`. The data must be given (its bytes, or its digest with the new
/// algorithm); whether the record still covers the data is checked by [`verify`] before renewing.
pub fn hash_tree_renewal_leaf(
    record: &EvidenceRecord,
    data: DataInput<'_>,
    algorithm: DigestAlgorithm,
) -> Result<Vec<u8>, RecordError> {
    let data_hash =
        data.digest(algorithm).map_err(|e| RecordError::Data("hash-tree renewal", Box::new(e)))?;
    let sequence = record.archive_time_stamp_sequence.to_der().map_err(Asn1Error::Encode)?;
    Ok(algorithm.digest_parts(&[&data_hash, &algorithm.digest(&sequence)]))
}

/// Appends a new chain to the record: the hash-tree renewal for `leaf` (from [`hash_tree_renewal_leaf`])
/// in `tree` (the new algorithm's tree over the leaves of all records renewed together), stamped by
/// `token_der`.
pub fn apply_hash_tree_renewal(
    record: &EvidenceRecord,
    tree: &HashTree,
    leaf: &[u8],
    token_der: &[u8],
) -> Result<EvidenceRecord, RecordError> {
    let ats = archive_time_stamp(tree, leaf, token_der, None)?;
    let mut renewed = record.clone();
    renewed.archive_time_stamp_sequence.push(vec![ats]);
    renewed.note_algorithm(tree.algorithm());
    Ok(renewed)
}

/// Decodes a token just to read what it stamps (for callers that index tokens by root).
pub fn token_imprint(token_der: &[u8]) -> Result<(DigestAlgorithm, Vec<u8>, DateTime<Utc>), TokenError> {
    let parsed = parse_token(token_der)?;
    Ok((parsed.algorithm, parsed.tst.message_imprint.hashed_message.as_bytes().to_vec(), parsed.gen_time))
}
