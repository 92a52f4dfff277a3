//! The quarantine register: every blob found damaged (corrupted or missing) and not yet restored, one
//! record under `fixity/quarantine/<blake3>` in the `meta` column family.
//!
//! Whoever finds the damage registers it at once, through this one module: the fixity scrub (in the
//! transaction that records its run), and every reader of recorded bytes: a Dokument's content or
//! rendition read by a caller, the mailroom reading a batch scan, a migration job, the search
//! indexer. A reader's finding is one transaction: a `fixity.damage` journal entry (what, where it
//! was found, by whom) and the register record; it is counted in the metrics and logged as an error.
//! The first finding stands until the blob is restored: a later read that finds the bytes already
//! moved aside (missing) keeps the record saying `corrupted`. The scrub removes a record when it finds
//! the blob intact again.
//!
//! This module sits beside `metrics`, below `service`, `ingest`, `migrate` and `search`, so that all
//! of them can register findings; it depends on the storage crate only.

use std::io::Read;

use chrono::{DateTime, Utc};
use registratur_storage::meta::{Cf, MetaError, Txn};
use registratur_storage::table::{Json, Keyspace, Table, Text, Versioned};
use registratur_storage::{BlobError, BlobHash, Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;

/// The register: one record per damaged blob, keyed by its BLAKE3 in hex.
pub const REGISTER: Table<Text, Json<QuarantineRecord>> =
    Table::new("quarantine", Cf::Meta, b"fixity/quarantine/");

/// The register's keyspace, for the registry.
pub fn keyspaces() -> Vec<Keyspace> {
    vec![REGISTER.keyspace()]
}

impl Versioned for QuarantineRecord {
    const VERSION: u16 = 1;
}

/// Journal action of a finding made outside a scrub.
pub const DAMAGE_ACTION: &str = "fixity.damage";

/// What is wrong with a blob in the quarantine register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Damage {
    /// Its bytes no longer match its BLAKE3 address or its recorded SHA-256 or size.
    Corrupted,
    /// The blob store does not have it (quarantined by an earlier read, or deleted).
    Missing,
}

impl Damage {
    pub fn as_str(self) -> &'static str {
        match self {
            Damage::Corrupted => "corrupted",
            Damage::Missing => "missing",
        }
    }

    /// The reason, for people.
    pub fn explanation(self) -> &'static str {
        match self {
            Damage::Corrupted => {
                "the stored bytes no longer match their recorded hashes; the blob store moved them to quarantine"
            }
            Damage::Missing => {
                "the blob store does not have these bytes (quarantined by an earlier read, or deleted)"
            }
        }
    }
}

/// One blob in the quarantine register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// Hex BLAKE3.
    pub blake3: String,
    /// Hex SHA-256 as recorded when the blob was stored: what a restored copy must hash to.
    pub sha256: String,
    pub size: u64,
    pub damage: Damage,
    /// When the damage was first found.
    pub found_at: DateTime<Utc>,
    /// Who first found it: the scrub's starter (the service's `SCRUB_ACTOR` for the schedule),
    /// the caller whose read found it, or the engine's worker that read it
    /// (`registratur/mailroom`, `registratur/migration`, `registratur/search`).
    pub found_by: String,
}

/// A recorded blob that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The bytes are damaged or gone, and the register holds the blob. `damage` is as registered:
    /// bytes an earlier read found corrupted and moved aside stay `Corrupted`.
    #[error(
        "blob {hash} is {}: {}; restore it from a backup (`registratur fixity quarantine` lists it)",
        damage.as_str(),
        damage.explanation()
    )]
    Damaged { hash: BlobHash, damage: Damage },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every record of the register, in hash order.
pub fn records(store: &Store) -> Result<Vec<QuarantineRecord>, MetaError> {
    Ok(REGISTER.scan(store.meta(), b"")?.into_iter().map(|(_, record)| record).collect())
}

/// The register's record of one blob, if it holds one.
pub fn record(store: &Store, hash: &BlobHash) -> Result<Option<QuarantineRecord>, MetaError> {
    REGISTER.get(store.meta(), &hash.to_hex())
}

/// A new record for `hash`, with the SHA-256 and size the metadata recorded for it.
pub fn new_record(
    store: &Store,
    hash: &BlobHash,
    damage: Damage,
    found_by: &str,
) -> Result<QuarantineRecord, StoreError> {
    let digest = store.digest_of(hash)?;
    Ok(QuarantineRecord {
        blake3: hash.to_hex(),
        sha256: digest.map(|d| d.sha256.to_hex()).unwrap_or_default(),
        size: digest.map_or(0, |d| d.size),
        damage,
        found_at: store.clock().now(),
        found_by: found_by.to_string(),
    })
}

