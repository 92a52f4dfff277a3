//! Shared test data and the external checkers (xmllint, python3 zipfile, unzip). A missing tool fails
//! the test and says what to install: `scripts/install-deps` installs them.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{NaiveDate, TimeZone, Utc};
use registratur_xdomea::{
    Akte, Aktenplaneinheit, Aufbewahrungsdauer, Aussonderungsart, Aussonderungsmetadaten, Datei, Dateiformat,
    Dokument, Kontakt, Kopf, Laufzeit, PrimaryFiles, Schriftgutobjekt, SendendesSystem, Version, Vorgang,
    stable_uuid,
};
use uuid::Uuid;

pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/3.0.0/schemes")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Runs `xmllint --noout --schema xdomea.xsd` from the schema directory; the error carries its output.
pub fn xmllint(xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("message.xml");
    std::fs::write(&file, xml).expect("write message");
    let output = Command::new("xmllint")
        .args(["--noout", "--schema", "xdomea.xsd"])
        .arg(&file)
        .current_dir(schema_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint could not run ({e}); install libxml2-utils (scripts/install-deps)")
        });
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
    }
}

/// Validates with xmllint and with the crate's in-process validator (libxml2); both must accept.
pub fn assert_valid(xml: &[u8], what: &str) {
    if let Err(output) = xmllint(xml) {
        panic!(
            "{what} does not validate against xdomea.xsd:\n{output}\n--- message ---\n{}",
            String::from_utf8_lossy(xml)
        );
    }
    let validator = registratur_xdomea::XsdValidator::embedded().expect("the embedded schemas load");
    if let Err(error) = validator.validate(xml) {
        panic!("{what}: xmllint accepts it, the in-process validator does not: {error}");
    }
}

/// Runs a command; panics with its output when it fails or is missing.
pub fn run_ok(program: &str, args: &[&str], install_hint: &str) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); {install_hint}"));
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

pub fn python_zip_test(zip: &Path) -> String {
    run_ok(
        "python3",
        &["-m", "zipfile", "-t", zip.to_str().expect("utf-8 path")],
        "install python3 (scripts/install-deps)",
    )
}

/// Reads the zip front to back with Java's `ZipInputStream` (tests/java/ZipStreamCheck.java), which
/// checks each entry's CRC-32 and sizes against its data descriptor; returns "name size" per entry.
pub fn java_stream_read(zip: &Path) -> Vec<String> {
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/ZipStreamCheck.java");
    let output = run_ok(
        "java",
        &[checker.to_str().expect("utf-8 path"), zip.to_str().expect("utf-8 path")],
        "install default-jdk-headless (scripts/install-deps)",
    );
    output.lines().map(str::to_owned).collect()
}

pub fn unzip_test(zip: &Path) -> String {
    run_ok("unzip", &["-t", zip.to_str().expect("utf-8 path")], "install unzip (scripts/install-deps)")
}

