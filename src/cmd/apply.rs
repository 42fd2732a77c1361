//! `locus apply`, `locus undo`, `locus redo`: model replies to files on disk,
//! headless. The diff is shown first; nothing is written without `--yes` or a
//! "y" typed at the terminal, and nothing at all when any block fails.

use std::io::{BufRead as _, Read as _, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::cli::{ApplyArgs, JournalArgs};
use crate::edit::{self, ChangeSet, FileOp, Proposal};
use crate::session::Workbench;
use crate::workspace::Workspace;

/// How a proposal is finished: shown only, applied without asking, or asked about.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub dry_run: bool,
    pub yes: bool,
    pub json: bool,
    /// Stage the files written (those with no other unstaged change).
    pub stage: bool,
    /// Run the `after_edit` checks once something is applied.
    pub checks: bool,
    /// The request asked for code to go: `--yes` may then remove most of
    /// a file (otherwise it refuses; the prompt asks).
    pub removal_asked: bool,
}

/// How a proposal was finished: the exit code, the JSON report (printed
/// by the caller), and the files written (empty when nothing was).
pub struct Finished {
    pub code: ExitCode,
    pub report: Value,
    pub written: Vec<String>,
}

impl Finished {
    /// Print the report (with --json) and give the exit code.
    pub fn emit(self, json: bool) -> ExitCode {
        if json {
            outln!("{}", self.report);
        }
        self.code
    }
}

pub fn run(ws: &Workspace, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let reply = if args.response == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the reply from stdin")?;
        s
    } else {
        let bytes = std::fs::read(&args.response)
            .with_context(|| format!("cannot read {}", args.response))?;
        String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", args.response))?
    };
    let mut wb = super::bench(ws)?;
    let parsed = edit::parse_reply(&reply);
    if parsed.edits.is_empty() && parsed.errors.is_empty() {
        anyhow::bail!(
            "no edits found in {}: expected SEARCH/REPLACE blocks, a unified diff or fenced whole files",
            args.response
        );
    }
    let proposal = edit::propose(&parsed, &wb.guard);
    let mode = Mode {
        // The user's own reply: what it removes is what they mean.
        removal_asked: true,
        dry_run: args.dry_run,
        yes: args.yes,
        json: args.json,
        stage: args.stage,
        checks: !args.no_check,
    };
    let summary = format!("apply {}", args.response);
    let mut done = finish(&mut wb, proposal, mode, &summary, Value::Null)?;
    if !done.written.is_empty() && mode.checks {
        let outcomes = run_checks(&wb, mode.json);
        if outcomes.iter().any(|o| !o.ok) {
            done.code = ExitCode::from(1);
        }
        done.report["checks"] = json!(outcomes);
    }
    Ok(done.emit(mode.json))
}

/// Run the `after_edit` checks, saying each result on stderr.
pub fn run_checks(wb: &Workbench, json: bool) -> Vec<crate::tools::CheckOutcome> {
    let outcomes = wb.after_edit_checks(&super::interrupt());
    if !json {
        for o in &outcomes {
            if !o.ok {
                err!("{}", o.output);
            }
            errln!("{}", o.summary());
        }
    }
    outcomes
}

