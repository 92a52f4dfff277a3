//! The mailroom's records: a batch as received, what became of each file and piece, the scan protocol
//! (Transfervermerk) and the Klärfall. Stored as JSON by `repo`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::route::resolve::{KlaerfallReason, RouteMethod};
use registratur_records::model::{Channel, Content};

/// How the scanner was set up for the batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScannerProfile {
    /// Resolution used for pages whose file declares none.
    pub dpi: u32,
    /// `bw`, `gray` or `color`, as the scanner operator chose.
    pub colour_mode: String,
    /// Device name or id, for the Transfervermerk.
    pub device: String,
    /// Both sides of every sheet were scanned: pages fed = 2 × sheets.
    pub duplex: bool,
}

/// What the mailroom says about a batch when it sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchHeader {
    /// The scanner's or mailroom's own batch id.
    pub scanner_batch_id: String,
    pub channel: Channel,
    pub posteingangsdatum: NaiveDate,
    pub operator: String,
    pub profile: ScannerProfile,
    /// Sheets the operator counted, if any; checked against the pages fed.
    pub expected_sheets: Option<u32>,
    /// When the paper was scanned, if the scanner says.
    pub scanned_at: Option<DateTime<Utc>>,
}

/// One received file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchFile {
    pub content: Content,
}

/// A batch as durably received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: u64,
    pub header: BatchHeader,
    pub files: Vec<BatchFile>,
    pub received_at: DateTime<Utc>,
    pub received_by: String,
}

/// Where a page of the batch came from: file and page, both 0-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PageRef {
    pub file: u32,
    pub page: u32,
}

/// A page that was not stored because it was blank, with the measured value against the threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlankPage {
    pub at: PageRef,
    /// Position in the batch's page sequence, 1-based, as an operator counts sheets.
    pub batch_page: u32,
    pub ink_ratio: f64,
    pub threshold: f64,
}

/// A separator sheet: where, and which code made it one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeparatorSheet {
    pub at: PageRef,
    pub batch_page: u32,
    pub code: String,
}

/// A stored page of a piece, for the Transfervermerk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredPage {
    pub at: PageRef,
    pub batch_page: u32,
    /// SHA-256 of the decoded page samples as scanned (before any turning), hex.
    pub raw_sha256: String,
    pub width: u32,
    pub height: u32,
    pub dpi: f32,
    /// Degrees clockwise the page was turned to be upright.
    pub turned_degrees: u32,
    /// Mean OCR word confidence, 0–100.
    pub ocr_confidence: f32,
}

/// The scan protocol of one piece (TR-RESISCAN Transfervermerk).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transfervermerk {
    pub batch_id: u64,
    pub scanner_batch_id: String,
    pub piece: u32,
    pub operator: String,
    pub profile: ScannerProfile,
    pub received_at: DateTime<Utc>,
    pub scanned_at: Option<DateTime<Utc>>,
    pub processed_at: DateTime<Utc>,
    /// Pages of this piece's span that went into the scanner (stored + blank + separator).
    pub pages_fed: u32,
    pub pages_stored: u32,
    pub blank_pages: Vec<BlankPage>,
    /// The separator sheet that ended the previous piece and started this one, if any.
    pub separator_sheets: Vec<SeparatorSheet>,
    pub pages: Vec<StoredPage>,
    /// SHA-256 of the PDF/A rendition, hex.
    pub rendition_sha256: String,
    pub ocr_engine: String,
    /// Quality control: `ok`, or what a person should look at.
    pub qc: String,
    /// Evidence against the Akte the piece was filed in that did not outweigh its code, such as an
    /// "Ihr Zeichen" naming another existing Akte; also in `qc`. Absent in protocols written before
    /// this field existed.
    #[serde(default)]
    pub routing_conflicts: Vec<String>,
    /// The paper may be destroyed from this day unless it must be returned (6 months after transfer).
    pub destroy_eligible_at: NaiveDate,
}

/// What became of a file of the batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileOutcome {
    pub file: u32,
    pub filename: String,
    /// `tiff`, `pdf`, `jpeg`, `png`, or empty when unrecognised.
    pub format: String,
    pub pages: u32,
    /// Why the file could not be processed; its bytes stay stored with the batch.
    pub error: Option<String>,
}

/// Where a piece went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PieceDestination {
    Filed { akte_id: u64, aktenzeichen: String, dokument_id: u64, method: RouteMethod },
    Klaerfall { klaerfall_id: u64, reason: KlaerfallReason, detail: String },
}

/// One processed piece; written in the same transaction that files it or opens its Klärfall.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PieceRecord {
    pub batch_id: u64,
    pub piece: u32,
    pub destination: PieceDestination,
    pub evidence: Vec<String>,
    pub pages: Vec<PageRef>,
    pub rendition: Content,
    pub text: Content,
    pub transfervermerk: Content,
    pub protocol: Transfervermerk,
}

/// A batch's counts once every piece is done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub batch_id: u64,
    pub files: Vec<FileOutcome>,
    pub pieces: u32,
    pub pages_fed: u32,
    pub pages_stored: u32,
    pub blank_removed: u32,
    pub separator_sheets: u32,
    /// `pages_fed == pages_stored + blank_removed + separator_sheets`, checked, never assumed.
    pub invariant_holds: bool,
    /// Notes for quality control, e.g. a sheet count that does not match.
    pub qc: Vec<String>,
    pub finished_at: DateTime<Utc>,
}

/// A piece no rule could route: a person decides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Klaerfall {
    pub id: u64,
    pub batch_id: u64,
    pub piece: u32,
    pub reason: KlaerfallReason,
    pub detail: String,
    pub evidence: Vec<String>,
    /// Aktenzeichen the evidence pointed at, as hints.
    pub candidates: Vec<String>,
    pub posteingangsdatum: NaiveDate,
    pub channel: Channel,
    pub source: String,
    pub pages: u32,
    pub rendition: Content,
    pub text: Content,
    pub transfervermerk: Content,
    /// One small PNG per page, to look at without opening the PDF.
    pub previews: Vec<Content>,
    /// The first characters of the OCR text.
    pub excerpt: String,
    pub created_at: DateTime<Utc>,
    pub state: KlaerfallState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KlaerfallState {
    Open,
    Resolved {
        akte_id: u64,
        aktenzeichen: String,
        dokument_id: u64,
        by: String,
        at: DateTime<Utc>,
        note: String,
    },
}

/// The state of a batch as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Received, waiting for the worker.
    Queued,
    /// Pieces are being processed; some may be done.
    Processing,
    Done,
}

/// The title a scanned piece's Dokument gets when nobody gives one.
pub fn piece_title(posteingangsdatum: NaiveDate, source: &str, piece: u32) -> String {
    format!("Posteingang vom {} ({source}, Teil {})", posteingangsdatum.format("%d.%m.%Y"), piece + 1)
}

impl BatchState {
    /// The state that a batch's records imply: done once it has a summary, processing once a piece
    /// is done, queued before.
    pub fn of(summary: Option<&BatchSummary>, pieces_done: usize) -> BatchState {
        match (summary, pieces_done) {
            (Some(_), _) => BatchState::Done,
            (None, 0) => BatchState::Queued,
            (None, _) => BatchState::Processing,
        }
    }

    /// The state named by [`BatchState::as_str`].
    pub fn parse(text: &str) -> Option<BatchState> {
        [BatchState::Queued, BatchState::Processing, BatchState::Done]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Queued => "queued",
            BatchState::Processing => "processing",
            BatchState::Done => "done",
        }
    }
}
