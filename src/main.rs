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

/// tree-sitter's C core allocates through libc unless told otherwise: its
/// parse trees are the index's most numerous allocations.
fn tree_sitter_on_mimalloc() {
    use libmimalloc_sys as mi;
    // SAFETY: one allocator family (mimalloc's malloc/calloc/realloc/free,
    // aligned as libc's), installed first thing in main before any
    // tree-sitter object exists, and never again.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: mi::mi_malloc,
            calloc: mi::mi_calloc,
            realloc: mi::mi_realloc,
            free: mi::mi_free,
        }));
    }
}

fn main() -> ExitCode {
    tree_sitter_on_mimalloc();
    // Errors are one line with a next step, never stack frames: libraries
    // (candle) capture a backtrace into their errors when RUST_BACKTRACE is
    // set; RUST_LIB_BACKTRACE=0 turns that off while a panic still honours
    // RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: first thing in main, before any other thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", locus::terminal::visible(&message(&e)));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes, each said once (an error that quotes its
/// cause is not followed by it again), with its own line breaks kept: a
/// conflict's diff stays readable.
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if text.contains(c.trim()) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(c.trim_end());
    }
    text
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let ws = Workspace::detect(cli.directory.as_deref())?;
    let level = ws
        .settings()
        .map(|l| l.settings.log.level)
        .unwrap_or_else(|_| "info".into());
    locus::logging::init(&ws.dirs.log_file(), cli.verbose, &level);
    tracing::info!(root = %ws.root.display(), command = ?cli.command, "start");
    match &cli.command {
        Some(command) => locus::cmd::run(command, &ws),
        None => {
            let resume = cli
                .resume
                .as_ref()
                .map(|id| Some(id.clone()).filter(|s| !s.is_empty()));
            locus::tui::run(&ws, resume, cli.model.clone())
        }
    }
}
