//! The mailroom clerk's use cases beyond the gRPC Klärfall calls, for the engine's web page: the open
//! Klärfälle oldest first (the order a Poststelle works them off) with a reason filter, one Klärfall
//! with its OCR text and Transfervermerk read from the blob store, and the open Akten a Klärfall can
//! be filed in, found by part of their Aktenzeichen or title.
//!
//! Roles: `mailroom` and `admin`, the same as the Klärfall RPCs (`mailroom.rs`).

use registratur_mailroom::ingest::model::{Klaerfall, Transfervermerk};
use registratur_mailroom::route::resolve::KlaerfallReason;
use registratur_records::model::Akte;

use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};

/// Most Akten one search for a filing target answers with.
pub const MAX_AKTE_MATCHES: usize = 50;
/// Longest search text for a filing target.
const MAX_AKTE_QUERY: usize = 200;
/// Most OCR text shown with one Klärfall; longer texts are cut (the rendition holds all of it).
const MAX_SHOWN_TEXT: usize = 200_000;

/// One page of the open Klärfälle, oldest first.
#[derive(Clone, Debug)]
pub struct OpenKlaerfaelle {
    pub items: Vec<Klaerfall>,
    /// Open Klärfälle matching the filter, over all pages.
    pub total: usize,
}

/// A Klärfall with what a clerk reads to decide where it belongs.
#[derive(Clone, Debug)]
pub struct KlaerfallReading {
    pub klaerfall: Klaerfall,
    /// The OCR text of the piece (cut at [`MAX_SHOWN_TEXT`] characters).
    pub text: String,
    /// The Transfervermerk (scan protocol); `None` when its JSON cannot be read as one.
    pub transfervermerk: Option<Transfervermerk>,
}

fn require_clerk(principal: &Principal, what: &str) -> Result<(), ServiceError> {
    super::records::require_role(principal, &[Role::Mailroom, Role::Admin], what)
}

impl Engine {
    /// Whether `principal` may work in the mailroom clerk's web page (role mailroom or admin).
    pub fn check_clerk(&self, principal: &Principal) -> Result<(), ServiceError> {
        require_clerk(principal, "use the mailroom web page")
    }

    /// Open Klärfälle, oldest first, `limit` from `offset`, only those with `reason` when given.
    pub async fn open_klaerfaelle(
        &self,
        principal: &Principal,
        reason: Option<KlaerfallReason>,
        offset: usize,
        limit: usize,
    ) -> Result<OpenKlaerfaelle, ServiceError> {
        require_clerk(principal, "list Klärfälle")?;
        self.blocking(move |engine| {
            // The repository lists newest first; the clerk works oldest first.
            let mut all = engine.inner.mailroom.repo().klaerfaelle(false, usize::MAX)?;
            all.reverse();
            all.retain(|k| reason.is_none_or(|r| k.reason == r));
            let total = all.len();
            let items = all.into_iter().skip(offset).take(limit).collect();
            Ok(OpenKlaerfaelle { items, total })
        })
        .await
    }

    /// A Klärfall with its OCR text and Transfervermerk.
    pub async fn klaerfall_reading(
        &self,
        principal: &Principal,
        id: u64,
    ) -> Result<KlaerfallReading, ServiceError> {
        require_clerk(principal, "read Klärfälle")?;
        let reader = principal.name.clone();
        self.blocking(move |engine| {
            let klaerfall = engine.inner.mailroom.repo().klaerfall(id)?;
            let read = |content: &registratur_records::model::Content, what: String| {
                let hash = content.blob_hash().map_err(|e| ServiceError::Internal(e.to_string()))?;
                registratur_ops::quarantine::read(engine.store(), &hash, &reader, &what)
                    .map_err(|error| ServiceError::unreadable(error, &what))
            };
            let bytes = read(&klaerfall.text, format!("the OCR text of Klärfall {id}"))?;
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some((cut, _)) = text.char_indices().nth(MAX_SHOWN_TEXT) {
                text.truncate(cut);
            }
            let bytes = read(&klaerfall.transfervermerk, format!("the Transfervermerk of Klärfall {id}"))?;
            let transfervermerk = serde_json::from_slice(&bytes).ok();
            Ok(KlaerfallReading { klaerfall, text, transfervermerk })
        })
        .await
    }

    /// Open Akten whose Aktenzeichen or title contains `query` (case-insensitive), at most `limit`
    /// (capped at [`MAX_AKTE_MATCHES`]), in Aktenplan order: the targets a Klärfall can be filed in.
    pub async fn akten_to_file_in(
        &self,
        principal: &Principal,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Akte>, ServiceError> {
        require_clerk(principal, "look for Akten to file Klärfälle in")?;
        let query = query.trim().to_lowercase();
        if query.chars().count() > MAX_AKTE_QUERY {
            return Err(ServiceError::InvalidArgument(format!(
                "the search text is longer than {MAX_AKTE_QUERY} characters; type part of an Aktenzeichen or title"
            )));
        }
        let limit = limit.clamp(1, MAX_AKTE_MATCHES);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let principal = principal.clone();
        self.blocking(move |engine| {
            let mut found = Vec::new();
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = engine
                    .records()
                    .list_akten(None, false, after.as_deref(), 500, |akte| principal.covers(&akte.key))?;
                found.extend(page.akten.into_iter().filter(|akte| {
                    akte.aktenzeichen.to_lowercase().contains(&query)
                        || akte.title.to_lowercase().contains(&query)
                }));
                if found.len() >= limit || page.next.is_none() {
                    break;
                }
                after = page.next;
            }
            found.truncate(limit);
            Ok(found)
        })
        .await
    }
}
