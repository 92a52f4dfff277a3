//! The evidence service's keyspaces and the stored version of each record type.
//!
//! `records` column family, prefix `evi/`: `evi/cursor` (the journal position up to which Versionen
//! are in a tree, and the next tree number), `evi/pending/<tree BE>` (a tree built but not yet
//! timestamped: what it covers, the leaves it is rebuilt from), `evi/tree/<tree BE>` (a stamped tree:
//! `StampedTree::to_stored` in hex plus what it anchors) and `evi/ver/<dokument BE>/<version BE>` (which
//! stamped tree holds a Version's original and renditions, and their SHA-256).
//!
//! A tree is either pending or stamped, never both: the stamping transaction deletes the pending entry
//! (on the condition that it is unchanged), requires the stamped entry to be absent, and writes the
//! stamped tree with every Version's index entry, so one tree has at most one stored stamp.

use registratur_storage::meta::Cf;
use registratur_storage::table::{Id, IdNumber, Json, Keyspace, Single, Table, Versioned};
use serde::{Deserialize, Serialize};

/// How far collection has come.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The first journal entry not yet in a tree.
    pub next_seq: u64,
    /// The number the next tree gets.
    pub next_tree: u64,
}

/// A journal position anchored in a tree: the entry's sequence number and BLAKE3 hash (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalAnchor {
    pub seq: u64,
    pub hash: String,
}

/// One Version's digests in a tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionLeaves {
    pub dokument_id: u64,
    pub version: u32,
    /// Hex SHA-256 of the original.
    pub original: String,
    /// (rendition kind, hex SHA-256), in the Version's order.
    pub renditions: Vec<(String, String)>,
}

/// A tree built and waiting for its timestamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTree {
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The last journal entry this tree covers (its hash is a leaf, see `anchor_leaf`).
    pub anchor: Option<JournalAnchor>,
    pub versions: Vec<VersionLeaves>,
    /// Hex root, recomputed and compared before stamping.
    pub root: String,
}

/// A stamped tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTree {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub stamped_at: chrono::DateTime<chrono::Utc>,
    /// The token's genTime.
    pub gen_time: chrono::DateTime<chrono::Utc>,
    pub anchor: Option<JournalAnchor>,
    pub leaf_count: u64,
    /// Hex of `registratur_evidence::StampedTree::to_stored` (its own format version inside).
    pub stamped: String,
}

/// Where a Version's evidence is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEvidence {
    pub tree: u64,
    pub original: String,
    pub renditions: Vec<(String, String)>,
}

impl Versioned for Cursor {
    const VERSION: u16 = 1;
}
impl Versioned for PendingTree {
    const VERSION: u16 = 1;
}
impl Versioned for StoredTree {
    const VERSION: u16 = 1;
}
impl Versioned for VersionEvidence {
    const VERSION: u16 = 1;
}

pub const CURSOR: Table<Single, Json<Cursor>> = Table::new("evidence-cursor", Cf::Records, b"evi/cursor");
pub const PENDING: Table<Id, Json<PendingTree>> =
    Table::new("evidence-pending-trees", Cf::Records, b"evi/pending/");
pub const TREES: Table<Id, Json<StoredTree>> = Table::new("evidence-trees", Cf::Records, b"evi/tree/");
/// Key: Dokument id / Version number.
pub const VERSIONS: Table<IdNumber, Json<VersionEvidence>> =
    Table::new("evidence-versions", Cf::Records, b"evi/ver/");

/// Every keyspace of the evidence service, for the registry.
pub fn keyspaces() -> Vec<Keyspace> {
    vec![CURSOR.keyspace(), PENDING.keyspace(), TREES.keyspace(), VERSIONS.keyspace()]
}
