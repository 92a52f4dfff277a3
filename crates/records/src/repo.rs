//! `Records`: the records model on top of the store — its tables (`tables`), journaled transactions.
//!
//! Every write is one `Txn` whose preconditions pin what it relied on (for example the Akte record, so a
//! concurrent z.d.A. makes an addition fail instead of slipping into a closed Akte). Ids come from
//! in-memory counters seeded from the highest stored id: only one process opens a store.

use std::io::Read;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use registratur_storage::meta::{Cf, MetaError, Txn};
use registratur_storage::meta::{journal_entry_in, journal_seqs_in};
use registratur_storage::table::{IdPair, Json, Marker, MetaRead, Table, Versioned};
use registratur_storage::{BlobDigest, Store, StoreError};

use super::aktenplan::{Aktenplan, AktenplanError};
use super::aktenzeichen::{AktenplanKey, Aktenzeichen, AktenzeichenError, AktenzeichenFormat};
use super::model::{
    Akte, AkteState, Channel, Content, Dokument, Eingang, Rendition, RenditionKind, Version, Vorgang,
};
use super::tables::{
    AKTE_HISTORY, AKTEN, AKTEN_BY_UNIT, AKTENPLAENE, AKTENPLAN_CURRENT, AKTENZEICHEN, DOKUMENT_HISTORY,
    DOKUMENTE, DOKUMENTE_BY_AKTE, RUNNING_NUMBERS, VERSIONEN, VORGAENGE, VORGAENGE_BY_AKTE, history_prefix,
};
use super::text::check_text;

/// Errors of the records layer.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("no Aktenplan has been imported yet; import one first (`registratur aktenplan import FILE`)")]
    NoAktenplan,
    #[error("Aktenplan unit {0} does not exist; check the key or import an Aktenplan that has it")]
    UnknownUnit(String),
    #[error(transparent)]
    InvalidAktenzeichen(#[from] AktenzeichenError),
    #[error(transparent)]
    InvalidAktenplan(#[from] AktenplanError),
    #[error("Akte {0} not found")]
    AkteNotFound(String),
    #[error("Vorgang {vorgang} not found in Akte {akte}")]
    VorgangNotFound { akte: String, vorgang: u64 },
    #[error("Dokument {0} not found")]
    DokumentNotFound(u64),
    #[error("Dokument {dokument} has no Version {version}")]
    VersionNotFound { dokument: u64, version: u32 },
    #[error("Version {version} of Dokument {dokument} has no rendition {kind:?}; {}", available_kinds(.available))]
    RenditionNotFound { dokument: u64, version: u32, kind: String, available: Vec<String> },
    #[error("Akte {0} is closed (z.d.A.); nothing can be added to it or changed")]
    AkteClosed(String),
    #[error("Aktenzeichen {aktenzeichen} is already taken by Akte {akte_id}")]
    AktenzeichenTaken { aktenzeichen: String, akte_id: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error("too many concurrent changes to {0}; retry the request")]
    Contention(String),
    #[error(
        "Dokument {dokument} moved on to Version {current} while Version {expected} was being derived; run again"
    )]
    StaleVersion { dokument: u64, expected: u32, current: u32 },
    #[error("stored record {key} is unreadable: {reason}")]
    Undecodable { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MetaError> for RecordsError {
    fn from(error: MetaError) -> Self {
        RecordsError::Store(StoreError::Meta(error))
    }
}

/// Names an Akte by id or by Aktenzeichen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AkteRef {
    Id(u64),
    Aktenzeichen(String),
}

/// What a new Dokument needs besides its bytes.
#[derive(Clone, Debug)]
pub struct NewDokument {
    pub akte: AkteRef,
    pub vorgang_id: Option<u64>,
    pub title: String,
    pub sender: String,
    pub fremdes_geschaeftszeichen: String,
    pub posteingangsdatum: NaiveDate,
    pub channel: Channel,
    pub source: String,
    pub filename: String,
    pub media_type: String,
}

/// Bytes already in the blob store, and how a record names them.
#[derive(Clone, Debug)]
pub struct StoredContent {
    pub digest: BlobDigest,
    pub filename: String,
    pub media_type: String,
}

/// What a new Version needs besides its bytes.
#[derive(Clone, Debug)]
pub struct NewVersion {
    pub dokument_id: u64,
    pub reason: String,
    pub filename: String,
    pub media_type: String,
}

/// A Version derived from the newest one by format migration; its bytes are already stored.
#[derive(Clone, Debug)]
pub struct DerivedVersion {
    pub dokument_id: u64,
    /// The Version the output was made from; it must still be the newest when the change commits.
    pub source: u32,
    pub reason: String,
    pub output: StoredContent,
    /// Kinds of the source's renditions that stay true for the output (its OCR text, say), carried over.
    pub carried_renditions: Vec<RenditionKind>,
    /// What the journal entry records besides the Version: tool, parameters, validation (the event).
    pub event: serde_json::Value,
}

