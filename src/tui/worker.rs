//! The work behind the UI, on its own thread: the index, the model, the
//! session, applying and undoing changes. It reports over a channel; the UI
//! thread never waits on it.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

use super::Incoming;
use super::app::{Report, Request};
use super::commit::CommitView;
use super::complete;
use super::context_panel::{ContextPanel, PanelPart};
use super::setup::{FoundModel, SetupView};
use crate::assets::Assets;
use crate::config::Settings;
use crate::edit::{Journal, PathGuard};
use crate::index::{Index, Progress};
use crate::model::chat::ChatModel;
use crate::model::cloud::CloudModel;
use crate::model::local::choose;
use crate::model::local::discovery::{self, SearchPaths};
use crate::model::local::pull;
use crate::model::{Cancel, GenStats};
use crate::route::Preview;
use crate::session::escalate::{self, Escalation};
use crate::session::{self, Piece, Session, SessionError, Task};
use crate::workspace::Workspace;

pub struct Job {
    pub request: Request,
    pub cancel: Cancel,
}

/// Start the worker for the workspace at `cwd`.
pub fn spawn(cwd: PathBuf, resume: Option<Option<String>>, out: Sender<Incoming>) -> Sender<Job> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("locus-worker".into())
        .spawn(move || {
            let send = |r: Report| {
                let _ = out.send(Incoming::Report(r));
            };
            if let Err(e) = work(&cwd, resume, &rx, &send) {
                send(Report::Error(format!("{e:#}")));
            }
        })
        .expect("spawn worker");
    tx
}

