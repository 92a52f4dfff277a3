//! From the records to what the index holds: a Dokument, its Akte and the text of its newest Version.
//!
//! The text comes from, in this order: the Version's `ocr-text` rendition (the mailroom writes one for
//! every scanned piece), a plain-text original, or the text layer of a born-digital PDF (poppler's
//! `pdftotext`). Other formats are indexed by their metadata alone. A blob that cannot be read is
//! registered in the quarantine register (by [`INDEXER_ACTOR`]), logged, and the Dokument indexed
//! without its text: search stays whole.

use std::collections::HashMap;

use registratur_scan::decode::Limits;

use super::schema::{IndexedDokument, media_essence};
use registratur_records::model::{Akte, Content, Dokument, RenditionKind};
use registratur_records::repo::{Records, RecordsError};

/// Who the indexer's findings of damaged bytes name.
pub const INDEXER_ACTOR: &str = "registratur/search";

/// At most this much text per Dokument goes into the index; the rest is cut at a character boundary.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Loads Dokumente for indexing, remembering the Akten it has seen.
pub struct Loader<'a> {
    records: &'a Records,
    akten: HashMap<u64, Akte>,
}

impl<'a> Loader<'a> {
    pub fn new(records: &'a Records) -> Self {
        Self { records, akten: HashMap::new() }
    }

    /// The index view of Dokument `id`, or `None` when there is no such Dokument.
    pub fn by_id(&mut self, id: u64) -> Result<Option<IndexedDokument>, RecordsError> {
        match self.records.dokument(id) {
            Ok(dokument) => self.load(&dokument).map(Some),
            Err(RecordsError::DokumentNotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub fn load(&mut self, dokument: &Dokument) -> Result<IndexedDokument, RecordsError> {
        let akte = match self.akten.get(&dokument.akte_id) {
            Some(akte) => akte.clone(),
            None => {
                let akte = self.records.akte(&registratur_records::repo::AkteRef::Id(dokument.akte_id))?;
                self.akten.insert(akte.id, akte.clone());
                akte
            }
        };
        let version = self.records.version(dokument, dokument.current_version)?;
        let ocr_text =
            version.renditions.iter().find(|r| r.kind == RenditionKind::OcrText).map(|r| &r.content);
        let body = match ocr_text {
            Some(content) => self.text_of(dokument.id, content, TextKind::Plain),
            None => self.text_of(dokument.id, &version.original, TextKind::of(&version.original.media_type)),
        };
        Ok(IndexedDokument {
            dokument_id: dokument.id,
            akte_id: akte.id,
            aktenzeichen: akte.aktenzeichen.clone(),
            unit: akte.key.as_str().to_string(),
            title: dokument.title.clone(),
            sender: dokument.sender.clone(),
            fremdes_geschaeftszeichen: dokument.fremdes_geschaeftszeichen.clone(),
            body,
            posteingangsdatum: dokument.eingang.posteingangsdatum,
            channel: dokument.eingang.channel.as_str().to_string(),
            media_type: version.original.media_type.clone(),
            akte_open: akte.is_open(),
            version: dokument.current_version,
        })
    }

    fn text_of(&self, dokument: u64, content: &Content, kind: TextKind) -> String {
        if kind == TextKind::None {
            return String::new();
        }
        let what = format!("the text of Dokument {dokument} ({:?})", content.filename);
        let bytes = content.blob_hash().map_err(|e| e.to_string()).and_then(|hash| {
            registratur_ops::quarantine::read(self.records.store(), &hash, INDEXER_ACTOR, &what)
                .map_err(|e| e.to_string())
        });
        let text = bytes.and_then(|bytes| match kind {
            TextKind::Plain => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            TextKind::Pdf => {
                registratur_scan::text::pdf_text(&bytes, &Limits::default()).map_err(|e| e.to_string())
            }
            TextKind::None => Ok(String::new()),
        });
        match text {
            Ok(text) => truncate(text, MAX_BODY_BYTES),
            Err(error) => {
                tracing::warn!(dokument, blob = %content.blake3, %error, "indexing the Dokument without its text");
                String::new()
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TextKind {
    Plain,
    Pdf,
    None,
}

impl TextKind {
    fn of(media_type: &str) -> TextKind {
        match media_essence(media_type).as_str() {
            "application/pdf" => TextKind::Pdf,
            "text/plain" | "text/csv" | "text/markdown" => TextKind::Plain,
            _ => TextKind::None,
        }
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let cut = (0..=max).rev().find(|&at| text.is_char_boundary(at)).unwrap_or(0);
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_kinds_follow_the_media_type_essence() {
        assert_eq!(TextKind::of("application/pdf"), TextKind::Pdf);
        assert_eq!(TextKind::of("text/plain; charset=utf-8"), TextKind::Plain);
        assert_eq!(TextKind::of("TEXT/PLAIN"), TextKind::Plain);
        assert_eq!(TextKind::of("image/tiff"), TextKind::None);
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("Straße".into(), 5), "Stra");
        assert_eq!(truncate("Straße".into(), 6), "Straß");
        assert_eq!(truncate("kurz".into(), 10), "kurz");
    }
}
