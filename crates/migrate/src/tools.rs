//! The seam between migration jobs and the tools that do the work: format identification and
//! conversion with its validation gate.
//!
//! [`ScanToolchain`] is the product: `registratur-scan`'s identification by content and its PDF/A
//! writer, which validates every output before handing it back. Unit tests of the job machinery use
//! a deterministic fake (`tests::FakeToolchain`), and one contract suite runs against both.

use serde::{Deserialize, Serialize};

use registratur_scan::decode::Limits;
use registratur_scan::identify;
use registratur_scan::migrate as convert;
use registratur_scan::pdfa::DocumentInfo;

/// An archival format migration writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    #[serde(rename = "pdfa-2b")]
    PdfA2b,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::PdfA2b => "pdfa-2b",
        }
    }

    pub fn parse(text: &str) -> Option<Target> {
        match text {
            "pdfa-2b" => Some(Target::PdfA2b),
            _ => None,
        }
    }
}

/// What a format identification found, and by which tool (a PREMIS "format identification" event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identification {
    /// PRONOM PUID, or `UNKNOWN`.
    pub puid: String,
    pub name: String,
    pub version: String,
    pub tool: String,
    pub tool_version: String,
}

impl Identification {
    pub fn describe(&self) -> String {
        // PRONOM's names often carry the version already ("Acrobat PDF 1.4 - …").
        if self.version.is_empty() || self.name.contains(self.version.as_str()) {
            format!("{} ({})", self.name, self.puid)
        } else {
            format!("{} {} ({})", self.name, self.version, self.puid)
        }
    }
}

/// A validated migration output.
#[derive(Clone, Debug)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub media_type: String,
    /// File name extension of the output, without the dot.
    pub extension: String,
    pub pages: u32,
    /// What the validation gate checked and found, one line per check.
    pub checks: Vec<String>,
    /// What was fixed on the way (a normalised PDF's changes), one line each.
    pub changes: Vec<String>,
    pub tool: String,
    pub tool_version: String,
    pub parameters: String,
}

/// Why a Dokument was not migrated. Each is reported per Dokument; the job goes on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Failure {
    #[error("the source cannot be read: {0}")]
    Corrupt(String),
    #[error("the source is encrypted; ask the sender for an unencrypted copy")]
    Encrypted,
    #[error("no tool can migrate {0}")]
    Unsupported(String),
    #[error("needs a human decision: {0}")]
    NeedsHuman(String),
    #[error("the output failed validation and was discarded: {}", .0.join("; "))]
    ValidationFailed(Vec<String>),
}

/// Identification and conversion, as migration jobs use them.
pub trait Toolchain: Send + Sync {
    /// Identifies `bytes` by content (magic bytes and structure, never a file name).
    fn identify(&self, bytes: &[u8]) -> Identification;

    /// The identification tool's version: cached identifications by other versions are redone.
    fn identifier_version(&self) -> String;

    /// Looks at a source without converting it (a dry run): its page count, or the failure a
    /// migration would meet. Must be much cheaper than [`Toolchain::migrate`].
    fn preflight(&self, bytes: &[u8], format: &Identification, target: Target) -> Result<u32, Failure>;

    /// Converts `bytes` to `target` and validates the output before returning it: an `Ok` output has
    /// passed the gate (page count, pixels, PDF/A rules); a failing output never leaves this call.
    fn migrate(
        &self,
        bytes: &[u8],
        format: &Identification,
        target: Target,
        about: &About,
    ) -> Result<Output, Failure>;
}

/// What an output says about itself. Derived from the source, so that migrating the same Version
/// twice gives the same bytes (and the blob store keeps them once).
#[derive(Clone, Debug)]
pub struct About {
    pub title: String,
    /// The source's BLAKE3; its first 16 bytes become the output's document ID.
    pub source: registratur_storage::BlobHash,
    /// When the source Version was made (seconds since the Unix epoch).
    pub created_unix_seconds: i64,
}

/// The product's tool chain: `registratur-scan` identification and PDF/A writer.
#[derive(Clone, Debug, Default)]
pub struct ScanToolchain {
    pub limits: Limits,
}

/// The PUID recorded for bytes no signature matches.
pub const UNKNOWN_PUID: &str = "UNKNOWN";

impl ScanToolchain {
    fn format(format: &Identification) -> Result<identify::Format, Failure> {
        identify::Format::by_puid(&format.puid).ok_or_else(|| Failure::Unsupported(format.describe()))
    }
}

fn failure(error: convert::MigrateError) -> Failure {
    match error {
        convert::MigrateError::Corrupt(error) => Failure::Corrupt(error.to_string()),
        error
        @ (convert::MigrateError::Unsupported { .. } | convert::MigrateError::FormatMismatch { .. }) => {
            Failure::Unsupported(error.to_string())
        }
        convert::MigrateError::Encrypted => Failure::Encrypted,
        convert::MigrateError::NeedsHuman { reason } => Failure::NeedsHuman(reason),
        convert::MigrateError::ValidationFailed(validation) => {
            Failure::ValidationFailed(validation.findings())
        }
    }
}

impl Toolchain for ScanToolchain {
    fn identify(&self, bytes: &[u8]) -> Identification {
        let format = identify::identify(bytes);
        Identification {
            puid: if format.is_unknown() { UNKNOWN_PUID.to_string() } else { format.puid.to_string() },
            name: format.name.to_string(),
            version: format.version.to_string(),
            tool: identify::IDENTIFY_TOOL.to_string(),
            tool_version: identify::IDENTIFY_TOOL_VERSION.to_string(),
        }
    }

    fn identifier_version(&self) -> String {
        identify::IDENTIFY_TOOL_VERSION.to_string()
    }

    fn preflight(&self, bytes: &[u8], format: &Identification, target: Target) -> Result<u32, Failure> {
        let format = Self::format(format)?;
        convert::preflight(bytes, format, scan_target(target), &self.limits).map_err(failure)
    }

    fn migrate(
        &self,
        bytes: &[u8],
        format: &Identification,
        target: Target,
        about: &About,
    ) -> Result<Output, Failure> {
        let format = Self::format(format)?;
        let mut document_id = [0; 16];
        document_id.copy_from_slice(&about.source.as_bytes()[..16]);
        let info = DocumentInfo {
            title: about.title.clone(),
            author: None,
            creator_tool: format!("{} {}", convert::MIGRATE_TOOL, convert::MIGRATE_TOOL_VERSION),
            created_unix_seconds: about.created_unix_seconds,
            document_id,
        };
        let target = scan_target(target);
        let migrated = convert::migrate(bytes, format, target, &self.limits, &info).map_err(failure)?;
        let checks = std::iter::once(format!(
            "pages {} = {}",
            migrated.validation.source_pages, migrated.validation.output_pages
        ))
        .chain(migrated.validation.pages.iter().map(|page| {
            format!(
                "page {}: {} (max difference {})",
                page.page + 1,
                page.method.as_str(),
                page.max_channel_difference
            )
        }))
        .chain(std::iter::once("PDF/A-2 structural check: no violation".to_string()))
        .collect();
        Ok(Output {
            bytes: migrated.pdf,
            media_type: "application/pdf".into(),
            extension: "pdf".into(),
            pages: migrated.pages,
            checks,
            changes: migrated.changes,
            tool: convert::MIGRATE_TOOL.to_string(),
            tool_version: convert::MIGRATE_TOOL_VERSION.to_string(),
            parameters: convert::parameters(target),
        })
    }
}

fn scan_target(target: Target) -> convert::Target {
    match target {
        Target::PdfA2b => convert::Target::PdfA2b,
    }
}
