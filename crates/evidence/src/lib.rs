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
