//! The API benchmark behind `scripts/bench-api`: what an integrator measures, through gRPC from a
//! separate process against a running release server.
//!
//! 1. **Load**: the Aktenplan of the generated German corpus, Akten under its leaves, then `--docs`
//!    Dokumente of about 4 KB of text each through `AddDocument`, first with one client, then with
//!    `--clients` clients at once (each on its own connection); docs/s of both.
//! 2. **Searchable**: for a few probes, the time from `AddDocument`'s answer until a search finds the
//!    new Dokument (polled every 2 ms).
//! 3. **Queries**: a mix of query shapes (terms of different frequency, AND, phrases, prefixes, NOT, the
//!    empty query newest first over a large subtree, unit/date/Akte-state filters, limit 20 and 100,
//!    the fifth page through the cursor, a scoped Fachverfahren token), each run by 1 and by
//!    `--clients` concurrent clients; p50/p99 per shape and concurrency.
//!
//! A store that already holds the Dokumente (`--reuse`) skips the load, so that a 1,000,000 Dokumente
//! run can be repeated.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Parser;
use registratur::grpc::client::{Client, ConnectOptions};
use registratur::records::aktenplan::{Aktenplan, Unit};
use registratur::records::aktenzeichen::AktenplanKey;
use registratur::records::repo::AkteRef;
use registratur::search::{SearchFilters, SearchRequest, SortOrder};
use registratur::service::DocumentHeader;
use registratur_testkit::corpus::{self, CorpusChannel, GermanCorpus};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, env = "REGISTRATUR_SERVER")]
    url: String,
    /// An admin token: it sets up the Aktenplan and Akten and adds the Dokumente.
    #[arg(long, env = "REGISTRATUR_TOKEN", hide_env_values = true)]
    token: String,
    /// A fachverfahren token limited to `--scope`, for the scoped query shape.
    #[arg(long, env = "REGISTRATUR_SCOPED_TOKEN", hide_env_values = true)]
    scoped_token: Option<String>,
    /// The Aktenplan subtree of the scoped token and of the "large subtree" shapes.
    #[arg(long, default_value = "32")]
    scope: String,
    /// Dokumente in the store.
    #[arg(long, default_value_t = 100_000)]
    docs: u64,
    /// Concurrent clients of the multi-client runs.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Dokumente added by the single client (the rest by all clients).
    #[arg(long, default_value_t = 2_000)]
    single_client_docs: u64,
    /// Searches per query shape and client.
    #[arg(long, default_value_t = 200)]
    rounds: usize,
    /// The store already holds the Dokumente: skip the load.
    #[arg(long)]
    reuse: bool,
}

const SEED: u64 = 2026;
/// Akten per Aktenplan leaf.
const AKTEN_PER_LEAF: usize = 20;
/// One Akte in this many is closed after the load, for the Akte-state filter.
const CLOSED_EVERY: usize = 10;
const PROBES: usize = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let corpus = Arc::new(GermanCorpus::new(SEED));
    let mut admin = connect(&args.url, &args.token).await?;
    println!(
        "== registratur API benchmark: {} Dokumente, 1 and {} clients, {}",
        args.docs, args.clients, args.url
    );
    let akten =
        if args.reuse { existing_akten(&mut admin).await? } else { setup(&mut admin, &corpus).await? };
    if !args.reuse {
        load(&args, &corpus, &akten).await?;
        close_some(&mut admin, &akten).await?;
    }
    wait_until_searchable(&mut admin, args.docs).await?;
    searchable_after_add(&args, &akten).await?;
    queries(&args).await?;
    Ok(())
}

async fn connect(url: &str, token: &str) -> anyhow::Result<Client> {
    let options =
        ConnectOptions { url: url.to_string(), token: Some(token.to_string()), ca_certificate: None };
    Client::connect(options).await.with_context(|| format!("cannot connect to {url}"))
}

/// The Akten to file into: per leaf unit, its Akten (ids).
type Akten = Vec<(String, Vec<u64>)>;

