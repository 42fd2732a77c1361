//! The work behind the UI, on its own thread: a thin adapter from the UI's
//! requests to the workbench's jobs (the same code the headless commands
//! run), reporting over a channel; the UI thread never waits on it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use super::Incoming;
use super::app::{Entry, Report, Request};
use super::choices::{panel, picker, setup_view};
use super::commit::CommitView;
use super::complete;
use crate::index::Progress;
use crate::model::Cancel;
use crate::model::local::pull;
use crate::route::{Approve, Preview, Trim};
use crate::session::agent::LoopEvent;
use crate::session::models::{self, ModelSpec};
use crate::session::{Piece, Task, Via, Workbench, WorkbenchError};
use crate::workspace::Workspace;

pub struct Job {
    pub request: Request,
    pub cancel: Cancel,
}

/// Start the worker for `ws`; `model` is what `locus --model` asked for.
pub fn spawn(
    ws: Workspace,
    resume: Option<Option<String>>,
    model: Option<String>,
    out: Sender<Incoming>,
) -> Sender<Job> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    // A question for the user: asked in the transcript, answered with y / n.
    let asker = out.clone();
    let ask_user: AskUser = Arc::new(move |prompt: String| {
        let (reply, answer) = std::sync::mpsc::channel();
        if asker
            .send(Incoming::Report(Report::Confirm { prompt, reply }))
            .is_err()
        {
            return false;
        }
        answer.recv().unwrap_or(false)
    });
    std::thread::Builder::new()
        .name("locus-worker".into())
        .spawn(move || {
            let send = |r: Report| {
                let _ = out.send(Incoming::Report(r));
            };
            if let Err(e) = work(ws, resume, model, &rx, &send, ask_user) {
                send(Report::Error(format!("{e:#}")));
            }
        })
        .expect("spawn worker");
    tx
}

/// Asks the user a yes/no question and waits for the answer.
type AskUser = Arc<dyn Fn(String) -> bool + Send + Sync>;

