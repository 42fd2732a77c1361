//! One conversation: request -> context -> model -> stream -> answer or
//! change set. The TUI and the headless commands share this code path.

pub mod agent;
pub mod commit;
mod edit_request;
pub mod escalate;
pub mod models;
mod prompts;
mod sources;
mod store;
mod stream;
mod workbench;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ContextSettings;
use crate::context::{self, Context, Request};
use crate::edit::{self, Proposal};
use crate::index::Index;
use crate::model::attach::Attachment;
use crate::model::chat::{ChatModel, Gate, ModelError, Placement, ReplyKind};
use crate::model::{Cancel, GenStats, Message, Role};
use crate::tokens::TokenCounter;

pub use prompts::{ASK_SYSTEM, SUMMARY_SYSTEM};
pub use sources::{Source, sources};
pub use store::{Record, SessionInfo, list, sessions_dir};
pub use stream::{Piece, PrefillMeter};
use stream::{run, run_tools};
pub use workbench::{Applied, ShellConfirm, Via, Workbench, WorkbenchError};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the model stopped with an error: {0}")]
    Generation(String),
    #[error(
        "the request alone ({tokens} tokens) does not fit the model's budget of {budget}; shorten it"
    )]
    TooLong { tokens: usize, budget: usize },
    #[error("session {path}: {source}")]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no saved session {0} in this repository; `locus sessions` lists them")]
    NoSession(String),
    #[error("nothing was sent: {0}")]
    NotSent(String),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    #[error("{0}")]
    Attachment(String),
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// A question about the code.
    Ask,
    /// A change, answered with SEARCH/REPLACE blocks.
    Edit,
}

/// One exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// "ask" or "edit".
    pub kind: String,
    pub question: String,
    /// The user message exactly as sent (so the next prompt extends it byte for byte).
    pub sent: String,
    pub answer: String,
    pub placement: Placement,
    pub time: u64,
    #[serde(default)]
    pub stats: Option<GenStats>,
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Every file whose content or signatures the turn's request held.
    #[serde(default)]
    pub files: Vec<String>,
    /// What was attached to the question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// What an ask produced.
#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    pub sources: Vec<Source>,
    pub stats: GenStats,
    pub placement: Placement,
    pub context: Context,
}

/// What an edit request produced.
#[derive(Debug, Clone)]
pub struct EditOutcome {
    pub proposal: Proposal,
    /// The model's replies: the first, and the retry's when there was one.
    pub replies: Vec<String>,
    /// Set when the edits still failed after the retry.
    pub advice: Option<crate::route::Reason>,
    pub stats: GenStats,
    pub placement: Placement,
    pub context: Context,
    /// The tool calls made before the edit was proposed (the tool loop).
    pub steps: Vec<agent::Step>,
    /// Why the tool loop stopped early, if it did.
    pub stopped: Option<String>,
}

pub struct Session {
    pub id: String,
    file: PathBuf,
    pub turns: Vec<Turn>,
    /// Summary of `turns[..summarized]`.
    pub summary: Option<String>,
    pub summarized: usize,
    pub settings: ContextSettings,
    map_memo: context::MapMemo,
    count_memo: context::CountMemo,
    /// Lines the user selected, shown with the next requests until cleared.
    pub selection: Option<context::Selection>,
    /// Files the user removed from the context of the next requests.
    pub excluded: Vec<String>,
    /// Lines of the saved file that were damaged (a write cut short) and skipped.
    pub damaged: usize,
    /// Images (and recordings) to send with the next question; they go
    /// into its turn, and with it into later prompts (to a local model).
    pub attachments: Vec<Attachment>,
}

impl Session {
    /// A new session saved under `dir`.
    pub fn create(
        dir: &Path,
        root: &Path,
        settings: ContextSettings,
    ) -> Result<Session, SessionError> {
        let created = store::now();
        let id = format!("{created}-{:04x}", rand::random::<u16>());
        let file = dir.join(format!("{id}.jsonl"));
        let meta = Record::Meta {
            id: id.clone(),
            created,
            root: root.display().to_string(),
        };
        store::append(&file, &meta).map_err(|source| SessionError::Store {
            path: file.clone(),
            source,
        })?;
        Ok(Session::empty(id, file, settings))
    }

