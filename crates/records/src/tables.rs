//! The records model's keyspaces: where Akten, Vorgänge, Dokumente and Versionen are stored, the
//! listings derived from them, and the stored version of each record type.
//!
//! `records` column family (authoritative):
//! - `aktenplan/current` → version (u32 BE); `aktenplan/v/<version BE>` → the plan
//! - `akte/<id BE>`, `vorgang/<id BE>`, `dok/<id BE>`, `ver/<dok BE>/<n BE>` → the record
//! - `az/<Aktenzeichen>` → Akte id (makes Aktenzeichen unique)
//! - `aznr/<key>/<year>` → the last running number assigned (u32 BE)
//! - `hold/<akte BE>` → the Akte's legal hold, while it stands
//!
//! `index` column family (derived, rebuildable from `records` and the journal):
//! - `unit/<key>/<akte BE>`, `vorg/<akte BE>/<id BE>`, `doks/<akte BE>/<dok BE>` → empty
//! - `hist/akte/<id BE>/<seq BE>`, `hist/dok/<id BE>/<seq BE>` → empty (journal entries concerning a record)
//!
//! A record type's stored shape is its serde shape at [`Versioned::VERSION`]; a change to it needs the
//! next version, a frozen copy of the old shape and an upgrade (`registratur_storage::table`), and a new
//! compatibility fixture (`scripts/make-compat-fixture`).

use registratur_storage::meta::Cf;
use registratur_storage::table::{
    Id, IdNumber, IdPair, Json, Keyspace, Marker, Number, Single, Table, Text, TextId, U32Value, U64Value,
    Versioned,
};

use super::aktenplan::Aktenplan;
use super::lifecycle::Hold;
use super::model::{Akte, Dokument, Version, Vorgang};

impl Versioned for Aktenplan {
    const VERSION: u16 = 1;
}

impl Versioned for Akte {
    const VERSION: u16 = 1;
}

impl Versioned for Vorgang {
    const VERSION: u16 = 1;
}

impl Versioned for Dokument {
    const VERSION: u16 = 1;
}

impl Versioned for Version {
    const VERSION: u16 = 1;
}

impl Versioned for Hold {
    const VERSION: u16 = 1;
}

pub const AKTENPLAN_CURRENT: Table<Single, U32Value> =
    Table::new("aktenplan-current", Cf::Records, b"aktenplan/current");
pub const AKTENPLAENE: Table<Number, Json<Aktenplan>> =
    Table::new("aktenplaene", Cf::Records, b"aktenplan/v/");
pub const AKTEN: Table<Id, Json<Akte>> = Table::new("akten", Cf::Records, b"akte/");
pub const AKTENZEICHEN: Table<Text, U64Value> = Table::new("aktenzeichen", Cf::Records, b"az/");
/// Key: `<Aktenplan key>/<year>`.
pub const RUNNING_NUMBERS: Table<Text, U32Value> = Table::new("running-numbers", Cf::Records, b"aznr/");
pub const VORGAENGE: Table<Id, Json<Vorgang>> = Table::new("vorgaenge", Cf::Records, b"vorgang/");
pub const DOKUMENTE: Table<Id, Json<Dokument>> = Table::new("dokumente", Cf::Records, b"dok/");
pub const VERSIONEN: Table<IdNumber, Json<Version>> = Table::new("versionen", Cf::Records, b"ver/");
/// Legal holds, one per Akte id, while they stand.
pub const HOLDS: Table<Id, Json<Hold>> = Table::new("holds", Cf::Records, b"hold/");

pub const AKTEN_BY_UNIT: Table<TextId, Marker> = Table::new("akten-by-unit", Cf::Index, b"unit/");
pub const VORGAENGE_BY_AKTE: Table<IdPair, Marker> = Table::new("vorgaenge-by-akte", Cf::Index, b"vorg/");
pub const DOKUMENTE_BY_AKTE: Table<IdPair, Marker> = Table::new("dokumente-by-akte", Cf::Index, b"doks/");
/// Key: Akte id / journal sequence number.
pub const AKTE_HISTORY: Table<IdPair, Marker> = Table::new("akte-history", Cf::Index, b"hist/akte/");
/// Key: Dokument id / journal sequence number.
pub const DOKUMENT_HISTORY: Table<IdPair, Marker> = Table::new("dokument-history", Cf::Index, b"hist/dok/");

/// The journal-index prefix of one record's history (`Txn::index_journal_entry` appends the sequence).
pub fn history_prefix(table: Table<IdPair, Marker>, id: u64) -> Vec<u8> {
    let mut prefix = table.prefix().to_vec();
    prefix.extend_from_slice(&id.to_be_bytes());
    prefix.push(b'/');
    prefix
}

/// The listing prefix of one Akte's children in a by-Akte table.
pub fn children_prefix(table: Table<IdPair, Marker>, akte_id: u64) -> Vec<u8> {
    history_prefix(table, akte_id)
}

/// Every keyspace of the records model, for the registry.
pub fn keyspaces() -> Vec<Keyspace> {
    vec![
        AKTENPLAN_CURRENT.keyspace(),
        AKTENPLAENE.keyspace(),
        AKTEN.keyspace(),
        AKTENZEICHEN.keyspace(),
        RUNNING_NUMBERS.keyspace(),
        VORGAENGE.keyspace(),
        DOKUMENTE.keyspace(),
        VERSIONEN.keyspace(),
        HOLDS.keyspace(),
        AKTEN_BY_UNIT.keyspace(),
        VORGAENGE_BY_AKTE.keyspace(),
        DOKUMENTE_BY_AKTE.keyspace(),
        AKTE_HISTORY.keyspace(),
        DOKUMENT_HISTORY.keyspace(),
    ]
}
