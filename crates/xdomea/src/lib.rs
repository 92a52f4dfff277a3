//! xdomea 3.0.0 Aussonderung messages for registratur, independent of the engine's types.
//!
//! - [`AnbieteverzeichnisWriter`] writes the 0501 offer, [`AussonderungPackageWriter`] the 0503 handover
//!   package (zip with the XML and the primary files, streamed to any `Write`), and
//!   [`write_bewertung_empfang_bestaetigen_0505`] (and 0504, 0507) the receipts.
//! - [`read_bewertungsverzeichnis_0502`] and [`read_aussonderung_import_bestaetigen_0506`] read the
//!   archive's answers, bare or zipped, safely and with structural validation; [`MessageReader`] adds
//!   XSD validation in-process with libxml2 ([`XsdValidator`]) and is what the engine should use.
//! - [`read_aussonderung_0503`] reads a 0503's XML back into the crate's types.
//! - The XSDs and code lists are in `schema/3.0.0/` of this crate; every message written is checked
//!   against them with xmllint in the tests.
//!
//! The engine supplies plain values ([`Akte`], [`Vorgang`], [`Dokument`], …) with UUIDs that stay the
//! same for an object in every message of a process ([`stable_uuid`]) and the primary files' bytes
//! ([`PrimaryFiles`]); it checks the UUIDs of incoming answers against its own state.

mod codes;
mod error;
mod model;
mod package;
mod read;
mod read_0503;
mod write;
mod xml;
mod xsd;
pub mod zip;

pub use codes::{Aussonderungsart, Dateiformat, Nachrichtentyp};
pub use error::{ReadError, WriteError, ZipReadError};
pub use model::{
    Akte, Aktenplaneinheit, Aufbewahrungsdauer, Aussonderungsmetadaten, Datei, Dokument, Kontakt, Kopf,
    Laufzeit, Schriftgutobjekt, SendendesSystem, Version, Vorgang,
};
pub use package::{
    AussonderungPackageWriter, PackageSummary, PrimaryFiles, message_file_name, package_file_name,
};
pub use read::{
    Bewertung, Bewertungsentscheidung, ImportBestaetigung, ImportErgebnis, KopfGelesen, MessageReader,
    ReadLimits, read_aussonderung_import_bestaetigen_0506, read_bewertungsverzeichnis_0502,
};
pub use read_0503::{AussonderungGelesen, read_aussonderung_0503};
pub use write::{
    AnbieteverzeichnisWriter, AussonderungWriter, PackageFile, write_anbietung_empfang_bestaetigen_0504,
    write_aussonderung_empfang_bestaetigen_0507, write_bewertung_empfang_bestaetigen_0505,
};
pub use xml::XDOMEA_NS;
pub use xsd::{XsdSetupError, XsdValidator};

/// The namespace under which [`stable_uuid`] derives object UUIDs (a fixed random UUID; never change it,
/// or the archive sees new objects).
pub const REGISTRATUR_UUID_NAMESPACE: uuid::Uuid = uuid::uuid!("6f1c2a8e-3d4b-4f5a-9e2d-7c1b0a9f8e31");

/// A UUID that is the same for the same engine object in every message: UUIDv5 (RFC 9562 §5.5) of
/// `kind` and the engine's own id under [`REGISTRATUR_UUID_NAMESPACE`], e.g.
/// `stable_uuid("akte", akte_id.as_bytes())`, `stable_uuid("datei", format!("{dokument}/{version}/{hash}"))`.
pub fn stable_uuid(kind: &str, engine_id: impl AsRef<[u8]>) -> uuid::Uuid {
    let mut name = Vec::with_capacity(kind.len() + 1 + engine_id.as_ref().len());
    name.extend_from_slice(kind.as_bytes());
    name.push(0);
    name.extend_from_slice(engine_id.as_ref());
    uuid::Uuid::new_v5(&REGISTRATUR_UUID_NAMESPACE, &name)
}
