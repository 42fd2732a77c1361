//! What the model sees. A local model has a small window and slow prefill,
//! so the prompt is chosen under a token budget and ordered for the prefix
//! cache: the parts that stay the same turn after turn (system prompt,
//! project instructions, repo map, pinned files) come first and render
//! byte-identically; the conversation follows; what this request brings
//! (the files and definitions it names, the question) comes last.

mod build;
mod instructions;
mod question;
mod request;
mod retrieve;

use serde::Serialize;

use crate::model::attach::Attachment;
use crate::model::{Message, Role};

pub use build::{CountMemo, FILE_HEADER, LeftOut, MapMemo, Request, Selection, build};
pub use instructions::project_instructions;
pub use question::{Question, Word};
pub use retrieve::{Retrieved, module_files, retrieve};

/// The kinds of parts, as `locus context --json` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    System,
    Instructions,
    RepoMap,
    File,
    Snippet,
    /// A file's definitions, one signature line each.
    Outline,
    /// One caller's or callee's signature line.
    Signature,
    History,
}

/// A file the user asked for (pinned, `--file`, `/add`) that did not fit whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cut {
    pub path: String,
    /// The whole file's tokens.
    pub tokens: usize,
    /// The lines that were sent (1-based, inclusive); none: nothing of it.
    pub kept_lines: Option<[usize; 2]>,
    pub total_lines: usize,
    /// Why, in words.
    pub reason: String,
}

/// A file that stays on this machine though the request would have used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOutFile {
    pub path: String,
    /// Why (the never-send glob that matches, or the user's trim).
    pub reason: String,
}

/// Which message a part is rendered into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The stable prefix (the system message).
    Stable,
    /// An earlier turn: rendered as its own user/assistant message.
    Turn(Role),
    /// The current request's user message, before the question.
    Current,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub kind: PartKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based inclusive line range, for snippets (and truncated files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<[usize; 2]>,
    pub tokens: usize,
    #[serde(skip)]
    pub text: String,
    #[serde(skip)]
    pub slot: Slot,
}

/// A chosen prompt: its parts in order and the request.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub budget: usize,
    pub total_tokens: usize,
    pub parts: Vec<Part>,
    #[serde(skip)]
    pub question: String,
    /// Earlier turns left out for lack of room (candidates for a summary).
    #[serde(skip)]
    pub dropped_turns: usize,
    /// Tokens of named files that did not fit (whole or in part): what the
    /// request needed beyond the budget.
    #[serde(skip)]
    pub missing_tokens: usize,
    /// Files the user asked for that did not fit whole: what was cut.
    pub cut: Vec<Cut>,
    /// The files whose definitions' signatures the repo map shows.
    pub map_files: Vec<String>,
    /// Files that stay on this machine though the request would have used them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOutFile>,
    /// Earlier turns included whole (the most recent ones), besides any summary.
    #[serde(skip)]
    pub history_turns: usize,
    /// Images (and recordings) sent with the question.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Context {
    /// The conversation to send: the stable system message, earlier turns,
    /// then the current request.
    pub fn messages(&self) -> Vec<Message> {
        let mut system = String::new();
        let mut out = Vec::new();
        let mut current = String::new();
        for p in &self.parts {
            match p.slot {
                Slot::Stable => {
                    if !system.is_empty() {
                        system.push_str("\n\n");
                    }
                    system.push_str(&p.text);
                }
                Slot::Turn(role) => out.push(Message::new(role, p.text.clone())),
                Slot::Current => {
                    current.push_str(&p.text);
                    current.push_str("\n\n");
                }
            }
        }
        current.push_str(&self.question);
        let mut msgs = vec![Message::new(Role::System, system)];
        msgs.extend(out);
        let mut question = Message::new(Role::User, current);
        question.attachments.clone_from(&self.attachments);
        msgs.push(question);
        msgs
    }

    /// Every file whose content or signatures this context holds (history
    /// aside), sorted.
    pub fn files(&self) -> Vec<String> {
        let mut f: Vec<String> = self
            .parts
            .iter()
            .filter_map(|p| p.path.clone())
            .chain(self.map_files.iter().cloned())
            .chain(self.attachments.iter().map(|a| a.name.clone()))
            .collect();
        f.sort();
        f.dedup();
        f
    }

    /// Count every part and the total again (after parts were changed).
    pub fn recount(&mut self, counter: &dyn crate::tokens::TokenCounter) {
        for p in &mut self.parts {
            p.tokens = counter.count(&p.text) + 1;
        }
        self.total_tokens = self
            .messages()
            .iter()
            .map(|m| counter.count(&m.content) + 6)
            .sum::<usize>()
            + 2;
    }

    /// The prompt as text, part by part (what `locus context` prints).
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        for p in &self.parts {
            let label = match (&p.path, p.lines) {
                (Some(path), Some([a, b])) => format!("{:?} {path}:{a}-{b}", p.kind),
                (Some(path), None) => format!("{:?} {path}", p.kind),
                _ => format!("{:?}", p.kind),
            };
            s.push_str(&format!("──── {label} ({} tokens)\n{}\n", p.tokens, p.text));
        }
        for c in &self.cut {
            let kept = match c.kept_lines {
                Some([a, b]) => format!("lines {a}-{b} of {} sent", c.total_lines),
                None => "left out".to_string(),
            };
            s.push_str(&format!("──── cut: {} ({kept}): {}\n", c.path, c.reason));
        }
        s.push_str(&format!("──── question\n{}\n", self.question));
        s.push_str(&format!(
            "──── total {} of {} tokens\n",
            self.total_tokens, self.budget
        ));
        s
    }
}
