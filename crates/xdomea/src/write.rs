//! Streaming writers for the messages the authority sends in an Aussonderung (xdomea 3.0.0,
//! xdomea-Nachrichten-AussonderungDurchfuehren.xsd): 0501 Anbieteverzeichnis, 0503 Aussonderung (the XML
//! inside the package, see [`crate::package`]), and the receipts 0504, 0505, 0507.
//!
//! The writers take one top-level Schriftgutobjekt at a time and write it out at once, so the engine can
//! load one Akte, write it, and drop it. Element order follows the schema's sequences exactly (the XSD is
//! strict about it); every message is checked against the XSD with xmllint in the tests.

use std::collections::HashSet;
use std::io::Write;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use uuid::Uuid;

use crate::codes::{Aussonderungsart, Dateiformat, Nachrichtentyp};
use crate::error::WriteError;
use crate::model::{
    Akte, Aufbewahrungsdauer, Aussonderungsmetadaten, Datei, Dokument, Kontakt, Kopf, Laufzeit,
    Schriftgutobjekt, Version, Vorgang,
};
use crate::xml::XmlWriter;

/// Medium code list (`urn:xoev-de:xdomea:codeliste:medium` 1.0): 001 is "Elektronisch", which every
/// record the engine holds is.
const MEDIUM_LIST_URI: &str = "urn:xoev-de:xdomea:codeliste:medium";
const MEDIUM_ELEKTRONISCH: &str = "001";

/// A primary file referenced by a written 0503: the file's UUID and its name in the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// [`Datei::id`].
    pub datei_id: Uuid,
    /// `Primaerdokument/Dateiname`: `<UUID>_<name>.<ext>`, the entry name in the zip.
    pub dateiname: String,
}

/// Writes a 0501 Anbieteverzeichnis: the offer of Akten, Vorgänge and Dokumente as metadata (no
/// primary files, no `Version` elements, as the message's implementation hint says).
pub struct AnbieteverzeichnisWriter<W: Write> {
    inner: MessageBody<W>,
}

impl<W: Write> AnbieteverzeichnisWriter<W> {
    /// Writes the declaration, the root element and the Kopf (with `Empfangsbestaetigung`).
    pub fn new(out: W, kopf: &Kopf) -> Result<Self, WriteError> {
        Ok(Self { inner: MessageBody::start(out, kopf, Nachrichtentyp::Anbieteverzeichnis0501)? })
    }

    /// Writes one top-level Schriftgutobjekt (usually an Akte with its Vorgänge and Dokumente).
    pub fn write(&mut self, objekt: &Schriftgutobjekt) -> Result<(), WriteError> {
        self.inner.write_objekt(objekt)
    }

    /// Closes the message; returns the output. Refuses an empty offer (the schema needs one object).
    pub fn finish(self) -> Result<W, WriteError> {
        Ok(self.inner.finish()?.0)
    }
}

/// Writes the XML of a 0503 Aussonderung: the full records tree with `Version`/`Format`/
/// `Primaerdokument` for every file. The package writer ([`crate::AussonderungPackageWriter`]) wraps it
/// and adds the files; use this one alone only when the files travel another way.
pub struct AussonderungWriter<W: Write> {
    inner: MessageBody<W>,
}

impl<W: Write> AussonderungWriter<W> {
    /// Writes the declaration, the root element and the Kopf (`Importbestaetigung` 1,
    /// `RueckmeldungArchivkennung`, `Empfangsbestaetigung`).
    pub fn new(out: W, kopf: &Kopf) -> Result<Self, WriteError> {
        Ok(Self { inner: MessageBody::start(out, kopf, Nachrichtentyp::Aussonderung0503)? })
    }

    /// Writes one top-level Schriftgutobjekt with all its files' references.
    pub fn write(&mut self, objekt: &Schriftgutobjekt) -> Result<(), WriteError> {
        self.inner.write_objekt(objekt)
    }

    /// Closes the message; returns the output and the files it references, in document order.
    pub fn finish(self) -> Result<(W, Vec<PackageFile>), WriteError> {
        self.inner.finish()
    }
}

/// Writes a 0504 AnbietungEmpfangBestaetigen (receipt of an offer; sent by the archive, here for tests
/// and for completeness).
pub fn write_anbietung_empfang_bestaetigen_0504<W: Write>(out: W, kopf: &Kopf) -> Result<W, WriteError> {
    write_receipt(out, kopf, Nachrichtentyp::AnbietungEmpfangBestaetigen0504)
}

