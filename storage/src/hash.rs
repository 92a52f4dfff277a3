//! Content hashes: the BLAKE3 address of every blob and the SHA-256 computed beside it in the same pass.
//!
//! BLAKE3 is the engine's internal content address. Outside parties (xdomea `Hash`, BSI evidence
//! records) accept only SHA-2, so every write also yields a SHA-256 digest without a second read.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// The BLAKE3 hash of a blob's bytes: its address in the store.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash([u8; 32]);

/// A SHA-256 digest, kept beside the BLAKE3 address for outside parties.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest([u8; 32]);

/// Everything the store knows about a blob's bytes: address, SHA-256 and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlobDigest {
    pub blake3: BlobHash,
    pub sha256: Sha256Digest,
    pub size: u64,
}

/// Error for a string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash {input:?}: expected 64 lowercase hex digits")]
pub struct ParseHashError {
    pub input: String,
}

/// Feeds bytes to BLAKE3 and SHA-256 at once and counts them.
///
/// Large updates are hashed by both functions on two threads so that the dual hash costs about as
/// much wall time as the slower of the two, not their sum.
pub struct DualHasher {
    blake3: blake3::Hasher,
    sha256: sha2::Sha256,
    size: u64,
}

/// Updates at least this large are hashed by BLAKE3 and SHA-256 in parallel; below it the cost of
/// handing work to a second thread exceeds the gain.
const PARALLEL_HASH_THRESHOLD: usize = 256 * 1024;

impl BlobHash {
    pub const LEN: usize = 32;

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Hashes a complete byte slice (BLAKE3 only).
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(input: &str) -> Result<Self, ParseHashError> {
        parse_hex32(input).map(Self)
    }
}

impl Sha256Digest {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(input: &str) -> Result<Self, ParseHashError> {
        parse_hex32(input).map(Self)
    }
}

impl BlobDigest {
    /// Hashes a complete byte slice with both functions.
    pub fn of(bytes: &[u8]) -> Self {
        let mut hasher = DualHasher::new();
        hasher.update(bytes);
        hasher.finalize()
    }
}

impl DualHasher {
    pub fn new() -> Self {
        Self { blake3: blake3::Hasher::new(), sha256: sha2::Sha256::new(), size: 0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        if bytes.len() >= PARALLEL_HASH_THRESHOLD {
            let Self { blake3, sha256, .. } = self;
            std::thread::scope(|scope| {
                scope.spawn(|| sha256.update(bytes));
                blake3.update(bytes);
            });
        } else {
            self.blake3.update(bytes);
            self.sha256.update(bytes);
        }
    }

    /// Number of bytes fed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finalize(self) -> BlobDigest {
        BlobDigest {
            blake3: BlobHash(*self.blake3.finalize().as_bytes()),
            sha256: Sha256Digest(self.sha256.finalize().into()),
            size: self.size,
        }
    }
}

impl Default for DualHasher {
    fn default() -> Self {
        Self::new()
    }
}

fn parse_hex32(input: &str) -> Result<[u8; 32], ParseHashError> {
    let error = || ParseHashError { input: input.chars().take(80).collect() };
    if input.len() != 64 || input.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(error());
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(input, &mut out).map_err(|_| error())?;
    Ok(out)
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.to_hex())
    }
}

impl FromStr for BlobHash {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dual_hash_matches_reference_digests_for_small_and_parallel_updates() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut hasher = DualHasher::new();
        hasher.update(&data[..10]);
        hasher.update(&data[10..]);
        let digest = hasher.finalize();
        assert_eq!(digest.blake3.as_bytes(), blake3::hash(&data).as_bytes());
        let expected_sha: [u8; 32] = sha2::Sha256::digest(&data).into();
        assert_eq!(digest.sha256.as_bytes(), &expected_sha);
        assert_eq!(digest.size, 1_000_000);
    }

    #[test]
    fn known_sha256_of_empty_input() {
        let digest = BlobDigest::of(b"");
        assert_eq!(
            digest.sha256.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(digest.blake3.to_hex(), blake3::hash(b"").to_hex().as_str());
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let hash = BlobHash::of(b"abc");
        assert_eq!(BlobHash::from_hex(&hash.to_hex()).unwrap(), hash);
        assert!(BlobHash::from_hex("abc").is_err());
        assert!(BlobHash::from_hex(&hash.to_hex().to_uppercase()).is_err());
        assert!(BlobHash::from_hex(&"g".repeat(64)).is_err());
    }
}
