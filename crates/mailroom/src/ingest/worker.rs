//! The mailroom worker: a background thread that takes batches from the persisted queue and runs the
//! pipeline on them, oldest first.
//!
//! States (reported by [`WorkerHandle::state`]): `Idle` (queue empty), `Busy` (processing a batch),
//! `Throttled` (waiting before retrying a batch that failed). At start-up the worker reads the queue,
//! so batches received before a crash or restart are processed without anyone asking. A batch that
//! fails (e.g. the store is full) stays queued and is retried with a growing pause; pieces already
//! filed are never filed twice.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::pipeline::{Mailroom, PipelineError};

/// What the worker is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
    Idle,
    Busy { batch_id: u64 },
    Throttled { batch_id: u64 },
    Stopped,
}

/// How long the worker waits before retrying a failed batch, at most.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(300);
/// How often an idle worker looks at the queue even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(30);

struct Shared {
    state: Mutex<(WorkerState, bool)>,
    wake: Condvar,
}

/// Owns the worker thread; dropping it stops the worker after the piece it is working on.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    mailroom: Weak<Mailroom>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Starts the worker for `mailroom`.
    pub fn start(mailroom: &Arc<Mailroom>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared { state: Mutex::new((WorkerState::Idle, true)), wake: Condvar::new() });
        let weak = Arc::downgrade(mailroom);
        let thread = std::thread::Builder::new().name("mailroom-worker".into()).spawn({
            let shared = shared.clone();
            let weak = weak.clone();
            move || run(&shared, &weak)
        })?;
        Ok(Self { shared, mailroom: weak, thread: Some(thread) })
    }

    /// Tells the worker that a batch was queued.
    pub fn wake(&self) {
        let mut state = self.shared.state.lock().expect("worker state lock");
        state.1 = true;
        self.shared.wake.notify_all();
    }

    pub fn state(&self) -> WorkerState {
        self.shared.state.lock().expect("worker state lock").0
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        {
            let mut state = self.shared.state.lock().expect("worker state lock");
            state.0 = WorkerState::Stopped;
            self.shared.wake.notify_all();
        }
        if let Some(mailroom) = self.mailroom.upgrade() {
            mailroom.request_stop();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn set_state(shared: &Shared, new: WorkerState) -> bool {
    let mut state = shared.state.lock().expect("worker state lock");
    if state.0 == WorkerState::Stopped {
        return false;
    }
    state.0 = new;
    true
}

fn run(shared: &Shared, mailroom: &Weak<Mailroom>) {
    let mut failures: u32 = 0;
    loop {
        // Wait for work: a wake-up, or the idle poll.
        {
            let mut state = shared.state.lock().expect("worker state lock");
            if state.0 == WorkerState::Stopped {
                return;
            }
            if !state.1 {
                state = shared.wake.wait_timeout(state, IDLE_POLL).expect("worker state lock").0;
            }
            if state.0 == WorkerState::Stopped {
                return;
            }
            state.1 = false;
        }
        let Some(room) = mailroom.upgrade() else { return };
        let queued = match room.repo().queued() {
            Ok(queued) => queued,
            Err(error) => {
                tracing::error!(%error, "cannot read the ingest queue");
                continue;
            }
        };
        for batch_id in queued {
            if !set_state(shared, WorkerState::Busy { batch_id }) {
                return;
            }
            match room.process_batch(batch_id) {
                Ok(_) => failures = 0,
                Err(PipelineError::Stopped) => return,
                Err(error) => {
                    registratur_ops::metrics::Metrics::add(
                        &registratur_ops::metrics::global().ingest_batch_failures,
                        1,
                    );
                    failures = failures.saturating_add(1);
                    let pause =
                        Duration::from_secs(5u64.saturating_mul(1 << failures.min(6))).min(MAX_RETRY_PAUSE);
                    tracing::error!(batch = batch_id, %error, retry_in_seconds = pause.as_secs(), "batch failed; it stays queued");
                    if !set_state(shared, WorkerState::Throttled { batch_id }) {
                        return;
                    }
                    let state = shared.state.lock().expect("worker state lock");
                    let (mut state, _) = shared
                        .wake
                        .wait_timeout_while(state, pause, |s| s.0 != WorkerState::Stopped)
                        .expect("worker state lock");
                    // Try again after the pause.
                    state.1 = true;
                    break;
                }
            }
        }
        if !set_state(shared, WorkerState::Idle) {
            return;
        }
    }
}