fn work(
    cwd: &std::path::Path,
    resume: Option<Option<String>>,
    rx: &Receiver<Job>,
    send: &dyn Fn(Report),
) -> anyhow::Result<()> {
    let ws = Workspace::detect(Some(cwd))?;
    let settings = ws.settings()?.settings;
    if !git_status(&ws.cwd, send) {
        send(Report::Info(format!(
            "not in a git repository: working on {}",
            ws.cwd.display()
        )));
    }
    send(Report::Progress("indexing…".into()));
    let progress = Progress::default();
    let index = std::thread::scope(|scope| {
        let build = scope.spawn(|| {
            Index::open(
                &ws.root,
                &settings.index,
                Assets::new(Some(&ws.dirs.config)),
                Some(&ws.cache_dir()),
                &progress,
            )
        });
        // The status bar follows the build: files parsed of all.
        let mut last = std::time::Instant::now();
        while !build.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(10));
            let (done, total) = progress.get();
            if total > 0 && last.elapsed().as_millis() >= 250 {
                send(Report::Progress(format!("indexing {done}/{total}")));
                last = std::time::Instant::now();
            }
        }
        build
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })?
    .0;
    send(Report::IndexReady {
        files: index.files().len(),
    });
    let mut symbols: Vec<String> = index
        .symbols()
        .defined()
        .map(|(id, _)| index.names().name(id).to_string())
        .collect();
    symbols.sort_unstable();
    symbols.dedup();
    send(Report::Names(complete::Names::new(
        index.files().iter().map(|f| f.path.clone()).collect(),
        symbols,
    )));
    let configured = settings.model.path.as_ref().map(PathBuf::from);
    let load = |path: &std::path::Path| {
        choose::load_chat(path, settings.model.threads, settings.model.context).inspect(|m| {
            send(Report::ModelReady {
                name: m.model.name.clone(),
                window: m.window,
            });
        })
    };
    // The ranking graph and the lexical index are built while the model loads.
    let mut model = std::thread::scope(|scope| {
        scope.spawn(|| index.prepare());
        match choose::resolve(configured.clone(), None).and_then(|path| load(&path)) {
            Ok(m) => Some(m),
            Err(e) => {
                send(Report::NoModel(Box::new(setup_view(
                    &settings,
                    configured.clone(),
                    &e,
                ))));
                None
            }
        }
    });
    let dir = session::sessions_dir(&ws.dirs, &ws.root);
    let mut s = match &resume {
        Some(id) => {
            let s = Session::open(&dir, id.as_deref(), settings.context.clone())?;
            for t in &s.turns {
                send(Report::Info(format!("(resumed) you: {}", t.question)));
            }
            s
        }
        None => Session::create(&dir, &ws.root, settings.context.clone())?,
    };
    let rules = settings.privacy.never_touch_rules()?;
    let guard = PathGuard::new(&ws.root, rules)?.with_cwd(&ws.cwd);
    let journal = Journal::for_repo(&ws.dirs, guard.root());
    // The escalation the user is looking at: what its preview showed.
    let mut previewed: Option<Preview> = None;
    // Files the user pinned (sent with every request), and the question the
    // context panel last drafted for.
    let mut pinned: Vec<String> = Vec::new();
    let mut panel_question = String::new();
    // Debug builds only: how the tests see a panic handled.
    let debug_panic = cfg!(debug_assertions) && std::env::var_os("LOCUS_DEBUG_PANIC").is_some();
    for job in rx {
        if debug_panic {
            panic!("LOCUS_DEBUG_PANIC is set: the worker panics on its first request");
        }
        let on_text = &mut |p: Piece| match p {
            Piece::Text(t) => send(Report::Token(t.to_string())),
            Piece::Thinking(t) => send(Report::Thinking(t.to_string())),
        };
        let here = Here {
            index: &index,
            guard: &guard,
            cwd: &ws.cwd,
            pinned: &pinned,
        };
        match job.request {
            Request::Ask(_) | Request::Edit(_) if model.is_none() => {
                send(Report::Error(
                    "no local model is loaded; see the message above (Ctrl-E sends the task to a cloud model)".into(),
                ));
            }
            Request::Ask(ref text) | Request::Edit(ref text) => {
                let task = match job.request {
                    Request::Ask(_) => Task::Ask,
                    _ => Task::Edit,
                };
                let m = model.as_ref().expect("checked");
                // Its end or its error is reported inside.
                let _ = run_task(&mut s, m, &here, task, text, &job.cancel, on_text, send);
            }
            Request::UseModel(ref path) => match load(path) {
                Ok(m) => model = Some(m),
                Err(e) => send(Report::Error(format!("{e:#}"))),
            },
            Request::Download => {
                let hub = SearchPaths::from_env(None)
                    .hf_hub
                    .unwrap_or_else(|| ws.dirs.cache.join("hub"));
                let cfg = pull::PullConfig::from_env(hub);
                let mut progress = |done, total| {
                    send(Report::Download(done, total));
                    !job.cancel.is_cancelled()
                };
                match pull::pull(&cfg, pull::DEFAULT_MODEL, &mut progress) {
                    Ok(path) => match load(&path) {
                        Ok(m) => model = Some(m),
                        Err(e) => send(Report::Error(format!("{e:#}"))),
                    },
                    Err(e) => send(Report::Error(e.to_string())),
                }
            }
            Request::Context { question } => {
                panel_question = question;
                let m = model.as_ref().map(|m| m as &dyn ChatModel);
                send(Report::Context(panel(&s, m, &here, &panel_question)));
            }
            Request::Pin { ref path, on } | Request::Exclude { ref path, on } => {
                let pin = matches!(job.request, Request::Pin { .. });
                if on && index.file_index(path).is_none() {
                    send(Report::Error(format!(
                        "no file {path} in the index (paths are relative to the repository root; @ completes them)"
                    )));
                    continue;
                }
                let (list, other) = if pin {
                    (&mut pinned, &mut s.excluded)
                } else {
                    (&mut s.excluded, &mut pinned)
                };
                list.retain(|p| p != path);
                if on {
                    list.push(path.clone());
                    other.retain(|p| p != path);
                }
                send(Report::Info(match (pin, on) {
                    (true, true) => format!("pinned {path}: sent with every request"),
                    (true, false) => format!("unpinned {path}"),
                    (false, true) => format!("removed {path} from the context"),
                    (false, false) => format!("restored {path}"),
                }));
                let here = Here {
                    index: &index,
                    guard: &guard,
                    cwd: &ws.cwd,
                    pinned: &pinned,
                };
                let m = model.as_ref().map(|m| m as &dyn ChatModel);
                send(Report::Context(panel(&s, m, &here, &panel_question)));
            }
            Request::Escalate { task, text } => match preview(&settings, &s, &here, task, &text) {
                Ok(p) => {
                    previewed = Some(p.clone());
                    send(Report::Preview {
                        task,
                        text,
                        preview: Box::new(p),
                    });
                }
                Err(e) => send(Report::Error(format!("cannot escalate: {e}"))),
            },
            Request::Send {
                task,
                text,
                exclude,
            } => {
                let Some(expected) = previewed.take() else {
                    send(Report::Error(
                        "nothing was previewed; press Ctrl-E again".into(),
                    ));
                    continue;
                };
                let e = match cloud(&settings, expected, exclude) {
                    Ok(e) => e,
                    Err(e) => {
                        send(Report::Error(format!("cannot escalate: {e}")));
                        continue;
                    }
                };
                s.gate = Some(e.gate);
                let stats = run_task(
                    &mut s,
                    &e.model,
                    &here,
                    task,
                    &text,
                    &job.cancel,
                    on_text,
                    &|_| {},
                );
                s.gate = None;
                let result = stats.as_ref().map(|(_, st)| st);
                let cost = escalate::record(&ws.dirs, &ws.root, &e.sent, result, &settings);
                let cost = match cost {
                    Ok(c) => c,
                    Err(err) => {
                        send(Report::Error(format!("cannot write the audit log: {err}")));
                        0.0
                    }
                };
                match stats {
                    Ok((report, _)) => send(with_cost(report, cost)),
                    Err(err) => send(Report::Error(err.to_string())),
                }
            }
            Request::Apply(changes) => {
                let _ = apply(&journal, &guard, &changes, send);
            }
            Request::ApplyAndStage(changes) => {
                let repo = match crate::git::Repo::open(&ws.cwd) {
                    Ok(r) => r,
                    Err(e) => {
                        // The accepted hunks are still written.
                        if apply(&journal, &guard, &changes, send) {
                            send(Report::Error(format!("applied, but not staged: {e}")));
                        }
                        continue;
                    }
                };
                // Only files with no other unstaged change are staged: then
                // what is staged is exactly the accepted hunks.
                let writes = crate::edit::writes_for(&changes);
                let mixed: Vec<String> = writes
                    .iter()
                    .filter(|w| repo.has_unstaged(&w.path).unwrap_or(true))
                    .map(|w| w.path.clone())
                    .collect();
                if !apply(&journal, &guard, &changes, send) {
                    continue;
                }
                let mut staged = 0;
                for w in writes.iter().filter(|w| !mixed.contains(&w.path)) {
                    match repo.stage_file(&w.path) {
                        Ok(()) => staged += 1,
                        Err(e) => send(Report::Error(format!("cannot stage {}: {e}", w.path))),
                    }
                }
                send(Report::Info(format!(
                    "staged {staged} file(s); Ctrl-G commits"
                )));
                if !mixed.is_empty() {
                    send(Report::Info(format!(
                        "not staged (they had other unstaged changes; use git add -p): {}",
                        mixed.join(", ")
                    )));
                }
                git_status(&ws.cwd, send);
            }
            Request::CommitDraft => {
                let draft = crate::git::Repo::open(&ws.cwd)
                    .map_err(SessionError::from)
                    .and_then(|repo| {
                        let index = repo.git2().index().map_err(crate::git::GitError::from)?;
                        let m = model.as_ref().map(|m| m as &dyn ChatModel);
                        session::commit::draft(&repo, &index, m, 12_000, &job.cancel)
                    });
                match draft {
                    Ok(d) => send(Report::CommitDraft(Box::new(CommitView {
                        note: d.rejected.map(|why| {
                            format!(
                                "the model's message was unusable ({why}); a plain summary instead"
                            )
                        }),
                        message: d.message,
                        files: d
                            .files
                            .iter()
                            .map(|f| {
                                format!("{:<9} {} +{} -{}", f.kind, f.path, f.added, f.removed)
                            })
                            .collect(),
                        patch: d.patch,
                        ..CommitView::default()
                    }))),
                    Err(e) => send(Report::Error(format!("cannot commit: {e}"))),
                }
            }
            Request::Commit(message) => {
                match crate::git::Repo::open(&ws.cwd).and_then(|r| r.commit(&message)) {
                    Ok(done) => {
                        let mut s = format!(
                            "committed {}: {}",
                            &done.id[..done.id.len().min(10)],
                            done.subject
                        );
                        if !done.output.trim().is_empty() {
                            s.push('\n');
                            s.push_str(done.output.trim());
                        }
                        send(Report::Committed(s));
                    }
                    Err(e) => send(Report::Error(format!("the commit failed: {e}"))),
                }
                git_status(&ws.cwd, send);
            }
            Request::Undo | Request::Redo => {
                let redo = job.request == Request::Redo;
                let r = if redo {
                    journal.redo(&guard)
                } else {
                    journal.undo(&guard)
                };
                match r {
                    Ok(Some(e)) => send(Report::Info(format!(
                        "{}: {}",
                        if redo { "redone" } else { "undone" },
                        e.summary
                    ))),
                    Ok(None) => send(Report::Info(format!(
                        "nothing to {}",
                        if redo { "redo" } else { "undo" }
                    ))),
                    Err(e) => send(Report::Error(e.to_string())),
                }
            }
        }
    }
    Ok(())
}

