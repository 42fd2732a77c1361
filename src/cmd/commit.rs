//! `locus commit` and `locus status`. The message comes from the local model
//! (prompted with the staged diff and the repository's own style), cleaned;
//! an unusable answer is replaced by a plain summary of the files, said so.
//! Nothing is committed without `--yes` or a "y" at the terminal.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::{CommitArgs, StatusArgs};
use crate::git::{self, Repo};
use crate::model::local::{GenerateRequest, LocalModel, SamplerConfig};
use crate::model::{Cancel, Event, Message, Role};
use crate::workspace::Workspace;

use super::apply::confirm;
use super::models::resolve_model;

pub fn run(ws: &Workspace, args: &CommitArgs) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(&ws.cwd)?;
    let mut index = repo.git2().index()?;
    if args.all {
        repo.stage_tracked(&mut index)?;
    }
    repo.check_can_commit(&index)?;
    let files = git::files(&repo.diff_staged_with(&index, None)?)?;
    let prompt = repo.commit_prompt(&index, args.diff_chars)?;
    let raw = generate(ws, args, &prompt)?;
    let (message, source, rejected) =
        match git::clean_message(&raw, &format!("{}\n{}", prompt.system, prompt.user)) {
            Ok(m) => (m, "model", None),
            Err(why) => (git::fallback_message(&files), "fallback", Some(why)),
        };
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
            eprintln!(
                "the model's message was unusable ({why}); here is a plain summary of the changes instead"
            );
        }
        println!("{message}");
    }
    if args.dry_run {
        if args.json {
            println!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes && !confirm("Commit with this message? [y/N] ")? {
        if args.json {
            println!("{report}");
        } else {
            eprintln!("nothing was committed");
        }
        return Ok(ExitCode::from(1));
    }
    if args.all {
        index.write()?;
    }
    let done = repo.commit(&message)?;
    report["committed"] = json!(true);
    report["commit"] = json!(done.id);
    report["hooks"] = json!(done.hooks);
    if args.json {
        println!("{report}");
    } else {
        if !done.output.is_empty() {
            eprintln!("{}", done.output);
        }
        eprintln!(
            "committed {}: {}",
            &done.id[..done.id.len().min(10)],
            done.subject
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The model's raw answer to the commit prompt.
fn generate(
    ws: &Workspace,
    args: &CommitArgs,
    prompt: &git::CommitPrompt,
) -> anyhow::Result<String> {
    let path = resolve_model(ws, args.model.as_deref())?;
    let threads = ws.settings().map(|l| l.settings.model.threads).unwrap_or(0);
    crate::model::local::threads::init(threads);
    let model = LocalModel::load(&path, &crate::model::local::device())
        .with_context(|| format!("cannot load {}", path.display()))?;
    let messages = [
        Message::new(Role::System, prompt.system.clone()),
        Message::new(Role::User, prompt.user.clone()),
    ];
    let req = GenerateRequest {
        tokens: model.encode_chat(&messages, false)?,
        max_tokens: 160,
        sampler: SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        },
        split_thinking: model.arch() == crate::model::local::config::Arch::Gemma4,
    };
    let mut text = String::new();
    let mut failure = None;
    model.generate(&req, &Cancel::new(), &mut |e| match e {
        Event::Text(t) => text.push_str(&t),
        Event::Error(e) => failure = Some(e),
        Event::Thinking(_) | Event::Done(_) => {}
    })?;
    if let Some(e) = failure {
        anyhow::bail!(e);
    }
    Ok(text)
}

pub fn status(ws: &Workspace, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(&ws.cwd)?;
    let st = repo.status()?;
    let hooks = repo.commit_hooks();
    if args.json {
        let mut v = serde_json::to_value(&st)?;
        v["root"] = json!(repo.workdir());
        v["hooks"] = json!(hooks);
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
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
    let section =
        |out: &mut dyn std::io::Write, title: &str, items: Vec<String>| -> std::io::Result<()> {
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
    Ok(ExitCode::SUCCESS)
}
