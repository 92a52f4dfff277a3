//! Safe readers for the messages an archive sends back: 0502 Bewertungsverzeichnis and 0506
//! AussonderungImportBestaetigen (xdomea-Nachrichten-AussonderungDurchfuehren.xsd), bare `.xml` or in a
//! `.zip`.
//!
//! Safe by construction: the input is size-limited; any DOCTYPE is refused before the XML is parsed (so
//! no internal entity expansion, no external entities, no DTD fetches); only the five predefined entities
//! and character references are resolved; depth and element count are limited; zips are checked entry by
//! entry before anything is inflated (see [`crate::zip`]).
//!
//! Validation: every message is checked structurally against the XSD's content model for these two
//! messages before a typed result is returned: the root element and namespace, the Nachrichtentyp code
//! (which the XSD does not tie to the root), the exact element sequence of the Kopf (`NkBasisType`,
//! plus `Empfangsbestaetigung` for the 0502) and of every answered object, with unknown elements refused
//! where the schema forbids them, UUIDs, booleans, code lists and their fixed `listURI`/`listVersionID`,
//! and duplicate object UUIDs. [`MessageReader`] then validates the message against the XSD with
//! libxml2 as well (what the structural check leaves out: contact details, extensions). The result only says what the archive decided; the engine checks the
//! UUIDs against its own state before it changes anything.

use std::collections::HashSet;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use uuid::Uuid;

use crate::codes::{Aussonderungsart, Nachrichtentyp};
use crate::error::ReadError;
use crate::xml::XDOMEA_NS;
use crate::xsd::{XsdSetupError, XsdValidator};
use crate::zip::{ZipLimits, read_single_xml_entry};

/// Limits for incoming messages. The defaults take a 0502 of about 100,000 objects.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Most bytes of the input (the `.xml`, or the `.zip` holding it).
    pub max_input_bytes: u64,
    /// Most bytes of the XML inside a zip.
    pub max_xml_bytes: u64,
    /// Most entries in a zip.
    pub max_zip_entries: u64,
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Most elements in the document.
    pub max_elements: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: 64 * 1024 * 1024,
            max_xml_bytes: 64 * 1024 * 1024,
            max_zip_entries: 16,
            max_depth: 32,
            max_elements: 2_000_000,
        }
    }
}

/// The archive's decision for one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bewertungsentscheidung {
    /// A: archivieren (hand it over in the 0503).
    Archivieren,
    /// V: vernichten (destroy it, with a destruction record).
    Vernichten,
}

/// The header of an incoming message, as far as the engine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KopfGelesen {
    /// `ProzessID`.
    pub prozess_id: Uuid,
    /// `Erstellungszeitpunkt` as sent (xs:dateTime).
    pub erstellungszeitpunkt: String,
    /// `Absender/Institution/Name`, if given.
    pub absender: Option<String>,
    /// `Empfaenger/Institution/Name`, if given.
    pub empfaenger: Option<String>,
}

/// A 0502 Bewertungsverzeichnis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bewertung {
    /// The header.
    pub kopf: KopfGelesen,
    /// `Empfangsbestaetigung`: whether the archive wants a 0505.
    pub empfangsbestaetigung: bool,
    /// Per object UUID the decision, in document order.
    pub objekte: Vec<(Uuid, Bewertungsentscheidung)>,
}

impl Bewertung {
    /// `ProzessID`.
    pub fn prozess_id(&self) -> Uuid {
        self.kopf.prozess_id
    }
}

/// The outcome for one object in a 0506 (`ErfolgOderMisserfolgAussonderungType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErgebnis {
    /// `IDSGO`.
    pub id: Uuid,
    /// `Erfolgreich`.
    pub erfolgreich: bool,
    /// `Fehlermeldung` texts, if the import failed.
    pub fehlermeldungen: Vec<String>,
    /// `FehlermeldungCode` codes.
    pub fehlermeldung_codes: Vec<String>,
    /// `Archivkennung`: the archive's reference for the object (may be absent).
    pub archivkennung: Option<String>,
}

/// A 0506 AussonderungImportBestaetigen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBestaetigung {
    /// The header.
    pub kopf: KopfGelesen,
    /// Per object the outcome, in document order.
    pub objekte: Vec<ImportErgebnis>,
}

