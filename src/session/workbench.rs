//! The workbench: the one place that wires locus's pieces together for a
//! workspace — the index (kept current by the watcher, and after every
//! apply, undo and redo), the model, the path guard, the journal, the pinned
//! files and the conversation. Its methods are the jobs; the TUI's worker
//! and the headless commands only translate input and output, so both front
//! ends behave the same for pins, staging, errors and fallbacks.

use std::path::PathBuf;

use super::models::{self, ModelChoiceError};
mod tools;

use super::{Answer, EditOutcome, Piece, Session, SessionError, Task, escalate};
use crate::assets::Assets;
use crate::config::{ConfigError, Settings};
use crate::context::Context;
use crate::edit::{self, ChangeSet, Entry, Journal, JournalError, PathGuard};
use crate::git::{self, GitError, Repo};
use crate::index::{Index, IndexError, Progress, Watcher};
use crate::model::Cancel;
use crate::model::attach::Attachment;
use crate::model::chat::ChatModel;
use crate::route::{Approve, Gated, Preview, Trim};
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum WorkbenchError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{what} has a bad glob: {source}")]
    Glob {
        what: &'static str,
        #[source]
        source: globset::Error,
    },
    #[error(transparent)]
    Path(#[from] edit::PathError),
    #[error("cannot index {root}: {source}")]
    Index {
        root: PathBuf,
        #[source]
        source: IndexError,
    },
    #[error(transparent)]
    Model(#[from] ModelChoiceError),
    #[error(
        "no model is loaded; pass --model, run `locus models`, or escalate with --cloud / Ctrl-E"
    )]
    NoModel,
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Escalation(#[from] escalate::EscalationError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{0}")]
    Other(String),
}

impl WorkbenchError {
    /// An undo or redo refused because its files changed since the change
    /// (what `undo --skip` and `--force` get past).
    pub fn changed_since(&self) -> bool {
        matches!(
            self,
            WorkbenchError::Journal(JournalError::Apply {
                source: crate::edit::ApplyError::Conflict { .. },
                ..
            })
        )
    }
}

/// Which model a job runs on: the workbench's own (local), or a cloud model
/// behind its gate.
#[derive(Clone, Copy)]
pub enum Via<'a> {
    Local,
    Cloud(&'a Gated),
}

/// A commit drafted and not yet made.
pub struct CommitPlan {
    pub draft: super::commit::Draft,
    repo: Repo,
    index: git2::Index,
    all: bool,
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub entry: Entry,
    /// Files staged (when asked to stage).
    pub staged: Vec<String>,
    /// Files not staged: they had other unstaged changes, or staging failed.
    pub not_staged: Vec<(String, String)>,
}

/// Asks the user whether a shell command the model proposed may run.
pub type ShellConfirm = Box<dyn FnMut(&str) -> bool + Send>;

pub struct Workbench {
    pub ws: Workspace,
    pub settings: Settings,
    /// What of the repository's config file was ignored, in one line.
    pub trust_note: Option<String>,
    /// An apply, undo or redo a crash interrupted, finished or rolled back
    /// when the workbench opened, in one line.
    pub recovery_note: Option<String>,
    pub guard: PathGuard,
    pub journal: Journal,
    index: Option<Index>,
    watcher: Option<Watcher>,
    model: Option<Box<dyn ChatModel>>,
    /// Files sent whole with every request (repo-relative).
    pub pinned: Vec<String>,
    /// Checks the user let the model run in this session (asked once each).
    approved_checks: std::collections::BTreeSet<String>,
    /// Asked before each shell command the model proposes (`[tools] shell =
    /// "ask"`); without it every command is refused.
    pub approve_shell: Option<ShellConfirm>,
    /// The MCP servers, started on the first tool loop (stopped on drop).
    mcp: Option<crate::tools::mcp::McpServers>,
    pub session: Session,
}

