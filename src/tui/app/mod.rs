//! The TUI's state and its update function: every key, paste and worker
//! report becomes a change of state plus commands for the worker. No
//! terminal here, so all of it is tested directly. The chat and composer
//! keys are here; the other views' keys, the review and the reports each
//! have a file.

mod messages;
mod report;
mod review;
#[cfg(test)]
mod tests;
mod views;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::{Action, Key, KeyName, Keymap};
use crate::model::Cancel;

use super::commit::CommitView;
use super::complete;
use super::composer;
use super::context_panel::ContextPanel;
use super::escalation::Escalation;
use super::setup::SetupView;

pub use messages::{Entry, Report, Request, Status, View};
pub use review::Review;

pub struct App {
    pub entries: Vec<Entry>,
    pub input: String,
    /// The composer's cursor, as characters before the end of `input`.
    pub input_back: usize,
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
    /// How far the prompt being read has come.
    pub prefill: crate::session::PrefillMeter,
    /// A question the worker waits on (y / n).
    pub confirm: Option<std::sync::mpsc::Sender<bool>>,
    /// Whether the review shows old and new side by side (`s`; on
    /// terminals at least `diffview::SIDE_BY_SIDE_MIN` wide).
    pub side_by_side: bool,
    /// What `@` completes to, once the index is ready.
    pub names: complete::Names,
    /// The highlighted completion.
    pub completion_sel: usize,
    /// The `@` word whose popup Esc closed (it opens again as the word changes).
    pub completion_closed: Option<String>,
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
    /// The images that go with the next question, as the worker lists them.
    pub attachments: Vec<String>,
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
            input_back: 0,
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
            confirm: None,
            prefill: Default::default(),
            side_by_side: false,
            names: complete::Names::default(),
            completion_sel: 0,
            completion_closed: None,
            escalation: None,
            commit: None,
            commit_running: false,
            panel: None,
            setup: None,
            edit_request: None,
            keys: Keymap::default(),
            quit: false,
            attachments: Vec::new(),
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
            // A question the worker waits on is answered no.
            if let Some(reply) = self.confirm.take() {
                let _ = reply.send(false);
            }
            return self.ctrl_c();
        }
        self.ctrl_c_armed = false;
        if let Some(reply) = self.confirm.take() {
            let yes = match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => true,
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => false,
                _ => {
                    self.confirm = Some(reply);
                    return Vec::new();
                }
            };
            let _ = reply.send(yes);
            self.entries
                .push(Entry::Info(if yes { "approved" } else { "refused" }.into()));
            return Vec::new();
        }
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
        if self.ctrl_c_armed {
            self.quit = true;
            return Vec::new();
        }
        if self.busy
            && let Some(c) = &self.cancel
        {
            // One Ctrl-C stops the answer; the next one quits.
            c.cancel();
            self.ctrl_c_armed = true;
            self.entries
                .push(Entry::Info("cancelled; Ctrl-C again quits".into()));
            return Vec::new();
        }
        self.ctrl_c_armed = true;
        self.entries
            .push(Entry::Info("press Ctrl-C again to quit".into()));
        Vec::new()
    }

    /// The completions offered for the `@` word being typed, best first.
    pub fn completions(&self) -> Vec<String> {
        complete::word(self.before_cursor())
            .filter(|w| self.completion_closed.as_deref() != Some(*w))
            .map(|w| complete::candidates(&self.names, w))
            .unwrap_or_default()
    }

    /// The composer's text before the cursor.
    pub fn before_cursor(&self) -> &str {
        &self.input[..composer::at(&self.input, self.input_back)]
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
                let cut = composer::at(&self.input, self.input_back);
                let head =
                    complete::accept(&self.input[..cut], &shown[self.completion_sel.min(n - 1)]);
                self.input = head + &self.input[cut..];
                self.completion_sel = 0;
            }
            KeyCode::Down => self.completion_sel = (self.completion_sel + 1) % n,
            KeyCode::Up => self.completion_sel = (self.completion_sel + n - 1) % n,
            // Esc closes the popup only; the composer keeps its text.
            KeyCode::Esc => {
                self.completion_closed = complete::word(self.before_cursor()).map(String::from);
            }
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
                composer::insert(&mut self.input, self.input_back, "\n")
            }
            KeyCode::Enter if alt => composer::insert(&mut self.input, self.input_back, "\n"),
            KeyCode::Enter => return self.submit(),
            _ if composer::edit(&mut self.input, &mut self.input_back, &k) => {}
            // A multi-line draft is never replaced by history.
            KeyCode::Up if !self.input.contains('\n') => self.recall(-1),
            KeyCode::Down if !self.input.contains('\n') => self.recall(1),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Esc => {
                self.input.clear();
                self.input_back = 0;
            }
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
                self.input_back = 0;
                return;
            }
            (Some(i), _) => i + 1,
        };
        self.history_at = Some(at);
        self.input = self.history[at].clone();
        self.input_back = 0;
    }

    /// Paste arrives whole (bracketed paste): it never sends. A pasted
    /// path to an image (as a file manager or screenshot tool pastes it)
    /// attaches the image instead.
    pub fn paste(&mut self, text: &str) -> Vec<Request> {
        if self.view == View::Chat
            && let Some(path) = image_path(text)
        {
            return vec![Request::Attach(path)];
        }
        if self.view == View::Chat {
            composer::insert(
                &mut self.input,
                self.input_back,
                &text.replace("\r\n", "\n"),
            );
        }
        Vec::new()
    }

    /// Send what the composer holds, as Enter does.
    pub fn send_input(&mut self) -> Vec<Request> {
        self.submit()
    }

    fn submit(&mut self) -> Vec<Request> {
        let text = self.input.trim().to_string();
        if text.is_empty() {
            return Vec::new();
        }
        self.input.clear();
        self.input_back = 0;
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
            "undo" if rest.is_empty() => vec![Request::Undo],
            "undo" if rest == "skip" => vec![Request::UndoSkip],
            "undo" if rest == "force" => vec![Request::UndoForce],
            "undo" => {
                self.entries.push(Entry::Error(
                    "/undo, /undo skip (drop the last change from the journal) or /undo force (restore anyway; /redo brings your version back)".into(),
                ));
                Vec::new()
            }
            "model" if rest.is_empty() => vec![Request::Models],
            "model" => {
                self.entries
                    .push(Entry::Info(format!("switching to {rest}…")));
                vec![Request::UseSpec(rest.to_string())]
            }
            "add" | "pin" | "unpin" | "drop" | "restore" if !rest.is_empty() => {
                let path = rest.trim_start_matches('@').to_string();
                vec![match cmd {
                    "add" | "pin" => Request::Pin { path, on: true },
                    "unpin" => Request::Pin { path, on: false },
                    "drop" => Request::Exclude { path, on: true },
                    _ => Request::Exclude { path, on: false },
                }]
            }
            "context" => {
                self.panel = Some(ContextPanel::default());
                vec![self.context_request()]
            }
            "image" | "attach" if !rest.is_empty() => vec![Request::Attach(rest.to_string())],
            "paste" => vec![Request::AttachClipboard],
            "detach" => match rest {
                "" | "all" => vec![Request::Detach(None)],
                n => match n.parse::<usize>() {
                    Ok(n) if n > 0 => vec![Request::Detach(Some(n))],
                    _ => {
                        self.entries.push(Entry::Error(
                            "/detach N removes attachment N; /detach removes them all".into(),
                        ));
                        Vec::new()
                    }
                },
            },
            "redo" => vec![Request::Redo],
            "edit" | "" if self.busy => {
                self.entries
                    .push(Entry::Info("still answering; Ctrl-C cancels".into()));
                Vec::new()
            }
            "edit" if !rest.is_empty() => {
                self.start(&text);
                let mut r = mentioned_images(rest);
                r.push(Request::Edit(rest.to_string()));
                r
            }
            "" => {
                self.start(&text);
                let mut r = mentioned_images(&text);
                r.push(Request::Ask(text.clone()));
                r
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

/// Whether a file name says it is an image locus reads.
fn is_image_name(p: &str) -> bool {
    let lower = p.to_lowercase();
    [".png", ".jpg", ".jpeg", ".webp", ".gif"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// `@shot.png`-style mentions of image files in a question: each attached.
pub(super) fn mentioned_images(text: &str) -> Vec<Request> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches([',', '.', ';', ':', '?', '!', ')']))
        .filter(|w| is_image_name(w))
        .map(|w| Request::Attach(w.to_string()))
        .collect()
}

/// A pasted text that is one path to an image file (quoted, or as a
/// `file://` URL, as file managers paste them) that exists.
fn image_path(text: &str) -> Option<String> {
    let t = text.trim();
    if t.contains('\n') {
        return None;
    }
    let t = t.trim_matches(|c| c == '\'' || c == '"');
    let t = t.strip_prefix("file://").unwrap_or(t);
    let t = t.replace("%20", " ");
    (is_image_name(&t) && std::path::Path::new(&t).is_file()).then_some(t)
}
