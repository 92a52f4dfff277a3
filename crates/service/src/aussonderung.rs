//! The Aussonderung with the archive in xdomea 3.0.0: the offer (0501 Anbieteverzeichnis) of the due Akten
//! and the import of the archive's appraisal (0502 Bewertungsverzeichnis, answered with a 0505), for
//! archivists and admins.
//!
//! One Aussonderung is one **process** with a ProzessID (a random UUID) that every message of it carries.
//! The process record (`aussonderung/<ProzessID>`) holds its state (`offered`, then `appraised`), who
//! started it, the archive, and every object offered with its stable UUID (`registratur_xdomea::stable_uuid`
//! of the engine id, so the 0503 later names the same objects) and, after the appraisal, the archive's
//! decision. An Akte in an open process is marked (`ausakte/<akte>` → the ProzessID): it is not offered
//! again and not reopened, and `GetRetention` shows where it stands. The lifecycle state lives here, not in
//! the Akte record.
//!
//! **Which Akten are offered**: the due ones (`Records::due_akten`: closed, retention run out, no hold) that
//! are in no open process, optionally only those within one Aktenplan subtree. The XML is written before
//! anything is stored; the process, the marks and the journal entry (also in each Akte's history) are one
//! transaction that requires every Akte to be unmarked and without hold, so a concurrent offer or hold
//! cannot slip in between.
//!
//! **The appraisal** is validated (`MessageReader`: no DOCTYPE, structure, XSD) and checked against the
//! process before anything changes: objects the engine does not know, objects of another process, Akten
//! under a hold placed since the offer, a process already appraised, and offered Akten the archive left
//! without a decision are refused with their UUIDs named. Objects not named inherit the decision of the
//! Akte or Vorgang that contains them.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use registratur_records::aktenplan::{Aktenplan, Aussonderungsart, Retention};
use registratur_records::aktenzeichen::AktenplanKey;
use registratur_records::lifecycle::RetentionStatus;
use registratur_records::model::{Akte, Dokument, Vorgang};
use registratur_records::repo::RecordsError;
use registratur_records::tables::{AKTE_HISTORY, HOLDS, history_prefix};
use registratur_storage::Store;
use registratur_storage::meta::{Cf, MetaError, Txn};
use registratur_storage::table::{Id, Json, Keyspace, Table, Text, Versioned};
use registratur_xdomea as xdomea;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::lifecycle::ARCHIVE;
use super::records::require_role;
use super::{Engine, ServiceError};
use crate::auth::Principal;

/// Where a process stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessState {
    /// The 0501 was written; the archive's appraisal is awaited.
    Offered,
    /// The archive's 0502 was imported: every object has a decision.
    Appraised,
    /// The 0503 with every object appraised A was streamed out completely.
    HandedOver,
}

impl std::fmt::Display for ProcessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProcessState::Offered => "offered",
            ProcessState::Appraised => "appraised",
            ProcessState::HandedOver => "handed_over",
        })
    }
}

/// The archive's decision for an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Appraisal {
    /// A: hand it over (0503).
    #[serde(rename = "A")]
    Archivieren,
    /// V: destroy it.
    #[serde(rename = "V")]
    Vernichten,
}

impl Appraisal {
    pub fn code(self) -> &'static str {
        match self {
            Appraisal::Archivieren => "A",
            Appraisal::Vernichten => "V",
        }
    }
}

/// What kind of records object a process object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Akte,
    Vorgang,
    Dokument,
}

impl ObjectKind {
    /// As stored and sent: `akte`, `vorgang`, `dokument`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Akte => "akte",
            ObjectKind::Vorgang => "vorgang",
            ObjectKind::Dokument => "dokument",
        }
    }
}