impl Workbench {
    /// A workbench for `ws` with a conversation that is not saved until a
    /// session is opened or created; no index and no model yet.
    pub fn new(ws: Workspace) -> Result<Workbench, WorkbenchError> {
        let loaded = ws.settings()?;
        let settings = loaded.settings.clone();
        let rules =
            settings
                .privacy
                .never_touch_rules()
                .map_err(|source| WorkbenchError::Glob {
                    what: "privacy.never_touch",
                    source,
                })?;
        let guard = PathGuard::new(&ws.root, rules)
            .map_err(|e| WorkbenchError::Other(format!("cannot use {}: {e}", ws.root.display())))?
            .with_cwd(&ws.cwd);
        let journal = Journal::for_repo(&ws.dirs, guard.root());
        let recovery_note = match journal.recover(&guard) {
            Ok(Some(r)) => Some(recovery_line(&r)),
            Ok(None) => None,
            Err(e) => Some(format!("an interrupted change could not be recovered: {e}")),
        };
        let session = Session::detached(settings.context.clone());
        Ok(Workbench {
            recovery_note,
            trust_note: loaded.ignored_note(),
            settings,
            guard,
            journal,
            index: None,
            watcher: None,
            model: None,
            pinned: Vec::new(),
            approved_checks: Default::default(),
            approve_shell: None,
            mcp: None,
            session,
            ws,
        })
    }

    // ---- conversation -------------------------------------------------

    /// Start a saved conversation, or continue one (`Some(None)`: the latest).
    pub fn open_session(&mut self, resume: Option<Option<&str>>) -> Result<(), WorkbenchError> {
        let dir = super::sessions_dir(&self.ws.dirs, &self.ws.root);
        let settings = self.settings.context.clone();
        self.session = match resume {
            Some(id) => Session::open(&dir, id, settings)?,
            None => Session::create(&dir, &self.ws.root, settings)?,
        };
        Ok(())
    }

    /// Repo-relative paths of files named on the command line or in the
    /// TUI (relative to the cwd, or to the root), each checked to exist
    /// inside the repository.
    pub fn resolve_paths(&self, files: &[String]) -> Result<Vec<String>, WorkbenchError> {
        files
            .iter()
            .map(|f| {
                let abs = self.ws.cwd.join(f);
                let abs = if abs.exists() {
                    abs
                } else {
                    self.ws.root.join(f)
                };
                let canon = abs
                    .canonicalize()
                    .map_err(|e| WorkbenchError::Other(format!("cannot read {f}: {e}")))?;
                // A pipe or a device would hang the read, a directory is no file.
                if !std::fs::metadata(&canon).is_ok_and(|m| m.is_file()) {
                    return Err(WorkbenchError::Other(format!(
                        "{f} is not a regular file; name a file"
                    )));
                }
                let rel = canon.strip_prefix(&self.ws.root).map_err(|_| {
                    WorkbenchError::Other(format!(
                        "{f} is outside the repository {}",
                        self.ws.root.display()
                    ))
                })?;
                Ok(rel.to_string_lossy().replace('\\', "/"))
            })
            .collect()
    }

    /// Attach `a` to the next question (once). It is kept even when the
    /// loaded model cannot take it (a cloud model may); then, why not.
    pub fn attach(&mut self, a: Attachment) -> Option<String> {
        let why = self.model().and_then(|m| m.attachment_tokens(&a).err());
        if !self.session.attachments.contains(&a) {
            self.session.attachments.push(a);
        }
        why
    }

    /// Pin `path` (sent whole with every request) or unpin it; a pinned
    /// file is no longer removed from the context.
    pub fn pin(&mut self, path: &str, on: bool) {
        self.pinned.retain(|p| p != path);
        if on {
            self.pinned.push(path.to_string());
            self.session.excluded.retain(|p| p != path);
        }
    }

    /// Remove `path` from the context of the next requests, or restore it.
    pub fn exclude(&mut self, path: &str, on: bool) {
        self.session.excluded.retain(|p| p != path);
        if on {
            self.session.excluded.push(path.to_string());
            self.pinned.retain(|p| p != path);
        }
    }

