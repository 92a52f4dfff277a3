//! Records subcommands: `aktenplan`, `akte`, `vorgang`, `doc`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::{open, output, write_output};
use crate::grpc::client::Client;
use crate::records::repo::AkteRef;
use crate::service::DocumentHeader;

/// An Akte on the command line: a number is its id, anything else its Aktenzeichen.
pub(super) fn akte_ref(text: &str) -> AkteRef {
    match text.parse::<u64>() {
        Ok(id) => AkteRef::Id(id),
        Err(_) => AkteRef::Aktenzeichen(text.to_string()),
    }
}

#[derive(Debug, Subcommand)]
pub enum AktenplanCommand {
    /// Replace the Aktenplan with the units in FILE (admin).
    Import { file: PathBuf },
    /// Write the current Aktenplan (to FILE or standard output).
    Export {
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AkteCommand {
    /// Create an Akte; the engine assigns the next running number unless --aktenzeichen is given.
    Create {
        /// Aktenplan unit, e.g. 32.10.05.
        #[arg(long)]
        unit: String,
        #[arg(long)]
        title: String,
        /// Take over an existing Aktenzeichen (paper files).
        #[arg(long)]
        aktenzeichen: Option<String>,
        /// Year of an assigned Aktenzeichen (default: this year).
        #[arg(long)]
        year: Option<u32>,
    },
    /// Show an Akte with its Vorgänge and Dokumente (AKTE: id or Aktenzeichen).
    Show { akte: String },
    /// List Akten, optionally under an Aktenplan unit.
    List {
        #[arg(long)]
        unit: Option<String>,
        /// Include closed Akten.
        #[arg(long)]
        closed: bool,
    },
    /// Close an Akte (z.d.A.).
    Close {
        akte: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Show the history (HistorienProtokoll) of an Akte.
    History { akte: String },
    /// Issue a routing code to print as a QR code on an outgoing letter.
    RoutingCode { akte: String },
    #[command(flatten)]
    Lifecycle(super::lifecycle::AkteLifecycleCommand),
}

#[derive(Debug, Subcommand)]
pub enum VorgangCommand {
    /// Create a Vorgang in an Akte.
    Create {
        akte: String,
        #[arg(long)]
        title: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocCommand {
    /// Add a file as a new Dokument to an Akte.
    Add {
        akte: String,
        file: PathBuf,
        /// Title (default: the file name).
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        vorgang: Option<u64>,
        #[arg(long, default_value = "")]
        sender: String,
        /// The sender's reference (fremdes Geschäftszeichen).
        #[arg(long, default_value = "")]
        their_reference: String,
        /// Posteingangsdatum, YYYY-MM-DD (default: today).
        #[arg(long)]
        received: Option<String>,
        /// paper_scan, email, fachverfahren or other.
        #[arg(long, default_value = "fachverfahren")]
        channel: String,
        #[arg(long, default_value = "cli")]
        source: String,
        /// Media type (default: from the file extension).
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Add a file as a new Version of a Dokument.
    Version {
        document: u64,
        file: PathBuf,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Show a Dokument with its Versionen.
    Show { document: u64 },
    /// Write a Dokument's content (newest Version's original unless told otherwise).
    Cat {
        document: u64,
        #[arg(long)]
        version: Option<u32>,
        /// A rendition such as pdfa or ocr_text instead of the original.
        #[arg(long)]
        rendition: Option<String>,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Show the history of a Dokument.
    History { document: u64 },
    #[command(flatten)]
    Lifecycle(super::lifecycle::DocLifecycleCommand),
}

/// A media type guessed from a file name, for files added without `--media-type`.
fn media_type_of(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "tif" | "tiff" => "image/tiff",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "odt" => "application/vnd.oasis.opendocument.text",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

pub(super) async fn aktenplan(
    mut client: Client,
    command: AktenplanCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        AktenplanCommand::Import { file } => {
            let csv =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let (version, units) = client.import_aktenplan(csv).await?;
            output::aktenplan_imported(version, units, json);
        }
        AktenplanCommand::Export { output: path } => {
            let (_, csv) = client.export_aktenplan().await?;
            match path {
                Some(path) => {
                    std::fs::write(&path, csv).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => print!("{csv}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn akte(mut client: Client, command: AkteCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        AkteCommand::Create { unit, title, aktenzeichen, year } => {
            let akte = client.create_akte(&unit, &title, aktenzeichen.as_deref(), year).await?;
            output::akte(&akte, json);
        }
        AkteCommand::Show { akte } => output::akte_details(&client.akte(&akte_ref(&akte)).await?, json),
        AkteCommand::List { unit, closed } => {
            let mut all = Vec::new();
            let mut token = String::new();
            loop {
                let (akten, next) = client.list_akten(unit.as_deref(), closed, 1000, &token).await?;
                all.extend(akten);
                match next {
                    Some(next) => token = next,
                    None => break,
                }
            }
            output::akten(&all, json);
        }
        AkteCommand::Close { akte, note } => {
            output::akte(&client.close_akte(&akte_ref(&akte), &note).await?, json)
        }
        AkteCommand::History { akte } => output::history(&client.akte_history(&akte_ref(&akte)).await?, json),
        AkteCommand::RoutingCode { akte } => {
            output::routing_code(&client.issue_routing_code(&akte_ref(&akte)).await?, json)
        }
        AkteCommand::Lifecycle(command) => return super::lifecycle::akte(client, command, json).await,
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn vorgang(
    mut client: Client,
    command: VorgangCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let VorgangCommand::Create { akte, title } = command;
    output::vorgang(&client.create_vorgang(&akte_ref(&akte), &title).await?, json);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn doc(mut client: Client, command: DocCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        DocCommand::Add {
            akte,
            file,
            title,
            vorgang,
            sender,
            their_reference,
            received,
            channel,
            source,
            media_type,
        } => {
            let new = DocumentHeader {
                akte: akte_ref(&akte),
                vorgang_id: vorgang,
                title: title.unwrap_or_else(|| file_name(&file)),
                sender,
                fremdes_geschaeftszeichen: their_reference,
                posteingangsdatum: received
                    .unwrap_or_else(|| chrono::Local::now().date_naive().format("%Y-%m-%d").to_string()),
                channel,
                source,
                filename: file_name(&file),
                media_type: media_type.unwrap_or_else(|| media_type_of(&file).to_string()),
            };
            let details = client.add_document(new, open(&file).await?).await?;
            output::document(&details, json);
        }
        DocCommand::Version { document, file, reason, media_type } => {
            let media_type = media_type.unwrap_or_else(|| media_type_of(&file).to_string());
            let source = open(&file).await?;
            let details =
                client.add_version(document, &reason, &file_name(&file), &media_type, source).await?;
            output::document(&details, json);
        }
        DocCommand::Show { document } => output::document(&client.document(document).await?, json),
        DocCommand::Cat { document, version, rendition, output: path } => {
            write_output(path.as_deref(), async |sink| {
                client.read_content(document, version, rendition.as_deref(), sink).await.map(|_| ())
            })
            .await?;
        }
        DocCommand::History { document } => output::history(&client.document_history(document).await?, json),
        DocCommand::Lifecycle(command) => return super::lifecycle::doc(client, command, json).await,
    }
    Ok(ExitCode::SUCCESS)
}