/// One object offered in a process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessObject {
    /// The object's stable UUID, as in every message of the process (hyphenated, lowercase).
    pub uuid: String,
    pub kind: ObjectKind,
    /// The engine's id of the Akte, Vorgang or Dokument.
    pub id: u64,
    /// The Akte it belongs to (its own id for an Akte).
    pub akte_id: u64,
    /// The UUID of the object that contains it (`None` for an Akte).
    pub parent: Option<String>,
    /// The Aktenzeichen (Akte) or title (Vorgang, Dokument), for people reading the status.
    pub label: String,
    /// The archive's decision as the 0502 named it; `None` before the appraisal or when it was given
    /// for a containing object only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appraisal: Option<Appraisal>,
}

/// An Aussonderung process (`aussonderung/<ProzessID>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AussonderungProcess {
    pub prozess_id: String,
    pub state: ProcessState,
    /// The authority handing over (`Absender`).
    pub authority: String,
    /// The archive (`Empfaenger`).
    pub archive: String,
    /// The Aktenplan subtree the offer was limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<String>,
    pub offered_at: DateTime<Utc>,
    pub offered_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appraised_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appraised_by: Option<String>,
    /// Akten first-level, each followed by its Vorgänge and Dokumente.
    pub objects: Vec<ProcessObject>,
}

impl AussonderungProcess {
    /// The decision that applies to an object: its own, else that of the object containing it.
    pub fn effective_appraisal(&self, uuid: &str) -> Option<Appraisal> {
        let by_uuid: HashMap<&str, &ProcessObject> =
            self.objects.iter().map(|o| (o.uuid.as_str(), o)).collect();
        let mut current = by_uuid.get(uuid).copied();
        while let Some(object) = current {
            if let Some(appraisal) = object.appraisal {
                return Some(appraisal);
            }
            current = object.parent.as_deref().and_then(|parent| by_uuid.get(parent).copied());
        }
        None
    }

    /// The Akten of the process.
    pub fn akten(&self) -> impl Iterator<Item = &ProcessObject> {
        self.objects.iter().filter(|o| o.kind == ObjectKind::Akte)
    }
}

/// Where an Akte stands in the open process it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AkteInProcess {
    pub prozess_id: String,
    pub state: ProcessState,
    /// The archive's decision for the Akte, once appraised.
    pub appraisal: Option<Appraisal>,
}

/// The mark of an Akte in an open process (`ausakte/<akte>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMark {
    pub prozess_id: String,
}

impl Versioned for AussonderungProcess {
    const VERSION: u16 = 1;
}

impl Versioned for ProcessMark {
    const VERSION: u16 = 1;
}

/// Aussonderung processes by ProzessID.
pub const PROCESSES: Table<Text, Json<AussonderungProcess>> =
    Table::new("aussonderung-processes", Cf::Records, b"aussonderung/");
/// The open process of each Akte in one.
pub const PROCESS_MARKS: Table<Id, Json<ProcessMark>> =
    Table::new("aussonderung-marks", Cf::Records, b"ausakte/");

/// The keyspaces of this module, for the registry.
pub fn keyspaces() -> Vec<Keyspace> {
    vec![PROCESSES.keyspace(), PROCESS_MARKS.keyspace()]
}

/// What an offer is made of, beyond the due Akten.
#[derive(Clone, Debug, Default)]
pub struct OfferRequest {
    /// Offer only due Akten within this Aktenplan subtree.
    pub subtree: Option<String>,
    /// The authority handing over (`Absender/Institution/Name`).
    pub authority: String,
    /// The archive (`Empfaenger/Institution/Name`).
    pub archive: String,
}

/// A process just offered, with its 0501.
#[derive(Clone, Debug)]
pub struct Offer {
    pub process: AussonderungProcess,
    /// The 0501 Anbieteverzeichnis (UTF-8 XML).
    pub xml: Vec<u8>,
}

/// An imported appraisal, with the 0505 that answers it.
#[derive(Clone, Debug)]
pub struct AppraisalReceipt {
    pub process: AussonderungProcess,
    /// The 0505 BewertungEmpfangBestaetigen (UTF-8 XML).
    pub xml: Vec<u8>,
}

/// The longest authority or archive name.
const MAX_NAME_CHARS: usize = 500;

