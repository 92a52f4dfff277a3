//! The records themselves: Akte, Vorgang, Dokument with its Eingang, Version with its contents.
//!
//! These are stored as versioned JSON in the metadata store's `records` column family (see `tables`): a
//! change to a type's serde shape is a change of stored format and needs the next version. Nothing is
//! edited in place except an Akte's state (z.d.A.) and a Dokument's pointer to its newest Version;
//! both changes are journaled like everything else.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::aktenzeichen::AktenplanKey;

/// A file (Akte), identified by a number and by its Aktenzeichen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Akte {
    pub id: u64,
    /// The formatted Aktenzeichen, e.g. `32.10.05-123/2024`.
    pub aktenzeichen: String,
    pub key: AktenplanKey,
    pub title: String,
    pub state: AkteState,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AkteState {
    Open,
    /// z.d.A. ("zu den Akten"): closed; retention counts from the end of that calendar year.
    Closed {
        at: DateTime<Utc>,
        by: String,
    },
}

/// A case (Vorgang) inside an Akte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vorgang {
    pub id: u64,
    pub akte_id: u64,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// How a Dokument arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    PaperScan,
    Email,
    Fachverfahren,
    Other,
}

/// The receipt record of one arrival. Every arrival is its own Eingang, even for identical bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eingang {
    /// The legal receipt date stamped by the mailroom; never changed.
    pub posteingangsdatum: NaiveDate,
    pub channel: Channel,
    /// Batch id, mailbox or system name.
    pub source: String,
    /// When the engine received it.
    pub received_at: DateTime<Utc>,
}

/// A document and its metadata. Its bytes live in its Versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dokument {
    pub id: u64,
    pub akte_id: u64,
    pub vorgang_id: Option<u64>,
    pub title: String,
    pub sender: String,
    pub fremdes_geschaeftszeichen: String,
    pub eingang: Eingang,
    pub created_by: String,
    /// Number of the newest Version (Versions count from 1).
    pub current_version: u32,
}

/// A stored byte string as a record refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// Hex BLAKE3: the blob's address.
    pub blake3: String,
    /// Hex SHA-256, for outside parties.
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub filename: String,
}

impl Content {
    /// The blob address of these bytes (the record keeps it as hex).
    pub fn blob_hash(
        &self,
    ) -> Result<registratur_storage::BlobHash, registratur_storage::hash::ParseHashError> {
        registratur_storage::BlobHash::from_hex(&self.blake3)
    }
}

/// A derived form of a Version's original, e.g. its PDF/A rendition or OCR text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    pub kind: String,
    pub content: Content,
}

/// One immutable state of a Dokument's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub number: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub reason: String,
    pub original: Content,
    pub renditions: Vec<Rendition>,
    /// The Version this one was derived from (format migration), if any.
    pub derived_from: Option<u32>,
}

impl Akte {
    pub fn is_open(&self) -> bool {
        matches!(self.state, AkteState::Open)
    }
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::PaperScan => "paper_scan",
            Channel::Email => "email",
            Channel::Fachverfahren => "fachverfahren",
            Channel::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "paper_scan" => Some(Channel::PaperScan),
            "email" => Some(Channel::Email),
            "fachverfahren" => Some(Channel::Fachverfahren),
            "other" => Some(Channel::Other),
            _ => None,
        }
    }
}
