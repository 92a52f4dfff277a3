//! The mailroom's keyspaces: batches, pieces, summaries, Klärfälle and the ingest queue, and the stored
//! version of each record type.
//!
//! `records` column family:
//! - `mbatch/<id BE>` → [`Batch`] as received
//! - `mpiece/<batch BE>/<piece u64 BE>` → [`PieceRecord`], written in the transaction that files the piece
//!   or opens its Klärfall (so a piece is done exactly once)
//! - `mdone/<batch BE>` → [`BatchSummary`], written in the transaction that leaves the queue
//! - `klaer/<id BE>` → [`Klaerfall`]
//!
//! `index`: `klaer-open/<id BE>` while a Klärfall is open; `hist/batch/<id BE>/<seq BE>` and
//! `hist/klaer/<id BE>/<seq BE>` for the journal entries of a batch and of a Klärfall.
//! `queues`: `ingest/<batch BE>` from receipt until the batch is done.

use registratur_storage::meta::Cf;
use registratur_storage::table::{Id, IdPair, Json, Keyspace, Marker, Table, Versioned};

use super::model::{Batch, BatchSummary, Klaerfall, PieceRecord};

impl Versioned for Batch {
    const VERSION: u16 = 1;
}

impl Versioned for PieceRecord {
    const VERSION: u16 = 1;
}

impl Versioned for BatchSummary {
    const VERSION: u16 = 1;
}

impl Versioned for Klaerfall {
    const VERSION: u16 = 1;
}

pub const BATCHES: Table<Id, Json<Batch>> = Table::new("batches", Cf::Records, b"mbatch/");
/// Key: batch id / piece number (1-based, as u64).
pub const PIECES: Table<IdPair, Json<PieceRecord>> = Table::new("pieces", Cf::Records, b"mpiece/");
pub const SUMMARIES: Table<Id, Json<BatchSummary>> = Table::new("batch-summaries", Cf::Records, b"mdone/");
pub const KLAERFAELLE: Table<Id, Json<Klaerfall>> = Table::new("klaerfaelle", Cf::Records, b"klaer/");
pub const OPEN_KLAERFAELLE: Table<Id, Marker> = Table::new("open-klaerfaelle", Cf::Index, b"klaer-open/");
pub const BATCH_HISTORY: Table<IdPair, Marker> = Table::new("batch-history", Cf::Index, b"hist/batch/");
pub const KLAERFALL_HISTORY: Table<IdPair, Marker> =
    Table::new("klaerfall-history", Cf::Index, b"hist/klaer/");
pub const INGEST_QUEUE: Table<Id, Marker> = Table::new("ingest-queue", Cf::Queues, b"ingest/");

/// Every keyspace of the mailroom, for the registry.
pub fn keyspaces() -> Vec<Keyspace> {
    vec![
        BATCHES.keyspace(),
        PIECES.keyspace(),
        SUMMARIES.keyspace(),
        KLAERFAELLE.keyspace(),
        OPEN_KLAERFAELLE.keyspace(),
        BATCH_HISTORY.keyspace(),
        KLAERFALL_HISTORY.keyspace(),
        INGEST_QUEUE.keyspace(),
    ]
}