fn work(
    ws: Workspace,
    resume: Option<Option<String>>,
    model_spec: Option<String>,
    rx: &Receiver<Job>,
    send: &dyn Fn(Report),
    ask_user: AskUser,
) -> anyhow::Result<()> {
    let mut wb = Workbench::new(ws)?;
    let ask = ask_user.clone();
    wb.approve_shell = Some(Box::new(move |command: &str| {
        ask(format!(
            "the model wants to run in the repository root: `{}`",
            crate::terminal::visible(command)
        ))
    }));
    if let Some(note) = wb.trust_note.clone() {
        send(Report::Untrusted(note));
    }
    if let Some(note) = wb.recovery_note.clone() {
        send(Report::Info(note));
    }
    if let Ok(l) = wb.ws.settings() {
        for w in l.warnings {
            send(Report::Info(format!("warning: {w}")));
        }
    }
    if !git_status(&wb.ws.cwd, send) {
        send(Report::Info(format!(
            "not in a git repository: working on {}",
            wb.ws.cwd.display()
        )));
    }
    send(Report::Progress("indexing…".into()));
    let progress = Progress::default();
    std::thread::scope(|scope| {
        let build = scope.spawn(|| wb.open_index(&progress).map(|_| ()));
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
    })?;
    let index = wb.index_if_open().expect("opened");
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
    // The ranking graph and the lexical index are built while the model loads.
    let spec = models::effective(model_spec.as_deref(), &wb.settings, &wb.ws.state_dir());
    let loaded = std::thread::scope(|scope| {
        scope.spawn(|| index.prepare());
        models::load(spec.as_ref(), &wb.settings, &wb.ws.kv_dir())
    });
    match loaded {
        Ok(m) => {
            if model_spec.is_some()
                && let Some(spec) = &spec
            {
                let _ = models::remember(&wb.ws.state_dir(), spec);
            }
            ready(&m, send);
            wb.set_model(m.model);
        }
        Err(e) => send(Report::NoModel(Box::new(setup_view(
            &wb.settings,
            &in_tui_words(&e),
        )))),
    }
    match &resume {
        Some(id) => {
            wb.open_session(Some(id.as_deref()))?;
            send(Report::Resumed(replay(&wb)));
        }
        None => wb.open_session(None)?,
    }
    // The escalation the user is looking at: what its preview showed.
    let mut previewed: Option<Preview> = None;
    // The question the context panel last drafted for.
    let mut panel_question = String::new();
    // The edit whose checks are being fixed, and how many fixes it had.
    let mut fixing = FixState::default();
    // Debug builds only: how the tests see a panic handled.
    let debug_panic = cfg!(debug_assertions) && std::env::var_os("LOCUS_DEBUG_PANIC").is_some();
    for job in rx {
        if debug_panic {
            panic!("LOCUS_DEBUG_PANIC is set: the worker panics on its first request");
        }
        // What the watcher saw since the last request.
        wb.refresh();
        let on_text = &mut |p: Piece| match p {
            Piece::Text(t) => send(Report::Token(t.to_string())),
            Piece::Thinking(t) => send(Report::Thinking(t.to_string())),
            Piece::Prefill { done, total } => send(Report::Prefill { done, total }),
        };
        match job.request {
            Request::Ask(_) | Request::Edit(_) if wb.model().is_none() => {
                send(Report::Error(
                    "no local model is loaded; see the message above (Ctrl-E sends the task to a cloud model)".into(),
                ));
            }
            Request::Ask(ref text) | Request::Edit(ref text) => {
                let task = match job.request {
                    Request::Ask(_) => Task::Ask,
                    _ => Task::Edit,
                };
                if task == Task::Edit {
                    // A new edit: its checks get their own fix attempts.
                    fixing = FixState {
                        instruction: text.clone(),
                        attempts: 0,
                    };
                }
                match run_task(
                    &mut wb,
                    Via::Local,
                    task,
                    text,
                    &job.cancel,
                    on_text,
                    send,
                    &ask_user,
                ) {
                    Ok(report) => send(report),
                    Err(e) => send(Report::Error(e.to_string())),
                }
                send(Report::Attached(super::attach::lines(&wb)));
            }
            Request::Attach(_) | Request::AttachClipboard | Request::Detach(_) => {
                for r in super::attach::handle(&mut wb, &job.request) {
                    send(r);
                }
            }
            Request::UseModel(ref path) => {
                use_model(&mut wb, &ModelSpec::Gguf(path.display().to_string()), send)
            }
            Request::UseSpec(ref spec) => {
                let spec = ModelSpec::parse(spec, &wb.settings);
                use_model(&mut wb, &spec, send)
            }
            Request::Models => send(Report::Picker(Box::new(picker(&wb)))),
            Request::Download => {
                let hub = models::hub_dir(&wb.ws.dirs);
                let cfg = pull::PullConfig::from_env(hub);
                let mut progress = |done, total| {
                    send(Report::Download(done, total));
                    !job.cancel.is_cancelled()
                };
                match pull::pull(&cfg, pull::DEFAULT_MODEL, &mut progress) {
                    Ok(path) => {
                        // Its eyes too: the repository's projector (not
                        // fatal: the model answers in text without it).
                        match pull::pull_projector(&cfg, pull::DEFAULT_MODEL, &mut progress) {
                            Ok(Some(p)) => send(Report::Info(format!(
                                "vision projector: {} (attach images with @shot.png)",
                                p.display()
                            ))),
                            Ok(None) => {}
                            Err(e) => send(Report::Info(format!(
                                "no vision projector: {e}; the model reads text only"
                            ))),
                        }
                        use_model(&mut wb, &ModelSpec::Gguf(path.display().to_string()), send)
                    }
                    Err(e) => send(Report::Error(e.to_string())),
                }
            }
            Request::Context { question } => {
                panel_question = question;
                send(Report::Context(panel(&mut wb, &panel_question)));
            }
            Request::Pin { ref path, on } | Request::Exclude { ref path, on } => {
                let pin = matches!(job.request, Request::Pin { .. });
                let known = wb
                    .index_if_open()
                    .is_some_and(|i| i.file_index(path).is_some());
                if on && !known {
                    send(Report::Error(format!(
                        "no file {path} in the index (paths are relative to the repository root; @ completes them)"
                    )));
                    continue;
                }
                if pin {
                    wb.pin(path, on);
                } else {
                    wb.exclude(path, on);
                }
                send(Report::Info(match (pin, on) {
                    (true, true) => format!("pinned {path}: sent with every request"),
                    (true, false) => format!("unpinned {path}"),
                    (false, true) => format!("removed {path} from the context"),
                    (false, false) => format!("restored {path}"),
                }));
                send(Report::Context(panel(&mut wb, &panel_question)));
            }
            Request::Escalate { task, text } => {
                let preview = wb
                    .escalation(
                        None,
                        Box::new(|_| None),
                        Box::new(|_| Err("a preview only".into())),
                    )
                    .and_then(|g| wb.escalation_preview(&g, task, &text));
                match preview {
                    Ok(p) => {
                        previewed = Some(p.clone());
                        send(Report::Preview {
                            task,
                            text,
                            preview: Box::new(p),
                        });
                    }
                    Err(e) => send(Report::Error(format!("cannot escalate: {e}"))),
                }
            }
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
                let gated = match approved(&wb, &expected, exclude) {
                    Ok(g) => g,
                    Err(e) => {
                        send(Report::Error(format!("cannot escalate: {e}")));
                        continue;
                    }
                };
                let r = run_task(
                    &mut wb,
                    Via::Cloud(&gated),
                    task,
                    &text,
                    &job.cancel,
                    on_text,
                    send,
                    &ask_user,
                );
                match r {
                    Ok(report) => send(with_cost(report, gated.cost())),
                    Err(e) => send(Report::Error(e.to_string())),
                }
                send(Report::Attached(super::attach::lines(&wb)));
            }
            Request::Apply(ref changes) | Request::ApplyAndStage(ref changes) => {
                let stage = matches!(job.request, Request::ApplyAndStage(_));
                let summary = format!("edit: {}", fixing.instruction);
                let written = apply(&mut wb, changes, &summary, stage, send);
                if stage {
                    git_status(&wb.ws.cwd, send);
                }
                if written {
                    after_edit(&mut wb, &mut fixing, &job.cancel, on_text, send, &ask_user);
                }
            }
            Request::CommitDraft => {
                match wb.commit_draft(12_000, &job.cancel, &mut |done, total| {
                    send(Report::Prefill { done, total })
                }) {
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
                match wb.commit(&message) {
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
                git_status(&wb.ws.cwd, send);
            }
            Request::Undo | Request::Redo => {
                let redo = job.request == Request::Redo;
                let word = if redo { "redo" } else { "undo" };
                match wb.undo(redo) {
                    Ok(Some(e)) => send(Report::Info(format!(
                        "{}: {}",
                        if redo { "redone" } else { "undone" },
                        e.summary
                    ))),
                    Ok(None) => send(Report::Info(format!("nothing to {word}"))),
                    Err(e) if !redo && e.changed_since() => send(Report::Error(format!(
                        "{e}\n/undo skip drops this change from the journal; /undo force restores the files anyway (/redo brings your version back)"
                    ))),
                    Err(e) => send(Report::Error(e.to_string())),
                }
            }
            Request::UndoSkip => match wb.undo_skip() {
                Ok(Some(e)) => send(Report::Info(format!(
                    "dropped from the journal (nothing written): {}",
                    e.summary
                ))),
                Ok(None) => send(Report::Info("nothing to undo".into())),
                Err(e) => send(Report::Error(e.to_string())),
            },
            Request::UndoForce => {
                let files: Vec<String> = wb
                    .last_applied()
                    .map(|e| e.files.into_iter().map(|f| f.path).collect())
                    .unwrap_or_default();
                if files.is_empty() {
                    send(Report::Info("nothing to undo".into()));
                } else if ask_user(format!(
                    "restore {} to before the change (your version is kept for /redo)?",
                    files.join(", ")
                )) {
                    match wb.undo_force() {
                        Ok(Some(e)) => send(Report::Info(format!(
                            "undone (forced): {}; /redo brings your version back",
                            e.summary
                        ))),
                        Ok(None) => send(Report::Info("nothing to undo".into())),
                        Err(e) => send(Report::Error(e.to_string())),
                    }
                }
            }
        }
    }
    wb.save();
    Ok(())
}

/// Say the model is ready: its name and window.
fn ready(m: &models::Chosen, send: &dyn Fn(Report)) {
    send(Report::ModelReady {
        name: m.label.clone(),
        window: m.model.window(),
    });
    if let Some(n) = &m.notice {
        send(Report::Info(n.clone()));
    }
}

/// Load `spec`, make it the model and remember it for this repository.
fn use_model(wb: &mut Workbench, spec: &ModelSpec, send: &dyn Fn(Report)) {
    match models::load(Some(spec), &wb.settings, &wb.ws.kv_dir()) {
        Ok(m) => {
            let _ = models::remember(&wb.ws.state_dir(), spec);
            ready(&m, send);
            wb.set_model(m.model);
        }
        Err(e) => send(Report::Error(format!("{e:#}"))),
    }
}

/// Run an ask or an edit on `via` (the tool loop first unless `[agent]
/// tools = false`: each call one folded line, a check or acting tool
/// asked about in the transcript); the report of its end.
#[allow(clippy::too_many_arguments)]
fn run_task(
    wb: &mut Workbench,
    via: Via<'_>,
    task: Task,
    text: &str,
    cancel: &Cancel,
    on_text: &mut dyn FnMut(Piece),
    send: &dyn Fn(Report),
    ask_user: &AskUser,
) -> Result<Report, WorkbenchError> {
    let tools = wb.settings.agent.tools;
    let mut approve = |name: &str| ask_user(format!("the model asks to run {name}"));
    let mut on_event = |e: LoopEvent<'_>| match e {
        LoopEvent::Text(t) => on_text(Piece::Text(t)),
        LoopEvent::Prefill { done, total } => on_text(Piece::Prefill { done, total }),
        LoopEvent::Call(c) => send(Report::ToolCall {
            name: c.name.clone(),
            arguments: c.arguments.to_string(),
        }),
        LoopEvent::Result(r) => send(Report::ToolResult {
            name: r.name.clone(),
            ok: r.ok,
            summary: r.summary.clone(),
            content: r.content.clone(),
        }),
    };
    match task {
        Task::Ask => {
            let a = if tools {
                let (a, end, _) =
                    wb.ask_with_tools(via, text, &[], &mut approve, cancel, &mut on_event)?;
                if let Some(why) = end.stopped {
                    send(Report::Info(why));
                }
                a
            } else {
                wb.ask(via, text, &[], cancel, &mut |p| {
                    on_event(match p {
                        Piece::Text(t) => LoopEvent::Text(t),
                        Piece::Prefill { done, total } => LoopEvent::Prefill { done, total },
                        Piece::Thinking(_) => return,
                    })
                })?
            };
            if a.context.missing_tokens > 0
                && matches!(a.placement, crate::model::chat::Placement::Local { .. })
            {
                let reason = crate::route::Reason::ContextTooLarge {
                    needed: a.context.total_tokens + a.context.missing_tokens,
                    window: a.context.budget,
                };
                send(Report::Info(crate::route::advice_in(
                    &reason,
                    &tui_surface(wb),
                )));
            }
            Ok(Report::Answered {
                placement: a.placement.to_string(),
                sources: a
                    .sources
                    .iter()
                    .filter(|x| x.exists)
                    .map(|x| format!("{}:{}", x.path, x.line))
                    .collect(),
                context_tokens: a.context.total_tokens,
                budget: a.context.budget,
                cost: 0.0,
                stats: a.stats,
            })
        }
        Task::Edit => {
            let o = if tools {
                wb.edit_with_tools(via, text, &[], &mut approve, cancel, &mut on_event)?
            } else {
                wb.edit(via, text, &[], cancel, &mut |p| match p {
                    Piece::Text(t) => on_event(LoopEvent::Text(t)),
                    Piece::Prefill { done, total } => on_event(LoopEvent::Prefill { done, total }),
                    Piece::Thinking(_) => {}
                })?
            };
            if let Some(why) = &o.stopped {
                send(Report::Info(why.clone()));
            }
            Ok(Report::Proposed {
                changes: o.proposal.changes,
                failures: o.proposal.failures.iter().map(|f| f.to_string()).collect(),
                advice: o
                    .advice
                    .as_ref()
                    .map(|r| crate::route::advice_in(r, &tui_surface(wb))),
                placement: o.placement.to_string(),
                cost: 0.0,
            })
        }
    }
}

