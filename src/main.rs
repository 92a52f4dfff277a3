//! The `registratur` binary: server and command-line client in one.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = registratur::cli::Cli::parse();
    if !matches!(cli.command, registratur::cli::Command::Serve(_)) {
        // A client ends quietly, like other Unix tools, when the reader of its output goes away
        // (`| head`, `| grep -q`) instead of panicking on a broken pipe. The server keeps Rust's
        // default of ignoring SIGPIPE: it writes to child processes' pipes and must survive their end.
        // SAFETY: no other thread exists yet.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(registratur::cli::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
