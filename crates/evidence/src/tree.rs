//! Hash trees over leaf digests (RFC 4998 §4.2), built exactly as BouncyCastle 1.72 builds them
//! (`BinaryTreeRootCalculator`), and the reduced hash tree of each leaf.
//!
//! The leaves are sorted (unsigned byte-wise); neighbours are paired left to right and each pair's
//! branch hash is the digest of the two values concatenated in ascending order; an odd last node moves up a
//! level unchanged. A tree of one leaf has that leaf as its root: the timestamp then covers the leaf itself.
//!
//! The reduced hash tree of a leaf is the leaf alone, then one sibling per level (each a
//! `PartialHashtree` of one value), which is what `ERSArchiveTimeStampGenerator.generateArchiveTimeStamps`
//! writes and what `ERSArchiveTimeStamp.validatePresent` and RFC 4998 §4.3 both accept: a single value is
//! never hashed again (the known ambiguity of §4.2 for one-element lists).
//!
//! Memory: every level is one flat byte vector, so a tree of n leaves of w bytes holds about 2·n·w bytes
//! (64 MiB for a million SHA-256 leaves), and no per-node allocation.

use crate::digest::DigestAlgorithm;

/// Building or querying a tree failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    /// No leaves were given.
    #[error("a hash tree needs at least one leaf digest")]
    Empty,
    /// A leaf has the wrong length for the algorithm.
    #[error(
        "leaf {index} is {actual} bytes, but {algorithm} digests are {expected} bytes: pass digests, not data"
    )]
    WrongLeafLength { index: usize, actual: usize, expected: usize, algorithm: DigestAlgorithm },
    /// The digest asked for is not a leaf of this tree.
    #[error("the digest {digest} is not a leaf of this hash tree")]
    NotInTree { digest: String },
}

/// Reading a stored tree failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoredTreeError {
    #[error("stored hash tree is truncated or has trailing bytes ({len} bytes)")]
    Length { len: usize },
    #[error("stored hash tree has format version {0}, this build reads version 1: upgrade registratur")]
    Version(u8),
    #[error("stored hash tree names unknown digest algorithm code {0}")]
    Algorithm(u8),
    #[error("stored hash tree is invalid: {0}")]
    Tree(#[from] TreeError),
}

/// A hash tree: the sorted leaves and every level above them up to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashTree {
    algorithm: DigestAlgorithm,
    width: usize,
    /// `levels[0]` holds the sorted leaves, the last level holds the root alone; each level is flat.
    levels: Vec<Vec<u8>>,
}

/// The version byte of [`HashTree::to_stored`].
pub const STORED_TREE_VERSION: u8 = 1;

