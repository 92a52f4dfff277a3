//! The index schema: which facts of a Dokument are indexed, and how.
//!
//! One index document per Dokument, describing its current Version. Free text (title, sender, the
//! sender's reference, the body text, the Aktenzeichen as words) goes through the German analyser;
//! filter facts (Aktenzeichen, Aktenplan units, channel, format, Akte state) are exact terms; the
//! Posteingangsdatum is a fast column of days since 1970-01-01, for range filters and date order.

use chrono::NaiveDate;
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, OwnedValue, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};

use super::analysis;

/// Bumped whenever the schema or the analysis changes: an index of another version is rebuilt.
///
/// 2: words in normalisation form C (decomposed umlauts match), and `media_essence` for filtering on
/// `type/subtype` whatever parameters a Dokument's media type carries.
pub const SCHEMA_VERSION: u32 = 2;

/// What the index knows about one Dokument; built from the records (or a generated corpus).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedDokument {
    pub dokument_id: u64,
    pub akte_id: u64,
    pub aktenzeichen: String,
    /// The Aktenplan unit of the Akte, e.g. `32.10.05`.
    pub unit: String,
    pub title: String,
    pub sender: String,
    pub fremdes_geschaeftszeichen: String,
    /// The text: OCR text, text extracted from a born-digital PDF, or a plain-text original.
    pub body: String,
    pub posteingangsdatum: NaiveDate,
    /// The Eingang channel (`paper_scan`, `email`, ...).
    pub channel: String,
    /// Media type of the current Version's original.
    pub media_type: String,
    pub akte_open: bool,
    pub version: u32,
}

/// The fields of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub id: Field,
    pub akte_id: Field,
    pub aktenzeichen: Field,
    pub aktenzeichen_words: Field,
    /// The unit and every unit above it: `32.10.05`, `32.10`, `32`, for subtree filters.
    pub units: Field,
    pub unit: Field,
    pub title: Field,
    pub sender: Field,
    pub zeichen: Field,
    pub body: Field,
    pub date: Field,
    pub channel: Field,
    /// The media type as stored, parameters included (`text/plain; charset=utf-8`).
    pub media_type: Field,
    /// Its essence, `type/subtype` in lower case (`text/plain`): what the format filter matches.
    pub media_essence: Field,
    pub akte_state: Field,
    pub version: Field,
}

/// Field names; the fast-field columns are read by name.
pub const ID: &str = "id";
pub const DATE: &str = "date";

pub const AKTE_OPEN: &str = "open";
pub const AKTE_CLOSED: &str = "closed";

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let words = |stored: bool| {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(analysis::GERMAN)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions);
            let options = TextOptions::default().set_indexing_options(indexing);
            if stored { options.set_stored() } else { options }
        };
        let fields = Fields {
            id: builder.add_u64_field(ID, INDEXED | FAST | STORED),
            akte_id: builder.add_u64_field("akte_id", STORED),
            aktenzeichen: builder.add_text_field("aktenzeichen", STRING | STORED),
            aktenzeichen_words: builder.add_text_field("aktenzeichen_words", words(false)),
            units: builder.add_text_field("units", STRING),
            unit: builder.add_text_field("unit", STORED),
            title: builder.add_text_field("title", words(true)),
            sender: builder.add_text_field("sender", words(true)),
            zeichen: builder.add_text_field("zeichen", words(true)),
            body: builder.add_text_field("body", words(true)),
            date: builder.add_i64_field(DATE, INDEXED | FAST | STORED),
            channel: builder.add_text_field("channel", STRING | STORED),
            media_type: builder.add_text_field("media_type", STORED),
            media_essence: builder.add_text_field("media_essence", STRING),
            akte_state: builder.add_text_field("akte_state", STRING | STORED),
            version: builder.add_u64_field("version", STORED),
        };
        (builder.build(), fields)
    }

    /// The index document for `dokument`.
    pub fn document(&self, dokument: &IndexedDokument) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.id, dokument.dokument_id);
        doc.add_u64(self.akte_id, dokument.akte_id);
        doc.add_text(self.aktenzeichen, &dokument.aktenzeichen);
        doc.add_text(self.aktenzeichen_words, &dokument.aktenzeichen);
        doc.add_text(self.unit, &dokument.unit);
        let mut unit = dokument.unit.as_str();
        loop {
            doc.add_text(self.units, unit);
            match unit.rsplit_once('.') {
                Some((parent, _)) => unit = parent,
                None => break,
            }
        }
        doc.add_text(self.title, &dokument.title);
        doc.add_text(self.sender, &dokument.sender);
        doc.add_text(self.zeichen, &dokument.fremdes_geschaeftszeichen);
        doc.add_text(self.body, &dokument.body);
        doc.add_i64(self.date, day_number(dokument.posteingangsdatum));
        doc.add_text(self.channel, &dokument.channel);
        doc.add_text(self.media_type, &dokument.media_type);
        doc.add_text(self.media_essence, media_essence(&dokument.media_type));
        doc.add_text(self.akte_state, if dokument.akte_open { AKTE_OPEN } else { AKTE_CLOSED });
        doc.add_u64(self.version, u64::from(dokument.version));
        doc
    }

    /// Reads back what [`document`](Self::document) stored (the body included).
    pub fn read(&self, doc: &TantivyDocument) -> Result<IndexedDokument, IndexDocumentError> {
        let text = |field: Field| -> String {
            doc.get_first(field).and_then(|value| value.as_str()).unwrap_or_default().to_string()
        };
        let number = |field: Field| doc.get_first(field).and_then(|value| value.as_u64());
        let day = match doc.get_first(self.date).map(OwnedValue::from) {
            Some(OwnedValue::I64(day)) => day,
            _ => return Err(IndexDocumentError::NoDate),
        };
        Ok(IndexedDokument {
            dokument_id: number(self.id).ok_or(IndexDocumentError::NoId)?,
            akte_id: number(self.akte_id).unwrap_or_default(),
            aktenzeichen: text(self.aktenzeichen),
            unit: text(self.unit),
            title: text(self.title),
            sender: text(self.sender),
            fremdes_geschaeftszeichen: text(self.zeichen),
            body: text(self.body),
            posteingangsdatum: date_of_day(day).ok_or(IndexDocumentError::DayOutOfRange(day))?,
            channel: text(self.channel),
            media_type: text(self.media_type),
            akte_open: text(self.akte_state) == AKTE_OPEN,
            version: number(self.version).and_then(|v| u32::try_from(v).ok()).unwrap_or_default(),
        })
    }
}

