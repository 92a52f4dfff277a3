//! The digest algorithms evidence records and timestamps use (SHA-256, SHA-384, SHA-512), with their
//! object identifiers (RFC 5754) and the algorithm identifiers we write (parameters absent, RFC 5754 §2).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
use spki::AlgorithmIdentifierOwned;

/// A hash algorithm for hash trees and message imprints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256, the default for new trees.
    Sha256,
    /// SHA-384: accepted in timestamps and records made elsewhere.
    Sha384,
    /// SHA-512, the configurable second algorithm (for hash-tree renewal, RFC 4998 §5.2).
    Sha512,
}

impl DigestAlgorithm {
    /// The object identifier (RFC 5754 §2).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => ID_SHA_256,
            Self::Sha384 => ID_SHA_384,
            Self::Sha512 => ID_SHA_512,
        }
    }

    /// The algorithm for an object identifier, if it is one of ours.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|a| a.oid() == *oid)
    }

    /// The algorithm identifier we write: the OID with parameters absent. When reading, parameters are
    /// ignored (some writers put NULL there).
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid: self.oid(), parameters: None }
    }

    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// A short lowercase name for messages and configuration ("sha256").
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Digest of one byte string.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }

    /// Digest of the concatenation of several byte strings.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        match self {
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }

    /// Digest of a reader's bytes, streamed (for data files too large to hold in memory).
    pub fn digest_reader(self, mut reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
        fn run<D: sha2::Digest + std::io::Write>(reader: &mut dyn std::io::Read) -> std::io::Result<Vec<u8>> {
            let mut hasher = D::new();
            std::io::copy(reader, &mut hasher)?;
            Ok(hasher.finalize().to_vec())
        }
        match self {
            Self::Sha256 => run::<sha2::Sha256>(&mut reader),
            Self::Sha384 => run::<sha2::Sha384>(&mut reader),
            Self::Sha512 => run::<sha2::Sha512>(&mut reader),
        }
    }

    /// The branch hash of two nodes: the digest of their binary concatenation in ascending (unsigned
    /// byte-wise) order, RFC 4998 §4.2 step 3 and BouncyCastle's `ERSUtil.calculateBranchHash`.
    pub fn branch(self, a: &[u8], b: &[u8]) -> Vec<u8> {
        if a <= b { self.digest_parts(&[a, b]) } else { self.digest_parts(&[b, a]) }
    }

    /// The hash of a group of values (a `PartialHashtree` with more than one value): the digest of the
    /// values sorted and concatenated. One value is taken as it is, not hashed again (BouncyCastle's
    /// `ERSUtil.computeNodeHash`, the reading of the single-element ambiguity in RFC 4998 §4.2).
    pub fn node_hash(self, values: &[Vec<u8>]) -> Vec<u8> {
        if values.len() == 1 {
            return values[0].clone();
        }
        let mut sorted: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        sorted.sort_unstable();
        self.digest_parts(&sorted)
    }
}

impl std::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
