//! The mailroom clerk's web page in a real browser: a real engine (gRPC for the setup, the web page
//! on its own loopback port) with a generated scan batch whose pieces become Klärfälle, driven by
//! `tests/web/clerk.mjs` through playwright-core and the system chromium. Screenshots of every page
//! land in `target/web-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use registratur::grpc::client::{BatchEventReport, BatchFileSource, Client, ConnectOptions};
use registratur::records::aktenplan::Aktenplan;
use registratur::search::SearchSettings;
use registratur::service::{Engine, EngineLimits, EngineSettings, NewBatch};
use registratur::web::{WebSettings, serve_web};
use registratur_testkit::{BatchOptions, LetterSpec, Routing, render_batch, write_tiff};

use super::support::{ADMIN, FACHVERFAHREN, MAILROOM, test_tokens};

const DPI: f32 = 150.0;
/// What the scanner batch id, shown as each Klärfall's source, says: markup that must show as text.
const XSS: &str = "<script>alert('xss')</script> Stapel";

/// The system chromium (Debian package `chromium`, installed by `scripts/install-deps`).
fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .expect("chromium is installed (scripts/install-deps)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_resolves_a_klaerfall_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let search = SearchSettings {
        commit_interval: std::time::Duration::from_millis(50),
        poll_interval: std::time::Duration::from_millis(10),
        ..SearchSettings::default()
    };
    let limits = EngineLimits { max_upload_bytes: 64 << 20, ..Default::default() };
    let engine =
        Engine::open(dir.path().join("data"), EngineSettings { limits, search, ..Default::default() })
            .unwrap();
    let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_url = format!("http://{}", grpc_listener.local_addr().unwrap());
    let web_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web_url = format!("http://{}", web_listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let grpc = tokio::spawn(registratur::grpc::server::serve(
        engine.clone(),
        test_tokens(),
        None,
        grpc_listener,
        until_stopped(stopped.clone()),
    ));
    let settings =
        WebSettings { session_lifetime: std::time::Duration::from_secs(600), secure_cookies: false };
    let web = tokio::spawn(serve_web(engine, test_tokens(), settings, web_listener, until_stopped(stopped)));

    let connect = |token: &str| ConnectOptions {
        url: grpc_url.clone(),
        token: Some(token.into()),
        ca_certificate: None,
    };
    let mut admin = Client::connect(connect(ADMIN)).await.unwrap();
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let unit =
        Aktenplan::example_kgst().units().map(|u| u.key.to_string()).find(|k| k.starts_with("32")).unwrap();
    let target = admin.create_akte(&unit, "Bauantrag Musterstraße 5", None, Some(2026)).await.unwrap();
    let other = admin.create_akte(&unit, "Gewerbeanmeldung Bäckerei", None, Some(2026)).await.unwrap();
    assert_ne!(target.aktenzeichen, other.aktenzeichen);

    // Two unroutable letters: one of two pages, and one whose text quotes markup.
    let letters = vec![
        LetterSpec {
            routing: Routing::Nothing,
            pages: 2,
            upside_down: false,
            expect: "klaerfall:no_code".into(),
        },
        LetterSpec {
            routing: Routing::Text("<script>alert(1)</script>".into()),
            pages: 1,
            upside_down: false,
            expect: "klaerfall:no_code".into(),
        },
    ];
    let options = BatchOptions { dpi: DPI, seed: 21, duplex: false, ..BatchOptions::default() };
    let (pages, _) = render_batch(&letters, &options).unwrap();
    let tiff = write_tiff(&pages, DPI).unwrap();
    let mut mailroom = Client::connect(connect(MAILROOM)).await.unwrap();
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let header = NewBatch {
        scanner_batch_id: XSS.into(),
        channel: "paper_scan".into(),
        posteingangsdatum: today,
        operator: "Poststelle 1".into(),
        dpi: DPI as u32,
        colour_mode: "gray".into(),
        device: "Testscanner".into(),
        duplex: false,
        expected_sheets: None,
        scanned_at: None,
    };
    let files = vec![BatchFileSource { filename: "<b>brief</b>.tiff".into(), bytes: tiff }];
    let receipt = mailroom.ingest(header, files).await.unwrap();
    mailroom.watch_batch(receipt.batch_id, |_: BatchEventReport| {}).await.unwrap();
    let report = mailroom.batch(receipt.batch_id).await.unwrap();
    let klaerfaelle: Vec<u64> = report.pieces.iter().map(|p| p.klaerfall_id).filter(|id| *id != 0).collect();
    assert_eq!(klaerfaelle.len(), 2, "{report:#?}");
    let first = report.pieces.iter().find(|p| p.piece == 1).unwrap().klaerfall_id;
    assert_ne!(first, 0, "{report:#?}");

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let screenshots = root.join("target/web-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let output = tokio::task::spawn_blocking({
        let target_az = target.aktenzeichen.clone();
        let batch_id = receipt.batch_id.to_string();
        move || {
            Command::new("node")
                .arg(root.join("tests/web/clerk.mjs"))
                .env("WEB_URL", &web_url)
                .env("CHROMIUM", chromium())
                .env("SCREENSHOTS", &screenshots)
                .env("MAILROOM_TOKEN", MAILROOM)
                .env("ADMIN_TOKEN", ADMIN)
                .env("FACHVERFAHREN_TOKEN", FACHVERFAHREN)
                .env("KLAERFALL", first.to_string())
                .env("AKTENZEICHEN", target_az)
                .env("BATCH", batch_id)
                .env("XSS", XSS)
                .output()
                .expect("node runs (scripts/install-deps installs it and tests/web's packages)")
        }
    })
    .await
    .unwrap();
    let log =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser test failed:\n{log}");
    // The script's measurements (time to first byte, page weight), shown with --no-capture.
    println!("{log}");

    // The piece is filed exactly once, in the Akte the clerk chose, with the note and the clerk's name.
    let shown = mailroom.klaerfall(first).await.unwrap();
    assert_eq!(
        (
            shown.state.as_str(),
            shown.resolved_by.as_str(),
            shown.resolved_akte_id,
            shown.resolved_note.as_str()
        ),
        ("resolved", "mailroom", target.id, "Absender telefonisch bestätigt"),
        "{shown:#?}"
    );
    let details = admin.akte(&registratur::records::repo::AkteRef::Id(target.id)).await.unwrap();
    assert_eq!(details.dokumente.len(), 1, "filed once, not twice: {details:#?}");
    let history = admin.document_history(shown.resolved_dokument_id).await.unwrap();
    let filed = history.iter().find(|h| h.action == "dokument.add").unwrap_or_else(|| panic!("{history:?}"));
    assert_eq!(filed.actor, "mailroom", "the clerk's name is in the journal");
    let payload: serde_json::Value = serde_json::from_str(&filed.details).unwrap();
    assert_eq!(payload["klaerfall"]["note"], "Absender telefonisch bestätigt", "{payload:#}");
    let other_details = admin.akte(&registratur::records::repo::AkteRef::Id(other.id)).await.unwrap();
    assert!(other_details.dokumente.is_empty());

    let _ = stop.send(true);
    grpc.await.unwrap().unwrap();
    web.await.unwrap().unwrap();
}