    /// A session with no turns yet, saved to `file` (none when empty).
    fn empty(id: String, file: PathBuf, settings: ContextSettings) -> Session {
        Session {
            id,
            file,
            turns: Vec::new(),
            summary: None,
            summarized: 0,
            settings,
            map_memo: Default::default(),
            count_memo: Default::default(),
            selection: None,
            excluded: Vec::new(),
            damaged: 0,
            attachments: Vec::new(),
        }
    }

    /// A session that is not saved (for previews such as `locus context`).
    pub fn detached(settings: ContextSettings) -> Session {
        Session::empty(String::new(), PathBuf::new(), settings)
    }

    /// Open a saved session (`id`, or the latest when `None`).
    pub fn open(
        dir: &Path,
        id: Option<&str>,
        settings: ContextSettings,
    ) -> Result<Session, SessionError> {
        let store_err = |source| SessionError::Store {
            path: dir.to_path_buf(),
            source,
        };
        let id = match id {
            Some(id) => id.to_string(),
            None => list(dir)
                .map_err(store_err)?
                .first()
                .map(|s| s.id.clone())
                .ok_or_else(|| SessionError::NoSession("(latest)".into()))?,
        };
        let file = dir.join(format!("{id}.jsonl"));
        if !file.exists() {
            return Err(SessionError::NoSession(id));
        }
        let mut s = Session::empty(id, file.clone(), settings);
        let (records, damaged) =
            store::read_counting(&file).map_err(|source| SessionError::Store {
                path: file.clone(),
                source,
            })?;
        s.damaged = damaged;
        for r in records {
            match r {
                Record::Meta { .. } => {}
                Record::Turn(t) => s.turns.push(*t),
                Record::Summary { text, covers } => {
                    s.summary = Some(text);
                    s.summarized = covers;
                }
            }
        }
        Ok(s)
    }

    fn save(&self, r: &Record) -> Result<(), SessionError> {
        // A detached session (a preview, a workbench before a session is
        // opened) keeps its turns in memory only.
        if self.file.as_os_str().is_empty() {
            return Ok(());
        }
        store::append(&self.file, r).map_err(|source| SessionError::Store {
            path: self.file.clone(),
            source,
        })
    }

    /// Tokens kept free for the answer in a window of `window`.
    pub fn answer_tokens(&self, window: usize) -> usize {
        if self.settings.answer_tokens > 0 {
            self.settings.answer_tokens.min(window / 2)
        } else {
            (window / 8).max(512).min(window / 2)
        }
    }

    /// Room kept for the answer of `model`.
    pub fn answer_room(&self, model: &dyn ChatModel) -> usize {
        let room = self.answer_tokens(model.window());
        model.max_output().map_or(room, |m| room.min(m.max(16)))
    }

    /// A request's system prompt, the question as sent, and the room kept
    /// for the answer.
    fn shape(
        &self,
        model: &dyn ChatModel,
        task: Task,
        text: &str,
    ) -> (&'static str, String, usize) {
        match task {
            Task::Ask => (ASK_SYSTEM, text.to_string(), self.answer_room(model)),
            Task::Edit => {
                let window = model.window();
                // Edits rewrite code: a quarter of the window unless the
                // answer's length was set (`--max-tokens`, `answer_tokens`).
                let room = self.answer_room(model);
                let room = if self.settings.answer_tokens > 0 {
                    room
                } else {
                    room.max(window / 4)
                        .min(window / 2)
                        .min(model.max_output().unwrap_or(usize::MAX))
                };
                let question = format!("Task: {}\nReply with SEARCH/REPLACE blocks.", text.trim());
                (edit::EDIT_FORMAT, question, room)
            }
        }
    }

    /// The context `ask` or `edit` would build for `text` on `model` now
    /// (before any summary of older turns), for a preview.
    pub fn draft(
        &self,
        model: &dyn ChatModel,
        index: &Index,
        cwd: &Path,
        task: Task,
        text: &str,
        pinned: &[String],
    ) -> Context {
        let (system, question, room) = self.shape(model, task, text);
        let budget = model.window().saturating_sub(room);
        self.context_behind(
            index,
            cwd,
            system,
            &question,
            pinned,
            budget,
            model.counter(),
            model.gate(),
        )
    }

    /// The turns since the summary, as sent and answered. Behind a gate, a
    /// turn that drew on a file that stays here is shown by its question
    /// only, its answer withheld.
    fn history(&self, gate: Option<&dyn Gate>) -> Vec<(String, String)> {
        self.turns[self.summarized..]
            .iter()
            .map(|t| withheld(t, gate).unwrap_or_else(|| (t.sent.clone(), t.answer.clone())))
            .collect()
    }

