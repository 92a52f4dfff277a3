//! The writers: every message validates against the XSDs (xmllint), text survives escaping, UUIDs agree
//! between 0501 and 0503, bad input is refused.

use std::process::Command;

use registratur_xdomea::{
    AnbieteverzeichnisWriter, AussonderungWriter, Dateiformat, Schriftgutobjekt, WriteError,
    write_anbietung_empfang_bestaetigen_0504, write_aussonderung_empfang_bestaetigen_0507,
    write_bewertung_empfang_bestaetigen_0505,
};

use crate::support::{akten, assert_valid, dokument, ids, kopf, xmllint};

fn write_0501(objects: &[Schriftgutobjekt]) -> Vec<u8> {
    let mut writer = AnbieteverzeichnisWriter::new(Vec::new(), &kopf()).expect("start 0501");
    for object in objects {
        writer.write(object).expect("write object");
    }
    writer.finish().expect("finish 0501")
}

fn write_0503_xml(objects: &[Schriftgutobjekt]) -> Vec<u8> {
    let mut writer = AussonderungWriter::new(Vec::new(), &kopf()).expect("start 0503");
    for object in objects {
        writer.write(object).expect("write object");
    }
    writer.finish().expect("finish 0503").0
}

#[test]
fn anbieteverzeichnis_0501_validates_against_the_xsd() {
    let xml = write_0501(&akten());
    assert_valid(&xml, "0501");
    let text = String::from_utf8(xml).expect("utf-8");
    assert!(text.contains(
        "<xdomea:Aussonderung.Anbieteverzeichnis.0501 xmlns:xdomea=\"urn:xoev-de:xdomea:schema:3.0.0\">"
    ));
    assert!(text.contains("<code>0501</code>"));
    assert!(text.contains("<xdomea:Unbefristet>1</xdomea:Unbefristet>"), "unlimited retention is written");
    assert!(text.contains("<xdomea:AnzahlJahre>10</xdomea:AnzahlJahre>"));
    assert!(text.contains("<xdomea:ZdADatum>2015-12-01</xdomea:ZdADatum>"));
    assert!(!text.contains("<xdomea:Version>\n"), "the offer carries no primary documents");
    assert!(!text.contains("Primaerdokument"));
}

#[test]
fn aussonderung_0503_xml_validates_and_references_every_file() {
    let objects = akten();
    let mut writer = AussonderungWriter::new(Vec::new(), &kopf()).expect("start 0503");
    for object in &objects {
        writer.write(object).expect("write object");
    }
    let (xml, files) = writer.finish().expect("finish");
    assert_valid(&xml, "0503");
    let text = String::from_utf8(xml).expect("utf-8");
    // 8 Dokumente with 1 + 2 + 1 + 1 + 1 + 3 + 1 + 1 = 11 versions, two files each.
    assert_eq!(files.len(), 22);
    for file in &files {
        assert!(file.dateiname.starts_with(&format!("{}_", file.datei_id)), "{}", file.dateiname);
        assert!(text.contains(&format!("<xdomea:Dateiname>{}</xdomea:Dateiname>", file.dateiname)));
    }
    assert!(files.iter().any(|f| f.dateiname.ends_with("_Antrag_Mueller.pdf")), "umlauts transliterated");
    assert!(text.contains("<xdomea:DateinameOriginal>Antrag Müller.pdf</xdomea:DateinameOriginal>"));
    assert!(text.contains("<xdomea:Importbestaetigung>1</xdomea:Importbestaetigung>"));
    // PDF/A renditions carry code 044, the .tif 023, PNG 019, JPEG 011, text 045, XML 030, DOCX 035, PDF 018.
    for code in ["044", "023", "019", "011", "045", "030", "035", "018"] {
        assert!(text.contains(&format!("<code>{code}</code>")), "Dateiformat {code} written");
    }
}

#[test]
fn receipts_0504_0505_0507_validate() {
    let a = write_anbietung_empfang_bestaetigen_0504(Vec::new(), &kopf()).expect("0504");
    let b = write_bewertung_empfang_bestaetigen_0505(Vec::new(), &kopf()).expect("0505");
    let c = write_aussonderung_empfang_bestaetigen_0507(Vec::new(), &kopf()).expect("0507");
    assert_valid(&a, "0504");
    assert_valid(&b, "0505");
    assert_valid(&c, "0507");
    assert!(String::from_utf8_lossy(&b).contains("<code>0505</code>"));
}

