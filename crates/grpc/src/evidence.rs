//! `registratur.v1.EvidenceService`: the handlers (decode → call the engine → encode → map the error)
//! and the client's calls.

use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};

use super::auth::principal;
use super::client::{Client, ClientError, ResponseError};
use super::pb::{self, evidence_service_server::EvidenceService};
use super::status::to_status;
use registratur_service::Engine;
use registratur_service::evidence::{AnchorStatus, EvidenceExport, EvidenceFile, EvidenceStatus};

pub(crate) struct EvidenceHandlers {
    pub(crate) engine: Engine,
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| super::convert::time(&at)).unwrap_or_default()
}

#[tonic::async_trait]
impl EvidenceService for EvidenceHandlers {
    async fn export_evidence(
        &self,
        request: Request<pb::ExportEvidenceRequest>,
    ) -> Result<Response<pb::ExportEvidenceResponse>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let version = (request.version != 0).then_some(request.version);
        let export =
            self.engine.export_evidence(principal, request.document_id, version).await.map_err(to_status)?;
        Ok(Response::new(pb::ExportEvidenceResponse {
            document_id: export.dokument_id,
            version: export.version,
            tree: export.tree,
            timestamped_at: super::convert::time(&export.gen_time),
            files: export
                .files
                .into_iter()
                .map(|file| pb::EvidenceRecordFile { kind: file.kind, sha256: file.sha256, ers: file.ers })
                .collect(),
        }))
    }

    async fn get_evidence_status(
        &self,
        request: Request<pb::GetEvidenceStatusRequest>,
    ) -> Result<Response<pb::GetEvidenceStatusResponse>, Status> {
        let principal = principal(&request)?.clone();
        let status = self.engine.evidence_status(principal).await.map_err(to_status)?;
        let (error_at, error) = status.last_error.map(|(at, e)| (Some(at), e)).unwrap_or_default();
        Ok(Response::new(pb::GetEvidenceStatusResponse {
            enabled: status.enabled,
            tsa_url: status.tsa_url,
            pending_trees: status.pending_trees,
            oldest_pending: time(status.oldest_pending),
            stamped_trees: status.stamped_trees,
            last_stamped_tree: status.last_stamped.map_or(0, |(id, _)| id),
            last_stamped_at: time(status.last_stamped.map(|(_, at)| at)),
            last_error: error,
            last_error_at: time(error_at),
            next_tree_at: time(status.next_tree_at),
            stamp_failures: status.stamp_failures,
            anchored_journal_seq: status.anchored.as_ref().map_or(0, |a| a.seq),
            anchored_journal_hash: status.anchored.as_ref().map(|a| a.hash.clone()).unwrap_or_default(),
            anchor_intact: status.anchored.as_ref().is_some_and(|a| a.intact),
        }))
    }
}

fn parse_time(field: &'static str, text: &str) -> Result<Option<DateTime<Utc>>, ResponseError> {
    if text.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|error| ResponseError::Time { field, error })
}

impl Client {
    /// The evidence records of a Version (`None`: the current one).
    pub async fn export_evidence(
        &mut self,
        dokument_id: u64,
        version: Option<u32>,
    ) -> Result<EvidenceExport, ClientError> {
        let request = pb::ExportEvidenceRequest { document_id: dokument_id, version: version.unwrap_or(0) };
        let response = self.evidence.export_evidence(request).await?.into_inner();
        Ok(EvidenceExport {
            dokument_id: response.document_id,
            version: response.version,
            tree: response.tree,
            gen_time: parse_time("timestamped_at", &response.timestamped_at)?
                .ok_or(ResponseError::Missing("timestamped_at"))?,
            files: response
                .files
                .into_iter()
                .map(|file| EvidenceFile { kind: file.kind, sha256: file.sha256, ers: file.ers })
                .collect(),
        })
    }

    /// The evidence queue.
    pub async fn evidence_status(&mut self) -> Result<EvidenceStatus, ClientError> {
        let r = self.evidence.get_evidence_status(pb::GetEvidenceStatusRequest {}).await?.into_inner();
        let last_error = parse_time("last_error_at", &r.last_error_at)?
            .map(|at| (at, r.last_error.clone()))
            .filter(|(_, e)| !e.is_empty());
        let last_stamped_at = parse_time("last_stamped_at", &r.last_stamped_at)?;
        let anchored = if r.anchored_journal_seq == 0 {
            None
        } else {
            Some(AnchorStatus {
                seq: r.anchored_journal_seq,
                hash: r.anchored_journal_hash,
                gen_time: last_stamped_at.ok_or(ResponseError::Missing("last_stamped_at"))?,
                intact: r.anchor_intact,
            })
        };
        Ok(EvidenceStatus {
            enabled: r.enabled,
            tsa_url: r.tsa_url,
            pending_trees: r.pending_trees,
            oldest_pending: parse_time("oldest_pending", &r.oldest_pending)?,
            stamped_trees: r.stamped_trees,
            last_stamped: last_stamped_at
                .filter(|_| r.last_stamped_tree != 0)
                .map(|at| (r.last_stamped_tree, at)),
            last_error,
            next_tree_at: parse_time("next_tree_at", &r.next_tree_at)?,
            stamp_failures: r.stamp_failures,
            anchored,
        })
    }
}
