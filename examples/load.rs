//! The load driver behind `scripts/load`: many concurrent mailroom ingest streams and search/read
//! clients against a running server over loopback, for a fixed time; then it reports throughput,
//! latency percentiles, errors, and the server's resident memory over time.
//!
//! - **Ingest clients** each open their own connection and push scan batches (generated German
//!   letters with routing codes, text Aktenzeichen or nothing, blank duplex backs) without waiting for
//!   them to be processed, the way a mailroom delivers. When the server refuses a batch because its
//!   queue is full (`RESOURCE_EXHAUSTED`, the backpressure of `[mailroom] max_queued_batches`), the
//!   client waits 1–3 s and sends it again: a refusal is counted, not an error.
//! - **Search/read clients** run a closed loop: a full-text search, then reading the original of one
//!   hit (streamed), and every fourth round the Dokument's metadata.
//! - **A sampler** reads the server's `VmRSS` from `/proc/<pid>/status` and its Prometheus endpoint
//!   (queue depth, pages done) every few seconds.
//! - **After the window** new batches stop; the driver waits until the queue is drained and checks that
//!   every acknowledged batch was processed with its page accounting intact. An acknowledged batch
//!   that is missing or failed is an error.
//!
//! Every RPC error other than a backpressure refusal is an error; the goal is none.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rand::Rng;
use registratur::grpc::client::{BatchFileSource, Client, ClientError, ConnectOptions};
use registratur::records::aktenplan::Aktenplan;
use registratur::records::repo::AkteRef;
use registratur::search::SearchRequest;
use registratur::service::{DocumentHeader, NewBatch};
use registratur_testkit::corpus::GermanCorpus;
use registratur_testkit::{BatchOptions, LetterSpec, Routing, render_batch, write_jpeg_pdf};

#[derive(Parser, Debug)]
struct Args {
    /// The server, e.g. `http://127.0.0.1:50051`.
    #[arg(long, env = "REGISTRATUR_SERVER")]
    url: String,
    /// An admin token (it sets up Akten and seed documents, then every client uses it).
    #[arg(long, env = "REGISTRATUR_TOKEN", hide_env_values = true)]
    token: String,
    /// The server's process id, for its resident memory.
    #[arg(long)]
    server_pid: u32,
    /// The server's Prometheus endpoint (`host:port`).
    #[arg(long)]
    metrics: String,
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    #[arg(long, default_value_t = 32)]
    ingest_clients: usize,
    #[arg(long, default_value_t = 32)]
    read_clients: usize,
    /// Distinct generated batches the ingest clients cycle through.
    #[arg(long, default_value_t = 12)]
    batches: usize,
    /// Text Dokumente added before the window so that searches find something from the start.
    #[arg(long, default_value_t = 300)]
    seed_documents: u64,
    /// Seconds between samples of memory and metrics.
    #[arg(long, default_value_t = 5)]
    sample_seconds: u64,
    /// How long to wait for the queue to drain after the window.
    #[arg(long, default_value_t = 1800)]
    drain_seconds: u64,
}

/// Search terms that occur in the generated corpus and letters at different frequencies.
const QUERIES: &[&str] = &[
    "Bescheid",
    "Antrag",
    "Widerspruch",
    "Gebühren",
    "Frist",
    "Genehmigung",
    "Stellungnahme",
    "Anhörung",
    "Bauantrag",
    "Zahlung",
    "Ihr Zeichen",
    "Gewerbe",
];

#[derive(Default)]
struct Stats {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    bytes_read: u64,
    refused: u64,
    errors: BTreeMap<String, u64>,
    /// Acknowledged batches: (batch id, pages fed).
    acknowledged: Vec<(u64, u32)>,
}

impl Stats {
    fn record(&mut self, kind: &'static str, took: Duration) {
        self.latencies.entry(kind).or_default().push(took);
    }

    fn error(&mut self, kind: &str, error: &ClientError) {
        let text = format!("{kind}: {error}");
        // Keep distinct messages apart but bounded: ids and numbers differ between occurrences.
        let key: String = text.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).take(200).collect();
        *self.errors.entry(key).or_default() += 1;
    }
}

struct Sample {
    at: Duration,
    rss_kib: u64,
    queue_depth: f64,
    pages_done: f64,
}

type Shared = Arc<Mutex<Stats>>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

async fn connect(args: &Args) -> anyhow::Result<Client> {
    Ok(Client::connect(ConnectOptions {
        url: args.url.clone(),
        token: Some(args.token.clone()),
        ca_certificate: None,
    })
    .await?)
}

