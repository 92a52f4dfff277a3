//! The command line: `registratur serve` runs the server, `registratur token new` makes a token offline,
//! and every other subcommand is a client of a running server, printing readable text or, with
//! `--json`, one JSON document.

mod audit;
mod evidence;
mod lifecycle;
mod mailroom;
mod migrate;
mod output;
mod records;
mod search;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::auth::{BOOTSTRAP_TOKEN_FILE, Role};
use crate::grpc::client::{Client, ConnectOptions};

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
    /// Server to talk to (https://… for TLS).
    #[arg(long, env = "REGISTRATUR_SERVER", default_value = "http://127.0.0.1:50051", global = true)]
    pub server: String,
    /// Bearer token. Default: $REGISTRATUR_TOKEN, else --token-file, else the bootstrap admin token in
    /// ./storage/data when present.
    #[arg(long, env = "REGISTRATUR_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the bearer token.
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// PEM certificate to trust for TLS (the server's or its CA's).
    #[arg(long, global = true)]
    pub ca_cert: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server (health and reflection included) until Ctrl-C or SIGTERM.
    Serve(serve::ServeArgs),
    /// Make a new bearer token and print it with the config lines that grant it (offline).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Show counts from the store: blobs, bytes, journal length and head.
    Status,
    /// Store a file as a raw blob (admin); prints its BLAKE3 address and SHA-256.
    PutBlob {
        /// File to store ("-" for standard input).
        file: PathBuf,
        /// Note recorded in the journal.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Write a raw blob's verified bytes to a file or standard output (admin).
    GetBlob {
        /// BLAKE3 address (64 hex digits).
        hash: String,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Walk the hash-chained journal; exits with 1 when a link is broken.
    VerifyJournal,
    /// Aussonderung to the archive (archivist or admin): due Akten, offer (xdomea 0501), appraisal import
    /// (0502 → 0505), process status.
    Aussonderung {
        #[command(subcommand)]
        command: lifecycle::AussonderungCommand,
    },
    /// Fixity for archivists: re-hash every blob now (default), the last scrub's report, the quarantine.
    Fixity {
        #[command(subcommand)]
        command: Option<audit::FixityCommand>,
    },
    /// Audit: export a Dokument's full, verifiable history (archivist or admin).
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Import or export the Aktenplan (format: docs/aktenplan.md).
    Aktenplan {
        #[command(subcommand)]
        command: records::AktenplanCommand,
    },
    /// Create, show, list and close Akten; history and routing codes.
    Akte {
        #[command(subcommand)]
        command: records::AkteCommand,
    },
    /// Create Vorgänge in an Akte.
    Vorgang {
        #[command(subcommand)]
        command: records::VorgangCommand,
    },
    /// Add, show and read Dokumente; add Versionen; history.
    Doc {
        #[command(subcommand)]
        command: records::DocCommand,
    },
    /// Send scanned files to the mailroom as one batch (with --wait: print where each piece went).
    Ingest(mailroom::IngestArgs),
    /// Show or follow a mailroom batch.
    Batch {
        #[command(subcommand)]
        command: mailroom::BatchCommand,
    },
    /// The Klärfall queue: pieces no rule could route.
    Klaerfall {
        #[command(subcommand)]
        command: mailroom::KlaerfallCommand,
    },
    /// Full-text search over all Akten you may read.
    Search(search::SearchArgs),
    /// Evidence records (RFC 4998): export a Version's `.ers`, verify one offline, show the queue.
    Evidence {
        #[command(subcommand)]
        command: evidence::EvidenceCommand,
    },
    /// Rebuild the search index from the records, with a progress bar (archivist or admin).
    Reindex,
    /// Counts and bytes per file format (PRONOM PUID), per Aktenplan subtree (archivist or admin).
    Census(migrate::ScopeArgs),
    /// Format migration jobs: plan (dry run), start, watch, pause, resume, cancel, report.
    #[command(after_help = migrate::EXIT_CODES)]
    Migrate {
        #[command(subcommand)]
        command: migrate::MigrateCommand,
    },
    /// Identify local files' formats by content, as the server does (offline).
    Identify {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate a token; the server stores only its SHA-256.
    New {
        /// Name of the principal, as the journal will show it.
        #[arg(long)]
        name: String,
        /// mailroom, fachverfahren, archivist or admin.
        #[arg(long)]
        role: Role,
        /// Aktenplan subtree the token is limited to (fachverfahren only; repeatable).
        #[arg(long)]
        scope: Vec<String>,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let args = cli.client;
    match cli.command {
        Command::Serve(serve) => serve::run(serve).await,
        Command::Token { command: TokenCommand::New { name, role, scope } } => {
            output::new_token(&name, role, &scope, &crate::auth::generate_token(), args.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status => {
            let report = connect(&args).await?.status().await?;
            output::status(&report, args.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::PutBlob { file, note } => {
            let mut client = connect(&args).await?;
            let stored = if file.as_os_str() == "-" {
                client.put_blob(tokio::io::stdin(), &note).await?
            } else {
                client.put_blob(open(&file).await?, &note).await?
            };
            output::stored_blob(&stored, args.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::GetBlob { hash, output: path } => {
            let mut client = connect(&args).await?;
            write_output(path.as_deref(), async |sink| client.get_blob(&hash, sink).await.map(|_| ()))
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyJournal => {
            let check = connect(&args).await?.verify_journal().await?;
            output::journal_check(&check, args.json);
            Ok(if check.first_break.is_none() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Aussonderung { command } => {
            lifecycle::aussonderung(connect(&args).await?, command, args.json).await
        }
        Command::Fixity { command } => audit::fixity(&mut connect(&args).await?, command, args.json).await,
        Command::Audit { command } => audit::audit(&mut connect(&args).await?, command).await,
        Command::Aktenplan { command } => records::aktenplan(connect(&args).await?, command, args.json).await,
        Command::Akte { command } => records::akte(connect(&args).await?, command, args.json).await,
        Command::Vorgang { command } => records::vorgang(connect(&args).await?, command, args.json).await,
        Command::Doc { command } => records::doc(connect(&args).await?, command, args.json).await,
        Command::Ingest(ingest) => mailroom::ingest(&mut connect(&args).await?, ingest, args.json).await,
        Command::Batch { command } => mailroom::batch(&mut connect(&args).await?, command, args.json).await,
        Command::Klaerfall { command } => {
            mailroom::klaerfall(&mut connect(&args).await?, command, args.json).await
        }
        Command::Search(search) => search::search(&mut connect(&args).await?, search, args.json).await,
        Command::Evidence { command } => evidence::run(&args, command).await,
        Command::Reindex => search::reindex(&mut connect(&args).await?, args.json).await,
        Command::Census(scope) => migrate::census(&mut connect(&args).await?, scope, args.json).await,
        Command::Migrate { command } => {
            migrate::migrate(&mut connect(&args).await?, command, args.json).await
        }
        Command::Identify { files } => migrate::identify(&files, args.json),
    }
}

async fn connect(args: &ClientArgs) -> anyhow::Result<Client> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(path)) => {
            Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        (None, None) => {
            let bootstrap = Path::new("storage/data").join(BOOTSTRAP_TOKEN_FILE);
            std::fs::read_to_string(bootstrap).ok()
        }
    };
    let ca_certificate = match &args.ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => None,
    };
    Ok(Client::connect(ConnectOptions { url: args.server.clone(), token, ca_certificate }).await?)
}

async fn open(path: &Path) -> anyhow::Result<tokio::fs::File> {
    tokio::fs::File::open(path).await.with_context(|| format!("cannot open {}", path.display()))
}

/// Runs `fill` against the output file, or against standard output, and returns what it returns. A
/// file is written beside its name and renamed only once `fill` succeeded and the bytes are on disk,
/// so a failed or broken-off download leaves no partial file and a printed success is durable.
async fn write_output<T, F>(path: Option<&Path>, fill: F) -> anyhow::Result<T>
where
    F: AsyncFnOnce(
        &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
    ) -> Result<T, crate::grpc::client::ClientError>,
{
    match path {
        Some(path) => {
            let temp = path.with_extension("part");
            let mut file = tokio::fs::File::create(&temp)
                .await
                .with_context(|| format!("cannot create {}", temp.display()))?;
            let filled = match fill(&mut file).await {
                Ok(value) => file.sync_all().await.map(|()| value).map_err(anyhow::Error::from),
                Err(error) => Err(error.into()),
            };
            match filled {
                Ok(value) => {
                    tokio::fs::rename(&temp, path).await?;
                    Ok(value)
                }
                Err(error) => {
                    drop(file);
                    let _ = tokio::fs::remove_file(&temp).await;
                    Err(error)
                }
            }
        }
        None => Ok(fill(&mut tokio::io::stdout()).await?),
    }
}
