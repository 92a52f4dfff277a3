//! The migration worker: one background thread that runs queued jobs one after another, oldest first,
//! and resumes an interrupted job where it stopped after a restart.

use std::sync::Arc;
use std::time::Duration;

use super::runner::Runner;
use registratur_ops::background::{BackgroundThread, StopSignal};

/// How often an idle worker looks for a job (creating or resuming a job is picked up within this).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How long the worker waits after an error before it tries again.
const ERROR_PAUSE: Duration = Duration::from_secs(10);

/// Owns the worker thread; dropping it stops the worker after the window in hand.
pub struct MigrationWorker {
    _thread: BackgroundThread,
}

impl MigrationWorker {
    pub fn start(runner: Arc<Runner>) -> std::io::Result<Self> {
        let thread = BackgroundThread::spawn("migration-worker", move |stop| run(&runner, stop))?;
        Ok(Self { _thread: thread })
    }
}

fn run(runner: &Runner, stop: &StopSignal) {
    while !stop.is_stopped() {
        let pause = match runner.next_job() {
            Ok(Some(job)) => match runner.run(job, stop) {
                Ok(()) => Duration::ZERO,
                Err(error) => {
                    tracing::error!(job, %error, "migration job stopped; it resumes after a pause");
                    ERROR_PAUSE
                }
            },
            Ok(None) => IDLE_POLL,
            Err(error) => {
                tracing::error!(%error, "cannot read the migration jobs");
                ERROR_PAUSE
            }
        };
        if !pause.is_zero() && !stop.sleep(pause) {
            return;
        }
    }
}