/// Show a proposal, then apply it as `mode` says; `extra` goes into the JSON.
pub fn finish(
    wb: &mut Workbench,
    mut proposal: Proposal,
    mode: Mode,
    summary: &str,
    extra: Value,
) -> anyhow::Result<Finished> {
    let diff = proposal.changes.unified_diff();
    let mut report = json!({
        "applied": false,
        "dry_run": mode.dry_run,
        "files": files_json(&proposal.changes),
        "failures": proposal.failures.iter().map(failure_json).collect::<Vec<_>>(),
        "diff": diff,
    });
    if !extra.is_null() {
        let mut extra = extra;
        // The tool loop's calls stand beside `checks` (as in `locus ask`).
        for key in ["tool_calls", "stopped"] {
            if let Some(v) = extra.as_object_mut().and_then(|m| m.remove(key)) {
                report[key] = v;
            }
        }
        // The generation's figures sit at the top, as in `locus ask` and in
        // an edit that proposed nothing (and stay under `model` too).
        for key in ["stats", "reused_prefix_tokens", "reused_prefix_from"] {
            if let Some(v) = extra.get(key) {
                report[key] = v.clone();
            }
        }
        report["model"] = extra;
    }
    let done = |report: Value, code: ExitCode| Finished {
        code,
        report,
        written: Vec::new(),
    };
    if !mode.json {
        out!("{diff}");
        for f in &proposal.failures {
            errln!("error: {f}");
        }
    }
    if !proposal.failures.is_empty() {
        if !mode.json {
            errln!(
                "nothing was written: {} edit(s) failed",
                proposal.failures.len()
            );
        }
        return Ok(done(report, ExitCode::from(1)));
    }
    if proposal.changes.is_empty() {
        if !mode.json {
            errln!("the edits change nothing");
        }
        return Ok(done(report, ExitCode::SUCCESS));
    }
    let removals = crate::edit::mass_removals(&proposal.changes);
    report["removals"] = json!(removals);
    if !mode.json {
        for m in &removals {
            errln!("warning: {m}");
        }
    }
    if mode.dry_run {
        return Ok(done(report, ExitCode::SUCCESS));
    }
    if mode.yes && !mode.removal_asked && !removals.is_empty() {
        if !mode.json {
            errln!(
                "error: not applied: {}, and the request did not ask for a removal; review it without --yes",
                removals[0]
            );
        }
        report["refused"] = json!(removals[0].to_string());
        return Ok(done(report, ExitCode::from(1)));
    }
    let n = proposal.changes.files.len();
    if !mode.yes
        && !confirm(
            &format!("Apply these changes to {n} file(s)? [y/N] "),
            "pass --yes to apply or --dry-run to only see the diff",
        )?
    {
        if !mode.json {
            errln!("nothing was written");
        }
        return Ok(done(report, ExitCode::from(1)));
    }
    proposal.changes.accept_all();
    let Some(applied) = wb.apply(&proposal.changes, summary, mode.stage)? else {
        anyhow::bail!("nothing to write");
    };
    let entry = applied.entry;
    if mode.stage {
        report["staged"] = json!(applied.staged);
        report["not_staged"] = json!(
            applied
                .not_staged
                .iter()
                .map(|(p, why)| json!({"path": p, "reason": why}))
                .collect::<Vec<_>>()
        );
        if !mode.json {
            for (p, why) in &applied.not_staged {
                errln!("not staged: {p} ({why})");
            }
        }
    }
    report["applied"] = json!(true);
    report["journal_id"] = json!(entry.id);
    if !mode.json {
        errln!("applied to {n} file(s); `locus undo` reverts it");
    }
    Ok(Finished {
        code: ExitCode::SUCCESS,
        report,
        written: entry.files.iter().map(|f| f.path.clone()).collect(),
    })
}

/// Ask at the terminal (not stdin, which may hold the reply).
pub fn confirm(question: &str, without_terminal: &str) -> anyhow::Result<bool> {
    // The terminal itself (stdin may be the reply being applied).
    #[cfg(unix)]
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok();
    #[cfg(not(unix))]
    let tty: Option<std::fs::File> = None;
    if let Some(mut tty) = tty {
        tty.write_all(question.as_bytes())?;
        tty.flush()?;
        let mut answer = String::new();
        std::io::BufReader::new(tty).read_line(&mut answer)?;
        return Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"));
    }
    // Without /dev/tty (Windows): the console, when stdin is one.
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no terminal to ask for confirmation; {without_terminal}");
    }
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn files_json(changes: &ChangeSet) -> Vec<Value> {
    changes
        .files
        .iter()
        .map(|f| {
            let (added, removed) = f.stats();
            let op = match &f.op {
                FileOp::Modify => "modify",
                FileOp::Create => "create",
                FileOp::Delete => "delete",
                FileOp::Rename { .. } => "rename",
            };
            let mut v = json!({
                "path": f.path,
                "op": op,
                "added": added,
                "removed": removed,
                "hunks": f.hunks.iter().map(|h| json!({
                    "id": h.id,
                    "old_start": h.old_start + 1,
                    "old_lines": h.old_lines.len(),
                    "new_start": h.new_start + 1,
                    "new_lines": h.new_lines.len(),
                })).collect::<Vec<_>>(),
            });
            if let FileOp::Rename { from } = &f.op {
                v["from"] = json!(from);
            }
            v
        })
        .collect()
}