/// The open process an Akte is in, with its state and the Akte's decision.
pub(crate) fn process_of(store: &Store, akte_id: u64) -> Result<Option<AkteInProcess>, ServiceError> {
    let Some(mark) = PROCESS_MARKS.get(store.meta(), &akte_id).map_err(RecordsError::from)? else {
        return Ok(None);
    };
    let process =
        PROCESSES.get(store.meta(), &mark.prozess_id).map_err(RecordsError::from)?.ok_or_else(|| {
            ServiceError::Internal(format!(
                "Akte {akte_id} is marked as in Aussonderung process {}, which is not stored",
                mark.prozess_id
            ))
        })?;
    let uuid = akte_uuid(akte_id).to_string();
    Ok(Some(AkteInProcess {
        appraisal: process.effective_appraisal(&uuid),
        prozess_id: process.prozess_id,
        state: process.state,
    }))
}

pub(crate) fn akte_uuid(id: u64) -> Uuid {
    xdomea::stable_uuid("akte", id.to_string())
}

pub(crate) fn vorgang_uuid(id: u64) -> Uuid {
    xdomea::stable_uuid("vorgang", id.to_string())
}

pub(crate) fn dokument_uuid(id: u64) -> Uuid {
    xdomea::stable_uuid("dokument", id.to_string())
}

fn name(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ServiceError::InvalidArgument(format!(
            "missing {field}: name it (Institution/Name in the xdomea header)"
        )));
    }
    if value.chars().count() > MAX_NAME_CHARS || value.chars().any(char::is_control) {
        return Err(ServiceError::InvalidArgument(format!(
            "{field} must be at most {MAX_NAME_CHARS} characters without control characters"
        )));
    }
    Ok(value.to_string())
}