/// Counts findings in the metrics.
pub fn count_findings(corrupted: u64, missing: u64) {
    let metrics = crate::metrics::global();
    Metrics::add(&metrics.fixity_corrupted, corrupted);
    Metrics::add(&metrics.fixity_missing, missing);
}

/// Registers damage found outside a scrub, unless the register holds the blob already (then its
/// record stands and is returned): a `fixity.damage` journal entry naming `found_in` (what was being
/// read), the register record, a metric and an error in the log.
pub fn register(
    store: &Store,
    hash: &BlobHash,
    damage: Damage,
    found_by: &str,
    found_in: &str,
) -> Result<QuarantineRecord, StoreError> {
    if let Some(existing) = record(store, hash)? {
        return Ok(existing);
    }
    let record = new_record(store, hash, damage, found_by)?;
    let payload = serde_json::json!({
        "blake3": record.blake3,
        "sha256": record.sha256,
        "size": record.size,
        "damage": damage,
        "found_in": found_in,
    });
    let mut txn = Txn::new(found_by, DAMAGE_ACTION, payload.to_string());
    REGISTER.require_absent(&mut txn, &record.blake3);
    REGISTER.put(&mut txn, &record.blake3, &record);
    match store.meta().commit(txn) {
        Ok(_) => {}
        // Another reader (or the scrub) registered it first; its record stands.
        Err(MetaError::Conflict(_)) => {
            if let Some(existing) = self::record(store, hash)? {
                return Ok(existing);
            }
        }
        Err(error) => return Err(error.into()),
    }
    match damage {
        Damage::Corrupted => count_findings(1, 0),
        Damage::Missing => count_findings(0, 1),
    }
    tracing::error!(
        %hash, damage = damage.as_str(), found_by, found_in,
        "recorded bytes are damaged; registered in the quarantine register, restore them from a backup"
    );
    Ok(record)
}

/// Opens a recorded blob for `found_by`, verified. Damage (the bytes do not match their hash, or the
/// blob store lacks a blob the metadata records) is registered before the error is returned.
/// `found_in` names what was being read, for the journal.
pub fn open(
    store: &Store,
    hash: &BlobHash,
    found_by: &str,
    found_in: &str,
) -> Result<Box<dyn Read + Send>, ReadError> {
    match store.blobs().open(hash) {
        Ok(reader) => Ok(reader),
        Err(error) => Err(finding(store, hash, error, found_by, found_in)),
    }
}

/// Reads a whole recorded blob for `found_by`, verified; damage is registered as by [`open`].
pub fn read(store: &Store, hash: &BlobHash, found_by: &str, found_in: &str) -> Result<Vec<u8>, ReadError> {
    match store.blobs().get(hash) {
        Ok(bytes) => Ok(bytes),
        Err(error) => Err(finding(store, hash, error, found_by, found_in)),
    }
}

/// Registers what a failed read means, and says so. A mismatch found after the bytes passed the first
/// check (they changed while being streamed) is registered too: the blob is verified once more, which
/// quarantines it.
pub fn found_changed_while_read(store: &Store, hash: &BlobHash, found_by: &str, found_in: &str) -> ReadError {
    match store.blobs().verify(hash) {
        // The bytes read back intact now: a transient fault of the device, not recorded damage.
        Ok(Some(_)) => ReadError::Store(StoreError::Blob(BlobError::Io {
            context: format!("reading blob {hash}"),
            source: std::io::Error::other("the bytes changed while they were read; read them again"),
        })),
        Ok(None) => finding(store, hash, BlobError::NotFound { hash: *hash }, found_by, found_in),
        Err(error) => finding(store, hash, error, found_by, found_in),
    }
}