/// The readers the engine should use: size limits, the DOCTYPE refusal and the structural checks of
/// the free functions, then XSD validation of the message with libxml2 ([`XsdValidator`]).
#[derive(Debug)]
pub struct MessageReader {
    limits: ReadLimits,
    xsd: XsdValidator,
}

impl MessageReader {
    /// A reader over the schemas built into the crate.
    pub fn new(limits: ReadLimits) -> Result<Self, XsdSetupError> {
        Ok(Self { limits, xsd: XsdValidator::embedded()? })
    }

    /// A reader over a validator the caller prepared (e.g. from a schema directory).
    pub fn with_validator(limits: ReadLimits, xsd: XsdValidator) -> Self {
        Self { limits, xsd }
    }

    /// Reads and validates a 0502 from a `.xml` or a `.zip` holding one.
    pub fn read_bewertungsverzeichnis_0502(&self, input: &[u8]) -> Result<Bewertung, ReadError> {
        let xml = unpack(input, &self.limits)?;
        let bewertung = parse_0502(&xml, &self.limits)?;
        self.xsd.validate(&xml)?;
        Ok(bewertung)
    }

    /// Reads and validates a 0506 from a `.xml` or a `.zip` holding one.
    pub fn read_aussonderung_import_bestaetigen_0506(
        &self,
        input: &[u8],
    ) -> Result<ImportBestaetigung, ReadError> {
        let xml = unpack(input, &self.limits)?;
        let bestaetigung = parse_0506(&xml, &self.limits)?;
        self.xsd.validate(&xml)?;
        Ok(bestaetigung)
    }
}

/// Reads a 0502 from a `.xml` or a `.zip` holding one (recognised by its `PK` signature), with the
/// structural checks but without XSD validation (see [`MessageReader`]).
pub fn read_bewertungsverzeichnis_0502(input: &[u8], limits: &ReadLimits) -> Result<Bewertung, ReadError> {
    parse_0502(&unpack(input, limits)?, limits)
}

fn parse_0502(xml: &[u8], limits: &ReadLimits) -> Result<Bewertung, ReadError> {
    let root = parse(xml, limits)?;
    let typ = Nachrichtentyp::Bewertungsverzeichnis0502;
    check_root(&root, typ)?;
    let path = typ.root_element();
    let children = sequence(&root, &path, &[("Kopf", 1, 1), ("BewertetesObjekt", 1, usize::MAX)])?;
    let (kopf, empfangsbestaetigung) = kopf(children[0][0], typ, &format!("{path}/Kopf"))?;
    let mut seen = HashSet::new();
    let mut objekte = Vec::new();
    for (index, objekt) in children[1].iter().enumerate() {
        let path = format!("{path}/BewertetesObjekt[{}]", index + 1);
        let parts = sequence(objekt, &path, &[("ID", 1, 1), ("Aussonderungsart", 1, 1)])?;
        let id = uuid(parts[0][0], &format!("{path}/ID"))?;
        if !seen.insert(id) {
            return Err(ReadError::DuplicateUuid(id));
        }
        let art_path = format!("{path}/Aussonderungsart");
        let choice = sequence(
            parts[1][0],
            &art_path,
            &[("Aussonderungsart", 0, 1), ("AussonderungsartKonfigurierbar", 0, 1)],
        )?;
        let entscheidung = match (choice[0].first(), choice[1].first()) {
            (Some(code), None) => {
                let code_path = format!("{art_path}/Aussonderungsart");
                let value =
                    code_value(code, &code_path, Aussonderungsart::LIST_URI, Aussonderungsart::LIST_VERSION)?;
                match Aussonderungsart::from_code(&value) {
                    Some(Aussonderungsart::Archivieren) => Bewertungsentscheidung::Archivieren,
                    Some(Aussonderungsart::Vernichten) => Bewertungsentscheidung::Vernichten,
                    Some(Aussonderungsart::Bewerten) => {
                        return Err(ReadError::UndecidedAppraisal { path: code_path, code: value });
                    }
                    None => {
                        return Err(ReadError::InvalidValue {
                            path: code_path,
                            message: format!("{value:?} is not an Aussonderungsart code (A, B, V)"),
                        });
                    }
                }
            }
            (None, Some(_)) => {
                return Err(ReadError::UndecidedAppraisal {
                    path: format!("{art_path}/AussonderungsartKonfigurierbar"),
                    code: "a configurable Aussonderungsart".to_owned(),
                });
            }
            _ => {
                return Err(ReadError::MissingElement {
                    path: art_path,
                    missing: "exactly one of Aussonderungsart or AussonderungsartKonfigurierbar".to_owned(),
                });
            }
        };
        objekte.push((id, entscheidung));
    }
    Ok(Bewertung { kopf, empfangsbestaetigung: empfangsbestaetigung.unwrap_or(false), objekte })
}

