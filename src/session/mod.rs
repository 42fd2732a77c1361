//! One conversation: request -> context -> model -> stream -> answer or
//! change set. The TUI and the headless commands share this code path.

pub mod commit;
pub mod escalate;
mod prompts;
mod sources;
mod store;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ContextSettings;
use crate::context::{self, Context, Request};
use crate::edit::{self, PathGuard, Proposal};
use crate::index::Index;
use crate::model::chat::{ChatModel, ChatRequest, ModelError, Placement};
use crate::model::{Cancel, Event, GenStats, Message, Role};
use crate::tokens::TokenCounter;

pub use prompts::{ASK_SYSTEM, SUMMARY_SYSTEM};
pub use sources::{Source, sources};
pub use store::{Record, SessionInfo, list, sessions_dir};

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
    pub advice: Option<String>,
    pub stats: GenStats,
    pub placement: Placement,
    pub context: Context,
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
    /// Runs on every context before it is sent (see `pass_gate`).
    pub gate: Option<Gate>,
    /// Lines the user selected, shown with the next requests until cleared.
    pub selection: Option<context::Selection>,
    /// Files the user removed from the context of the next requests.
    pub excluded: Vec<String>,
}

/// A check on the context before it is sent; an error stops the request.
pub type Gate = Box<dyn FnMut(&mut Context, &dyn ChatModel) -> Result<(), SessionError> + Send>;

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
            gate: None,
            selection: None,
            excluded: Vec::new(),
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
        for r in store::read(&file).map_err(|source| SessionError::Store {
            path: file.clone(),
            source,
        })? {
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
        self.context(
            index,
            cwd,
            system,
            &question,
            pinned,
            budget,
            model.counter(),
        )
    }

    fn history(&self) -> Vec<(String, String)> {
        self.turns[self.summarized..]
            .iter()
            .map(|t| (t.sent.clone(), t.answer.clone()))
            .collect()
    }

    /// The prompt for `question` with `system`, within `budget` tokens.
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
        let history = self.history();
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
        };
        context::build(index, &req, budget, counter, &self.settings)
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
        let budget = model.window() - answer_room;
        let mut ctx = self.prepare(
            model,
            index,
            cwd,
            system,
            &question_sent,
            pinned,
            budget,
            cancel,
        )?;
        self.pass_gate(&mut ctx, model)?;
        let messages = ctx.messages();
        let (text, stats) = run(model, &messages, answer_room, cancel, on_text)?;
        let srcs = sources(&text, index);
        let placement = model.placement();
        self.record("ask", question, &messages, &text, &placement, &stats, &srcs)?;
        Ok(Answer {
            text,
            sources: srcs,
            stats,
            placement,
            context: ctx,
        })
    }

    /// Let the gate (privacy guard and preview before a cloud request) see and
    /// change the context, or stop the request.
    fn pass_gate(&mut self, ctx: &mut Context, model: &dyn ChatModel) -> Result<(), SessionError> {
        match &mut self.gate {
            Some(g) => g(ctx, model),
            None => Ok(()),
        }
    }

    /// Build the context, summarising older turns first when they no longer fit.
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
        cancel: &Cancel,
    ) -> Result<Context, SessionError> {
        let mut ctx = self.context(
            index,
            cwd,
            system,
            question,
            pinned,
            budget,
            model.counter(),
        );
        if ctx.dropped_turns > 0 {
            self.summarize(model, cancel)?;
            ctx = self.context(
                index,
                cwd,
                system,
                question,
                pinned,
                budget,
                model.counter(),
            );
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
    pub fn summarize(
        &mut self,
        model: &dyn ChatModel,
        cancel: &Cancel,
    ) -> Result<(), SessionError> {
        let upto = self.turns.len().saturating_sub(1).max(self.summarized);
        if upto == self.summarized {
            return Ok(());
        }
        let counter = model.counter();
        let room = model
            .window()
            .saturating_sub(counter.count(SUMMARY_SYSTEM) + 300 + 64);
        let mut pieces: Vec<String> = Vec::new();
        if let Some(s) = &self.summary {
            pieces.push(format!("Earlier summary: {s}"));
        }
        for t in &self.turns[self.summarized..upto] {
            pieces.push(format!(
                "Developer: {}\nAssistant: {}",
                t.question, t.answer
            ));
        }
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
        let (summary, _) = run(model, &messages, 300, cancel, &mut |_| {})?;
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
        };
        self.save(&Record::Turn(Box::new(turn.clone())))?;
        self.turns.push(turn);
        Ok(())
    }

    /// Ask for a change: SEARCH/REPLACE blocks become a proposal; blocks that
    /// fail get one automatic retry with the matcher's feedback, then advice.
    #[allow(clippy::too_many_arguments)]
    pub fn edit(
        &mut self,
        model: &dyn ChatModel,
        index: &Index,
        guard: &PathGuard,
        cwd: &Path,
        instruction: &str,
        pinned: &[String],
        cancel: &Cancel,
        on_text: &mut dyn FnMut(Piece),
    ) -> Result<EditOutcome, SessionError> {
        let window = model.window();
        let (system, question, answer_room) = self.shape(model, Task::Edit, instruction);
        let budget = window - answer_room;
        let mut ctx = self.prepare(model, index, cwd, system, &question, pinned, budget, cancel)?;
        self.pass_gate(&mut ctx, model)?;
        let mut messages = ctx.messages();
        let mut replies = Vec::new();
        let (reply, mut stats) = run(model, &messages, answer_room, cancel, on_text)?;
        let mut proposal = edit::propose(&edit::parse_reply(&reply), guard);
        replies.push(reply);
        let failed = |p: &Proposal| !p.failures.is_empty() || p.changes.is_empty();
        if failed(&proposal) && !cancel.is_cancelled() {
            let feedback = if proposal.failures.is_empty() {
                "Your reply had no SEARCH/REPLACE blocks. Reply with SEARCH/REPLACE blocks only."
                    .to_string()
            } else {
                proposal.feedback()
            };
            messages.push(Message::new(Role::Assistant, replies[0].clone()));
            messages.push(Message::new(Role::User, feedback));
            // The retry must fit too: without room, it is not attempted.
            let room = window.saturating_sub(model.prompt_tokens(&messages));
            if room >= 128 {
                on_text(Piece::Text("\n"));
                let (retry, s) = run(model, &messages, answer_room.min(room), cancel, on_text)?;
                stats = s;
                proposal = edit::propose(&edit::parse_reply(&retry), guard);
                replies.push(retry);
            }
        }
        let advice = failed(&proposal)
            .then(|| crate::route::advice(&crate::route::Reason::EditsFailedTwice));
        let placement = model.placement();
        let last = replies.last().cloned().unwrap_or_default();
        let first_messages = ctx.messages();
        self.record(
            "edit",
            instruction,
            &first_messages,
            &last,
            &placement,
            &stats,
            &[],
        )?;
        Ok(EditOutcome {
            proposal,
            replies,
            advice,
            stats,
            placement,
            context: ctx,
        })
    }
}

/// A piece of a reply as it streams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// The answer's text.
    Text(&'a str),
    /// The model's thinking before (or between) its answer, for showing
    /// folded; it is not part of the answer or the history.
    Thinking(&'a str),
}

/// Stream one reply; the text and the stats.
fn run(
    model: &dyn ChatModel,
    messages: &[Message],
    max_tokens: usize,
    cancel: &Cancel,
    on_text: &mut dyn FnMut(Piece),
) -> Result<(String, GenStats), SessionError> {
    let mut text = String::new();
    let mut stats = GenStats::default();
    let mut failure = None;
    let req = ChatRequest {
        messages,
        max_tokens,
        temperature: 0.0,
    };
    model.chat(&req, cancel, &mut |e| match e {
        Event::Text(t) => {
            on_text(Piece::Text(&t));
            text.push_str(&t);
        }
        Event::Thinking(t) => on_text(Piece::Thinking(&t)),
        Event::Done(s) => stats = s,
        Event::Error(e) => failure = Some(e),
    })?;
    if let Some(e) = failure {
        return Err(SessionError::Generation(e));
    }
    Ok((text, stats))
}
