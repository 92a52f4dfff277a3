//! Background threads that stop promptly: a stop signal whose sleeps wake early, and a handle that
//! stops and joins its thread when dropped. The search indexer and the fixity scrub run on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Tells a background thread to stop, and lets it sleep until then.
#[derive(Default)]
pub struct StopSignal {
    stop: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl StopSignal {
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock().expect("stop signal lock");
        self.wake.notify_all();
    }

    /// Sleeps up to `pause`, less if stopped meanwhile; false once the thread is to stop.
    pub fn sleep(&self, pause: Duration) -> bool {
        let guard = self.lock.lock().expect("stop signal lock");
        if !self.is_stopped() {
            let _ = self.wake.wait_timeout(guard, pause).expect("stop signal lock");
        }
        !self.is_stopped()
    }
}

/// Owns a background thread; dropping it signals the thread to stop and waits for it.
pub struct BackgroundThread {
    signal: Arc<StopSignal>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundThread {
    pub fn spawn(name: &str, body: impl FnOnce(&StopSignal) + Send + 'static) -> std::io::Result<Self> {
        let signal = Arc::new(StopSignal::default());
        let thread = std::thread::Builder::new().name(name.into()).spawn({
            let signal = signal.clone();
            move || body(&signal)
        })?;
        Ok(Self { signal, thread: Some(thread) })
    }
}

impl Drop for BackgroundThread {
    fn drop(&mut self) {
        self.signal.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_handle_wakes_a_sleeping_thread_at_once() {
        let started = std::time::Instant::now();
        let thread =
            BackgroundThread::spawn("sleeper", |signal| while signal.sleep(Duration::from_secs(60)) {})
                .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(thread);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
