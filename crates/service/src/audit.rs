//! Audit: a Dokument's full history as one self-contained, verifiable JSON document.
//!
//! The export holds the Dokument, every Version with both hashes of its original and renditions,
//! and every journal entry that concerns the Dokument with all the fields its hash covers, so that an
//! outside party can recompute each entry's hash and check the links between consecutive entries
//! without registratur. It also carries the journal head at the time of export and the result of
//! verifying the whole chain then. The format is documented in `docs/audit-export.md`; its name and
//! version are [`EXPORT_FORMAT`].

use chrono::{DateTime, Utc};
use registratur_storage::journal::JournalEntry;
use registratur_storage::meta::journal_head_in;
use serde::Serialize;

use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};
use registratur_records::model::{Content, Dokument, Version};
use registratur_records::repo::AkteRef;

/// Name and version of the export format; a change that breaks readers gets a new number.
pub const EXPORT_FORMAT: &str = "registratur-history-export/1";

/// A Dokument's history, as exported. See `docs/audit-export.md`.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryExport {
    pub format: &'static str,
    pub exported_at: DateTime<Utc>,
    pub exported_by: String,
    pub aktenzeichen: String,
    pub dokument: ExportedDokument,
    pub versionen: Vec<ExportedVersion>,
    /// The journal entries that concern the Dokument, in sequence order.
    pub journal: Vec<ExportedEntry>,
    /// The newest journal entry when the export was made.
    pub journal_head: Option<JournalAnchor>,
    /// Whether the whole journal verified when the export was made.
    pub journal_check: JournalCheckResult,
}

/// The Dokument as exported: the fields `docs/audit-export.md` promises, kept apart from the records
/// model so that a change there does not change the export (that takes a new [`EXPORT_FORMAT`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportedDokument {
    pub id: u64,
    pub akte_id: u64,
    pub vorgang_id: Option<u64>,
    pub title: String,
    pub sender: String,
    pub fremdes_geschaeftszeichen: String,
    pub eingang: ExportedEingang,
    pub created_by: String,
    pub current_version: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportedEingang {
    pub posteingangsdatum: chrono::NaiveDate,
    pub channel: &'static str,
    pub source: String,
    pub received_at: DateTime<Utc>,
}

/// A Version as exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportedVersion {
    pub number: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub reason: String,
    pub derived_from: Option<u32>,
    pub original: ExportedContent,
    pub renditions: Vec<ExportedRendition>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportedRendition {
    pub kind: String,
    pub content: ExportedContent,
}

/// Bytes as exported: both hashes, size, media type and file name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportedContent {
    pub blake3: String,
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub filename: String,
}

impl From<&Dokument> for ExportedDokument {
    fn from(dokument: &Dokument) -> Self {
        Self {
            id: dokument.id,
            akte_id: dokument.akte_id,
            vorgang_id: dokument.vorgang_id,
            title: dokument.title.clone(),
            sender: dokument.sender.clone(),
            fremdes_geschaeftszeichen: dokument.fremdes_geschaeftszeichen.clone(),
            eingang: ExportedEingang {
                posteingangsdatum: dokument.eingang.posteingangsdatum,
                channel: dokument.eingang.channel.as_str(),
                source: dokument.eingang.source.clone(),
                received_at: dokument.eingang.received_at,
            },
            created_by: dokument.created_by.clone(),
            current_version: dokument.current_version,
        }
    }
}

impl From<&Content> for ExportedContent {
    fn from(content: &Content) -> Self {
        Self {
            blake3: content.blake3.clone(),
            sha256: content.sha256.clone(),
            size: content.size,
            media_type: content.media_type.clone(),
            filename: content.filename.clone(),
        }
    }
}

impl From<&Version> for ExportedVersion {
    fn from(version: &Version) -> Self {
        Self {
            number: version.number,
            created_at: version.created_at,
            created_by: version.created_by.clone(),
            reason: version.reason.clone(),
            derived_from: version.derived_from,
            original: (&version.original).into(),
            renditions: version
                .renditions
                .iter()
                .map(|r| ExportedRendition { kind: r.kind.to_string(), content: (&r.content).into() })
                .collect(),
        }
    }
}

/// One journal entry with every field its hash covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportedEntry {
    pub seq: u64,
    /// Milliseconds since the Unix epoch, as hashed.
    pub time_ms: i64,
    /// The same instant in RFC 3339, for people.
    pub time: String,
    pub actor: String,
    pub action: String,
    /// The payload when it is UTF-8 (it is JSON for every entry the engine writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The payload in base64 (RFC 4648, padded) when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_base64: Option<String>,
    /// Hex BLAKE3 of the previous entry (64 zeros for entry 1).
    pub prev_hash: String,
    /// Hex BLAKE3 of this entry's encoding, as stored.
    pub entry_hash: String,
}

/// A position in the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JournalAnchor {
    pub seq: u64,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JournalCheckResult {
    pub entries_checked: u64,
    pub intact: bool,
    /// The first broken entry when not intact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl From<&JournalEntry> for ExportedEntry {
    fn from(entry: &JournalEntry) -> Self {
        let (payload, payload_base64) = match std::str::from_utf8(&entry.payload) {
            Ok(text) => (Some(text.to_string()), None),
            Err(_) => (None, Some(data_encoding::BASE64.encode(&entry.payload))),
        };
        let time = DateTime::<Utc>::from_timestamp_millis(entry.time_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        Self {
            seq: entry.seq,
            time_ms: entry.time_ms,
            time,
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            payload,
            payload_base64,
            prev_hash: hex::encode(entry.prev_hash),
            entry_hash: hex::encode(entry.hash),
        }
    }
}

impl HistoryExport {
    /// The export as pretty-printed JSON, the form handed out.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("exports serialise to JSON")
    }
}

