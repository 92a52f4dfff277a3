//! Conversions between generated protobuf messages and domain types, in one place.

use chrono::{DateTime, SecondsFormat, Utc};
use registratur_storage::BlobDigest;

use super::client::ResponseError;
use super::pb;
use registratur_records::aktenzeichen::AktenplanKey;
use registratur_records::model::{
    Akte, AkteState, Channel, Content, Dokument, Eingang, Rendition, RenditionKind, Version, Vorgang,
};
use registratur_records::repo::AkteRef;
use registratur_service::{DokumentDetails, HistoryItem, ServiceError};

pub(crate) fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn digest(digest: &BlobDigest) -> pb::BlobDigest {
    pb::BlobDigest { blake3: digest.blake3.to_hex(), sha256: digest.sha256.to_hex(), size: digest.size }
}

/// A required `AkteRef` field.
pub(crate) fn akte_ref(akte: Option<pb::AkteRef>) -> Result<AkteRef, ServiceError> {
    match akte.and_then(|a| a.by) {
        Some(pb::akte_ref::By::Id(id)) => Ok(AkteRef::Id(id)),
        Some(pb::akte_ref::By::Aktenzeichen(text)) => Ok(AkteRef::Aktenzeichen(text)),
        None => Err(ServiceError::InvalidArgument("missing akte: give its id or its Aktenzeichen".into())),
    }
}

pub(crate) fn akte(akte: &Akte) -> pb::Akte {
    let (state, closed_at, closed_by) = match &akte.state {
        AkteState::Open => ("open", String::new(), String::new()),
        AkteState::Closed { at, by } => ("closed", time(at), by.clone()),
    };
    pb::Akte {
        id: akte.id,
        aktenzeichen: akte.aktenzeichen.clone(),
        aktenplan_key: akte.key.to_string(),
        title: akte.title.clone(),
        state: state.into(),
        created_at: time(&akte.created_at),
        created_by: akte.created_by.clone(),
        closed_at,
        closed_by,
    }
}

pub(crate) fn vorgang(vorgang: &Vorgang) -> pb::Vorgang {
    pb::Vorgang {
        id: vorgang.id,
        akte_id: vorgang.akte_id,
        title: vorgang.title.clone(),
        created_at: time(&vorgang.created_at),
        created_by: vorgang.created_by.clone(),
    }
}

pub(crate) fn content(content: &Content) -> pb::Content {
    pb::Content {
        blake3: content.blake3.clone(),
        sha256: content.sha256.clone(),
        size: content.size,
        media_type: content.media_type.clone(),
        filename: content.filename.clone(),
    }
}

fn version(version: &Version) -> pb::Version {
    pb::Version {
        number: version.number,
        created_at: time(&version.created_at),
        created_by: version.created_by.clone(),
        reason: version.reason.clone(),
        original: Some(content(&version.original)),
        renditions: version
            .renditions
            .iter()
            .map(|r| pb::Rendition { kind: r.kind.to_string(), content: Some(content(&r.content)) })
            .collect(),
        derived_from: version.derived_from.unwrap_or(0),
    }
}

pub(crate) fn document(details: &DokumentDetails) -> pb::Document {
    let dokument = &details.dokument;
    pb::Document {
        id: dokument.id,
        akte_id: dokument.akte_id,
        aktenzeichen: details.aktenzeichen.clone(),
        vorgang_id: dokument.vorgang_id.unwrap_or(0),
        title: dokument.title.clone(),
        sender: dokument.sender.clone(),
        fremdes_geschaeftszeichen: dokument.fremdes_geschaeftszeichen.clone(),
        eingang: Some(pb::Eingang {
            posteingangsdatum: dokument.eingang.posteingangsdatum.to_string(),
            channel: dokument.eingang.channel.as_str().into(),
            source: dokument.eingang.source.clone(),
            received_at: time(&dokument.eingang.received_at),
        }),
        versions: details.versions.iter().map(version).collect(),
        created_by: dokument.created_by.clone(),
        current_version: dokument.current_version,
    }
}