/// What is missing from, or wrong in, a stored index document: the index is damaged (the caller
/// says to rebuild it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IndexDocumentError {
    #[error("the index document has no date")]
    NoDate,
    #[error("the index document has no id")]
    NoId,
    #[error("day {0} is out of range")]
    DayOutOfRange(i64),
}

/// The essence of a media type (RFC 9110 §8.3.1): `type/subtype`, without parameters, in lower case.
pub fn media_essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");

/// Days since 1970-01-01: the date column's unit.
pub fn day_number(date: NaiveDate) -> i64 {
    date.signed_duration_since(EPOCH).num_days()
}

pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    EPOCH.checked_add_signed(chrono::TimeDelta::try_days(day)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IndexedDokument {
        IndexedDokument {
            dokument_id: 7,
            akte_id: 3,
            aktenzeichen: "32.10.05-17/2025".into(),
            unit: "32.10.05".into(),
            title: "Bescheid über Wohngeld".into(),
            sender: "Stadtwerke Köln".into(),
            fremdes_geschaeftszeichen: "SW-4711".into(),
            body: "Sehr geehrte Frau Müller".into(),
            posteingangsdatum: NaiveDate::from_ymd_opt(2025, 3, 14).unwrap(),
            channel: "paper_scan".into(),
            media_type: "application/pdf".into(),
            akte_open: false,
            version: 2,
        }
    }

    #[test]
    fn a_document_reads_back_as_written() {
        let (_, fields) = Fields::schema();
        let doc = fields.document(&sample());
        assert_eq!(fields.read(&doc).unwrap(), sample());
        let units: Vec<_> = doc.get_all(fields.units).filter_map(|v| v.as_str()).collect();
        assert_eq!(units, ["32.10.05", "32.10", "32"]);
    }

    #[test]
    fn a_media_type_is_filtered_by_its_essence() {
        assert_eq!(media_essence("text/plain; charset=utf-8"), "text/plain");
        assert_eq!(media_essence(" Application/PDF "), "application/pdf");
        let (_, fields) = Fields::schema();
        let stored = IndexedDokument { media_type: "text/plain; charset=utf-8".into(), ..sample() };
        let doc = fields.document(&stored);
        assert_eq!(doc.get_first(fields.media_essence).and_then(|v| v.as_str()), Some("text/plain"));
        assert_eq!(fields.read(&doc).unwrap().media_type, "text/plain; charset=utf-8");
    }

    #[test]
    fn a_damaged_index_document_names_what_is_missing() {
        let (_, fields) = Fields::schema();
        let mut no_id = TantivyDocument::default();
        no_id.add_i64(fields.date, 0);
        assert_eq!(fields.read(&no_id), Err(IndexDocumentError::NoId));
        let mut no_date = TantivyDocument::default();
        no_date.add_u64(fields.id, 7);
        assert_eq!(fields.read(&no_date), Err(IndexDocumentError::NoDate));
        let mut far_future = no_date.clone();
        far_future.add_i64(fields.date, i64::MAX);
        assert_eq!(fields.read(&far_future), Err(IndexDocumentError::DayOutOfRange(i64::MAX)));
        assert_eq!(IndexDocumentError::NoId.to_string(), "the index document has no id");
    }

    #[test]
    fn day_numbers_round_trip() {
        let date = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
        assert_eq!(day_number(EPOCH), 0);
        assert_eq!(date_of_day(day_number(date)), Some(date));
    }
}