pub(crate) fn kopf(prozess_id: Uuid, now: DateTime<Utc>, authority: &str, archive: &str) -> xdomea::Kopf {
    xdomea::Kopf {
        prozess_id,
        erstellungszeitpunkt: now,
        absender: xdomea::Kontakt { institution: Some(authority.to_string()), ..Default::default() },
        empfaenger: xdomea::Kontakt { institution: Some(archive.to_string()), ..Default::default() },
        sendendes_system: Some(xdomea::SendendesSystem {
            instanz_id: None,
            produktname: "registratur".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        empfangsbestaetigung: false,
        rueckmeldung_archivkennung: false,
    }
}

pub(crate) fn write_error(error: xdomea::WriteError) -> ServiceError {
    match error {
        xdomea::WriteError::InvalidCharacter { .. } => ServiceError::FailedPrecondition(error.to_string()),
        other => ServiceError::Internal(format!("writing the xdomea message failed: {other}")),
    }
}

fn not_null(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// The reader of incoming messages, with its XSD validator compiled once.
fn message_reader() -> Result<&'static xdomea::MessageReader, ServiceError> {
    static READER: OnceLock<xdomea::MessageReader> = OnceLock::new();
    if let Some(reader) = READER.get() {
        return Ok(reader);
    }
    let reader = xdomea::MessageReader::new(xdomea::ReadLimits::default())
        .map_err(|error| ServiceError::Internal(format!("the xdomea XSD validator cannot start: {error}")))?;
    Ok(READER.get_or_init(|| reader))
}

/// Builds the xdomea Akte of an offer and lists its objects.
struct OfferBuilder<'a> {
    plan: &'a Aktenplan,
    objects: Vec<ProcessObject>,
}

impl OfferBuilder<'_> {
    fn dokument(&mut self, dokument: &Dokument, parent: &Uuid) -> xdomea::Dokument {
        let id = dokument_uuid(dokument.id);
        self.objects.push(ProcessObject {
            uuid: id.to_string(),
            kind: ObjectKind::Dokument,
            id: dokument.id,
            akte_id: dokument.akte_id,
            parent: Some(parent.to_string()),
            label: dokument.title.clone(),
            appraisal: None,
        });
        xdomea::Dokument {
            id,
            kennzeichen: None,
            titel: dokument.title.clone(),
            bemerkung: None,
            fremdes_geschaeftszeichen: not_null(&dokument.fremdes_geschaeftszeichen),
            posteingangsdatum: Some(dokument.eingang.posteingangsdatum),
            postausgangsdatum: None,
            datum_des_schreibens: None,
            bearbeiter: None,
            typ: None,
            versionen: Vec::new(),
        }
    }

    fn akte(
        &mut self,
        akte: &Akte,
        status: &RetentionStatus,
        vorgaenge: &[Vorgang],
        dokumente: &[Dokument],
    ) -> xdomea::Akte {
        let id = akte_uuid(akte.id);
        self.objects.push(ProcessObject {
            uuid: id.to_string(),
            kind: ObjectKind::Akte,
            id: akte.id,
            akte_id: akte.id,
            parent: None,
            label: akte.aktenzeichen.clone(),
            appraisal: None,
        });
        let closed_on = status.closed_on;
        let laufzeit = xdomea::Laufzeit { beginn: Some(akte.created_at.date_naive()), ende: closed_on };
        let direct: Vec<xdomea::Dokument> =
            dokumente.iter().filter(|d| d.vorgang_id.is_none()).map(|d| self.dokument(d, &id)).collect();
        let vorgaenge = vorgaenge
            .iter()
            .map(|vorgang| {
                let vorgang_id = vorgang_uuid(vorgang.id);
                self.objects.push(ProcessObject {
                    uuid: vorgang_id.to_string(),
                    kind: ObjectKind::Vorgang,
                    id: vorgang.id,
                    akte_id: akte.id,
                    parent: Some(id.to_string()),
                    label: vorgang.title.clone(),
                    appraisal: None,
                });
                let dokumente = dokumente
                    .iter()
                    .filter(|d| d.vorgang_id == Some(vorgang.id))
                    .map(|d| self.dokument(d, &vorgang_id))
                    .collect();
                xdomea::Vorgang {
                    id: vorgang_id,
                    kennzeichen: None,
                    titel: vorgang.title.clone(),
                    bemerkung: None,
                    aussonderung: None,
                    zda_datum: closed_on,
                    laufzeit: xdomea::Laufzeit {
                        beginn: Some(vorgang.created_at.date_naive()),
                        ende: closed_on,
                    },
                    dokumente,
                    teilvorgaenge: Vec::new(),
                }
            })
            .collect();
        let aufbewahrungsdauer = match status.retention {
            Some(Retention::Years(years)) => xdomea::Aufbewahrungsdauer::Jahre(years),
            // A due Akte always has a retention in years; `unbegrenzt` is never due.
            Some(Retention::Unlimited) | None => xdomea::Aufbewahrungsdauer::Unbefristet,
        };
        // Without an Aussonderungsart in the Aktenplan the archive decides (B).
        let aussonderungsart = match status.aussonderung {
            Some(Aussonderungsart::Archivieren) => xdomea::Aussonderungsart::Archivieren,
            Some(Aussonderungsart::Vernichten) => xdomea::Aussonderungsart::Vernichten,
            Some(Aussonderungsart::Bewerten) | None => xdomea::Aussonderungsart::Bewerten,
        };
        xdomea::Akte {
            id,
            kennzeichen: Some(akte.aktenzeichen.clone()),
            titel: akte.title.clone(),
            federfuehrung: None,
            bemerkung: None,
            aktenplaneinheit: Some(xdomea::Aktenplaneinheit {
                kennzeichen: akte.key.to_string(),
                inhaltsangabe: self.plan.unit(&akte.key).map(|unit| unit.title.clone()),
            }),
            aussonderung: xdomea::Aussonderungsmetadaten {
                aufbewahrungsdauer,
                aussonderungsart,
                // The last day of the retention: the day before it is due.
                aufbewahrungsende: status.due_on.and_then(|due| due.pred_opt()),
            },
            laufzeit,
            zda_datum: closed_on,
            dokumente: direct,
            vorgaenge,
            teilakten: Vec::new(),
        }
    }
}