pub(crate) fn history_entry(item: &HistoryItem) -> pb::HistoryEntry {
    pb::HistoryEntry {
        seq: item.seq,
        time: time(&item.time),
        actor: item.actor.clone(),
        action: item.action.clone(),
        details_json: item.details.clone(),
        entry_hash: item.entry_hash.clone(),
    }
}

// ----- messages → domain types, for the client -----

fn parse_time(text: &str, field: &'static str) -> Result<DateTime<Utc>, ResponseError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|error| ResponseError::Time { field, error })
}

fn parse_date(text: &str, field: &'static str) -> Result<chrono::NaiveDate, ResponseError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|error| ResponseError::Date {
        field,
        text: text.to_string(),
        error,
    })
}

pub(crate) fn akte_from_pb(akte: pb::Akte) -> Result<Akte, ResponseError> {
    let state = match akte.state.as_str() {
        "open" => AkteState::Open,
        "closed" => AkteState::Closed { at: parse_time(&akte.closed_at, "closed_at")?, by: akte.closed_by },
        other => return Err(ResponseError::Unknown { what: "Akte state", value: other.to_string() }),
    };
    Ok(Akte {
        id: akte.id,
        aktenzeichen: akte.aktenzeichen,
        key: AktenplanKey::parse(&akte.aktenplan_key)?,
        title: akte.title,
        state,
        created_at: parse_time(&akte.created_at, "created_at")?,
        created_by: akte.created_by,
    })
}

pub(crate) fn vorgang_from_pb(vorgang: pb::Vorgang) -> Result<Vorgang, ResponseError> {
    Ok(Vorgang {
        id: vorgang.id,
        akte_id: vorgang.akte_id,
        title: vorgang.title,
        created_at: parse_time(&vorgang.created_at, "created_at")?,
        created_by: vorgang.created_by,
    })
}

pub(crate) fn content_from_pb(content: Option<pb::Content>) -> Result<Content, ResponseError> {
    let content = content.ok_or(ResponseError::Missing("content"))?;
    Ok(Content {
        blake3: content.blake3,
        sha256: content.sha256,
        size: content.size,
        media_type: content.media_type,
        filename: content.filename,
    })
}

fn version_from_pb(version: pb::Version) -> Result<Version, ResponseError> {
    Ok(Version {
        number: version.number,
        created_at: parse_time(&version.created_at, "created_at")?,
        created_by: version.created_by,
        reason: version.reason,
        original: content_from_pb(version.original)?,
        renditions: version
            .renditions
            .into_iter()
            .map(|r| {
                Ok(Rendition { kind: RenditionKind::parse(&r.kind), content: content_from_pb(r.content)? })
            })
            .collect::<Result<_, ResponseError>>()?,
        derived_from: Some(version.derived_from).filter(|&v| v != 0),
    })
}

pub(crate) fn document_from_pb(document: pb::Document) -> Result<DokumentDetails, ResponseError> {
    let eingang = document.eingang.ok_or(ResponseError::Missing("eingang"))?;
    let dokument = Dokument {
        id: document.id,
        akte_id: document.akte_id,
        vorgang_id: Some(document.vorgang_id).filter(|&id| id != 0),
        title: document.title,
        sender: document.sender,
        fremdes_geschaeftszeichen: document.fremdes_geschaeftszeichen,
        eingang: Eingang {
            posteingangsdatum: parse_date(&eingang.posteingangsdatum, "posteingangsdatum")?,
            channel: Channel::parse(&eingang.channel)
                .ok_or_else(|| ResponseError::Unknown { what: "channel", value: eingang.channel.clone() })?,
            source: eingang.source,
            received_at: parse_time(&eingang.received_at, "received_at")?,
        },
        created_by: document.created_by,
        current_version: document.current_version,
    };
    let versions = document.versions.into_iter().map(version_from_pb).collect::<Result<_, _>>()?;
    Ok(DokumentDetails { dokument, aktenzeichen: document.aktenzeichen, versions })
}

pub(crate) fn history_from_pb(entry: pb::HistoryEntry) -> Result<HistoryItem, ResponseError> {
    Ok(HistoryItem {
        seq: entry.seq,
        time: parse_time(&entry.time, "time")?,
        actor: entry.actor,
        action: entry.action,
        details: entry.details_json,
        entry_hash: entry.entry_hash,
    })
}