/// The longest text a record field may hold; the rule lives in `records::text`.
pub use super::text::MAX_TEXT_CHARS;

impl NewDokument {
    /// Checks the fields before any byte is stored.
    pub fn check(&self) -> Result<(), RecordsError> {
        required("title", &self.title)?;
        for (field, value) in [
            ("sender", &self.sender),
            ("fremdes_geschaeftszeichen", &self.fremdes_geschaeftszeichen),
            ("source", &self.source),
            ("filename", &self.filename),
            ("media_type", &self.media_type),
        ] {
            optional(field, value)?;
        }
        Ok(())
    }
}

impl NewVersion {
    /// Checks the fields before any byte is stored.
    pub fn check(&self) -> Result<(), RecordsError> {
        required("reason", &self.reason)?;
        optional("filename", &self.filename)?;
        optional("media_type", &self.media_type)?;
        Ok(())
    }
}

/// The second half of a missing rendition's message: the kinds there are, or that there are none.
fn available_kinds(available: &[String]) -> String {
    if available.is_empty() {
        "this Version has no renditions; read its original instead".to_string()
    } else {
        format!("ask for one of the kinds it has: {}", available.join(", "))
    }
}

/// A page of Akten and the token for the next one.
#[derive(Clone, Debug)]
pub struct AktenPage {
    pub akten: Vec<Akte>,
    pub next: Option<Vec<u8>>,
}

/// The records model over a store. See the module documentation.
pub struct Records {
    store: Store,
    format: AktenzeichenFormat,
    next_akte: AtomicU64,
    next_vorgang: AtomicU64,
    next_dokument: AtomicU64,
}

/// How often a write retries after losing a compare-and-set race.
const RETRIES: usize = 16;

/// Calls `visit` with each record of `table` (after the stored key `start_after`, when given), in key
/// order, until it returns `Break`. A record that does not decode stops the walk with its key named.
pub fn visit_records<K: registratur_storage::table::KeyCodec, T: Versioned>(
    store: &Store,
    table: Table<K, Json<T>>,
    start_after: Option<&[u8]>,
    mut visit: impl FnMut(T) -> ControlFlow<()>,
) -> Result<(), RecordsError> {
    Ok(table.visit(store.meta(), b"", start_after, |_, _, record| visit(record))?)
}

impl Records {
    pub fn open(store: Store, format: AktenzeichenFormat) -> Result<Self, RecordsError> {
        let next =
            |prefix: &[u8], decode: &dyn Fn(&[u8]) -> Option<u64>| -> Result<AtomicU64, RecordsError> {
                let last = store.meta().last_key_with_prefix(Cf::Records, prefix)?;
                Ok(AtomicU64::new(last.and_then(|key| decode(&key)).unwrap_or(0) + 1))
            };
        Ok(Self {
            next_akte: next(AKTEN.prefix(), &|key| AKTEN.decode_key(key))?,
            next_vorgang: next(VORGAENGE.prefix(), &|key| VORGAENGE.decode_key(key))?,
            next_dokument: next(DOKUMENTE.prefix(), &|key| DOKUMENTE.decode_key(key))?,
            store,
            format,
        })
    }

    pub fn format(&self) -> &AktenzeichenFormat {
        &self.format
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reads from the store as it is now.
    pub fn view(&self) -> RecordsView<'_> {
        RecordsView { meta: self.store.meta(), format: &self.format }
    }

    /// Reads from one state of the store: a snapshot (`store.meta().snapshot()`), so that an export
    /// sees every record as of one moment.
    pub fn at<'a>(&'a self, meta: &'a dyn MetaRead) -> RecordsView<'a> {
        RecordsView { meta, format: &self.format }
    }

    fn akte_with_bytes(&self, akte: &AkteRef) -> Result<(Akte, Vec<u8>), RecordsError> {
        self.view().akte_with_bytes(akte)
    }

    pub fn akte(&self, akte: &AkteRef) -> Result<Akte, RecordsError> {
        self.view().akte(akte)
    }

    pub fn vorgaenge(&self, akte_id: u64) -> Result<Vec<Vorgang>, RecordsError> {
        self.view().vorgaenge(akte_id)
    }

    pub fn check_vorgang_in(&self, akte: &Akte, id: u64) -> Result<(), RecordsError> {
        self.view().check_vorgang_in(akte, id)
    }

    pub fn dokument(&self, id: u64) -> Result<Dokument, RecordsError> {
        self.view().dokument(id)
    }

    pub fn versions(&self, dokument: &Dokument) -> Result<Vec<Version>, RecordsError> {
        self.view().versions(dokument)
    }

    pub fn version(&self, dokument: &Dokument, number: u32) -> Result<Version, RecordsError> {
        self.view().version(dokument, number)
    }

