//! A reader for the XML of a 0503 Aussonderung, back into the crate's own types: for checking what
//! was handed over (and the round trip of the writer), and for reading other systems' 0503 such as
//! Landesarchiv NRW's example. It reads what [`crate::model`] holds and skips the schema's other
//! elements (history, contacts, extensions); validate with [`crate::XsdValidator`] for the rest. The
//! same safety as the other readers applies (limits, DOCTYPE refused before parsing).

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::codes::{Aussonderungsart, Dateiformat, Nachrichtentyp};
use crate::error::ReadError;
use crate::model::{
    Akte, Aktenplaneinheit, Aufbewahrungsdauer, Aussonderungsmetadaten, Datei, Dokument, Laufzeit,
    Schriftgutobjekt, Version, Vorgang,
};
use crate::read::{Element, KopfGelesen, ReadLimits, check_root, code_value, kopf, leaf_text, parse, uuid};
use crate::xml::XDOMEA_NS;

/// A 0503 as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AussonderungGelesen {
    /// The header.
    pub kopf: KopfGelesen,
    /// The top-level Schriftgutobjekte.
    pub objekte: Vec<Schriftgutobjekt>,
}

/// Reads the XML of a 0503 (not the zip: take the XML entry out first).
pub fn read_aussonderung_0503(xml: &[u8], limits: &ReadLimits) -> Result<AussonderungGelesen, ReadError> {
    if xml.len() as u64 > limits.max_input_bytes {
        return Err(ReadError::TooLarge { size: xml.len() as u64, limit: limits.max_input_bytes });
    }
    let root = parse(xml, limits)?;
    let typ = Nachrichtentyp::Aussonderung0503;
    check_root(&root, typ)?;
    let path = typ.root_element();
    let kopf_element = child(&root, "Kopf")
        .ok_or_else(|| ReadError::MissingElement { path: path.clone(), missing: "xdomea:Kopf".to_owned() })?;
    let (kopf, _) = kopf(kopf_element, typ, &format!("{path}/Kopf"))?;
    let mut objekte = Vec::new();
    for (index, objekt) in children(&root, "Schriftgutobjekt").enumerate() {
        let path = format!("{path}/Schriftgutobjekt[{}]", index + 1);
        let inner = objekt.children.first().ok_or_else(|| ReadError::MissingElement {
            path: path.clone(),
            missing: "Akte, Vorgang or Dokument".into(),
        })?;
        let path = format!("{path}/{}", inner.name);
        objekte.push(match inner.name.as_str() {
            "Akte" => Schriftgutobjekt::Akte(akte(inner, &path)?),
            "Vorgang" => Schriftgutobjekt::Vorgang(vorgang(inner, &path)?),
            "Dokument" => Schriftgutobjekt::Dokument(dokument(inner, &path)?),
            _ => {
                return Err(ReadError::UnexpectedElement {
                    path,
                    found: inner.name.clone(),
                    expected: "xdomea:Akte, xdomea:Vorgang or xdomea:Dokument".to_owned(),
                });
            }
        });
    }
    if objekte.is_empty() {
        return Err(ReadError::MissingElement { path, missing: "xdomea:Schriftgutobjekt".to_owned() });
    }
    Ok(AussonderungGelesen { kopf, objekte })
}

fn children<'e>(element: &'e Element, name: &'static str) -> impl Iterator<Item = &'e Element> {
    element.children.iter().filter(move |c| c.namespace.as_deref() == Some(XDOMEA_NS) && c.name == name)
}

fn child<'e>(element: &'e Element, name: &'static str) -> Option<&'e Element> {
    children(element, name).next()
}

fn text(element: &Element, name: &'static str, path: &str) -> Result<Option<String>, ReadError> {
    match child(element, name) {
        Some(c) => Ok(Some(leaf_text(c, &format!("{path}/{name}"))?.to_owned())),
        None => Ok(None),
    }
}

fn date(element: &Element, name: &'static str, path: &str) -> Result<Option<NaiveDate>, ReadError> {
    match text(element, name, path)? {
        Some(value) => {
            NaiveDate::parse_from_str(&value, "%Y-%m-%d").map(Some).map_err(|_| ReadError::InvalidValue {
                path: format!("{path}/{name}"),
                message: format!("{value:?} is not an xs:date (YYYY-MM-DD)"),
            })
        }
        None => Ok(None),
    }
}

fn identifikation(element: &Element, path: &str) -> Result<Uuid, ReadError> {
    let ident = child(element, "Identifikation").ok_or_else(|| ReadError::MissingElement {
        path: path.to_owned(),
        missing: "xdomea:Identifikation".to_owned(),
    })?;
    let id = child(ident, "ID").ok_or_else(|| ReadError::MissingElement {
        path: format!("{path}/Identifikation"),
        missing: "xdomea:ID".to_owned(),
    })?;
    uuid(id, &format!("{path}/Identifikation/ID"))
}

struct Allgemein {
    titel: String,
    kennzeichen: Option<String>,
    federfuehrung: Option<String>,
    bemerkung: Option<String>,
    aktenplaneinheit: Option<Aktenplaneinheit>,
}

