//! Process metrics in the Prometheus text format (version 0.0.4), served by `registratur serve` on
//! `[server] metrics_listen` at `/metrics`.
//!
//! Counters live in one process-wide registry of atomics ([`global`]), bumped where things happen:
//! the mailroom (pages, pieces, OCR seconds, failed batches), the error mappings of gRPC and HTTP
//! (errors by [`ErrorCode`]), search (requests, seconds), fixity checks and reads that find damaged bytes (findings).
//! Gauges that describe state (queue depth, index lag) are read from the engine at scrape time, so
//! they can never drift.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ErrorCode;

/// The counters of one process.
#[derive(Default)]
pub struct Metrics {
    pub ingest_batches: AtomicU64,
    pub ingest_batch_failures: AtomicU64,
    /// Batches refused because the mailroom queue was full (the client retries later).
    pub ingest_refused_busy: AtomicU64,
    pub ingest_pages: AtomicU64,
    pub ingest_pages_blank: AtomicU64,
    pub pieces_filed: AtomicU64,
    pub pieces_klaerfall: AtomicU64,
    ocr_micros: AtomicU64,
    pub search_requests: AtomicU64,
    search_micros: AtomicU64,
    pub fixity_runs: AtomicU64,
    pub fixity_corrupted: AtomicU64,
    pub fixity_missing: AtomicU64,
    /// Failed requests by [`ErrorCode`] (in the order of `ErrorCode::ALL`), then those with a gRPC code
    /// registratur never answers with itself (`other`: cancelled, deadline exceeded, ...).
    request_errors: [AtomicU64; ErrorCode::ALL.len() + 1],
}

static GLOBAL: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    GLOBAL.get_or_init(Metrics::default)
}

