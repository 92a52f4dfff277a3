//! In-process XSD validation of xdomea messages against the 3.0.0 schemas, with libxml2 (Debian's
//! `libxml2`, through the `libxml` crate): the same validator `xmllint --schema` uses.
//!
//! The schemas ship inside the crate (`schema/3.0.0/`, embedded at build time) and are written once to
//! a private temporary directory, because `xdomea.xsd` includes its siblings and imports
//! `../xoev/code/1_0/xoev-code.xsd` by relative path. A message is only handed to libxml2 after the
//! DOCTYPE check (no DTD, so no entities to expand or fetch), and the parser runs without network access
//! and without recovery.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use libxml::parser::{Parser, ParserOptions};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};

use crate::error::ReadError;

/// The schema files, at their paths relative to the schema root.
const SCHEMA_FILES: &[(&str, &[u8])] = &[
    ("schemes/xdomea.xsd", include_bytes!("../schema/3.0.0/schemes/xdomea.xsd")),
    ("schemes/xdomea-Baukasten.xsd", include_bytes!("../schema/3.0.0/schemes/xdomea-Baukasten.xsd")),
    ("schemes/xdomea-Datentypen.xsd", include_bytes!("../schema/3.0.0/schemes/xdomea-Datentypen.xsd")),
    (
        "schemes/xdomea-Nachrichten-AbgabeDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-AbgabeDurchfuehren.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-AktenplanAustauschen.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-AktenplanAustauschen.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-Archivsystem.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-Archivsystem.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-AussonderungDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-AussonderungDurchfuehren.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-DMS.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-DMS.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-Fachverfahren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-Fachverfahren.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-FachverfahrensdatenAustauschen.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-FachverfahrensdatenAustauschen.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-GeschaeftsgangDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-GeschaeftsgangDurchfuehren.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-InformationAustauschen.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-InformationAustauschen.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-VBS.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-VBS.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-ZwischenarchivierungDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-ZwischenarchivierungDurchfuehren.xsd"),
    ),
    (
        "schemes/xdomea-Nachrichten-Zwischenarchivsystem.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Nachrichten-Zwischenarchivsystem.xsd"),
    ),
    (
        "schemes/xdomea-Typen-AbgabeDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Typen-AbgabeDurchfuehren.xsd"),
    ),
    (
        "schemes/xdomea-Typen-AussonderungDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Typen-AussonderungDurchfuehren.xsd"),
    ),
    (
        "schemes/xdomea-Typen-FachverfahrensdatenAustauschen.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Typen-FachverfahrensdatenAustauschen.xsd"),
    ),
    (
        "schemes/xdomea-Typen-GeschaeftsgangDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Typen-GeschaeftsgangDurchfuehren.xsd"),
    ),
    (
        "schemes/xdomea-Typen-ZwischenarchivierungDurchfuehren.xsd",
        include_bytes!("../schema/3.0.0/schemes/xdomea-Typen-ZwischenarchivierungDurchfuehren.xsd"),
    ),
    ("xoev/code/1_0/xoev-code.xsd", include_bytes!("../schema/3.0.0/xoev/code/1_0/xoev-code.xsd")),
];

/// At most this many of libxml2's messages are kept in an error.
const MAX_MESSAGES: usize = 20;

/// Validates messages against `xdomea.xsd` 3.0.0. Cheap to keep; `Send` and `Sync` (it holds only the
/// schema directory; each validation builds its own libxml2 contexts).
#[derive(Debug)]
pub struct XsdValidator {
    xdomea_xsd: PathBuf,
    /// Keeps the extracted schemas alive (deleted on drop) when they came from the crate.
    _extracted: Option<tempfile::TempDir>,
}

/// The schemas could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum XsdSetupError {
    #[error("writing the xdomea schemas to a temporary directory failed: {0}; check TMPDIR")]
    Io(#[from] std::io::Error),
    #[error("{0} is not a readable xdomea schema directory (expected schemes/xdomea.xsd in it)")]
    NotASchemaDirectory(PathBuf),
    #[error("libxml2 cannot load the xdomea schema: {0}")]
    Schema(String),
}

impl XsdValidator {
    /// A validator over the schemas built into the crate (extracted to a private temporary directory).
    pub fn embedded() -> Result<Self, XsdSetupError> {
        let dir = tempfile::Builder::new().prefix("registratur-xdomea-3.0.0-").tempdir()?;
        for (relative, bytes) in SCHEMA_FILES {
            let path = dir.path().join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
        }
        let mut validator = Self::from_dir(dir.path())?;
        validator._extracted = Some(dir);
        Ok(validator)
    }

    /// A validator over a schema directory laid out like `schema/3.0.0/` (with `schemes/xdomea.xsd`).
    pub fn from_dir(schema_root: &Path) -> Result<Self, XsdSetupError> {
        let xdomea_xsd = schema_root.join("schemes/xdomea.xsd");
        if !xdomea_xsd.is_file() {
            return Err(XsdSetupError::NotASchemaDirectory(schema_root.to_owned()));
        }
        let validator = Self { xdomea_xsd, _extracted: None };
        // Load the schema once now, so a broken copy fails at start and not at the first message.
        validator.with_context(|_| Ok(())).map_err(XsdSetupError::Schema)?;
        Ok(validator)
    }

    /// Validates `xml` against `xdomea.xsd`. Refuses a DOCTYPE first, whatever the caller checked.
    pub fn validate(&self, xml: &[u8]) -> Result<(), ReadError> {
        crate::read::refuse_doctype(xml)?;
        let options = ParserOptions {
            recover: false,
            no_net: true,
            no_error: true,
            no_warning: true,
            ..Default::default()
        };
        let document = Parser::default().parse_string_with_options(xml, options).map_err(|e| {
            ReadError::Malformed { position: 0, message: format!("libxml2 cannot parse the message: {e:?}") }
        })?;
        let result = self.with_context(|context| {
            // The libxml crate panics on libxml2's internal errors (-1); turn that into an error.
            match std::panic::catch_unwind(AssertUnwindSafe(|| context.validate_document(&document))) {
                Ok(Ok(())) => Ok(Ok(())),
                Ok(Err(errors)) => Ok(Err(errors
                    .iter()
                    .take(MAX_MESSAGES)
                    .map(|e| {
                        let line = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
                        format!("{line}{}", e.message.as_deref().unwrap_or("(no message)").trim())
                    })
                    .collect::<Vec<_>>())),
                Err(_) => Err("libxml2 failed internally while validating".to_owned()),
            }
        });
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(messages)) => Err(ReadError::SchemaInvalid { messages }),
            Err(message) => Err(ReadError::SchemaUnavailable(message)),
        }
    }

    fn with_context<T>(
        &self,
        f: impl FnOnce(&mut SchemaValidationContext) -> Result<T, String>,
    ) -> Result<T, String> {
        let path = self.xdomea_xsd.to_str().ok_or_else(|| "the schema path is not UTF-8".to_owned())?;
        let mut parser = std::panic::catch_unwind(|| SchemaParserContext::from_file(path))
            .map_err(|_| "libxml2 could not create a schema parser context".to_owned())?;
        let context =
            std::panic::catch_unwind(AssertUnwindSafe(|| SchemaValidationContext::from_parser(&mut parser)))
                .map_err(|_| "libxml2 could not create a validation context".to_owned())?;
        let mut context = context.map_err(|errors| {
            errors.iter().filter_map(|e| e.message.as_deref()).collect::<Vec<_>>().join("; ")
        })?;
        f(&mut context)
    }
}