    // ---- index ----------------------------------------------------------

    /// Open the index through its cache (`progress` follows the build),
    /// and start watching the tree when `index.watch` is on.
    pub fn open_index(&mut self, progress: &Progress) -> Result<&Index, WorkbenchError> {
        let (index, _) = Index::open(
            &self.ws.root,
            &self.settings.index,
            Assets::new(Some(&self.ws.dirs.config)),
            Some(&self.ws.cache_dir()),
            progress,
        )
        .map_err(|source| WorkbenchError::Index {
            root: self.ws.root.clone(),
            source,
        })?;
        if self.settings.index.watch && self.watcher.is_none() {
            match Watcher::start(&self.ws.root) {
                Ok(w) => self.watcher = Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the tree; the index refreshes after locus's own changes")
                }
            }
        }
        Ok(self.index.insert(index))
    }

    /// The index, opened on first use.
    pub fn index(&mut self) -> Result<&Index, WorkbenchError> {
        if self.index.is_none() {
            self.open_index(&Progress::default())?;
        }
        self.refresh();
        Ok(self.index.as_ref().expect("opened"))
    }

    /// The index if it is open.
    pub fn index_if_open(&self) -> Option<&Index> {
        self.index.as_ref()
    }

    /// Bring the index up to date with what the watcher saw; how many
    /// files changed.
    pub fn refresh(&mut self) -> usize {
        let Some(w) = &self.watcher else { return 0 };
        let mut paths = Vec::new();
        while let Some(batch) = w.try_next() {
            paths.extend(batch);
        }
        self.reindex(&paths)
    }

    fn reindex(&mut self, paths: &[PathBuf]) -> usize {
        let Some(index) = &mut self.index else {
            return 0;
        };
        if paths.is_empty() {
            return 0;
        }
        match index.update(paths) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "index update failed");
                0
            }
        }
    }

    fn reindex_entry(&mut self, entry: &Entry) {
        let root = self.ws.root.clone();
        let paths: Vec<PathBuf> = entry.files.iter().map(|f| root.join(&f.path)).collect();
        self.reindex(&paths);
    }

    // ---- models ---------------------------------------------------------

    /// Load the model `spec` asks for (none: the repository's remembered
    /// choice, `[model] provider`, the configured or only GGUF) and make it
    /// the workbench's; with `remember`, this repository keeps the choice.
    pub fn load_model(
        &mut self,
        spec: Option<&str>,
        remember: bool,
    ) -> Result<&dyn ChatModel, WorkbenchError> {
        let state = self.ws.state_dir();
        let chosen = models::effective(spec, &self.settings, &state);
        let m = models::load(chosen.as_ref(), &self.settings, &self.ws.kv_dir())?.model;
        if remember && let Some(c) = &chosen {
            let _ = models::remember(&state, c);
        }
        self.model = Some(m);
        Ok(self.model.as_deref().expect("just set"))
    }

    /// Use `model` (already loaded) from now on.
    pub fn set_model(&mut self, model: Box<dyn ChatModel>) {
        self.model = Some(model);
    }

    pub fn model(&self) -> Option<&dyn ChatModel> {
        self.model.as_deref()
    }

    // ---- escalation -----------------------------------------------------

    /// The cloud model (`provider`, else the configured one) behind its
    /// gate: `trim` names what the user left out, `approve` sees each
    /// task's preview.
    pub fn escalation(
        &self,
        provider: Option<&str>,
        trim: Trim,
        approve: Approve,
    ) -> Result<Gated, WorkbenchError> {
        Ok(escalate::gated(
            &self.settings,
            &self.ws.dirs,
            &self.ws.root,
            provider,
            trim,
            approve,
        )?)
    }

    /// What escalating `text` would send through `gated`, computed as the
    /// request will be (nothing is approved or sent).
    pub fn escalation_preview(
        &mut self,
        gated: &Gated,
        task: Task,
        text: &str,
    ) -> Result<Preview, WorkbenchError> {
        self.index()?;
        let index = self.index.as_ref().expect("opened");
        let mut ctx = self
            .session
            .draft(gated, index, &self.ws.cwd, task, text, &self.pinned);
        let requests = match task {
            Task::Ask => 1,
            Task::Edit => 2,
        } + usize::from(ctx.dropped_turns > 0);
        Ok(gated.preview(&mut ctx, &[], requests))
    }

    // ---- jobs -----------------------------------------------------------

    /// Answer a question about the code (with the pinned files and `files`).
    pub fn ask(
        &mut self,
        via: Via<'_>,
        question: &str,
        files: &[String],
        cancel: &Cancel,
        on_text: &mut dyn FnMut(Piece),
    ) -> Result<Answer, WorkbenchError> {
        self.index()?;
        let pinned = self.with_pins(files);
        let model = pick(&self.model, via)?;
        let index = self.index.as_ref().expect("opened");
        Ok(self.session.ask(
            model,
            index,
            &self.ws.cwd,
            question,
            &pinned,
            cancel,
            on_text,
        )?)
    }

    /// Ask for a change (the pinned files and `files` are shown and may be
    /// changed); a proposal to review.
    pub fn edit(
        &mut self,
        via: Via<'_>,
        instruction: &str,
        files: &[String],
        cancel: &Cancel,
        on_text: &mut dyn FnMut(Piece),
    ) -> Result<EditOutcome, WorkbenchError> {
        self.index()?;
        let pinned = self.with_pins(files);
        let model = pick(&self.model, via)?;
        let index = self.index.as_ref().expect("opened");
        Ok(self.session.edit(
            model,
            index,
            &self.guard,
            &self.ws.cwd,
            instruction,
            &pinned,
            None,
            cancel,
            on_text,
        )?)
    }

    fn with_pins(&self, files: &[String]) -> Vec<String> {
        let mut all = self.pinned.clone();
        for f in files {
            if !all.contains(f) {
                all.push(f.clone());
            }
        }
        all
    }

    /// The context an ask would send now for `question` on the workbench's
    /// model (counted with its tokenizer); `None` without a model.
    pub fn context_draft(
        &mut self,
        task: Task,
        question: &str,
    ) -> Result<Option<Context>, WorkbenchError> {
        self.index()?;
        let Some(model) = self.model.as_deref() else {
            return Ok(None);
        };
        let index = self.index.as_ref().expect("opened");
        Ok(Some(self.session.draft(
            model,
            index,
            &self.ws.cwd,
            task,
            question,
            &self.pinned,
        )))
    }

    /// Write the accepted changes (journaled: undo reverts them), staging
    /// the files that had no other unstaged change when `stage`; the index
    /// follows.
    pub fn apply(
        &mut self,
        changes: &ChangeSet,
        summary: &str,
        stage: bool,
    ) -> Result<Option<Applied>, WorkbenchError> {
        let writes = edit::writes_for(changes);
        if writes.is_empty() {
            return Ok(None);
        }
        // Only files with no other unstaged change are staged: then what is
        // staged is exactly the accepted hunks.
        let repo = if stage {
            Some(Repo::open(&self.ws.cwd))
        } else {
            None
        };
        let mut not_staged = Vec::new();
        let mut to_stage = Vec::new();
        match &repo {
            Some(Ok(r)) => {
                for w in &writes {
                    if r.has_unstaged(&w.path).unwrap_or(true) {
                        not_staged.push((
                            w.path.clone(),
                            "it had other unstaged changes; use git add -p".to_string(),
                        ));
                    } else {
                        to_stage.push(w.path.clone());
                    }
                }
            }
            Some(Err(e)) => {
                for w in &writes {
                    not_staged.push((w.path.clone(), e.to_string()));
                }
            }
            None => {}
        }
        let entry = self.journal.apply(&writes, summary, &self.guard)?;
        self.reindex_entry(&entry);
        let mut staged = Vec::new();
        if let Some(Ok(r)) = &repo {
            for p in to_stage {
                match r.stage_file(&p) {
                    Ok(()) => staged.push(p),
                    Err(e) => not_staged.push((p, e.to_string())),
                }
            }
        }
        Ok(Some(Applied {
            entry,
            staged,
            not_staged,
        }))
    }

    /// Undo (or with `redo`, redo) the last change; the index follows.
    pub fn undo(&mut self, redo: bool) -> Result<Option<Entry>, WorkbenchError> {
        let done = if redo {
            self.journal.redo(&self.guard)?
        } else {
            self.journal.undo(&self.guard)?
        };
        if let Some(e) = &done {
            self.reindex_entry(e);
        }
        Ok(done)
    }

    /// Drop the newest journal entry without writing (its files changed
    /// since it was applied).
    pub fn undo_skip(&mut self) -> Result<Option<Entry>, WorkbenchError> {
        Ok(self.journal.skip(&self.guard)?)
    }

    /// Undo the newest entry although its files changed since; what the
    /// user had is kept for redo.
    pub fn undo_force(&mut self) -> Result<Option<Entry>, WorkbenchError> {
        let done = self.journal.force_undo(&self.guard)?;
        if let Some(e) = &done {
            self.reindex_entry(e);
        }
        Ok(done)
    }

    /// The applied journal entries, oldest first.
    pub fn applied(&self) -> Vec<Entry> {
        self.journal.history().unwrap_or_default()
    }

    /// The newest applied entry (what `undo` would revert).
    pub fn last_applied(&self) -> Option<Entry> {
        self.journal.history().ok()?.pop()
    }

    /// A commit message for what is staged, by the workbench's model (or a
    /// plain summary without one).
    pub fn commit_draft(
        &self,
        diff_chars: usize,
        cancel: &Cancel,
        on_prefill: &mut dyn FnMut(usize, usize),
    ) -> Result<super::commit::Draft, WorkbenchError> {
        Ok(self
            .commit_plan(Via::Local, false, diff_chars, cancel, on_prefill)?
            .draft)
    }

    /// A commit to make: the message drafted on `via` (the workbench's model
    /// when it has none, a plain summary) for what is staged, or with `all`
    /// for every change to tracked files (staged only when it is made).
    pub fn commit_plan(
        &self,
        via: Via<'_>,
        all: bool,
        diff_chars: usize,
        cancel: &Cancel,
        on_prefill: &mut dyn FnMut(usize, usize),
    ) -> Result<CommitPlan, WorkbenchError> {
        let (repo, index) = self.to_commit(all)?;
        let model = match via {
            Via::Cloud(g) => Some(g as &dyn ChatModel),
            Via::Local => self.model.as_deref(),
        };
        let draft = super::commit::draft(&repo, &index, model, diff_chars, cancel, on_prefill)?;
        Ok(CommitPlan {
            draft,
            repo,
            index,
            all,
        })
    }

    /// The repository and the index a commit would record (with `all`,
    /// every change to tracked files staged in memory), checked to be
    /// committable: nothing staged, a merge in progress and such are errors.
    pub fn to_commit(&self, all: bool) -> Result<(Repo, git2::Index), WorkbenchError> {
        let repo = Repo::open(&self.ws.cwd)?;
        let mut index = repo.git2().index().map_err(GitError::from)?;
        if all {
            repo.stage_tracked(&mut index)?;
        }
        repo.check_can_commit(&index)?;
        Ok((repo, index))
    }

    /// Make the planned commit with `message` (hooks honoured).
    pub fn commit_planned(
        &self,
        mut plan: CommitPlan,
        message: &str,
    ) -> Result<git::Committed, WorkbenchError> {
        if plan.all {
            plan.repo.check_index_unlocked()?;
            plan.index.write().map_err(GitError::from)?;
        }
        Ok(plan.repo.commit(message)?)
    }

    /// Commit what is staged with `message` (hooks honoured).
    pub fn commit(&self, message: &str) -> Result<git::Committed, WorkbenchError> {
        Ok(Repo::open(&self.ws.cwd)?.commit(message)?)
    }

    /// Run the check `name` in the repository root.
    pub fn run_check(
        &self,
        name: &str,
        cancel: &Cancel,
    ) -> Result<crate::tools::CheckOutcome, crate::tools::CheckError> {
        crate::tools::check::run(&self.ws.root, &self.settings.checks, name, cancel)
    }

    /// The check the repository's layout suggests (when none is configured):
    /// its name, settings and where it came from.
    pub fn proposed_check(&self) -> Option<(String, crate::config::CheckSettings, String)> {
        if self.settings.checks.is_empty() {
            crate::tools::check::propose(&self.ws.root)
        } else {
            None
        }
    }

    /// Save a check the user confirmed to the repository's config file;
    /// whether the file is trusted with it (it stays trusted when it was,
    /// or needed no trust before).
    pub fn save_check(
        &self,
        name: &str,
        check: &crate::config::CheckSettings,
    ) -> Result<bool, WorkbenchError> {
        let io = |e: std::io::Error| WorkbenchError::Other(e.to_string());
        let file = self.ws.repo_config_file();
        let mut text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let value =
            toml::Value::try_from(check).map_err(|e| WorkbenchError::Other(e.to_string()))?;
        let table = toml::Table::from_iter([(
            "checks".to_string(),
            toml::Value::Table(toml::Table::from_iter([(name.to_string(), value)])),
        )]);
        let added = toml::to_string(&table).map_err(|e| WorkbenchError::Other(e.to_string()))?;
        text.push_str(&format!("\n{added}"));
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&file, &text).map_err(io)?;
        let trust = self.ws.settings()?.trust;
        let keep = matches!(
            trust,
            crate::config::TrustState::NoFile
                | crate::config::TrustState::NotNeeded
                | crate::config::TrustState::Trusted
        );
        if keep {
            self.ws
                .trust_store()
                .grant(&self.ws.root, &text)
                .map_err(io)?;
        }
        Ok(keep)
    }

    /// What the model is asked after `failed` broke following its edit for `task`.
    pub fn fix_request(failed: &crate::tools::CheckOutcome, task: &str) -> String {
        format!(
            "The change for \"{task}\" was applied, and then {}. Its output:\n```\n{}\n```\nFix the code so that the check passes.",
            failed.summary(),
            failed.output.trim_end()
        )
    }

    /// Run the checks marked `after_edit`, in name order.
    pub fn after_edit_checks(&self, cancel: &Cancel) -> Vec<crate::tools::CheckOutcome> {
        self.settings
            .checks
            .iter()
            .filter(|(_, c)| c.after_edit)
            .filter_map(|(name, c)| {
                crate::tools::check::run_command(&self.ws.root, name, c, cancel)
                    .map_err(|e| tracing::warn!(error = %e, "check did not start"))
                    .ok()
            })
            .collect()
    }

    /// Save the index cache (on exit).
    pub fn save(&self) {
        if let Some(i) = &self.index {
            i.save();
        }
    }
}

/// What a recovery did, in one line.
fn recovery_line(r: &edit::Recovered) -> String {
    let what = if r.finished {
        format!("the interrupted {} had finished; it is kept", r.op)
    } else {
        format!("the interrupted {} was rolled back", r.op)
    };
    let mut line = format!("recovered: {what}");
    if !r.untouched.is_empty() {
        line.push_str(&format!(
            "; changed by someone else meanwhile, left as they are: {}",
            r.untouched.join(", ")
        ));
    }
    line
}

/// The model a job runs on: the cloud one behind its gate, or the local one.
fn pick<'a>(
    local: &'a Option<Box<dyn ChatModel>>,
    via: Via<'a>,
) -> Result<&'a dyn ChatModel, WorkbenchError> {
    match via {
        Via::Cloud(g) => Ok(g),
        Via::Local => local.as_deref().ok_or(WorkbenchError::NoModel),
    }
}
