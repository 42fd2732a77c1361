//! `locus edit`: ask the local model for a change through the session's edit
//! loop (context under budget, one automatic retry with the matcher's
//! feedback), then show or apply it like `locus apply`.

use std::io::Write as _;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::EditArgs;
use crate::index::Index;
use crate::session::{Piece, Via, Workbench};
use crate::workspace::Workspace;

use super::apply::{Mode, finish};

pub fn run(ws: &Workspace, args: &EditArgs) -> anyhow::Result<ExitCode> {
    let mut wb = super::bench(ws)?;
    let mut files = Vec::new();
    for f in &args.files {
        let abs = ws.cwd.join(f);
        let rel = abs
            .strip_prefix(wb.guard.root())
            .map(|r| r.to_string_lossy().into_owned())
            .unwrap_or_else(|_| f.clone());
        files.push(wb.guard.check(&rel)?.rel);
    }
    let tools = args.agent.on(wb.settings.agent.tools);
    // Without the tool loop the model sees only what the context shows.
    if files.is_empty() && !tools {
        let index = wb.index()?;
        let focus = index.focus(&Index::words(&args.instruction), &ws.cwd);
        if focus.files.is_empty() && focus.names.is_empty() {
            anyhow::bail!(
                "no file to edit: name it with --file PATH, or mention a file or symbol in the instruction"
            );
        }
    }
    wb.open_session(None)?;
    if args.max_tokens > 0 {
        wb.session.settings.answer_tokens = args.max_tokens;
    }
    let cloud = super::cloud::gated(&wb, &args.route, args.yes, args.json || args.jsonl)?;
    if cloud.is_none() {
        wb.load_model(args.model.as_deref(), false)?;
    }
    let via = cloud.as_ref().map_or(Via::Local, Via::Cloud);
    let mut stderr = std::io::stderr().lock();
    let json_mode = args.json || args.jsonl;
    let jsonl = args.jsonl;
    let mut waiting = super::Waiting::default();
    let mut on_text = |p: Piece| {
        if let (false, Piece::Prefill { done, total }) = (json_mode, p) {
            waiting.prefill(done, total);
        } else if let (true, Piece::Text(t)) = (jsonl, p) {
            outln!("{}", json!({"type": "text", "text": t}));
        } else if let (false, Piece::Text(t)) = (json_mode, p) {
            waiting.clear();
            let _ = stderr.write_all(crate::terminal::visible(t).as_bytes());
        }
    };
    let out = if tools {
        let mut approve = super::approve_checks(args.agent.allow_checks);
        wb.approve_shell = Some(super::confirm_shell());
        let mut on_event = super::loop_events(json_mode, jsonl, &mut on_text);
        wb.edit_with_tools(
            via,
            &args.instruction,
            &files,
            &mut approve,
            &super::interrupt(),
            &mut on_event,
        )?
    } else {
        wb.edit(
            via,
            &args.instruction,
            &files,
            &super::interrupt(),
            &mut on_text,
        )?
    };
    if let Some(why) = &out.stopped {
        errln!("note: {why}");
    }
    drop(stderr);
    if !json_mode {
        errln!();
        if let Some(reason) = &out.advice {
            errln!("{}", crate::route::advice(reason));
        }
    }
    let shown: Vec<&str> = out
        .context
        .parts
        .iter()
        .filter_map(|p| p.path.as_deref())
        .collect();
    let extra = json!({
        "placement": out.placement,
        "replies": out.replies,
        "advice": out.advice.as_ref().map(crate::route::advice),
        "files_shown": shown,
        "session": wb.session.id,
        "tool_calls": out.steps,
        "stopped": out.stopped,
        "stats": out.stats,
        "reused_prefix_tokens": out.stats.reused_prefix_tokens,
        "reused_prefix_from": out.stats.reused_prefix_from,
    });
    if out.proposal.changes.is_empty() && out.proposal.failures.is_empty() {
        if json_mode {
            // The same report as an applied edit's, with nothing applied.
            let mut report = extra;
            report["applied"] = json!(false);
            report["files"] = json!([]);
            report["failures"] = json!([]);
            outln!("{report}");
        } else {
            errln!(
                "the model proposed no edits; try naming the file with --file, or a more precise instruction"
            );
        }
        return Ok(ExitCode::from(1));
    }
    let mode = Mode {
        removal_asked: crate::edit::asks_to_remove(&args.instruction),
        dry_run: args.dry_run,
        yes: args.yes,
        json: json_mode,
        stage: args.stage,
        checks: !args.no_check,
    };
    let mut done = finish(
        &mut wb,
        out.proposal,
        mode,
        &format!("edit: {}", args.instruction),
        extra,
    )?;
    if done.written.is_empty() || !mode.checks {
        return Ok(end(done, args.json, jsonl));
    }
    // The checks run after the edit; a failure goes back to the model with
    // a request to fix it, each fix applied as the edit was.
    let mut checks_seen = Vec::new();
    let mut fixes = Vec::new();
    let mut written = done.written.clone();
    let attempts = wb.settings.agent.fix_attempts;
    let mut attempt = 0;
    loop {
        let outcomes = super::apply::run_checks(&wb, mode.json);
        let failed: Vec<&crate::tools::CheckOutcome> = outcomes.iter().filter(|o| !o.ok).collect();
        let instruction = failed
            .first()
            .map(|f| Workbench::fix_request(f, &args.instruction));
        checks_seen.extend(outcomes.iter().cloned());
        let Some(instruction) = instruction else {
            break;
        };
        if attempt == attempts {
            done.code = ExitCode::from(1);
            let why = crate::route::advice(&crate::route::Reason::ChecksStillFail { attempts });
            if !mode.json {
                errln!("{why}");
            }
            done.report["advice"] = json!(why);
            break;
        }
        attempt += 1;
        if !mode.json {
            errln!("asking for a fix ({attempt} of {attempts})");
        }
        let mut stderr = std::io::stderr().lock();
        let mut on_text = |p: Piece| {
            if let (false, Piece::Text(t)) = (mode.json, p) {
                let _ = stderr.write_all(crate::terminal::visible(t).as_bytes());
            }
        };
        let fix = wb.edit(
            via,
            &instruction,
            &written,
            &super::interrupt(),
            &mut on_text,
        )?;
        drop(stderr);
        let f = finish(
            &mut wb,
            fix.proposal,
            mode,
            &format!("fix after checks: {}", args.instruction),
            json!({"replies": fix.replies}),
        )?;
        fixes.push(f.report.clone());
        if f.written.is_empty() {
            done.code = f.code;
            break;
        }
        for w in f.written {
            if !written.contains(&w) {
                written.push(w);
            }
        }
    }
    done.report["checks"] = json!(checks_seen);
    done.report["fixes"] = json!(fixes);
    Ok(end(done, args.json, jsonl))
}

/// The report: one JSON object with --json; with --jsonl the events it
/// holds (the edit proposed, each check) and then the report as `done`.
fn end(mut done: super::apply::Finished, json: bool, jsonl: bool) -> ExitCode {
    if !jsonl {
        return done.emit(json);
    }
    let files: Vec<&serde_json::Value> = done.report["files"]
        .as_array()
        .map(|f| f.iter().map(|f| &f["path"]).collect())
        .unwrap_or_default();
    outln!("{}", json!({"type": "edit_proposed", "files": files}));
    for c in done.report["checks"].as_array().into_iter().flatten() {
        outln!(
            "{}",
            json!({"type": "check", "name": c["name"], "ok": c["ok"], "exit_code": c["exit_code"]})
        );
    }
    done.report["type"] = json!("done");
    done.emit(true)
}
