//! Headless commands: each turns parsed CLI arguments into work on the library
//! and writes plain text (or JSON) to stdout. main.rs maps their errors to exit codes.

/// `println!` for text that may hold what came from files, names, replies
/// or servers: control characters are shown, not obeyed.
macro_rules! outln {
    () => { println!() };
    ($($t:tt)*) => { println!("{}", $crate::terminal::visible(&format!($($t)*))) };
}
/// `print!`, made visible.
macro_rules! out {
    ($($t:tt)*) => { print!("{}", $crate::terminal::visible(&format!($($t)*))) };
}
/// `eprintln!`, made visible.
macro_rules! errln {
    () => { eprintln!() };
    ($($t:tt)*) => { eprintln!("{}", $crate::terminal::visible(&format!($($t)*))) };
}
/// `eprint!`, made visible.
macro_rules! err {
    ($($t:tt)*) => { eprint!("{}", $crate::terminal::visible(&format!($($t)*))) };
}

pub mod apply;
pub mod ask;
pub mod checks;
pub mod cloud;
pub mod commit;
pub mod doctor;
pub mod edit;
pub mod generate;
pub mod index;
pub mod mcp;
pub mod models;
pub mod trust;

use std::process::ExitCode;

use crate::cli::Command;
use crate::workspace::Workspace;

/// The workbench for a command, saying on stderr what it recovered.
pub fn bench(ws: &Workspace) -> anyhow::Result<crate::session::Workbench> {
    let wb = crate::session::Workbench::new(ws.clone())?;
    if let Some(note) = &wb.recovery_note {
        errln!("note: {note}");
    }
    Ok(wb)
}

/// Run `command` in workspace `ws`.
pub fn run(command: &Command, ws: &Workspace) -> anyhow::Result<ExitCode> {
    // What of the repository's file is ignored, said once (the TUI says it
    // in its status line; `locus trust` says more).
    if let Ok(loaded) = ws.settings() {
        if !matches!(command, Command::Trust(_))
            && let Some(note) = loaded.ignored_note()
        {
            errln!("note: {note}");
        }
        for w in &loaded.warnings {
            errln!("warning: {w}");
        }
    }
    let code = dispatch(command, ws)?;
    if interrupted() {
        errln!("interrupted");
        return Ok(ExitCode::from(130));
    }
    Ok(code)
}

fn dispatch(command: &Command, ws: &Workspace) -> anyhow::Result<ExitCode> {
    match command {
        Command::Doctor => doctor::run(ws),
        Command::Map(args) => index::map(ws, args),
        Command::Symbols(args) => index::symbols(ws, args),
        Command::Index(args) => index::index(ws, args),
        Command::Generate(args) => generate::run(ws, args),
        Command::Models(args) => models::list(ws, args),
        Command::Apply(args) => apply::run(ws, args),
        Command::Edit(args) => edit::run(ws, args),
        Command::Undo(args) => apply::undo_cmd(ws, args),
        Command::Redo(args) => apply::undo(ws, args, true),
        Command::Commit(args) => commit::run(ws, args),
        Command::Status(args) => commit::status(ws, args),
        Command::Ask(args) => ask::ask(ws, args),
        Command::Context(args) => ask::context(ws, args),
        Command::Sessions(args) => ask::sessions(ws, args),
        Command::Audit(args) => cloud::audit(ws, args),
        Command::Trust(args) => trust::run(ws, args),
        Command::Mcp(args) => mcp::run(ws, args),
        Command::Checks(args) => checks::run(ws, args),
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "locus", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Cancelled by Ctrl-C (or SIGTERM): what runs stops at its next step — a
/// generation at the next token, a check with its whole process group
/// killed — and the command ends; a second Ctrl-C exits at once (130).
pub fn interrupt() -> crate::model::Cancel {
    INTERRUPT
        .get_or_init(|| {
            let c = crate::model::Cancel::new();
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                // The first signal only sets the flag; with it set, the next exits.
                let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, c.flag());
                let _ = signal_hook::flag::register(sig, c.flag());
            }
            c
        })
        .clone()
}

static INTERRUPT: std::sync::OnceLock<crate::model::Cancel> = std::sync::OnceLock::new();

/// Whether Ctrl-C stopped the command.
fn interrupted() -> bool {
    INTERRUPT.get().is_some_and(|c| c.is_cancelled())
}

/// Prefill progress on stderr while a prompt is read, one line rewritten in
/// place (only when stderr is a terminal), cleared when the answer starts.
#[derive(Default)]
pub struct Waiting {
    meter: crate::session::PrefillMeter,
    shown: bool,
}

impl Waiting {
    pub fn prefill(&mut self, done: usize, total: usize) {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() || done >= total {
            return self.clear();
        }
        err!("\r\x1b[K{}", self.meter.line(done, total));
        self.shown = true;
    }

    pub fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
            err!("\r\x1b[K");
        }
    }
}

/// Whether a check the model asks to run (`--allow-checks`); the
/// refusal is said on stderr.
pub fn approve_checks(allow: bool) -> impl FnMut(&str) -> bool {
    move |name: &str| {
        if !allow {
            errln!("note: the model asked to run check {name}; pass --allow-checks to let it");
        }
        allow
    }
}

/// Confirms each shell command the model proposes (`[tools] shell = "ask"`)
/// on the terminal: the command is shown on stderr and runs only on `y`.
/// Without a terminal to ask on, every command is refused (and said so).
pub fn confirm_shell() -> crate::session::ShellConfirm {
    Box::new(|command: &str| {
        let question = format!(
            "\nthe model wants to run in the repository root:\n  {}\nrun it? [y/N] ",
            crate::terminal::visible(command)
        );
        // The terminal (or, without /dev/tty, the console) answers.
        match apply::confirm(&question, "refused") {
            Ok(yes) => yes,
            Err(_) => {
                errln!(
                    "note: the model asked to run `{command}`; refused: no terminal to confirm it on"
                );
                false
            }
        }
    })
}

/// How the tool loop's events are printed: text through `on_text`; calls
/// and results as `--jsonl` lines, or one line each on stderr.
pub fn loop_events<'a>(
    json_mode: bool,
    jsonl: bool,
    on_text: &'a mut dyn FnMut(crate::session::Piece),
) -> impl FnMut(crate::session::agent::LoopEvent<'_>) + 'a {
    use crate::session::agent::LoopEvent;
    use serde_json::json;
    move |e: LoopEvent<'_>| match e {
        LoopEvent::Text(t) => on_text(crate::session::Piece::Text(t)),
        LoopEvent::Prefill { done, total } => {
            on_text(crate::session::Piece::Prefill { done, total })
        }
        LoopEvent::Call(c) if jsonl => outln!(
            "{}",
            json!({"type": "tool_call", "name": c.name, "arguments": c.arguments})
        ),
        LoopEvent::Result(r) if jsonl => outln!(
            "{}",
            json!({"type": "tool_result", "name": r.name, "ok": r.ok, "summary": r.summary})
        ),
        LoopEvent::Call(c) if !json_mode => errln!("\n→ {} {}", c.name, c.arguments),
        LoopEvent::Result(r) if !json_mode => errln!("← {}", r.summary),
        _ => {}
    }
}