#[test]
fn a_dokument_or_vorgang_alone_is_a_valid_schriftgutobjekt() {
    let objects = vec![Schriftgutobjekt::Dokument(dokument("lose", "Einzeldokument", 2, "scan.tiff"))];
    assert_valid(&write_0501(&objects), "0501 with a Dokument");
    assert_valid(&write_0503_xml(&objects), "0503 with a Dokument");
}

#[test]
fn titles_with_umlauts_ampersands_and_angle_brackets_survive_the_round_trip() {
    let xml = write_0501(&akten());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("0501.xml");
    std::fs::write(&file, &xml).expect("write");
    // An independent parser (Python's ElementTree) reads the Betreff values back.
    let script = "import sys, xml.etree.ElementTree as ET\n\
        ns={'x':'urn:xoev-de:xdomea:schema:3.0.0'}\n\
        r=ET.parse(sys.argv[1]).getroot()\n\
        print('\\n'.join(e.text for e in r.iterfind('.//x:Betreff', ns)))";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs (install python3)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let betreffs = String::from_utf8(output.stdout).expect("utf-8");
    assert!(betreffs.lines().any(|l| l == "Bauantrag Müller & Söhne <Neubau> Straße 5"), "{betreffs}");
    assert!(betreffs.lines().any(|l| l == "Antragsprüfung <Teil 1>"), "{betreffs}");
    assert!(betreffs.lines().any(|l| l == "Personalakte Öztürk"), "{betreffs}");
}

#[test]
fn object_uuids_are_the_same_in_0501_and_0503() {
    let objects = akten();
    let offer = ids(&write_0501(&objects));
    let handover = ids(&write_0503_xml(&objects));
    assert_eq!(offer.len(), 14, "2 Akten + 1 Teilakte + 3 Vorgänge + 8 Dokumente: {offer:?}");
    assert_eq!(offer, handover);
    // And stable across runs: the same input gives the same bytes.
    assert_eq!(write_0501(&objects), write_0501(&akten()));
}

#[test]
fn duplicate_uuids_control_characters_and_empty_messages_are_refused() {
    let mut objects = akten();
    objects.push(objects[0].clone());
    let mut writer = AnbieteverzeichnisWriter::new(Vec::new(), &kopf()).expect("start");
    writer.write(&objects[0]).expect("first");
    writer.write(&objects[1]).expect("second");
    let error = writer.write(&objects[2]).expect_err("the same Akte twice");
    assert!(
        matches!(error, WriteError::DuplicateUuid(id) if objects[0] == objects[2] && id.to_string().len() == 36)
    );

    let mut broken = dokument("ctl", "Titel mit \u{7} Steuerzeichen", 1, "a.pdf");
    broken.kennzeichen = None;
    let mut writer = AnbieteverzeichnisWriter::new(Vec::new(), &kopf()).expect("start");
    let error = writer.write(&Schriftgutobjekt::Dokument(broken)).expect_err("control character");
    assert!(error.to_string().contains("U+0007"), "{error}");

    let writer = AnbieteverzeichnisWriter::new(Vec::new(), &kopf()).expect("start");
    assert!(matches!(writer.finish(), Err(WriteError::NoObjects)));

    let mut empty_version = dokument("ev", "Leere Version", 1, "a.pdf");
    empty_version.versionen[0].formate.clear();
    let mut writer = AussonderungWriter::new(Vec::new(), &kopf()).expect("start");
    let error = writer.write(&Schriftgutobjekt::Dokument(empty_version)).expect_err("version without file");
    assert!(matches!(error, WriteError::VersionWithoutFile { version: 1, .. }));
}