/// Reads a 0506 from a `.xml` or a `.zip` holding one, with the structural checks but without XSD
/// validation (see [`MessageReader`]).
pub fn read_aussonderung_import_bestaetigen_0506(
    input: &[u8],
    limits: &ReadLimits,
) -> Result<ImportBestaetigung, ReadError> {
    parse_0506(&unpack(input, limits)?, limits)
}

fn parse_0506(xml: &[u8], limits: &ReadLimits) -> Result<ImportBestaetigung, ReadError> {
    let root = parse(xml, limits)?;
    let typ = Nachrichtentyp::AussonderungImportBestaetigen0506;
    check_root(&root, typ)?;
    let path = typ.root_element();
    let children = sequence(&root, &path, &[("Kopf", 1, 1), ("AusgesondertesSGO", 1, usize::MAX)])?;
    let (kopf, _) = kopf(children[0][0], typ, &format!("{path}/Kopf"))?;
    let mut seen = HashSet::new();
    let mut objekte = Vec::new();
    for (index, objekt) in children[1].iter().enumerate() {
        let path = format!("{path}/AusgesondertesSGO[{}]", index + 1);
        let parts = sequence(
            objekt,
            &path,
            &[
                ("IDSGO", 1, 1),
                ("Erfolgreich", 1, 1),
                ("Fehlermeldung", 0, usize::MAX),
                ("FehlermeldungCode", 0, usize::MAX),
                ("Archivkennung", 0, 1),
            ],
        )?;
        let id = uuid(parts[0][0], &format!("{path}/IDSGO"))?;
        if !seen.insert(id) {
            return Err(ReadError::DuplicateUuid(id));
        }
        let erfolgreich = boolean(parts[1][0], &format!("{path}/Erfolgreich"))?;
        let fehlermeldungen = parts[2].iter().map(|e| e.text.clone()).collect();
        let mut fehlermeldung_codes = Vec::new();
        for code in &parts[3] {
            // SonstigeFehlermeldungCodeType: the code list is the archive's; only its shape is checked.
            let code_path = format!("{path}/FehlermeldungCode");
            fehlermeldung_codes.push(code_value(code, &code_path, "", "")?);
        }
        let archivkennung = parts[4].first().map(|e| e.text.trim().to_owned()).filter(|s| !s.is_empty());
        objekte.push(ImportErgebnis { id, erfolgreich, fehlermeldungen, fehlermeldung_codes, archivkennung });
    }
    Ok(ImportBestaetigung { kopf, objekte })
}

/// The XML of the message: the input itself, or the single `.xml` entry of a zip.
pub(crate) fn unpack(input: &[u8], limits: &ReadLimits) -> Result<Vec<u8>, ReadError> {
    if input.len() as u64 > limits.max_input_bytes {
        return Err(ReadError::TooLarge { size: input.len() as u64, limit: limits.max_input_bytes });
    }
    if input.starts_with(b"PK\x03\x04") || input.starts_with(b"PK\x05\x06") {
        let zip_limits =
            ZipLimits { max_entries: limits.max_zip_entries, max_entry_bytes: limits.max_xml_bytes };
        return Ok(read_single_xml_entry(input, zip_limits)?);
    }
    Ok(input.to_vec())
}

/// One element of the parsed message: bounded by the input size, depth and element limits.
#[derive(Debug)]
pub(crate) struct Element {
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
}

