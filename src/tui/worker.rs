//! The work behind the UI, on its own thread: the index, the model, the
//! session, applying and undoing changes. It reports over a channel; the UI
//! thread never waits on it.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

use super::Incoming;
use super::app::{Report, Request};
use super::complete;
use crate::assets::Assets;
use crate::edit::{Journal, PathGuard};
use crate::index::{Index, Progress};
use crate::model::Cancel;
use crate::model::local::choose;
use crate::session::{self, Piece, Session};
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
    if let Ok(repo) = crate::git::Repo::open(&ws.cwd)
        && let Ok(st) = repo.status()
    {
        send(Report::Git {
            branch: st.branch.clone(),
            dirty: !st.is_clean(),
        });
    } else {
        send(Report::Info(format!(
            "not in a git repository: working on {}",
            ws.cwd.display()
        )));
    }
    send(Report::Progress("indexing…".into()));
    let index = Index::open(
        &ws.root,
        &settings.index,
        Assets::new(Some(&ws.dirs.config)),
        Some(&ws.cache_dir()),
        &Progress::default(),
    )?
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
    let chosen = choose::resolve(configured, None)
        .and_then(|path| choose::load_chat(&path, settings.model.threads, settings.model.context));
    let model = match chosen {
        Ok(m) => {
            send(Report::ModelReady {
                name: m.model.name.clone(),
                window: m.window,
            });
            Some(m)
        }
        Err(e) => {
            send(Report::NoModel(format!("{e:#}")));
            None
        }
    };
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
    for job in rx {
        let on_text = &mut |p: Piece| match p {
            Piece::Text(t) => send(Report::Token(t.to_string())),
            Piece::Thinking(t) => send(Report::Thinking(t.to_string())),
        };
        match job.request {
            Request::Ask(q) | Request::Edit(q) if model.is_none() => {
                let _ = q;
                send(Report::Error(
                    "no local model is loaded; see the message above".into(),
                ));
            }
            Request::Ask(q) => {
                let m = model.as_ref().expect("checked");
                match s.ask(m, &index, &ws.cwd, &q, &[], &job.cancel, on_text) {
                    Ok(a) => send(Report::Answered {
                        placement: a.placement.to_string(),
                        sources: a
                            .sources
                            .iter()
                            .filter(|x| x.exists)
                            .map(|x| format!("{}:{}", x.path, x.line))
                            .collect(),
                        context_tokens: a.context.total_tokens,
                        budget: a.context.budget,
                        stats: a.stats,
                    }),
                    Err(e) => send(Report::Error(e.to_string())),
                }
            }
            Request::Edit(instr) => {
                let m = model.as_ref().expect("checked");
                match s.edit(
                    m,
                    &index,
                    &guard,
                    &ws.cwd,
                    &instr,
                    &[],
                    &job.cancel,
                    on_text,
                ) {
                    Ok(o) => send(Report::Proposed {
                        changes: o.proposal.changes,
                        failures: o.proposal.failures.iter().map(|f| f.to_string()).collect(),
                        advice: o.advice,
                        placement: o.placement.to_string(),
                    }),
                    Err(e) => send(Report::Error(e.to_string())),
                }
            }
            Request::Apply(changes) => {
                let writes = crate::edit::writes_for(&changes);
                if writes.is_empty() {
                    send(Report::Info("nothing accepted; nothing written".into()));
                    continue;
                }
                match journal.apply(&writes, "tui edit", &guard) {
                    Ok(e) => send(Report::Info(format!(
                        "applied to {} file(s); /undo reverts it",
                        e.files.len()
                    ))),
                    Err(e) => send(Report::Error(e.to_string())),
                }
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
