//! Conversions of the lifecycle service's messages: domain types into messages for the handlers, and
//! messages into the client's reports. Kept apart from `convert.rs` so that the lifecycle grows without
//! touching the other services' conversions.

use registratur_records::aktenplan::Retention;
use registratur_records::lifecycle::{AkteCorrection, DokumentCorrection, Hold, RetentionStatus};
use registratur_service::{AussonderungProcess, ProcessObject, RetentionView};

use super::client::ResponseError;
use super::client::lifecycle::{HoldReport, ProcessObjectReport, ProcessReport, RetentionReport};
use super::convert::{akte, akte_from_pb, time};
use super::pb;

pub(crate) fn hold(hold: &Hold) -> pb::Hold {
    pb::Hold {
        akte_id: hold.akte_id,
        aktenzeichen: hold.aktenzeichen.clone(),
        reason: hold.reason.clone(),
        placed_by: hold.placed_by.clone(),
        placed_at: time(&hold.placed_at),
    }
}

fn retention_text(status: &RetentionStatus) -> String {
    match status.retention {
        Some(Retention::Years(years)) => years.to_string(),
        Some(Retention::Unlimited) => "unbegrenzt".into(),
        None => String::new(),
    }
}

pub(crate) fn retention(view: &RetentionView) -> pb::Retention {
    let status = &view.status;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    pb::Retention {
        akte: Some(akte(&view.akte)),
        retention: retention_text(status),
        aussonderungsart: status.aussonderung.map(|a| a.code().to_string()).unwrap_or_default(),
        closed_on: date(status.closed_on),
        due_on: date(status.due_on),
        due: view.due,
        hold: status.hold.as_ref().map(hold),
        prozess_id: view.process.as_ref().map(|p| p.prozess_id.clone()).unwrap_or_default(),
        process_state: view.process.as_ref().map(|p| p.state.to_string()).unwrap_or_default(),
        appraisal: view
            .process
            .as_ref()
            .and_then(|p| p.appraisal)
            .map(|a| a.code().to_string())
            .unwrap_or_default(),
    }
}

fn process_object(object: &ProcessObject) -> pb::ProcessObject {
    pb::ProcessObject {
        uuid: object.uuid.clone(),
        kind: object.kind.as_str().into(),
        id: object.id,
        akte_id: object.akte_id,
        parent: object.parent.clone().unwrap_or_default(),
        label: object.label.clone(),
        appraisal: object.appraisal.map(|a| a.code().to_string()).unwrap_or_default(),
    }
}

pub(crate) fn process(process: &AussonderungProcess) -> pb::AussonderungProcess {
    pb::AussonderungProcess {
        prozess_id: process.prozess_id.clone(),
        state: process.state.to_string(),
        authority: process.authority.clone(),
        archive: process.archive.clone(),
        subtree: process.subtree.clone().unwrap_or_default(),
        offered_at: time(&process.offered_at),
        offered_by: process.offered_by.clone(),
        appraised_at: process.appraised_at.as_ref().map(time).unwrap_or_default(),
        appraised_by: process.appraised_by.clone().unwrap_or_default(),
        objects: process.objects.iter().map(process_object).collect(),
    }
}

pub(crate) fn akte_correction(request: &pb::CorrectAkteRequest) -> AkteCorrection {
    AkteCorrection { title: request.title.clone() }
}

pub(crate) fn dokument_correction(request: &pb::CorrectDokumentRequest) -> DokumentCorrection {
    DokumentCorrection {
        title: request.title.clone(),
        sender: request.sender.clone(),
        fremdes_geschaeftszeichen: request.fremdes_geschaeftszeichen.clone(),
    }
}

// ----- messages → the client's reports -----

pub(crate) fn hold_report(hold: pb::Hold) -> HoldReport {
    HoldReport {
        akte_id: hold.akte_id,
        aktenzeichen: hold.aktenzeichen,
        reason: hold.reason,
        placed_by: hold.placed_by,
        placed_at: hold.placed_at,
    }
}

pub(crate) fn retention_report(retention: pb::Retention) -> Result<RetentionReport, ResponseError> {
    let akte = akte_from_pb(retention.akte.ok_or(ResponseError::Missing("akte"))?)?;
    Ok(RetentionReport {
        akte,
        retention: retention.retention,
        aussonderungsart: retention.aussonderungsart,
        closed_on: retention.closed_on,
        due_on: retention.due_on,
        due: retention.due,
        hold: retention.hold.map(hold_report),
        prozess_id: retention.prozess_id,
        process_state: retention.process_state,
        appraisal: retention.appraisal,
    })
}

pub(crate) fn process_report(process: pb::AussonderungProcess) -> ProcessReport {
    ProcessReport {
        prozess_id: process.prozess_id,
        state: process.state,
        authority: process.authority,
        archive: process.archive,
        subtree: process.subtree,
        offered_at: process.offered_at,
        offered_by: process.offered_by,
        appraised_at: process.appraised_at,
        appraised_by: process.appraised_by,
        objects: process
            .objects
            .into_iter()
            .map(|o| ProcessObjectReport {
                uuid: o.uuid,
                kind: o.kind,
                id: o.id,
                akte_id: o.akte_id,
                parent: o.parent,
                label: o.label,
                appraisal: o.appraisal,
            })
            .collect(),
    }
}