impl Element {
    fn display_name(&self) -> String {
        match self.namespace.as_deref() {
            Some(XDOMEA_NS) => format!("xdomea:{}", self.name),
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

pub(crate) fn parse(xml: &[u8], limits: &ReadLimits) -> Result<Element, ReadError> {
    refuse_doctype(xml)?;
    if xml.starts_with(&[0xFE, 0xFF]) || xml.starts_with(&[0xFF, 0xFE]) {
        return Err(ReadError::NotUtf8("UTF-16 byte order mark".to_owned()));
    }
    let xml = xml.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(xml);
    let text = std::str::from_utf8(xml).map_err(|e| ReadError::NotUtf8(e.to_string()))?;
    let mut reader = NsReader::from_str(text);
    let malformed = |reader: &NsReader<&[u8]>, message: String| ReadError::Malformed {
        position: reader.buffer_position(),
        message,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let step = reader
            .read_resolved_event()
            .map(|(resolved, event)| (owned_namespace(resolved), event))
            .map_err(|e| e.to_string());
        let (namespace, event) = match step {
            Ok(step) => step,
            Err(message) => return Err(malformed(&reader, message)),
        };
        let namespace = match namespace {
            Ok(namespace) => namespace,
            Err(prefix) => {
                return Err(malformed(&reader, format!("namespace prefix {prefix:?} is not declared")));
            }
        };
        let is_empty = matches!(&event, Event::Empty(_));
        match event {
            Event::DocType(_) => return Err(ReadError::Doctype),
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if encoding != "utf-8" && encoding != "utf8" {
                        return Err(ReadError::NotUtf8(format!("declared encoding {encoding}")));
                    }
                }
            }
            Event::Start(start) | Event::Empty(start) => {
                if root.is_some() {
                    return Err(malformed(&reader, "content after the root element".to_owned()));
                }
                elements += 1;
                if elements > limits.max_elements {
                    return Err(ReadError::TooManyElements { limit: limits.max_elements });
                }
                if stack.len() >= limits.max_depth {
                    return Err(ReadError::TooDeep { limit: limits.max_depth });
                }
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| malformed(&reader, e.to_string()))?;
                    let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        continue;
                    }
                    let value = attribute.unescape_value().map_err(|e| malformed(&reader, e.to_string()))?;
                    attributes.push((key, value.into_owned()));
                }
                let element = Element {
                    namespace,
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    attributes,
                    children: Vec::new(),
                    text: String::new(),
                };
                stack.push(element);
                if is_empty {
                    close(&mut stack, &mut root);
                }
            }
            Event::End(_) => close(&mut stack, &mut root),
            Event::Text(t) => {
                let t = t.decode().map_err(|e| malformed(&reader, e.to_string()))?;
                push_text(&mut stack, &t, &reader)?;
            }
            Event::CData(t) => {
                let t = t.decode().map_err(|e| malformed(&reader, e.to_string()))?;
                push_text(&mut stack, &t, &reader)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| malformed(&reader, e.to_string()))? {
                    Some(c) => c,
                    None => match r.decode().map_err(|e| malformed(&reader, e.to_string()))?.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => {
                            return Err(malformed(
                                &reader,
                                format!("entity &{other}; is not declared (no DTD is accepted)"),
                            ));
                        }
                    },
                };
                push_text(&mut stack, resolved.encode_utf8(&mut [0; 4]), &reader)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(&reader, "the document ends inside an element".to_owned()));
    }
    root.ok_or_else(|| malformed(&reader, "no root element".to_owned()))
}

fn owned_namespace(resolved: ResolveResult<'_>) -> Result<Option<String>, String> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.into_inner()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(String::from_utf8_lossy(&prefix).into_owned()),
    }
}

fn close(stack: &mut Vec<Element>, root: &mut Option<Element>) {
    if let Some(element) = stack.pop() {
        match stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => *root = Some(element),
        }
    }
}

fn push_text(stack: &mut [Element], text: &str, reader: &NsReader<&[u8]>) -> Result<(), ReadError> {
    match stack.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => {
            return Err(ReadError::Malformed {
                position: reader.buffer_position(),
                message: "text outside the root element".to_owned(),
            });
        }
    }
    Ok(())
}

/// Refuses a DOCTYPE before any parser sees the message: no entity can then be declared, expanded or
/// fetched. A literal "<!DOCTYPE" anywhere (even in a comment) is refused; xdomea messages never need one.
pub(crate) fn refuse_doctype(xml: &[u8]) -> Result<(), ReadError> {
    if contains_ignore_ascii_case(xml, b"<!DOCTYPE") { Err(ReadError::Doctype) } else { Ok(()) }
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}

pub(crate) fn check_root(root: &Element, typ: Nachrichtentyp) -> Result<(), ReadError> {
    let expected = typ.root_element();
    if root.namespace.as_deref() != Some(XDOMEA_NS) || root.name != expected {
        return Err(ReadError::WrongRoot { expected, found: root.display_name() });
    }
    Ok(())
}