/// The xdomea Akte of an engine Akte with its Vorgänge and Dokumente (no files), and its objects.
pub(crate) fn xdomea_akte(
    plan: &Aktenplan,
    akte: &Akte,
    status: &RetentionStatus,
    vorgaenge: &[Vorgang],
    dokumente: &[Dokument],
) -> (xdomea::Akte, Vec<ProcessObject>) {
    let mut builder = OfferBuilder { plan, objects: Vec::new() };
    let tree = builder.akte(akte, status, vorgaenge, dokumente);
    (tree, builder.objects)
}

impl Engine {
    /// Offers the due Akten (optionally within one subtree) to the archive: a new process and its 0501.
    pub async fn offer(&self, principal: Principal, request: OfferRequest) -> Result<Offer, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, ARCHIVE, "offer Akten to the archive")?;
            let authority = name("authority", &request.authority)?;
            let archive = name("archive", &request.archive)?;
            let subtree = request
                .subtree
                .as_deref()
                .map(|key| AktenplanKey::parse(key).map_err(|e| ServiceError::InvalidArgument(e.to_string())))
                .transpose()?;
            let records = engine.records();
            let (_, plan) = records.aktenplan()?.ok_or(RecordsError::NoAktenplan)?;
            let mut akten = Vec::new();
            for (akte, status) in records.due_akten(usize::MAX)? {
                if subtree.as_ref().is_some_and(|subtree| !akte.key.is_within(subtree)) {
                    continue;
                }
                if PROCESS_MARKS.contains(engine.store().meta(), &akte.id).map_err(RecordsError::from)? {
                    continue;
                }
                akten.push((akte, status));
            }
            if akten.is_empty() {
                let within = subtree.as_ref().map(|s| format!(" within {s}")).unwrap_or_default();
                return Err(ServiceError::FailedPrecondition(format!(
                    "no Akte{within} is due for the Aussonderung and in no open process; \
                     `registratur aussonderung due` lists the due Akten"
                )));
            }

            let prozess_id = Uuid::new_v4();
            let now = engine.store().clock().now();
            let header = kopf(prozess_id, now, &authority, &archive);
            let mut writer = xdomea::AnbieteverzeichnisWriter::new(Vec::new(), &header).map_err(write_error)?;
            let mut builder = OfferBuilder { plan: &plan, objects: Vec::new() };
            for (akte, status) in &akten {
                let vorgaenge = records.vorgaenge(akte.id)?;
                let dokumente = records.dokumente(akte.id)?;
                let objekt = builder.akte(akte, status, &vorgaenge, &dokumente);
                writer.write(&xdomea::Schriftgutobjekt::Akte(objekt)).map_err(write_error)?;
            }
            let xml = writer.finish().map_err(write_error)?;

            let process = AussonderungProcess {
                prozess_id: prozess_id.to_string(),
                state: ProcessState::Offered,
                authority,
                archive,
                subtree: subtree.map(|s| s.to_string()),
                offered_at: now,
                offered_by: principal.name.clone(),
                appraised_at: None,
                appraised_by: None,
                objects: builder.objects,
            };
            let payload = serde_json::json!({
                "prozess_id": process.prozess_id, "archive": process.archive, "subtree": process.subtree,
                "akten": akten.iter().map(|(akte, _)| serde_json::json!({
                    "akte_id": akte.id, "aktenzeichen": akte.aktenzeichen, "uuid": akte_uuid(akte.id).to_string(),
                })).collect::<Vec<_>>(),
                "objects": process.objects.len(),
            });
            let mut txn = Txn::new(&principal.name, "aussonderung.offer", payload.to_string());
            PROCESSES.require_absent(&mut txn, &process.prozess_id);
            PROCESSES.put(&mut txn, &process.prozess_id, &process);
            let mark = ProcessMark { prozess_id: process.prozess_id.clone() };
            for (akte, _) in &akten {
                PROCESS_MARKS.require_absent(&mut txn, &akte.id);
                HOLDS.require_absent(&mut txn, &akte.id);
                PROCESS_MARKS.put(&mut txn, &akte.id, &mark);
                txn.index_journal_entry(Cf::Index, history_prefix(AKTE_HISTORY, akte.id));
            }
            match engine.store().meta().commit(txn) {
                Ok(_) => Ok(Offer { process, xml }),
                Err(MetaError::Conflict(_)) => Err(ServiceError::Records(RecordsError::Contention(
                    "the due Akten (a hold or another offer changed them meanwhile); offer again".into(),
                ))),
                Err(error) => Err(RecordsError::from(error).into()),
            }
        })
        .await
    }

    /// An Aussonderung process by its ProzessID.
    pub async fn aussonderung_process(
        &self,
        principal: Principal,
        prozess_id: String,
    ) -> Result<AussonderungProcess, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, ARCHIVE, "read Aussonderung processes")?;
            let uuid = Uuid::parse_str(prozess_id.trim()).map_err(|_| {
                ServiceError::InvalidArgument(format!("{prozess_id:?} is not a ProzessID (a UUID)"))
            })?;
            PROCESSES
                .get(engine.store().meta(), &uuid.to_string())
                .map_err(RecordsError::from)?
                .ok_or_else(|| ServiceError::NotFound(format!("no Aussonderung process {uuid}")))
        })
        .await
    }

    /// Imports the archive's 0502 (XML or zip) into its process and answers with a 0505. Refused as a
    /// whole, with nothing changed, when the message or any object in it does not fit the process.
    pub async fn import_appraisal(
        &self,
        principal: Principal,
        message: Vec<u8>,
    ) -> Result<AppraisalReceipt, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, ARCHIVE, "import the archive's appraisal")?;
            let bewertung = message_reader()?.read_bewertungsverzeichnis_0502(&message).map_err(|error| {
                ServiceError::InvalidArgument(format!(
                    "the 0502 Bewertungsverzeichnis is refused, nothing was changed: {error}"
                ))
            })?;
            let meta = engine.store().meta();
            let prozess_id = bewertung.prozess_id().to_string();
            let (mut process, bytes) = PROCESSES
                .get_with_bytes(meta, &prozess_id)
                .map_err(RecordsError::from)?
                .ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "the 0502 answers Aussonderung process {prozess_id}, which this engine never offered"
                    ))
                })?;
            if process.state != ProcessState::Offered {
                return Err(ServiceError::FailedPrecondition(format!(
                    "Aussonderung process {prozess_id} is {} already (by {} at {}); an appraisal is imported once",
                    process.state,
                    process.appraised_by.as_deref().unwrap_or("?"),
                    process.appraised_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                )));
            }
            let position: HashMap<String, usize> =
                process.objects.iter().enumerate().map(|(i, o)| (o.uuid.clone(), i)).collect();
            let (mut unknown, mut foreign) = (Vec::new(), Vec::new());
            let mut others: Option<Vec<AussonderungProcess>> = None;
            for (uuid, _) in &bewertung.objekte {
                let uuid = uuid.to_string();
                if position.contains_key(&uuid) {
                    continue;
                }
                let others = match &mut others {
                    Some(others) => others,
                    None => others.insert(
                        PROCESSES
                            .scan(meta, b"")
                            .map_err(RecordsError::from)?
                            .into_iter()
                            .map(|(_, p)| p)
                            .filter(|p| p.prozess_id != prozess_id)
                            .collect(),
                    ),
                };
                match others.iter().find(|p| p.objects.iter().any(|o| o.uuid == uuid)) {
                    Some(other) => foreign.push(format!("{uuid} (of process {})", other.prozess_id)),
                    None => unknown.push(uuid),
                }
            }
            if !unknown.is_empty() || !foreign.is_empty() {
                let mut problems = Vec::new();
                if !unknown.is_empty() {
                    problems.push(format!("objects this engine never offered: {}", unknown.join(", ")));
                }
                if !foreign.is_empty() {
                    problems.push(format!("objects of another process: {}", foreign.join(", ")));
                }
                return Err(ServiceError::InvalidArgument(format!(
                    "the 0502 for process {prozess_id} is refused, nothing was changed: {}",
                    problems.join("; ")
                )));
            }
            for (uuid, decision) in &bewertung.objekte {
                // Every UUID was found above.
                if let Some(&index) = position.get(&uuid.to_string()) {
                    process.objects[index].appraisal = Some(match decision {
                        xdomea::Bewertungsentscheidung::Archivieren => Appraisal::Archivieren,
                        xdomea::Bewertungsentscheidung::Vernichten => Appraisal::Vernichten,
                    });
                }
            }
            let mut held = Vec::new();
            let mut not_offered = Vec::new();
            let mut undecided = Vec::new();
            let akten: HashSet<u64> = process.akten().map(|a| a.akte_id).collect();
            for akte in process.akten() {
                if let Some(hold) = HOLDS.get(meta, &akte.akte_id).map_err(RecordsError::from)? {
                    held.push(format!("{} (Akte {}, hold: {})", akte.uuid, akte.label, hold.reason));
                }
                let mark = PROCESS_MARKS.get(meta, &akte.akte_id).map_err(RecordsError::from)?;
                if mark.is_none_or(|m| m.prozess_id != prozess_id) {
                    not_offered.push(format!("{} (Akte {})", akte.uuid, akte.label));
                }
                if akte.appraisal.is_none() {
                    undecided.push(format!("{} (Akte {})", akte.uuid, akte.label));
                }
            }
            if !undecided.is_empty() {
                return Err(ServiceError::InvalidArgument(format!(
                    "the 0502 for process {prozess_id} is refused, nothing was changed: it decides nothing \
                     for the offered Akten {}; the archive must appraise every Akte it was offered",
                    undecided.join(", ")
                )));
            }
            if !held.is_empty() || !not_offered.is_empty() {
                let mut problems = Vec::new();
                if !held.is_empty() {
                    problems.push(format!("under a legal hold: {}", held.join(", ")));
                }
                if !not_offered.is_empty() {
                    problems.push(format!("no longer offered in this process: {}", not_offered.join(", ")));
                }
                return Err(ServiceError::FailedPrecondition(format!(
                    "the 0502 for process {prozess_id} is refused, nothing was changed: {}",
                    problems.join("; ")
                )));
            }

            let now = engine.store().clock().now();
            process.state = ProcessState::Appraised;
            process.appraised_at = Some(now);
            process.appraised_by = Some(principal.name.clone());
            let header = kopf(bewertung.prozess_id(), now, &process.authority, &process.archive);
            let xml = xdomea::write_bewertung_empfang_bestaetigen_0505(Vec::new(), &header).map_err(write_error)?;
            let decisions: Vec<_> = process
                .akten()
                .map(|akte| {
                    serde_json::json!({
                        "akte_id": akte.akte_id, "aktenzeichen": akte.label, "uuid": akte.uuid,
                        "appraisal": akte.appraisal.map(Appraisal::code),
                    })
                })
                .collect();
            let payload = serde_json::json!({
                "prozess_id": prozess_id, "archive_sent_at": bewertung.kopf.erstellungszeitpunkt,
                "objects_named": bewertung.objekte.len(), "akten": decisions,
            });
            let mut txn = Txn::new(&principal.name, "aussonderung.appraise", payload.to_string());
            PROCESSES.require(&mut txn, &prozess_id, Some(bytes));
            PROCESSES.put(&mut txn, &prozess_id, &process);
            for akte_id in &akten {
                HOLDS.require_absent(&mut txn, akte_id);
                txn.index_journal_entry(Cf::Index, history_prefix(AKTE_HISTORY, *akte_id));
            }
            match meta.commit(txn) {
                Ok(_) => Ok(AppraisalReceipt { process, xml }),
                Err(MetaError::Conflict(_)) => Err(ServiceError::Records(RecordsError::Contention(format!(
                    "Aussonderung process {prozess_id} (a hold or another import changed it meanwhile); \
                     import the 0502 again"
                )))),
                Err(error) => Err(RecordsError::from(error).into()),
            }
        })
        .await
    }
}