/// Writes a 0505 BewertungEmpfangBestaetigen: the authority's receipt of the archive's 0502.
pub fn write_bewertung_empfang_bestaetigen_0505<W: Write>(out: W, kopf: &Kopf) -> Result<W, WriteError> {
    write_receipt(out, kopf, Nachrichtentyp::BewertungEmpfangBestaetigen0505)
}

/// Writes a 0507 AussonderungEmpfangBestaetigen (the archive's receipt of a 0503; here for tests and
/// for completeness).
pub fn write_aussonderung_empfang_bestaetigen_0507<W: Write>(out: W, kopf: &Kopf) -> Result<W, WriteError> {
    write_receipt(out, kopf, Nachrichtentyp::AussonderungEmpfangBestaetigen0507)
}

fn write_receipt<W: Write>(out: W, kopf: &Kopf, typ: Nachrichtentyp) -> Result<W, WriteError> {
    let root = typ.root_element();
    let mut xml = XmlWriter::start_document(out, &root)?;
    write_kopf(&mut xml, kopf, typ)?;
    xml.end_document(&root)
}

/// The shared body of 0501 and 0503: Kopf, then Schriftgutobjekte one by one.
struct MessageBody<W: Write> {
    xml: XmlWriter<W>,
    typ: Nachrichtentyp,
    root: String,
    seen: HashSet<Uuid>,
    objects: u64,
    files: Vec<PackageFile>,
}

impl<W: Write> MessageBody<W> {
    fn start(out: W, kopf: &Kopf, typ: Nachrichtentyp) -> Result<Self, WriteError> {
        let root = typ.root_element();
        let mut xml = XmlWriter::start_document(out, &root)?;
        write_kopf(&mut xml, kopf, typ)?;
        Ok(Self { xml, typ, root, seen: HashSet::new(), objects: 0, files: Vec::new() })
    }

    fn with_files(&self) -> bool {
        self.typ == Nachrichtentyp::Aussonderung0503
    }

    fn write_objekt(&mut self, objekt: &Schriftgutobjekt) -> Result<(), WriteError> {
        self.xml.start("Schriftgutobjekt")?;
        match objekt {
            Schriftgutobjekt::Akte(akte) => self.akte(akte, "Akte", None)?,
            Schriftgutobjekt::Vorgang(vorgang) => self.vorgang(vorgang, "Vorgang", None)?,
            Schriftgutobjekt::Dokument(dokument) => self.dokument(dokument, None)?,
        }
        self.xml.end("Schriftgutobjekt")?;
        self.objects += 1;
        Ok(())
    }

    fn finish(self) -> Result<(W, Vec<PackageFile>), WriteError> {
        if self.objects == 0 {
            return Err(WriteError::NoObjects);
        }
        Ok((self.xml.end_document(&self.root)?, self.files))
    }

    fn claim(&mut self, id: Uuid) -> Result<(), WriteError> {
        if self.seen.insert(id) { Ok(()) } else { Err(WriteError::DuplicateUuid(id)) }
    }

    fn identifikation(&mut self, id: Uuid, nummer: Option<usize>) -> Result<(), WriteError> {
        self.claim(id)?;
        let xml = &mut self.xml;
        xml.start("Identifikation")?;
        xml.text("ID", &id.hyphenated().to_string(), "ID")?;
        if let Some(nummer) = nummer {
            xml.text("NummerImUebergeordnetenContainer", &(nummer + 1).to_string(), "Nummer")?;
        }
        xml.end("Identifikation")
    }

    fn allgemeine_metadaten(
        &mut self,
        titel: &str,
        kennzeichen: Option<&str>,
        federfuehrung: Option<&str>,
        bemerkung: Option<&str>,
        aktenplaneinheit: Option<&crate::model::Aktenplaneinheit>,
    ) -> Result<(), WriteError> {
        let xml = &mut self.xml;
        xml.start("AllgemeineMetadaten")?;
        xml.text("Betreff", titel, "Betreff (title)")?;
        xml.opt_text("Kennzeichen", kennzeichen, "Kennzeichen")?;
        xml.opt_text("Federfuehrung", federfuehrung, "Federfuehrung")?;
        xml.opt_text("Bemerkung", bemerkung, "Bemerkung")?;
        xml.code("Medium", MEDIUM_LIST_URI, "1.0", MEDIUM_ELEKTRONISCH, None)?;
        if let Some(einheit) = aktenplaneinheit {
            xml.start("Aktenplaneinheit")?;
            xml.text("Kennzeichen", &einheit.kennzeichen, "Aktenplaneinheit Kennzeichen")?;
            xml.opt_text(
                "Inhaltsangabe",
                einheit.inhaltsangabe.as_deref(),
                "Aktenplaneinheit Inhaltsangabe",
            )?;
            xml.end("Aktenplaneinheit")?;
        }
        xml.end("AllgemeineMetadaten")
    }