/// Checks that the children of `element` follow the sequence `spec` (name, min, max), all in the xdomea
/// namespace, nothing else; returns them grouped by the spec's entries.
pub(crate) fn sequence<'e>(
    element: &'e Element,
    path: &str,
    spec: &[(&str, usize, usize)],
) -> Result<Vec<Vec<&'e Element>>, ReadError> {
    if !element.text.trim().is_empty() {
        return Err(ReadError::InvalidValue {
            path: path.to_owned(),
            message: format!("text {:?} is not allowed here, only elements", element.text.trim()),
        });
    }
    let mut groups: Vec<Vec<&Element>> = vec![Vec::new(); spec.len()];
    let mut at = 0;
    for child in &element.children {
        let matches = |(name, _, _): &(&str, usize, usize)| {
            child.namespace.as_deref() == Some(XDOMEA_NS) && child.name == *name
        };
        let next = (at..spec.len()).find(|&p| matches(&spec[p]) && groups[p].len() < spec[p].2);
        let Some(next) = next else {
            let expected: Vec<String> =
                spec[at..].iter().map(|(name, _, _)| format!("xdomea:{name}")).collect();
            return Err(ReadError::UnexpectedElement {
                path: path.to_owned(),
                found: child.display_name(),
                expected: if expected.is_empty() { "nothing more".to_owned() } else { expected.join(" or ") },
            });
        };
        for skipped in at..next {
            if groups[skipped].len() < spec[skipped].1 {
                return Err(ReadError::MissingElement {
                    path: path.to_owned(),
                    missing: format!("xdomea:{}", spec[skipped].0),
                });
            }
        }
        at = next;
        groups[at].push(child);
    }
    for (index, (name, min, _)) in spec.iter().enumerate().skip(at) {
        if groups[index].len() < *min {
            return Err(ReadError::MissingElement {
                path: path.to_owned(),
                missing: format!("xdomea:{name}"),
            });
        }
    }
    Ok(groups)
}

/// The text of an element that must have no children.
pub(crate) fn leaf_text<'e>(element: &'e Element, path: &str) -> Result<&'e str, ReadError> {
    if let Some(child) = element.children.first() {
        return Err(ReadError::UnexpectedElement {
            path: path.to_owned(),
            found: child.display_name(),
            expected: "text only".to_owned(),
        });
    }
    Ok(element.text.trim())
}

pub(crate) fn uuid(element: &Element, path: &str) -> Result<Uuid, ReadError> {
    let text = leaf_text(element, path)?;
    // Exactly the 8-4-4-4-12 hyphenated form the schema's pattern means (it also lets `|` through).
    let well_formed = text.len() == 36
        && text
            .char_indices()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    match Uuid::parse_str(text) {
        Ok(id) if well_formed => Ok(id),
        _ => Err(ReadError::MalformedUuid { path: path.to_owned(), value: text.to_owned() }),
    }
}

pub(crate) fn boolean(element: &Element, path: &str) -> Result<bool, ReadError> {
    match leaf_text(element, path)? {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        other => Err(ReadError::InvalidValue {
            path: path.to_owned(),
            message: format!("{other:?} is not a boolean (true, false, 1, 0)"),
        }),
    }
}

/// The `code` of a code element; checks `listURI`/`listVersionID` against the fixed values when given.
pub(crate) fn code_value(
    element: &Element,
    path: &str,
    list_uri: &str,
    list_version: &str,
) -> Result<String, ReadError> {
    for (key, value) in &element.attributes {
        let expected = match key.as_str() {
            "listURI" => list_uri,
            "listVersionID" => list_version,
            other => {
                return Err(ReadError::InvalidValue {
                    path: path.to_owned(),
                    message: format!("attribute {other} is not allowed on a code element"),
                });
            }
        };
        if !expected.is_empty() && value != expected {
            return Err(ReadError::InvalidValue {
                path: path.to_owned(),
                message: format!("{key} is {value:?}, the schema fixes it to {expected:?}"),
            });
        }
    }
    let mut code = None;
    for (index, child) in element.children.iter().enumerate() {
        match (child.namespace.as_deref(), child.name.as_str(), index) {
            (None, "code", 0) => code = Some(leaf_text(child, &format!("{path}/code"))?.to_owned()),
            (None, "name", 1) => {
                leaf_text(child, &format!("{path}/name"))?;
            }
            _ => {
                return Err(ReadError::UnexpectedElement {
                    path: path.to_owned(),
                    found: child.display_name(),
                    expected: "code, then optionally name (both without namespace)".to_owned(),
                });
            }
        }
    }
    code.ok_or_else(|| ReadError::MissingElement { path: path.to_owned(), missing: "code".to_owned() })
}

