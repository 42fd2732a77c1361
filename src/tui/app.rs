//! The TUI's state and its update function: every key, paste and worker
//! report becomes a change of state plus commands for the worker. No
//! terminal here, so all of it is tested directly.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::{Action, Key, KeyName, Keymap};
use crate::edit::{ChangeSet, Decision};
use crate::model::{Cancel, GenStats};
use crate::route::Preview;
use crate::session::Task;

use super::commit::CommitView;
use super::complete;
use super::context_panel::{Change, ContextPanel};
use super::escalation::{self, Escalation};
use super::setup::{Choice, SetupView};

/// What the worker is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Ask(String),
    Edit(String),
    Apply(ChangeSet),
    /// Load this model.
    UseModel(std::path::PathBuf),
    /// Download the default model, then load it.
    Download,
    /// Apply what is accepted and stage it.
    ApplyAndStage(ChangeSet),
    /// Draft a commit message for what is staged.
    CommitDraft,
    /// What the next prompt for `question` would hold.
    Context {
        question: String,
    },
    /// Pin a file (always in the prompt) or unpin it.
    Pin {
        path: String,
        on: bool,
    },
    /// Remove a file from the context, or restore it.
    Exclude {
        path: String,
        on: bool,
    },
    /// Commit what is staged with this message.
    Commit(String),
    Undo,
    Redo,
    /// Show what escalating the task to the cloud model would send.
    Escalate {
        task: Task,
        text: String,
    },
    /// Send it, without the trimmed paths.
    Send {
        task: Task,
        text: String,
        exclude: Vec<String>,
    },
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum Report {
    Progress(String),
    IndexReady {
        files: usize,
    },
    ModelReady {
        name: String,
        window: usize,
    },
    /// No local model: the first-run screen.
    NoModel(Box<SetupView>),
    /// Download progress (bytes done, total).
    Download(u64, u64),
    Token(String),
    /// Part of the model's thinking, shown folded.
    Thinking(String),
    /// The index's files and symbols, for `@` completion.
    Names(complete::Names),
    Answered {
        placement: String,
        stats: GenStats,
        sources: Vec<String>,
        context_tokens: usize,
        budget: usize,
        /// US dollars, when it went to a cloud model.
        cost: f64,
    },
    /// A commit message drafted for what is staged.
    CommitDraft(Box<CommitView>),
    /// What the next prompt holds.
    Context(ContextPanel),
    /// The commit was made (its summary line).
    Committed(String),
    /// What an escalation would send, for the user to confirm.
    Preview {
        task: Task,
        text: String,
        preview: Box<Preview>,
    },
    Proposed {
        changes: ChangeSet,
        failures: Vec<String>,
        advice: Option<String>,
        placement: String,
        cost: f64,
    },
    Info(String),
    Error(String),
    Git {
        branch: Option<String>,
        dirty: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    User(String),
    Assistant {
        placement: String,
        text: String,
        /// What the model thought before answering (Gemma's thinking mode).
        thinking: String,
        done: bool,
    },
    Info(String),
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Chat,
    Review,
    Escalate,
    Commit,
    Setup,
    Help,
}

#[derive(Debug, Clone, Default)]
pub struct Status {
    pub model: Option<String>,
    pub placement: String,
    pub window: usize,
    pub context_used: usize,
    pub prefill: f64,
    pub decode: f64,
    pub reused: usize,
    pub index: String,
    pub branch: Option<String>,
    pub dirty: bool,
    pub cost: f64,
    /// No local model could be loaded.
    pub no_model: bool,
}

/// The change set under review and where the cursor is.
#[derive(Debug, Clone)]
pub struct Review {
    pub changes: ChangeSet,
    /// The proposed edits that could not be placed, with the reason.
    pub failures: Vec<String>,
    /// (file, hunk) of the selected hunk.
    pub at: (usize, usize),
}

impl Review {
    fn hunks(&self) -> Vec<(usize, usize)> {
        self.changes
            .files
            .iter()
            .enumerate()
            .flat_map(|(f, fc)| (0..fc.hunks.len().max(1)).map(move |h| (f, h)))
            .collect()
    }

    fn step(&mut self, by: isize) {
        let all = self.hunks();
        if let Some(i) = all.iter().position(|&x| x == self.at) {
            let j = (i as isize + by).clamp(0, all.len() as isize - 1) as usize;
            self.at = all[j];
        }
    }

    fn decide(&mut self, d: Decision) {
        let (f, h) = self.at;
        if let Some(fc) = self.changes.files.get(f) {
            match fc.hunks.get(h) {
                Some(hunk) => {
                    let id = hunk.id.clone();
                    self.changes.set_hunk(&id, d);
                }
                None => {
                    let path = fc.path.clone();
                    self.changes.set_file(&path, d);
                }
            }
        }
    }
}

pub struct App {
    pub entries: Vec<Entry>,
    pub input: String,
    pub history: Vec<String>,
    history_at: Option<usize>,
    pub view: View,
    /// The view the help overlay returns to.
    behind_help: View,
    pub busy: bool,
    pub cancel: Option<Cancel>,
    ctrl_c_armed: bool,
    pub status: Status,
    pub review: Option<Review>,
    /// Lines scrolled up from the bottom of the transcript.
    pub scroll: u16,
    /// Whether the answers' thinking is unfolded (Ctrl-T).
    pub show_thinking: bool,
    /// Whether the review shows old and new side by side (`s`; on
    /// terminals at least `diffview::SIDE_BY_SIDE_MIN` wide).
    pub side_by_side: bool,
    /// What `@` completes to, once the index is ready.
    pub names: complete::Names,
    /// The highlighted completion.
    pub completion_sel: usize,
    /// The escalation preview on screen.
    pub escalation: Option<Escalation>,
    /// The commit view, kept while its commit runs (a failed commit comes
    /// back to it with the message as edited).
    pub commit: Option<CommitView>,
    commit_running: bool,
    /// The context panel (Ctrl-O): shown, and has the keys, when `Some`.
    pub panel: Option<ContextPanel>,
    /// The first-run screen, while no local model is loaded.
    pub setup: Option<SetupView>,
    /// A hunk to open in $EDITOR (the event loop does, with the terminal
    /// handed over).
    edit_request: Option<String>,
    pub keys: Keymap,
    pub quit: bool,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    pub fn new() -> App {
        App {
            entries: Vec::new(),
            input: String::new(),
            history: Vec::new(),
            history_at: None,
            view: View::Chat,
            behind_help: View::Chat,
            busy: false,
            cancel: None,
            ctrl_c_armed: false,
            status: Status {
                index: "indexing…".into(),
                ..Status::default()
            },
            review: None,
            scroll: 0,
            show_thinking: false,
            side_by_side: false,
            names: complete::Names::default(),
            completion_sel: 0,
            escalation: None,
            commit: None,
            commit_running: false,
            panel: None,
            setup: None,
            edit_request: None,
            keys: Keymap::default(),
            quit: false,
        }
    }

    /// Whether `k` is bound to `a` in the keymap.
    pub fn is(&self, a: Action, k: &KeyEvent) -> bool {
        key_of(k).is_some_and(|key| self.keys.is(a, key))
    }

    /// Handle a key; the requests for the worker.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Request> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && k.code == KeyCode::Char('c') {
            return self.ctrl_c();
        }
        self.ctrl_c_armed = false;
        if self.is(Action::Help, &k) {
            self.toggle_help();
            return Vec::new();
        }
        match self.view {
            View::Help => {
                if matches!(
                    k.code,
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?')
                ) {
                    self.view = self.behind_help;
                }
                Vec::new()
            }
            View::Review => self.review_key(k),
            View::Escalate => self.escalation_key(k),
            View::Commit => self.commit_key(k),
            View::Setup => self.setup_key(k),
            View::Chat => self.chat_key(k),
        }
    }

    /// The view under the help overlay.
    pub fn behind(&self) -> View {
        self.behind_help
    }

    fn toggle_help(&mut self) {
        if self.view == View::Help {
            self.view = self.behind_help;
        } else {
            self.behind_help = self.view;
            self.view = View::Help;
        }
    }

    fn ctrl_c(&mut self) -> Vec<Request> {
        if self.busy
            && let Some(c) = &self.cancel
        {
            c.cancel();
            self.entries.push(Entry::Info("cancelled".into()));
            return Vec::new();
        }
        if self.ctrl_c_armed {
            self.quit = true;
        } else {
            self.ctrl_c_armed = true;
            self.entries
                .push(Entry::Info("press Ctrl-C again to quit".into()));
        }
        Vec::new()
    }

    /// The completions offered for the `@` word being typed, best first.
    pub fn completions(&self) -> Vec<String> {
        complete::word(&self.input)
            .map(|w| complete::candidates(&self.names, w))
            .unwrap_or_default()
    }

    /// Tab takes the highlighted completion, ↑/↓ move the highlight; `true`
    /// when the key was used so.
    fn completion_key(&mut self, k: &KeyEvent) -> bool {
        let shown = self.completions();
        if shown.is_empty() {
            return false;
        }
        let n = shown.len();
        match k.code {
            KeyCode::Tab => {
                self.input = complete::accept(&self.input, &shown[self.completion_sel.min(n - 1)]);
                self.completion_sel = 0;
            }
            KeyCode::Down => self.completion_sel = (self.completion_sel + 1) % n,
            KeyCode::Up => self.completion_sel = (self.completion_sel + n - 1) % n,
            _ => return false,
        }
        true
    }

    fn chat_key(&mut self, k: KeyEvent) -> Vec<Request> {
        if self.is(Action::Context, &k) {
            if self.panel.take().is_some() {
                return Vec::new();
            }
            self.panel = Some(ContextPanel {
                note: Some("computing…".into()),
                ..ContextPanel::default()
            });
            return vec![self.context_request()];
        }
        if self.panel.is_some() {
            return self.panel_key(k);
        }
        if self.completion_key(&k) {
            return Vec::new();
        }
        if matches!(k.code, KeyCode::Char(_) | KeyCode::Backspace) {
            self.completion_sel = 0;
        }
        let alt =
            k.modifiers.contains(KeyModifiers::ALT) || k.modifiers.contains(KeyModifiers::SHIFT);
        if self.is(Action::Escalate, &k) {
            return self.escalate();
        }
        if self.is(Action::Thinking, &k) {
            self.show_thinking = !self.show_thinking;
            return Vec::new();
        }
        if self.is(Action::Commit, &k) {
            if self.commit_running {
                return Vec::new();
            }
            self.entries.push(Entry::Info(
                "drafting a commit message for what is staged…".into(),
            ));
            return vec![Request::CommitDraft];
        }
        match k.code {
            KeyCode::Char('?') if self.input.is_empty() => self.toggle_help(),
            KeyCode::Char('j') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.input.push('\n')
            }
            KeyCode::Enter if alt => self.input.push('\n'),
            KeyCode::Enter => return self.submit(),
            KeyCode::Char(_) if k.modifiers.contains(KeyModifiers::CONTROL) => {}
            KeyCode::Char(c) => self.input.push(c),
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Up if !self.input.contains('\n') => self.recall(-1),
            KeyCode::Down if !self.input.contains('\n') => self.recall(1),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Esc => self.input.clear(),
            _ => {}
        }
        Vec::new()
    }

    /// The question the context panel drafts for: the composer's, else the
    /// last one.
    fn context_request(&self) -> Request {
        let q = self.input.trim();
        let q = if q.is_empty() || q.starts_with('/') {
            self.history
                .iter()
                .rev()
                .find(|h| !h.starts_with('/'))
                .cloned()
                .unwrap_or_default()
        } else {
            q.to_string()
        };
        Request::Context { question: q }
    }

    fn panel_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let key = key_of(&k);
        let is = |a: Action| key.is_some_and(|key| self.keys.is(a, key));
        let (pin, remove) = (is(Action::Pin), is(Action::Remove));
        let Some(p) = &mut self.panel else {
            return Vec::new();
        };
        let change = match k.code {
            _ if pin => p.pin(),
            _ if remove => p.remove(),
            KeyCode::Down | KeyCode::Char('j') => {
                p.step(1);
                None
            }
            KeyCode::Up | KeyCode::Char('k') => {
                p.step(-1);
                None
            }
            KeyCode::Esc => {
                self.panel = None;
                None
            }
            _ => None,
        };
        match change {
            Some(Change::Pin(path, on)) => vec![Request::Pin { path, on }],
            Some(Change::Exclude(path, on)) => vec![Request::Exclude { path, on }],
            None => Vec::new(),
        }
    }

    fn recall(&mut self, dir: isize) {
        if self.history.is_empty() {
            return;
        }
        let at = match (self.history_at, dir) {
            (None, -1) => self.history.len() - 1,
            (None, _) => return,
            (Some(i), -1) => i.saturating_sub(1),
            (Some(i), _) if i + 1 >= self.history.len() => {
                self.history_at = None;
                self.input.clear();
                return;
            }
            (Some(i), _) => i + 1,
        };
        self.history_at = Some(at);
        self.input = self.history[at].clone();
    }

    /// Paste arrives whole (bracketed paste): it never sends.
    pub fn paste(&mut self, text: &str) {
        if self.view == View::Chat {
            self.input.push_str(&text.replace("\r\n", "\n"));
        }
    }

    fn submit(&mut self) -> Vec<Request> {
        let text = self.input.trim().to_string();
        if text.is_empty() {
            return Vec::new();
        }
        self.input.clear();
        self.history_at = None;
        self.history.push(text.clone());
        self.scroll = 0;
        let (cmd, rest) = match text.strip_prefix('/') {
            Some(c) => c
                .split_once(' ')
                .map(|(a, b)| (a, b.trim()))
                .unwrap_or((c, "")),
            None => ("", text.as_str()),
        };
        match cmd {
            "help" => {
                self.toggle_help();
                Vec::new()
            }
            "quit" | "q" => {
                self.quit = true;
                Vec::new()
            }
            "clear" => {
                self.entries.clear();
                Vec::new()
            }
            "undo" => vec![Request::Undo],
            "pin" | "unpin" | "drop" | "restore" if !rest.is_empty() => {
                let path = rest.trim_start_matches('@').to_string();
                vec![match cmd {
                    "pin" => Request::Pin { path, on: true },
                    "unpin" => Request::Pin { path, on: false },
                    "drop" => Request::Exclude { path, on: true },
                    _ => Request::Exclude { path, on: false },
                }]
            }
            "context" => {
                self.panel = Some(ContextPanel::default());
                vec![self.context_request()]
            }
            "redo" => vec![Request::Redo],
            "edit" | "" if self.busy => {
                self.entries
                    .push(Entry::Info("still answering; Ctrl-C cancels".into()));
                Vec::new()
            }
            "edit" if !rest.is_empty() => {
                self.start(&text);
                vec![Request::Edit(rest.to_string())]
            }
            "" => {
                self.start(&text);
                vec![Request::Ask(text.clone())]
            }
            other => {
                self.entries.push(Entry::Error(format!(
                    "unknown command /{other}; /help lists them"
                )));
                Vec::new()
            }
        }
    }

    fn start(&mut self, shown: &str) {
        self.entries.push(Entry::User(shown.to_string()));
        self.entries.push(Entry::Assistant {
            placement: self.status.placement.clone(),
            text: String::new(),
            thinking: String::new(),
            done: false,
        });
        self.busy = true;
        self.cancel = Some(Cancel::new());
    }

    /// Ctrl-E: the task in the composer (a question or `/edit …`), else the
    /// last request, previewed for the cloud model.
    fn escalate(&mut self) -> Vec<Request> {
        if self.busy {
            self.entries
                .push(Entry::Info("still answering; Ctrl-C cancels".into()));
            return Vec::new();
        }
        let typed = self.input.trim().to_string();
        let text = if typed.is_empty() {
            match self.history.last() {
                Some(h) => h.clone(),
                None => {
                    self.entries.push(Entry::Error(
                        "nothing to escalate: type a question or an /edit instruction first".into(),
                    ));
                    return Vec::new();
                }
            }
        } else {
            typed
        };
        let (task, body) = match text.strip_prefix("/edit ") {
            Some(i) => (Task::Edit, i.trim().to_string()),
            None if text.starts_with('/') => {
                self.entries.push(Entry::Error(format!(
                    "{text} is a command; escalate a question or an /edit instruction"
                )));
                return Vec::new();
            }
            None => (Task::Ask, text),
        };
        self.input.clear();
        self.entries.push(Entry::Info(
            "preparing what the cloud model would get; nothing is sent until you confirm".into(),
        ));
        vec![Request::Escalate { task, text: body }]
    }

    fn escalation_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let Some(e) = &mut self.escalation else {
            self.view = View::Chat;
            return Vec::new();
        };
        let remove = key_of(&k).is_some_and(|key| self.keys.is(Action::Remove, key));
        let outcome = match k.code {
            KeyCode::Down | KeyCode::Char('j') => {
                e.step(1);
                escalation::Outcome::Stay
            }
            KeyCode::Up | KeyCode::Char('k') => {
                e.step(-1);
                escalation::Outcome::Stay
            }
            KeyCode::Char(' ') | KeyCode::Char('x') => e.toggle(),
            _ if remove => e.toggle(),
            KeyCode::Char('v') => {
                e.show_text = !e.show_text;
                escalation::Outcome::Stay
            }
            KeyCode::Enter => e.send(),
            KeyCode::Esc | KeyCode::Char('q') => escalation::Outcome::Cancel,
            _ => escalation::Outcome::Stay,
        };
        match outcome {
            escalation::Outcome::Stay => Vec::new(),
            escalation::Outcome::Note(n) => {
                self.entries.push(Entry::Info(n));
                Vec::new()
            }
            escalation::Outcome::Cancel => {
                self.escalation = None;
                self.view = View::Chat;
                self.entries
                    .push(Entry::Info("escalation cancelled; nothing was sent".into()));
                Vec::new()
            }
            escalation::Outcome::Send(exclude) => {
                let e = self.escalation.take().expect("on screen");
                self.view = View::Chat;
                let shown = match e.task {
                    Task::Ask => e.text.clone(),
                    Task::Edit => format!("/edit {}", e.text),
                };
                self.start(&shown);
                if let Some(Entry::Assistant { placement, .. }) = self.entries.last_mut() {
                    *placement = format!("cloud: {} ({})", e.preview.provider, e.preview.model);
                }
                vec![Request::Send {
                    task: e.task,
                    text: e.text,
                    exclude,
                }]
            }
        }
    }

    fn setup_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let Some(s) = &mut self.setup else {
            self.view = View::Chat;
            return Vec::new();
        };
        if s.progress.is_some() {
            if k.code == KeyCode::Esc
                && let Some(c) = &self.cancel
            {
                c.cancel();
            }
            return Vec::new();
        }
        match k.code {
            KeyCode::Down | KeyCode::Char('j') => s.step(1),
            KeyCode::Up | KeyCode::Char('k') => s.step(-1),
            KeyCode::Esc => self.view = View::Chat,
            // Typing goes on without a model: the text is the composer's.
            KeyCode::Char(_) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.view = View::Chat;
                return self.chat_key(k);
            }
            KeyCode::Enter => match s.choice() {
                Choice::Use(path) => {
                    s.error = None;
                    self.entries
                        .push(Entry::Info(format!("loading {}…", path.display())));
                    return vec![Request::UseModel(path)];
                }
                Choice::Download => {
                    s.error = None;
                    s.progress = Some((0, 0));
                    self.cancel = Some(Cancel::new());
                    return vec![Request::Download];
                }
                Choice::Continue => self.view = View::Chat,
            },
            _ => {}
        }
        Vec::new()
    }

    fn commit_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let Some(c) = &mut self.commit else {
            self.view = View::Chat;
            return Vec::new();
        };
        if c.confirming {
            c.confirming = false;
            if k.code == KeyCode::Char('y') {
                self.commit_running = true;
                self.view = View::Chat;
                self.entries.push(Entry::Info("committing…".into()));
                return vec![Request::Commit(c.message.trim().to_string())];
            }
            return Vec::new();
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('s') if ctrl => {
                if c.message.trim().is_empty() {
                    c.note = Some("the message is empty; write one first".into());
                } else {
                    c.confirming = true;
                }
            }
            KeyCode::Char(_) if ctrl => {}
            KeyCode::Char(ch) => c.message.push(ch),
            KeyCode::Enter => c.message.push('\n'),
            KeyCode::Backspace => {
                c.message.pop();
            }
            KeyCode::PageDown => c.scroll = c.scroll.saturating_add(10),
            KeyCode::PageUp => c.scroll = c.scroll.saturating_sub(10),
            KeyCode::Esc => {
                self.commit = None;
                self.view = View::Chat;
                self.entries
                    .push(Entry::Info("nothing was committed".into()));
            }
            _ => {}
        }
        Vec::new()
    }

    fn review_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let key = key_of(&k);
        let is = |a: Action| key.is_some_and(|key| self.keys.is(a, key));
        let action = [
            Action::Accept,
            Action::Reject,
            Action::AcceptFile,
            Action::AcceptAll,
            Action::RejectAll,
            Action::SideBySide,
            Action::Apply,
            Action::Stage,
            Action::EditHunk,
        ]
        .into_iter()
        .find(|a| is(*a));
        let Some(r) = &mut self.review else {
            self.view = View::Chat;
            return Vec::new();
        };
        match (action, k.code) {
            (Some(Action::Accept), _) => {
                r.decide(Decision::Accepted);
                r.step(1);
            }
            (Some(Action::Reject), _) => {
                r.decide(Decision::Rejected);
                r.step(1);
            }
            (Some(Action::SideBySide), _) => self.side_by_side = !self.side_by_side,
            (Some(Action::AcceptAll), _) => r.changes.set_all(Decision::Accepted),
            (Some(Action::RejectAll), _) => r.changes.set_all(Decision::Rejected),
            (Some(Action::AcceptFile), _) => {
                if let Some(fc) = r.changes.files.get(r.at.0) {
                    let path = fc.path.clone();
                    r.changes.set_file(&path, Decision::Accepted);
                }
            }
            (Some(Action::Apply), _) => {
                let changes = r.changes.clone();
                self.review = None;
                self.view = View::Chat;
                return vec![Request::Apply(changes)];
            }
            (Some(Action::EditHunk), _) => {
                let (f, h) = r.at;
                match r.changes.files.get(f).and_then(|fc| fc.hunks.get(h)) {
                    Some(hunk) => self.edit_request = Some(hunk.id.clone()),
                    None => self.entries.push(Entry::Info(
                        "select a hunk to edit (a whole-file change has none)".into(),
                    )),
                }
            }
            (Some(Action::Stage), _) => {
                let changes = r.changes.clone();
                self.review = None;
                self.view = View::Chat;
                return vec![Request::ApplyAndStage(changes)];
            }
            (_, KeyCode::Down | KeyCode::Char('j')) => r.step(1),
            (_, KeyCode::Up | KeyCode::Char('k')) => r.step(-1),
            (_, KeyCode::Esc | KeyCode::Char('q')) => {
                self.review = None;
                self.view = View::Chat;
                self.entries.push(Entry::Info(
                    "change set dismissed; nothing was written".into(),
                ));
            }
            _ => {}
        }
        Vec::new()
    }

    /// The hunk to open in $EDITOR, if one was asked for: its id, file path
    /// (for the temporary file's extension) and proposed text.
    pub fn take_edit(&mut self) -> Option<(String, String, String)> {
        let id = self.edit_request.take()?;
        let r = self.review.as_mut()?;
        let (fc, i) = r.changes.hunk_mut(&id)?;
        Some((id, fc.path.clone(), fc.hunks[i].new_lines.concat()))
    }

    /// The editor's outcome for hunk `id`: its text replaces the proposal's
    /// and the hunk is accepted; an error leaves it as it was.
    pub fn edited(&mut self, id: &str, outcome: Result<String, String>) {
        match (outcome, &mut self.review) {
            (Ok(text), Some(r)) => {
                r.changes.edit_hunk(id, &text);
                r.changes.set_hunk(id, Decision::Accepted);
            }
            (Err(e), _) => self.entries.push(Entry::Error(e)),
            (Ok(_), None) => {}
        }
    }

    /// Take in what the worker reports.
    pub fn report(&mut self, r: Report) {
        match r {
            Report::Progress(s) => self.status.index = s,
            Report::IndexReady { files } => self.status.index = format!("{files} files"),
            Report::ModelReady { name, window } => {
                self.status.placement = format!("local: {name}");
                self.status.model = Some(name);
                self.status.window = window;
                self.status.no_model = false;
                if self.setup.take().is_some() {
                    self.cancel = None;
                    if self.view == View::Setup {
                        self.view = View::Chat;
                    }
                }
            }
            Report::NoModel(setup) => {
                self.status.no_model = true;
                self.entries.push(Entry::Error(format!(
                    "No local model found ({}).\nDownload the default Gemma 4 12B with `locus models pull` ({}), \
                     point model.path at a GGUF file, or configure a cloud provider (docs/configuration.md).",
                    setup.why, setup.download.1
                )));
                self.setup = Some(*setup);
                self.view = View::Setup;
            }
            Report::Download(done, total) => {
                if let Some(s) = &mut self.setup {
                    s.progress = Some((done, total));
                }
            }
            Report::Token(t) => {
                if let Some(Entry::Assistant { text, .. }) = self.entries.last_mut() {
                    text.push_str(&t);
                }
            }
            Report::Names(n) => self.names = n,
            Report::Thinking(t) => {
                if let Some(Entry::Assistant { thinking, .. }) = self.entries.last_mut() {
                    thinking.push_str(&t);
                }
            }
            Report::Answered {
                placement,
                stats,
                sources,
                context_tokens,
                budget,
                cost,
            } => {
                self.finish(&placement);
                self.status.cost += cost;
                self.status.prefill = stats.prefill_tokens_per_s;
                self.status.decode = stats.decode_tokens_per_s;
                self.status.reused = stats.reused_prefix_tokens;
                self.status.context_used = context_tokens;
                if budget > 0 {
                    self.status.window = self.status.window.max(budget);
                }
                if !sources.is_empty() {
                    self.entries
                        .push(Entry::Info(format!("sources: {}", sources.join(", "))));
                }
            }
            Report::Proposed {
                changes,
                failures,
                advice,
                placement,
                cost,
            } => {
                self.finish(&placement);
                self.status.cost += cost;
                for f in &failures {
                    self.entries.push(Entry::Error(f.clone()));
                }
                if let Some(a) = advice {
                    self.entries.push(Entry::Info(a));
                }
                if !changes.is_empty() {
                    self.entries.push(Entry::Info(format!(
                        "{} file(s) changed: review with j/k, a/r, Enter applies",
                        changes.files.len()
                    )));
                    self.review = Some(Review {
                        changes,
                        failures,
                        at: (0, 0),
                    });
                    self.view = View::Review;
                }
            }
            Report::Preview {
                task,
                text,
                preview,
            } => {
                self.escalation = Some(Escalation::new(task, text, *preview));
                self.view = View::Escalate;
            }
            Report::Context(mut p) => {
                // Keep the selection when the panel is refreshed.
                let at = self.panel.as_ref().map_or(0, |old| old.at);
                p.at = at.min((p.parts.len() + p.excluded.len()).saturating_sub(1));
                if self.panel.is_some() {
                    self.panel = Some(p);
                }
            }
            Report::CommitDraft(c) => {
                self.commit = Some(*c);
                self.view = View::Commit;
            }
            Report::Committed(summary) => {
                self.commit = None;
                self.commit_running = false;
                self.entries.push(Entry::Info(summary));
            }
            Report::Info(s) => self.entries.push(Entry::Info(s)),
            Report::Error(e) if self.commit_running => {
                // Back to the message as it was edited, with the reason.
                self.commit_running = false;
                if let Some(c) = &mut self.commit {
                    c.note = Some(e.clone());
                    self.view = View::Commit;
                }
                self.entries.push(Entry::Error(e));
            }
            Report::Error(e) if self.view == View::Setup => {
                if let Some(s) = &mut self.setup {
                    s.progress = None;
                    s.error = Some(e.clone());
                }
                self.cancel = None;
                self.entries.push(Entry::Error(e));
            }
            Report::Error(e) => {
                self.finish("");
                self.entries.push(Entry::Error(e));
            }
            Report::Git { branch, dirty } => {
                self.status.branch = branch;
                self.status.dirty = dirty;
            }
        }
    }

    fn finish(&mut self, placement: &str) {
        self.busy = false;
        self.cancel = None;
        if let Some(Entry::Assistant {
            done, placement: p, ..
        }) = self
            .entries
            .iter_mut()
            .rev()
            .find(|e| matches!(e, Entry::Assistant { .. }))
        {
            *done = true;
            if !placement.is_empty() {
                *p = placement.to_string();
            }
        }
    }
}

