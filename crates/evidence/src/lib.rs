//! Evidence records (RFC 4998) and trusted timestamps (RFC 3161) for registratur.
//!
//! The pieces, in the order the engine uses them:
//!
//! - [`tree`]: a hash tree over leaf digests (RFC 4998 §4.2) and the reduced hash tree of each leaf, built
//!   the way BouncyCastle 1.72's `ERSArchiveTimeStampGenerator` builds it;
//! - [`tsp`]: the RFC 3161 request and response types, and [`token`]: checking a timestamp token
//!   (status, imprint, nonce, CMS signature, ESS signing certificate, TSA certificate, trust list);
//! - [`tsa`]: talking to a timestamp authority ([`tsa::Stamper`], [`tsa::HttpTsa`]) and
//!   [`tsa::timestamp`], which stamps a digest and accepts only a verified answer;
//! - [`asn1`]: the RFC 4998 DER types (`EvidenceRecord` and its parts);
//! - [`stamped`]: a tree with its token, as the engine stores it (versioned), exporting any leaf's record;
//! - [`record`]: an evidence record for one leaf, its offline verification, and both kinds of renewal
//!   (RFC 4998 §5.2).
//!
//! Nothing here knows the store, records or gRPC: digests and tokens in, DER and reports out.
//!
//! # How the engine uses it
//!
//! 1. Collect the SHA-256 of every Version, rendition and the journal head; when the interval ends or
//!    the size is reached, [`HashTree::build`] (or [`HashTree::from_flat_leaves`]).
//! 2. [`tsa::timestamp`]`(&HttpTsa, algorithm, tree.root(), &trust)`; on an error with
//!    [`StampError::is_transient`] keep the tree queued (store [`HashTree::to_stored`]) and retry; other
//!    errors are a misbehaving TSA (alert). A tree stamped twice after a crash gets two valid tokens for
//!    the same root: keep the first one stored, both give valid records.
//! 3. [`StampedTree::new`]`(tree, timestamp.token_der)` and persist [`StampedTree::to_stored`]
//!    (versioned); index leaf → tree.
//! 4. Export: [`StampedTree::from_stored`], [`StampedTree::record_for`]`(leaf)`, then
//!    [`EvidenceRecord::to_der_bytes`] is the `.ers` file (a renewed record is persisted per Dokument).
//! 5. Verify: [`verify_der`]`(DataInput::Bytes(..), ers, &TrustList::from_pem_file(..))` gives a
//!    [`Report`] or a [`VerifyError`] naming the chain, stamp and what failed.
//! 6. Renew before [`Report::renew_before`]: [`timestamp_renewal_leaf`] per record (records of one
//!    tree share a leaf), a tree over the distinct leaves, one timestamp, [`apply_timestamp_renewal`];
//!    for a new hash algorithm, [`hash_tree_renewal_leaf`] + tree + timestamp + [`apply_hash_tree_renewal`].

pub mod asn1;
pub mod digest;
pub mod record;
pub mod stamped;
pub mod token;
pub mod tree;
pub mod trust;
pub mod tsa;
pub mod tsp;

pub use asn1::{
    ArchiveTimeStamp, ArchiveTimeStampChain, ArchiveTimeStampSequence, EvidenceRecord, PartialHashtree,
};
pub use digest::DigestAlgorithm;
pub use record::{
    DataInput, RecordError, Report, VerifyError, apply_hash_tree_renewal, apply_timestamp_renewal,
    evidence_record, hash_tree_renewal_leaf, timestamp_renewal_leaf, verify, verify_der,
};
pub use stamped::{StampedTree, StoredStampedTreeError};
pub use token::{TokenError, VerifiedToken, verify_token};
pub use tree::{HashTree, StoredTreeError, TreeError};
pub use trust::{TrustError, TrustList};
pub use tsa::{HttpTsa, StampError, Stamper, Timestamp, TsaError, timestamp};