// ----- mailroom -----

pub(crate) fn new_batch(header: pb::BatchHeader) -> registratur_service::NewBatch {
    registratur_service::NewBatch {
        scanner_batch_id: header.scanner_batch_id,
        channel: header.channel,
        posteingangsdatum: header.posteingangsdatum,
        operator: header.operator,
        dpi: header.dpi,
        colour_mode: header.colour_mode,
        device: header.device,
        duplex: header.duplex,
        expected_sheets: Some(header.expected_sheets).filter(|n| *n > 0),
        scanned_at: Some(header.scanned_at).filter(|s| !s.is_empty()),
    }
}

pub(crate) fn batch_header(batch: registratur_service::NewBatch) -> pb::BatchHeader {
    pb::BatchHeader {
        scanner_batch_id: batch.scanner_batch_id,
        channel: batch.channel,
        posteingangsdatum: batch.posteingangsdatum,
        operator: batch.operator,
        dpi: batch.dpi,
        colour_mode: batch.colour_mode,
        device: batch.device,
        duplex: batch.duplex,
        expected_sheets: batch.expected_sheets.unwrap_or(0),
        scanned_at: batch.scanned_at.unwrap_or_default(),
    }
}

pub(crate) fn stored_file(content: &Content) -> pb::StoredFile {
    pb::StoredFile {
        filename: content.filename.clone(),
        blake3: content.blake3.clone(),
        sha256: content.sha256.clone(),
        size: content.size,
    }
}

pub(crate) fn piece(piece: &registratur_mailroom::ingest::model::PieceRecord) -> pb::Piece {
    use registratur_mailroom::ingest::model::PieceDestination;
    let mut out = pb::Piece {
        index: piece.piece,
        evidence: piece.evidence.clone(),
        pages: piece.pages.iter().map(|p| pb::PageRef { file: p.file, page: p.page }).collect(),
        blank_pages_removed: piece.protocol.blank_pages.len() as u32,
        rendition_sha256: piece.rendition.sha256.clone(),
        qc: piece.protocol.qc.clone(),
        ..Default::default()
    };
    match &piece.destination {
        PieceDestination::Filed { akte_id, aktenzeichen, dokument_id, method } => {
            out.outcome = "filed".into();
            out.akte_id = *akte_id;
            out.aktenzeichen = aktenzeichen.clone();
            out.dokument_id = *dokument_id;
            out.method = method.as_str().into();
        }
        PieceDestination::Klaerfall { klaerfall_id, reason, detail } => {
            out.outcome = "klaerfall".into();
            out.klaerfall_id = *klaerfall_id;
            out.reason = reason.as_str().into();
            out.detail = detail.clone();
        }
    }
    out
}

pub(crate) fn batch_summary(summary: &registratur_mailroom::ingest::model::BatchSummary) -> pb::BatchSummary {
    pb::BatchSummary {
        files: summary
            .files
            .iter()
            .map(|f| pb::FileOutcome {
                file: f.file,
                filename: f.filename.clone(),
                format: f.format.clone(),
                pages: f.pages,
                error: f.error.clone().unwrap_or_default(),
            })
            .collect(),
        pieces: summary.pieces,
        pages_fed: summary.pages_fed,
        pages_stored: summary.pages_stored,
        blank_removed: summary.blank_removed,
        separator_sheets: summary.separator_sheets,
        invariant_holds: summary.invariant_holds,
        qc: summary.qc.clone(),
        finished_at: time(&summary.finished_at),
    }
}

pub(crate) fn batch_status(view: &registratur_service::BatchView) -> pb::BatchStatus {
    pb::BatchStatus {
        batch_id: view.batch.id,
        scanner_batch_id: view.batch.header.scanner_batch_id.clone(),
        state: view.state.as_str().into(),
        received_at: time(&view.batch.received_at),
        files: view.batch.files.iter().map(|f| stored_file(&f.content)).collect(),
        pieces: view.pieces.iter().map(piece).collect(),
        summary: view.summary.as_ref().map(batch_summary),
    }
}