fn allgemein(element: &Element, path: &str) -> Result<Allgemein, ReadError> {
    let Some(m) = child(element, "AllgemeineMetadaten") else {
        return Ok(Allgemein {
            titel: String::new(),
            kennzeichen: None,
            federfuehrung: None,
            bemerkung: None,
            aktenplaneinheit: None,
        });
    };
    let path = format!("{path}/AllgemeineMetadaten");
    let aktenplaneinheit = match child(m, "Aktenplaneinheit") {
        Some(einheit) => {
            let einheit_path = format!("{path}/Aktenplaneinheit");
            Some(Aktenplaneinheit {
                kennzeichen: text(einheit, "Kennzeichen", &einheit_path)?.unwrap_or_default(),
                inhaltsangabe: text(einheit, "Inhaltsangabe", &einheit_path)?,
            })
        }
        None => None,
    };
    Ok(Allgemein {
        titel: text(m, "Betreff", &path)?.unwrap_or_default(),
        kennzeichen: text(m, "Kennzeichen", &path)?,
        federfuehrung: text(m, "Federfuehrung", &path)?,
        bemerkung: text(m, "Bemerkung", &path)?,
        aktenplaneinheit,
    })
}

fn aussonderung(element: &Element, path: &str) -> Result<Option<Aussonderungsmetadaten>, ReadError> {
    let Some(m) = child(element, "ArchivspezifischeMetadaten") else {
        return Ok(None);
    };
    let path = format!("{path}/ArchivspezifischeMetadaten");
    let dauer_path = format!("{path}/Aufbewahrungsdauer");
    let aufbewahrungsdauer = match child(m, "Aufbewahrungsdauer") {
        Some(dauer) => match (text(dauer, "AnzahlJahre", &dauer_path)?, child(dauer, "Unbefristet")) {
            (Some(jahre), _) => {
                Aufbewahrungsdauer::Jahre(jahre.parse().map_err(|_| ReadError::InvalidValue {
                    path: format!("{dauer_path}/AnzahlJahre"),
                    message: format!("{jahre:?} is not a number of years"),
                })?)
            }
            (None, Some(_)) => Aufbewahrungsdauer::Unbefristet,
            (None, None) => {
                return Err(ReadError::MissingElement {
                    path: dauer_path,
                    missing: "xdomea:AnzahlJahre or xdomea:Unbefristet".to_owned(),
                });
            }
        },
        None => {
            return Err(ReadError::MissingElement { path, missing: "xdomea:Aufbewahrungsdauer".to_owned() });
        }
    };
    let art_path = format!("{path}/Aussonderungsart/Aussonderungsart");
    let code =
        child(m, "Aussonderungsart").and_then(|art| child(art, "Aussonderungsart")).ok_or_else(|| {
            ReadError::MissingElement { path: path.clone(), missing: "xdomea:Aussonderungsart".to_owned() }
        })?;
    let code = code_value(code, &art_path, Aussonderungsart::LIST_URI, Aussonderungsart::LIST_VERSION)?;
    let aussonderungsart = Aussonderungsart::from_code(&code).ok_or_else(|| ReadError::InvalidValue {
        path: art_path,
        message: format!("{code:?} is not an Aussonderungsart code (A, B, V)"),
    })?;
    Ok(Some(Aussonderungsmetadaten {
        aufbewahrungsdauer,
        aussonderungsart,
        aufbewahrungsende: date(m, "Aufbewahrungsende", &path)?,
    }))
}

fn laufzeit(element: &Element, path: &str) -> Result<Laufzeit, ReadError> {
    match child(element, "Laufzeit") {
        Some(l) => {
            let path = format!("{path}/Laufzeit");
            Ok(Laufzeit { beginn: date(l, "Beginn", &path)?, ende: date(l, "Ende", &path)? })
        }
        None => Ok(Laufzeit::default()),
    }
}

fn akte(element: &Element, path: &str) -> Result<Akte, ReadError> {
    let id = identifikation(element, path)?;
    let a = allgemein(element, path)?;
    let aussonderung = aussonderung(element, path)?.ok_or_else(|| ReadError::MissingElement {
        path: path.to_owned(),
        missing: "xdomea:ArchivspezifischeMetadaten (an Akte in an Aussonderung needs them)".to_owned(),
    })?;
    let mut dokumente = Vec::new();
    let mut vorgaenge = Vec::new();
    let mut teilakten = Vec::new();
    if let Some(inhalt) = child(element, "Akteninhalt") {
        let inhalt_path = format!("{path}/Akteninhalt");
        for (i, d) in children(inhalt, "Dokument").enumerate() {
            dokumente.push(dokument(d, &format!("{inhalt_path}/Dokument[{}]", i + 1))?);
        }
        for (i, v) in children(inhalt, "Vorgang").enumerate() {
            vorgaenge.push(vorgang(v, &format!("{inhalt_path}/Vorgang[{}]", i + 1))?);
        }
        for (i, t) in children(inhalt, "Teilakte").enumerate() {
            teilakten.push(akte(t, &format!("{inhalt_path}/Teilakte[{}]", i + 1))?);
        }
    }
    Ok(Akte {
        id,
        kennzeichen: a.kennzeichen,
        titel: a.titel,
        federfuehrung: a.federfuehrung,
        bemerkung: a.bemerkung,
        aktenplaneinheit: a.aktenplaneinheit,
        aussonderung,
        laufzeit: laufzeit(element, path)?,
        zda_datum: date(element, "ZdADatum", path)?,
        dokumente,
        vorgaenge,
        teilakten,
    })
}

