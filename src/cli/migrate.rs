//! `registratur census`, `registratur migrate …` and `registratur identify`: format migration for
//! archivists. Jobs run on the server; `watch` (and `--wait`) follow one with a progress bar and ETA,
//! and say by their exit code how the job ended ([`EXIT_CODES`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::grpc::client::{Client, MigrationItemReport, MigrationJobReport};

/// Exit code of `watch`, `start --wait` and `plan --wait` when the job ran to its end and some
/// Dokumente were flagged or failed: a script knows there is a report to read.
pub const EXIT_TO_REVIEW: u8 = 3;
/// Exit code of `watch`, `start --wait` and `plan --wait` when the job was cancelled.
pub const EXIT_CANCELLED: u8 = 4;

/// The exit codes, for `--help`.
pub const EXIT_CODES: &str = "Exit codes of watch, start --wait and plan --wait:
  0  the job ran to its end and every Dokument was migrated (or would be) or kept
  1  error: the server could not be reached, refused the request, or the job's progress was lost
  2  usage error
  3  the job ran to its end, and some Dokumente were flagged or failed: `migrate report JOB` lists them
  4  the job was cancelled
Every other command exits 0 on success and 1 on error.";

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
    #[command(after_help = EXIT_CODES)]
    Plan {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Follow the job with a progress bar until it is done, then print the summary.
        #[arg(long)]
        wait: bool,
    },
    /// Start migrating what the policy says into archival formats (new Versions; originals stay).
    #[command(after_help = EXIT_CODES)]
    Start {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Follow the job with a progress bar until it is done, then print the summary.
        #[arg(long)]
        wait: bool,
    },
    /// Follow a job with a progress bar and ETA until it is done. The ETA assumes the remaining
    /// Dokumente take as long on average as those done so far: it counts Dokumente, not pages.
    #[command(after_help = EXIT_CODES)]
    Watch { job: u64 },
    /// A job's state and counts.
    Show { job: u64 },
    /// Every job, newest first.
    List,
    /// Pause a job after the Dokumente in hand.
    Pause { job: u64 },
    /// Resume a paused job where it stopped (it shows as `queued` until the worker has taken it up).
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
    let total_label = match (&scope.unit, &scope.az) {
        (_, Some(az)) => format!("total of Akte {az}"),
        (Some(unit), None) => format!("total of Aktenplan {unit} and below"),
        (None, None) => "all Akten".to_string(),
    };
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
                if row.unit.is_empty() { total_label.clone() } else { format!("Aktenplan {}", row.unit) }
            );
        }
        let format =
            if row.version.is_empty() { row.name.clone() } else { format!("{} {}", row.name, row.version) };
        println!(
            "  {:<12} {:<40} {:>19} {:>12}",
            row.puid,
            format,
            dokumente(row.dokumente),
            bytes(row.bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn migrate(
    client: &mut Client,
    command: MigrateCommand,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    // Only commands that follow a job to its end say by their exit code how it ended.
    let mut followed = false;
    let job = match command {
        MigrateCommand::Plan { scope, wait } => {
            let job = client
                .start_migration(true, scope.unit, scope.az)
                .await
                .context("cannot start the dry run")?;
            followed = wait;
            if wait { follow(client, job.job_id, as_json).await? } else { job }
        }
        MigrateCommand::Start { scope, wait } => {
            let job =
                client.start_migration(false, scope.unit, scope.az).await.context("cannot start the job")?;
            followed = wait;
            if wait { follow(client, job.job_id, as_json).await? } else { job }
        }
        MigrateCommand::Watch { job } => {
            followed = true;
            follow(client, job, as_json).await?
        }
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
    Ok(if followed { ExitCode::from(exit_code(&job)) } else { ExitCode::SUCCESS })
}

/// How a followed job ended, as an exit code ([`EXIT_CODES`]).
fn exit_code(job: &MigrationJobReport) -> u8 {
    match job.state.as_str() {
        "done" if job.flagged + job.failed > 0 => EXIT_TO_REVIEW,
        "done" => 0,
        "cancelled" => EXIT_CANCELLED,
        // The watch ended before the job did: its progress was lost.
        _ => 1,
    }
}

/// Follows a job to its end, with a progress bar on a terminal and a line per 10 % otherwise.
async fn follow(client: &mut Client, job: u64, as_json: bool) -> anyhow::Result<MigrationJobReport> {
    let terminal = !as_json && std::io::stderr().is_terminal();
    let bar = if terminal { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} job {prefix} {msg:12} [{bar:40}] {pos}/{len} Dokumente, {rate}, ETA {eta}",
        )
        .expect("the template is valid")
        .with_key("rate", |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = out.write_str(&rate(state.per_sec()));
        })
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
    let migrated = if job.mode == "plan" { "would be migrated" } else { "migrated" };
    format!(
        "job {:>4} {:<7} {:<9} {:<20} {}/{} examined, {} {migrated}, {} kept, {} flagged, {} failed",
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
    println!("  {verb} {}, {} of sources", dokumente(job.migrated), bytes(job.source_bytes));
    if job.mode == "migrate" {
        println!("  wrote {} of archival Versions", bytes(job.output_bytes));
    }
    if job.flagged + job.failed > 0 {
        let count = job.flagged + job.failed;
        println!(
            "  see `registratur migrate report {}` for the {} that {} attention",
            job.job_id,
            dokumente(count),
            if count == 1 { "needs" } else { "need" }
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

/// "1 Dokument", "2 Dokumente".
fn dokumente(n: u64) -> String {
    if n == 1 { "1 Dokument".into() } else { format!("{n} Dokumente") }
}

/// Dokumente per second for the progress bar: whole numbers from 10 on, one decimal below, and
/// seconds per Dokument when slower than one a second.
fn rate(per_second: f64) -> String {
    match per_second {
        r if !r.is_finite() || r <= 0.0 => "-- Dokumente/s".into(),
        r if r >= 10.0 => format!("{r:.0} Dokumente/s"),
        r if r >= 1.0 => format!("{r:.1} Dokumente/s"),
        r => format!("{:.0} s per Dokument", 1.0 / r),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(mode: &str, state: &str, migrated: u64, flagged: u64, failed: u64) -> MigrationJobReport {
        MigrationJobReport {
            job_id: 7,
            mode: mode.into(),
            state: state.into(),
            total: 10,
            examined: 10,
            migrated,
            kept: 10 - migrated - flagged - failed,
            flagged,
            failed,
            ..Default::default()
        }
    }

    #[test]
    fn a_job_that_ran_to_its_end_exits_0_or_the_documented_review_code() {
        assert_eq!(exit_code(&job("migrate", "done", 8, 0, 0)), 0);
        assert_eq!(exit_code(&job("migrate", "done", 6, 1, 1)), EXIT_TO_REVIEW);
        assert_eq!(exit_code(&job("plan", "done", 6, 2, 0)), EXIT_TO_REVIEW);
        assert_eq!(exit_code(&job("migrate", "cancelled", 2, 0, 0)), EXIT_CANCELLED);
        assert_ne!(EXIT_TO_REVIEW, 1, "1 means an error");
        for code in ["  0 ", "  1 ", "  2 ", &format!("  {EXIT_TO_REVIEW} "), &format!("  {EXIT_CANCELLED} ")]
        {
            assert!(EXIT_CODES.contains(code), "{code:?} is documented");
        }
    }

    #[test]
    fn exit_codes_are_in_the_help() {
        use clap::CommandFactory as _;
        let mut command = crate::cli::Cli::command();
        let migrate = command.find_subcommand_mut("migrate").expect("the migrate command");
        for sub in ["watch", "start", "plan"] {
            let help = migrate.find_subcommand_mut(sub).expect(sub).render_long_help().to_string();
            assert!(help.contains("Exit codes") && help.contains("flagged or failed"), "{sub}: {help}");
        }
    }

    #[test]
    fn a_dry_run_says_would_be_migrated() {
        assert!(one_line(&job("plan", "done", 8, 0, 0)).contains("8 would be migrated"));
        assert!(one_line(&job("migrate", "done", 8, 0, 0)).contains("8 migrated"));
    }

    #[test]
    fn counts_of_dokumente_and_rates_read_well() {
        assert_eq!(dokumente(1), "1 Dokument");
        assert_eq!(dokumente(0), "0 Dokumente");
        assert_eq!(dokumente(2), "2 Dokumente");
        assert_eq!(rate(1.23456), "1.2 Dokumente/s");
        assert_eq!(rate(42.42), "42 Dokumente/s");
        assert_eq!(rate(0.25), "4 s per Dokument");
        assert_eq!(rate(0.0), "-- Dokumente/s");
    }
}