#[test]
fn dateiformat_codes_come_from_mime_type_or_extension() {
    assert_eq!(Dateiformat::detect(Some("application/pdf"), "x.bin", true), Dateiformat::PDF_A);
    assert_eq!(Dateiformat::detect(Some("application/pdf"), "x.pdf", false), Dateiformat::PDF);
    assert_eq!(Dateiformat::detect(Some("image/tiff"), "scan", false).code(), "023");
    assert_eq!(Dateiformat::detect(None, "scan.TIFF", false), Dateiformat::TIFF);
    assert_eq!(Dateiformat::detect(Some("image/png; q=1"), "", false), Dateiformat::PNG);
    assert_eq!(Dateiformat::detect(None, "foto.jpg", false), Dateiformat::JPEG);
    assert_eq!(Dateiformat::detect(Some("text/plain"), "a", false), Dateiformat::TXT);
    assert_eq!(Dateiformat::detect(Some("application/xml"), "a", false), Dateiformat::XML);
    let other = Dateiformat::detect(Some("application/x-7z-compressed"), "a.7z", false);
    assert_eq!((other.code(), other.sonstiger_name()), ("100", Some("application/x-7z-compressed")));
    // Sonstiges validates too: its SonstigerName is written.
    let mut d = dokument("sonst", "Archiv", 1, "daten.7z");
    d.versionen[0].formate[0].format = other;
    let mut writer = AussonderungWriter::new(Vec::new(), &kopf()).expect("start");
    writer.write(&Schriftgutobjekt::Dokument(d)).expect("write");
    let xml = writer.finish().expect("finish").0;
    assert_valid(&xml, "0503 with Sonstiges");
    assert!(
        String::from_utf8_lossy(&xml)
            .contains("<xdomea:SonstigerName>application/x-7z-compressed</xdomea:SonstigerName>")
    );
}

#[test]
fn the_real_lav_nrw_0503_example_validates_so_the_schema_copy_is_complete() {
    assert_valid(&crate::support::fixture("sample-lavnrw.Aussonderung.0503.xml"), "LAV NRW 0503 example");
    // And xmllint does reject what the schema forbids (the check is not a no-op).
    let broken = String::from_utf8(write_0501(&akten())).expect("utf-8").replacen(
        "<xdomea:Betreff>",
        "<xdomea:Unbekannt>x</xdomea:Unbekannt><xdomea:Betreff>",
        1,
    );
    assert!(xmllint(broken.as_bytes()).is_err());
}

#[test]
fn the_0503_reads_back_into_the_same_records() {
    let objects = akten();
    let xml = write_0503_xml(&objects);
    let read = registratur_xdomea::read_aussonderung_0503(&xml, &registratur_xdomea::ReadLimits::default())
        .expect("our own 0503 reads back");
    assert_eq!(read.kopf.prozess_id, kopf().prozess_id);
    assert_eq!(read.objekte, objects, "every field written comes back");
}

#[test]
fn the_real_lav_nrw_0503_example_reads() {
    let xml = crate::support::fixture("sample-lavnrw.Aussonderung.0503.xml");
    let read = registratur_xdomea::read_aussonderung_0503(&xml, &registratur_xdomea::ReadLimits::default())
        .expect("the LAV NRW example reads");
    assert_eq!(read.kopf.prozess_id.to_string(), "9fde4e7a-b41b-11ec-9225-005056871b7c");
    assert_eq!(read.kopf.empfaenger.as_deref(), Some("Landesarchiv NRW"));
    let [Schriftgutobjekt::Vorgang(vorgang)] = read.objekte.as_slice() else {
        panic!("one Vorgang expected: {:?}", read.objekte);
    };
    assert_eq!(vorgang.id.to_string(), "67e456ea-b420-11ec-b503-005056871b7c");
    assert_eq!(vorgang.titel, "[Vorgangsbetreff]");
    assert_eq!(vorgang.laufzeit.beginn.map(|d| d.to_string()).as_deref(), Some("2010-04-04"));
    let dokument = &vorgang.dokumente[0];
    assert_eq!(dokument.id.to_string(), "7bf9473a-b4a7-11ec-a407-005056871b7c");
    let datei = &dokument.versionen[0].formate[0];
    assert_eq!(datei.format, Dateiformat::TXT);
    assert_eq!(datei.id.to_string(), "f4bcaaf7-d7cb-11ef-a278-005056871b7c");
    assert_eq!(datei.name, "f4bcaaf7-d7cb-11ef-a278-005056871b7c.txt");
}