fn finding(store: &Store, hash: &BlobHash, error: BlobError, found_by: &str, found_in: &str) -> ReadError {
    let damage = match error {
        BlobError::Corrupted { .. } => Damage::Corrupted,
        // Missing only when the metadata records the blob; an unknown hash is the caller's mistake.
        BlobError::NotFound { .. } => match store.digest_of(hash) {
            Ok(Some(_)) => Damage::Missing,
            Ok(None) => return ReadError::Store(error.into()),
            Err(lookup) => return ReadError::Store(lookup),
        },
        other => return ReadError::Store(other.into()),
    };
    match register(store, hash, damage, found_by, found_in) {
        Ok(record) => ReadError::Damaged { hash: *hash, damage: record.damage },
        Err(failure) => {
            // The read's answer matters more than the register: say what is wrong, log the rest.
            tracing::error!(%hash, %failure, "could not register damaged bytes in the quarantine register");
            ReadError::Damaged { hash: *hash, damage }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn store_with(bytes: &[u8]) -> (tempfile::TempDir, Store, BlobHash) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("data")).unwrap();
        let stored = store.put_blob_with(&mut &bytes[..], |_| Txn::new("test", "blob.put", "{}")).unwrap();
        let hash = stored.outcome.digest.blake3;
        (dir, store, hash)
    }

    fn rot(dir: &tempfile::TempDir, hash: &BlobHash) {
        use std::os::unix::fs::PermissionsExt;
        let hex = hash.to_hex();
        let path = dir.path().join("data/blobs/blobs").join(&hex[..2]).join(&hex[2..4]).join(&hex);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all(b"X").unwrap();
    }

    fn damage_entries(store: &Store) -> Vec<registratur_storage::journal::JournalEntry> {
        let entries = store.meta().journal_entries(1, 1000).unwrap();
        entries.into_iter().filter(|e| e.action == DAMAGE_ACTION).collect()
    }

    #[test]
    fn a_read_that_finds_corruption_registers_it_once_and_later_reads_still_say_corrupted() {
        let (dir, store, hash) = store_with(b"Bytes, die verrotten werden");
        rot(&dir, &hash);
        let first = read(&store, &hash, "fv", "Dokument 1 Version 1").unwrap_err();
        assert!(matches!(first, ReadError::Damaged { damage: Damage::Corrupted, .. }), "{first}");
        let registered = record(&store, &hash).unwrap().expect("registered at once");
        assert_eq!((registered.damage, registered.found_by.as_str()), (Damage::Corrupted, "fv"));
        assert_eq!(registered.size, 27);

        // The bytes are in quarantine now: later reads find them missing, the register says corrupted.
        let second = open(&store, &hash, "fv", "Dokument 1 Version 1").err().expect("still damaged");
        assert!(matches!(second, ReadError::Damaged { damage: Damage::Corrupted, .. }), "{second}");
        assert!(second.to_string().contains("fixity quarantine"), "{second}");
        let entries = damage_entries(&store);
        assert_eq!(entries.len(), 1, "one finding per blob until restored");
        assert_eq!(entries[0].actor, "fv");
        let payload = String::from_utf8_lossy(&entries[0].payload).into_owned();
        assert!(payload.contains("Dokument 1 Version 1") && payload.contains(&hash.to_hex()), "{payload}");
        assert_eq!(records(&store).unwrap(), vec![registered]);
    }

    #[test]
    fn a_recorded_blob_that_is_gone_is_registered_missing_and_an_unknown_hash_is_not() {
        let (dir, store, hash) = store_with(b"Bytes, die verschwinden");
        let hex = hash.to_hex();
        let path = dir.path().join("data/blobs/blobs").join(&hex[..2]).join(&hex[2..4]).join(&hex);
        std::fs::remove_file(path).unwrap();
        let error = read(&store, &hash, "registratur/search", "indexing Dokument 3").unwrap_err();
        assert!(matches!(error, ReadError::Damaged { damage: Damage::Missing, .. }), "{error}");
        assert_eq!(record(&store, &hash).unwrap().map(|r| r.damage), Some(Damage::Missing));

        let unknown = BlobHash::from_bytes([7; 32]);
        let error = read(&store, &unknown, "admin", "a raw blob").unwrap_err();
        assert!(matches!(error, ReadError::Store(StoreError::Blob(BlobError::NotFound { .. }))), "{error}");
        assert_eq!(record(&store, &unknown).unwrap(), None);
        assert_eq!(damage_entries(&store).len(), 1);
    }

    #[test]
    fn intact_bytes_read_and_register_nothing() {
        let (_dir, store, hash) = store_with(b"Heile Bytes");
        assert_eq!(read(&store, &hash, "fv", "Dokument 1").unwrap(), b"Heile Bytes");
        assert!(records(&store).unwrap().is_empty());
        assert!(damage_entries(&store).is_empty());
    }

    #[test]
    fn damage_is_explained_for_people() {
        for damage in [Damage::Corrupted, Damage::Missing] {
            let json = serde_json::to_string(&damage).unwrap();
            assert_eq!(json, format!("\"{}\"", damage.as_str()));
            assert!(damage.explanation().contains("blob store"));
        }
    }
}