/// Where requests run: the index, the guard on what edits may touch, the
/// working directory.
struct Here<'a> {
    index: &'a Index,
    guard: &'a PathGuard,
    cwd: &'a std::path::Path,
    pinned: &'a [String],
}

/// Run an ask or an edit on `model`, reporting its end (or error) through
/// `send`; also returns the report and the stats (the cloud path sends the
/// report itself, after the audit record, with the cost).
#[allow(clippy::too_many_arguments)]
fn run_task(
    s: &mut Session,
    model: &dyn ChatModel,
    here: &Here<'_>,
    task: Task,
    text: &str,
    cancel: &Cancel,
    on_text: &mut dyn FnMut(Piece),
    send: &dyn Fn(Report),
) -> Result<(Report, GenStats), SessionError> {
    let cost = 0.0;
    let r = match task {
        Task::Ask => s
            .ask(
                model,
                here.index,
                here.cwd,
                text,
                here.pinned,
                cancel,
                on_text,
            )
            .map(|a| {
                let report = Report::Answered {
                    placement: a.placement.to_string(),
                    sources: a
                        .sources
                        .iter()
                        .filter(|x| x.exists)
                        .map(|x| format!("{}:{}", x.path, x.line))
                        .collect(),
                    context_tokens: a.context.total_tokens,
                    budget: a.context.budget,
                    cost,
                    stats: a.stats.clone(),
                };
                if a.context.missing_tokens > 0
                    && matches!(a.placement, crate::model::chat::Placement::Local { .. })
                {
                    let reason = crate::route::Reason::ContextTooLarge {
                        needed: a.context.total_tokens + a.context.missing_tokens,
                        window: a.context.budget,
                    };
                    send(Report::Info(crate::route::advice(&reason)));
                }
                (report, a.stats)
            }),
        Task::Edit => s
            .edit(
                model,
                here.index,
                here.guard,
                here.cwd,
                text,
                &[],
                cancel,
                on_text,
            )
            .map(|o| {
                let report = Report::Proposed {
                    changes: o.proposal.changes,
                    failures: o.proposal.failures.iter().map(|f| f.to_string()).collect(),
                    advice: o.advice,
                    placement: o.placement.to_string(),
                    cost,
                };
                (report, o.stats)
            }),
    };
    match &r {
        Ok((report, _)) => send(report.clone()),
        Err(e) => send(Report::Error(e.to_string())),
    }
    r
}

