//! The handover (xdomea 0503) of an appraised Aussonderung process: every object the archive appraised A
//! (its own decision or that of the Akte or Vorgang containing it), with the full records tree and the
//! primary files (each Version's original and its PDF renditions), packed by
//! `registratur_xdomea::AussonderungPackageWriter` as `<ProzessID>_Aussonderung.Aussonderung.0503.zip`.
//!
//! The package is written on a blocking thread into a bounded channel of chunks that the transport
//! streams out, and the blobs are read (verified) one after another through `PrimaryFiles`: memory stays
//! bounded by a few chunks whatever the handover weighs. An Akte under a legal hold is never handed over:
//! the handover is refused before a byte is written. When the last chunk has been passed on, the handover
//! is journaled (`aussonderung.handover`, with the files and bytes) and the process is `handed_over`; a
//! handover that breaks off records nothing and can be asked for again.

use std::collections::HashMap;
use std::io::{Read, Write};

use registratur_records::model::{Akte, Dokument, Version};
use registratur_records::repo::{AkteRef, RecordsError};
use registratur_records::tables::{AKTE_HISTORY, HOLDS, history_prefix};
use registratur_storage::meta::{Cf, MetaError, Txn};
use registratur_storage::{BlobHash, Store};
use registratur_xdomea as xdomea;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::aussonderung::{
    Appraisal, AussonderungProcess, ObjectKind, PROCESSES, ProcessState, akte_uuid, dokument_uuid, kopf,
    write_error,
};
use super::lifecycle::ARCHIVE;
use super::records::require_role;
use super::{Engine, ServiceError};
use crate::auth::Principal;

/// Bytes per chunk of the package stream.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks buffered between the writer and the transport.
const CHANNEL_CHUNKS: usize = 4;

/// A handover being written: the package's file name and its bytes as they come.
pub struct Handover {
    pub file_name: String,
    pub chunks: mpsc::Receiver<Result<Vec<u8>, ServiceError>>,
}

/// Passes what the package writer writes on to the channel in chunks.
struct ChannelWriter {
    sender: mpsc::Sender<Result<Vec<u8>, ServiceError>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the receiver of the handover went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK_BYTES - self.buffer.len();
        let taken = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The primary files of the package: Datei UUID → blob, read verified from the store.
struct StoreFiles<'a> {
    store: &'a Store,
    files: HashMap<Uuid, (BlobHash, String)>,
}

impl xdomea::PrimaryFiles for StoreFiles<'_> {
    fn open(
        &mut self,
        datei_id: Uuid,
    ) -> Result<Box<dyn Read + '_>, Box<dyn std::error::Error + Send + Sync>> {
        let (hash, what) = self.files.get(&datei_id).ok_or_else(|| {
            format!("the package asks for file {datei_id}, which the handover did not list")
        })?;
        let reader: Box<dyn Read + '_> =
            registratur_ops::quarantine::open(self.store, hash, "aussonderung.handover", what)?;
        Ok(reader)
    }
}

/// Media types whose renditions go into the package beside the original (the PDF/A renditions).
fn archival_rendition(media_type: &str) -> bool {
    media_type.eq_ignore_ascii_case("application/pdf")
}

fn datei(
    dokument: &Dokument,
    version: &Version,
    content: &registratur_records::model::Content,
    is_pdf_a: bool,
    files: &mut HashMap<Uuid, (BlobHash, String)>,
) -> Result<xdomea::Datei, ServiceError> {
    let id = xdomea::stable_uuid("datei", format!("{}/{}/{}", dokument.id, version.number, content.blake3));
    let hash = content.blob_hash().map_err(|error| {
        ServiceError::Internal(format!("Dokument {} Version {}: {error}", dokument.id, version.number))
    })?;
    let what = format!("Dokument {} Version {} ({})", dokument.id, version.number, content.filename);
    files.insert(id, (hash, what));
    Ok(xdomea::Datei {
        id,
        name: content.filename.clone(),
        format: xdomea::Dateiformat::detect(Some(content.media_type.as_str()), &content.filename, is_pdf_a),
        format_version: String::new(),
        ersteller: Some(version.created_by.clone()),
        datum_uhrzeit: Some(version.created_at),
    })
}

