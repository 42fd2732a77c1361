//! `locus commit` and `locus status`. The message comes from the local model
//! (prompted with the staged diff and the repository's own style), cleaned;
//! an unusable answer is replaced by a plain summary of the files, said so.
//! Nothing is committed without `--yes` or a "y" at the terminal.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::{CommitArgs, StatusArgs};
use crate::git::{self, Repo};
use crate::session::Via;
use crate::workspace::Workspace;

use super::apply::confirm;

pub fn run(ws: &Workspace, args: &CommitArgs) -> anyhow::Result<ExitCode> {
    let mut wb = super::bench(ws)?;
    // Nothing to commit is said before a model is loaded.
    wb.to_commit(args.all)?;
    let cloud = super::cloud::gated(&wb, &args.route, args.yes, args.json)?;
    if cloud.is_none() {
        wb.load_model(args.model.as_deref(), false)?;
    }
    let via = cloud.as_ref().map_or(Via::Local, Via::Cloud);
    let mut waiting = super::Waiting::default();
    let plan = wb.commit_plan(
        via,
        args.all,
        args.diff_chars,
        &super::interrupt(),
        &mut |done, total| waiting.prefill(done, total),
    )?;
    waiting.clear();
    let d = plan.draft.clone();
    let (message, source, rejected, raw, files) = (d.message, d.source, d.rejected, d.raw, d.files);
    let mut report = json!({
        "message": message,
        "source": source,
        "model_answer": raw,
        "committed": false,
        "files": files.iter().map(|f| json!({"path": f.path, "kind": f.kind, "added": f.added, "removed": f.removed})).collect::<Vec<_>>(),
    });
    if let Some(why) = &rejected {
        report["rejected"] = json!(why);
    }
    if !args.json {
        if let Some(why) = &rejected {
            errln!(
                "the model's message was unusable ({why}); here is a plain summary of the changes instead"
            );
        }
        outln!("{message}");
    }
    if args.dry_run {
        if args.json {
            outln!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes
        && !confirm(
            "Commit with this message? [y/N] ",
            "pass --yes to commit with this message, or --dry-run to only print it",
        )?
    {
        if args.json {
            outln!("{report}");
        } else {
            errln!("nothing was committed");
        }
        return Ok(ExitCode::from(1));
    }
    let done = wb.commit_planned(plan, &message)?;
    report["committed"] = json!(true);
    // What was committed, after the commit-msg hook and cleanup.
    report["message"] = json!(done.message.trim_end());
    report["commit"] = json!(done.id);
    report["hooks"] = json!(done.hooks);
    if args.json {
        outln!("{report}");
    } else {
        if !done.output.is_empty() {
            errln!("{}", done.output);
        }
        errln!(
            "committed {}: {}",
            &done.id[..done.id.len().min(10)],
            done.subject
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(ws: &Workspace, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(&ws.cwd)?;
    let st = repo.status()?;
    let hooks = repo.commit_hooks();
    if args.json {
        let mut v = serde_json::to_value(&st)?;
        v["root"] = json!(repo.workdir());
        v["hooks"] = json!(hooks);
        outln!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    // Built whole, then shown with control characters made visible (file
    // names are untrusted).
    let mut out = String::new();
    writeln!(out, "repository: {}", repo.workdir().display())?;
    let head = match (&st.branch, st.detached, &st.head) {
        (_, true, Some(h)) => format!("detached HEAD at {}", &h[..10]),
        (Some(b), _, _) if st.unborn => format!("{b} (no commits yet)"),
        (Some(b), _, _) => b.clone(),
        _ => "unknown".into(),
    };
    writeln!(out, "branch: {head}")?;
    if let Some(up) = &st.upstream {
        writeln!(
            out,
            "upstream: {up} (ahead {}, behind {})",
            st.ahead, st.behind
        )?;
    }
    if let Some(op) = st.in_progress {
        writeln!(
            out,
            "in progress: {op} (locus will not commit until it is finished)"
        )?;
    }
    if !hooks.is_empty() {
        writeln!(out, "commit hooks: {}", hooks.join(", "))?;
    }
    let section = |out: &mut String, title: &str, items: Vec<String>| -> std::fmt::Result {
        if !items.is_empty() {
            writeln!(out, "{title}:")?;
            for i in items {
                writeln!(out, "  {i}")?;
            }
        }
        Ok(())
    };
    let changes = |v: &[git::Change]| -> Vec<String> {
        v.iter()
            .map(|c| match &c.from {
                Some(f) => format!("{:<9} {f} -> {}", c.kind, c.path),
                None => format!("{:<9} {}", c.kind, c.path),
            })
            .collect()
    };
    section(&mut out, "conflicted", st.conflicted.clone())?;
    section(&mut out, "staged", changes(&st.staged))?;
    section(&mut out, "unstaged", changes(&st.unstaged))?;
    section(&mut out, "untracked", st.untracked.clone())?;
    if st.is_clean() {
        writeln!(out, "working tree clean")?;
    }
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}
