//! The 0503 package: a zip that Python's zipfile and Info-ZIP unzip accept, holding the XML (valid
//! against the XSDs) and every referenced file under its Dateiname; streamed with bounded memory.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;

use registratur_xdomea::{
    AussonderungPackageWriter, Datei, Dateiformat, Dokument, PrimaryFiles, Schriftgutobjekt, Version,
    WriteError, message_file_name, package_file_name, stable_uuid,
};
use uuid::Uuid;

use crate::support::{MemoryFiles, akten, assert_valid, java_stream_read, kopf, python_zip_test, unzip_test};

fn write_package(objects: &[Schriftgutobjekt], files: &mut dyn PrimaryFiles, force_zip64: bool) -> Vec<u8> {
    let mut writer = if force_zip64 {
        AussonderungPackageWriter::new_forcing_zip64(Vec::new(), &kopf())
    } else {
        AussonderungPackageWriter::new(Vec::new(), &kopf())
    }
    .expect("start package");
    for object in objects {
        writer.write(object).expect("write object");
    }
    let (zip, summary) = writer.finish(files).expect("finish package");
    assert_eq!(summary.zip_bytes, zip.len() as u64);
    zip
}

/// Extracts with Python's zipfile (an independent reader) into `dir`; returns the entry names in order.
fn python_extract(zip: &Path, dir: &Path) -> Vec<String> {
    let script = "import sys, zipfile\nz=zipfile.ZipFile(sys.argv[1])\nz.extractall(sys.argv[2])\nprint('\\n'.join(z.namelist()))";
    let output =
        Command::new("python3").args(["-c", script]).arg(zip).arg(dir).output().expect("python3 runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").lines().map(str::to_owned).collect()
}

fn check_package(force_zip64: bool) {
    let objects = akten();
    let mut files = MemoryFiles::for_objects(&objects);
    let zip = write_package(&objects, &mut files, force_zip64);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(package_file_name(kopf().prozess_id));
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("3f2a1c9e-6b7d-4e21-9a0f-2c5d8e7b1a40_Aussonderung.Aussonderung.0503.zip")
    );
    std::fs::write(&path, &zip).expect("write zip");
    let python = python_zip_test(&path);
    assert!(python.contains("Done testing"), "{python}");
    let unzip = unzip_test(&path);
    assert!(unzip.contains("No errors detected"), "{unzip}");

    let streamed = java_stream_read(&path);

    let out = dir.path().join("out");
    let names = python_extract(&path, &out);
    assert_eq!(names[0], message_file_name(kopf().prozess_id), "the XML comes first");
    assert_eq!(names.len(), 1 + 22, "the XML and 22 files");
    let expected: Vec<String> = names
        .iter()
        .map(|name| format!("{name} {}", std::fs::metadata(out.join(name)).expect("extracted").len()))
        .collect();
    // Python reads the central directory, Java the local headers and data descriptors: they agree.
    assert_eq!(streamed, expected, "Java's streaming reader sees the same entries and sizes");
    let xml = std::fs::read(out.join(&names[0])).expect("read extracted XML");
    assert_valid(&xml, "the XML in the 0503 package");
    let text = String::from_utf8(xml).expect("utf-8");
    assert_eq!(files.opened.len(), 22, "every file opened exactly once");
    for name in &names[1..] {
        assert!(
            text.contains(&format!("<xdomea:Dateiname>{name}</xdomea:Dateiname>")),
            "{name} is referenced"
        );
        let id = Uuid::parse_str(&name[..36]).expect("entry name starts with the file UUID");
        let extracted = std::fs::read(out.join(name)).expect("read extracted file");
        assert_eq!(&extracted, &files.files[&id], "content of {name}");
    }
}

#[test]
fn package_is_a_zip_python_and_unzip_accept_with_the_xml_and_every_file() {
    check_package(false);
}

#[test]
fn package_with_zip64_records_is_accepted_too() {
    check_package(true);
}