/// `report` with the request's cost.
fn with_cost(mut report: Report, c: f64) -> Report {
    if let Report::Answered { cost, .. } | Report::Proposed { cost, .. } = &mut report {
        *cost = c;
    }
    report
}

/// What escalating `text` would send, computed as the request will be.
fn preview(
    settings: &Settings,
    s: &Session,
    here: &Here<'_>,
    task: Task,
    text: &str,
) -> anyhow::Result<Preview> {
    let (name, p) = crate::route::escalation_target(settings, None)?;
    let model = CloudModel::new(name, p.clone())?;
    let rules = settings.privacy.never_send_rules()?;
    let mut ctx = s.draft(&model, here.index, here.cwd, task, text, here.pinned);
    Ok(escalate::screen(&mut ctx, &model, name, p, &rules, &|_| {
        None
    }))
}

/// The cloud model and a gate that lets through exactly what was previewed
/// (less what the user trimmed), and nothing else.
fn cloud(
    settings: &Settings,
    expected: Preview,
    exclude: Vec<String>,
) -> anyhow::Result<Escalation> {
    let trimmed: std::collections::BTreeSet<String> = exclude.into_iter().collect();
    let want: Vec<crate::context::Part> = expected
        .parts
        .into_iter()
        .filter(|p| p.path.as_ref().is_none_or(|x| !trimmed.contains(x)))
        .collect();
    let trim: escalate::Trim = Box::new(move |path| {
        trimmed
            .contains(path)
            .then(|| "trimmed in the preview".to_string())
    });
    let check: escalate::Check = Box::new(move |p| {
        if p.parts == want {
            Ok(())
        } else {
            Err(SessionError::NotSent(
                "what would be sent changed since the preview (older turns were summarised, or the files changed); press Ctrl-E to review it again".into(),
            ))
        }
    });
    Ok(escalate::escalation(settings, None, trim, check)?)
}