    fn archivspezifische_metadaten(&mut self, m: &Aussonderungsmetadaten) -> Result<(), WriteError> {
        let xml = &mut self.xml;
        xml.start("ArchivspezifischeMetadaten")?;
        xml.start("Aufbewahrungsdauer")?;
        match m.aufbewahrungsdauer {
            Aufbewahrungsdauer::Jahre(jahre) => xml.text("AnzahlJahre", &jahre.to_string(), "AnzahlJahre")?,
            Aufbewahrungsdauer::Unbefristet => xml.text("Unbefristet", "1", "Unbefristet")?,
        }
        xml.end("Aufbewahrungsdauer")?;
        xml.start("Aussonderungsart")?;
        xml.code(
            "Aussonderungsart",
            Aussonderungsart::LIST_URI,
            Aussonderungsart::LIST_VERSION,
            m.aussonderungsart.code(),
            Some(m.aussonderungsart.name()),
        )?;
        xml.end("Aussonderungsart")?;
        if let Some(ende) = m.aufbewahrungsende {
            xml.text("Aufbewahrungsende", &date(ende), "Aufbewahrungsende")?;
        }
        xml.end("ArchivspezifischeMetadaten")
    }

    fn laufzeit(&mut self, laufzeit: &Laufzeit) -> Result<(), WriteError> {
        if laufzeit.beginn.is_none() && laufzeit.ende.is_none() {
            return Ok(());
        }
        let xml = &mut self.xml;
        xml.start("Laufzeit")?;
        xml.opt_text("Beginn", laufzeit.beginn.map(date).as_deref(), "Laufzeit Beginn")?;
        xml.opt_text("Ende", laufzeit.ende.map(date).as_deref(), "Laufzeit Ende")?;
        xml.end("Laufzeit")
    }

    fn zda(&mut self, zda_datum: Option<NaiveDate>) -> Result<(), WriteError> {
        if let Some(datum) = zda_datum {
            self.xml.text("ZdA", "1", "ZdA")?;
            self.xml.text("ZdADatum", &date(datum), "ZdADatum")?;
        }
        Ok(())
    }

    fn akte(&mut self, akte: &Akte, element: &str, nummer: Option<usize>) -> Result<(), WriteError> {
        self.xml.start(element)?;
        self.identifikation(akte.id, nummer)?;
        self.allgemeine_metadaten(
            &akte.titel,
            akte.kennzeichen.as_deref(),
            akte.federfuehrung.as_deref(),
            akte.bemerkung.as_deref(),
            akte.aktenplaneinheit.as_ref(),
        )?;
        self.archivspezifische_metadaten(&akte.aussonderung)?;
        self.laufzeit(&akte.laufzeit)?;
        if !(akte.dokumente.is_empty() && akte.vorgaenge.is_empty() && akte.teilakten.is_empty()) {
            self.xml.start("Akteninhalt")?;
            // Numbering runs over the whole container, in the order the schema lists the children.
            let mut nummer = 0;
            for dokument in &akte.dokumente {
                self.dokument(dokument, Some(nummer))?;
                nummer += 1;
            }
            for vorgang in &akte.vorgaenge {
                self.vorgang(vorgang, "Vorgang", Some(nummer))?;
                nummer += 1;
            }
            for teilakte in &akte.teilakten {
                self.akte(teilakte, "Teilakte", Some(nummer))?;
                nummer += 1;
            }
            self.xml.end("Akteninhalt")?;
        }
        self.zda(akte.zda_datum)?;
        self.xml.end(element)
    }

