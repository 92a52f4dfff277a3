//! The readers: real-looking 0502/0506 (bare and zipped) parse into typed results; hostile and wrong
//! input is refused with a precise error before anything is returned.

use std::io::Write;

use registratur_xdomea::zip::{Method, ZipStreamWriter};
use registratur_xdomea::{
    Bewertungsentscheidung, MessageReader, ReadError, ReadLimits, XsdSetupError, XsdValidator, ZipReadError,
    read_aussonderung_import_bestaetigen_0506, read_bewertungsverzeichnis_0502,
};
use uuid::Uuid;

use crate::support::{fixture, xmllint};

const BEWERTUNG: &str = "bewertung.Aussonderung.Bewertungsverzeichnis.0502.xml";
const IMPORT: &str = "import.Aussonderung.AussonderungImportBestaetigen.0506.xml";

fn bewertung_text() -> String {
    String::from_utf8(fixture(BEWERTUNG)).expect("utf-8 fixture")
}

fn read_0502(xml: &[u8]) -> Result<registratur_xdomea::Bewertung, ReadError> {
    read_bewertungsverzeichnis_0502(xml, &ReadLimits::default())
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipStreamWriter::new(Vec::new(), chrono::NaiveDateTime::default());
    for (name, content) in entries {
        zip.start_entry(name, Method::Deflated { level: 6 }).expect("entry");
        zip.write_all(content).expect("content");
        zip.finish_entry().expect("finish entry");
    }
    zip.finish().expect("finish zip").0
}

/// Overwrites the uncompressed size in the (first) central directory record.
fn patch_declared_size(zip: &mut [u8], size: u32) {
    let at = zip.windows(4).position(|w| w == b"PK\x01\x02").expect("central directory record");
    zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
}

#[test]
fn the_fixtures_validate_against_the_xsd() {
    for name in [BEWERTUNG, IMPORT] {
        crate::support::assert_valid(&fixture(name), name);
    }
}

#[test]
fn a_real_looking_0502_parses_bare_and_zipped() {
    let expected_process = Uuid::parse_str("3f2a1c9e-6b7d-4e21-9a0f-2c5d8e7b1a40").expect("uuid");
    let expected = vec![
        (
            Uuid::parse_str("7d9e4b52-1f3a-4c8b-b6e0-5a2d9c1f7e03").expect("uuid"),
            Bewertungsentscheidung::Archivieren,
        ),
        (
            Uuid::parse_str("0b8f2e61-94c7-4d3a-8e15-c6a07d2b9f18").expect("uuid"),
            Bewertungsentscheidung::Vernichten,
        ),
        (
            Uuid::parse_str("c41a7f3d-2e9b-4b06-a8d5-93e1f0b62c7a").expect("uuid"),
            Bewertungsentscheidung::Archivieren,
        ),
    ];
    let bare = read_0502(&fixture(BEWERTUNG)).expect("0502 parses");
    assert_eq!(bare.prozess_id(), expected_process);
    assert_eq!(bare.objekte, expected);
    assert!(bare.empfangsbestaetigung);
    assert_eq!(bare.kopf.absender.as_deref(), Some("Landesarchiv Nordrhein-Westfalen"));
    assert_eq!(bare.kopf.empfaenger.as_deref(), Some("Kreis Musterstadt"));

    let zipped = zip_of(&[(
        "3f2a1c9e-6b7d-4e21-9a0f-2c5d8e7b1a40_Aussonderung.Bewertungsverzeichnis.0502.xml",
        &fixture(BEWERTUNG),
    )]);
    assert_eq!(read_0502(&zipped).expect("zipped 0502 parses"), bare);
}