#[test]
fn a_file_missing_from_the_store_fails_the_package_and_names_it() {
    let objects = akten();
    let mut files = MemoryFiles::for_objects(&objects);
    let missing = *files.files.keys().next().expect("a file");
    files.files.remove(&missing);
    let mut writer = AussonderungPackageWriter::new(Vec::new(), &kopf()).expect("start");
    for object in &objects {
        writer.write(object).expect("write");
    }
    match writer.finish(&mut files) {
        Err(WriteError::PrimaryFile { datei, .. }) => assert_eq!(datei, missing),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a package without one of its files was written"),
    }
}

/// A file output that cannot seek: the package must never need to.
struct NoSeek(std::fs::File);

impl Write for NoSeek {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Seek for NoSeek {
    fn seek(&mut self, _: SeekFrom) -> std::io::Result<u64> {
        panic!("the 0503 package writer seeked; it must stream")
    }
}

/// Generated file content: `len` bytes of a cheap pseudo-random sequence, produced as read.
struct Generated {
    state: u64,
    left: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left as usize);
        for byte in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = self.state as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

struct GeneratedFiles {
    bytes_per_file: u64,
}

impl PrimaryFiles for GeneratedFiles {
    fn open(
        &mut self,
        datei_id: Uuid,
    ) -> Result<Box<dyn Read + '_>, Box<dyn std::error::Error + Send + Sync>> {
        let seed = datei_id.as_u128() as u64 | 1;
        Ok(Box::new(Generated { state: seed, left: self.bytes_per_file }))
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn two_hundred_megabytes_stream_through_a_non_seekable_writer_with_bounded_memory() {
    const FILE_BYTES: u64 = 1024 * 1024;
    let dokumente: Vec<Dokument> = (0..100)
        .map(|i| Dokument {
            id: stable_uuid("dokument", format!("gross-{i}")),
            kennzeichen: None,
            titel: format!("Dokument {i}"),
            bemerkung: None,
            fremdes_geschaeftszeichen: None,
            posteingangsdatum: None,
            postausgangsdatum: None,
            datum_des_schreibens: None,
            bearbeiter: None,
            typ: None,
            versionen: vec![Version {
                nummer: 1,
                formate: ["scan.tif", "scan.pdf"]
                    .iter()
                    .map(|name| Datei {
                        id: stable_uuid("datei", format!("gross-{i}/{name}")),
                        name: (*name).to_owned(),
                        format: Dateiformat::detect(None, name, name.ends_with(".pdf")),
                        format_version: String::new(),
                        ersteller: None,
                        datum_uhrzeit: None,
                    })
                    .collect(),
            }],
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(package_file_name(kopf().prozess_id));
    let before = peak_rss_kib();
    let mut writer =
        AussonderungPackageWriter::new(NoSeek(std::fs::File::create(&path).expect("create")), &kopf())
            .expect("start");
    for dokument in dokumente {
        writer.write(&Schriftgutobjekt::Dokument(dokument)).expect("write");
    }
    let (_, summary) = writer.finish(&mut GeneratedFiles { bytes_per_file: FILE_BYTES }).expect("finish");
    let growth_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    assert_eq!(summary.file_bytes, 200 * FILE_BYTES);
    assert!(summary.zip_bytes > 200 * FILE_BYTES);
    assert!(growth_mib < 32, "peak RSS grew by {growth_mib} MiB while streaming 200 MiB; something buffers");
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), summary.zip_bytes);
    let python = python_zip_test(&path);
    assert!(python.contains("Done testing"), "{python}");
    let unzip = unzip_test(&path);
    assert!(unzip.contains("No errors detected"), "{unzip}");
    let streamed = java_stream_read(&path);
    assert_eq!(streamed.len(), 201, "the XML and 200 files");
    assert!(streamed[1..].iter().all(|line| line.ends_with(" 1048576")), "{streamed:?}");
}
