//! `BlobRecord`: what the metadata knows about a stored blob — size, SHA-256, references.

use crate::hash::{BlobDigest, Sha256Digest};

/// The `blobs` column family's value for one blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobRecord {
    pub size: u64,
    pub sha256: Sha256Digest,
    /// How many records refer to the blob. Zero means it may be collected.
    pub refcount: u64,
    /// When the first reference was taken (Unix milliseconds).
    pub first_ref_ms: i64,
}

/// Encoding: `version: u8 (1) | size: u64 BE | sha256: [u8; 32] | refcount: u64 BE | first_ref_ms: i64 BE`.
const ENCODED_LEN: usize = 1 + 8 + 32 + 8 + 8;

impl BlobRecord {
    pub fn new(digest: &BlobDigest, first_ref_ms: i64) -> Self {
        Self { size: digest.size, sha256: digest.sha256, refcount: 0, first_ref_ms }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_LEN);
        out.push(1);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(self.sha256.as_bytes());
        out.extend_from_slice(&self.refcount.to_be_bytes());
        out.extend_from_slice(&self.first_ref_ms.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() != ENCODED_LEN || bytes[0] != 1 {
            return Err(format!("expected {ENCODED_LEN} bytes of version 1, got {} bytes", bytes.len()));
        }
        let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().expect("length checked"));
        Ok(Self {
            size: u64_at(1),
            sha256: Sha256Digest::from_bytes(bytes[9..41].try_into().expect("length checked")),
            refcount: u64_at(41),
            first_ref_ms: u64_at(49) as i64,
        })
    }
}