    /// The prompt for `question` with `system`, within `budget` tokens, for
    /// a model on this machine.
    #[allow(clippy::too_many_arguments)]
    pub fn context(
        &self,
        index: &Index,
        cwd: &Path,
        system: &str,
        question: &str,
        pinned: &[String],
        budget: usize,
        counter: &dyn TokenCounter,
    ) -> Context {
        self.context_behind(index, cwd, system, question, pinned, budget, counter, None)
    }

    /// The prompt as `context` builds it, with what `gate` keeps on this
    /// machine absent from every part.
    #[allow(clippy::too_many_arguments)]
    fn context_behind(
        &self,
        index: &Index,
        cwd: &Path,
        system: &str,
        question: &str,
        pinned: &[String],
        budget: usize,
        counter: &dyn TokenCounter,
        gate: Option<&dyn Gate>,
    ) -> Context {
        let history = self.history(gate);
        let left_out = |p: &str| gate.and_then(|g| g.left_out(p));
        let req = Request {
            system,
            question,
            pinned,
            history: &history,
            summary: self.summary.as_deref(),
            cwd,
            map_memo: Some(&self.map_memo),
            count_memo: Some(&self.count_memo),
            selection: self.selection.as_ref(),
            excluded: &self.excluded,
            left_out: gate.is_some().then_some(&left_out as &context::LeftOut<'_>),
        };
        let mut ctx = context::build(index, &req, budget, counter, &self.settings);
        for a in &self.attachments {
            let path = a.name.clone();
            match left_out(&path) {
                Some(reason) => ctx.left_out.push(context::LeftOutFile { path, reason }),
                None => ctx.attachments.push(a.clone()),
            }
        }
        ctx
    }

    /// The tokens the pending attachments take with `model`, or why it
    /// cannot take one.
    pub fn attachment_tokens(&self, model: &dyn ChatModel) -> Result<usize, SessionError> {
        self.attachments.iter().try_fold(0, |sum, a| {
            Ok(sum
                + model
                    .attachment_tokens(a)
                    .map_err(SessionError::Attachment)?)
        })
    }

    /// `messages` (from a context with `ctx.history_turns` earlier turns)
    /// with those turns' attachments back on their questions, for a model
    /// on this machine (its prefix cache then keeps them where they were;
    /// to a cloud model only the question's own attachments go).
    fn reattach(&self, model: &dyn ChatModel, ctx: &Context, messages: &mut [Message]) {
        if model.gate().is_some() {
            return;
        }
        let shown = &self.turns[self.turns.len() - ctx.history_turns..];
        let Some((_question, earlier)) = messages.split_last_mut() else {
            return;
        };
        let users: Vec<&mut Message> = earlier
            .iter_mut()
            .filter(|m| m.role == Role::User)
            .collect();
        let skip = users.len().saturating_sub(ctx.history_turns);
        for (m, t) in users.into_iter().skip(skip).zip(shown) {
            if t.attachments
                .iter()
                .all(|a| model.attachment_tokens(a).is_ok())
            {
                m.attachments.clone_from(&t.attachments);
            }
        }
    }

    /// Tokens the attachments a request may carry take with `model`: the
    /// question's, and (to a local model) those of earlier turns.
    fn attachments_cost(&self, model: &dyn ChatModel) -> Result<usize, SessionError> {
        let mut cost = self.attachment_tokens(model)?;
        if model.gate().is_none() {
            for a in self.turns[self.summarized..]
                .iter()
                .flat_map(|t| &t.attachments)
            {
                cost += model.attachment_tokens(a).unwrap_or(0);
            }
        }
        Ok(cost)
    }

    /// Every file the context's request draws on: its parts, the map, and
    /// the earlier turns it includes.
    fn files_of(&self, ctx: &Context, gate: Option<&dyn Gate>) -> Vec<String> {
        let mut files = ctx.files();
        let shown = self.turns.len().saturating_sub(ctx.history_turns);
        for t in &self.turns[shown.max(self.summarized)..] {
            files.extend(turn_files(t, gate).iter().cloned());
        }
        files.sort();
        files.dedup();
        files
    }

    /// Answer a question about the code, streaming text to `on_text`.
    #[allow(clippy::too_many_arguments)]
    pub fn ask(
        &mut self,
        model: &dyn ChatModel,
        index: &Index,
        cwd: &Path,
        question: &str,
        pinned: &[String],
        cancel: &Cancel,
        on_text: &mut dyn FnMut(Piece),
    ) -> Result<Answer, SessionError> {
        let (system, question_sent, answer_room) = self.shape(model, Task::Ask, question);
        let budget = (model.window() - answer_room).saturating_sub(self.attachments_cost(model)?);
        let ctx = self.prepare(
            model,
            index,
            cwd,
            system,
            &question_sent,
            pinned,
            budget,
            1,
            cancel,
        )?;
        let mut messages = ctx.messages();
        self.reattach(model, &ctx, &mut messages);
        let files = self.files_of(&ctx, model.gate());
        let (text, stats) = run(
            model,
            &messages,
            &files,
            answer_room,
            ReplyKind::Answer,
            cancel,
            on_text,
        )?;
        let srcs = sources(&text, index);
        let placement = model.placement();
        self.record(
            "ask", question, &messages, &text, &placement, &stats, &srcs, files,
        )?;
        Ok(Answer {
            text,
            sources: srcs,
            stats,
            placement,
            context: ctx,
        })
    }

    /// Answer with the tool loop: the model may search, read, run checks and
    /// propose edits (into `toolbox.proposals`) before it answers.
    #[allow(clippy::too_many_arguments)]
    pub fn ask_with_tools(
        &mut self,
        model: &dyn ChatModel,
        index: &Index,
        cwd: &Path,
        question: &str,
        pinned: &[String],
        toolbox: &mut crate::tools::Toolbox<'_>,
        max_steps: usize,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(agent::LoopEvent<'_>),
    ) -> Result<(Answer, agent::LoopEnd), SessionError> {
        let system = format!(
            "{ASK_SYSTEM}\n\n{}",
            agent::instructions(model, toolbox.specs())
        );
        let answer_room = self.answer_room(model);
        let budget = model.window().saturating_sub(
            answer_room
                + agent::declared_tokens(model, toolbox.specs())
                + self.attachments_cost(model)?,
        );
        let ctx = self.prepare(
            model,
            index,
            cwd,
            &system,
            question,
            pinned,
            budget,
            max_steps + 1,
            cancel,
        )?;
        let mut messages = ctx.messages();
        self.reattach(model, &ctx, &mut messages);
        let files = self.files_of(&ctx, model.gate());
        let end = agent::run_loop(
            model,
            messages.clone(),
            &files,
            toolbox,
            max_steps,
            answer_room,
            ReplyKind::Answer,
            cancel,
            on_event,
        )?;
        let srcs = sources(&end.text, index);
        let placement = model.placement();
        self.record(
            "ask", question, &messages, &end.text, &placement, &end.stats, &srcs, files,
        )?;
        Ok((
            Answer {
                text: end.text.clone(),
                sources: srcs,
                stats: end.stats.clone(),
                placement,
                context: ctx,
            },
            end,
        ))
    }

    /// Build the context, summarising older turns first when they no longer
    /// fit. Behind a gate, the task is previewed and approved first: the
    /// context, the files of the turns to be summarised, and `requests`
    /// requests besides the summary.
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &mut self,
        model: &dyn ChatModel,
        index: &Index,
        cwd: &Path,
        system: &str,
        question: &str,
        pinned: &[String],
        budget: usize,
        requests: usize,
        cancel: &Cancel,
    ) -> Result<Context, SessionError> {
        let gate = model.gate();
        let mut ctx = self.context_behind(
            index,
            cwd,
            system,
            question,
            pinned,
            budget,
            model.counter(),
            gate,
        );
        let summarise = ctx.dropped_turns > 0 && self.to_summarize().is_some();
        if let Some(g) = gate {
            let mut extra = self.files_of(&ctx, gate);
            if let Some(range) = self.to_summarize() {
                for t in &self.turns[range] {
                    extra.extend(turn_files(t, gate).iter().cloned());
                }
            }
            g.review(&mut ctx, &extra, requests + usize::from(summarise))?;
        }
        if summarise {
            self.summarize(model, cancel)?;
            ctx = self.context_behind(
                index,
                cwd,
                system,
                question,
                pinned,
                budget,
                model.counter(),
                gate,
            );
            if gate.is_some() {
                // As it leaves: the guard's redactions (its files were approved).
                ctx.parts
                    .iter_mut()
                    .for_each(|p| p.text = crate::route::redact(&p.text).0);
                ctx.recount(model.counter());
            }
        }
        if ctx.total_tokens > budget {
            return Err(SessionError::TooLong {
                tokens: ctx.total_tokens,
                budget,
            });
        }
        Ok(ctx)
    }

    /// Replace every turn but the last by a summary the model writes (with the
    /// previous summary folded in). The summary request is cut to fit the window.
    /// The turns a summary would cover now: all but the last since the
    /// previous summary.
    fn to_summarize(&self) -> Option<std::ops::Range<usize>> {
        let upto = self.turns.len().saturating_sub(1).max(self.summarized);
        (upto > self.summarized).then_some(self.summarized..upto)
    }

    pub fn summarize(
        &mut self,
        model: &dyn ChatModel,
        cancel: &Cancel,
    ) -> Result<(), SessionError> {
        let Some(range) = self.to_summarize() else {
            return Ok(());
        };
        let upto = range.end;
        let gate = model.gate();
        let mut files: Vec<String> = Vec::new();
        let counter = model.counter();
        let room = model
            .window()
            .saturating_sub(counter.count(SUMMARY_SYSTEM) + 300 + 64);
        let mut pieces: Vec<String> = Vec::new();
        if let Some(s) = &self.summary {
            pieces.push(format!("Earlier summary: {s}"));
        }
        for t in &self.turns[range] {
            let answer = match withheld(t, gate) {
                Some((_, a)) => a,
                None => {
                    files.extend(t.files.iter().cloned());
                    t.answer.clone()
                }
            };
            pieces.push(format!("Developer: {}\nAssistant: {answer}", t.question));
        }
        files.sort();
        files.dedup();
        // Keep the most recent text that fits: the request must always fit the window.
        let mut text = String::new();
        let mut used = 0;
        for p in pieces.iter().rev() {
            let c = counter.count(p) + 2;
            if used + c > room {
                let keep: String = p
                    .chars()
                    .rev()
                    .take(room.saturating_sub(used) * 2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                text = format!("…{keep}\n\n{text}");
                break;
            }
            used += c;
            text = format!("{p}\n\n{text}");
        }
        let messages = [
            Message::new(Role::System, SUMMARY_SYSTEM),
            Message::new(Role::User, text.trim_end().to_string()),
        ];
        let (summary, _) = run(
            model,
            &messages,
            &files,
            300,
            ReplyKind::Answer,
            cancel,
            &mut |_| {},
        )?;
        self.summary = Some(summary.trim().to_string());
        self.summarized = upto;
        self.save(&Record::Summary {
            text: summary.trim().to_string(),
            covers: upto,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        kind: &str,
        question: &str,
        messages: &[Message],
        answer: &str,
        placement: &Placement,
        stats: &GenStats,
        srcs: &[Source],
        files: Vec<String>,
    ) -> Result<(), SessionError> {
        let turn = Turn {
            kind: kind.into(),
            question: question.into(),
            sent: messages
                .last()
                .map(|m| m.content.clone())
                .unwrap_or_default(),
            answer: answer.into(),
            placement: placement.clone(),
            time: store::now(),
            stats: Some(stats.clone()),
            sources: srcs.to_vec(),
            files,
            attachments: messages
                .last()
                .map(|m| m.attachments.clone())
                .unwrap_or_default(),
        };
        self.save(&Record::Turn(Box::new(turn.clone())))?;
        self.turns.push(turn);
        self.attachments.clear();
        Ok(())
    }
}

/// The files a turn's request drew on, as far as they are sent again:
/// none for a turn withheld behind `gate`.
fn turn_files<'a>(t: &'a Turn, gate: Option<&dyn Gate>) -> &'a [String] {
    if withheld(t, gate).is_some() {
        &[]
    } else {
        &t.files
    }
}

/// Behind a gate, a turn that drew on a file that stays here: its question
/// and a note in place of its answer.
fn withheld(t: &Turn, gate: Option<&dyn Gate>) -> Option<(String, String)> {
    let g = gate?;
    let f = t.files.iter().find(|f| g.left_out(f).is_some())?;
    Some((
        t.question.clone(),
        format!("[answer withheld: it drew on {f}, which stays on this machine]"),
    ))
}
