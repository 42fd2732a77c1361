//! The TUI's state and its update function: every key, paste and worker
//! report becomes a change of state plus commands for the worker. No
//! terminal here, so all of it is tested directly.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::edit::{ChangeSet, Decision};
use crate::model::{Cancel, GenStats};

use super::complete;

/// What the worker is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Ask(String),
    Edit(String),
    Apply(ChangeSet),
    Undo,
    Redo,
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
    NoModel(String),
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
    },
    Proposed {
        changes: ChangeSet,
        failures: Vec<String>,
        advice: Option<String>,
        placement: String,
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
}

/// The change set under review and where the cursor is.
#[derive(Debug, Clone)]
pub struct Review {
    pub changes: ChangeSet,
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
    /// terminals at least `view::SIDE_BY_SIDE_MIN` wide).
    pub side_by_side: bool,
    /// What `@` completes to, once the index is ready.
    pub names: complete::Names,
    /// The highlighted completion.
    pub completion_sel: usize,
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
            quit: false,
        }
    }

    /// Handle a key; the requests for the worker.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Request> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && k.code == KeyCode::Char('c') {
            return self.ctrl_c();
        }
        self.ctrl_c_armed = false;
        if k.code == KeyCode::F(1) {
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
        if self.completion_key(&k) {
            return Vec::new();
        }
        if matches!(k.code, KeyCode::Char(_) | KeyCode::Backspace) {
            self.completion_sel = 0;
        }
        let alt =
            k.modifiers.contains(KeyModifiers::ALT) || k.modifiers.contains(KeyModifiers::SHIFT);
        match k.code {
            KeyCode::Char('?') if self.input.is_empty() => self.toggle_help(),
            KeyCode::Char('j') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.input.push('\n')
            }
            KeyCode::Enter if alt => self.input.push('\n'),
            KeyCode::Enter => return self.submit(),
            KeyCode::Char('t') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.show_thinking = !self.show_thinking
            }
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

    fn review_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let Some(r) = &mut self.review else {
            self.view = View::Chat;
            return Vec::new();
        };
        match k.code {
            KeyCode::Down | KeyCode::Char('j') => r.step(1),
            KeyCode::Up | KeyCode::Char('k') => r.step(-1),
            KeyCode::Char('a') | KeyCode::Char('y') => {
                r.decide(Decision::Accepted);
                r.step(1);
            }
            KeyCode::Char('r') | KeyCode::Char('n') => {
                r.decide(Decision::Rejected);
                r.step(1);
            }
            KeyCode::Char('s') => self.side_by_side = !self.side_by_side,
            KeyCode::Char('A') => r.changes.set_all(Decision::Accepted),
            KeyCode::Char('R') => r.changes.set_all(Decision::Rejected),
            KeyCode::Char('f') => {
                if let Some(fc) = r.changes.files.get(r.at.0) {
                    let path = fc.path.clone();
                    r.changes.set_file(&path, Decision::Accepted);
                }
            }
            KeyCode::Enter | KeyCode::Char('w') => {
                let changes = r.changes.clone();
                self.review = None;
                self.view = View::Chat;
                return vec![Request::Apply(changes)];
            }
            KeyCode::Esc | KeyCode::Char('q') => {
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

    /// Take in what the worker reports.
    pub fn report(&mut self, r: Report) {
        match r {
            Report::Progress(s) => self.status.index = s,
            Report::IndexReady { files } => self.status.index = format!("{files} files"),
            Report::ModelReady { name, window } => {
                self.status.placement = format!("local: {name}");
                self.status.model = Some(name);
                self.status.window = window;
            }
            Report::NoModel(why) => {
                self.entries.push(Entry::Error(format!(
                    "No local model found ({why}).\nDownload the default Gemma 4 12B with `locus models pull` (about 7 GB), \
                     point model.path at a GGUF file, or configure a cloud provider (docs/configuration.md)."
                )));
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
            } => {
                self.finish(&placement);
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
            } => {
                self.finish(&placement);
                for f in failures {
                    self.entries.push(Entry::Error(f));
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
                        at: (0, 0),
                    });
                    self.view = View::Review;
                }
            }
            Report::Info(s) => self.entries.push(Entry::Info(s)),
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
}
