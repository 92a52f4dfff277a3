//! `registratur serve`: configuration, tracing, the store, tokens, TLS, and the gRPC server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::auth::TokenRegistry;
use crate::config::Config;
use crate::grpc::server::TlsPem;
use crate::records::aktenzeichen::AktenzeichenFormat;
use crate::service::{Engine, EngineLimits, EngineSettings, OcrChoice};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML config file (default: $REGISTRATUR_CONFIG, else ./registratur.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory for blobs and metadata (overrides the config file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:50051 (overrides the config file).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
}

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(args.config.as_deref(), |name| std::env::var(name).ok())?;
    if let Some(data_dir) = args.data_dir {
        config.storage.data_dir = data_dir;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    init_tracing(&config.log.filter);

    let format = AktenzeichenFormat::new(&config.records.aktenzeichen_format)
        .with_context(|| "records.aktenzeichen_format is invalid")?;
    let (mailroom, ocr) = config.mailroom.settings();
    let settings = EngineSettings {
        limits: EngineLimits {
            max_upload_bytes: config.server.max_upload_bytes,
            max_queued_batches: config.mailroom.max_queued_batches.max(1),
        },
        aktenzeichen_format: format,
        mailroom,
        ocr: OcrChoice::Tesseract(ocr),
        search: config.search.settings(),
        scrub: config.fixity.settings(),
        migration: config.migration.settings().with_context(|| "[migration] policy cannot be used")?,
        evidence: config.evidence.as_ref().map(|e| e.settings()).transpose()?,
        clock: None,
        blobs: config.blobs.backend(|name| std::env::var(name).ok())?,
    };
    let data_dir = config.storage.data_dir.clone();
    let engine = tokio::task::spawn_blocking(move || Engine::open(data_dir, settings))
        .await?
        .with_context(|| format!("cannot open the store in {}", config.storage.data_dir.display()))?;

    let mut tokens = TokenRegistry::from_config(&config.auth.tokens)?;
    if tokens.is_empty() {
        tokens = tokens.with_bootstrap_admin(&config.storage.data_dir)?;
        tracing::warn!(
            file = %config.storage.data_dir.join(crate::auth::BOOTSTRAP_TOKEN_FILE).display(),
            "no tokens configured: using the bootstrap admin token from this file; configure [[auth.tokens]] for production"
        );
    }
    let tls = match &config.server.tls {
        Some(tls) => Some(TlsPem {
            certificate: std::fs::read(&tls.certificate)
                .with_context(|| format!("cannot read the TLS certificate {}", tls.certificate.display()))?,
            private_key: std::fs::read(&tls.private_key)
                .with_context(|| format!("cannot read the TLS private key {}", tls.private_key.display()))?,
        }),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        data_dir = %config.storage.data_dir.display(),
        tls = tls.is_some(),
        "registratur serving gRPC (health and reflection enabled)"
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let metrics = match config.server.metrics_listen.trim() {
        "off" | "" => None,
        address => {
            let metrics_listener = tokio::net::TcpListener::bind(address).await.with_context(|| {
                format!("cannot listen on {address} for /metrics; set [server] metrics_listen (or \"off\")")
            })?;
            tracing::info!(listen = %metrics_listener.local_addr()?, "serving Prometheus metrics at /metrics");
            let engine = engine.clone();
            let shutdown = until_stopped(stopped.clone());
            Some(tokio::spawn(crate::http::serve_metrics(engine, metrics_listener, shutdown)))
        }
    };
    let web = match config.web.listen.trim() {
        "off" | "" => None,
        address => {
            let web_listener = tokio::net::TcpListener::bind(address).await.with_context(|| {
                format!("cannot listen on {address} for the web page; set [web] listen (or \"off\")")
            })?;
            tracing::info!(url = %format!("http://{}/", web_listener.local_addr()?), "serving the mailroom web page");
            let settings = crate::web::WebSettings {
                session_lifetime: std::time::Duration::from_secs(config.web.session_minutes.max(1) * 60),
                secure_cookies: config.web.secure_cookies || config.server.tls.is_some(),
            };
            let shutdown = until_stopped(stopped.clone());
            Some(tokio::spawn(crate::web::serve_web(
                engine.clone(),
                tokens.clone(),
                settings,
                web_listener,
                shutdown,
            )))
        }
    };
    crate::grpc::server::serve(engine, tokens, tls, listener, until_stopped(stopped)).await?;
    if let Some(metrics) = metrics {
        metrics.await??;
    }
    if let Some(web) = web {
        web.await??;
    }
    tracing::info!("registratur stopped");
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
