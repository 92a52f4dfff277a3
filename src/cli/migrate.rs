//! `registratur census`, `registratur migrate …` and `registratur identify`: format migration for
//! archivists. Jobs run on the server; `watch` (and `--wait`) follow one with a progress bar and ETA.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::grpc::client::{Client, MigrationItemReport, MigrationJobReport};

/// Which Dokumente: an Aktenplan subtree or one Akte; neither means all.
#[derive(Debug, clap::Args)]
pub struct ScopeArgs {
    /// Only this Aktenplan subtree, e.g. 32.10.
    #[arg(long, conflicts_with = "az")]
    unit: Option<String>,
    /// Only this Akte (its Aktenzeichen).
    #[arg(long)]
    az: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum MigrateCommand {
    /// Dry run: what would be migrated, how many bytes, which failures to expect. Changes nothing.
    Plan {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Follow the job with a progress bar until it is done, then print the summary.
        #[arg(long)]
        wait: bool,
    },
    /// Start migrating what the policy says into archival formats (new Versions; originals stay).
    Start {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Follow the job with a progress bar until it is done, then print the summary.
        #[arg(long)]
        wait: bool,
    },
    /// Follow a job with a progress bar and ETA until it is done.
    Watch { job: u64 },
    /// A job's state and counts.
    Show { job: u64 },
    /// Every job, newest first.
    List,
    /// Pause a job after the Dokumente in hand.
    Pause { job: u64 },
    /// Resume a paused job where it stopped.
    Resume { job: u64 },
    /// Cancel a job; what it migrated stays migrated.
    Cancel { job: u64 },
    /// The job's outcome per Dokument (default: everything that is not simply kept).
    Report {
        job: u64,
        /// Every Dokument, including kept ones.
        #[arg(long)]
        all: bool,
    },
    /// Print the format policy in force.
    Policy,
}

pub(super) async fn census(client: &mut Client, scope: ScopeArgs, as_json: bool) -> anyhow::Result<ExitCode> {
    let rows = client.census(scope.unit, scope.az).await.context("census failed")?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no Dokumente in scope");
    }
    let mut unit = None;
    for row in &rows {
        if unit != Some(&row.unit) {
            unit = Some(&row.unit);
            println!(
                "{}",
                if row.unit.is_empty() { "all Akten".to_string() } else { format!("Aktenplan {}", row.unit) }
            );
        }
        let format =
            if row.version.is_empty() { row.name.clone() } else { format!("{} {}", row.name, row.version) };
        println!("  {:<12} {:<40} {:>9} Dokumente {:>12}", row.puid, format, row.dokumente, bytes(row.bytes));
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn migrate(
    client: &mut Client,
    command: MigrateCommand,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let job = match command {
        MigrateCommand::Plan { scope, wait } => {
            let job = client
                .start_migration(true, scope.unit, scope.az)
                .await
                .context("cannot start the dry run")?;
            if wait { follow(client, job.job_id, as_json).await? } else { job }
        }
        MigrateCommand::Start { scope, wait } => {
            let job =
                client.start_migration(false, scope.unit, scope.az).await.context("cannot start the job")?;
            if wait { follow(client, job.job_id, as_json).await? } else { job }
        }
        MigrateCommand::Watch { job } => follow(client, job, as_json).await?,
        MigrateCommand::Show { job } => client.migration_job(job).await?,
        MigrateCommand::List => {
            let jobs = client.migration_jobs().await?;
            if as_json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else if jobs.is_empty() {
                println!(
                    "no migration jobs yet; start one with `registratur migrate plan` or `migrate start`"
                );
            } else {
                for job in &jobs {
                    println!("{}", one_line(job));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        MigrateCommand::Pause { job } => client.control_migration(job, "pause").await?,
        MigrateCommand::Resume { job } => client.control_migration(job, "resume").await?,
        MigrateCommand::Cancel { job } => client.control_migration(job, "cancel").await?,
        MigrateCommand::Report { job, all } => return report(client, job, all, as_json).await,
        MigrateCommand::Policy => {
            let (name, version, sha256, toml) = client.migration_policy().await?;
            if as_json {
                let policy =
                    serde_json::json!({ "name": name, "version": version, "sha256": sha256, "toml": toml });
                println!("{policy}");
            } else {
                println!("# policy {name} v{version} (sha256 {sha256})\n{toml}");
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    print_job(&job, as_json)?;
    Ok(if job.failed > 0 && job.is_finished() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Follows a job to its end, with a progress bar on a terminal and a line per 10 % otherwise.
async fn follow(client: &mut Client, job: u64, as_json: bool) -> anyhow::Result<MigrationJobReport> {
    let terminal = !as_json && std::io::stderr().is_terminal();
    let bar = if terminal { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} job {prefix} {msg:12} [{bar:40}] {pos}/{len} Dokumente, {per_sec}, ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("#>-"),
    );
    bar.set_prefix(job.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut shown = 0;
    let last = client
        .watch_migration(job, |report| {
            bar.set_length(report.total.max(report.examined));
            bar.set_position(report.examined);
            bar.set_message(report.state.clone());
            if !terminal && !as_json && report.total > 0 && report.examined * 10 / report.total > shown {
                shown = report.examined * 10 / report.total;
                eprintln!(
                    "job {job}: {} of {} Dokumente examined ({})",
                    report.examined, report.total, report.state
                );
            }
        })
        .await
        .context("lost the job's progress; `registratur migrate watch` follows it again")?;
    bar.finish_and_clear();
    Ok(last)
}

fn one_line(job: &MigrationJobReport) -> String {
    let scope = if !job.aktenzeichen.is_empty() {
        format!("Akte {}", job.aktenzeichen)
    } else if !job.unit.is_empty() {
        format!("Aktenplan {}", job.unit)
    } else {
        "all Akten".into()
    };
    format!(
        "job {:>4} {:<7} {:<9} {:<20} {}/{} examined, {} migrated, {} kept, {} flagged, {} failed",
        job.job_id,
        job.mode,
        job.state,
        scope,
        job.examined,
        job.total,
        job.migrated,
        job.kept,
        job.flagged,
        job.failed
    )
}

fn print_job(job: &MigrationJobReport, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(job)?);
        return Ok(());
    }
    println!("{}", one_line(job));
    let verb = if job.mode == "plan" { "would migrate" } else { "migrated" };
    println!(
        "  policy {} (sha256 {}), started by {} at {}",
        job.policy, job.policy_sha256, job.created_by, job.created_at
    );
    println!("  {verb} {} Dokumente, {} of sources", job.migrated, bytes(job.source_bytes));
    if job.mode == "migrate" {
        println!("  wrote {} of archival Versions", bytes(job.output_bytes));
    }
    if job.flagged + job.failed > 0 {
        println!(
            "  see `registratur migrate report {}` for the {} Dokumente that need attention",
            job.job_id,
            job.flagged + job.failed
        );
    }
    Ok(())
}

async fn report(client: &mut Client, job: u64, all: bool, as_json: bool) -> anyhow::Result<ExitCode> {
    let mut after = 0;
    let mut items: Vec<MigrationItemReport> = Vec::new();
    loop {
        let (page, next) = client.migration_report(job, after, 1000).await?;
        items.extend(page.into_iter().filter(|item| all || item.outcome != "kept"));
        if next == 0 {
            break;
        }
        after = next;
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        println!(
            "nothing to report for job {job}{}",
            if all { "" } else { " beyond kept Dokumente (--all lists them)" }
        );
    }
    for item in &items {
        let detail = match item.outcome.as_str() {
            "migrated" => format!(
                "→ Version {} {} ({}, {}, sha256 {})",
                item.new_version,
                item.target,
                pages(item.pages),
                bytes(item.output_size),
                item.output_sha256
            ),
            "would_migrate" => format!("→ {} ({})", item.target, pages(item.pages)),
            _ => item.reason.clone(),
        };
        println!(
            "Dokument {:>8} v{} {:<12} {:<48} {:<13} {detail}",
            item.dokument_id, item.version, item.puid, item.format, item.outcome
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Identifies local files by content, as the server would (no server needed).
pub(super) fn identify(files: &[PathBuf], as_json: bool) -> anyhow::Result<ExitCode> {
    use crate::migrate::Toolchain as _;
    let tools = crate::migrate::ScanToolchain::default();
    let mut results = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let ident = tools.identify(&bytes);
        if as_json {
            results.push(serde_json::json!({ "file": file, "identification": ident }));
        } else {
            println!("{}: {}", file.display(), ident.describe());
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn pages(n: u32) -> String {
    if n == 1 { "1 page".into() } else { format!("{n} pages") }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
