//! Running poppler's command-line tools (Debian package `poppler-utils`) as child processes:
//! `pdftoppm` renders pages (`decode::render`), `pdftotext` extracts text (`text`). The PDF goes in on
//! stdin and the result comes back on stdout, so nothing touches the file system. The child is killed
//! when it overruns its time, and its output is read only up to a cap, so a hostile file can neither
//! block a worker nor flood memory.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One of poppler's programs, with the environment variable that overrides where it is found (for
/// tests and unusual installs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tool {
    name: &'static str,
    override_variable: &'static str,
}

pub(crate) const PDFTOPPM: Tool = Tool { name: "pdftoppm", override_variable: "REGISTRATUR_PDFTOPPM" };
pub(crate) const PDFTOTEXT: Tool = Tool { name: "pdftotext", override_variable: "REGISTRATUR_PDFTOTEXT" };

impl Tool {
    /// The program to run: the override variable's value if set, else the bare name looked up on `PATH`.
    pub(crate) fn program(self) -> String {
        std::env::var(self.override_variable).unwrap_or_else(|_| self.name.to_string())
    }
}

/// What a child that ran to its end left behind.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    /// At most `max_stdout + 1` bytes: one byte more than the cap tells that the output was too long.
    pub stdout: Vec<u8>,
    /// The first 16 KiB of what the program reported.
    pub stderr: String,
}

impl Finished {
    /// Whether the program wrote more than the caller's cap allowed.
    pub(crate) fn stdout_overflowed(&self, max_stdout: u64) -> bool {
        self.stdout.len() as u64 > max_stdout
    }

    /// The most telling line of the program's messages: the first that reports an error, else the
    /// first one. Poppler prints warnings about recoverable damage before the error that stopped it.
    pub(crate) fn error_summary(&self) -> String {
        let mut lines = self.stderr.lines().map(str::trim).filter(|line| !line.is_empty());
        let first = lines.clone().next();
        lines.find(|line| line.contains("Error")).or(first).unwrap_or("no message").to_string()
    }
}

/// Why a child produced no result. None of these is the input file's fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cannot start {program}: {error}; install the Debian package poppler-utils")]
    Start { program: String, error: std::io::Error },
    #[error("{program} took longer than {} s", timeout.as_secs())]
    TimedOut { program: String, timeout: Duration },
    #[error("waiting for {program} failed: {error}")]
    Wait { program: String, error: std::io::Error },
}

/// Runs `program` with `args`, feeding `input` on stdin, and waits at most `timeout` for it to exit.
/// Stdout is kept up to `max_stdout + 1` bytes (see [`Finished::stdout_overflowed`]); a child that
/// writes more finds its pipe closed and stops.
pub(crate) fn run(
    program: &str,
    args: &[&str],
    input: &[u8],
    max_stdout: u64,
    timeout: Duration,
) -> Result<Finished, RunError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| RunError::Start { program: program.to_string(), error })?;
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    std::thread::scope(|scope| {
        // Writing and reading happen at once, or a large input and a large output deadlock on the
        // pipes.
        scope.spawn(move || {
            if let Some(stdin) = stdin.as_mut() {
                // A child that stops reading early (a broken file) closes the pipe; its exit status
                // and stderr report why, so the write error itself is not interesting.
                let _ = stdin.write_all(input);
            }
            drop(stdin);
        });
        let reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            if let Some(stdout) = stdout {
                let _ = stdout.take(max_stdout + 1).read_to_end(&mut bytes);
            }
            bytes
        });
        let errors = scope.spawn(move || {
            let mut text = String::new();
            if let Some(stderr) = stderr {
                let _ = stderr.take(16 * 1024).read_to_string(&mut text);
            }
            text
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if started.elapsed() > timeout => {
                    // Killing closes the pipes, which ends the reader threads.
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(RunError::TimedOut { program: program.to_string(), timeout });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(error) => break Err(RunError::Wait { program: program.to_string(), error }),
            }
        };
        let stdout = reader.join().unwrap_or_default();
        let stderr = errors.join().unwrap_or_default();
        status.map(|status| Finished { status, stdout, stderr })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_capped_and_overflow_reported() {
        let input = vec![b'x'; 100_000];
        let finished = run("cat", &[], &input, 1000, Duration::from_secs(10)).unwrap();
        assert_eq!(finished.stdout.len(), 1001);
        assert!(finished.stdout_overflowed(1000));

        let finished = run("cat", &[], b"short", 1000, Duration::from_secs(10)).unwrap();
        assert!(finished.status.success());
        assert_eq!(finished.stdout, b"short");
        assert!(!finished.stdout_overflowed(1000));
    }

    #[test]
    fn a_child_that_overruns_is_killed() {
        let started = Instant::now();
        let error = run("sleep", &["30"], b"", 10, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(&error, RunError::TimedOut { program, .. } if program == "sleep"), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_names_the_package() {
        let error = run("/nonexistent/pdftotext", &[], b"", 10, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(error, RunError::Start { .. }));
        assert!(error.to_string().contains("poppler-utils"), "{error}");
    }

    #[test]
    fn the_summary_prefers_the_first_error_line() {
        let finished = run(
            "sh",
            &["-c", "echo 'Syntax Warning: odd' >&2; echo 'Syntax Error: broken' >&2; exit 1"],
            b"",
            10,
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(!finished.status.success());
        assert_eq!(finished.error_summary(), "Syntax Error: broken");
        let quiet = run("true", &[], b"", 10, Duration::from_secs(10)).unwrap();
        assert_eq!(quiet.error_summary(), "no message");
    }
}
