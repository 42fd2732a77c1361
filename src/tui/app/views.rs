//! The keys of the views over the chat: the context panel, the escalation
//! preview (and Ctrl-E that opens it), the first-run screen, the commit
//! view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::Action;
use crate::model::Cancel;
use crate::session::Task;
use crate::tui::context_panel::Change;
use crate::tui::escalation;
use crate::tui::setup::Choice;

use super::{App, Entry, Request, View, key_of};

impl App {
    pub(super) fn panel_key(&mut self, k: KeyEvent) -> Vec<Request> {
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

    /// Ctrl-E: the task in the composer (a question or `/edit …`), else the
    /// last request, previewed for the cloud model.
    pub(super) fn escalate(&mut self) -> Vec<Request> {
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
        self.input_back = 0;
        self.entries.push(Entry::Info(
            "preparing what the cloud model would get; nothing is sent until you confirm".into(),
        ));
        let mut r = super::mentioned_images(&body);
        r.push(Request::Escalate { task, text: body });
        r
    }

    pub(super) fn escalation_key(&mut self, k: KeyEvent) -> Vec<Request> {
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

    pub(super) fn setup_key(&mut self, k: KeyEvent) -> Vec<Request> {
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
                Choice::Provider(name) => {
                    s.error = None;
                    self.view = View::Chat;
                    self.entries
                        .push(Entry::Info(format!("switching to provider {name}…")));
                    return vec![Request::UseSpec(format!("provider:{name}"))];
                }
                Choice::Unusable(why) => s.error = Some(why),
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

    pub(super) fn commit_key(&mut self, k: KeyEvent) -> Vec<Request> {
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
            KeyCode::Enter => super::composer::insert(&mut c.message, c.back, "\n"),
            KeyCode::PageDown => c.scroll = c.scroll.saturating_add(10),
            KeyCode::PageUp => c.scroll = c.scroll.saturating_sub(10),
            KeyCode::Esc => {
                self.commit = None;
                self.view = View::Chat;
                self.entries
                    .push(Entry::Info("nothing was committed".into()));
            }
            // The composer's editing keys: arrows, Home/End, Ctrl-A/E/W/U/K.
            _ => {
                super::composer::edit(&mut c.message, &mut c.back, &k);
            }
        }
        Vec::new()
    }
}