/// Report the branch and whether the tree is dirty; `false` outside a
/// repository.
fn git_status(cwd: &std::path::Path, send: &dyn Fn(Report)) -> bool {
    match crate::git::Repo::open(cwd).and_then(|r| r.status()) {
        Ok(st) => {
            send(Report::Git {
                branch: st.branch.clone(),
                dirty: !st.is_clean(),
            });
            true
        }
        Err(_) => false,
    }
}

/// Write what is accepted (journaled: /undo reverts it); whether anything
/// was written.
fn apply(
    journal: &Journal,
    guard: &PathGuard,
    changes: &crate::edit::ChangeSet,
    send: &dyn Fn(Report),
) -> bool {
    let writes = crate::edit::writes_for(changes);
    if writes.is_empty() {
        send(Report::Info("nothing accepted; nothing written".into()));
        return false;
    }
    match journal.apply(&writes, "tui edit", guard) {
        Ok(e) => {
            send(Report::Info(format!(
                "applied to {} file(s); /undo reverts it",
                e.files.len()
            )));
            true
        }
        Err(e) => {
            send(Report::Error(e.to_string()));
            false
        }
    }
}

/// The context panel for `question`: the parts of the prompt an ask would
/// send now (with the local model's token counts), the pins, the removed
/// files.
fn panel(
    s: &Session,
    model: Option<&dyn ChatModel>,
    here: &Here<'_>,
    question: &str,
) -> ContextPanel {
    let excluded = s.excluded.clone();
    let Some(m) = model else {
        return ContextPanel {
            parts: here
                .pinned
                .iter()
                .map(|p| PanelPart {
                    label: p.clone(),
                    path: Some(p.clone()),
                    tokens: 0,
                    pinned: true,
                })
                .collect(),
            excluded,
            note: Some("no local model: the parts and their tokens show once one is loaded".into()),
            ..ContextPanel::default()
        };
    };
    let ctx = s.draft(m, here.index, here.cwd, Task::Ask, question, here.pinned);
    let parts = ctx
        .parts
        .iter()
        .map(|p| {
            let label = match (&p.path, p.lines) {
                (Some(path), Some([a, b])) => format!("{path}:{a}-{b}"),
                (Some(path), None) => path.clone(),
                _ => format!("{:?}", p.kind).to_lowercase(),
            };
            PanelPart {
                label,
                pinned: p.path.as_ref().is_some_and(|x| here.pinned.contains(x)),
                path: p.path.clone(),
                tokens: p.tokens,
            }
        })
        .collect();
    // Files the user asked for that did not fit whole are said at the top.
    let cut: Vec<String> = ctx
        .cut
        .iter()
        .map(|c| match c.kept_lines {
            Some([a, b]) => format!(
                "{} cut: lines {a}-{b} of {} sent ({})",
                c.path, c.total_lines, c.reason
            ),
            None => format!("{} left out ({})", c.path, c.reason),
        })
        .collect();
    ContextPanel {
        parts,
        excluded,
        total: ctx.total_tokens,
        budget: ctx.budget,
        note: (!cut.is_empty()).then(|| cut.join("; ")),
        at: 0,
    }
}

/// The first-run screen: why there is no model, the ones found elsewhere,
/// the default download, the cloud provider if one is set up.
fn setup_view(
    settings: &Settings,
    configured: Option<PathBuf>,
    why: &choose::ChooseError,
) -> SetupView {
    let found = discovery::discover(&SearchPaths::from_env(configured))
        .into_iter()
        .map(|f| {
            let size = std::fs::metadata(&f.path)
                .map(|m| format!("{:.1} GB", m.len() as f64 / 1e9))
                .unwrap_or_default();
            FoundModel {
                label: format!("{}  ({}, {size})", f.name, f.source),
                path: f.path,
            }
        })
        .collect();
    SetupView {
        why: why.to_string(),
        found,
        download: (
            pull::DEFAULT_MODEL.to_string(),
            pull::DEFAULT_MODEL_SIZE.to_string(),
        ),
        cloud: crate::route::escalation_target(settings, None)
            .ok()
            .map(|(name, p)| format!("{name} ({})", p.model)),
        ..SetupView::default()
    }
}
