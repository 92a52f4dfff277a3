//! The migration jobs' keyspaces and the stored version of each record type.
//!
//! `records` column family: `mig/job/<id BE>` (the job and its control state, written when it is
//! created, paused, resumed or cancelled), `mig/progress/<id BE>` (written only by the worker, in the same
//! transaction as the items it counts) and `mig/item/<id BE>/<dokument BE>`. `index`: `ident/<blake3 hex>`,
//! the identification of a blob's bytes (bytes never change, so neither does their format; an entry made
//! by another tool version is ignored and replaced).

use registratur_storage::meta::Cf;
use registratur_storage::table::{Id, IdPair, Json, Keyspace, Table, Text, Versioned};

use super::model::{Item, Job, Progress};
use super::tools::Identification;

impl Versioned for Job {
    const VERSION: u16 = 1;
}

impl Versioned for Progress {
    const VERSION: u16 = 1;
}

impl Versioned for Item {
    const VERSION: u16 = 1;
}

impl Versioned for Identification {
    const VERSION: u16 = 1;
}

pub const JOBS: Table<Id, Json<Job>> = Table::new("migration-jobs", Cf::Records, b"mig/job/");
pub const PROGRESS: Table<Id, Json<Progress>> =
    Table::new("migration-progress", Cf::Records, b"mig/progress/");
/// Key: job id / Dokument id.
pub const ITEMS: Table<IdPair, Json<Item>> = Table::new("migration-items", Cf::Records, b"mig/item/");
/// Key: the blob's BLAKE3 in hex.
pub const IDENTIFICATIONS: Table<Text, Json<Identification>> =
    Table::new("identifications", Cf::Index, b"ident/");

/// Every keyspace of format migration, for the registry.
pub fn keyspaces() -> Vec<Keyspace> {
    vec![JOBS.keyspace(), PROGRESS.keyspace(), ITEMS.keyspace(), IDENTIFICATIONS.keyspace()]
}
