//! Offer (0501) and handover (0503 package) of 1,000 Akten with 10,000 Dokumente: each Akte has two
//! Vorgänge of five Dokumente, each Dokument one Version with two files (original and PDF/A) of 100 KB,
//! so the package carries 20,000 files, about 2 GB. Output goes to a counting sink, so the numbers are
//! the writer's (XML, deflate, CRC-32, zip records), not a disk's. `cargo bench -p registratur-xdomea`;
//! run as a test (`cargo test --benches`, CI) it uses 10 Akten with 1 KB files.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use registratur_xdomea::{
    Akte, AnbieteverzeichnisWriter, Aufbewahrungsdauer, AussonderungPackageWriter, Aussonderungsart,
    Aussonderungsmetadaten, Datei, Dateiformat, Dokument, Kontakt, Kopf, Laufzeit, PrimaryFiles,
    Schriftgutobjekt, Version, Vorgang, stable_uuid,
};
use uuid::Uuid;

struct Scale {
    akten: usize,
    file_bytes: usize,
}

fn scale() -> Scale {
    if std::env::args().any(|a| a == "--bench") {
        Scale { akten: 1_000, file_bytes: 100 * 1024 }
    } else {
        Scale { akten: 10, file_bytes: 1024 }
    }
}

fn kopf() -> Kopf {
    Kopf {
        prozess_id: stable_uuid("prozess", "bench"),
        erstellungszeitpunkt: Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).single().expect("valid time"),
        absender: Kontakt { institution: Some("Kreis Musterstadt".to_owned()), ..Kontakt::default() },
        empfaenger: Kontakt { institution: Some("Landesarchiv".to_owned()), ..Kontakt::default() },
        sendendes_system: None,
        empfangsbestaetigung: true,
        rueckmeldung_archivkennung: true,
    }
}

fn akte(a: usize) -> Schriftgutobjekt {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let dokument = |v: usize, d: usize| Dokument {
        id: stable_uuid("dokument", format!("{a}/{v}/{d}")),
        kennzeichen: None,
        titel: format!("Schreiben {d} im Vorgang {v} der Akte {a}"),
        bemerkung: None,
        fremdes_geschaeftszeichen: None,
        posteingangsdatum: date(2012, 3, 4),
        postausgangsdatum: None,
        datum_des_schreibens: None,
        bearbeiter: None,
        typ: None,
        versionen: vec![Version {
            nummer: 1,
            formate: ["original.tif", "rendition.pdf"]
                .iter()
                .map(|name| Datei {
                    id: stable_uuid("datei", format!("{a}/{v}/{d}/{name}")),
                    name: (*name).to_owned(),
                    format: Dateiformat::detect(None, name, name.ends_with(".pdf")),
                    format_version: String::new(),
                    ersteller: None,
                    datum_uhrzeit: None,
                })
                .collect(),
        }],
    };
    Schriftgutobjekt::Akte(Akte {
        id: stable_uuid("akte", a.to_string()),
        kennzeichen: Some(format!("00.{a:04}")),
        titel: format!("Akte {a}"),
        federfuehrung: None,
        bemerkung: None,
        aktenplaneinheit: None,
        aussonderung: Aussonderungsmetadaten {
            aufbewahrungsdauer: Aufbewahrungsdauer::Jahre(10),
            aussonderungsart: Aussonderungsart::Archivieren,
            aufbewahrungsende: date(2025, 12, 31),
        },
        laufzeit: Laufzeit { beginn: date(2012, 1, 1), ende: date(2014, 12, 31) },
        zda_datum: date(2015, 1, 10),
        dokumente: vec![],
        vorgaenge: (0..2)
            .map(|v| Vorgang {
                id: stable_uuid("vorgang", format!("{a}/{v}")),
                kennzeichen: None,
                titel: format!("Vorgang {v}"),
                bemerkung: None,
                aussonderung: None,
                zda_datum: None,
                laufzeit: Laufzeit::default(),
                dokumente: (0..5).map(|d| dokument(v, d)).collect(),
                teilvorgaenge: vec![],
            })
            .collect(),
        teilakten: vec![],
    })
}

/// Every file is the same buffer of incompressible bytes: the bench measures the package, not a source.
struct SameContent(Vec<u8>);

impl PrimaryFiles for SameContent {
    fn open(&mut self, _: Uuid) -> Result<Box<dyn Read + '_>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Box::new(self.0.as_slice()))
    }
}

/// Counts what it is given and drops it; cannot seek.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let scale = scale();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let content: Vec<u8> = (0..scale.file_bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut files = SameContent(content);

    // Generated one Akte at a time, as the engine would load them.
    let offer = || {
        let mut writer = AnbieteverzeichnisWriter::new(CountingSink(0), &kopf()).expect("start 0501");
        for a in 0..scale.akten {
            writer.write(&akte(a)).expect("write Akte");
        }
        writer.finish().expect("finish 0501").0
    };
    let offer_bytes = offer();
    let mut group = c.benchmark_group("aussonderung");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(offer_bytes));
    group.bench_function(format!("offer_0501_{}_akten", scale.akten), |b| b.iter(|| black_box(offer())));

    let mut handover = || {
        let mut writer = AussonderungPackageWriter::new(CountingSink(0), &kopf()).expect("start 0503");
        for a in 0..scale.akten {
            writer.write(&akte(a)).expect("write Akte");
        }
        writer.finish(&mut files).expect("finish 0503")
    };
    let (_, summary) = handover();
    group.throughput(Throughput::Bytes(summary.zip_bytes));
    group.bench_function(
        format!("handover_0503_package_{}_akten_{}_files", scale.akten, summary.files.len()),
        |b| b.iter(|| black_box(handover())),
    );
    group.finish();
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .unwrap_or_default();
    eprintln!(
        "0501: {offer_bytes} bytes; 0503 package: {} bytes, {} files; peak RSS {}",
        summary.zip_bytes,
        summary.files.len(),
        peak.trim_start_matches("VmHWM:").trim()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