impl HashTree {
    /// Builds a tree over leaf digests, in any order (they are sorted here).
    pub fn build<I, L>(algorithm: DigestAlgorithm, leaves: I) -> Result<Self, TreeError>
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]>,
    {
        let width = algorithm.output_len();
        let mut flat = Vec::new();
        for (index, leaf) in leaves.into_iter().enumerate() {
            let leaf = leaf.as_ref();
            if leaf.len() != width {
                return Err(TreeError::WrongLeafLength {
                    index,
                    actual: leaf.len(),
                    expected: width,
                    algorithm,
                });
            }
            flat.extend_from_slice(leaf);
        }
        Self::from_flat_leaves(algorithm, flat)
    }

    /// Builds a tree over leaf digests given as one flat byte vector (n · digest length bytes), the
    /// cheapest form for a million leaves.
    pub fn from_flat_leaves(algorithm: DigestAlgorithm, mut leaves: Vec<u8>) -> Result<Self, TreeError> {
        let width = algorithm.output_len();
        if leaves.is_empty() {
            return Err(TreeError::Empty);
        }
        if !leaves.len().is_multiple_of(width) {
            return Err(TreeError::WrongLeafLength {
                index: leaves.len() / width,
                actual: leaves.len() % width,
                expected: width,
                algorithm,
            });
        }
        match width {
            32 => sort_chunks::<32>(&mut leaves),
            48 => sort_chunks::<48>(&mut leaves),
            _ => sort_chunks::<64>(&mut leaves),
        }
        let mut levels = vec![leaves];
        loop {
            let below = &levels[levels.len() - 1];
            let count = below.len() / width;
            if count == 1 {
                break;
            }
            let mut above = Vec::with_capacity(count.div_ceil(2) * width);
            let mut pairs = below.chunks_exact(2 * width);
            for pair in &mut pairs {
                let (a, b) = pair.split_at(width);
                above.extend_from_slice(&algorithm.branch(a, b));
            }
            // An odd last node moves up unchanged (BinaryTreeRootCalculator.computeRootHash).
            above.extend_from_slice(pairs.remainder());
            levels.push(above);
        }
        Ok(Self { algorithm, width, levels })
    }

    /// The digest algorithm of the leaves and branches.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The root hash: what the timestamp's message imprint must hold.
    pub fn root(&self) -> &[u8] {
        let top = &self.levels[self.levels.len() - 1];
        &top[..self.width]
    }

    /// The number of leaves.
    pub fn leaf_count(&self) -> usize {
        self.levels[0].len() / self.width
    }

    /// The bytes the tree holds on the heap (all levels), for capacity planning.
    pub fn heap_bytes(&self) -> usize {
        self.levels.iter().map(Vec::capacity).sum()
    }

    /// The sorted leaves.
    pub fn leaves(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.levels[0].chunks_exact(self.width)
    }

    /// Whether a digest is a leaf of this tree.
    pub fn contains(&self, leaf: &[u8]) -> bool {
        self.position(leaf).is_some()
    }

    fn position(&self, leaf: &[u8]) -> Option<usize> {
        if leaf.len() != self.width {
            return None;
        }
        let leaves = &self.levels[0];
        let (mut low, mut high) = (0usize, leaves.len() / self.width);
        while low < high {
            let mid = (low + high) / 2;
            let value = &leaves[mid * self.width..(mid + 1) * self.width];
            match value.cmp(leaf) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The path from a leaf to the root: the leaf itself, then its sibling on every level where it has one
    /// (an odd last node that moves up has none there). Each entry becomes a `PartialHashtree` of one value.
    /// For a tree of one leaf the path is the leaf alone.
    pub fn path(&self, leaf: &[u8]) -> Result<Vec<Vec<u8>>, TreeError> {
        let mut index =
            self.position(leaf).ok_or_else(|| TreeError::NotInTree { digest: hex_string(leaf) })?;
        let w = self.width;
        let mut path = vec![leaf.to_vec()];
        for level in &self.levels[..self.levels.len() - 1] {
            let count = level.len() / w;
            let sibling = index ^ 1;
            if sibling < count {
                path.push(level[sibling * w..(sibling + 1) * w].to_vec());
            }
            index /= 2;
        }
        Ok(path)
    }

    /// The tree's stored form, version 1: `[1, algorithm code, leaf count (u64 BE), sorted leaves...]`.
    /// The upper levels are not stored: [`HashTree::from_stored`] rebuilds them (about a second for a
    /// million leaves), so the stored form is as small as the leaves. Codes: 1 SHA-256, 2 SHA-384, 3 SHA-512.
    pub fn to_stored(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + self.levels[0].len());
        out.push(STORED_TREE_VERSION);
        out.push(algorithm_code(self.algorithm));
        out.extend_from_slice(&(self.leaf_count() as u64).to_be_bytes());
        out.extend_from_slice(&self.levels[0]);
        out
    }

    /// Reads the stored form of [`HashTree::to_stored`] and rebuilds the tree.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, StoredTreeError> {
        let length_error = StoredTreeError::Length { len: bytes.len() };
        let (&version, rest) = bytes.split_first().ok_or(length_error.clone())?;
        if version != STORED_TREE_VERSION {
            return Err(StoredTreeError::Version(version));
        }
        let (&code, rest) = rest.split_first().ok_or(length_error.clone())?;
        let algorithm = match code {
            1 => DigestAlgorithm::Sha256,
            2 => DigestAlgorithm::Sha384,
            3 => DigestAlgorithm::Sha512,
            other => return Err(StoredTreeError::Algorithm(other)),
        };
        let (count, leaves) = rest.split_first_chunk::<8>().ok_or(length_error.clone())?;
        let count = u64::from_be_bytes(*count);
        if Some(leaves.len() as u64) != count.checked_mul(algorithm.output_len() as u64) {
            return Err(length_error);
        }
        Ok(Self::from_flat_leaves(algorithm, leaves.to_vec())?)
    }
}

fn algorithm_code(algorithm: DigestAlgorithm) -> u8 {
    match algorithm {
        DigestAlgorithm::Sha256 => 1,
        DigestAlgorithm::Sha384 => 2,
        DigestAlgorithm::Sha512 => 3,
    }
}

fn sort_chunks<const N: usize>(flat: &mut [u8]) {
    let (chunks, _remainder) = flat.as_chunks_mut::<N>();
    chunks.sort_unstable();
}

/// Recomputes the root from a reduced hash tree as BouncyCastle 1.72's `recoverRootHash` does: the node
/// hash of the first partial hash tree, then, for each following one, the branch hash of the running value
/// and that partial tree's node hash. Callers must reject empty partial trees first.
pub fn recover_root(algorithm: DigestAlgorithm, reduced: &[Vec<Vec<u8>>]) -> Option<Vec<u8>> {
    let (first, rest) = reduced.split_first()?;
    let mut value = algorithm.node_hash(first);
    for node in rest {
        value = algorithm.branch(&value, &algorithm.node_hash(node));
    }
    Some(value)
}