/// A terminal key as the keymap names it (`None` for keys it has no name
/// for). Shift is in the character itself.
pub fn key_of(k: &KeyEvent) -> Option<Key> {
    let name = match k.code {
        KeyCode::Char(c) => KeyName::Char(if k.modifiers.contains(KeyModifiers::CONTROL) {
            c.to_ascii_lowercase()
        } else {
            c
        }),
        KeyCode::Enter => KeyName::Enter,
        KeyCode::Esc => KeyName::Esc,
        KeyCode::Tab => KeyName::Tab,
        KeyCode::Backspace => KeyName::Backspace,
        KeyCode::Delete => KeyName::Delete,
        KeyCode::Up => KeyName::Up,
        KeyCode::Down => KeyName::Down,
        KeyCode::Left => KeyName::Left,
        KeyCode::Right => KeyName::Right,
        KeyCode::PageUp => KeyName::PageUp,
        KeyCode::PageDown => KeyName::PageDown,
        KeyCode::Home => KeyName::Home,
        KeyCode::End => KeyName::End,
        KeyCode::F(n) => KeyName::F(n),
        _ => return None,
    };
    Some(Key {
        ctrl: k.modifiers.contains(KeyModifiers::CONTROL),
        alt: k.modifiers.contains(KeyModifiers::ALT),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn typed(app: &mut App, s: &str) {
        for c in s.chars() {
            app.key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn enter_asks_and_tokens_stream_into_the_answer() {
        let mut app = App::new();
        typed(&mut app, "what is main?");
        assert_eq!(
            app.key(key(KeyCode::Enter)),
            vec![Request::Ask("what is main?".into())]
        );
        assert!(app.busy && app.input.is_empty());
        app.report(Report::Thinking("Find ".into()));
        app.report(Report::Thinking("main.".into()));
        app.report(Report::Token("It ".into()));
        app.report(Report::Token("starts.".into()));
        app.report(Report::Answered {
            placement: "local: gemma".into(),
            stats: GenStats::default(),
            sources: vec!["src/main.rs:1".into()],
            context_tokens: 900,
            budget: 7000,
            cost: 0.0,
        });
        assert!(!app.busy);
        assert_eq!(
            app.entries[1],
            Entry::Assistant {
                placement: "local: gemma".into(),
                text: "It starts.".into(),
                thinking: "Find main.".into(),
                done: true
            }
        );
        assert_eq!(app.entries[2], Entry::Info("sources: src/main.rs:1".into()));
    }

    #[test]
    fn ctrl_c_cancels_then_quits_and_help_toggles() {
        let mut app = App::new();
        typed(&mut app, "q");
        app.key(key(KeyCode::Enter));
        let cancel = app.cancel.clone().unwrap();
        app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(cancel.is_cancelled() && !app.quit);
        app.report(Report::Error("cancelled".into()));
        app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(!app.quit);
        app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(app.quit);
        let mut app = App::new();
        app.key(key(KeyCode::Char('?')));
        assert_eq!(app.view, View::Help);
        app.key(key(KeyCode::Esc));
        assert_eq!(app.view, View::Chat);
        typed(&mut app, "a?");
        assert_eq!(app.input, "a?", "? is text once the composer has some");
        app.paste("line1\r\nline2");
        assert_eq!(app.input, "a?line1\nline2");
        assert!(app.entries.is_empty(), "a paste never sends");
    }

    #[test]
    fn slash_commands_and_history() {
        let mut app = App::new();
        typed(&mut app, "/edit rename foo to bar");
        assert_eq!(
            app.key(key(KeyCode::Enter)),
            vec![Request::Edit("rename foo to bar".into())]
        );
        app.report(Report::Error("x".into()));
        typed(&mut app, "/undo");
        assert_eq!(app.key(key(KeyCode::Enter)), vec![Request::Undo]);
        typed(&mut app, "/nope");
        assert!(app.key(key(KeyCode::Enter)).is_empty());
        assert!(
            matches!(app.entries.last(), Some(Entry::Error(e)) if e.contains("unknown command /nope"))
        );
        app.key(key(KeyCode::Up));
        assert_eq!(app.input, "/nope");
        app.key(key(KeyCode::Up));
        assert_eq!(app.input, "/undo");
        app.key(key(KeyCode::Down));
        app.key(key(KeyCode::Down));
        assert_eq!(app.input, "");
    }

    fn preview() -> Preview {
        use crate::context::{Part, PartKind, Slot};
        let part = |kind, path: Option<&str>, tokens| Part {
            kind,
            path: path.map(String::from),
            lines: None,
            tokens,
            text: format!("text of {path:?}"),
            slot: Slot::Current,
        };
        Preview {
            provider: "acme".into(),
            model: "m-1".into(),
            url: "http://127.0.0.1:9/v1".into(),
            parts: vec![
                part(PartKind::System, None, 100),
                part(PartKind::File, Some("calc.py"), 40),
                part(PartKind::File, Some("notes.py"), 60),
            ],
            left_out: vec![(".env".into(), ".env".into())],
            redactions: 1,
            total_tokens: 200,
            max_output_tokens: 1000,
            cost_estimate_usd: 0.0,
            price_in_per_mtok: 1.0,
            price_out_per_mtok: 2.0,
        }
    }

    #[test]
    fn ctrl_e_previews_the_task_and_enter_sends_it_without_what_was_trimmed() {
        let ctrl_e = KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL);
        let mut app = App::new();
        assert!(
            app.key(ctrl_e).is_empty(),
            "nothing typed, nothing asked yet"
        );
        assert!(
            matches!(app.entries.last(), Some(Entry::Error(e)) if e.contains("nothing to escalate"))
        );
        typed(&mut app, "/edit rename add");
        assert_eq!(
            app.key(ctrl_e),
            vec![Request::Escalate {
                task: Task::Edit,
                text: "rename add".into()
            }]
        );
        app.report(Report::Preview {
            task: Task::Edit,
            text: "rename add".into(),
            preview: Box::new(preview()),
        });
        assert_eq!(app.view, View::Escalate);
        let e = app.escalation.as_ref().unwrap();
        assert_eq!(e.tokens(), 200);
        // The system part cannot be trimmed; calc.py can.
        app.key(key(KeyCode::Char(' ')));
        assert_eq!(app.escalation.as_ref().unwrap().tokens(), 200);
        app.key(key(KeyCode::Char('j')));
        app.key(key(KeyCode::Char(' ')));
        let e = app.escalation.as_ref().unwrap();
        assert_eq!(e.tokens(), 160);
        assert!((e.cost() - (160.0 + 2000.0) / 1e6).abs() < 1e-12);
        assert_eq!(
            app.key(key(KeyCode::Enter)),
            vec![Request::Send {
                task: Task::Edit,
                text: "rename add".into(),
                exclude: vec!["calc.py".into()]
            }]
        );
        assert_eq!(app.view, View::Chat);
        assert!(app.busy);
        assert!(matches!(
            app.entries.last(),
            Some(Entry::Assistant { placement, .. }) if placement == "cloud: acme (m-1)"
        ));
        // Esc cancels; the last question is what Ctrl-E takes when the
        // composer is empty.
        app.report(Report::Error("x".into()));
        typed(&mut app, "why?");
        app.key(key(KeyCode::Enter));
        app.report(Report::Error("x".into()));
        assert_eq!(
            app.key(ctrl_e),
            vec![Request::Escalate {
                task: Task::Ask,
                text: "why?".into()
            }]
        );
        app.report(Report::Preview {
            task: Task::Ask,
            text: "why?".into(),
            preview: Box::new(preview()),
        });
        assert!(app.key(key(KeyCode::Esc)).is_empty());
        assert_eq!(app.view, View::Chat);
        assert!(
            matches!(app.entries.last(), Some(Entry::Info(i)) if i.contains("nothing was sent"))
        );
    }

    #[test]
    fn configured_keys_replace_the_defaults() {
        let mut app = App::new();
        app.keys =
            Keymap::new(&toml::from_str("escalate = \"ctrl-x\"\nthinking = \"f5\"").unwrap())
                .unwrap();
        app.key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE));
        assert!(app.show_thinking);
        typed(&mut app, "q");
        assert!(
            app.key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL))
                .is_empty()
        );
        assert_eq!(
            app.input, "q",
            "Ctrl-E is no longer bound and types nothing"
        );
        assert_eq!(
            app.key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL))
                .len(),
            1
        );
    }

    #[test]
    fn commit_view_edits_the_draft_and_commits_only_after_confirmation() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        let mut app = App::new();
        assert_eq!(app.key(ctrl('g')), vec![Request::CommitDraft]);
        app.report(Report::CommitDraft(Box::new(CommitView {
            message: "Add plus".into(),
            files: vec!["modified  calc.py +1 -1".into()],
            patch: "+x\n".into(),
            ..CommitView::default()
        })));
        assert_eq!(app.view, View::Commit);
        typed(&mut app, " and minus");
        app.key(key(KeyCode::Backspace));
        assert_eq!(app.commit.as_ref().unwrap().message, "Add plus and minu");
        assert!(app.key(ctrl('s')).is_empty());
        assert!(app.commit.as_ref().unwrap().confirming);
        assert!(app.key(key(KeyCode::Char('n'))).is_empty(), "not confirmed");
        assert_eq!(app.view, View::Commit);
        app.key(ctrl('s'));
        assert_eq!(
            app.key(key(KeyCode::Char('y'))),
            vec![Request::Commit("Add plus and minu".into())]
        );
        // A failing hook brings the view back with the message as edited.
        app.report(Report::Error("pre-commit failed".into()));
        assert_eq!(app.view, View::Commit);
        let c = app.commit.as_ref().unwrap();
        assert_eq!(c.message, "Add plus and minu");
        assert!(c.note.as_deref().unwrap().contains("pre-commit failed"));
        app.key(ctrl('s'));
        app.key(key(KeyCode::Char('y')));
        app.report(Report::Committed("committed abc: Add plus and minu".into()));
        assert!(app.commit.is_none());
        assert_eq!(app.view, View::Chat);
        // Esc leaves without committing.
        app.key(ctrl('g'));
        app.report(Report::CommitDraft(Box::default()));
        assert!(app.key(key(KeyCode::Esc)).is_empty());
        assert!(matches!(app.entries.last(), Some(Entry::Info(i)) if i == "nothing was committed"));
    }

    #[test]
    fn context_panel_pins_removes_and_restores() {
        use crate::tui::context_panel::PanelPart;
        let ctrl_o = KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL);
        let mut app = App::new();
        typed(&mut app, "how does add work?");
        assert_eq!(
            app.key(ctrl_o),
            vec![Request::Context {
                question: "how does add work?".into()
            }]
        );
        let part = |path: &str, pinned| PanelPart {
            label: path.into(),
            path: Some(path.into()),
            tokens: 10,
            pinned,
        };
        app.report(Report::Context(ContextPanel {
            parts: vec![part("a.py", true), part("b.py", false)],
            excluded: vec!["c.py".into()],
            total: 20,
            budget: 100,
            ..ContextPanel::default()
        }));
        assert_eq!(
            app.key(key(KeyCode::Char('p'))),
            vec![Request::Pin {
                path: "a.py".into(),
                on: false
            }]
        );
        app.key(key(KeyCode::Char('j')));
        assert_eq!(
            app.key(key(KeyCode::Char('d'))),
            vec![Request::Exclude {
                path: "b.py".into(),
                on: true
            }]
        );
        app.key(key(KeyCode::Down));
        assert_eq!(
            app.key(key(KeyCode::Delete)),
            vec![Request::Exclude {
                path: "c.py".into(),
                on: false
            }]
        );
        assert_eq!(app.input, "how does add work?", "the panel took the keys");
        app.key(key(KeyCode::Esc));
        assert!(app.panel.is_none());
        app.input.clear();
        typed(&mut app, "/pin @src/x.rs");
        assert_eq!(
            app.key(key(KeyCode::Enter)),
            vec![Request::Pin {
                path: "src/x.rs".into(),
                on: true
            }]
        );
    }

    #[test]
    fn first_run_screen_picks_downloads_cancels_or_goes_on() {
        use crate::tui::setup::FoundModel;
        let setup = || {
            Box::new(SetupView {
                why: "several models found".into(),
                found: vec![
                    FoundModel {
                        label: "a".into(),
                        path: "/m/a.gguf".into(),
                    },
                    FoundModel {
                        label: "b".into(),
                        path: "/m/b.gguf".into(),
                    },
                ],
                download: ("org/repo:f.gguf".into(), "about 7.4 GB".into()),
                ..SetupView::default()
            })
        };
        let mut app = App::new();
        app.report(Report::NoModel(setup()));
        assert_eq!(app.view, View::Setup);
        app.key(key(KeyCode::Char('j')));
        assert_eq!(
            app.key(key(KeyCode::Enter)),
            vec![Request::UseModel("/m/b.gguf".into())]
        );
        app.report(Report::Error("cannot load /m/b.gguf".into()));
        assert_eq!(app.view, View::Setup, "a failed load stays on the screen");
        assert!(app.setup.as_ref().unwrap().error.is_some());
        app.key(key(KeyCode::Down));
        assert_eq!(app.key(key(KeyCode::Enter)), vec![Request::Download]);
        app.report(Report::Download(50, 100));
        assert_eq!(app.setup.as_ref().unwrap().progress, Some((50, 100)));
        let cancel = app.cancel.clone().unwrap();
        app.key(key(KeyCode::Esc));
        assert!(cancel.is_cancelled(), "Esc cancels the download");
        app.report(Report::Error("download cancelled".into()));
        assert_eq!(app.setup.as_ref().unwrap().progress, None);
        app.report(Report::ModelReady {
            name: "gemma".into(),
            window: 8192,
        });
        assert!(app.setup.is_none() && app.view == View::Chat);
        let mut app = App::new();
        app.report(Report::NoModel(setup()));
        app.key(key(KeyCode::Esc));
        assert_eq!(app.view, View::Chat, "Esc goes on without a model");
        let mut app = App::new();
        app.report(Report::NoModel(setup()));
        typed(&mut app, "why?");
        assert_eq!(
            (app.view, app.input.as_str()),
            (View::Chat, "why?"),
            "typing goes on too"
        );
    }
}
