//! Running a job: walk the Dokumente in scope in id order, a window at a time; identify each newest
//! Version, ask the policy, and (for a migration) convert on a small pool, then commit in id order.
//!
//! Exactly once, across crashes: a migrated Dokument's new Version, its item and the job's counts
//! commit in one transaction; the other outcomes of a window commit together in one more, which also
//! moves the cursor past the window. A restart continues at the cursor and skips Dokumente that
//! already have an item. Outputs are deterministic (derived from the source), so a conversion
//! repeated after a crash stores the same blob, which the store keeps once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use registratur_storage::BlobHash;
use registratur_storage::meta::Txn;

use super::model::{CensusRow, Control, Item, Job, JobMode, JobState, Outcome, Progress, Scope};
use super::policy::{Action, Policy};
use super::repo::{MigrationError, MigrationRepo};
use super::tools::{About, Failure, Identification, Output, Target, Toolchain};
use registratur_ops::background::StopSignal;
use registratur_ops::quarantine;
use registratur_records::aktenzeichen::AktenplanKey;
use registratur_records::model::{Akte, Dokument, RenditionKind, Version};
use registratur_records::repo::{AkteRef, DerivedVersion, Records, RecordsError, StoredContent};

/// The actor migration jobs' journal entries name besides the archivist who started the job.
pub const MIGRATION_ACTOR: &str = "registratur/migration";

/// How migration runs beside the rest of the engine.
#[derive(Clone, Debug)]
pub struct MigrationSettings {
    /// The format policy jobs follow (`[migration] policy`; the built-in one by default).
    pub policy: Policy,
    /// Conversions running at once (each uses one core).
    pub threads: usize,
    /// Pause between windows while the mailroom has work: ingest goes first.
    pub throttle_pause: Duration,
    /// Sources larger than this are reported for a human instead of being loaded.
    pub max_source_bytes: u64,
}

impl Default for MigrationSettings {
    fn default() -> Self {
        Self {
            policy: Policy::builtin(),
            threads: 1,
            throttle_pause: Duration::from_secs(2),
            max_source_bytes: 512 << 20,
        }
    }
}

/// Runs jobs and censuses over one store.
pub struct Runner {
    pub(super) repo: MigrationRepo,
    records: Arc<Records>,
    tools: Arc<dyn Toolchain>,
    policy: Policy,
    settings: MigrationSettings,
    pool: rayon::ThreadPool,
    /// True while the mailroom has work; the runner then slows down.
    ingest_busy: Box<dyn Fn() -> bool + Send + Sync>,
    throttled: AtomicBool,
}

/// A Dokument as a job sees it.
struct Candidate {
    dokument: Dokument,
}

/// The result of the parallel part for one Dokument.
enum Prepared {
    /// An item to commit with the window.
    Item(Item),
    /// A validated output to commit as a new Version.
    Converted { item: Item, output: Box<Output>, target: Target, source: Box<Version> },
}