pub(crate) fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| DigestAlgorithm::Sha256.digest(&(i as u64).to_be_bytes())).collect()
    }

    /// BouncyCastle's algorithm transcribed literally (lists of lists, carry of the odd last node), as
    /// an independent model to compare the flat implementation against.
    fn model_root(alg: DigestAlgorithm, leaves: &[Vec<u8>]) -> Vec<u8> {
        let mut level: Vec<Vec<u8>> = leaves.to_vec();
        level.sort();
        while level.len() > 1 {
            let mut next = Vec::new();
            let mut i = 0;
            while i + 1 < level.len() {
                next.push(alg.branch(&level[i], &level[i + 1]));
                i += 2;
            }
            if level.len() % 2 == 1 {
                next.push(level[level.len() - 1].clone());
            }
            level = next;
        }
        level.remove(0)
    }

    #[test]
    fn every_path_recovers_the_root_for_small_trees() {
        for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
            for n in 1..=33 {
                let leaves: Vec<Vec<u8>> = (0..n).map(|i| alg.digest(&(i as u64).to_be_bytes())).collect();
                let tree = HashTree::build(alg, &leaves).unwrap();
                assert_eq!(tree.root(), model_root(alg, &leaves).as_slice(), "n = {n}");
                for leaf in &leaves {
                    let path = tree.path(leaf).unwrap();
                    let reduced: Vec<Vec<Vec<u8>>> = path.into_iter().map(|v| vec![v]).collect();
                    assert_eq!(recover_root(alg, &reduced).unwrap(), tree.root(), "n = {n}");
                }
            }
        }
    }

    proptest::proptest! {
        /// Random leaf sets, drawn from a small pool so that duplicates (the same document stored twice)
        /// occur: the root matches the model and every leaf's path leads to it.
        #[test]
        fn random_trees_match_the_model(picks in proptest::collection::vec(0u8..40, 1..150)) {
            let alg = DigestAlgorithm::Sha256;
            let leaves: Vec<Vec<u8>> = picks.iter().map(|p| alg.digest(&[*p])).collect();
            let tree = HashTree::build(alg, &leaves).unwrap();
            let expected = model_root(alg, &leaves);
            proptest::prop_assert_eq!(tree.root(), expected.as_slice());
            for leaf in &leaves {
                let reduced: Vec<Vec<Vec<u8>>> = tree.path(leaf).unwrap().into_iter().map(|v| vec![v]).collect();
                proptest::prop_assert_eq!(recover_root(alg, &reduced).unwrap(), tree.root());
            }
        }
    }

    #[test]
    fn a_single_leaf_is_its_own_root() {
        let leaf = leaves(1).remove(0);
        let tree = HashTree::build(DigestAlgorithm::Sha256, [&leaf]).unwrap();
        assert_eq!(tree.root(), leaf.as_slice());
        assert_eq!(tree.path(&leaf).unwrap(), vec![leaf]);
    }

    #[test]
    fn two_leaves_hash_in_ascending_order() {
        let mut l = leaves(2);
        l.sort();
        let tree = HashTree::build(DigestAlgorithm::Sha256, [&l[1], &l[0]]).unwrap();
        assert_eq!(tree.root(), DigestAlgorithm::Sha256.digest_parts(&[&l[0], &l[1]]).as_slice());
    }

    #[test]
    fn bad_leaves_are_refused() {
        assert_eq!(HashTree::build(DigestAlgorithm::Sha256, Vec::<Vec<u8>>::new()), Err(TreeError::Empty));
        assert!(matches!(
            HashTree::build(DigestAlgorithm::Sha256, [vec![0u8; 31]]),
            Err(TreeError::WrongLeafLength { index: 0, actual: 31, .. })
        ));
        let tree = HashTree::build(DigestAlgorithm::Sha256, leaves(3)).unwrap();
        assert!(matches!(tree.path(&[7u8; 32]), Err(TreeError::NotInTree { .. })));
    }

    #[test]
    fn stored_form_round_trips_and_refuses_garbage() {
        let tree =
            HashTree::build(DigestAlgorithm::Sha512, (0..5).map(|i| DigestAlgorithm::Sha512.digest(&[i])))
                .unwrap();
        let stored = tree.to_stored();
        assert_eq!(HashTree::from_stored(&stored).unwrap(), tree);
        assert_eq!(
            HashTree::from_stored(&stored[..stored.len() - 1]),
            Err(StoredTreeError::Length { len: stored.len() - 1 })
        );
        let mut wrong_version = stored.clone();
        wrong_version[0] = 9;
        assert_eq!(HashTree::from_stored(&wrong_version), Err(StoredTreeError::Version(9)));
        assert!(HashTree::from_stored(&[]).is_err());
    }
}
