//! `locus edit`: ask the local model for a change to named files, then show
//! or apply it like `locus apply`. When blocks fail to match, the model gets
//! one retry with the matcher's feedback (what failed, the closest lines).

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::EditArgs;
use crate::edit::{self, EDIT_FORMAT, PathGuard};
use crate::index::Index;
use crate::model::local::{GenerateRequest, LocalModel, SamplerConfig};
use crate::model::{Cancel, Event, Message, Role};
use crate::workspace::Workspace;

use super::apply::{Mode, finish, guard};
use super::index::open_index;
use super::models::resolve_model;

/// Characters of file content put in front of the model at most (about 8k tokens).
const MAX_CONTEXT_CHARS: usize = 32_000;
/// Files picked from the index when none are named.
const MAX_PICKED_FILES: usize = 3;

pub fn run(ws: &Workspace, args: &EditArgs) -> anyhow::Result<ExitCode> {
    let guard = guard(ws)?;
    let files = choose_files(ws, &guard, args)?;
    let path = resolve_model(ws, args.model.as_deref())?;
    let threads = ws.settings().map(|l| l.settings.model.threads).unwrap_or(0);
    crate::model::local::threads::init(threads);
    let model = LocalModel::load(&path, &crate::model::local::device())
        .with_context(|| format!("cannot load {}", path.display()))?;
    let mut messages = vec![
        Message::new(Role::System, EDIT_FORMAT),
        Message::new(Role::User, edit::edit_prompt(&args.instruction, &files)),
    ];
    let mut replies = Vec::new();
    let proposal = loop {
        let reply = generate(&model, &messages, args)?;
        let proposal = edit::propose(&edit::parse_reply(&reply), &guard);
        replies.push(reply.clone());
        let failed = !proposal.failures.is_empty() || proposal.changes.is_empty();
        if !failed || replies.len() == 2 {
            break proposal;
        }
        let feedback = if proposal.failures.is_empty() {
            "Your reply had no SEARCH/REPLACE blocks. Reply with SEARCH/REPLACE blocks only."
                .to_string()
        } else {
            proposal.feedback()
        };
        if !args.json {
            eprintln!("\n[the edits did not apply; asking the model again with the reasons]");
        }
        messages.push(Message::new(Role::Assistant, reply));
        messages.push(Message::new(Role::User, feedback));
    };
    if proposal.changes.is_empty() && proposal.failures.is_empty() {
        if args.json {
            println!(
                "{}",
                json!({"applied": false, "files": [], "failures": [], "replies": replies})
            );
        } else {
            eprintln!(
                "the model proposed no edits; try naming the file with --file, or a more precise instruction"
            );
        }
        return Ok(ExitCode::from(1));
    }
    let mode = Mode {
        dry_run: args.dry_run,
        yes: args.yes,
        json: args.json,
    };
    let extra = json!({"path": path, "replies": replies, "files_shown": files.iter().map(|(p, _)| p).collect::<Vec<_>>()});
    finish(
        ws,
        &guard,
        proposal,
        mode,
        &format!("edit: {}", args.instruction),
        extra,
    )
}

/// The files the model sees: those named with --file (a new one is shown
/// empty), else those the instruction names or whose symbols it names.
fn choose_files(
    ws: &Workspace,
    guard: &PathGuard,
    args: &EditArgs,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut paths = Vec::new();
    for f in &args.files {
        let abs = ws.cwd.join(f);
        let rel = abs
            .strip_prefix(guard.root())
            .map(|r| r.to_string_lossy().into_owned())
            .unwrap_or_else(|_| f.clone());
        paths.push(guard.check(&rel)?.rel);
    }
    if paths.is_empty() {
        let (index, _) = open_index(ws, false)?;
        let focus = index.focus(&Index::words(&args.instruction), &ws.cwd);
        let defining = focus
            .names
            .iter()
            .flat_map(|&n| index.symbols().definitions(n).iter().map(|d| d.file));
        for file in focus.files.iter().copied().chain(defining) {
            let p = index.files()[file as usize].path.clone();
            if !paths.contains(&p) && guard.check(&p).is_ok() && paths.len() < MAX_PICKED_FILES {
                paths.push(p);
            }
        }
    }
    if paths.is_empty() {
        anyhow::bail!(
            "no file to edit: name it with --file PATH, or mention a file or symbol in the instruction"
        );
    }
    let mut out = Vec::new();
    let mut total = 0;
    for p in paths {
        let abs = guard.check(&p)?.abs;
        let text = match std::fs::read(&abs) {
            Ok(b) => String::from_utf8(b).map_err(|_| anyhow::anyhow!("{p} is not UTF-8 text"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {p}")),
        };
        total += text.len();
        if total > MAX_CONTEXT_CHARS {
            anyhow::bail!(
                "the files are too large for the local model's context ({total} characters); name fewer files"
            );
        }
        out.push((p, text));
    }
    Ok(out)
}

/// One greedy reply, streamed to stderr unless --json.
fn generate(model: &LocalModel, messages: &[Message], args: &EditArgs) -> anyhow::Result<String> {
    let req = GenerateRequest {
        tokens: model.encode_chat(messages, false)?,
        max_tokens: args.max_tokens,
        sampler: SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        },
        split_thinking: model.arch() == crate::model::local::config::Arch::Gemma4,
    };
    let mut text = String::new();
    let mut failure = None;
    let mut stderr = std::io::stderr().lock();
    model.generate(&req, &Cancel::new(), &mut |e| match e {
        Event::Text(t) => {
            if !args.json {
                let _ = stderr.write_all(t.as_bytes());
            }
            text.push_str(&t);
        }
        Event::Error(e) => failure = Some(e),
        Event::Thinking(_) | Event::Done(_) => {}
    })?;
    if let Some(e) = failure {
        anyhow::bail!(e);
    }
    if !args.json {
        let _ = writeln!(stderr);
    }
    Ok(text)
}
