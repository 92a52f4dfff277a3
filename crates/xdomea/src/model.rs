//! The input of the writers: plain records described in xdomea 3.0.0 vocabulary (xdomea-Baukasten.xsd,
//! `AkteType`, `VorgangType`, `DokumentType`, `VersionType`, `FormatType`, `NkBasisType`).
//!
//! These types belong to the message library, not to the engine: the engine converts its own records
//! into them. Only what an Aussonderung needs is modelled; every optional schema element left out here is
//! simply not written. Object UUIDs (`id`) must be stable per object across the 0501, 0503 and the
//! archive's 0502/0506 of one process (see [`crate::stable_uuid`]).

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::codes::{Aussonderungsart, Dateiformat};

/// The header (`Kopf`, `NkBasisType`) shared by every message of one Aussonderung process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kopf {
    /// `ProzessID`: one UUID for the whole process (offer, appraisal, handover, confirmation).
    pub prozess_id: Uuid,
    /// `Erstellungszeitpunkt`; also the modification time of every entry in the 0503 zip, so the same
    /// input gives the same bytes.
    pub erstellungszeitpunkt: DateTime<Utc>,
    /// `Absender`: the authority handing the records over.
    pub absender: Kontakt,
    /// `Empfaenger`: the archive.
    pub empfaenger: Kontakt,
    /// `SendendesSystem`: product name and version of the sending system.
    pub sendendes_system: Option<SendendesSystem>,
    /// `Empfangsbestaetigung` (0501, 0503): whether the archive shall acknowledge receipt (0504, 0507).
    pub empfangsbestaetigung: bool,
    /// `RueckmeldungArchivkennung` (0503 only): whether the archive shall report its Archivkennung per
    /// object in the 0506.
    pub rueckmeldung_archivkennung: bool,
}

/// A party in the header (`KontaktType`, reduced to institution and organisational unit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kontakt {
    /// `Behoerdenkennung/Behoerdenschluessel/code`, when the authority has one.
    pub behoerdenschluessel: Option<String>,
    /// `Institution/Name`, e.g. "Kreis Musterstadt" or "Landesarchiv NRW".
    pub institution: Option<String>,
    /// `Institution/Kurzbezeichnung`.
    pub institution_kurz: Option<String>,
    /// `Organisationseinheit/Name`.
    pub organisationseinheit: Option<String>,
}

/// `SendendesSystem` (`SystemType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendendesSystem {
    /// `InstanzID`: which installation sent the message.
    pub instanz_id: Option<String>,
    /// `Produktname`.
    pub produktname: String,
    /// `Version`.
    pub version: String,
}

/// One top-level `Schriftgutobjekt` of a 0501 or 0503.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schriftgutobjekt {
    Akte(Akte),
    Vorgang(Vorgang),
    Dokument(Dokument),
}

/// An Akte (`AkteType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Akte {
    /// `Identifikation/ID`.
    pub id: Uuid,
    /// `AllgemeineMetadaten/Kennzeichen`: the Aktenzeichen.
    pub kennzeichen: Option<String>,
    /// `AllgemeineMetadaten/Betreff`: the title.
    pub titel: String,
    /// `AllgemeineMetadaten/Federfuehrung`: the lead organisational unit.
    pub federfuehrung: Option<String>,
    /// `AllgemeineMetadaten/Bemerkung`.
    pub bemerkung: Option<String>,
    /// `AllgemeineMetadaten/Aktenplaneinheit`.
    pub aktenplaneinheit: Option<Aktenplaneinheit>,
    /// `ArchivspezifischeMetadaten`.
    pub aussonderung: Aussonderungsmetadaten,
    /// `Laufzeit`: first and last date of the records in the Akte.
    pub laufzeit: Laufzeit,
    /// `ZdA` and `ZdADatum`: when the Akte was closed ("zu den Akten"); `None` for an open Akte.
    pub zda_datum: Option<NaiveDate>,
    /// `Akteninhalt/Dokument`: Dokumente filed directly in the Akte.
    pub dokumente: Vec<Dokument>,
    /// `Akteninhalt/Vorgang`.
    pub vorgaenge: Vec<Vorgang>,
    /// `Akteninhalt/Teilakte`.
    pub teilakten: Vec<Akte>,
}