pub(crate) fn batch_query(request: &pb::ListBatchesRequest) -> registratur_service::BatchQuery {
    registratur_service::BatchQuery {
        state: request.state.clone(),
        from: request.from.clone(),
        to: request.to.clone(),
        after: request.after_batch_id,
        limit: request.limit,
    }
}

pub(crate) fn batch_list_entry(
    listing: &registratur_mailroom::ingest::repo::BatchListing,
) -> pb::BatchListEntry {
    let batch = &listing.batch;
    pb::BatchListEntry {
        batch_id: batch.id,
        scanner_batch_id: batch.header.scanner_batch_id.clone(),
        state: listing.state.as_str().into(),
        posteingangsdatum: batch.header.posteingangsdatum.to_string(),
        received_at: time(&batch.received_at),
        received_by: batch.received_by.clone(),
        operator: batch.header.operator.clone(),
        files: batch.files.len() as u32,
        pieces_done: listing.pieces_done,
    }
}

pub(crate) fn batch_list_report(entry: pb::BatchListEntry) -> super::client::BatchListReport {
    super::client::BatchListReport {
        batch_id: entry.batch_id,
        scanner_batch_id: entry.scanner_batch_id,
        state: entry.state,
        posteingangsdatum: entry.posteingangsdatum,
        received_at: entry.received_at,
        received_by: entry.received_by,
        operator: entry.operator,
        files: entry.files,
        pieces_done: entry.pieces_done,
    }
}

pub(crate) fn klaerfall(klaerfall: &registratur_mailroom::ingest::model::Klaerfall) -> pb::Klaerfall {
    use registratur_mailroom::ingest::model::KlaerfallState;
    let mut out = pb::Klaerfall {
        id: klaerfall.id,
        batch_id: klaerfall.batch_id,
        piece: klaerfall.piece,
        reason: klaerfall.reason.as_str().into(),
        detail: klaerfall.detail.clone(),
        evidence: klaerfall.evidence.clone(),
        candidates: klaerfall.candidates.clone(),
        posteingangsdatum: klaerfall.posteingangsdatum.to_string(),
        pages: klaerfall.pages,
        excerpt: klaerfall.excerpt.clone(),
        created_at: time(&klaerfall.created_at),
        state: "open".into(),
        rendition_sha256: klaerfall.rendition.sha256.clone(),
        ..Default::default()
    };
    if let KlaerfallState::Resolved { akte_id, aktenzeichen, dokument_id, by, at, note } = &klaerfall.state {
        out.state = "resolved".into();
        out.resolved_akte_id = *akte_id;
        out.resolved_aktenzeichen = aktenzeichen.clone();
        out.resolved_dokument_id = *dokument_id;
        out.resolved_by = by.clone();
        out.resolved_at = time(at);
        out.resolved_note = note.clone();
    }
    out
}

pub(crate) fn piece_report(p: pb::Piece) -> super::client::PieceReport {
    super::client::PieceReport {
        piece: p.index + 1,
        outcome: p.outcome,
        akte_id: p.akte_id,
        aktenzeichen: p.aktenzeichen,
        dokument_id: p.dokument_id,
        method: p.method,
        klaerfall_id: p.klaerfall_id,
        reason: p.reason,
        detail: p.detail,
        evidence: p.evidence,
        pages: p.pages.iter().map(|r| (r.file + 1, r.page + 1)).collect(),
        blank_pages_removed: p.blank_pages_removed,
        qc: p.qc,
    }
}

pub(crate) fn summary_report(s: pb::BatchSummary) -> super::client::BatchSummaryReport {
    super::client::BatchSummaryReport {
        files: s.files.into_iter().map(|f| (f.filename, f.format, f.pages, f.error)).collect(),
        pieces: s.pieces,
        pages_fed: s.pages_fed,
        pages_stored: s.pages_stored,
        blank_removed: s.blank_removed,
        separator_sheets: s.separator_sheets,
        invariant_holds: s.invariant_holds,
        qc: s.qc,
    }
}