/// One generated batch: a JPEG "scan to PDF" file and the number of pages in it.
struct PoolBatch {
    file: BatchFileSource,
    pages: u32,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let args = Arc::new(args);
    let mut admin = connect(&args).await?;
    let plan = Aktenplan::example_kgst();
    admin.import_aktenplan(plan.to_csv()).await.context("importing the example Aktenplan")?;
    let unit = plan
        .units()
        .map(|u| u.key.to_string())
        .find(|k| k.starts_with("32"))
        .context("the example Aktenplan has a unit 32")?;
    let mut akten = Vec::new();
    for i in 0..6 {
        let akte = admin.create_akte(&unit, &format!("Lastprobe {i}"), None, Some(2026)).await?;
        let code = admin.issue_routing_code(&AkteRef::Id(akte.id)).await?.payload;
        akten.push((akte.id, akte.aktenzeichen, code));
    }
    eprintln!("load: {} Akten; adding {} seed Dokumente", akten.len(), args.seed_documents);
    seed_documents(&args, &akten).await?;
    eprintln!("load: generating {} batches", args.batches);
    let pool = Arc::new(
        tokio::task::spawn_blocking({
            let akten = akten.clone();
            let count = args.batches;
            move || generate_batches(count, &akten)
        })
        .await??,
    );

    let stats: Shared = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    eprintln!(
        "load: {} ingest + {} search/read clients for {} s",
        args.ingest_clients, args.read_clients, args.seconds
    );
    let sampler = tokio::spawn(sample(args.clone(), started, stop.clone()));
    let mut clients = Vec::new();
    for i in 0..args.ingest_clients {
        let client = connect(&args).await?;
        clients.push(tokio::spawn(ingest_loop(i, client, pool.clone(), stats.clone(), deadline)));
    }
    for _ in 0..args.read_clients {
        let client = connect(&args).await?;
        clients.push(tokio::spawn(read_loop(client, stats.clone(), deadline)));
    }
    for client in clients {
        client.await?;
    }
    let window = started.elapsed();
    let at_window_end = scrape(&args.metrics).unwrap_or_default();
    eprintln!("load: window over after {:.0} s; draining the mailroom queue", window.as_secs_f64());
    let drained = drain(&args, &mut admin, &stats).await;
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.await?;
    let drained = drained?;
    report(&args, &stats.lock().unwrap(), &samples, window, &at_window_end, &drained);
    if !stats.lock().unwrap().errors.is_empty() {
        bail!("errors occurred");
    }
    Ok(())
}

async fn seed_documents(args: &Args, akten: &[(u64, String, String)]) -> anyhow::Result<()> {
    let corpus = GermanCorpus::new(7);
    let mut client = connect(args).await?;
    for index in 0..args.seed_documents {
        let document = corpus.document(index);
        let (akte_id, _, _) = &akten[index as usize % akten.len()];
        let header = DocumentHeader {
            akte: AkteRef::Id(*akte_id),
            vorgang_id: None,
            title: document.title,
            sender: document.sender,
            fremdes_geschaeftszeichen: String::new(),
            posteingangsdatum: document.posteingangsdatum.to_string(),
            channel: "email".into(),
            source: "Lastprobe".into(),
            filename: format!("schreiben-{index}.txt"),
            media_type: "text/plain".into(),
        };
        client.add_document(header, std::io::Cursor::new(document.body.into_bytes())).await?;
    }
    Ok(())
}

/// Letters routed by code, by Aktenzeichen in the text and not at all (Klärfall), one or two pages,
/// scanned duplex (blank backs), as 300 dpi grey JPEG PDFs.
fn generate_batches(count: usize, akten: &[(u64, String, String)]) -> anyhow::Result<Vec<PoolBatch>> {
    use rayon::prelude::*;
    (0..count)
        .into_par_iter()
        .map(|i| {
            let (_, aktenzeichen, code) = &akten[i % akten.len()];
            let routing = match i % 4 {
                0 | 1 => Routing::Qr(code.clone()),
                2 => Routing::Text(aktenzeichen.clone()),
                _ => Routing::Nothing,
            };
            let letter = LetterSpec {
                routing,
                pages: 1 + (i % 3 == 0) as u32,
                upside_down: i % 5 == 4,
                expect: String::new(),
            };
            let options =
                BatchOptions { seed: 1000 + i as u64, separators: false, ..BatchOptions::default() };
            let (pages, truth) = render_batch(&[letter], &options)?;
            let bytes = write_jpeg_pdf(&pages, options.dpi, 80)?;
            Ok(PoolBatch {
                file: BatchFileSource { filename: format!("scan-{i}.pdf"), bytes },
                pages: truth.pages_fed,
            })
        })
        .collect()
}