#[test]
fn a_real_looking_0506_parses() {
    let confirmation = read_aussonderung_import_bestaetigen_0506(&fixture(IMPORT), &ReadLimits::default())
        .expect("0506 parses");
    assert_eq!(confirmation.kopf.prozess_id.to_string(), "3f2a1c9e-6b7d-4e21-9a0f-2c5d8e7b1a40");
    assert_eq!(confirmation.objekte.len(), 2);
    let ok = &confirmation.objekte[0];
    assert_eq!(ok.id.to_string(), "7d9e4b52-1f3a-4c8b-b6e0-5a2d9c1f7e03");
    assert!(ok.erfolgreich);
    assert_eq!(ok.archivkennung.as_deref(), Some("LAV NRW R, BR 3017 Nr. 1542"));
    let failed = &confirmation.objekte[1];
    assert!(!failed.erfolgreich, "'false' reads as false");
    assert_eq!(failed.archivkennung, None);
    assert_eq!(
        failed.fehlermeldungen,
        vec!["Primärdokument c41a7f3d-…_Bescheid.pdf: Prüfsumme weicht ab & Datei ist kein PDF/A".to_owned()]
    );
}

#[test]
fn entity_bombs_and_external_entities_are_refused_before_parsing() {
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n \
        <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n \
        <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n\
        <xdomea:Aussonderung.Bewertungsverzeichnis.0502 xmlns:xdomea=\"urn:xoev-de:xdomea:schema:3.0.0\">&lol3;</xdomea:Aussonderung.Bewertungsverzeichnis.0502>";
    assert!(matches!(read_0502(laughs.as_bytes()), Err(ReadError::Doctype)));

    let xxe = bewertung_text().replacen(
        "<xdomea:Aussonderung.Bewertungsverzeichnis.0502",
        "<!DOCTYPE x [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<xdomea:Aussonderung.Bewertungsverzeichnis.0502",
        1,
    );
    let xxe = xxe.replacen("<code>A</code>", "<code>&x;</code>", 1);
    assert!(matches!(read_0502(xxe.as_bytes()), Err(ReadError::Doctype)));
    let lower = xxe.replace("<!DOCTYPE", "<!doctype");
    assert!(matches!(read_0502(lower.as_bytes()), Err(ReadError::Doctype)));
    // Zipped, the same is refused the same way.
    assert!(matches!(read_0502(&zip_of(&[("m.xml", xxe.as_bytes())])), Err(ReadError::Doctype)));

    // An entity reference without any DTD is undeclared: refused, not expanded or left in.
    let undeclared = bewertung_text().replacen("<code>A</code>", "<code>&x;</code>", 1);
    let error = read_0502(undeclared.as_bytes()).expect_err("undeclared entity");
    assert!(matches!(error, ReadError::Malformed { .. }) && error.to_string().contains("&x;"), "{error}");
}

#[test]
fn malformed_xml_and_wrong_messages_are_refused_precisely() {
    let truncated = &bewertung_text()[..600];
    assert!(matches!(read_0502(truncated.as_bytes()), Err(ReadError::Malformed { .. })));
    let mismatched = bewertung_text().replacen("</xdomea:ProzessID>", "</xdomea:ProzessId>", 1);
    assert!(matches!(read_0502(mismatched.as_bytes()), Err(ReadError::Malformed { .. })));
    assert!(matches!(read_0502(b"not xml at all"), Err(ReadError::Malformed { .. })));
    assert!(matches!(read_0502(&[0xFF, 0xFE, b'<', 0]), Err(ReadError::NotUtf8(_))));

    // A 0506 handed to the 0502 reader: wrong root.
    match read_0502(&fixture(IMPORT)) {
        Err(ReadError::WrongRoot { expected, found }) => {
            assert_eq!(expected, "Aussonderung.Bewertungsverzeichnis.0502");
            assert_eq!(found, "xdomea:Aussonderung.AussonderungImportBestaetigen.0506");
        }
        other => panic!("expected WrongRoot, got {other:?}"),
    }
    // The right root with another Nachrichtentyp code (the XSD does not catch this one).
    let wrong_code = bewertung_text().replacen("<code>0502</code>", "<code>0506</code>", 1);
    assert!(xmllint(wrong_code.as_bytes()).is_ok(), "the XSD accepts it; the reader must not");
    assert!(matches!(
        read_0502(wrong_code.as_bytes()),
        Err(ReadError::WrongMessageType { expected: "0502", ref found }) if found == "0506"
    ));
    // The right local name in another namespace.
    let wrong_namespace =
        bewertung_text().replace("urn:xoev-de:xdomea:schema:3.0.0", "urn:xoev-de:xdomea:schema:2.4.0");
    assert!(matches!(read_0502(wrong_namespace.as_bytes()), Err(ReadError::WrongRoot { .. })));
    // A wrong fixed listVersionID.
    let wrong_list = bewertung_text().replacen("listVersionID=\"2.0\"", "listVersionID=\"1.0\"", 1);
    assert!(matches!(read_0502(wrong_list.as_bytes()), Err(ReadError::InvalidValue { .. })));
}

