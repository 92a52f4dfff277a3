//! Lifecycle use cases with their permission checks: the due list, legal holds, Wiederaufnahme,
//! corrections of metadata and an Akte's retention status. The records layer
//! (`registratur_records::lifecycle`) does the work; this module decides who may ask for it.
//!
//! Who may do what:
//! - **holds** (place, release, list): `archivist` and `admin`. A legal hold protects records from the
//!   Aussonderung, which the archivist runs; the archivist (Registratur, records management) is the one
//!   who receives the legal department's instruction and must be able to stop an offer at once. A
//!   Fachverfahren may not place or release holds: a hold binds records beyond its own case work, and a
//!   Fachverfahren that could release one could undo a litigation hold on its own files.
//! - **due list** and **Aussonderung** (`aussonderung.rs`): `archivist` and `admin`.
//! - **reopen** and **corrections**: `fachverfahren` within its Aktenplan subtrees, and `admin`; these
//!   are case work on the Akte's content.
//! - **retention status**: everyone who may read the Akte.

use registratur_records::lifecycle::{AkteCorrection, DokumentCorrection, Hold, RetentionStatus};
use registratur_records::model::{Akte, Dokument};
use registratur_records::repo::AkteRef;

use super::aussonderung::{self, AkteInProcess};
use super::records::require_role;
use super::{Engine, ServiceError};
use crate::auth::Principal;
use crate::auth::Role;

/// Who may place, release and list legal holds (see the module documentation for why).
pub(crate) const HOLDERS: &[Role] = &[Role::Archivist, Role::Admin];
/// Who runs the Aussonderung and sees the due list.
pub(crate) const ARCHIVE: &[Role] = &[Role::Archivist, Role::Admin];
/// Who may reopen and correct (fachverfahren only within its subtrees).
const EDITORS: &[Role] = &[Role::Fachverfahren, Role::Admin];
const READERS: &[Role] = &[Role::Fachverfahren, Role::Archivist, Role::Admin];

/// An Akte's retention status with where it stands in an Aussonderung.
#[derive(Clone, Debug)]
pub struct RetentionView {
    pub akte: Akte,
    pub status: RetentionStatus,
    /// Whether the retention has run out by the engine clock's today (and no hold stops it).
    pub due: bool,
    /// The open Aussonderung process the Akte is in, if any.
    pub process: Option<AkteInProcess>,
}

impl Engine {
    /// The Akten due for the Aussonderung today, in Aktenplan order, with the process each is in.
    pub async fn due_akten(
        &self,
        principal: Principal,
        limit: usize,
    ) -> Result<Vec<RetentionView>, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, ARCHIVE, "list the Akten due for the Aussonderung")?;
            let due = engine.records().due_akten(limit.max(1))?;
            due.into_iter()
                .map(|(akte, status)| {
                    let process = aussonderung::process_of(engine.store(), akte.id)?;
                    Ok(RetentionView { akte, status, due: true, process })
                })
                .collect()
        })
        .await
    }

    /// An Akte's retention, due date, hold and Aussonderung state.
    pub async fn retention(
        &self,
        principal: Principal,
        akte: AkteRef,
    ) -> Result<RetentionView, ServiceError> {
        self.blocking(move |engine| {
            let akte = engine.visible_akte(&principal, &akte, READERS, "read Akten")?;
            let status = engine.records().retention(&akte)?;
            let today = engine.store().clock().now().date_naive();
            let process = aussonderung::process_of(engine.store(), akte.id)?;
            Ok(RetentionView { due: status.is_due(today), akte, status, process })
        })
        .await
    }

    pub async fn place_hold(
        &self,
        principal: Principal,
        akte: AkteRef,
        reason: String,
    ) -> Result<Hold, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, HOLDERS, "place legal holds")?;
            Ok(engine.records().place_hold(&principal.name, &akte, &reason)?)
        })
        .await
    }

    pub async fn release_hold(
        &self,
        principal: Principal,
        akte: AkteRef,
        reason: String,
    ) -> Result<Hold, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, HOLDERS, "release legal holds")?;
            Ok(engine.records().release_hold(&principal.name, &akte, &reason)?)
        })
        .await
    }

    pub async fn holds(&self, principal: Principal) -> Result<Vec<Hold>, ServiceError> {
        self.blocking(move |engine| {
            require_role(&principal, HOLDERS, "list legal holds")?;
            Ok(engine.records().holds()?)
        })
        .await
    }

    /// Wiederaufnahme of a closed Akte. An Akte in an open Aussonderung process cannot be reopened: the
    /// archive is appraising what was offered.
    pub async fn reopen_akte(
        &self,
        principal: Principal,
        akte: AkteRef,
        reason: String,
    ) -> Result<Akte, ServiceError> {
        self.blocking(move |engine| {
            let record = engine.visible_akte(&principal, &akte, EDITORS, "reopen Akten")?;
            if let Some(process) = aussonderung::process_of(engine.store(), record.id)? {
                return Err(ServiceError::FailedPrecondition(format!(
                    "Akte {} is in Aussonderung process {} ({}); it cannot be reopened while the archive \
                     has it",
                    record.aktenzeichen, process.prozess_id, process.state
                )));
            }
            Ok(engine.records().reopen_akte(&principal.name, &AkteRef::Id(record.id), &reason)?)
        })
        .await
    }

    pub async fn correct_akte(
        &self,
        principal: Principal,
        akte: AkteRef,
        correction: AkteCorrection,
        reason: String,
    ) -> Result<Akte, ServiceError> {
        self.blocking(move |engine| {
            let record = engine.visible_akte(&principal, &akte, EDITORS, "correct Akten")?;
            Ok(engine.records().correct_akte(
                &principal.name,
                &AkteRef::Id(record.id),
                &correction,
                &reason,
            )?)
        })
        .await
    }

    pub async fn correct_dokument(
        &self,
        principal: Principal,
        dokument_id: u64,
        correction: DokumentCorrection,
        reason: String,
    ) -> Result<Dokument, ServiceError> {
        self.blocking(move |engine| {
            let (dokument, _) =
                engine.visible_dokument(&principal, dokument_id, EDITORS, "correct Dokumente")?;
            Ok(engine.records().correct_dokument(&principal.name, dokument.id, &correction, &reason)?)
        })
        .await
    }
}
