//! Records use cases for Fachverfahren, archivists and admins, with role and subtree checks.
//!
//! Who may do what is decided here, once per use case, before the records layer is touched:
//! `fachverfahren` reads and writes within its Aktenplan subtrees, `archivist` reads, `admin` does
//! everything, `mailroom` may not touch records.

use chrono::NaiveDate;
use registratur_storage::journal::JournalEntry;

use super::transfer::{BlobDownload, Upload};
use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};
use registratur_mailroom::route::code;
use registratur_records::aktenplan::Aktenplan;
use registratur_records::aktenzeichen::AktenplanKey;
use registratur_records::model::{Akte, Content, Dokument, Version, Vorgang};
use registratur_records::repo::{AkteRef, AktenPage, NewDokument, NewVersion, RecordsError};

const WRITERS: &[Role] = &[Role::Fachverfahren, Role::Admin];
const READERS: &[Role] = &[Role::Fachverfahren, Role::Archivist, Role::Admin];

/// An Akte with what it contains.
#[derive(Clone, Debug)]
pub struct AkteDetails {
    pub akte: Akte,
    pub vorgaenge: Vec<Vorgang>,
    pub dokumente: Vec<Dokument>,
}

/// A Dokument with all its Versions and the Aktenzeichen of its Akte.
#[derive(Clone, Debug)]
pub struct DokumentDetails {
    pub dokument: Dokument,
    pub aktenzeichen: String,
    pub versions: Vec<Version>,
}

/// One line of the HistorienProtokoll: a journal entry concerning a record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HistoryItem {
    pub seq: u64,
    pub time: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub action: String,
    /// The entry's payload, usually JSON.
    pub details: String,
    pub entry_hash: String,
}

impl From<&JournalEntry> for HistoryItem {
    fn from(entry: &JournalEntry) -> Self {
        Self {
            seq: entry.seq,
            time: chrono::DateTime::from_timestamp_millis(entry.time_ms).unwrap_or_default(),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            details: String::from_utf8_lossy(&entry.payload).into_owned(),
            entry_hash: entry.hash_hex(),
        }
    }
}

/// Routing code issued for an Akte.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IssuedRoutingCode {
    pub payload: String,
    pub akte_id: u64,
    pub aktenzeichen: String,
}

/// Whose history to show.
#[derive(Clone, Debug)]
pub enum HistoryOf {
    Akte(AkteRef),
    Dokument(u64),
}

/// The header of a document upload, before its bytes.
#[derive(Clone, Debug)]
pub struct DocumentHeader {
    pub akte: AkteRef,
    pub vorgang_id: Option<u64>,
    pub title: String,
    pub sender: String,
    pub fremdes_geschaeftszeichen: String,
    /// `YYYY-MM-DD`.
    pub posteingangsdatum: String,
    pub channel: String,
    pub source: String,
    pub filename: String,
    pub media_type: String,
}

pub(crate) fn require_role(principal: &Principal, allowed: &[Role], what: &str) -> Result<(), ServiceError> {
    if allowed.contains(&principal.role) {
        return Ok(());
    }
    let roles: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
    Err(ServiceError::PermissionDenied(format!(
        "{} (role {}) may not {what}; this needs the role {}",
        principal.name,
        principal.role,
        roles.join(" or ")
    )))
}

fn require_scope(principal: &Principal, key: &AktenplanKey) -> Result<(), ServiceError> {
    if principal.covers(key) {
        return Ok(());
    }
    let scopes: Vec<String> = principal.scopes.iter().map(|s| s.to_string()).collect();
    Err(ServiceError::PermissionDenied(format!(
        "{} may only access Aktenplan subtrees {}; {key} is outside them",
        principal.name,
        scopes.join(", ")
    )))
}

impl Engine {
    /// Loads an Akte the principal may see (`allowed` roles, within its subtrees).
    fn visible_akte(
        &self,
        principal: &Principal,
        akte: &AkteRef,
        allowed: &[Role],
        what: &str,
    ) -> Result<Akte, ServiceError> {
        require_role(principal, allowed, what)?;
        let record = self.records().akte(akte)?;
        require_scope(principal, &record.key)?;
        Ok(record)
    }

    pub(crate) fn visible_dokument(
        &self,
        principal: &Principal,
        id: u64,
        allowed: &[Role],
        what: &str,
    ) -> Result<(Dokument, Akte), ServiceError> {
        require_role(principal, allowed, what)?;
        let dokument = self.records().dokument(id)?;
        let akte = self.records().akte(&AkteRef::Id(dokument.akte_id))?;
        require_scope(principal, &akte.key)?;
        Ok((dokument, akte))
    }