#[test]
fn unknown_missing_and_out_of_order_elements_are_refused_where_the_schema_forbids_them() {
    let unknown = bewertung_text().replacen(
        "</xdomea:ID>",
        "</xdomea:ID>\n    <xdomea:Kommentar>nebenbei</xdomea:Kommentar>",
        1,
    );
    assert!(xmllint(unknown.as_bytes()).is_err(), "the XSD forbids it too");
    match read_0502(unknown.as_bytes()) {
        Err(ReadError::UnexpectedElement { path, found, .. }) => {
            assert_eq!(path, "Aussonderung.Bewertungsverzeichnis.0502/BewertetesObjekt[1]");
            assert_eq!(found, "xdomea:Kommentar");
        }
        other => panic!("expected UnexpectedElement, got {other:?}"),
    }
    let foreign =
        bewertung_text().replacen("</xdomea:Kopf>", "<x:y xmlns:x=\"urn:other\"/></xdomea:Kopf>", 1);
    assert!(matches!(read_0502(foreign.as_bytes()), Err(ReadError::UnexpectedElement { .. })));

    let missing =
        bewertung_text().replace("<xdomea:Empfangsbestaetigung>true</xdomea:Empfangsbestaetigung>", "");
    assert!(xmllint(missing.as_bytes()).is_err());
    match read_0502(missing.as_bytes()) {
        Err(ReadError::MissingElement { path, missing }) => {
            assert_eq!(
                (path.as_str(), missing.as_str()),
                ("Aussonderung.Bewertungsverzeichnis.0502/Kopf", "xdomea:Empfangsbestaetigung")
            );
        }
        other => panic!("expected MissingElement, got {other:?}"),
    }
    let no_objects = {
        let text = bewertung_text();
        let start = text.find("<xdomea:BewertetesObjekt>").expect("object");
        let end = text.rfind("</xdomea:BewertetesObjekt>").expect("object end")
            + "</xdomea:BewertetesObjekt>".len();
        format!("{}{}", &text[..start], &text[end..])
    };
    assert!(matches!(read_0502(no_objects.as_bytes()), Err(ReadError::MissingElement { .. })));
    let swapped = bewertung_text().replacen(
        "<xdomea:Erstellungszeitpunkt>2026-03-02T09:15:00+01:00</xdomea:Erstellungszeitpunkt>",
        "",
        1,
    );
    assert!(matches!(read_0502(swapped.as_bytes()), Err(ReadError::MissingElement { .. })));
}

#[test]
fn duplicate_and_malformed_uuids_and_undecided_appraisals_are_refused() {
    // The same UUID in other letter case is the same object.
    let duplicate = bewertung_text().replacen(
        "c41a7f3d-2e9b-4b06-a8d5-93e1f0b62c7a",
        "7D9E4B52-1F3A-4C8B-B6E0-5A2D9C1F7E03",
        1,
    );
    assert!(
        matches!(read_0502(duplicate.as_bytes()), Err(ReadError::DuplicateUuid(id)) if id.to_string() == "7d9e4b52-1f3a-4c8b-b6e0-5a2d9c1f7e03")
    );
    // The XSD pattern lets '|' through; the reader does not.
    let piped = bewertung_text().replacen("5a2d9c1f7e03", "5a2d9c1f7e0|", 1);
    assert!(xmllint(piped.as_bytes()).is_ok(), "the XSD's UUID pattern is loose");
    assert!(matches!(read_0502(piped.as_bytes()), Err(ReadError::MalformedUuid { .. })));
    let short = bewertung_text().replacen("5a2d9c1f7e03", "5a2d9c1f", 1);
    assert!(matches!(read_0502(short.as_bytes()), Err(ReadError::MalformedUuid { .. })));
    let undecided = bewertung_text().replacen("<code>V</code>", "<code>B</code>", 1);
    assert!(matches!(read_0502(undecided.as_bytes()), Err(ReadError::UndecidedAppraisal { .. })));

    let import = String::from_utf8(fixture(IMPORT)).expect("utf-8");
    let bad_boolean = import.replacen(
        "<xdomea:Erfolgreich>1</xdomea:Erfolgreich>",
        "<xdomea:Erfolgreich>ja</xdomea:Erfolgreich>",
        1,
    );
    assert!(matches!(
        read_aussonderung_import_bestaetigen_0506(bad_boolean.as_bytes(), &ReadLimits::default()),
        Err(ReadError::InvalidValue { .. })
    ));
    let twice =
        import.replacen("c41a7f3d-2e9b-4b06-a8d5-93e1f0b62c7a", "7d9e4b52-1f3a-4c8b-b6e0-5a2d9c1f7e03", 1);
    assert!(matches!(
        read_aussonderung_import_bestaetigen_0506(twice.as_bytes(), &ReadLimits::default()),
        Err(ReadError::DuplicateUuid(_))
    ));
}

