//! The `locus` binary: parse the command line, set up logging, run the command,
//! and turn errors into a one-line message and an exit code (1 for a user-facing
//! error; clap exits 2 on bad usage).

use std::process::ExitCode;

/// The index and the model runtime allocate many small objects across threads;
/// mimalloc handles that markedly better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use locus::cli::Cli;
use locus::workspace::Workspace;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let ws = Workspace::detect(cli.directory.as_deref())?;
    let level = ws
        .settings()
        .map(|l| l.settings.log.level)
        .unwrap_or_else(|_| "info".into());
    locus::logging::init(&ws.dirs.log_file(), cli.verbose, &level);
    tracing::info!(root = %ws.root.display(), command = ?cli.command, "start");
    locus::cmd::run(cli, &ws)
}