    fn vorgang(&mut self, vorgang: &Vorgang, element: &str, nummer: Option<usize>) -> Result<(), WriteError> {
        self.xml.start(element)?;
        self.identifikation(vorgang.id, nummer)?;
        self.allgemeine_metadaten(
            &vorgang.titel,
            vorgang.kennzeichen.as_deref(),
            None,
            vorgang.bemerkung.as_deref(),
            None,
        )?;
        if let Some(aussonderung) = &vorgang.aussonderung {
            self.archivspezifische_metadaten(aussonderung)?;
        }
        self.zda(vorgang.zda_datum)?;
        self.laufzeit(&vorgang.laufzeit)?;
        let mut nummer = 0;
        for dokument in &vorgang.dokumente {
            self.dokument(dokument, Some(nummer))?;
            nummer += 1;
        }
        for teilvorgang in &vorgang.teilvorgaenge {
            self.vorgang(teilvorgang, "Teilvorgang", Some(nummer))?;
            nummer += 1;
        }
        self.xml.end(element)
    }

    fn dokument(&mut self, dokument: &Dokument, nummer: Option<usize>) -> Result<(), WriteError> {
        self.xml.start("Dokument")?;
        self.identifikation(dokument.id, nummer)?;
        self.allgemeine_metadaten(
            &dokument.titel,
            dokument.kennzeichen.as_deref(),
            None,
            dokument.bemerkung.as_deref(),
            None,
        )?;
        let xml = &mut self.xml;
        xml.opt_text(
            "FremdesGeschaeftszeichen",
            dokument.fremdes_geschaeftszeichen.as_deref(),
            "FremdesGeschaeftszeichen",
        )?;
        xml.opt_text(
            "Posteingangsdatum",
            dokument.posteingangsdatum.map(date).as_deref(),
            "Posteingangsdatum",
        )?;
        xml.opt_text(
            "Postausgangsdatum",
            dokument.postausgangsdatum.map(date).as_deref(),
            "Postausgangsdatum",
        )?;
        xml.opt_text(
            "DatumDesSchreibens",
            dokument.datum_des_schreibens.map(date).as_deref(),
            "DatumDesSchreibens",
        )?;
        xml.opt_text("Bearbeiter", dokument.bearbeiter.as_deref(), "Bearbeiter")?;
        xml.opt_text("Typ", dokument.typ.as_deref(), "Typ")?;
        if self.with_files() {
            for version in &dokument.versionen {
                self.version(dokument.id, version)?;
            }
        }
        self.xml.end("Dokument")
    }

    fn version(&mut self, dokument: Uuid, version: &Version) -> Result<(), WriteError> {
        if version.formate.is_empty() {
            return Err(WriteError::VersionWithoutFile { dokument, version: version.nummer });
        }
        self.xml.start("Version")?;
        self.xml.text("Nummer", &version.nummer.to_string(), "Version Nummer")?;
        for datei in &version.formate {
            self.format(datei)?;
        }
        self.xml.end("Version")
    }

    fn format(&mut self, datei: &Datei) -> Result<(), WriteError> {
        self.claim(datei.id)?;
        let dateiname = package_file_name(datei.id, &datei.name, &datei.format);
        let xml = &mut self.xml;
        xml.start("Format")?;
        // DateiformatCodeType allows only `code`: no `name` child.
        xml.code("Name", Dateiformat::LIST_URI, Dateiformat::LIST_VERSION, datei.format.code(), None)?;
        xml.opt_text("SonstigerName", datei.format.sonstiger_name(), "Dateiformat SonstigerName")?;
        xml.text("Version", &datei.format_version, "Format Version")?;
        xml.start("Primaerdokument")?;
        xml.text("Dateiname", &dateiname, "Dateiname")?;
        xml.text("DateinameOriginal", &datei.name, "DateinameOriginal (file name)")?;
        xml.opt_text("Ersteller", datei.ersteller.as_deref(), "Ersteller")?;
        xml.opt_text("DatumUhrzeit", datei.datum_uhrzeit.map(date_time).as_deref(), "DatumUhrzeit")?;
        xml.end("Primaerdokument")?;
        xml.end("Format")?;
        self.files.push(PackageFile { datei_id: datei.id, dateiname });
        Ok(())
    }
}