pub(crate) fn klaerfall_report(k: pb::Klaerfall) -> super::client::KlaerfallReport {
    super::client::KlaerfallReport {
        id: k.id,
        batch_id: k.batch_id,
        piece: k.piece + 1,
        reason: k.reason,
        detail: k.detail,
        evidence: k.evidence,
        candidates: k.candidates,
        posteingangsdatum: k.posteingangsdatum,
        pages: k.pages,
        excerpt: k.excerpt,
        created_at: k.created_at,
        rendition_sha256: k.rendition_sha256,
        state: k.state,
        resolved_akte_id: k.resolved_akte_id,
        resolved_aktenzeichen: k.resolved_aktenzeichen,
        resolved_dokument_id: k.resolved_dokument_id,
        resolved_by: k.resolved_by,
        resolved_at: k.resolved_at,
        resolved_note: k.resolved_note,
    }
}

// ----- search -----

fn optional_date(text: &str, field: &str) -> Result<Option<chrono::NaiveDate>, ServiceError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map(Some).map_err(|_| {
        ServiceError::InvalidArgument(format!("{field} {text:?} is not a date; write YYYY-MM-DD"))
    })
}

pub(crate) fn search_query(
    request: pb::SearchRequest,
) -> Result<registratur_search::SearchRequest, ServiceError> {
    use registratur_search::SortOrder;
    let order = match pb::SortBy::try_from(request.sort) {
        Ok(pb::SortBy::SortDefault) => None,
        Ok(pb::SortBy::SortRelevance) => Some(SortOrder::Relevance),
        Ok(pb::SortBy::SortNewestFirst) => Some(SortOrder::NewestFirst),
        Ok(pb::SortBy::SortOldestFirst) => Some(SortOrder::OldestFirst),
        Err(_) => return Err(ServiceError::InvalidArgument(format!("unknown sort {}", request.sort))),
    };
    let akte_open = match pb::AkteStateFilter::try_from(request.akte_state) {
        Ok(pb::AkteStateFilter::AkteStateAny) => None,
        Ok(pb::AkteStateFilter::AkteStateOpen) => Some(true),
        Ok(pb::AkteStateFilter::AkteStateClosed) => Some(false),
        Err(_) => {
            return Err(ServiceError::InvalidArgument(format!("unknown akte_state {}", request.akte_state)));
        }
    };
    Ok(registratur_search::SearchRequest {
        filters: registratur_search::SearchFilters {
            from: optional_date(&request.from, "from")?,
            to: optional_date(&request.to, "to")?,
            units: request.units,
            aktenzeichen: Some(request.aktenzeichen),
            channels: request.channels,
            media_types: request.media_types,
            akte_open,
        },
        query: request.query,
        order,
        limit: request.limit as usize,
        cursor: Some(request.cursor),
    })
}

pub(crate) fn search_request(query: &registratur_search::SearchRequest) -> pb::SearchRequest {
    use registratur_search::SortOrder;
    let date = |date: Option<chrono::NaiveDate>| date.map(|d| d.to_string()).unwrap_or_default();
    pb::SearchRequest {
        query: query.query.clone(),
        units: query.filters.units.clone(),
        aktenzeichen: query.filters.aktenzeichen.clone().unwrap_or_default(),
        from: date(query.filters.from),
        to: date(query.filters.to),
        channels: query.filters.channels.clone(),
        media_types: query.filters.media_types.clone(),
        akte_state: match query.filters.akte_open {
            None => pb::AkteStateFilter::AkteStateAny,
            Some(true) => pb::AkteStateFilter::AkteStateOpen,
            Some(false) => pb::AkteStateFilter::AkteStateClosed,
        } as i32,
        sort: match query.order {
            None => pb::SortBy::SortDefault,
            Some(SortOrder::Relevance) => pb::SortBy::SortRelevance,
            Some(SortOrder::NewestFirst) => pb::SortBy::SortNewestFirst,
            Some(SortOrder::OldestFirst) => pb::SortBy::SortOldestFirst,
        } as i32,
        limit: query.limit as u32,
        cursor: query.cursor.clone().unwrap_or_default(),
    }
}

