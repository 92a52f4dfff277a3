//! A stamped tree: a hash tree with the timestamp token over its root, the unit the engine persists after a
//! TSA answered, and from which it exports the evidence record of any leaf later.
//!
//! Stored form, version 1 (`[1, token length u32 BE, token DER, HashTree stored form]`): the tree's
//! sorted leaves (the upper levels are rebuilt on load) and the token exactly as the TSA sent it.

use crate::asn1::EvidenceRecord;
use crate::record::{RecordError, evidence_record, token_imprint};
use crate::tree::{HashTree, StoredTreeError};

/// The version byte of [`StampedTree::to_stored`].
pub const STORED_STAMPED_TREE_VERSION: u8 = 1;

/// Reading a stored stamped tree failed.
#[derive(Debug, thiserror::Error)]
pub enum StoredStampedTreeError {
    #[error("stored stamped tree is truncated ({len} bytes)")]
    Length { len: usize },
    #[error("stored stamped tree has format version {0}, this build reads version 1: upgrade registratur")]
    Version(u8),
    #[error(transparent)]
    Tree(#[from] StoredTreeError),
    #[error("stored stamped tree's token does not fit its tree: {0}")]
    Token(#[from] RecordError),
}

/// A hash tree and the timestamp token over its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampedTree {
    tree: HashTree,
    token_der: Vec<u8>,
}

impl StampedTree {
    /// Pairs a tree with its token, checking that the token stamps the tree's root with the tree's
    /// algorithm (the token's signature was checked when it was received, by [`crate::tsa::timestamp`]).
    pub fn new(tree: HashTree, token_der: Vec<u8>) -> Result<Self, RecordError> {
        let (algorithm, imprint, _) = token_imprint(&token_der)?;
        if algorithm != tree.algorithm() || imprint != tree.root() {
            return Err(RecordError::TokenForAnotherRoot {
                algorithm: algorithm.name(),
                expected: crate::tree::hex_string(tree.root()),
                actual: crate::tree::hex_string(&imprint),
            });
        }
        Ok(Self { tree, token_der })
    }

    /// The tree.
    pub fn tree(&self) -> &HashTree {
        &self.tree
    }

    /// The token (`ContentInfo` DER) as the TSA sent it.
    pub fn token_der(&self) -> &[u8] {
        &self.token_der
    }

    /// The evidence record of one leaf (the leaf's digest with the tree's algorithm).
    pub fn record_for(&self, leaf: &[u8]) -> Result<EvidenceRecord, RecordError> {
        evidence_record(&self.tree, leaf, &self.token_der)
    }

    /// The stored form, version 1 (see the module documentation).
    pub fn to_stored(&self) -> Vec<u8> {
        let tree = self.tree.to_stored();
        let mut out = Vec::with_capacity(5 + self.token_der.len() + tree.len());
        out.push(STORED_STAMPED_TREE_VERSION);
        // A token is a few KiB; u32 cannot overflow for anything a TSA answers within MAX_RESPONSE_BYTES.
        out.extend_from_slice(&u32::try_from(self.token_der.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&self.token_der);
        out.extend_from_slice(&tree);
        out
    }

    /// Reads the stored form and rebuilds the tree.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, StoredStampedTreeError> {
        let length = StoredStampedTreeError::Length { len: bytes.len() };
        let (&version, rest) = bytes.split_first().ok_or(length)?;
        if version != STORED_STAMPED_TREE_VERSION {
            return Err(StoredStampedTreeError::Version(version));
        }
        let Some((token_len, rest)) = rest.split_first_chunk::<4>() else {
            return Err(StoredStampedTreeError::Length { len: bytes.len() });
        };
        let token_len = u32::from_be_bytes(*token_len) as usize;
        if rest.len() < token_len {
            return Err(StoredStampedTreeError::Length { len: bytes.len() });
        }
        let (token, tree) = rest.split_at(token_len);
        let tree = HashTree::from_stored(tree)?;
        Ok(Self::new(tree, token.to_vec())?)
    }
}
