//! The command line: `registratur serve` runs the server; every other subcommand is a client of a
//! running server, printing readable text or, with `--json`, one JSON object.

mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::grpc::client::AdminClient;
use crate::service::{Engine, EngineLimits};

#[derive(Debug, Parser)]
#[command(
    name = "registratur",
    version,
    about = "E-Akte engine: records, mailroom ingest, search, migration"
)]
pub struct Cli {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// Server to talk to.
    #[arg(
        long,
        env = "REGISTRATUR_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server (health and reflection included) until Ctrl-C or SIGTERM.
    Serve {
        /// TOML config file (default: $REGISTRATUR_CONFIG, else ./registratur.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory for blobs and metadata (overrides the config file).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address to listen on, e.g. 127.0.0.1:50051 (overrides the config file).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Show counts from the store: blobs, bytes, journal length and head.
    Status,
    /// Store a file as a blob; prints its BLAKE3 address and SHA-256.
    PutBlob {
        /// File to store ("-" for standard input).
        file: PathBuf,
        /// Note recorded in the journal.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Write a blob's verified bytes to a file or standard output.
    GetBlob {
        /// BLAKE3 address (64 hex digits).
        hash: String,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Walk the hash-chained journal; exits with 1 when a link is broken.
    VerifyJournal,
    /// Re-hash every blob; exits with 1 when blobs are missing or corrupted.
    Fixity,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let client = cli.client;
    match cli.command {
        Command::Serve {
            config,
            data_dir,
            listen,
        } => serve(config, data_dir, listen).await,
        Command::Status => {
            let report = connect(&client).await?.status().await?;
            output::status(&report, client.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::PutBlob { file, note } => {
            let mut admin = connect(&client).await?;
            let stored = if file.as_os_str() == "-" {
                admin.put_blob(tokio::io::stdin(), &note).await?
            } else {
                let source = tokio::fs::File::open(&file)
                    .await
                    .with_context(|| format!("cannot open {}", file.display()))?;
                admin.put_blob(source, &note).await?
            };
            output::stored_blob(&stored, client.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::GetBlob { hash, output: path } => {
            let mut admin = connect(&client).await?;
            match path {
                Some(path) => {
                    // Write to a temp file beside the target and rename, so a failed read leaves no partial file.
                    let temp = path.with_extension("part");
                    let file = tokio::fs::File::create(&temp)
                        .await
                        .with_context(|| format!("cannot create {}", temp.display()))?;
                    match admin.get_blob(&hash, file).await {
                        Ok(_) => tokio::fs::rename(&temp, &path).await?,
                        Err(error) => {
                            let _ = tokio::fs::remove_file(&temp).await;
                            return Err(error.into());
                        }
                    }
                }
                None => {
                    admin.get_blob(&hash, tokio::io::stdout()).await?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyJournal => {
            let check = connect(&client).await?.verify_journal().await?;
            output::journal_check(&check, client.json);
            Ok(if check.first_break.is_none() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Fixity => {
            let report = connect(&client).await?.check_fixity().await?;
            output::fixity(&report, client.json);
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

async fn connect(client: &ClientArgs) -> anyhow::Result<AdminClient> {
    Ok(AdminClient::connect(&client.server).await?)
}

async fn serve(
    config_path: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(config_path.as_deref(), |name| std::env::var(name).ok())?;
    if let Some(data_dir) = data_dir {
        config.storage.data_dir = data_dir;
    }
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    init_tracing(&config.log.filter);

    let data_dir = config.storage.data_dir.clone();
    let limits = EngineLimits {
        max_upload_bytes: config.server.max_upload_bytes,
    };
    let engine = tokio::task::spawn_blocking(move || Engine::open(data_dir, limits))
        .await?
        .with_context(|| {
            format!(
                "cannot open the store in {}",
                config.storage.data_dir.display()
            )
        })?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        data_dir = %config.storage.data_dir.display(),
        "registratur serving gRPC (health and reflection enabled)"
    );
    crate::grpc::server::serve(engine, listener, shutdown_signal()).await?;
    tracing::info!("registratur stopped");
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