fn leaves(corpus: &GermanCorpus) -> Vec<&'static str> {
    let plan = corpus.aktenplan();
    plan.iter()
        .copied()
        .filter(|key| !plan.iter().any(|other| other.starts_with(&format!("{key}."))))
        .collect()
}

async fn setup(admin: &mut Client, corpus: &GermanCorpus) -> anyhow::Result<Akten> {
    let units = corpus
        .aktenplan()
        .iter()
        .map(|key| {
            Ok(Unit {
                key: AktenplanKey::parse(key)?,
                title: format!("Einheit {key}"),
                retention: None,
                aussonderung: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    admin.import_aktenplan(Aktenplan::new(units)?.to_csv()).await?;
    let mut akten = Vec::new();
    for leaf in leaves(corpus) {
        let mut ids = Vec::new();
        for n in 0..AKTEN_PER_LEAF {
            ids.push(admin.create_akte(leaf, &format!("Akte {leaf} Nr. {n}"), None, Some(2025)).await?.id);
        }
        akten.push((leaf.to_string(), ids));
    }
    Ok(akten)
}

async fn existing_akten(admin: &mut Client) -> anyhow::Result<Akten> {
    let found = admin.search(&SearchRequest { limit: 1, ..Default::default() }).await?;
    if found.total == 0 {
        bail!("--reuse: the store holds no Dokumente; run without --reuse first");
    }
    let akte = found.hits[0].dokument.akte_id;
    Ok(vec![(found.hits[0].dokument.unit.clone(), vec![akte])])
}

/// The header and ~4 KB text of corpus Dokument `i`: its own body followed by the next one's.
fn document(corpus: &GermanCorpus, akten: &Akten, i: u64) -> (DocumentHeader, Vec<u8>) {
    let doc = corpus.document(i);
    let more = corpus.document(i + 1_000_000_007);
    let leaf = corpus.aktenplan()[doc.unit];
    let ids = akten.iter().find(|(key, _)| key == leaf).map(|(_, ids)| ids).unwrap_or(&akten[0].1);
    let akte = ids[(i as usize / 7) % ids.len()];
    let header = DocumentHeader {
        akte: AkteRef::Id(akte),
        vorgang_id: None,
        title: doc.title,
        sender: doc.sender,
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: doc.posteingangsdatum.to_string(),
        channel: match doc.channel {
            CorpusChannel::PaperScan => "paper_scan",
            CorpusChannel::Email => "email",
            CorpusChannel::Fachverfahren => "fachverfahren",
            CorpusChannel::Other => "other",
        }
        .into(),
        source: "bench-api".into(),
        filename: format!("dokument-{i}.txt"),
        media_type: "text/plain; charset=utf-8".into(),
    };
    let text = format!("{}\n\n{}", doc.body, more.body);
    (header, text.into_bytes())
}

async fn load(args: &Args, corpus: &Arc<GermanCorpus>, akten: &Akten) -> anyhow::Result<()> {
    let single = args.single_client_docs.min(args.docs);
    let mut client = connect(&args.url, &args.token).await?;
    let started = Instant::now();
    let mut bytes = 0;
    for i in 0..single {
        let (header, text) = document(corpus, akten, i);
        bytes += text.len();
        client.add_document(header, std::io::Cursor::new(text)).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "AddDocument, 1 client:  {single} Dokumente ({:.1} KB text each) in {seconds:.1} s = {:.0} docs/s",
        bytes as f64 / single.max(1) as f64 / 1000.0,
        single as f64 / seconds
    );

    let next = Arc::new(AtomicU64::new(single));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let mut client = connect(&args.url, &args.token).await?;
        let (next, corpus, akten, docs) = (next.clone(), corpus.clone(), akten.clone(), args.docs);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= docs {
                    return anyhow::Ok(());
                }
                let (header, text) = document(&corpus, &akten, i);
                client.add_document(header, std::io::Cursor::new(text)).await?;
                if (i + 1) % 50_000 == 0 {
                    println!("  {} of {docs} stored", i + 1);
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let added = args.docs - single;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "AddDocument, {} clients: {added} Dokumente in {seconds:.1} s = {:.0} docs/s",
        args.clients,
        added as f64 / seconds
    );
    Ok(())
}

async fn close_some(admin: &mut Client, akten: &Akten) -> anyhow::Result<()> {
    let mut closed = 0;
    for (_, ids) in akten {
        for id in ids.iter().step_by(CLOSED_EVERY) {
            admin.close_akte(&AkteRef::Id(*id), "z.d.A. (bench)").await?;
            closed += 1;
        }
    }
    println!("closed {closed} Akten (z.d.A.), for the Akte-state filter");
    Ok(())
}

async fn wait_until_searchable(admin: &mut Client, docs: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let found = admin.search(&SearchRequest { limit: 1, ..Default::default() }).await;
        if let Ok(found) = &found
            && found.total >= docs
        {
            println!(
                "index caught up: {} Dokumente searchable after {:.1} s",
                found.total,
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("the index did not reach {docs} Dokumente within an hour");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The time from AddDocument's answer until a search finds the Dokument.
async fn searchable_after_add(args: &Args, akten: &Akten) -> anyhow::Result<()> {
    let mut client = connect(&args.url, &args.token).await?;
    // An open Akte of its own, also when the store is reused and some Akten are closed.
    let unit = &akten.first().context("no Akte to learn a unit from")?.0;
    let akte = client.create_akte(unit, "Messproben", None, None).await?.id;
    let mut delays = Vec::new();
    for probe in 0..PROBES {
        let word = format!("Sondermarke{}x{probe}", std::process::id());
        let header = DocumentHeader {
            akte: AkteRef::Id(akte),
            vorgang_id: None,
            title: format!("Probe {probe}"),
            sender: "Bench".into(),
            fremdes_geschaeftszeichen: String::new(),
            posteingangsdatum: "2025-06-01".into(),
            channel: "email".into(),
            source: "bench-api".into(),
            filename: "probe.txt".into(),
            media_type: "text/plain".into(),
        };
        let added =
            client.add_document(header, std::io::Cursor::new(format!("Text mit {word}").into_bytes())).await;
        if let Err(error) = added {
            println!("searchable-after-add probe skipped: {error}");
            return Ok(());
        }
        let answered = Instant::now();
        let query = SearchRequest { query: word, limit: 1, ..Default::default() };
        loop {
            if client.search(&query).await?.total == 1 {
                break;
            }
            if answered.elapsed() > Duration::from_secs(30) {
                bail!("probe {probe} was not searchable after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        delays.push(answered.elapsed());
        tokio::time::sleep(Duration::from_millis(137)).await;
    }
    delays.sort();
    println!(
        "AddDocument answered → searchable: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({PROBES} probes)",
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        percentile(&delays, 1.0)
    );
    Ok(())
}

/// One query shape: its name, the request, whether it pages to the fifth page, and whether it uses
/// the scoped token.
struct Shape {
    name: &'static str,
    request: SearchRequest,
    fifth_page: bool,
    scoped: bool,
}

fn shapes(scope: &str) -> Vec<Shape> {
    let q = |text: &str| SearchRequest { query: text.to_string(), ..Default::default() };
    let with = |text: &str, filters: SearchFilters| SearchRequest { filters, ..q(text) };
    let year = |y: i32| SearchFilters {
        from: NaiveDate::from_ymd_opt(y, 1, 1),
        to: NaiveDate::from_ymd_opt(y, 12, 31),
        ..Default::default()
    };
    let unit = || SearchFilters { units: vec![scope.to_string()], ..Default::default() };
    let shape = |name, request| Shape { name, request, fifth_page: false, scoped: false };
    vec![
        shape("rare term (0.01 %)", q(corpus::RARE_TERM)),
        shape("medium term (1 %)", q(corpus::MEDIUM_TERM)),
        shape("frequent term (15 %)", q(corpus::FREQUENT_TERM)),
        shape("frequent term, limit 100", SearchRequest { limit: 100, ..q(corpus::FREQUENT_TERM) }),
        shape("two words AND", q("Bescheid Grundstück")),
        shape("phrase, frequent words", q("\"in Höhe von\"")),
        shape("phrase, three words", q("\"Mit Schreiben vom\"")),
        shape("prefix", q("Hunde*")),
        shape("prefix, frequent", q("Besch*")),
        shape("NOT", q("Bescheid -Widerspruch")),
        shape("empty query, newest first, large subtree", with("", unit())),
        shape("empty query, newest first, everything", q("")),
        shape("frequent term + unit filter", with(corpus::FREQUENT_TERM, unit())),
        shape("frequent term + date filter (a year)", with(corpus::FREQUENT_TERM, year(2020))),
        shape(
            "frequent term + Akte closed",
            with(corpus::FREQUENT_TERM, SearchFilters { akte_open: Some(false), ..Default::default() }),
        ),
        shape(
            "medium term, newest first",
            SearchRequest { order: Some(SortOrder::NewestFirst), ..q(corpus::MEDIUM_TERM) },
        ),
        Shape {
            name: "frequent term, page 5 by cursor",
            request: q(corpus::FREQUENT_TERM),
            fifth_page: true,
            scoped: false,
        },
        Shape { name: "empty query, page 5 by cursor", request: q(""), fifth_page: true, scoped: false },
        Shape {
            name: "frequent term, scoped token",
            request: q(corpus::FREQUENT_TERM),
            fifth_page: false,
            scoped: true,
        },
        Shape { name: "empty query, scoped token", request: q(""), fifth_page: false, scoped: true },
    ]
}

async fn queries(args: &Args) -> anyhow::Result<()> {
    let shapes = Arc::new(shapes(&args.scope));
    println!(
        "\nquery latency through gRPC (ms), {} rounds per client; each hit with snippet, total counted",
        args.rounds
    );
    println!(
        "  {:<42} {:>9}  {:>8} {:>8}  {:>8} {:>8}",
        "shape",
        "hits",
        "1: p50",
        "p99",
        format!("{}: p50", args.clients),
        "p99"
    );
    for index in 0..shapes.len() {
        let shape = &shapes[index];
        let token = match (&shape.scoped, &args.scoped_token) {
            (true, Some(token)) => token.clone(),
            (true, None) => {
                println!("  {:<42} skipped: no --scoped-token", shape.name);
                continue;
            }
            (false, _) => args.token.clone(),
        };
        let mut row = Vec::new();
        let mut hits = 0;
        for clients in [1, args.clients] {
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let mut client = connect(&args.url, &token).await?;
                let (shapes, rounds) = (shapes.clone(), args.rounds);
                tasks.push(tokio::spawn(async move {
                    let shape = &shapes[index];
                    let mut times = Vec::with_capacity(rounds);
                    let mut total = 0;
                    for round in 0..rounds + 5 {
                        let mut request = shape.request.clone();
                        if shape.fifth_page {
                            for _ in 0..4 {
                                let page = client.search(&request).await?;
                                request.cursor = page.next_cursor;
                            }
                        }
                        let started = Instant::now();
                        let results = client.search(&request).await?;
                        // The first rounds warm up the connection and caches.
                        if round >= 5 {
                            times.push(started.elapsed());
                        }
                        total = results.total;
                    }
                    anyhow::Ok((times, total))
                }));
            }
            let mut times = Vec::new();
            for task in tasks {
                let (mut some, total) = task.await??;
                times.append(&mut some);
                hits = total;
            }
            times.sort();
            row.push((percentile(&times, 0.50), percentile(&times, 0.99)));
        }
        println!(
            "  {:<42} {:>9}  {:>8.2} {:>8.2}  {:>8.2} {:>8.2}",
            shape.name, hits, row[0].0, row[0].1, row[1].0, row[1].1
        );
    }
    Ok(())
}

/// The `q` quantile of sorted durations, in milliseconds.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[at].as_secs_f64() * 1e3
}
