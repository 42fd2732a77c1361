//! The change set under review: moving between hunks, deciding them, and
//! the keys of the review view (including a hunk handed to $EDITOR).

use crossterm::event::{KeyCode, KeyEvent};

use crate::config::Action;
use crate::edit::{ChangeSet, Decision};

use super::{App, Entry, Request, View, key_of};

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

impl App {
    pub(super) fn review_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let key = key_of(&k);
        let is = |a: Action| key.is_some_and(|key| self.keys.is(a, key));
        let action = [
            Action::Accept,
            Action::Reject,
            Action::AcceptFile,
            Action::RejectFile,
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
            (Some(a @ (Action::AcceptFile | Action::RejectFile)), _) => {
                if let Some(fc) = r.changes.files.get(r.at.0) {
                    let path = fc.path.clone();
                    let d = if a == Action::AcceptFile {
                        Decision::Accepted
                    } else {
                        Decision::Rejected
                    };
                    r.changes.set_file(&path, d);
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
}