fn write_kopf<W: Write>(xml: &mut XmlWriter<W>, kopf: &Kopf, typ: Nachrichtentyp) -> Result<(), WriteError> {
    xml.start("Kopf")?;
    xml.text("ProzessID", &kopf.prozess_id.hyphenated().to_string(), "ProzessID")?;
    xml.code(
        "Nachrichtentyp",
        Nachrichtentyp::LIST_URI,
        Nachrichtentyp::LIST_VERSION,
        typ.code(),
        Some(typ.name()),
    )?;
    xml.text("Erstellungszeitpunkt", &date_time(kopf.erstellungszeitpunkt), "Erstellungszeitpunkt")?;
    kontakt(xml, "Absender", &kopf.absender)?;
    kontakt(xml, "Empfaenger", &kopf.empfaenger)?;
    if let Some(system) = &kopf.sendendes_system {
        xml.start("SendendesSystem")?;
        xml.opt_text("InstanzID", system.instanz_id.as_deref(), "InstanzID")?;
        xml.text("Produktname", &system.produktname, "Produktname")?;
        xml.text("Version", &system.version, "System Version")?;
        xml.end("SendendesSystem")?;
    }
    match typ {
        Nachrichtentyp::Anbieteverzeichnis0501 | Nachrichtentyp::Bewertungsverzeichnis0502 => {
            xml.text("Empfangsbestaetigung", boolean(kopf.empfangsbestaetigung), "Empfangsbestaetigung")?;
        }
        Nachrichtentyp::Aussonderung0503 => {
            // Fixed to 1 by the schema (NkAussonderungType); libxml2 rejects "true" for a fixed "1".
            xml.text("Importbestaetigung", "1", "Importbestaetigung")?;
            xml.text(
                "RueckmeldungArchivkennung",
                boolean(kopf.rueckmeldung_archivkennung),
                "RueckmeldungArchivkennung",
            )?;
            xml.text("Empfangsbestaetigung", boolean(kopf.empfangsbestaetigung), "Empfangsbestaetigung")?;
        }
        _ => {}
    }
    xml.end("Kopf")
}

fn kontakt<W: Write>(xml: &mut XmlWriter<W>, element: &str, kontakt: &Kontakt) -> Result<(), WriteError> {
    xml.start(element)?;
    if let Some(schluessel) = &kontakt.behoerdenschluessel {
        xml.start("Behoerdenkennung")?;
        // The Behoerdenschluessel's code list is the sender's; the schema requires no list attributes.
        xml.plain_code("Behoerdenschluessel", schluessel)?;
        xml.end("Behoerdenkennung")?;
    }
    if kontakt.institution.is_some() || kontakt.institution_kurz.is_some() {
        xml.start("Institution")?;
        xml.opt_text("Name", kontakt.institution.as_deref(), "Institution Name")?;
        xml.opt_text("Kurzbezeichnung", kontakt.institution_kurz.as_deref(), "Institution Kurzbezeichnung")?;
        xml.end("Institution")?;
    }
    if let Some(einheit) = &kontakt.organisationseinheit {
        xml.start("Organisationseinheit")?;
        xml.text("Name", einheit, "Organisationseinheit Name")?;
        xml.end("Organisationseinheit")?;
    }
    xml.end(element)
}

/// `<UUID>_<name>.<ext>`: the name stem reduced to ASCII letters, digits, `-` and `_` (umlauts
/// transliterated, everything else `_`, at most 60 characters), so every archive's unpacker and file
/// system takes it; the extension from the original name, or the format's when the name has none.
pub fn package_file_name(id: Uuid, original_name: &str, format: &Dateiformat) -> String {
    let (stem, extension) = match original_name.rsplit_once('.') {
        Some((stem, ext))
            if !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (stem, Some(ext.to_ascii_lowercase()))
        }
        _ => (original_name, None),
    };
    let extension = extension.or_else(|| format.extension().map(str::to_owned));
    let mut clean = String::new();
    for c in stem.chars() {
        match c {
            'ä' => clean.push_str("ae"),
            'ö' => clean.push_str("oe"),
            'ü' => clean.push_str("ue"),
            'Ä' => clean.push_str("Ae"),
            'Ö' => clean.push_str("Oe"),
            'Ü' => clean.push_str("Ue"),
            'ß' => clean.push_str("ss"),
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => clean.push(c),
            _ => clean.push('_'),
        }
        if clean.len() >= 60 {
            clean.truncate(60);
            break;
        }
    }
    let mut name = id.hyphenated().to_string();
    if !clean.is_empty() {
        name.push('_');
        name.push_str(&clean);
    }
    if let Some(ext) = extension {
        name.push('.');
        name.push_str(&ext);
    }
    name
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn date_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn boolean(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}