/// Why no model runs, in the TUI's words (its keys and screens, not the
/// command line's flags).
fn in_tui_words(e: &models::ModelChoiceError) -> String {
    use crate::model::local::choose::ChooseError;
    match e {
        models::ModelChoiceError::Choose(ChooseError::NoneFound) => {
            "no GGUF model in the usual places (LM Studio, Ollama, the Hugging Face cache, locus's models folder)".into()
        }
        models::ModelChoiceError::Choose(ChooseError::Several) => {
            "several models were found; choose one below (/model changes it later)".into()
        }
        models::ModelChoiceError::Choose(ChooseError::Unknown(name)) => {
            format!("no model {name}; choose one below")
        }
        other => other.to_string(),
    }
}

/// A resumed conversation as it went: each question, its answer, and for
/// an edit whether it was applied (the journal's entry for it).
fn replay(wb: &Workbench) -> Vec<Entry> {
    let applied = wb.applied();
    let mut out = vec![Entry::Info(format!(
        "resumed session {} ({})",
        wb.session.id,
        crate::terminal::count(wb.session.turns.len(), "turn", "turns")
    ))];
    for t in &wb.session.turns {
        let edit = t.kind == "edit";
        out.push(Entry::User(if edit {
            format!("/edit {}", t.question)
        } else {
            t.question.clone()
        }));
        out.push(Entry::Assistant {
            placement: t.placement.to_string(),
            text: t.answer.clone(),
            thinking: String::new(),
            done: true,
        });
        if edit {
            let summary = format!("edit: {}", t.question);
            out.push(Entry::Info(
                match applied
                    .iter()
                    .find(|e| e.summary == summary && e.time >= t.time)
                {
                    Some(e) => format!(
                        "applied to {} (/undo reverts it)",
                        e.files
                            .iter()
                            .map(|f| f.path.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => "not applied (or undone since)".into(),
                },
            ));
        }
    }
    out
}

/// Advice in the TUI names its escalation key.
fn tui_surface(wb: &Workbench) -> crate::route::Surface {
    let key = crate::config::Keymap::new(&wb.settings.ui.keys)
        .map(|k| k.label(crate::config::Action::Escalate))
        .unwrap_or_else(|_| "Ctrl-E".into());
    crate::route::Surface::Tui { key }
}

/// `report` with the request's cost.
fn with_cost(mut report: Report, c: f64) -> Report {
    if let Report::Answered { cost, .. } | Report::Proposed { cost, .. } = &mut report {
        *cost = c;
    }
    report
}

/// The cloud model behind a gate that approves what the preview showed,
/// less what the user trimmed: every other file stays on this machine.
fn approved(
    wb: &Workbench,
    expected: &Preview,
    exclude: Vec<String>,
) -> Result<crate::route::Gated, WorkbenchError> {
    let trimmed: BTreeSet<String> = exclude.into_iter().collect();
    let shown: BTreeSet<String> = expected
        .files
        .iter()
        .filter(|f| !trimmed.contains(*f))
        .cloned()
        .collect();
    let allowed = shown.clone();
    let trim: Trim = Box::new(move |path| {
        if trimmed.contains(path) {
            Some("trimmed in the preview".to_string())
        } else if !allowed.contains(path) {
            Some("not in the preview".to_string())
        } else {
            None
        }
    });
    let approve: Approve = Box::new(
        move |p| match p.files.iter().find(|f| !shown.contains(*f)) {
            None => Ok(()),
            Some(f) => Err(format!(
                "what would be sent changed since the preview ({f}); press Ctrl-E to review it again"
            )),
        },
    );
    wb.escalation(None, trim, approve)
}

/// The edit whose checks are being fixed.
#[derive(Default)]
struct FixState {
    instruction: String,
    attempts: usize,
}

/// After an applied edit: the `after_edit` checks, each said; on a failure
/// the model is asked for a fix (which goes to the review like any edit),
/// up to `[agent] fix_attempts`, then the advice to escalate.
fn after_edit(
    wb: &mut Workbench,
    fixing: &mut FixState,
    cancel: &Cancel,
    on_text: &mut dyn FnMut(Piece),
    send: &dyn Fn(Report),
    ask_user: &AskUser,
) {
    let names: Vec<&str> = wb
        .settings
        .checks
        .iter()
        .filter(|(_, c)| c.after_edit)
        .map(|(n, _)| n.as_str())
        .collect();
    if !names.is_empty() {
        send(Report::Info(format!(
            "running checks: {} …",
            names.join(", ")
        )));
    }
    let outcomes = wb.after_edit_checks(cancel);
    for o in &outcomes {
        send(Report::Info(o.summary()));
    }
    let Some(failed) = outcomes.iter().find(|o| !o.ok) else {
        return;
    };
    let most = wb.settings.agent.fix_attempts;
    if fixing.attempts >= most || wb.model().is_none() {
        send(Report::Info(crate::route::advice_in(
            &crate::route::Reason::ChecksStillFail { attempts: most },
            &tui_surface(wb),
        )));
        return;
    }
    fixing.attempts += 1;
    send(Report::Info(format!(
        "asking the model for a fix ({} of {most})",
        fixing.attempts
    )));
    let instruction = Workbench::fix_request(failed, &fixing.instruction);
    match run_task(
        wb,
        Via::Local,
        Task::Edit,
        &instruction,
        cancel,
        on_text,
        send,
        ask_user,
    ) {
        Ok(report) => send(report),
        Err(e) => send(Report::Error(e.to_string())),
    }
}

/// Write what is accepted (journaled: /undo reverts it), staging it when
/// asked; whether anything was written.
fn apply(
    wb: &mut Workbench,
    changes: &crate::edit::ChangeSet,
    summary: &str,
    stage: bool,
    send: &dyn Fn(Report),
) -> bool {
    match wb.apply(changes, summary, stage) {
        Ok(None) => {
            send(Report::Info("nothing accepted; nothing written".into()));
            false
        }
        Ok(Some(a)) => {
            send(Report::Info(format!(
                "applied to {} file(s); /undo reverts it",
                a.entry.files.len()
            )));
            if stage {
                send(Report::Info(format!(
                    "staged {} file(s); Ctrl-G commits",
                    a.staged.len()
                )));
                if !a.not_staged.is_empty() {
                    let list: Vec<String> = a
                        .not_staged
                        .iter()
                        .map(|(p, why)| format!("{p} ({why})"))
                        .collect();
                    send(Report::Info(format!("not staged: {}", list.join(", "))));
                }
            }
            true
        }
        Err(e) => {
            send(Report::Error(e.to_string()));
            false
        }
    }
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