    pub async fn create_akte(
        &self,
        principal: Principal,
        unit: String,
        title: String,
        explicit: Option<String>,
        year: Option<u16>,
    ) -> Result<Akte, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, WRITERS, "create Akten")?;
            let unit =
                AktenplanKey::parse(&unit).map_err(|e| ServiceError::InvalidArgument(e.to_string()))?;
            require_scope(&principal, &unit)?;
            Ok(engine.records().create_akte(&principal.name, &unit, &title, explicit.as_deref(), year)?)
        })
        .await
    }

    pub async fn akte_details(
        &self,
        principal: Principal,
        akte: AkteRef,
    ) -> Result<AkteDetails, ServiceError> {
        self.blocking(move |engine| {
            let akte = engine.visible_akte(&principal, &akte, READERS, "read Akten")?;
            let records = engine.records();
            Ok(AkteDetails {
                vorgaenge: records.vorgaenge(akte.id)?,
                dokumente: records.dokumente(akte.id)?,
                akte,
            })
        })
        .await
    }

    pub async fn list_akten(
        &self,
        principal: Principal,
        subtree: Option<String>,
        include_closed: bool,
        after: Option<Vec<u8>>,
        limit: usize,
    ) -> Result<AktenPage, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, READERS, "list Akten")?;
            let subtree = subtree
                .map(|key| {
                    AktenplanKey::parse(&key).map_err(|e| ServiceError::InvalidArgument(e.to_string()))
                })
                .transpose()?;
            Ok(engine.records().list_akten(
                subtree.as_ref(),
                include_closed,
                after.as_deref(),
                limit,
                |akte| principal.covers(&akte.key),
            )?)
        })
        .await
    }

    pub async fn close_akte(
        &self,
        principal: Principal,
        akte: AkteRef,
        note: String,
    ) -> Result<Akte, ServiceError> {
        self.blocking(move |engine| {
            let record = engine.visible_akte(&principal, &akte, WRITERS, "close Akten")?;
            Ok(engine.records().close_akte(&principal.name, &AkteRef::Id(record.id), &note)?)
        })
        .await
    }

    pub async fn create_vorgang(
        &self,
        principal: Principal,
        akte: AkteRef,
        title: String,
    ) -> Result<Vorgang, ServiceError> {
        self.blocking(move |engine| {
            let record = engine.visible_akte(&principal, &akte, WRITERS, "create Vorgänge")?;
            Ok(engine.records().create_vorgang(&principal.name, &AkteRef::Id(record.id), &title)?)
        })
        .await
    }

    /// Checks the header and permissions, then starts the upload of a new Dokument's first Version.
    pub async fn begin_document_upload(
        &self,
        principal: Principal,
        header: DocumentHeader,
    ) -> Result<Upload<DokumentDetails>, ServiceError> {
        let new = self
            .blocking(move |engine| {
                let akte = engine.visible_akte(&principal, &header.akte, WRITERS, "add Dokumente")?;
                if !akte.is_open() {
                    return Err(RecordsError::AkteClosed(akte.aktenzeichen).into());
                }
                if let Some(vorgang) = header.vorgang_id {
                    engine.records().check_vorgang_in(&akte, vorgang)?;
                }
                let posteingangsdatum =
                    NaiveDate::parse_from_str(header.posteingangsdatum.trim(), "%Y-%m-%d").map_err(|_| {
                        ServiceError::InvalidArgument(format!(
                            "invalid Posteingangsdatum {:?}: expected YYYY-MM-DD, e.g. 2026-11-23",
                            header.posteingangsdatum
                        ))
                    })?;
                let channel =
                    registratur_records::model::Channel::parse(header.channel.trim()).ok_or_else(|| {
                        ServiceError::InvalidArgument(format!(
                            "invalid channel {:?}: use paper_scan, email, fachverfahren or other",
                            header.channel
                        ))
                    })?;
                let new = NewDokument {
                    akte: AkteRef::Id(akte.id),
                    vorgang_id: header.vorgang_id,
                    title: header.title,
                    sender: header.sender,
                    fremdes_geschaeftszeichen: header.fremdes_geschaeftszeichen,
                    posteingangsdatum,
                    channel,
                    source: header.source,
                    filename: header.filename,
                    media_type: header.media_type,
                };
                // Refuse bad fields before the client sends the bytes.
                new.check()?;
                Ok((new, principal, akte.aktenzeichen))
            })
            .await?;
        let engine = self.clone();
        let (new, principal, aktenzeichen) = new;
        Ok(self.begin_upload(move |reader| {
            let (dokument, version) = engine.records().add_dokument(&principal.name, &new, reader)?;
            Ok(DokumentDetails { dokument, aktenzeichen, versions: vec![version] })
        }))
    }

    /// Checks permissions, then starts the upload of a new Version of an existing Dokument.
    pub async fn begin_version_upload(
        &self,
        principal: Principal,
        new: NewVersion,
    ) -> Result<Upload<DokumentDetails>, ServiceError> {
        let principal = self
            .blocking(move |engine| {
                let (_, akte) =
                    engine.visible_dokument(&principal, new.dokument_id, WRITERS, "add Versionen")?;
                if !akte.is_open() {
                    return Err(RecordsError::AkteClosed(akte.aktenzeichen).into());
                }
                new.check()?;
                Ok((principal, new))
            })
            .await?;
        let engine = self.clone();
        let (principal, new) = principal;
        Ok(self.begin_upload(move |reader| {
            let (dokument, _) = engine.records().add_version(&principal.name, &new, reader)?;
            engine.dokument_details_unchecked(dokument)
        }))
    }

    fn dokument_details_unchecked(&self, dokument: Dokument) -> Result<DokumentDetails, ServiceError> {
        let records = self.records();
        let aktenzeichen = records.akte(&AkteRef::Id(dokument.akte_id))?.aktenzeichen;
        let versions = records.versions(&dokument)?;
        Ok(DokumentDetails { dokument, aktenzeichen, versions })
    }

    pub async fn dokument_details(
        &self,
        principal: Principal,
        id: u64,
    ) -> Result<DokumentDetails, ServiceError> {
        self.blocking(move |engine| {
            let (dokument, _) = engine.visible_dokument(&principal, id, READERS, "read Dokumente")?;
            engine.dokument_details_unchecked(dokument)
        })
        .await
    }

    /// Streams a Version's original (or rendition `kind`), verified.
    pub async fn read_content(
        &self,
        principal: Principal,
        id: u64,
        version: Option<u32>,
        kind: Option<String>,
    ) -> Result<(Content, BlobDownload), ServiceError> {
        let reader = principal.name.clone();
        let (content, what) = self
            .blocking(move |engine| {
                let (dokument, _) = engine.visible_dokument(&principal, id, READERS, "read Dokumente")?;
                let content = engine.records().content(&dokument, version, kind.as_deref())?;
                let number = version.unwrap_or(dokument.current_version);
                let part = match &kind {
                    Some(kind) => format!("rendition {kind}"),
                    None => "original".to_string(),
                };
                let what = format!("Dokument {id} Version {number} ({part} {:?})", content.filename);
                Ok((content, what))
            })
            .await?;
        let hash = content
            .blob_hash()
            .map_err(|e| ServiceError::Internal(format!("stored content hash is invalid: {e}")))?;
        let download = self.download(hash, &reader, what).await?;
        Ok((content, download))
    }

    pub async fn history(
        &self,
        principal: Principal,
        of: HistoryOf,
    ) -> Result<Vec<HistoryItem>, ServiceError> {
        self.blocking(move |engine| {
            let entries = match of {
                HistoryOf::Akte(akte) => {
                    let akte = engine.visible_akte(&principal, &akte, READERS, "read history")?;
                    engine.records().akte_history(akte.id)?
                }
                HistoryOf::Dokument(id) => {
                    engine.visible_dokument(&principal, id, READERS, "read history")?;
                    engine.records().dokument_history(id)?
                }
            };
            Ok(entries.iter().map(HistoryItem::from).collect())
        })
        .await
    }

    /// A routing code for an open Akte, to print on an outgoing letter (see `route::code`).
    pub async fn issue_routing_code(
        &self,
        principal: Principal,
        akte: AkteRef,
    ) -> Result<IssuedRoutingCode, ServiceError> {
        self.blocking(move |engine| {
            let akte = engine.visible_akte(&principal, &akte, WRITERS, "issue routing codes")?;
            if !akte.is_open() {
                return Err(RecordsError::AkteClosed(akte.aktenzeichen).into());
            }
            let payload = code::issue(engine.routing_keys().current(), akte.id, &akte.aktenzeichen)?;
            Ok(IssuedRoutingCode { payload, akte_id: akte.id, aktenzeichen: akte.aktenzeichen })
        })
        .await
    }

    pub async fn import_aktenplan(
        &self,
        principal: Principal,
        csv: String,
    ) -> Result<(u32, usize), ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, &[Role::Admin], "import the Aktenplan")?;
            let plan = Aktenplan::from_csv(&csv).map_err(|e| ServiceError::InvalidArgument(e.to_string()))?;
            let version = engine.records().import_aktenplan(&principal.name, &plan)?;
            Ok((version, plan.len()))
        })
        .await
    }

    pub async fn export_aktenplan(&self, principal: Principal) -> Result<(u32, String), ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, READERS, "export the Aktenplan")?;
            let (version, plan) = engine.records().aktenplan()?.ok_or(RecordsError::NoAktenplan)?;
            Ok((version, plan.to_csv()))
        })
        .await
    }
}