impl Engine {
    /// Exports a Dokument's full history (archivist or admin).
    pub async fn export_history(
        &self,
        principal: &Principal,
        dokument_id: u64,
    ) -> Result<HistoryExport, ServiceError> {
        super::records::require_role(principal, &[Role::Admin, Role::Archivist], "export histories")?;
        let exported_by = principal.name.clone();
        self.blocking(move |engine| {
            // Everything from one snapshot: the Dokument, its Versionen, its journal entries and the head
            // agree with each other even while changes arrive.
            let snapshot = engine.store().meta().snapshot();
            let records = engine.records().at(&snapshot);
            let dokument = records.dokument(dokument_id)?;
            let aktenzeichen = records.akte(&AkteRef::Id(dokument.akte_id))?.aktenzeichen;
            let versionen = records.versions(&dokument)?;
            let journal: Vec<ExportedEntry> =
                records.dokument_history(dokument_id)?.iter().map(ExportedEntry::from).collect();
            // The head before the check: the chain verified afterwards covers at least the exported entries.
            let journal_head = journal_head_in(&snapshot)
                .map_err(registratur_storage::StoreError::from)?
                .map(|head| JournalAnchor { seq: head.seq, hash: hex::encode(head.hash) });
            let check = engine.store().verify_journal()?;
            let journal_check = JournalCheckResult {
                entries_checked: check.entries_checked,
                intact: check.first_break.is_none(),
                broken_seq: check.first_break.as_ref().map(|b| b.seq),
                problem: check.first_break.as_ref().map(|b| b.problem.to_string()),
            };
            Ok(HistoryExport {
                format: EXPORT_FORMAT,
                exported_at: engine.store().clock().now(),
                exported_by,
                aktenzeichen,
                dokument: (&dokument).into(),
                versionen: versionen.iter().map(ExportedVersion::from).collect(),
                journal,
                journal_head,
                journal_check,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The export's Dokument and Version keep exactly the fields `docs/audit-export.md` names, in
    /// their documented form, whatever the records model does.
    #[test]
    fn the_exported_dokument_and_version_have_the_documented_fields() {
        let content = Content {
            blake3: "b3".into(),
            sha256: "s2".into(),
            size: 5,
            media_type: "text/plain".into(),
            filename: "a.txt".into(),
        };
        let at = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_123).unwrap();
        let dokument = Dokument {
            id: 3,
            akte_id: 1,
            vorgang_id: None,
            title: "Antrag".into(),
            sender: "Erika".into(),
            fremdes_geschaeftszeichen: "X-1".into(),
            eingang: registratur_records::model::Eingang {
                posteingangsdatum: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                channel: registratur_records::model::Channel::PaperScan,
                source: "batch-7".into(),
                received_at: at,
            },
            created_by: "poststelle".into(),
            current_version: 1,
        };
        let version = Version {
            number: 1,
            created_at: at,
            created_by: "poststelle".into(),
            reason: "eingang".into(),
            original: content.clone(),
            renditions: vec![registratur_records::model::Rendition {
                kind: registratur_records::model::RenditionKind::OcrText,
                content,
            }],
            derived_from: None,
        };
        let dokument = serde_json::to_value(ExportedDokument::from(&dokument)).unwrap();
        assert_eq!(
            dokument,
            serde_json::json!({
                "id": 3, "akte_id": 1, "vorgang_id": null, "title": "Antrag", "sender": "Erika",
                "fremdes_geschaeftszeichen": "X-1", "created_by": "poststelle", "current_version": 1,
                "eingang": { "posteingangsdatum": "2026-03-01", "channel": "paper_scan", "source": "batch-7",
                             "received_at": "2023-11-14T22:13:20.123Z" },
            })
        );
        let content = serde_json::json!({
            "blake3": "b3", "sha256": "s2", "size": 5, "media_type": "text/plain", "filename": "a.txt",
        });
        assert_eq!(
            serde_json::to_value(ExportedVersion::from(&version)).unwrap(),
            serde_json::json!({
                "number": 1, "created_at": "2023-11-14T22:13:20.123Z", "created_by": "poststelle",
                "reason": "eingang", "derived_from": null, "original": content,
                "renditions": [{ "kind": "ocr-text", "content": content }],
            })
        );
    }

    #[test]
    fn entries_keep_every_hashed_field_and_fall_back_to_base64() {
        let entry = JournalEntry::new(
            7,
            [3; 32],
            1_700_000_000_123,
            "bauamt".into(),
            "dokument.add".into(),
            b"{}".to_vec(),
        );
        let exported = ExportedEntry::from(&entry);
        assert_eq!(exported.seq, 7);
        assert_eq!(exported.time, "2023-11-14T22:13:20.123Z");
        assert_eq!(exported.payload.as_deref(), Some("{}"));
        assert_eq!(exported.prev_hash, "03".repeat(32));
        assert_eq!(exported.entry_hash, entry.hash_hex());

        let binary = JournalEntry::new(8, entry.hash, 0, "a".into(), "b".into(), vec![0xff, 0x00]);
        let exported = ExportedEntry::from(&binary);
        assert_eq!((exported.payload, exported.payload_base64.as_deref()), (None, Some("/wA=")));
    }
}