fn failure_json(f: &edit::Failure) -> Value {
    let mut v = json!({
        "kind": f.kind,
        "line": f.line,
        "path": f.path,
        "message": f.message,
    });
    if let Some(c) = &f.closest {
        v["closest"] = json!({"start_line": c.start + 1, "lines": c.lines, "similarity": c.score});
    }
    v
}

/// `locus undo` (or `locus redo` when `redo`).
/// `locus undo`, with `--skip` and `--force` for an entry whose files
/// changed since.
pub fn undo_cmd(ws: &Workspace, args: &crate::cli::UndoArgs) -> anyhow::Result<ExitCode> {
    let plain = JournalArgs { json: args.json };
    if !args.skip && !args.force {
        return undo(ws, &plain, false);
    }
    let mut wb = super::bench(ws)?;
    let Some(last) = wb.last_applied() else {
        if args.json {
            outln!("{}", json!({ "done": false }));
        } else {
            errln!("error: nothing to undo");
        }
        return Ok(ExitCode::from(1));
    };
    if !args.json {
        errln!("the last change: {}", last.summary);
        for f in &last.files {
            errln!("  {}", f.path);
        }
    }
    if args.skip {
        wb.undo_skip()?;
        if args.json {
            outln!(
                "{}",
                json!({ "done": true, "skipped": true, "id": last.id, "summary": last.summary, "files": last.files })
            );
        } else {
            outln!(
                "dropped from the journal (nothing was written): {}",
                last.summary
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes
        && !confirm(
            "Restore these files to before the change? Your version is kept for `locus redo`. [y/N] ",
            "pass --yes with --force to restore them",
        )?
    {
        errln!("nothing was written");
        return Ok(ExitCode::from(1));
    }
    let Some(entry) = wb.undo_force()? else {
        anyhow::bail!("nothing to undo");
    };
    if args.json {
        outln!(
            "{}",
            json!({ "done": true, "forced": true, "id": entry.id, "summary": entry.summary, "files": entry.files })
        );
    } else {
        outln!(
            "undid (forced): {}; `locus redo` brings your version back",
            entry.summary
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn undo(ws: &Workspace, args: &JournalArgs, redo: bool) -> anyhow::Result<ExitCode> {
    let mut wb = super::bench(ws)?;
    let done = match wb.undo(redo) {
        Ok(d) => d,
        Err(e) if !redo && e.changed_since() => {
            anyhow::bail!(
                "{e}\nhint: `locus undo --skip` drops this entry from the journal; `locus undo --force` restores the files anyway (your version is kept for `locus redo`)"
            )
        }
        Err(e) => return Err(e.into()),
    };
    let word = if redo { "redo" } else { "undo" };
    let Some(entry) = done else {
        if args.json {
            outln!("{}", json!({ "done": false }));
        } else {
            errln!("error: nothing to {word}");
        }
        return Ok(ExitCode::from(1));
    };
    if args.json {
        outln!(
            "{}",
            json!({ "done": true, "id": entry.id, "summary": entry.summary, "files": entry.files })
        );
    } else {
        let verb = if redo { "redid" } else { "undid" };
        outln!("{verb}: {}", entry.summary);
        for f in &entry.files {
            let (existed, exists) = if redo {
                (f.before, f.after)
            } else {
                (f.after, f.before)
            };
            let what = match (existed, exists) {
                (false, true) => "recreated",
                (true, false) => "removed",
                _ => "restored",
            };
            outln!("  {what} {}", f.path);
        }
    }
    Ok(ExitCode::SUCCESS)
}