    pub fn dokumente(&self, akte_id: u64) -> Result<Vec<Dokument>, RecordsError> {
        self.view().dokumente(akte_id)
    }

    pub fn content(
        &self,
        dokument: &Dokument,
        version: Option<u32>,
        kind: Option<&str>,
    ) -> Result<Content, RecordsError> {
        self.view().content(dokument, version, kind)
    }

    pub fn akte_history(
        &self,
        akte_id: u64,
    ) -> Result<Vec<registratur_storage::journal::JournalEntry>, RecordsError> {
        self.view().akte_history(akte_id)
    }

    pub fn dokument_history(
        &self,
        dokument_id: u64,
    ) -> Result<Vec<registratur_storage::journal::JournalEntry>, RecordsError> {
        self.view().dokument_history(dokument_id)
    }

    // ----- Aktenplan -----

    /// The current Aktenplan and its version.
    pub fn aktenplan(&self) -> Result<Option<(u32, Aktenplan)>, RecordsError> {
        let Some(version) = self.current_aktenplan_version()? else { return Ok(None) };
        Ok(AKTENPLAENE.get(self.store.meta(), &version)?.map(|plan| (version, plan)))
    }

    fn current_aktenplan_version(&self) -> Result<Option<u32>, RecordsError> {
        Ok(AKTENPLAN_CURRENT.get(self.store.meta(), &())?)
    }

