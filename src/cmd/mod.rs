//! Headless commands: each turns parsed CLI arguments into work on the library
//! and writes plain text (or JSON) to stdout. main.rs maps their errors to exit codes.

pub mod apply;
pub mod ask;
pub mod cloud;
pub mod commit;
pub mod doctor;
pub mod edit;
pub mod generate;
pub mod index;
pub mod models;
pub mod trust;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::workspace::Workspace;

/// Run the command `cli` names in workspace `ws`.
pub fn run(cli: &Cli, ws: &Workspace) -> anyhow::Result<ExitCode> {
    // What of the repository's file is ignored, said once (the TUI says it
    // in its status line; `locus trust` says more).
    if cli.command.is_some()
        && !matches!(cli.command, Some(Command::Trust(_)))
        && let Some(note) = ws.settings().ok().and_then(|l| l.ignored_note())
    {
        eprintln!("note: {note}");
    }
    match &cli.command {
        Some(Command::Doctor) => doctor::run(ws),
        None => {
            let resume = cli
                .resume
                .as_ref()
                .map(|id| Some(id.clone()).filter(|s| !s.is_empty()));
            crate::tui::run(ws, resume, cli.model.clone())
        }
        Some(Command::Map(args)) => index::map(ws, args),
        Some(Command::Symbols(args)) => index::symbols(ws, args),
        Some(Command::Index(args)) => index::index(ws, args),
        Some(Command::Generate(args)) => generate::run(ws, args),
        Some(Command::Models(args)) => models::list(ws, args),
        Some(Command::Apply(args)) => apply::run(ws, args),
        Some(Command::Edit(args)) => edit::run(ws, args),
        Some(Command::Undo(args)) => apply::undo(ws, args, false),
        Some(Command::Redo(args)) => apply::undo(ws, args, true),
        Some(Command::Commit(args)) => commit::run(ws, args),
        Some(Command::Status(args)) => commit::status(ws, args),
        Some(Command::Ask(args)) => ask::ask(ws, args),
        Some(Command::Context(args)) => ask::context(ws, args),
        Some(Command::Sessions(args)) => ask::sessions(ws, args),
        Some(Command::Audit(args)) => cloud::audit(ws, args),
        Some(Command::Trust(args)) => trust::run(ws, args),
    }
}
