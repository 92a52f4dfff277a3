//! The 0503 handover package: `<ProzessID>_Aussonderung.Aussonderung.0503.zip` holding
//! `<ProzessID>_Aussonderung.Aussonderung.0503.xml` and every primary file it references, named
//! `<UUID>_<name>.<ext>` (xdomea 3.0.0 Spezifikation, Aussonderung: Nachricht und Primärdokumente werden
//! gemeinsam in einer ZIP-Datei übergeben).
//!
//! Written in one pass to a non-seekable `Write` (a gRPC server stream, a pipe): the XML first (deflated),
//! then the files (deflate level 0, stored blocks, for PDF, TIFF, JPEG, PNG and Office Open XML, which
//! are compressed already; level 1 for the rest), each streamed from the caller's [`PrimaryFiles`] in
//! fixed-size chunks. Every entry is deflated because streaming readers (Java's `ZipInputStream`) refuse
//! stored entries with data descriptors. Memory stays bounded by one chunk, the deflater and one
//! small record per file, whatever the handover weighs.

use std::io::{Read, Write};

use uuid::Uuid;

use crate::error::WriteError;
use crate::model::{Kopf, Schriftgutobjekt};
use crate::write::{AussonderungWriter, PackageFile};
use crate::zip::{Method, ZipStreamWriter};

/// Chunk size for copying a primary file into the zip.
const COPY_CHUNK_BYTES: usize = 256 * 1024;

/// Where the package takes the primary files' bytes from: the engine's blob store.
pub trait PrimaryFiles {
    /// Opens the content of the file with this [`crate::Datei::id`]. Called exactly once per file of the
    /// message, in document order, after the whole XML is written; the reader is read to its end and
    /// dropped before the next file is opened.
    fn open(
        &mut self,
        datei_id: Uuid,
    ) -> Result<Box<dyn Read + '_>, Box<dyn std::error::Error + Send + Sync>>;
}

/// Files whose formats are compressed already are framed in stored deflate blocks (level 0: no work);
/// TIFF counts among them (scans are G4 or JPEG inside). The others (text, XML, BMP, old Office
/// formats) are deflated fast (level 1). Never `Stored`: see [`Method`].
fn file_method(dateiname: &str) -> Method {
    const COMPRESSED: &[&str] = &[
        "pdf", "tif", "tiff", "jpg", "jpeg", "jpe", "png", "gif", "docx", "xlsx", "pptx", "dotx", "xltx",
        "potx", "odt", "ods", "odp", "ott", "ots", "otp", "zip", "gz", "7z", "mp3", "mp4",
    ];
    let extension = dateiname.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    match extension {
        Some(ext) if COMPRESSED.contains(&ext.as_str()) => Method::Deflated { level: 0 },
        _ => Method::Deflated { level: 1 },
    }
}

/// `<ProzessID>_Aussonderung.Aussonderung.0503.zip`: the package's file name.
pub fn package_file_name(prozess_id: Uuid) -> String {
    format!("{}_Aussonderung.Aussonderung.0503.zip", prozess_id.hyphenated())
}

/// `<ProzessID>_Aussonderung.Aussonderung.0503.xml`: the message's name inside the package.
pub fn message_file_name(prozess_id: Uuid) -> String {
    format!("{}_Aussonderung.Aussonderung.0503.xml", prozess_id.hyphenated())
}

/// What a written package holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSummary {
    /// The files, in the order they are in the zip (after the XML).
    pub files: Vec<PackageFile>,
    /// Bytes of primary files copied (uncompressed).
    pub file_bytes: u64,
    /// Bytes of the whole zip.
    pub zip_bytes: u64,
}

/// Writes a 0503 package: create it, [`write`](Self::write) the top-level Schriftgutobjekte one by one
/// (the XML is written as they come), then [`finish`](Self::finish) with the file source.
pub struct AussonderungPackageWriter<W: Write> {
    xml: AussonderungWriter<ZipStreamWriter<W>>,
}

impl<W: Write> AussonderungPackageWriter<W> {
    /// Starts the zip and its XML entry, and writes the Kopf.
    pub fn new(out: W, kopf: &Kopf) -> Result<Self, WriteError> {
        Self::with_zip(ZipStreamWriter::new(out, kopf.erstellungszeitpunkt.naive_utc()), kopf)
    }

    #[doc(hidden)]
    /// Like [`new`](Self::new) with ZIP64 records everywhere, for tests of that path.
    pub fn new_forcing_zip64(out: W, kopf: &Kopf) -> Result<Self, WriteError> {
        Self::with_zip(ZipStreamWriter::new(out, kopf.erstellungszeitpunkt.naive_utc()).force_zip64(), kopf)
    }

    fn with_zip(mut zip: ZipStreamWriter<W>, kopf: &Kopf) -> Result<Self, WriteError> {
        zip.start_entry(&message_file_name(kopf.prozess_id), Method::Deflated { level: 6 })?;
        Ok(Self { xml: AussonderungWriter::new(zip, kopf)? })
    }

    /// Writes one top-level Schriftgutobjekt into the XML (its files follow in [`finish`](Self::finish)).
    pub fn write(&mut self, objekt: &Schriftgutobjekt) -> Result<(), WriteError> {
        self.xml.write(objekt)
    }

    /// Closes the XML, copies every referenced file from `files` into the zip, writes the central
    /// directory. Returns the output and what was written.
    pub fn finish(self, files: &mut dyn PrimaryFiles) -> Result<(W, PackageSummary), WriteError> {
        let (mut zip, references) = self.xml.finish()?;
        zip.finish_entry()?;
        let mut chunk = vec![0u8; COPY_CHUNK_BYTES];
        let mut file_bytes = 0u64;
        for file in &references {
            let mut reader = files
                .open(file.datei_id)
                .map_err(|source| WriteError::PrimaryFile { datei: file.datei_id, source })?;
            zip.start_entry(&file.dateiname, file_method(&file.dateiname))?;
            loop {
                let n = match reader.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(WriteError::PrimaryFile { datei: file.datei_id, source: Box::new(e) });
                    }
                };
                zip.write_all(&chunk[..n])?;
                file_bytes += n as u64;
            }
            zip.finish_entry()?;
        }
        let (out, zip_bytes) = zip.finish()?;
        Ok((out, PackageSummary { files: references, file_bytes, zip_bytes }))
    }
}