pub(crate) fn search_response(results: &registratur_search::SearchResults) -> pb::SearchResponse {
    pb::SearchResponse {
        total: results.total,
        hits: results.hits.iter().map(search_hit).collect(),
        next_cursor: results.next_cursor.clone().unwrap_or_default(),
        indexed_through: results.indexed_through,
    }
}

fn search_hit(hit: &registratur_search::SearchHit) -> pb::SearchHit {
    let d = &hit.dokument;
    pb::SearchHit {
        dokument_id: d.dokument_id,
        akte_id: d.akte_id,
        aktenzeichen: d.aktenzeichen.clone(),
        title: d.title.clone(),
        sender: d.sender.clone(),
        posteingangsdatum: d.posteingangsdatum.to_string(),
        channel: d.channel.clone(),
        media_type: d.media_type.clone(),
        akte_state: if d.akte_open { "open" } else { "closed" }.into(),
        version: d.version,
        score: hit.score,
        snippet: Some(pb::Snippet {
            text: hit.snippet.text.clone(),
            highlights: hit
                .snippet
                .highlights
                .iter()
                .map(|r| pb::Highlight { start: r.start as u32, end: r.end as u32 })
                .collect(),
        }),
    }
}

/// A page of results as the client sees it (Dokumente without their text).
pub(crate) fn search_results(
    response: pb::SearchResponse,
) -> Result<registratur_search::SearchResults, ResponseError> {
    let hits = response
        .hits
        .into_iter()
        .map(|hit| {
            let posteingangsdatum = parse_date(&hit.posteingangsdatum, "posteingangsdatum")?;
            let snippet = hit.snippet.unwrap_or_default();
            Ok(registratur_search::SearchHit {
                dokument: registratur_search::schema::IndexedDokument {
                    dokument_id: hit.dokument_id,
                    akte_id: hit.akte_id,
                    unit: String::new(),
                    aktenzeichen: hit.aktenzeichen,
                    title: hit.title,
                    sender: hit.sender,
                    fremdes_geschaeftszeichen: String::new(),
                    body: String::new(),
                    posteingangsdatum,
                    channel: hit.channel,
                    media_type: hit.media_type,
                    akte_open: hit.akte_state == "open",
                    version: hit.version,
                },
                score: hit.score,
                snippet: registratur_search::Snippet {
                    highlights: snippet
                        .highlights
                        .iter()
                        .filter(|h| h.start <= h.end && (h.end as usize) <= snippet.text.len())
                        .map(|h| h.start as usize..h.end as usize)
                        .collect(),
                    text: snippet.text,
                },
            })
        })
        .collect::<Result<_, ResponseError>>()?;
    Ok(registratur_search::SearchResults {
        total: response.total,
        hits,
        next_cursor: Some(response.next_cursor).filter(|c| !c.is_empty()),
        indexed_through: response.indexed_through,
    })
}

pub(crate) fn migration_scope(scope: Option<pb::MigrationScope>) -> registratur_service::ScopeRequest {
    let scope = scope.unwrap_or_default();
    registratur_service::ScopeRequest { unit: Some(scope.unit), aktenzeichen: Some(scope.aktenzeichen) }
}

pub(crate) fn job_mode(mode: i32) -> Result<registratur_migrate::JobMode, ServiceError> {
    match pb::JobMode::try_from(mode) {
        Ok(pb::JobMode::Plan) => Ok(registratur_migrate::JobMode::Plan),
        Ok(pb::JobMode::Migrate) => Ok(registratur_migrate::JobMode::Migrate),
        _ => Err(ServiceError::InvalidArgument(
            "mode must be JOB_MODE_PLAN (a dry run) or JOB_MODE_MIGRATE".into(),
        )),
    }
}

pub(crate) fn census_row(row: &registratur_migrate::CensusRow) -> pb::CensusRow {
    pb::CensusRow {
        unit: row.unit.clone(),
        puid: row.puid.clone(),
        format_name: row.name.clone(),
        format_version: row.version.clone(),
        dokumente: row.dokumente,
        bytes: row.bytes,
    }
}