fn vorgang(element: &Element, path: &str) -> Result<Vorgang, ReadError> {
    let id = identifikation(element, path)?;
    let a = allgemein(element, path)?;
    let mut dokumente = Vec::new();
    for (i, d) in children(element, "Dokument").enumerate() {
        dokumente.push(dokument(d, &format!("{path}/Dokument[{}]", i + 1))?);
    }
    let mut teilvorgaenge = Vec::new();
    for (i, t) in children(element, "Teilvorgang").enumerate() {
        teilvorgaenge.push(vorgang(t, &format!("{path}/Teilvorgang[{}]", i + 1))?);
    }
    Ok(Vorgang {
        id,
        kennzeichen: a.kennzeichen,
        titel: a.titel,
        bemerkung: a.bemerkung,
        aussonderung: aussonderung(element, path)?,
        zda_datum: date(element, "ZdADatum", path)?,
        laufzeit: laufzeit(element, path)?,
        dokumente,
        teilvorgaenge,
    })
}

fn dokument(element: &Element, path: &str) -> Result<Dokument, ReadError> {
    let id = identifikation(element, path)?;
    let a = allgemein(element, path)?;
    let mut versionen = Vec::new();
    for (i, v) in children(element, "Version").enumerate() {
        let version_path = format!("{path}/Version[{}]", i + 1);
        let nummer = text(v, "Nummer", &version_path)?.unwrap_or_default();
        let nummer = nummer.parse().map_err(|_| ReadError::InvalidValue {
            path: format!("{version_path}/Nummer"),
            message: format!("{nummer:?} is not a version number"),
        })?;
        let mut formate = Vec::new();
        for (j, f) in children(v, "Format").enumerate() {
            formate.push(datei(f, &format!("{version_path}/Format[{}]", j + 1))?);
        }
        versionen.push(Version { nummer, formate });
    }
    Ok(Dokument {
        id,
        kennzeichen: a.kennzeichen,
        titel: a.titel,
        bemerkung: a.bemerkung,
        fremdes_geschaeftszeichen: text(element, "FremdesGeschaeftszeichen", path)?,
        posteingangsdatum: date(element, "Posteingangsdatum", path)?,
        postausgangsdatum: date(element, "Postausgangsdatum", path)?,
        datum_des_schreibens: date(element, "DatumDesSchreibens", path)?,
        bearbeiter: text(element, "Bearbeiter", path)?,
        typ: text(element, "Typ", path)?,
        versionen,
    })
}

fn datei(element: &Element, path: &str) -> Result<Datei, ReadError> {
    let name_path = format!("{path}/Name");
    let name = child(element, "Name").ok_or_else(|| ReadError::MissingElement {
        path: path.to_owned(),
        missing: "xdomea:Name".to_owned(),
    })?;
    // Any listVersionID is accepted here (LAV NRW writes 2.0); the code must be one this crate knows.
    let code = code_value(name, &name_path, Dateiformat::LIST_URI, "")?;
    let format = Dateiformat::from_code(&code, text(element, "SonstigerName", path)?).ok_or_else(|| {
        ReadError::InvalidValue { path: name_path, message: format!("{code:?} is not a Dateiformat code") }
    })?;
    let primaer_path = format!("{path}/Primaerdokument");
    let primaer = child(element, "Primaerdokument").ok_or_else(|| ReadError::MissingElement {
        path: path.to_owned(),
        missing: "xdomea:Primaerdokument".to_owned(),
    })?;
    let dateiname = text(primaer, "Dateiname", &primaer_path)?.unwrap_or_default();
    // The file's UUID leads its name (stringDateinameType); never use the name as a path.
    let id = dateiname.get(..36).and_then(|prefix| Uuid::parse_str(prefix).ok()).ok_or_else(|| {
        ReadError::MalformedUuid { path: format!("{primaer_path}/Dateiname"), value: dateiname.clone() }
    })?;
    let datum_uhrzeit = match text(primaer, "DatumUhrzeit", &primaer_path)? {
        Some(value) => {
            Some(DateTime::parse_from_rfc3339(&value).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                ReadError::InvalidValue {
                    path: format!("{primaer_path}/DatumUhrzeit"),
                    message: format!("{value:?} is not an xs:dateTime with a time zone"),
                }
            })?)
        }
        None => None,
    };
    Ok(Datei {
        id,
        name: text(primaer, "DateinameOriginal", &primaer_path)?.unwrap_or(dateiname),
        format,
        format_version: text(element, "Version", path)?.unwrap_or_default(),
        ersteller: text(primaer, "Ersteller", &primaer_path)?,
        datum_uhrzeit,
    })
}