impl Runner {
    pub fn new(
        records: Arc<Records>,
        tools: Arc<dyn Toolchain>,
        settings: MigrationSettings,
        ingest_busy: Box<dyn Fn() -> bool + Send + Sync>,
    ) -> std::io::Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.threads.max(1))
            .thread_name(|i| format!("migration-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            repo: MigrationRepo::new(records.store().clone()),
            records,
            tools,
            policy: settings.policy.clone(),
            settings,
            pool,
            ingest_busy,
            throttled: AtomicBool::new(false),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn repo(&self) -> &MigrationRepo {
        &self.repo
    }

    /// Whether the running job is slowed down for the mailroom right now.
    pub fn is_throttled(&self) -> bool {
        self.throttled.load(Ordering::Relaxed)
    }

    /// The next job the worker should run, settling paused and cancelled ones on the way.
    pub fn next_job(&self) -> Result<Option<u64>, MigrationError> {
        for (job, progress) in self.repo.jobs()? {
            if progress.state.is_finished() {
                continue;
            }
            match job.control {
                Control::Run => return Ok(Some(job.id)),
                Control::Pause => {
                    self.repo.set_state(job.id, JobState::Paused, &job.created_by)?;
                }
                Control::Cancel => {
                    self.repo.set_state(job.id, JobState::Cancelled, &job.created_by)?;
                }
            }
        }
        Ok(None)
    }

    /// Runs job `id` until it is done, paused or cancelled, or `stop` is signalled.
    pub fn run(&self, id: u64, stop: &StopSignal) -> Result<(), MigrationError> {
        let job = self.repo.job(id)?;
        let mut progress = self.repo.progress(id)?;
        if progress.state.is_finished() {
            return Ok(());
        }
        if progress.total.is_none() {
            let total = self.count_in_scope(&job.scope)?;
            progress.total = Some(total);
            progress.state = JobState::Running;
            progress.started_at.get_or_insert_with(|| self.repo.store().clock().now());
            let payload = serde_json::json!({ "job": id, "total": total, "policy": job.policy });
            let mut txn = Txn::new(&job.created_by, "migration.job.start", payload.to_string());
            self.repo.write_progress(&mut txn, id, &progress);
            self.repo.store().meta().commit(txn)?;
        } else if progress.state != JobState::Running {
            progress = self.repo.set_state(id, JobState::Running, &job.created_by)?;
        }
        let mut scope = ScopeFilter::new(&job.scope)?;
        loop {
            if stop.is_stopped() {
                return Ok(());
            }
            match self.repo.job(id)?.control {
                Control::Run => {}
                Control::Pause => {
                    self.repo.set_state(id, JobState::Paused, &job.created_by)?;
                    return Ok(());
                }
                Control::Cancel => {
                    self.repo.set_state(id, JobState::Cancelled, &job.created_by)?;
                    return Ok(());
                }
            }
            let busy = (self.ingest_busy)();
            self.throttled.store(busy, Ordering::Relaxed);
            if busy && !stop.sleep(self.settings.throttle_pause) {
                return Ok(());
            }
            let (window, end) = self.next_window(&mut scope, progress.cursor)?;
            let Some(end) = end else {
                self.throttled.store(false, Ordering::Relaxed);
                self.repo.set_state(id, JobState::Done, &job.created_by)?;
                return Ok(());
            };
            progress = self.run_window(&job, progress, window, end)?;
        }
    }

    /// The next Dokumente in scope after `cursor` (at most a few per conversion thread), and the id the
    /// cursor moves to; `None` when the walk is through.
    fn next_window(
        &self,
        scope: &mut ScopeFilter,
        cursor: u64,
    ) -> Result<(Vec<Candidate>, Option<u64>), MigrationError> {
        let want = self.settings.threads.max(1) * 4;
        let mut window = Vec::new();
        let mut end = None;
        let mut after = cursor;
        while window.len() < want {
            let batch = self.records.dokumente_after(after, 256)?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            for dokument in batch {
                end = Some(dokument.id);
                if scope.admit(&self.records, &dokument)?.is_some() {
                    window.push(Candidate { dokument });
                    if window.len() == want {
                        break;
                    }
                }
            }
        }
        Ok((window, end))
    }

    fn run_window(
        &self,
        job: &Job,
        mut progress: Progress,
        window: Vec<Candidate>,
        end: u64,
    ) -> Result<Progress, MigrationError> {
        let mut todo = Vec::new();
        for candidate in window {
            if !self.repo.has_item(job.id, candidate.dokument.id)? {
                todo.push(candidate);
            }
        }
        let prepared: Vec<Result<Prepared, MigrationError>> = self.pool.install(|| {
            use rayon::prelude::*;
            todo.par_iter().map(|candidate| self.prepare(job.mode, candidate)).collect()
        });
        let mut items = Vec::new();
        for (candidate, prepared) in todo.iter().zip(prepared) {
            match prepared? {
                Prepared::Item(item) => items.push((item, candidate)),
                Prepared::Converted { item, output, target, source } => {
                    match self.commit_version(job, &mut progress, candidate, item, *output, target, &source) {
                        Ok(()) => {}
                        // Someone added a Version meanwhile: the next run of a job looks at it again.
                        Err(MigrationError::Records(RecordsError::StaleVersion { current, .. })) => {
                            let failure = Failure::NeedsHuman(format!(
                                "the Dokument got Version {current} while the job ran; run a new job for it"
                            ));
                            let identification = self.identification_cached(&source.original.blake3)?;
                            let item = Item {
                                outcome: Outcome::Failed { failure },
                                ..item_for(candidate, &source, identification.unwrap_or_else(unidentified))
                            };
                            items.push((item, candidate));
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
        }
        let payload = serde_json::json!({
            "job": job.id, "mode": job.mode, "policy": job.policy,
            "items": items.iter().map(|(item, _)| item).collect::<Vec<_>>(),
        });
        let action = match job.mode {
            JobMode::Plan => "migration.plan",
            JobMode::Migrate => "migration.items",
        };
        let mut txn = Txn::new(&job.created_by, action, payload.to_string());
        for (item, candidate) in &items {
            progress.counts.count(item);
            MigrationRepo::put_item(&mut txn, job.id, item);
            MigrationRepo::cache_identification(&mut txn, &item.source_blake3, &item.identification);
            if job.mode == JobMode::Migrate && !matches!(item.outcome, Outcome::Kept) {
                Records::record_in_history(&mut txn, &candidate.dokument);
            }
        }
        progress.cursor = end;
        self.repo.write_progress(&mut txn, job.id, &progress);
        self.repo.store().meta().commit(txn)?;
        Ok(progress)
    }

    /// The item for a Dokument's Version, before its outcome is known.
    fn identification_cached(&self, blake3: &str) -> Result<Option<Identification>, MigrationError> {
        self.repo.identification(blake3, &self.tools.identifier_version())
    }

    /// Identification, policy and (for a migration) conversion of one Dokument: the part that runs in
    /// parallel and writes nothing but blobs.
    fn prepare(&self, mode: JobMode, candidate: &Candidate) -> Result<Prepared, MigrationError> {
        let version = self.records.version(&candidate.dokument, candidate.dokument.current_version)?;
        let cached = self.identification_cached(&version.original.blake3)?;
        let mut item = item_for(candidate, &version, cached.clone().unwrap_or_else(unidentified));
        let needs_bytes = |ident: &Option<Identification>| match ident {
            None => true,
            Some(ident) => matches!(self.policy.action_for(&ident.puid), Action::Migrate { .. }),
        };
        let bytes = if needs_bytes(&cached) {
            if version.original.size > self.settings.max_source_bytes {
                let failure = Failure::NeedsHuman(format!(
                    "the source has {} bytes, more than [migration] max_source_mib allows",
                    version.original.size
                ));
                return Ok(Prepared::Item(Item { outcome: Outcome::Failed { failure }, ..item }));
            }
            match self.read(candidate.dokument.id, &version) {
                Ok(bytes) => Some(bytes),
                Err(failure) => {
                    return Ok(Prepared::Item(Item { outcome: Outcome::Failed { failure }, ..item }));
                }
            }
        } else {
            None
        };
        let identification = match (cached, &bytes) {
            (Some(ident), _) => ident,
            (None, Some(bytes)) => self.tools.identify(bytes),
            (None, None) => unreachable!("bytes are read when the identification is not cached"),
        };
        item.identification = identification.clone();
        let target = match self.policy.action_for(&identification.puid) {
            Action::Keep => return Ok(Prepared::Item(Item { outcome: Outcome::Kept, ..item })),
            Action::Flag { reason } => {
                let reason = format!("{}: {reason}", identification.describe());
                return Ok(Prepared::Item(Item { outcome: Outcome::Flagged { reason }, ..item }));
            }
            Action::Migrate { target } => *target,
        };
        let bytes = match bytes {
            Some(bytes) => bytes,
            None => match self.read(candidate.dokument.id, &version) {
                Ok(bytes) => bytes,
                Err(failure) => {
                    return Ok(Prepared::Item(Item { outcome: Outcome::Failed { failure }, ..item }));
                }
            },
        };
        match mode {
            JobMode::Plan => {
                let outcome = match self.tools.preflight(&bytes, &identification, target) {
                    Ok(pages) => Outcome::WouldMigrate { target, pages },
                    Err(failure) => Outcome::Failed { failure },
                };
                Ok(Prepared::Item(Item { outcome, ..item }))
            }
            JobMode::Migrate => {
                let about = About {
                    title: candidate.dokument.title.clone(),
                    source: BlobHash::from_hex(&version.original.blake3).map_err(|e| {
                        RecordsError::Undecodable { key: "version".into(), reason: e.to_string() }
                    })?,
                    created_unix_seconds: version.created_at.timestamp(),
                };
                match self.tools.migrate(&bytes, &identification, target, &about) {
                    Ok(output) => Ok(Prepared::Converted {
                        item,
                        output: Box::new(output),
                        target,
                        source: Box::new(version),
                    }),
                    Err(failure) => Ok(Prepared::Item(Item { outcome: Outcome::Failed { failure }, ..item })),
                }
            }
        }
    }

    /// A Version's original, verified; damage is registered in the quarantine register and is a
    /// failure of this Dokument, not of the job.
    fn read(&self, dokument_id: u64, version: &Version) -> Result<Vec<u8>, Failure> {
        let hash = version.original.blob_hash().map_err(|e| Failure::Corrupt(e.to_string()))?;
        let what = format!("Dokument {dokument_id} Version {} (original)", version.number);
        match quarantine::read(self.records.store(), &hash, MIGRATION_ACTOR, &what) {
            Ok(bytes) => Ok(bytes),
            Err(error) => Err(Failure::Corrupt(error.to_string())),
        }
    }

    /// Stores a validated output and files it as the Dokument's new Version, together with the item
    /// and the job's counts.
    #[allow(clippy::too_many_arguments)]
    fn commit_version(
        &self,
        job: &Job,
        progress: &mut Progress,
        candidate: &Candidate,
        item: Item,
        output: Output,
        target: Target,
        source: &Version,
    ) -> Result<(), MigrationError> {
        let put =
            self.records.store().blobs().put(&output.bytes).map_err(registratur_storage::StoreError::from)?;
        let digest = put.digest;
        let filename = match source.original.filename.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => format!("{stem}.{}", output.extension),
            _ if source.original.filename.is_empty() => {
                format!("dokument-{}.{}", item.dokument_id, output.extension)
            }
            _ => format!("{}.{}", source.original.filename, output.extension),
        };
        let item = Item {
            outcome: Outcome::Migrated {
                target,
                new_version: source.number + 1,
                blake3: digest.blake3.to_hex(),
                sha256: digest.sha256.to_hex(),
                size: digest.size,
                pages: output.pages,
            },
            ..item
        };
        let event = serde_json::json!({
            "job": job.id,
            "policy": job.policy,
            "identification": item.identification,
            "migration": {
                "tool": output.tool, "tool_version": output.tool_version, "parameters": output.parameters,
                "changes": output.changes,
                "target": target,
                "source": { "version": source.number, "blake3": source.original.blake3, "sha256": source.original.sha256 },
                "output": { "blake3": digest.blake3.to_hex(), "sha256": digest.sha256.to_hex(), "size": digest.size, "pages": output.pages },
            },
            "validation": { "outcome": "pass", "checks": output.checks },
        });
        let derived = DerivedVersion {
            dokument_id: candidate.dokument.id,
            source: source.number,
            reason: format!(
                "format migration to {} (job {}, policy {} v{})",
                target.as_str(),
                job.id,
                job.policy.name,
                job.policy.version
            ),
            output: StoredContent { digest, filename, media_type: output.media_type.clone() },
            carried_renditions: vec![RenditionKind::OcrText],
            event,
        };
        let mut counted = progress.clone();
        counted.counts.count(&item);
        self.records.derive_version(&job.created_by, &derived, |txn, _, _| {
            MigrationRepo::put_item(txn, job.id, &item);
            MigrationRepo::cache_identification(txn, &item.source_blake3, &item.identification);
            self.repo.write_progress(txn, job.id, &counted);
        })?;
        *progress = counted;
        Ok(())
    }

    /// Dokumente in scope, counted by walking them.
    fn count_in_scope(&self, scope: &Scope) -> Result<u64, MigrationError> {
        let mut filter = ScopeFilter::new(scope)?;
        let mut count = 0;
        let mut after = 0;
        loop {
            let batch = self.records.dokumente_after(after, 1024)?;
            let Some(last) = batch.last() else { return Ok(count) };
            after = last.id;
            for dokument in &batch {
                if filter.admit(&self.records, dokument)?.is_some() {
                    count += 1;
                }
            }
        }
    }

    /// Counts and bytes per format of the newest Versions in `scope`, per Aktenplan subtree.
    /// Identifications not cached yet are made and recorded (`format.identify`, in batches).
    pub fn census(&self, actor: &str, scope: &Scope) -> Result<Vec<CensusRow>, MigrationError> {
        let mut filter = ScopeFilter::new(scope)?;
        let tool_version = self.tools.identifier_version();
        let mut rows: HashMap<(String, String), CensusRow> = HashMap::new();
        let mut fresh: Vec<(String, Identification)> = Vec::new();
        let mut after = 0;
        loop {
            let batch = self.records.dokumente_after(after, 256)?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            for dokument in &batch {
                let Some(akte) = filter.admit(&self.records, dokument)? else { continue };
                let version = self.records.version(dokument, dokument.current_version)?;
                let content = &version.original;
                let ident = match self.repo.identification(&content.blake3, &tool_version)? {
                    Some(ident) => ident,
                    None => match fresh.iter().find(|(blake3, _)| *blake3 == content.blake3) {
                        Some((_, ident)) => ident.clone(),
                        None => {
                            match self.read(dokument.id, &version) {
                                Ok(bytes) => {
                                    let ident = self.tools.identify(&bytes);
                                    fresh.push((content.blake3.clone(), ident.clone()));
                                    ident
                                }
                                // Damaged bytes have no format; fixity reports them.
                                Err(_) => unreadable(),
                            }
                        }
                    },
                };
                let units = std::iter::once(String::new())
                    .chain(akte.key.ancestors().map(|k| k.as_str().to_string()))
                    .chain(std::iter::once(akte.key.as_str().to_string()));
                for unit in units {
                    let row = rows.entry((unit.clone(), ident.puid.clone())).or_insert_with(|| CensusRow {
                        unit,
                        puid: ident.puid.clone(),
                        name: ident.name.clone(),
                        version: ident.version.clone(),
                        dokumente: 0,
                        bytes: 0,
                    });
                    row.dokumente += 1;
                    row.bytes += content.size;
                }
            }
            if fresh.len() >= 256 {
                self.record_identifications(actor, &mut fresh)?;
            }
        }
        self.record_identifications(actor, &mut fresh)?;
        let mut rows: Vec<CensusRow> = rows.into_values().collect();
        rows.sort_by(|a, b| a.unit.cmp(&b.unit).then(b.bytes.cmp(&a.bytes)).then(a.puid.cmp(&b.puid)));
        Ok(rows)
    }

    fn record_identifications(
        &self,
        actor: &str,
        fresh: &mut Vec<(String, Identification)>,
    ) -> Result<(), MigrationError> {
        if fresh.is_empty() {
            return Ok(());
        }
        let payload = serde_json::json!({
            "identifications": fresh.iter().map(|(blake3, ident)| serde_json::json!({
                "blake3": blake3, "puid": ident.puid, "name": ident.name, "version": ident.version,
                "tool": ident.tool, "tool_version": ident.tool_version,
            })).collect::<Vec<_>>(),
        });
        let mut txn = Txn::new(actor, "format.identify", payload.to_string());
        for (blake3, ident) in fresh.iter() {
            MigrationRepo::cache_identification(&mut txn, blake3, ident);
        }
        self.repo.store().meta().commit(txn)?;
        fresh.clear();
        Ok(())
    }
}

/// The item for a Dokument's Version, before its outcome is known.
fn item_for(candidate: &Candidate, version: &Version, identification: Identification) -> Item {
    Item {
        dokument_id: candidate.dokument.id,
        version: version.number,
        source_blake3: version.original.blake3.clone(),
        source_size: version.original.size,
        identification,
        outcome: Outcome::Kept,
    }
}

fn unidentified() -> Identification {
    Identification {
        puid: "UNKNOWN".into(),
        name: "not identified yet".into(),
        version: String::new(),
        tool: String::new(),
        tool_version: String::new(),
    }
}

/// The census row of Dokumente whose bytes cannot be read (corrupted or missing blobs).
fn unreadable() -> Identification {
    Identification {
        puid: "UNREADABLE".into(),
        name: "blob missing or corrupted (see fixity)".into(),
        version: String::new(),
        tool: String::new(),
        tool_version: String::new(),
    }
}

/// Decides whether a Dokument is in a job's scope, remembering the Akten it has looked up.
struct ScopeFilter {
    unit: Option<AktenplanKey>,
    akte_id: Option<u64>,
    akten: HashMap<u64, Akte>,
}

impl ScopeFilter {
    fn new(scope: &Scope) -> Result<Self, MigrationError> {
        let unit = scope
            .unit
            .as_deref()
            .map(|unit| AktenplanKey::parse(unit).map_err(|_| MigrationError::InvalidScope(unit.to_string())))
            .transpose()?;
        Ok(Self { unit, akte_id: scope.akte_id, akten: HashMap::new() })
    }

    /// The Dokument's Akte when the Dokument is in scope.
    fn admit(&mut self, records: &Records, dokument: &Dokument) -> Result<Option<Akte>, MigrationError> {
        if self.akte_id.is_some_and(|id| id != dokument.akte_id) {
            return Ok(None);
        }
        let akte = match self.akten.get(&dokument.akte_id) {
            Some(akte) => akte.clone(),
            None => {
                let akte = records.akte(&AkteRef::Id(dokument.akte_id))?;
                self.akten.insert(akte.id, akte.clone());
                akte
            }
        };
        let inside = match &self.unit {
            None => true,
            Some(unit) => akte.key == *unit || akte.key.ancestors().any(|a| a == *unit),
        };
        Ok(inside.then_some(akte))
    }
}