pub(crate) fn census_row_from_pb(row: pb::CensusRow) -> registratur_migrate::CensusRow {
    registratur_migrate::CensusRow {
        unit: row.unit,
        puid: row.puid,
        name: row.format_name,
        version: row.format_version,
        dokumente: row.dokumente,
        bytes: row.bytes,
    }
}

pub(crate) fn migration_job(view: &registratur_service::JobView) -> pb::MigrationJob {
    use registratur_migrate::{Control, JobMode};
    let (job, progress) = (&view.job, &view.progress);
    let counts = &progress.counts;
    pb::MigrationJob {
        job_id: job.id,
        mode: match job.mode {
            JobMode::Plan => pb::JobMode::Plan,
            JobMode::Migrate => pb::JobMode::Migrate,
        } as i32,
        scope: Some(pb::MigrationScope {
            unit: job.scope.unit.clone().unwrap_or_default(),
            aktenzeichen: job.scope.aktenzeichen.clone().unwrap_or_default(),
        }),
        policy_name: job.policy.name.clone(),
        policy_version: job.policy.version,
        policy_sha256: job.policy.sha256.clone(),
        created_by: job.created_by.clone(),
        created_at: time(&job.created_at),
        state: progress.state.as_str().into(),
        control: match job.control {
            Control::Run => "run",
            Control::Pause => "pause",
            Control::Cancel => "cancel",
        }
        .into(),
        total: progress.total.unwrap_or(0),
        examined: counts.examined,
        kept: counts.kept,
        migrated: counts.migrated,
        flagged: counts.flagged,
        failed: counts.failed,
        source_bytes: counts.source_bytes,
        output_bytes: counts.output_bytes,
        started_at: progress.started_at.as_ref().map(time).unwrap_or_default(),
        finished_at: progress.finished_at.as_ref().map(time).unwrap_or_default(),
    }
}

pub(crate) fn migration_item(item: &registratur_migrate::Item) -> pb::MigrationItem {
    use registratur_migrate::Outcome;
    let mut out = pb::MigrationItem {
        dokument_id: item.dokument_id,
        version: item.version,
        source_blake3: item.source_blake3.clone(),
        source_size: item.source_size,
        puid: item.identification.puid.clone(),
        format_name: item.identification.name.clone(),
        format_version: item.identification.version.clone(),
        ..Default::default()
    };
    out.outcome = item.outcome.kind().as_str().into();
    out.reason = item.outcome.reason();
    match &item.outcome {
        Outcome::WouldMigrate { target, pages } => {
            out.target = target.as_str().into();
            out.pages = *pages;
        }
        Outcome::Migrated { target, new_version, blake3, sha256, size, pages } => {
            out.target = target.as_str().into();
            out.new_version = *new_version;
            out.output_blake3 = blake3.clone();
            out.output_sha256 = sha256.clone();
            out.output_size = *size;
            out.pages = *pages;
        }
        Outcome::Kept | Outcome::Flagged { .. } | Outcome::Failed { .. } => {}
    }
    out
}

pub(crate) fn scrub_progress(progress: &registratur_service::ScrubProgress) -> pb::ScrubProgress {
    pb::ScrubProgress {
        blobs_checked: progress.blobs_checked,
        blobs_total: progress.blobs_total,
        bytes_checked: progress.bytes_checked,
        bytes_total: progress.bytes_total,
    }
}

pub(crate) fn scrub_report(report: &registratur_service::ScrubReport) -> pb::ScrubReport {
    pb::ScrubReport {
        started_at: time(&report.started_at),
        finished_at: time(&report.finished_at),
        started_by: report.started_by.clone(),
        blobs_checked: report.blobs_checked,
        bytes_checked: report.bytes_checked,
        missing: report.missing.clone(),
        corrupted: report.corrupted.clone(),
        quarantined: report.quarantined,
        unreferenced: report.unreferenced,
        seconds: report.seconds,
    }
}