impl Engine {
    /// Starts the handover of an appraised process: checks it, then streams the 0503 package.
    pub async fn handover(&self, principal: Principal, prozess_id: String) -> Result<Handover, ServiceError> {
        let (process, bytes, objects, files) = self
            .blocking(move |engine| {
                require_role(&principal, ARCHIVE, "hand Akten over to the archive")?;
                let uuid = Uuid::parse_str(prozess_id.trim()).map_err(|_| {
                    ServiceError::InvalidArgument(format!("{prozess_id:?} is not a ProzessID (a UUID)"))
                })?;
                let (process, bytes) = PROCESSES
                    .get_with_bytes(engine.store().meta(), &uuid.to_string())
                    .map_err(RecordsError::from)?
                    .ok_or_else(|| ServiceError::NotFound(format!("no Aussonderung process {uuid}")))?;
                if process.state == ProcessState::Offered {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "Aussonderung process {uuid} is not appraised yet; import the archive's 0502 first"
                    )));
                }
                let (objects, files) = engine.handover_objects(&process)?;
                Ok(((process, principal), bytes, objects, files))
            })
            .await?;
        let (process, principal) = process;
        let prozess_id = Uuid::parse_str(&process.prozess_id)
            .map_err(|error| ServiceError::Internal(format!("stored ProzessID: {error}")))?;
        let (sender, receiver) = mpsc::channel(CHANNEL_CHUNKS);
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let failed = sender.clone();
            let result = engine.write_package(&principal, prozess_id, process, bytes, objects, files, sender);
            if let Err(error) = result {
                // The receiver may be gone already; then nobody waits for the error.
                let _ = failed.blocking_send(Err(error));
            }
        });
        Ok(Handover { file_name: xdomea::package_file_name(prozess_id), chunks: receiver })
    }

    /// The Akten to hand over as xdomea objects, and their files.
    #[allow(clippy::type_complexity)]
    fn handover_objects(
        &self,
        process: &AussonderungProcess,
    ) -> Result<(Vec<xdomea::Akte>, HashMap<Uuid, (BlobHash, String)>), ServiceError> {
        let records = self.records();
        let meta = self.store().meta();
        let (_, plan) = records.aktenplan()?.ok_or(RecordsError::NoAktenplan)?;
        let archived =
            |uuid: &Uuid| process.effective_appraisal(&uuid.to_string()) == Some(Appraisal::Archivieren);
        let mut held = Vec::new();
        let mut akten = Vec::new();
        let mut files = HashMap::new();
        for object in process.objects.iter().filter(|o| o.kind == ObjectKind::Akte) {
            let akte: Akte = records.akte(&AkteRef::Id(object.akte_id))?;
            if !archived(&akte_uuid(akte.id)) {
                continue;
            }
            if let Some(hold) = HOLDS.get(meta, &akte.id).map_err(RecordsError::from)? {
                held.push(format!("{} (Akte {}, hold: {})", object.uuid, akte.aktenzeichen, hold.reason));
                continue;
            }
            let status = records.retention(&akte)?;
            let vorgaenge = records.vorgaenge(akte.id)?;
            let dokumente = records.dokumente(akte.id)?;
            let mut tree = super::aussonderung::xdomea_akte(&plan, &akte, &status, &vorgaenge, &dokumente).0;
            tree.vorgaenge.retain(|v| archived(&v.id));
            for vorgang in &mut tree.vorgaenge {
                vorgang.dokumente.retain(|d| archived(&d.id));
            }
            tree.dokumente.retain(|d| archived(&d.id));
            let by_uuid: HashMap<Uuid, &Dokument> =
                dokumente.iter().map(|d| (dokument_uuid(d.id), d)).collect();
            let inner = tree.vorgaenge.iter_mut().flat_map(|v| v.dokumente.iter_mut());
            for dokument in tree.dokumente.iter_mut().chain(inner) {
                // Every Dokument of the tree was built from `dokumente`.
                let Some(record) = by_uuid.get(&dokument.id) else { continue };
                for version in records.versions(record)? {
                    let mut formate = vec![datei(record, &version, &version.original, false, &mut files)?];
                    for rendition in &version.renditions {
                        if archival_rendition(&rendition.content.media_type) {
                            formate.push(datei(record, &version, &rendition.content, true, &mut files)?);
                        }
                    }
                    dokument.versionen.push(xdomea::Version { nummer: version.number, formate });
                }
            }
            akten.push(tree);
        }
        if !held.is_empty() {
            return Err(ServiceError::FailedPrecondition(format!(
                "Akten under a legal hold are never handed over: {}; release the hold or leave them out",
                held.join(", ")
            )));
        }
        if akten.is_empty() {
            return Err(ServiceError::FailedPrecondition(format!(
                "the archive appraised nothing in process {} as A (archivieren); there is nothing to hand over",
                process.prozess_id
            )));
        }
        Ok((akten, files))
    }

    #[allow(clippy::too_many_arguments)]
    fn write_package(
        &self,
        principal: &Principal,
        prozess_id: Uuid,
        mut process: AussonderungProcess,
        bytes: Vec<u8>,
        akten: Vec<xdomea::Akte>,
        files: HashMap<Uuid, (BlobHash, String)>,
        sender: mpsc::Sender<Result<Vec<u8>, ServiceError>>,
    ) -> Result<(), ServiceError> {
        let now = self.store().clock().now();
        let mut header = kopf(prozess_id, now, &process.authority, &process.archive);
        header.empfangsbestaetigung = true;
        header.rueckmeldung_archivkennung = true;
        let mut out = ChannelWriter { sender, buffer: Vec::with_capacity(CHUNK_BYTES) };
        let mut writer = xdomea::AussonderungPackageWriter::new(&mut out, &header).map_err(write_error)?;
        let akte_ids: Vec<Uuid> = akten.iter().map(|a| a.id).collect();
        for akte in akten {
            writer.write(&xdomea::Schriftgutobjekt::Akte(akte)).map_err(write_error)?;
        }
        let mut source = StoreFiles { store: self.store(), files };
        let (_, summary) = writer.finish(&mut source).map_err(write_error)?;
        out.flush().map_err(|error| ServiceError::Unavailable(format!("the handover broke off: {error}")))?;

        process.state = ProcessState::HandedOver;
        let payload = serde_json::json!({
            "prozess_id": process.prozess_id, "archive": process.archive,
            "package": xdomea::package_file_name(prozess_id),
            "akten": akte_ids.iter().map(Uuid::to_string).collect::<Vec<_>>(),
            "files": summary.files.len(), "file_bytes": summary.file_bytes, "zip_bytes": summary.zip_bytes,
        });
        let mut txn = Txn::new(&principal.name, "aussonderung.handover", payload.to_string());
        PROCESSES.require(&mut txn, &process.prozess_id, Some(bytes));
        PROCESSES.put(&mut txn, &process.prozess_id, &process);
        for object in process.objects.iter().filter(|o| o.kind == ObjectKind::Akte) {
            if akte_ids.contains(&akte_uuid(object.akte_id)) {
                HOLDS.require_absent(&mut txn, &object.akte_id);
                txn.index_journal_entry(Cf::Index, history_prefix(AKTE_HISTORY, object.akte_id));
            }
        }
        match self.store().meta().commit(txn) {
            Ok(_) => Ok(()),
            Err(MetaError::Conflict(_)) => Err(ServiceError::Records(RecordsError::Contention(format!(
                "Aussonderung process {prozess_id} (a hold or another handover changed it meanwhile); \
                 ask for the handover again"
            )))),
            Err(error) => Err(RecordsError::from(error).into()),
        }
    }
}