pub fn kopf() -> Kopf {
    Kopf {
        prozess_id: Uuid::parse_str("3f2a1c9e-6b7d-4e21-9a0f-2c5d8e7b1a40").expect("uuid"),
        erstellungszeitpunkt: Utc.with_ymd_and_hms(2026, 2, 14, 10, 30, 0).single().expect("time"),
        absender: Kontakt {
            behoerdenschluessel: Some("05958000".to_owned()),
            institution: Some("Kreis Musterstadt".to_owned()),
            institution_kurz: None,
            organisationseinheit: Some("Hauptamt – Registratur".to_owned()),
        },
        empfaenger: Kontakt {
            institution: Some("Landesarchiv Nordrhein-Westfalen".to_owned()),
            institution_kurz: Some("LAV NRW".to_owned()),
            ..Kontakt::default()
        },
        sendendes_system: Some(SendendesSystem {
            instanz_id: Some("kreis-musterstadt-1".to_owned()),
            produktname: "registratur".to_owned(),
            version: "0.1.0".to_owned(),
        }),
        empfangsbestaetigung: true,
        rueckmeldung_archivkennung: true,
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// A Dokument with `versions` versions, each an original (by extension) plus its PDF/A rendition.
pub fn dokument(seed: &str, titel: &str, versions: u32, original_name: &str) -> Dokument {
    Dokument {
        id: stable_uuid("dokument", seed),
        kennzeichen: Some(format!("D-{seed}")),
        titel: titel.to_owned(),
        bemerkung: None,
        fremdes_geschaeftszeichen: Some("Az. 12/34 & 56".to_owned()),
        posteingangsdatum: Some(date(2019, 3, 4)),
        postausgangsdatum: None,
        datum_des_schreibens: Some(date(2019, 3, 1)),
        bearbeiter: Some("Frau Jürgens".to_owned()),
        typ: Some("Eingangsschreiben".to_owned()),
        versionen: (1..=versions)
            .map(|nummer| Version {
                nummer,
                formate: vec![
                    Datei {
                        id: stable_uuid("datei", format!("{seed}/{nummer}/original")),
                        name: original_name.to_owned(),
                        format: Dateiformat::detect(None, original_name, false),
                        format_version: String::new(),
                        ersteller: Some("Poststelle".to_owned()),
                        datum_uhrzeit: Some(
                            Utc.with_ymd_and_hms(2019, 3, 4, 8, 0, 0).single().expect("time"),
                        ),
                    },
                    Datei {
                        id: stable_uuid("datei", format!("{seed}/{nummer}/pdfa")),
                        name: format!(
                            "{}.pdf",
                            original_name.rsplit_once('.').map_or(original_name, |(s, _)| s)
                        ),
                        format: Dateiformat::PDF_A,
                        format_version: "PDF/A-2b".to_owned(),
                        ersteller: None,
                        datum_uhrzeit: None,
                    },
                ],
            })
            .collect(),
    }
}

/// Akten with nested Vorgänge (and a Teilvorgang), several Dokumente and Versionen, umlauts, `&` and `<`
/// in titles, one Akte kept `Unbefristet`.
pub fn akten() -> Vec<Schriftgutobjekt> {
    let aussonderung = Aussonderungsmetadaten {
        aufbewahrungsdauer: Aufbewahrungsdauer::Jahre(10),
        aussonderungsart: Aussonderungsart::Bewerten,
        aufbewahrungsende: Some(date(2025, 12, 31)),
    };
    let bau = Akte {
        id: stable_uuid("akte", "A-1"),
        kennzeichen: Some("63.01.02-0815/2014".to_owned()),
        titel: "Bauantrag Müller & Söhne <Neubau> Straße 5".to_owned(),
        federfuehrung: Some("Bauordnungsamt".to_owned()),
        bemerkung: Some("Größe: \"3 Ordner\" digitalisiert".to_owned()),
        aktenplaneinheit: Some(Aktenplaneinheit {
            kennzeichen: "63.01.02".to_owned(),
            inhaltsangabe: Some("Baugenehmigungen".to_owned()),
        }),
        aussonderung: aussonderung.clone(),
        laufzeit: Laufzeit { beginn: Some(date(2014, 5, 2)), ende: Some(date(2015, 11, 30)) },
        zda_datum: Some(date(2015, 12, 1)),
        dokumente: vec![dokument("A-1/d1", "Deckblatt", 1, "Deckblatt.tif")],
        vorgaenge: vec![
            Vorgang {
                id: stable_uuid("vorgang", "A-1/v1"),
                kennzeichen: Some("V-1".to_owned()),
                titel: "Antragsprüfung <Teil 1>".to_owned(),
                bemerkung: None,
                aussonderung: None,
                zda_datum: Some(date(2015, 6, 1)),
                laufzeit: Laufzeit { beginn: Some(date(2014, 5, 2)), ende: None },
                dokumente: vec![
                    dokument("A-1/v1/d1", "Antrag vom 2.5.2014", 2, "Antrag Müller.pdf"),
                    dokument("A-1/v1/d2", "Stellungnahme Umweltamt", 1, "stellungnahme.txt"),
                    dokument("A-1/v1/d3", "Lageplan", 1, "lageplan.png"),
                ],
                teilvorgaenge: vec![Vorgang {
                    id: stable_uuid("vorgang", "A-1/v1/t1"),
                    kennzeichen: None,
                    titel: "Nachforderung Unterlagen".to_owned(),
                    bemerkung: None,
                    aussonderung: Some(aussonderung.clone()),
                    zda_datum: None,
                    laufzeit: Laufzeit::default(),
                    dokumente: vec![dokument("A-1/v1/t1/d1", "Nachforderung", 1, "nachforderung.jpg")],
                    teilvorgaenge: vec![],
                }],
            },
            Vorgang {
                id: stable_uuid("vorgang", "A-1/v2"),
                kennzeichen: None,
                titel: "Bescheid".to_owned(),
                bemerkung: None,
                aussonderung: None,
                zda_datum: None,
                laufzeit: Laufzeit::default(),
                dokumente: vec![dokument("A-1/v2/d1", "Baugenehmigung", 3, "Bescheid.docx")],
                teilvorgaenge: vec![],
            },
        ],
        teilakten: vec![],
    };
    let personal = Akte {
        id: stable_uuid("akte", "A-2"),
        kennzeichen: Some("11.20-Ö/1999".to_owned()),
        titel: "Personalakte Öztürk".to_owned(),
        federfuehrung: None,
        bemerkung: None,
        aktenplaneinheit: None,
        aussonderung: Aussonderungsmetadaten {
            aufbewahrungsdauer: Aufbewahrungsdauer::Unbefristet,
            aussonderungsart: Aussonderungsart::Archivieren,
            aufbewahrungsende: None,
        },
        laufzeit: Laufzeit { beginn: Some(date(1999, 1, 1)), ende: Some(date(2024, 6, 30)) },
        zda_datum: Some(date(2024, 7, 1)),
        dokumente: vec![dokument("A-2/d1", "Ernennungsurkunde", 1, "urkunde.pdf")],
        vorgaenge: vec![],
        teilakten: vec![Akte {
            id: stable_uuid("akte", "A-2/t1"),
            kennzeichen: None,
            titel: "Beihilfe".to_owned(),
            federfuehrung: None,
            bemerkung: None,
            aktenplaneinheit: None,
            aussonderung: Aussonderungsmetadaten {
                aufbewahrungsdauer: Aufbewahrungsdauer::Jahre(5),
                aussonderungsart: Aussonderungsart::Vernichten,
                aufbewahrungsende: None,
            },
            laufzeit: Laufzeit::default(),
            zda_datum: None,
            dokumente: vec![dokument("A-2/t1/d1", "Beihilfeantrag", 1, "beihilfe.xml")],
            vorgaenge: vec![],
            teilakten: vec![],
        }],
    };
    vec![Schriftgutobjekt::Akte(bau), Schriftgutobjekt::Akte(personal)]
}

/// Primary files held in memory, by file UUID.
#[derive(Default)]
pub struct MemoryFiles {
    pub files: HashMap<Uuid, Vec<u8>>,
    pub opened: Vec<Uuid>,
}

impl MemoryFiles {
    /// Content for every Datei of the objects: a few hundred bytes naming the file.
    pub fn for_objects(objects: &[Schriftgutobjekt]) -> Self {
        let mut files = HashMap::new();
        let mut add = |d: &Dokument| {
            for v in &d.versionen {
                for f in &v.formate {
                    files.insert(f.id, format!("content of {} ({}) ", f.name, f.id).repeat(7).into_bytes());
                }
            }
        };
        fn walk_vorgang(v: &Vorgang, add: &mut dyn FnMut(&Dokument)) {
            v.dokumente.iter().for_each(&mut *add);
            for t in &v.teilvorgaenge {
                walk_vorgang(t, add);
            }
        }
        fn walk_akte(a: &Akte, add: &mut dyn FnMut(&Dokument)) {
            a.dokumente.iter().for_each(&mut *add);
            for v in &a.vorgaenge {
                walk_vorgang(v, add);
            }
            for t in &a.teilakten {
                walk_akte(t, add);
            }
        }
        for o in objects {
            match o {
                Schriftgutobjekt::Akte(a) => walk_akte(a, &mut add),
                Schriftgutobjekt::Vorgang(v) => walk_vorgang(v, &mut add),
                Schriftgutobjekt::Dokument(d) => add(d),
            }
        }
        MemoryFiles { files, opened: Vec::new() }
    }
}

impl PrimaryFiles for MemoryFiles {
    fn open(
        &mut self,
        datei_id: Uuid,
    ) -> Result<Box<dyn Read + '_>, Box<dyn std::error::Error + Send + Sync>> {
        self.opened.push(datei_id);
        match self.files.get(&datei_id) {
            Some(bytes) => Ok(Box::new(bytes.as_slice())),
            None => Err(format!("no blob for {datei_id}").into()),
        }
    }
}

/// Every `<xdomea:ID>` value of a message, in order.
pub fn ids(xml: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(xml);
    text.split("<xdomea:ID>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or_default().to_owned())
        .collect()
}