/// State read from the engine when scraped.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    /// Batches received and not yet processed.
    pub ingest_queue_depth: u64,
    /// Journal entries not yet in the searchable index.
    pub search_index_lag: u64,
    pub search_documents: u64,
    pub journal_length: u64,
    /// Blobs in the fixity quarantine register: found damaged and not yet restored.
    pub quarantined_blobs: u64,
    /// Unix time when the last fixity scrub finished; 0 before the first.
    pub last_scrub_finished: i64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_ocr_time(&self, elapsed: std::time::Duration) {
        self.ocr_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn add_search_time(&self, elapsed: std::time::Duration) {
        self.search_requests.fetch_add(1, Ordering::Relaxed);
        self.search_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts a failed request, gRPC or HTTP, by its error code; `None` for a gRPC status whose code
    /// has no [`ErrorCode`] (counted as `other`).
    pub fn request_error(&self, code: Option<ErrorCode>) {
        let slot = code
            .and_then(|code| ErrorCode::ALL.iter().position(|c| *c == code))
            .unwrap_or(ErrorCode::ALL.len());
        self.request_errors[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, gauges: &Gauges) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let seconds = |micros: &AtomicU64| get(micros) as f64 / 1e6;
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        metric(
            "registratur_ingest_batches_total",
            "counter",
            "Scan batches processed.",
            &[("", get(&self.ingest_batches).to_string())],
        );
        metric(
            "registratur_ingest_batch_failures_total",
            "counter",
            "Batch runs that failed and stay queued for a retry.",
            &[("", get(&self.ingest_batch_failures).to_string())],
        );
        metric(
            "registratur_ingest_pages_total",
            "counter",
            "Pages fed through the mailroom, blank pages and separator sheets included.",
            &[("", get(&self.ingest_pages).to_string())],
        );
        metric(
            "registratur_ingest_blank_pages_total",
            "counter",
            "Blank pages removed (each logged in the batch's Transfervermerk).",
            &[("", get(&self.ingest_pages_blank).to_string())],
        );
        metric(
            "registratur_ingest_pieces_total",
            "counter",
            "Pieces split from batches, by outcome.",
            &[
                ("{outcome=\"filed\"}", get(&self.pieces_filed).to_string()),
                ("{outcome=\"klaerfall\"}", get(&self.pieces_klaerfall).to_string()),
            ],
        );
        metric(
            "registratur_ingest_queue_depth",
            "gauge",
            "Batches received and waiting to be processed.",
            &[("", gauges.ingest_queue_depth.to_string())],
        );
        metric(
            "registratur_ocr_seconds_total",
            "counter",
            "Seconds spent in OCR, summed over threads.",
            &[("", seconds(&self.ocr_micros).to_string())],
        );
        metric(
            "registratur_ingest_batches_refused_total",
            "counter",
            "Batches refused because the mailroom queue was full (backpressure).",
            &[("", get(&self.ingest_refused_busy).to_string())],
        );
        metric(
            "registratur_search_requests_total",
            "counter",
            "Searches answered.",
            &[("", get(&self.search_requests).to_string())],
        );
        metric(
            "registratur_search_seconds_total",
            "counter",
            "Seconds spent answering searches.",
            &[("", seconds(&self.search_micros).to_string())],
        );
        metric(
            "registratur_search_index_lag_entries",
            "gauge",
            "Journal entries not yet searchable.",
            &[("", gauges.search_index_lag.to_string())],
        );
        metric(
            "registratur_search_documents",
            "gauge",
            "Dokumente in the searchable index.",
            &[("", gauges.search_documents.to_string())],
        );
        metric(
            "registratur_journal_entries",
            "gauge",
            "Length of the journal.",
            &[("", gauges.journal_length.to_string())],
        );
        metric(
            "registratur_fixity_runs_total",
            "counter",
            "Fixity checks run.",
            &[("", get(&self.fixity_runs).to_string())],
        );
        metric(
            "registratur_fixity_findings_total",
            "counter",
            "Blobs found damaged or missing, by fixity checks and by reads (each read's finding once).",
            &[
                ("{finding=\"corrupted\"}", get(&self.fixity_corrupted).to_string()),
                ("{finding=\"missing\"}", get(&self.fixity_missing).to_string()),
            ],
        );
        metric(
            "registratur_fixity_quarantined_blobs",
            "gauge",
            "Blobs found damaged or missing and not yet restored (`registratur fixity quarantine` lists them).",
            &[("", gauges.quarantined_blobs.to_string())],
        );
        metric(
            "registratur_fixity_last_scrub_timestamp_seconds",
            "gauge",
            "Unix time when the last fixity scrub finished (0 before the first): alert when it grows old.",
            &[("", gauges.last_scrub_finished.to_string())],
        );
        let errors: Vec<(String, String)> = ErrorCode::ALL
            .iter()
            .map(|code| code.name())
            .chain(std::iter::once("other"))
            .zip(&self.request_errors)
            .map(|(code, count)| (format!("{{code=\"{code}\"}}"), get(count).to_string()))
            .collect();
        let errors: Vec<(&str, String)> = errors.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
        metric(
            "registratur_rpc_errors_total",
            "counter",
            "Requests (gRPC and HTTP) that ended in an error, by error code.",
            &errors,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_with_help_type_and_samples() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.ingest_pages, 44);
        Metrics::add(&metrics.pieces_klaerfall, 2);
        metrics.add_ocr_time(std::time::Duration::from_millis(1500));
        metrics.request_error(Some(ErrorCode::NotFound));
        metrics.request_error(None);
        Metrics::add(&metrics.fixity_corrupted, 1);
        let text = metrics.render(&Gauges {
            ingest_queue_depth: 3,
            quarantined_blobs: 1,
            last_scrub_finished: 1_795_000_000,
            ..Default::default()
        });
        assert!(
            text.contains(
                "# TYPE registratur_ingest_pages_total counter\nregistratur_ingest_pages_total 44\n"
            )
        );
        assert!(text.contains("registratur_ingest_pieces_total{outcome=\"klaerfall\"} 2\n"));
        assert!(text.contains("registratur_ocr_seconds_total 1.5\n"));
        assert!(text.contains("registratur_ingest_queue_depth 3\n"));
        assert!(text.contains("registratur_rpc_errors_total{code=\"not_found\"} 1\n"));
        assert!(text.contains("registratur_fixity_findings_total{finding=\"corrupted\"} 1\n"));
        assert!(text.contains("registratur_fixity_quarantined_blobs 1\n"));
        assert!(text.contains("registratur_fixity_last_scrub_timestamp_seconds 1795000000\n"));
        assert!(text.contains("registratur_rpc_errors_total{code=\"other\"} 1\n"));
        // Every sample line belongs to a declared metric.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
        }
    }
}
