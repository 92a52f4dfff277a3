//! The client side of `registratur.v1.LifecycleService`: retention, holds, reopening, corrections and
//! the Aussonderung (offer, appraisal import, process status), with reports the CLI prints.

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{Client, ClientError, akte_ref};
use crate::convert::document_from_pb;
use crate::convert_lifecycle::{hold_report, process_report, retention_report};
use crate::pb;
use registratur_records::lifecycle::DokumentCorrection;
use registratur_records::model::Akte;
use registratur_records::repo::AkteRef;
use registratur_service::DokumentDetails;

/// A legal hold.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HoldReport {
    pub akte_id: u64,
    pub aktenzeichen: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: String,
}

/// An Akte's retention and where it stands in the Aussonderung; empty strings for what does not apply.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RetentionReport {
    pub akte: Akte,
    /// Years, `unbegrenzt`, or empty.
    pub retention: String,
    pub aussonderungsart: String,
    pub closed_on: String,
    pub due_on: String,
    pub due: bool,
    pub hold: Option<HoldReport>,
    pub prozess_id: String,
    pub process_state: String,
    pub appraisal: String,
}

/// One object of an Aussonderung process.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProcessObjectReport {
    pub uuid: String,
    pub kind: String,
    pub id: u64,
    pub akte_id: u64,
    pub parent: String,
    pub label: String,
    pub appraisal: String,
}

/// An Aussonderung process.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProcessReport {
    pub prozess_id: String,
    pub state: String,
    pub authority: String,
    pub archive: String,
    pub subtree: String,
    pub offered_at: String,
    pub offered_by: String,
    pub appraised_at: String,
    pub appraised_by: String,
    pub objects: Vec<ProcessObjectReport>,
}

impl Client {
    /// The Akten due for the Aussonderung today (`limit` 0: the server's default).
    pub async fn due_akten(&mut self, limit: u32) -> Result<Vec<RetentionReport>, ClientError> {
        let response = self.lifecycle.list_due(pb::ListDueRequest { limit }).await?.into_inner();
        Ok(response.akten.into_iter().map(retention_report).collect::<Result<_, _>>()?)
    }

    pub async fn place_hold(&mut self, akte: &AkteRef, reason: &str) -> Result<HoldReport, ClientError> {
        let request = pb::HoldRequest { akte: akte_ref(akte), reason: reason.into() };
        Ok(hold_report(self.lifecycle.place_hold(request).await?.into_inner()))
    }

    pub async fn release_hold(&mut self, akte: &AkteRef, reason: &str) -> Result<HoldReport, ClientError> {
        let request = pb::HoldRequest { akte: akte_ref(akte), reason: reason.into() };
        Ok(hold_report(self.lifecycle.release_hold(request).await?.into_inner()))
    }

    pub async fn holds(&mut self) -> Result<Vec<HoldReport>, ClientError> {
        let response = self.lifecycle.list_holds(pb::ListHoldsRequest {}).await?.into_inner();
        Ok(response.holds.into_iter().map(hold_report).collect())
    }

    pub async fn reopen_akte(&mut self, akte: &AkteRef, reason: &str) -> Result<Akte, ClientError> {
        let request = pb::ReopenAkteRequest { akte: akte_ref(akte), reason: reason.into() };
        Ok(crate::convert::akte_from_pb(self.lifecycle.reopen_akte(request).await?.into_inner())?)
    }

    pub async fn correct_akte(
        &mut self,
        akte: &AkteRef,
        title: Option<String>,
        reason: &str,
    ) -> Result<Akte, ClientError> {
        let request = pb::CorrectAkteRequest { akte: akte_ref(akte), title, reason: reason.into() };
        Ok(crate::convert::akte_from_pb(self.lifecycle.correct_akte(request).await?.into_inner())?)
    }

    pub async fn correct_dokument(
        &mut self,
        document_id: u64,
        correction: DokumentCorrection,
        reason: &str,
    ) -> Result<DokumentDetails, ClientError> {
        let request = pb::CorrectDokumentRequest {
            document_id,
            title: correction.title,
            sender: correction.sender,
            fremdes_geschaeftszeichen: correction.fremdes_geschaeftszeichen,
            reason: reason.into(),
        };
        Ok(document_from_pb(self.lifecycle.correct_dokument(request).await?.into_inner())?)
    }

    pub async fn retention(&mut self, akte: &AkteRef) -> Result<RetentionReport, ClientError> {
        let request = pb::GetRetentionRequest { akte: akte_ref(akte) };
        Ok(retention_report(self.lifecycle.get_retention(request).await?.into_inner())?)
    }

    /// Offers the due Akten (within `subtree`, if given) and writes the 0501 to `out`.
    pub async fn offer(
        &mut self,
        subtree: Option<&str>,
        authority: &str,
        archive: &str,
        out: &mut (impl AsyncWrite + Unpin),
    ) -> Result<ProcessReport, ClientError> {
        let request = pb::OfferRequest {
            aktenplan_key: subtree.unwrap_or_default().into(),
            authority: authority.into(),
            archive: archive.into(),
        };
        let mut stream = self.lifecycle.offer(request).await?.into_inner();
        let first = stream.message().await?.ok_or_else(|| {
            ClientError::InvalidResponse("the offer stream ended before its process".into())
        })?;
        let process = first
            .process
            .ok_or_else(|| ClientError::InvalidResponse("the offer's first message has no process".into()))?;
        while let Some(message) = stream.message().await? {
            out.write_all(&message.chunk).await?;
        }
        out.flush().await?;
        Ok(process_report(process))
    }

    pub async fn aussonderung_process(&mut self, prozess_id: &str) -> Result<ProcessReport, ClientError> {
        let request = pb::GetProcessRequest { prozess_id: prozess_id.into() };
        Ok(process_report(self.lifecycle.get_process(request).await?.into_inner()))
    }

    /// Imports the archive's 0502 (XML or zip); returns the process and the 0505 receipt.
    pub async fn import_appraisal(
        &mut self,
        message: Vec<u8>,
    ) -> Result<(ProcessReport, Vec<u8>), ClientError> {
        let response =
            self.lifecycle.import_appraisal(pb::ImportAppraisalRequest { message }).await?.into_inner();
        let process = response
            .process
            .ok_or_else(|| ClientError::InvalidResponse("the appraisal answer has no process".into()))?;
        Ok((process_report(process), response.receipt))
    }

    /// Streams the 0503 package of an appraised process into `out`; returns its file name and size.
    pub async fn handover(
        &mut self,
        prozess_id: &str,
        out: &mut (impl AsyncWrite + Unpin),
        mut progress: impl FnMut(u64),
    ) -> Result<(String, u64), ClientError> {
        let request = pb::HandoverRequest { prozess_id: prozess_id.into() };
        let mut stream = self.lifecycle.handover(request).await?.into_inner();
        let first = stream.message().await?.ok_or_else(|| {
            ClientError::InvalidResponse("the handover stream ended before its file name".into())
        })?;
        let mut written = 0u64;
        while let Some(message) = stream.message().await? {
            out.write_all(&message.chunk).await?;
            written += message.chunk.len() as u64;
            progress(written);
        }
        out.flush().await?;
        Ok((first.file_name, written))
    }
}