#[test]
fn hostile_zips_are_refused() {
    let message = fixture(BEWERTUNG);
    for name in ["../evil.xml", "a/../../evil.xml", "/etc/evil.xml", "C:/evil.xml", "a\\..\\evil.xml"] {
        let zip = zip_of(&[(name, &message)]);
        match read_0502(&zip) {
            Err(ReadError::Zip(ZipReadError::UnsafeName(refused))) => assert_eq!(refused, name),
            other => panic!("{name}: expected UnsafeName, got {other:?}"),
        }
    }
    // An unsafe name is refused even when it is not the XML entry.
    let zip = zip_of(&[("m.xml", &message), ("../evil", b"x")]);
    assert!(matches!(read_0502(&zip), Err(ReadError::Zip(ZipReadError::UnsafeName(_)))));

    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}.txt"), vec![b'x'])).collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    assert!(matches!(
        read_0502(&zip_of(&many)),
        Err(ReadError::Zip(ZipReadError::TooManyEntries { count: 20, .. }))
    ));
    assert!(matches!(
        read_0502(&zip_of(&[("a.xml", &message), ("b.xml", &message)])),
        Err(ReadError::Zip(ZipReadError::XmlEntryCount(2)))
    ));

    // A zip bomb: a small zip whose XML inflates to 8 MiB of whitespace, against a 1 MiB limit.
    let limits = ReadLimits { max_xml_bytes: 1024 * 1024, ..ReadLimits::default() };
    let text = bewertung_text();
    let padded = text.replacen("<xdomea:Kopf>", &format!("<xdomea:Kopf>{}", " ".repeat(8 * 1024 * 1024)), 1);
    let bomb = zip_of(&[("m.xml", padded.as_bytes())]);
    assert!(bomb.len() < 64 * 1024, "the bomb is small: {} bytes", bomb.len());
    assert!(matches!(
        read_bewertungsverzeichnis_0502(&bomb, &limits),
        Err(ReadError::Zip(ZipReadError::DeclaredTooLarge { size, .. })) if size == padded.len() as u64
    ));
    // The same bomb lying about its size: inflation stops at the limit.
    let mut liar = bomb.clone();
    patch_declared_size(&mut liar, 1000);
    assert!(matches!(
        read_bewertungsverzeichnis_0502(&liar, &limits),
        Err(ReadError::Zip(ZipReadError::InflatesTooLarge { .. }))
    ));
    // A huge declared size on a small entry.
    let mut huge = zip_of(&[("m.xml", &message)]);
    patch_declared_size(&mut huge, 0xFFFF_0000);
    assert!(matches!(read_0502(&huge), Err(ReadError::Zip(ZipReadError::DeclaredTooLarge { .. }))));
    // A declared size that is merely wrong.
    let mut wrong = zip_of(&[("m.xml", &message)]);
    patch_declared_size(&mut wrong, 10);
    assert!(matches!(read_0502(&wrong), Err(ReadError::Zip(ZipReadError::SizeMismatch { .. }))));
    // Input over the size limit is refused before it is looked at.
    let tiny = ReadLimits { max_input_bytes: 100, ..ReadLimits::default() };
    assert!(matches!(read_bewertungsverzeichnis_0502(&message, &tiny), Err(ReadError::TooLarge { .. })));
    // Deep nesting.
    let deep = text.replacen(
        "</xdomea:Kopf>",
        &format!("{}{}</xdomea:Kopf>", "<xdomea:Hinweis>".repeat(100), "</xdomea:Hinweis>".repeat(100)),
        1,
    );
    assert!(matches!(read_0502(deep.as_bytes()), Err(ReadError::TooDeep { limit: 32 })));
}