/// A Vorgang (`VorgangType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vorgang {
    /// `Identifikation/ID`.
    pub id: Uuid,
    /// `AllgemeineMetadaten/Kennzeichen`.
    pub kennzeichen: Option<String>,
    /// `AllgemeineMetadaten/Betreff`.
    pub titel: String,
    /// `AllgemeineMetadaten/Bemerkung`.
    pub bemerkung: Option<String>,
    /// `ArchivspezifischeMetadaten`, when the Vorgang carries its own (usually inherited from the Akte).
    pub aussonderung: Option<Aussonderungsmetadaten>,
    /// `ZdA` and `ZdADatum`.
    pub zda_datum: Option<NaiveDate>,
    /// `Laufzeit`.
    pub laufzeit: Laufzeit,
    /// `Dokument`.
    pub dokumente: Vec<Dokument>,
    /// `Teilvorgang`.
    pub teilvorgaenge: Vec<Vorgang>,
}

/// A Dokument (`DokumentType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dokument {
    /// `Identifikation/ID`.
    pub id: Uuid,
    /// `AllgemeineMetadaten/Kennzeichen`.
    pub kennzeichen: Option<String>,
    /// `AllgemeineMetadaten/Betreff`.
    pub titel: String,
    /// `AllgemeineMetadaten/Bemerkung`.
    pub bemerkung: Option<String>,
    /// `FremdesGeschaeftszeichen`: the sender's reference.
    pub fremdes_geschaeftszeichen: Option<String>,
    /// `Posteingangsdatum`.
    pub posteingangsdatum: Option<NaiveDate>,
    /// `Postausgangsdatum`.
    pub postausgangsdatum: Option<NaiveDate>,
    /// `DatumDesSchreibens`.
    pub datum_des_schreibens: Option<NaiveDate>,
    /// `Bearbeiter`.
    pub bearbeiter: Option<String>,
    /// `Typ`: the kind of document ("Eingangsschreiben", "Bescheid", …).
    pub typ: Option<String>,
    /// `Version`: written in the 0503 only (the 0501 carries no primary documents).
    pub versionen: Vec<Version>,
}

/// A Version of a Dokument (`VersionType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// `Nummer`.
    pub nummer: u32,
    /// `Format`: one file per format of the version, e.g. the original and its PDF/A rendition. At least
    /// one (the schema requires it).
    pub formate: Vec<Datei>,
}

/// One primary file (`FormatType` with its `Primaerdokument`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datei {
    /// The file's own UUID: its name in the 0503 zip is `<id>_<name>.<ext>` and
    /// [`crate::PrimaryFiles::open`] is asked for it by this id.
    pub id: Uuid,
    /// The original file name (`DateinameOriginal`), e.g. "Antrag Müller.pdf".
    pub name: String,
    /// `Format/Name`: the Dateiformat code (see [`Dateiformat::detect`]).
    pub format: Dateiformat,
    /// `Format/Version`: the format version, e.g. "PDF/A-2b" or "1.7"; empty when unknown (the element is
    /// required, its content is not).
    pub format_version: String,
    /// `Primaerdokument/Ersteller`.
    pub ersteller: Option<String>,
    /// `Primaerdokument/DatumUhrzeit`: when the file was created or filed.
    pub datum_uhrzeit: Option<DateTime<Utc>>,
}

/// `AllgemeineMetadaten/Aktenplaneinheit` (`AktenplaneinheitType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aktenplaneinheit {
    /// `Kennzeichen`, e.g. "51.02.03".
    pub kennzeichen: String,
    /// `Inhaltsangabe`: the unit's title.
    pub inhaltsangabe: Option<String>,
}

/// `ArchivspezifischeMetadaten` (`MetadatenAussonderungType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aussonderungsmetadaten {
    /// `Aufbewahrungsdauer`.
    pub aufbewahrungsdauer: Aufbewahrungsdauer,
    /// `Aussonderungsart`: A archivieren, B bewerten, V vernichten.
    pub aussonderungsart: Aussonderungsart,
    /// `Aufbewahrungsende`: the day the retention period ran out.
    pub aufbewahrungsende: Option<NaiveDate>,
}

/// `Aufbewahrungsdauer` (`AufbewahrungsdauerType`: a choice of `AnzahlJahre` or `Unbefristet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aufbewahrungsdauer {
    /// `AnzahlJahre`.
    Jahre(u16),
    /// `Unbefristet` (fixed `1`): kept without limit ("unbegrenzt").
    Unbefristet,
}

/// `Laufzeit` (`ZeitraumType`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Laufzeit {
    /// `Beginn`.
    pub beginn: Option<NaiveDate>,
    /// `Ende`.
    pub ende: Option<NaiveDate>,
}