/// The Kopf: `NkBasisType`, plus `Empfangsbestaetigung` for the 0502.
pub(crate) fn kopf(
    element: &Element,
    typ: Nachrichtentyp,
    path: &str,
) -> Result<(KopfGelesen, Option<bool>), ReadError> {
    let mut spec = vec![
        ("ProzessID", 1, 1),
        ("Nachrichtentyp", 1, 1),
        ("Erstellungszeitpunkt", 1, 1),
        ("Absender", 1, 1),
        ("Empfaenger", 1, 1),
        ("SendendesSystem", 0, 1),
        ("Hinweis", 0, 1),
        ("AnwendungsspezifischeErweiterung", 0, 1),
        ("AnwendungsspezifischeErweiterungXML", 0, 1),
    ];
    let with_receipt =
        matches!(typ, Nachrichtentyp::Bewertungsverzeichnis0502 | Nachrichtentyp::Aussonderung0503);
    if typ == Nachrichtentyp::Aussonderung0503 {
        spec.push(("Importbestaetigung", 1, 1));
        spec.push(("RueckmeldungArchivkennung", 1, 1));
    }
    if with_receipt {
        spec.push(("Empfangsbestaetigung", 1, 1));
    }
    let parts = sequence(element, path, &spec)?;
    let prozess_id = uuid(parts[0][0], &format!("{path}/ProzessID"))?;
    let code = code_value(
        parts[1][0],
        &format!("{path}/Nachrichtentyp"),
        Nachrichtentyp::LIST_URI,
        Nachrichtentyp::LIST_VERSION,
    )?;
    if code != typ.code() {
        return Err(ReadError::WrongMessageType { expected: typ.code(), found: code });
    }
    let zeitpunkt_path = format!("{path}/Erstellungszeitpunkt");
    let erstellungszeitpunkt = leaf_text(parts[2][0], &zeitpunkt_path)?.to_owned();
    let valid_time = chrono::DateTime::parse_from_rfc3339(&erstellungszeitpunkt).is_ok()
        || chrono::NaiveDateTime::parse_from_str(&erstellungszeitpunkt, "%Y-%m-%dT%H:%M:%S%.f").is_ok();
    if !valid_time {
        return Err(ReadError::InvalidValue {
            path: zeitpunkt_path,
            message: format!("{erstellungszeitpunkt:?} is not an xs:dateTime"),
        });
    }
    let absender = kontakt(parts[3][0], &format!("{path}/Absender"))?;
    let empfaenger = kontakt(parts[4][0], &format!("{path}/Empfaenger"))?;
    let empfangsbestaetigung = if with_receipt {
        let last = parts.len() - 1;
        Some(boolean(parts[last][0], &format!("{path}/Empfangsbestaetigung"))?)
    } else {
        None
    };
    Ok((KopfGelesen { prozess_id, erstellungszeitpunkt, absender, empfaenger }, empfangsbestaetigung))
}

/// A `KontaktType`: checks the element sequence; returns `Institution/Name`.
fn kontakt(element: &Element, path: &str) -> Result<Option<String>, ReadError> {
    let parts = sequence(
        element,
        path,
        &[
            ("Behoerdenkennung", 0, 1),
            ("Institution", 0, 1),
            ("Organisationseinheit", 0, 1),
            ("Name", 0, 1),
            ("Taetigkeit", 0, 1),
            ("Zustaendigkeit", 0, 1),
            ("Anschrift", 0, usize::MAX),
            ("Kommunikation", 0, usize::MAX),
            ("Rolle", 0, 1),
            ("UnstrukturierteAnschrift", 0, usize::MAX),
            ("Geburt", 0, 1),
        ],
    )?;
    let Some(institution) = parts[1].first() else {
        return Ok(None);
    };
    let path = format!("{path}/Institution");
    let names = sequence(institution, &path, &[("Name", 0, 1), ("Kurzbezeichnung", 0, 1)])?;
    match names[0].first() {
        Some(name) => Ok(Some(leaf_text(name, &format!("{path}/Name"))?.to_owned())),
        None => Ok(None),
    }
}