#[test]
fn the_message_reader_adds_xsd_validation_in_process() {
    let reader = MessageReader::new(ReadLimits::default()).expect("schemas load");
    let bewertung = reader.read_bewertungsverzeichnis_0502(&fixture(BEWERTUNG)).expect("valid 0502");
    assert_eq!(bewertung, read_0502(&fixture(BEWERTUNG)).expect("structural reader"));
    let zipped = zip_of(&[("x_Aussonderung.AussonderungImportBestaetigen.0506.xml", &fixture(IMPORT))]);
    let import = reader.read_aussonderung_import_bestaetigen_0506(&zipped).expect("valid zipped 0506");
    assert_eq!(import.objekte.len(), 2);

    // Inside the sender's system description the structural check does not look; the XSD does.
    let odd = bewertung_text().replacen(
        "<xdomea:Produktname>",
        "<xdomea:Seriennummer>42</xdomea:Seriennummer><xdomea:Produktname>",
        1,
    );
    assert!(read_0502(odd.as_bytes()).is_ok(), "the structural check passes it");
    assert!(xmllint(odd.as_bytes()).is_err());
    match reader.read_bewertungsverzeichnis_0502(odd.as_bytes()) {
        Err(ReadError::SchemaInvalid { messages }) => {
            assert!(messages.iter().any(|m| m.contains("Seriennummer")), "{messages:?}")
        }
        other => panic!("expected SchemaInvalid, got {other:?}"),
    }
    // A hostile message never reaches libxml2.
    let xxe = bewertung_text().replacen(
        "<xdomea:Aussonderung.Bewertungsverzeichnis.0502",
        "<!DOCTYPE x [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<xdomea:Aussonderung.Bewertungsverzeichnis.0502",
        1,
    );
    assert!(matches!(reader.read_bewertungsverzeichnis_0502(xxe.as_bytes()), Err(ReadError::Doctype)));
    let validator = XsdValidator::embedded().expect("schemas load");
    assert!(matches!(validator.validate(xxe.as_bytes()), Err(ReadError::Doctype)));
    // A directory without the schemas is refused at setup.
    let empty = tempfile::tempdir().expect("temp dir");
    assert!(matches!(XsdValidator::from_dir(empty.path()), Err(XsdSetupError::NotASchemaDirectory(_))));
    let shipped =
        XsdValidator::from_dir(&crate::support::schema_dir().join("..")).expect("the crate's schema dir");
    shipped.validate(&fixture(IMPORT)).expect("0506 validates");
}

mod never_panics {
    //! Damaged input of every kind gets an error or a result, never a panic or a hang.

    use proptest::prelude::*;
    use registratur_xdomea::{
        ReadLimits, read_aussonderung_import_bestaetigen_0506, read_bewertungsverzeichnis_0502,
    };

    use super::{BEWERTUNG, IMPORT, zip_of};
    use crate::support::fixture;

    /// Applies (position, byte) edits: overwrite, or insert when the byte is odd.
    fn damage(mut bytes: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
        for &(position, byte) in edits {
            let at = position % (bytes.len() + 1);
            if byte % 2 == 1 || at == bytes.len() {
                bytes.insert(at, byte);
            } else {
                bytes[at] = byte;
            }
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn damaged_xml(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let limits = ReadLimits::default();
            let _ = read_bewertungsverzeichnis_0502(&damage(fixture(BEWERTUNG), &edits), &limits);
            let _ = read_aussonderung_import_bestaetigen_0506(&damage(fixture(IMPORT), &edits), &limits);
        }

        #[test]
        fn damaged_zip(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let zip = zip_of(&[("m.xml", &fixture(BEWERTUNG))]);
            let _ = read_bewertungsverzeichnis_0502(&damage(zip, &edits), &ReadLimits::default());
        }
    }
}