fn batch_header(scanner_batch_id: String) -> NewBatch {
    NewBatch {
        scanner_batch_id,
        channel: "paper_scan".into(),
        posteingangsdatum: chrono::Local::now().date_naive().to_string(),
        operator: "Lastprobe".into(),
        dpi: 300,
        colour_mode: "gray".into(),
        device: "load driver".into(),
        duplex: true,
        expected_sheets: None,
        scanned_at: None,
    }
}

async fn ingest_loop(
    id: usize,
    mut client: Client,
    pool: Arc<Vec<PoolBatch>>,
    stats: Shared,
    deadline: Instant,
) {
    let mut sent = 0usize;
    while Instant::now() < deadline {
        let batch = &pool[(id + sent) % pool.len()];
        let header = batch_header(format!("load-{id}-{sent}"));
        let start = Instant::now();
        match client.ingest(header, vec![batch.file.clone()]).await {
            Ok(receipt) => {
                let mut stats = stats.lock().unwrap();
                stats.record("ingest ack", start.elapsed());
                stats.acknowledged.push((receipt.batch_id, batch.pages));
                sent += 1;
            }
            Err(ClientError::Rpc { code: tonic::Code::ResourceExhausted, .. }) => {
                stats.lock().unwrap().refused += 1;
                let pause = rand::rng().random_range(1000..3000);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(error) => {
                stats.lock().unwrap().error("ingest", &error);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn read_loop(mut client: Client, stats: Shared, deadline: Instant) {
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let query = QUERIES[rand::rng().random_range(0..QUERIES.len())];
        let request = SearchRequest {
            query: query.to_string(),
            filters: Default::default(),
            order: None,
            limit: 10,
            cursor: None,
        };
        let start = Instant::now();
        let hits = match client.search(&request).await {
            Ok(results) => {
                stats.lock().unwrap().record("search", start.elapsed());
                results.hits
            }
            Err(error) => {
                stats.lock().unwrap().error("search", &error);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Some(hit) = (!hits.is_empty()).then(|| &hits[rand::rng().random_range(0..hits.len())]) else {
            continue;
        };
        let id = hit.dokument.dokument_id;
        let start = Instant::now();
        match client.read_content(id, None, None, tokio::io::sink()).await {
            Ok(content) => {
                let mut stats = stats.lock().unwrap();
                stats.record("read original", start.elapsed());
                stats.bytes_read += content.size;
            }
            Err(error) => stats.lock().unwrap().error("read", &error),
        }
        if round.is_multiple_of(4) {
            let start = Instant::now();
            match client.document(id).await {
                Ok(_) => stats.lock().unwrap().record("get document", start.elapsed()),
                Err(error) => stats.lock().unwrap().error("get document", &error),
            }
        }
    }
}

/// Samples until `stop`, then returns the samples.
async fn sample(args: Arc<Args>, started: Instant, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut last_print = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        let metrics = scrape(&args.metrics).unwrap_or_default();
        let sample = Sample {
            at: started.elapsed(),
            rss_kib: rss_kib(args.server_pid).unwrap_or(0),
            queue_depth: metrics.get("registratur_ingest_queue_depth").copied().unwrap_or(f64::NAN),
            pages_done: metrics.get("registratur_ingest_pages_total").copied().unwrap_or(f64::NAN),
        };
        if sample.at >= last_print + Duration::from_secs(60) || samples.is_empty() {
            last_print = sample.at;
            eprintln!(
                "load: {:>5.0} s  server RSS {:>6.1} MiB  queue {:>4}  pages done {:>6}",
                sample.at.as_secs_f64(),
                sample.rss_kib as f64 / 1024.0,
                sample.queue_depth,
                sample.pages_done
            );
        }
        samples.push(sample);
        tokio::time::sleep(Duration::from_secs(args.sample_seconds)).await;
    }
    samples
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The unlabelled series of the Prometheus endpoint (labelled ones are summed per name).
fn scrape(address: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    let mut values = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let name = series.split('{').next().unwrap_or(series).to_string();
        if let Ok(value) = value.parse::<f64>() {
            *values.entry(name).or_insert(0.0) += value;
        }
    }
    Ok(values)
}

struct Drained {
    took: Duration,
    done: usize,
    pages: u64,
    invariant_broken: usize,
}

/// Waits for the queue to empty, then checks every acknowledged batch.
async fn drain(args: &Args, admin: &mut Client, stats: &Shared) -> anyhow::Result<Drained> {
    let start = Instant::now();
    let acknowledged = stats.lock().unwrap().acknowledged.clone();
    let mut pending: Vec<(u64, u32)> = acknowledged.clone();
    let mut drained = Drained { took: Duration::ZERO, done: 0, pages: 0, invariant_broken: 0 };
    while !pending.is_empty() {
        if start.elapsed() > Duration::from_secs(args.drain_seconds) {
            let mut stats = stats.lock().unwrap();
            for (id, _) in &pending {
                *stats
                    .errors
                    .entry(format!("batch {id} not processed {} s after the window", args.drain_seconds))
                    .or_default() += 1;
            }
            break;
        }
        let mut still = Vec::new();
        for (id, pages) in pending {
            match admin.batch(id).await {
                Ok(report) if report.state == "done" => {
                    drained.done += 1;
                    drained.pages += u64::from(pages);
                    let summary = report.summary.as_ref();
                    if !summary.is_some_and(|s| s.invariant_holds && s.pages_fed == pages) {
                        drained.invariant_broken += 1;
                        *stats
                            .lock()
                            .unwrap()
                            .errors
                            .entry(format!("batch {id}: page accounting"))
                            .or_default() += 1;
                    }
                }
                Ok(report) if report.state == "failed" => {
                    *stats.lock().unwrap().errors.entry(format!("batch {id} failed")).or_default() += 1;
                }
                Ok(_) => still.push((id, pages)),
                Err(error) => {
                    stats.lock().unwrap().error("get batch", &error);
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    drained.took = start.elapsed();
    Ok(drained)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(
    args: &Args,
    stats: &Stats,
    samples: &[Sample],
    window: Duration,
    at_window_end: &BTreeMap<String, f64>,
    drained: &Drained,
) {
    let seconds = window.as_secs_f64();
    println!(
        "== load: {} ingest + {} search/read clients, {:.0} s ==",
        args.ingest_clients, args.read_clients, seconds
    );
    println!(
        "{:<16} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "operation", "count", "per s", "p50 ms", "p99 ms", "max ms", "mean ms"
    );
    for (kind, latencies) in &stats.latencies {
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mean = sorted.iter().map(|d| ms(*d)).sum::<f64>() / sorted.len().max(1) as f64;
        println!(
            "{:<16} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            kind,
            sorted.len(),
            sorted.len() as f64 / seconds,
            ms(percentile(&sorted, 50.0)),
            ms(percentile(&sorted, 99.0)),
            ms(sorted.last().copied().unwrap_or_default()),
            mean
        );
    }
    let acknowledged_pages: u64 = stats.acknowledged.iter().map(|(_, p)| u64::from(*p)).sum();
    let pages_in_window = at_window_end.get("registratur_ingest_pages_total").copied().unwrap_or(f64::NAN);
    println!(
        "ingest: {} batches ({} pages) acknowledged, {} refusals for a full queue (retried)",
        stats.acknowledged.len(),
        acknowledged_pages,
        stats.refused
    );
    println!(
        "mailroom: {:.0} pages processed in the window = {:.2} pages/s; queue at the window's end {:.0}",
        pages_in_window,
        pages_in_window / seconds,
        at_window_end.get("registratur_ingest_queue_depth").copied().unwrap_or(f64::NAN)
    );
    println!(
        "drain: {} of {} acknowledged batches done ({} pages) {:.0} s after the window; page accounting broken in {}",
        drained.done,
        stats.acknowledged.len(),
        drained.pages,
        drained.took.as_secs_f64(),
        drained.invariant_broken
    );
    println!("read: {:.1} MB of originals", stats.bytes_read as f64 / 1e6);
    println!("server RSS (MiB), highest per minute of the window:");
    let minutes = (seconds / 60.0).ceil() as u64;
    let mut line = String::new();
    for minute in 0..minutes.max(1) {
        let peak =
            samples.iter().filter(|s| s.at.as_secs() / 60 == minute).map(|s| s.rss_kib).max().unwrap_or(0);
        line.push_str(&format!(" {:.0}", peak as f64 / 1024.0));
    }
    println!(" {line}");
    let peak = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    println!("server RSS peak {:.0} MiB (window and drain)", peak as f64 / 1024.0);
    let total: u64 = stats.errors.values().sum();
    println!("errors: {total}");
    for (error, count) in &stats.errors {
        println!("  {count} × {error}");
    }
}