    /// Makes `plan` the current Aktenplan as a new version; earlier versions stay stored.
    pub fn import_aktenplan(&self, actor: &str, plan: &Aktenplan) -> Result<u32, RecordsError> {
        for _ in 0..RETRIES {
            let current = self.current_aktenplan_version()?;
            let version = current.map_or(1, |v| v + 1);
            let payload = serde_json::json!({ "version": version, "units": plan.len() });
            let mut txn = Txn::new(actor, "aktenplan.import", payload.to_string());
            AKTENPLAN_CURRENT.require(&mut txn, &(), current.map(|v| AKTENPLAN_CURRENT.encode(&v)));
            AKTENPLAENE.put(&mut txn, &version, plan);
            AKTENPLAN_CURRENT.put(&mut txn, &(), &version);
            match self.store.meta().commit(txn) {
                Ok(_) => return Ok(version),
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RecordsError::Contention("the Aktenplan".into()))
    }

    // ----- Akten -----

    /// Creates an Akte under Aktenplan unit `key`. With `explicit`, takes over that Aktenzeichen (its key
    /// must be `key`); otherwise assigns the next running number for the key and `year` (default: now).
    pub fn create_akte(
        &self,
        actor: &str,
        unit: &AktenplanKey,
        title: &str,
        explicit: Option<&str>,
        year: Option<u16>,
    ) -> Result<Akte, RecordsError> {
        let title = required("title", title)?;
        let (_, plan) = self.aktenplan()?.ok_or(RecordsError::NoAktenplan)?;
        if plan.unit(unit).is_none() {
            return Err(RecordsError::UnknownUnit(unit.to_string()));
        }
        let explicit = explicit.map(|text| self.format.parse(text)).transpose()?;
        if let Some(az) = &explicit
            && az.key() != unit
        {
            return Err(RecordsError::Invalid(format!(
                "Aktenzeichen {} belongs to Aktenplan unit {}, not {unit}; give the matching unit",
                self.format.format(az),
                az.key()
            )));
        }
        let year = match (&explicit, year) {
            (Some(az), _) => az.year(),
            (None, Some(year)) => year,
            (None, None) => self.store.clock().now().year() as u16,
        };
        let counter_key = format!("{unit}/{year}");
        for _ in 0..RETRIES {
            let counter = RUNNING_NUMBERS.get_with_bytes(self.store.meta(), &counter_key)?;
            let last = counter.as_ref().map_or(0, |(last, _)| *last);
            let counter_bytes = counter.map(|(_, bytes)| bytes);
            let az = match &explicit {
                Some(az) => az.clone(),
                None => Aktenzeichen::new(unit.clone(), last + 1, year)?,
            };
            let aktenzeichen = self.format.format(&az);
            let id = self.next_akte.fetch_add(1, Ordering::Relaxed);
            let akte = Akte {
                id,
                aktenzeichen: aktenzeichen.clone(),
                key: unit.clone(),
                title: title.to_string(),
                state: AkteState::Open,
                created_at: self.store.clock().now(),
                created_by: actor.to_string(),
            };
            let payload = serde_json::json!({ "akte_id": id, "aktenzeichen": aktenzeichen, "title": title });
            let mut txn = Txn::new(actor, "akte.create", payload.to_string());
            AKTENZEICHEN.require_absent(&mut txn, &aktenzeichen);
            RUNNING_NUMBERS.require(&mut txn, &counter_key, counter_bytes);
            RUNNING_NUMBERS.put(&mut txn, &counter_key, &last.max(az.number()));
            AKTEN.put(&mut txn, &id, &akte);
            AKTENZEICHEN.put(&mut txn, &aktenzeichen, &id);
            AKTEN_BY_UNIT.put(&mut txn, &(unit.to_string(), id), &());
            txn.index_journal_entry(Cf::Index, history_prefix(AKTE_HISTORY, id));
            match self.store.meta().commit(txn) {
                Ok(_) => return Ok(akte),
                Err(MetaError::Conflict(_)) => {
                    if explicit.is_some()
                        && let Some(akte_id) = AKTENZEICHEN.get(self.store.meta(), &aktenzeichen)?
                    {
                        return Err(RecordsError::AktenzeichenTaken { aktenzeichen, akte_id });
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RecordsError::Contention(format!("the running numbers of {unit}/{year}")))
    }

    /// Akten under `subtree` (all when `None`) that pass `visible`, in key and id order, after the
    /// position `after` of a previous page.
    pub fn list_akten(
        &self,
        subtree: Option<&AktenplanKey>,
        include_closed: bool,
        after: Option<&[u8]>,
        limit: usize,
        visible: impl Fn(&Akte) -> bool,
    ) -> Result<AktenPage, RecordsError> {
        let prefix = match subtree {
            Some(key) => format!("unit/{key}"),
            None => "unit/".to_string(),
        };
        debug_assert!(prefix.as_bytes().starts_with(AKTEN_BY_UNIT.prefix()));
        let mut akten = Vec::new();
        let mut next = None;
        let mut failure = None;
        self.store.meta().visit_prefix(Cf::Index, prefix.as_bytes(), after, |index_key, _| {
            // `unit/32.10` also matches `unit/32.100/…`: only the unit itself and its descendants count.
            if subtree.is_some() && !matches!(index_key.get(prefix.len()), Some(b'/') | Some(b'.')) {
                return ControlFlow::Continue(());
            }
            let Some((_, id)) = AKTEN_BY_UNIT.decode_key(index_key) else { return ControlFlow::Continue(()) };
            match AKTEN.get(self.store.meta(), &id) {
                Ok(Some(akte)) => {
                    if (include_closed || akte.is_open()) && visible(&akte) {
                        akten.push(akte);
                        if akten.len() == limit {
                            next = Some(index_key.to_vec());
                            return ControlFlow::Break(());
                        }
                    }
                    ControlFlow::Continue(())
                }
                Ok(None) => ControlFlow::Continue(()),
                Err(e) => {
                    failure = Some(RecordsError::from(e));
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(AktenPage { akten, next })
    }

    /// z.d.A.: closes an open Akte.
    pub fn close_akte(&self, actor: &str, akte: &AkteRef, note: &str) -> Result<Akte, RecordsError> {
        optional("note", note)?;
        self.change_akte(actor, akte, |record| {
            if !record.is_open() {
                return Err(RecordsError::AkteClosed(record.aktenzeichen.clone()));
            }
            record.state = AkteState::Closed { at: self.store.clock().now(), by: actor.to_string() };
            let payload = serde_json::json!({ "akte_id": record.id, "aktenzeichen": record.aktenzeichen, "note": note });
            Ok(("akte.close", payload))
        })
    }

    /// Changes an Akte record by compare-and-set, in the Akte's history: `change` edits the record as
    /// read and names the journal action and payload, or refuses. A lost race reads the Akte again and
    /// asks `change` again, at most `RETRIES` times.
    pub(crate) fn change_akte<E: From<RecordsError>>(
        &self,
        actor: &str,
        akte: &AkteRef,
        mut change: impl FnMut(&mut Akte) -> Result<(&'static str, serde_json::Value), E>,
    ) -> Result<Akte, E> {
        for _ in 0..RETRIES {
            let (mut record, bytes) = self.akte_with_bytes(akte)?;
            let (action, payload) = change(&mut record)?;
            let mut txn = Txn::new(actor, action, payload.to_string());
            AKTEN.require(&mut txn, &record.id, Some(bytes));
            AKTEN.put(&mut txn, &record.id, &record);
            txn.index_journal_entry(Cf::Index, history_prefix(AKTE_HISTORY, record.id));
            match self.store.meta().commit(txn) {
                Ok(_) => return Ok(record),
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(RecordsError::from(e).into()),
            }
        }
        Err(RecordsError::Contention(format!("Akte {akte:?}")).into())
    }

    // ----- Vorgänge -----

    pub fn create_vorgang(&self, actor: &str, akte: &AkteRef, title: &str) -> Result<Vorgang, RecordsError> {
        let title = required("title", title)?;
        let (record, bytes) = self.open_akte(akte)?;
        let vorgang = Vorgang {
            id: self.next_vorgang.fetch_add(1, Ordering::Relaxed),
            akte_id: record.id,
            title: title.to_string(),
            created_at: self.store.clock().now(),
            created_by: actor.to_string(),
        };
        let payload = serde_json::json!({ "akte_id": record.id, "vorgang_id": vorgang.id, "title": title });
        let mut txn = Txn::new(actor, "vorgang.create", payload.to_string());
        AKTEN.require(&mut txn, &record.id, Some(bytes));
        VORGAENGE.put(&mut txn, &vorgang.id, &vorgang);
        VORGAENGE_BY_AKTE.put(&mut txn, &(record.id, vorgang.id), &());
        txn.index_journal_entry(Cf::Index, history_prefix(AKTE_HISTORY, record.id));
        self.commit_in_akte(txn, &record)?;
        Ok(vorgang)
    }

    // ----- Dokumente -----

    /// Stores the reader's bytes as the first Version of a new Dokument with its own Eingang.
    pub fn add_dokument(
        &self,
        actor: &str,
        new: &NewDokument,
        bytes: &mut dyn Read,
    ) -> Result<(Dokument, Version), RecordsError> {
        new.check()?;
        // Fail before storing bytes when the Akte cannot take them anyway.
        self.open_akte(&new.akte)?;
        let digest = self.store.blobs().put_reader(bytes).map_err(StoreError::from)?.digest;
        let original =
            StoredContent { digest, filename: new.filename.clone(), media_type: new.media_type.clone() };
        self.file_dokument(actor, new, &original, &[], |_, _| {})
    }

    /// Files a new Dokument whose bytes are already in the blob store: `original` becomes Version 1,
    /// `renditions` (kind, content) are attached to it, and `extra` may add writes and preconditions
    /// of the caller's own, knowing the new Dokument (the mailroom marks its piece as filed in the same
    /// transaction). Blob
    /// references for every content are added here.
    pub fn file_dokument(
        &self,
        actor: &str,
        new: &NewDokument,
        original: &StoredContent,
        renditions: &[(RenditionKind, StoredContent)],
        extra: impl FnOnce(&mut Txn, &Dokument),
    ) -> Result<(Dokument, Version), RecordsError> {
        self.file_dokument_noting(actor, new, original, renditions, None, extra)
    }

    /// [`Records::file_dokument`], with `noting` = (key, value) added to the `dokument.add` journal
    /// entry's payload: why the Dokument was filed here, such as the Klärfall a person resolved. The
    /// entry is part of the hash chain, so the note is as tamper-evident as the filing itself.
    pub fn file_dokument_noting(
        &self,
        actor: &str,
        new: &NewDokument,
        original: &StoredContent,
        renditions: &[(RenditionKind, StoredContent)],
        noting: Option<(&str, serde_json::Value)>,
        extra: impl FnOnce(&mut Txn, &Dokument),
    ) -> Result<(Dokument, Version), RecordsError> {
        new.check()?;
        let title = required("title", &new.title)?;
        let (akte, akte_bytes) = self.open_akte(&new.akte)?;
        if let Some(vorgang_id) = new.vorgang_id {
            self.check_vorgang_in(&akte, vorgang_id)?;
        }
        let now = self.store.clock().now();
        let dokument = Dokument {
            id: self.next_dokument.fetch_add(1, Ordering::Relaxed),
            akte_id: akte.id,
            vorgang_id: new.vorgang_id,
            title: title.to_string(),
            sender: new.sender.trim().to_string(),
            fremdes_geschaeftszeichen: new.fremdes_geschaeftszeichen.trim().to_string(),
            eingang: Eingang {
                posteingangsdatum: new.posteingangsdatum,
                channel: new.channel,
                source: new.source.trim().to_string(),
                received_at: now,
            },
            created_by: actor.to_string(),
            current_version: 1,
        };
        let mut first = new_version(1, actor, now, "eingang", original);
        first.renditions = renditions
            .iter()
            .map(|(kind, content)| Rendition { kind: kind.clone(), content: content.to_content() })
            .collect();
        let mut payload = serde_json::json!({
            "dokument_id": dokument.id, "akte_id": akte.id, "title": dokument.title,
            "posteingangsdatum": dokument.eingang.posteingangsdatum, "channel": dokument.eingang.channel,
            "source": dokument.eingang.source, "blake3": first.original.blake3, "sha256": first.original.sha256,
            "renditions": first.renditions.iter().map(|r| serde_json::json!({
                "kind": r.kind, "blake3": r.content.blake3, "sha256": r.content.sha256,
            })).collect::<Vec<_>>(),
        });
        if let (Some((key, value)), Some(fields)) = (noting, payload.as_object_mut()) {
            fields.insert(key.to_string(), value);
        }
        let mut txn = Txn::new(actor, "dokument.add", payload.to_string());
        AKTEN.require(&mut txn, &akte.id, Some(akte_bytes));
        DOKUMENTE.put(&mut txn, &dokument.id, &dokument);
        VERSIONEN.put(&mut txn, &(dokument.id, 1), &first);
        DOKUMENTE_BY_AKTE.put(&mut txn, &(akte.id, dokument.id), &());
        Self::record_in_history(&mut txn, &dokument);
        txn.add_blob_ref(original.digest);
        for (_, content) in renditions {
            txn.add_blob_ref(content.digest);
        }
        extra(&mut txn, &dokument);
        self.commit_in_akte(txn, &akte)?;
        Ok((dokument, first))
    }

    /// Stores the reader's bytes as a new Version of an existing Dokument.
    pub fn add_version(
        &self,
        actor: &str,
        new: &NewVersion,
        bytes: &mut dyn Read,
    ) -> Result<(Dokument, Version), RecordsError> {
        new.check()?;
        let reason = required("reason", &new.reason)?;
        let (mut dokument, dok_bytes) = DOKUMENTE
            .get_with_bytes(self.store.meta(), &new.dokument_id)?
            .ok_or(RecordsError::DokumentNotFound(new.dokument_id))?;
        let (akte, akte_bytes) = self.open_akte(&AkteRef::Id(dokument.akte_id))?;
        let number = dokument.current_version + 1;
        dokument.current_version = number;
        let mut version = None;
        let stored = self.store.put_blob_with(bytes, |digest| {
            let content = StoredContent {
                digest: *digest,
                filename: new.filename.clone(),
                media_type: new.media_type.clone(),
            };
            let next = new_version(number, actor, self.store.clock().now(), reason, &content);
            let payload = serde_json::json!({
                "dokument_id": dokument.id, "version": number, "reason": reason,
                "blake3": next.original.blake3, "sha256": next.original.sha256,
            });
            let mut txn = Txn::new(actor, "version.add", payload.to_string());
            AKTEN.require(&mut txn, &akte.id, Some(akte_bytes.clone()));
            DOKUMENTE.require(&mut txn, &dokument.id, Some(dok_bytes.clone()));
            DOKUMENTE.put(&mut txn, &dokument.id, &dokument);
            VERSIONEN.put(&mut txn, &(dokument.id, number), &next);
            Self::record_in_history(&mut txn, &dokument);
            version = Some(next);
            txn
        });
        self.settle_in_akte(stored.map(|_| ()), &akte)?;
        Ok((dokument, version.expect("the transaction was built")))
    }

    /// Files a Version derived from the newest one (format migration), with a link to its source.
    ///
    /// Unlike [`Records::add_version`] this also works in closed Akten: keeping a closed Akte readable is
    /// the point of migration, and the content stays the same. The change commits only while `source`
    /// is still the newest Version; `extra` may add writes of the caller's own (a migration job records
    /// its progress in the same transaction, so a restart never derives twice).
    pub fn derive_version(
        &self,
        actor: &str,
        derived: &DerivedVersion,
        extra: impl FnOnce(&mut Txn, &Dokument, &Version),
    ) -> Result<(Dokument, Version), RecordsError> {
        let reason = required("reason", &derived.reason)?;
        let (mut dokument, dok_bytes) = DOKUMENTE
            .get_with_bytes(self.store.meta(), &derived.dokument_id)?
            .ok_or(RecordsError::DokumentNotFound(derived.dokument_id))?;
        if dokument.current_version != derived.source {
            return Err(RecordsError::StaleVersion {
                dokument: dokument.id,
                expected: derived.source,
                current: dokument.current_version,
            });
        }
        let source = self.version(&dokument, derived.source)?;
        let number = derived.source + 1;
        dokument.current_version = number;
        let mut next = new_version(number, actor, self.store.clock().now(), reason, &derived.output);
        next.derived_from = Some(derived.source);
        next.renditions =
            source.renditions.into_iter().filter(|r| derived.carried_renditions.contains(&r.kind)).collect();
        let payload = serde_json::json!({
            "dokument_id": dokument.id, "version": number, "reason": reason, "derived_from": derived.source,
            "blake3": next.original.blake3, "sha256": next.original.sha256,
            "renditions": next.renditions.iter().map(|r| serde_json::json!({
                "kind": r.kind, "blake3": r.content.blake3, "sha256": r.content.sha256,
            })).collect::<Vec<_>>(),
            "event": derived.event,
        });
        let mut txn = Txn::new(actor, "version.add", payload.to_string());
        DOKUMENTE.require(&mut txn, &dokument.id, Some(dok_bytes));
        DOKUMENTE.put(&mut txn, &dokument.id, &dokument);
        VERSIONEN.put(&mut txn, &(dokument.id, number), &next);
        txn.add_blob_ref(derived.output.digest);
        for rendition in &next.renditions {
            let digest = rendition
                .content
                .blob_hash()
                .ok()
                .map(|hash| self.store.digest_of(&hash))
                .transpose()?
                .flatten()
                .ok_or_else(|| RecordsError::Undecodable {
                    key: format!("ver/{}/{}", dokument.id, derived.source),
                    reason: format!("rendition {} names a blob the store does not know", rendition.kind),
                })?;
            txn.add_blob_ref(digest);
        }
        Self::record_in_history(&mut txn, &dokument);
        extra(&mut txn, &dokument, &next);
        match self.store.meta().commit(txn) {
            Ok(_) => Ok((dokument, next)),
            Err(MetaError::Conflict(_)) => {
                let current = self.dokument(derived.dokument_id)?.current_version;
                Err(RecordsError::StaleVersion {
                    dokument: derived.dokument_id,
                    expected: derived.source,
                    current,
                })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Lists `txn`'s journal entry in the history of `dokument` and of its Akte: for changes made
    /// elsewhere (a failed migration, say) that concern a Dokument.
    pub fn record_in_history(txn: &mut Txn, dokument: &Dokument) {
        txn.index_journal_entry(Cf::Index, history_prefix(AKTE_HISTORY, dokument.akte_id))
            .index_journal_entry(Cf::Index, history_prefix(DOKUMENT_HISTORY, dokument.id));
    }

    /// Every Dokument with an id above `after`, in id order, at most `limit`: a walk over all of them.
    pub fn dokumente_after(&self, after: u64, limit: usize) -> Result<Vec<Dokument>, RecordsError> {
        let mut out = Vec::new();
        visit_records(&self.store, DOKUMENTE, Some(&DOKUMENTE.key(&after)), |dokument| {
            out.push(dokument);
            if out.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        Ok(out)
    }

    /// The highest Dokument id handed out: an upper bound for counting Dokumente.
    pub fn highest_dokument_id(&self) -> u64 {
        self.next_dokument.load(Ordering::Relaxed) - 1
    }

    // ----- History -----

    // ----- helpers -----

    fn open_akte(&self, akte: &AkteRef) -> Result<(Akte, Vec<u8>), RecordsError> {
        let (record, bytes) = self.akte_with_bytes(akte)?;
        if !record.is_open() {
            return Err(RecordsError::AkteClosed(record.aktenzeichen));
        }
        Ok((record, bytes))
    }

    /// Commits a change that relied on `akte` being open and unchanged.
    fn commit_in_akte(&self, txn: Txn, akte: &Akte) -> Result<(), RecordsError> {
        let result = self.store.meta().commit(txn).map(|_| ()).map_err(StoreError::Meta);
        self.settle_in_akte(result, akte)
    }

    /// Turns a lost race on the Akte record into the reason: it was closed meanwhile.
    fn settle_in_akte(&self, result: Result<(), StoreError>, akte: &Akte) -> Result<(), RecordsError> {
        match result {
            Ok(()) => Ok(()),
            Err(StoreError::Meta(MetaError::Conflict(_))) => match self.akte(&AkteRef::Id(akte.id)) {
                Ok(current) if !current.is_open() => Err(RecordsError::AkteClosed(current.aktenzeichen)),
                Ok(_) => Err(RecordsError::Contention(format!("Akte {}", akte.aktenzeichen))),
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        }
    }
}

/// Reads of the records model from one state of the store: the live store ([`Records::view`]) or a
/// snapshot ([`Records::at`]). Every read of a record goes through here.
pub struct RecordsView<'a> {
    meta: &'a dyn MetaRead,
    format: &'a AktenzeichenFormat,
}

impl RecordsView<'_> {
    /// An Akte with its stored bytes (for compare-and-set).
    pub fn akte_with_bytes(&self, akte: &AkteRef) -> Result<(Akte, Vec<u8>), RecordsError> {
        let id = match akte {
            AkteRef::Id(id) => *id,
            AkteRef::Aktenzeichen(text) => {
                let canonical = self.format.format(&self.format.parse(text)?);
                let id = AKTENZEICHEN.get(self.meta, &canonical)?;
                id.ok_or(RecordsError::AkteNotFound(canonical))?
            }
        };
        AKTEN.get_with_bytes(self.meta, &id)?.ok_or_else(|| RecordsError::AkteNotFound(id.to_string()))
    }

    pub fn akte(&self, akte: &AkteRef) -> Result<Akte, RecordsError> {
        Ok(self.akte_with_bytes(akte)?.0)
    }

    pub fn vorgaenge(&self, akte_id: u64) -> Result<Vec<Vorgang>, RecordsError> {
        self.children(VORGAENGE_BY_AKTE, akte_id, VORGAENGE)
    }

    /// Fails with `VorgangNotFound` unless Vorgang `id` exists in `akte`.
    pub fn check_vorgang_in(&self, akte: &Akte, id: u64) -> Result<(), RecordsError> {
        match VORGAENGE.get(self.meta, &id)? {
            Some(vorgang) if vorgang.akte_id == akte.id => Ok(()),
            _ => Err(RecordsError::VorgangNotFound { akte: akte.aktenzeichen.clone(), vorgang: id }),
        }
    }

    pub fn dokument(&self, id: u64) -> Result<Dokument, RecordsError> {
        DOKUMENTE.get(self.meta, &id)?.ok_or(RecordsError::DokumentNotFound(id))
    }

    /// All Versions of a Dokument, oldest first.
    pub fn versions(&self, dokument: &Dokument) -> Result<Vec<Version>, RecordsError> {
        (1..=dokument.current_version)
            .map(|n| {
                VERSIONEN
                    .get(self.meta, &(dokument.id, n))?
                    .ok_or(RecordsError::VersionNotFound { dokument: dokument.id, version: n })
            })
            .collect()
    }

    /// One Version of a Dokument.
    pub fn version(&self, dokument: &Dokument, number: u32) -> Result<Version, RecordsError> {
        VERSIONEN
            .get(self.meta, &(dokument.id, number))?
            .ok_or(RecordsError::VersionNotFound { dokument: dokument.id, version: number })
    }

    pub fn dokumente(&self, akte_id: u64) -> Result<Vec<Dokument>, RecordsError> {
        self.children(DOKUMENTE_BY_AKTE, akte_id, DOKUMENTE)
    }

    /// The content of a Version (`None`: the newest) — its original, or the rendition of `kind`.
    pub fn content(
        &self,
        dokument: &Dokument,
        version: Option<u32>,
        kind: Option<&str>,
    ) -> Result<Content, RecordsError> {
        let number = version.unwrap_or(dokument.current_version);
        let record = VERSIONEN
            .get(self.meta, &(dokument.id, number))?
            .ok_or(RecordsError::VersionNotFound { dokument: dokument.id, version: number })?;
        match kind {
            None => Ok(record.original),
            Some(kind) => {
                let available: Vec<String> = record.renditions.iter().map(|r| r.kind.to_string()).collect();
                record.renditions.into_iter().find(|r| r.kind.as_str() == kind).map(|r| r.content).ok_or_else(
                    || RecordsError::RenditionNotFound {
                        dokument: dokument.id,
                        version: number,
                        kind: kind.to_string(),
                        available,
                    },
                )
            }
        }
    }

    pub fn akte_history(
        &self,
        akte_id: u64,
    ) -> Result<Vec<registratur_storage::journal::JournalEntry>, RecordsError> {
        self.history(&history_prefix(AKTE_HISTORY, akte_id))
    }

    pub fn dokument_history(
        &self,
        dokument_id: u64,
    ) -> Result<Vec<registratur_storage::journal::JournalEntry>, RecordsError> {
        self.history(&history_prefix(DOKUMENT_HISTORY, dokument_id))
    }

    fn history(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<registratur_storage::journal::JournalEntry>, RecordsError> {
        let meta = self.meta;
        let mut entries = Vec::new();
        for seq in journal_seqs_in(meta, Cf::Index, prefix)? {
            entries.extend(journal_entry_in(meta, seq)?);
        }
        Ok(entries)
    }

    /// Loads the records an Akte's listing in `listing` names, in id order.
    fn children<T: Versioned>(
        &self,
        listing: Table<IdPair, Marker>,
        akte_id: u64,
        records: Table<registratur_storage::table::Id, Json<T>>,
    ) -> Result<Vec<T>, RecordsError> {
        let mut out = Vec::new();
        for ((_, id), ()) in listing.scan(self.meta, &akte_id.to_be_bytes())? {
            if let Some(record) = records.get(self.meta, &id)? {
                out.push(record);
            }
        }
        Ok(out)
    }
}

fn new_version(
    number: u32,
    actor: &str,
    at: DateTime<Utc>,
    reason: &str,
    original: &StoredContent,
) -> Version {
    Version {
        number,
        created_at: at,
        created_by: actor.to_string(),
        reason: reason.to_string(),
        original: original.to_content(),
        renditions: Vec::new(),
        derived_from: None,
    }
}

impl StoredContent {
    fn to_content(&self) -> Content {
        Content {
            blake3: self.digest.blake3.to_hex(),
            sha256: self.digest.sha256.to_hex(),
            size: self.digest.size,
            media_type: self.media_type.trim().to_string(),
            filename: self.filename.trim().to_string(),
        }
    }
}

/// A field that must not be empty, under the one rule for human-readable fields (`text`).
fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, RecordsError> {
    check_text(field, value, true, MAX_TEXT_CHARS)
        .map_err(|problem| RecordsError::Invalid(problem.to_string()))
}

/// A field that may be empty, under the one rule for human-readable fields (`text`).
fn optional<'a>(field: &str, value: &'a str) -> Result<&'a str, RecordsError> {
    check_text(field, value, false, MAX_TEXT_CHARS)
        .map_err(|problem| RecordsError::Invalid(problem.to_string()))
}