pub(crate) fn scrub_report_from_pb(
    report: pb::ScrubReport,
) -> Result<registratur_service::ScrubReport, ResponseError> {
    Ok(registratur_service::ScrubReport {
        started_at: parse_time(&report.started_at, "started_at")?,
        finished_at: parse_time(&report.finished_at, "finished_at")?,
        started_by: report.started_by,
        blobs_checked: report.blobs_checked,
        bytes_checked: report.bytes_checked,
        missing: report.missing,
        corrupted: report.corrupted,
        quarantined: report.quarantined,
        unreferenced: report.unreferenced,
        seconds: report.seconds,
    })
}

pub(crate) fn quarantined_blob(entry: &registratur_service::QuarantineEntry) -> pb::QuarantinedBlob {
    use registratur_service::BlobReference;
    let record = &entry.record;
    pb::QuarantinedBlob {
        blake3: record.blake3.clone(),
        sha256: record.sha256.clone(),
        size: record.size,
        damage: record.damage.as_str().to_string(),
        reason: record.damage.explanation().to_string(),
        found_at: time(&record.found_at),
        found_by: record.found_by.clone(),
        references: entry
            .references
            .iter()
            .map(|reference| match reference {
                BlobReference::Version { dokument_id, akte_id, aktenzeichen, version, part, filename } => {
                    pb::BlobReference {
                        document_id: *dokument_id,
                        akte_id: *akte_id,
                        aktenzeichen: aktenzeichen.clone(),
                        version: *version,
                        part: part.clone(),
                        filename: filename.clone(),
                        ..Default::default()
                    }
                }
                BlobReference::BatchFile { batch_id, scanner_batch_id, file, filename } => {
                    pb::BlobReference {
                        batch_id: *batch_id,
                        scanner_batch_id: scanner_batch_id.clone(),
                        batch_file: *file,
                        filename: filename.clone(),
                        ..Default::default()
                    }
                }
            })
            .collect(),
    }
}

pub(crate) fn quarantined_blob_from_pb(
    blob: pb::QuarantinedBlob,
) -> Result<registratur_service::QuarantineEntry, ResponseError> {
    use registratur_service::{BlobReference, Damage, QuarantineEntry, QuarantineRecord};
    let damage = match blob.damage.as_str() {
        "corrupted" => Damage::Corrupted,
        "missing" => Damage::Missing,
        other => return Err(ResponseError::Unknown { what: "damage", value: other.to_string() }),
    };
    Ok(QuarantineEntry {
        record: QuarantineRecord {
            blake3: blob.blake3,
            sha256: blob.sha256,
            size: blob.size,
            damage,
            found_at: parse_time(&blob.found_at, "found_at")?,
            found_by: blob.found_by,
        },
        references: blob
            .references
            .into_iter()
            .map(|r| match r.batch_id {
                0 => BlobReference::Version {
                    dokument_id: r.document_id,
                    akte_id: r.akte_id,
                    aktenzeichen: r.aktenzeichen,
                    version: r.version,
                    part: r.part,
                    filename: r.filename,
                },
                batch_id => BlobReference::BatchFile {
                    batch_id,
                    scanner_batch_id: r.scanner_batch_id,
                    file: r.batch_file,
                    filename: r.filename,
                },
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_that_breaks_the_protocol_says_which_field() {
        let akte = pb::Akte {
            aktenplan_key: "32".into(),
            state: "archived".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let error = akte_from_pb(akte.clone()).unwrap_err();
        assert_eq!(error.to_string(), "unknown Akte state \"archived\"");
        let closed = pb::Akte { state: "closed".into(), closed_at: "yesterday".into(), ..akte };
        let error = akte_from_pb(closed).unwrap_err();
        assert!(matches!(error, ResponseError::Time { field: "closed_at", .. }), "{error}");
        assert!(error.to_string().starts_with("closed_at: "), "{error}");

        let document = pb::Document { eingang: None, ..Default::default() };
        assert_eq!(document_from_pb(document).unwrap_err().to_string(), "missing eingang");
        let eingang = pb::Eingang {
            posteingangsdatum: "2026-13-01".into(),
            channel: "paper_scan".into(),
            received_at: "2026-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let document = pb::Document { eingang: Some(eingang), ..Default::default() };
        let error = document_from_pb(document).unwrap_err();
        assert!(error.to_string().starts_with("posteingangsdatum \"2026-13-01\": "), "{error}");
    }
}
