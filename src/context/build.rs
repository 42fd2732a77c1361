//! Choosing the parts under the budget. Stable parts get fixed shares of the
//! budget (so they render the same whatever is asked); the request's own
//! parts and the conversation share what is left, the request first.

use std::path::Path;

/// How a file is shown to the model: this, its path, then the file in a
/// fence (an edit reply that echoes it is not read as an edit).
pub const FILE_HEADER: &str = "# File: ";

use rustc_hash::FxHashSet;

use super::question::Question;
use super::request;
use super::retrieve::retrieve;
use super::{Context, Cut, Part, PartKind, Slot, project_instructions};
use crate::config::ContextSettings;
use crate::index::{Focus, Index};
use crate::model::Role;
use crate::tokens::TokenCounter;

/// Tokens a message costs beyond its text (turn markers).
const PER_MESSAGE: usize = 6;

pub struct Request<'a> {
    /// The system prompt of the mode (ask or edit).
    pub system: &'a str,
    pub question: &'a str,
    /// Files the user pinned or named explicitly (repo-relative), in their order.
    pub pinned: &'a [String],
    /// Earlier turns, oldest first: the user message as it was sent, the answer.
    pub history: &'a [(String, String)],
    /// A summary of turns older than `history`.
    pub summary: Option<&'a str>,
    /// Where relative paths in the question are resolved from.
    pub cwd: &'a Path,
    /// Where the last repo map is kept between turns: it depends only on the
    /// pinned files, its budget and the index, and ranking a large tree is the
    /// most expensive step.
    pub map_memo: Option<&'a MapMemo>,
    /// Lines the user selected, shown with the request.
    pub selection: Option<&'a Selection>,
    /// Files the user removed from the context: not chosen as files or
    /// definitions (the repo map may still name them).
    pub excluded: &'a [String],
    /// Token counts kept between turns.
    pub count_memo: Option<&'a CountMemo>,
    /// Files that must stay on this machine (a cloud model's never-send
    /// files and the user's trims), with the reason: absent from every part.
    pub left_out: Option<&'a LeftOut<'a>>,
}

/// Says why a file stays on this machine, if it does.
pub type LeftOut<'a> = dyn Fn(&str) -> Option<String> + Sync + 'a;

/// A range of lines the user selected (1-based, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub path: String,
    pub start: usize,
    pub end: usize,
}

/// The last rendered repo map (its text and files) and what it was computed from.
pub type MapMemo = std::sync::Mutex<Option<(u64, String, Vec<String>)>>;

/// Token counts of texts counted before (by hash): the stable parts and the
/// earlier turns are the same bytes turn after turn, and a real tokenizer
/// costs more than the rest of building a prompt.
pub type CountMemo = std::sync::Mutex<rustc_hash::FxHashMap<u64, usize>>;

/// Texts shorter than this are counted again rather than looked up.
const MEMO_MIN_BYTES: usize = 256;
/// The memo is emptied when it holds more counts than this.
const MEMO_MAX: usize = 4096;

struct Memoized<'a> {
    inner: &'a dyn TokenCounter,
    memo: &'a CountMemo,
}

impl TokenCounter for Memoized<'_> {
    fn count(&self, text: &str) -> usize {
        if text.len() < MEMO_MIN_BYTES {
            return self.inner.count(text);
        }
        let key = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
        if let Some(n) = self.memo.lock().ok().and_then(|m| m.get(&key).copied()) {
            return n;
        }
        let n = self.inner.count(text);
        if let Ok(mut m) = self.memo.lock() {
            if m.len() >= MEMO_MAX {
                m.clear();
            }
            m.insert(key, n);
        }
        n
    }
}

/// What a repo map depends on: the pinned and hidden files, its budget,
/// the indexed files.
fn map_key(index: &Index, pinned: &[String], hidden: &[u32], budget: usize) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for f in hidden {
        h.update(&f.to_le_bytes());
    }
    h.update(&[1]);
    for p in pinned {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    h.update(&budget.to_le_bytes());
    for f in index.files() {
        h.update(&f.hash.to_le_bytes());
        h.update(&f.mtime_ns.to_le_bytes());
    }
    h.digest()
}

pub(super) struct Builder<'a> {
    pub(super) index: &'a Index,
    counter: &'a dyn TokenCounter,
    pub(super) parts: Vec<Part>,
    /// Tokens of file content left out for lack of room (estimated from bytes).
    missing: usize,
    /// Files the user asked for that did not fit whole.
    cut: Vec<Cut>,
}

pub(super) fn lang_tag(path: &str) -> &str {
    path.rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.len() <= 10)
        .unwrap_or("")
}

impl Builder<'_> {
    pub(super) fn count(&self, s: &str) -> usize {
        self.counter.count(s)
    }

    pub(super) fn push(
        &mut self,
        kind: PartKind,
        path: Option<String>,
        lines: Option<[usize; 2]>,
        text: String,
        slot: Slot,
    ) -> usize {
        let tokens = self.count(&text) + 1;
        self.parts.push(Part {
            kind,
            path,
            lines,
            tokens,
            text,
            slot,
        });
        tokens
    }

    /// `text`'s first lines that fit in `max` tokens with `header`; the number kept.
    pub(super) fn fit_lines(&self, header: &str, text: &str, max: usize) -> (String, usize) {
        let mut out = String::from(header);
        let mut used = self.count(header) + 4;
        let mut kept = 0;
        for line in text.lines() {
            let c = self.count(line) + 1;
            if used + c > max {
                break;
            }
            used += c;
            out.push_str(line);
            out.push('\n');
            kept += 1;
        }
        (out, kept)
    }

    /// A file (its `text`, read by the caller) as one part if all of it
    /// fits in `max` tokens; the tokens used (0: it did not fit).
    pub(super) fn file_whole(
        &mut self,
        path: &str,
        text: &str,
        kind: PartKind,
        slot: Slot,
        max: usize,
    ) -> usize {
        let body = format!(
            "{FILE_HEADER}{path}\n```{}\n{}{}```",
            lang_tag(path),
            text,
            if text.ends_with('\n') || text.is_empty() {
                ""
            } else {
                "\n"
            }
        );
        if self.count(&body) + 1 > max {
            return 0;
        }
        self.push(kind, Some(path.to_string()), None, body, slot)
    }

    /// A file the user asked for: whole if it fits in `max`, else the head
    /// that fits, with the cut recorded (what was left out, and why).
    /// Returns the tokens used.
    fn file(&mut self, path: &str, kind: PartKind, slot: Slot, max: usize) -> usize {
        let Ok(text) = std::fs::read_to_string(self.index.root().join(path)) else {
            self.cut.push(Cut {
                path: path.to_string(),
                tokens: 0,
                kept_lines: None,
                total_lines: 0,
                reason: "cannot be read".into(),
            });
            return 0;
        };
        let whole = self.file_whole(path, &text, kind, slot, max);
        if whole > 0 || text.is_empty() {
            return whole;
        }
        let total_lines = text.lines().count();
        let header = format!("{FILE_HEADER}{path}\n```{}\n", lang_tag(path));
        let (mut body, kept) = self.fit_lines(&header, &text, max.saturating_sub(24));
        let tokens = self.count(&text);
        self.missing += tokens.saturating_sub(max);
        if kept == 0 {
            self.cut.push(Cut {
                path: path.to_string(),
                tokens,
                kept_lines: None,
                total_lines,
                reason: format!(
                    "{tokens} tokens; no room left ({max} tokens) after the parts before it"
                ),
            });
            return 0;
        }
        body.push_str("```");
        body.push_str(&format!(
            "\n[lines {}-{total_lines} of {path} left out for lack of room]",
            kept + 1
        ));
        self.cut.push(Cut {
            path: path.to_string(),
            tokens,
            kept_lines: Some([1, kept]),
            total_lines,
            reason: format!("{tokens} tokens; {max} were left for it"),
        });
        self.push(
            PartKind::Snippet,
            Some(path.to_string()),
            Some([1, kept]),
            body,
            slot,
        )
    }
}

fn share(room: usize, f: f32) -> usize {
    (room as f64 * f64::from(f.clamp(0.0, 1.0))) as usize
}

/// Choose the parts for `req` within `budget` tokens counted by `counter`.
pub fn build(
    index: &Index,
    req: &Request<'_>,
    budget: usize,
    counter: &dyn TokenCounter,
    shares: &ContextSettings,
) -> Context {
    let memoized = req.count_memo.map(|memo| Memoized {
        inner: counter,
        memo,
    });
    let counter: &dyn TokenCounter = match &memoized {
        Some(m) => m,
        None => counter,
    };
    let mut b = Builder {
        index,
        counter,
        parts: Vec::new(),
        missing: 0,
        cut: Vec::new(),
    };
    let system_tokens = b.push(
        PartKind::System,
        None,
        None,
        req.system.to_string(),
        Slot::Stable,
    );
    // Fixed shares depend only on the budget and the system prompt, so the stable
    // parts are the same bytes whatever the question is.
    let room = budget.saturating_sub(system_tokens + 3 * PER_MESSAGE + 2);
    let question_tokens = b.count(req.question) + PER_MESSAGE;

    let left_out = |path: &str| req.left_out.and_then(|f| f(path));
    let mut withheld: Vec<(String, String)> = Vec::new();
    let mut withhold = |path: &str, why: String| {
        if !withheld.iter().any(|(p, _)| p == path) {
            withheld.push((path.to_string(), why));
        }
    };
    // Indexed files that stay on this machine.
    let hidden: Vec<u32> = match req.left_out {
        Some(f) => index
            .files()
            .iter()
            .enumerate()
            .filter(|(_, e)| f(&e.path).is_some())
            .map(|(i, _)| i as u32)
            .collect(),
        None => Vec::new(),
    };
    let mut left = share(room, shares.instructions);
    for (name, text) in project_instructions(index.root()) {
        if let Some(why) = left_out(&name) {
            withhold(&name, why);
            continue;
        }
        let (body, kept) = b.fit_lines(&format!("# Project instructions ({name})\n"), &text, left);
        if kept > 0 {
            left = left.saturating_sub(b.push(
                PartKind::Instructions,
                Some(name),
                None,
                body,
                Slot::Stable,
            ));
        }
    }

    let pinned_focus = Focus {
        files: req
            .pinned
            .iter()
            .filter_map(|p| index.file_index(p))
            .collect(),
        names: Vec::new(),
    };
    let header = "# Repository map (the most relevant files and their definitions)\n";
    let map_budget = share(room, shares.repo_map).saturating_sub(b.count(header) + 2);
    let mut map_files = Vec::new();
    if map_budget > 32 && !index.files().is_empty() {
        let key = map_key(index, req.pinned, &hidden, map_budget);
        let memo = req.map_memo.and_then(|m| {
            m.lock().ok().and_then(|g| {
                g.as_ref()
                    .filter(|(k, _, _)| *k == key)
                    .map(|(_, t, f)| (t.clone(), f.clone()))
            })
        });
        let (text, files) = memo.unwrap_or_else(|| {
            let map = index.repo_map_hiding(&pinned_focus, &hidden, map_budget, counter);
            let files: Vec<String> = map.files.iter().map(|f| f.path.clone()).collect();
            if let Some(m) = req.map_memo
                && let Ok(mut g) = m.lock()
            {
                *g = Some((key, map.text.clone(), files.clone()));
            }
            (map.text, files)
        });
        let map = crate::index::RepoMap {
            files: Vec::new(),
            text,
            tokens: 0,
        };
        if !map.text.trim().is_empty() {
            map_files = files;
            b.push(
                PartKind::RepoMap,
                None,
                None,
                format!("{header}{}", map.text.trim_end()),
                Slot::Stable,
            );
        }
    }

    // Pinned files are sent whole: they may use all the room there is.
    for path in req.pinned {
        if let Some(why) = left_out(path) {
            withhold(path, why);
            continue;
        }
        let stable_used: usize = b.parts.iter().map(|p| p.tokens).sum::<usize>() - system_tokens;
        let left = room.saturating_sub(stable_used + question_tokens);
        b.file(path, PartKind::File, Slot::Stable, left);
    }
    let stable_used: usize = b.parts.iter().map(|p| p.tokens).sum::<usize>() - system_tokens;
    let mut free = room.saturating_sub(stable_used + question_tokens);

    // The request's own parts: what retrieval ranks for the question, in
    // the room the conversation's recent turns leave.
    // Room kept for the conversation: the summary of older turns and the
    // most recent turns, up to the history share.
    let history_cap = share(room, shares.history);
    let summary_cost = req.summary.map_or(0, |sm| {
        counter.count(&format!("Summary of our earlier conversation:\n{sm}")) + 4 * PER_MESSAGE
    });
    let mut history_cost = if summary_cost <= free / 2 {
        summary_cost
    } else {
        0
    };
    for (u, a) in req.history.iter().rev() {
        let c = counter.count(u) + counter.count(a) + 2 * PER_MESSAGE;
        if history_cost + c > history_cap.max(summary_cost) {
            break;
        }
        history_cost += c;
    }
    let mut current = Builder {
        index,
        counter,
        parts: Vec::new(),
        missing: 0,
        cut: Vec::new(),
    };
    let mut current_left = free.saturating_sub(history_cost);
    if let Some(sel) = req.selection
        && let Some(why) = left_out(&sel.path)
    {
        withhold(&sel.path, why);
    } else if let Some(sel) = req.selection
        && let Ok(text) = std::fs::read_to_string(index.root().join(&sel.path))
    {
        let (a, b) = (sel.start.max(1), sel.end.max(sel.start.max(1)));
        let body: String = text
            .lines()
            .skip(a - 1)
            .take(b + 1 - a)
            .map(|l| format!("{l}\n"))
            .collect();
        let header = format!(
            "# Selected: {}:{a}-{b}\n```{}\n",
            sel.path,
            lang_tag(&sel.path)
        );
        let (mut snippet, kept) = current.fit_lines(&header, &body, current_left);
        if kept > 0 {
            snippet.push_str("```");
            let lines = Some([a, a + kept - 1]);
            current_left = current_left.saturating_sub(current.push(
                PartKind::Snippet,
                Some(sel.path.clone()),
                lines,
                snippet,
                Slot::Current,
            ));
        }
    }
    let found = retrieve(index, &Question::read(req.question), req.cwd);
    let mut skip: FxHashSet<String> = req.pinned.iter().chain(req.excluded).cloned().collect();
    for &f in &hidden {
        let path = &index.files()[f as usize].path;
        // Said in the preview when retrieval wanted it.
        if found.files.contains(&f) || found.defs.iter().take(12).any(|d| d.0 == f) {
            withhold(path, left_out(path).unwrap_or_default());
        }
        skip.insert(path.clone());
    }
    request::add(
        &mut current,
        &found,
        &request::Limits {
            room: current_left,
            per_file: share(current_left, shares.files),
            related: share(current_left, shares.snippets),
            skip: &skip,
        },
    );
    let current_used: usize = current.parts.iter().map(|p| p.tokens).sum();
    free = free.saturating_sub(current_used);

    // The conversation: the most recent turns that fit, after a summary of older ones.
    let mut turns: Vec<Part> = Vec::new();
    let mut dropped = 0;
    let mut history_turns = 0;
    for (i, (user, answer)) in req.history.iter().enumerate().rev() {
        let cost = counter.count(user) + counter.count(answer) + 2 * PER_MESSAGE;
        if cost > free {
            dropped = i + 1;
            break;
        }
        free -= cost;
        let part = |role: Role, text: &String| Part {
            kind: PartKind::History,
            path: None,
            lines: None,
            tokens: counter.count(text) + PER_MESSAGE,
            text: text.clone(),
            slot: Slot::Turn(role),
        };
        turns.push(part(Role::Assistant, answer));
        turns.push(part(Role::User, user));
        history_turns += 1;
    }
    if let Some(summary) = req.summary {
        let user = format!("Summary of our earlier conversation:\n{summary}");
        let cost = counter.count(&user) + 2 * PER_MESSAGE + 2;
        if cost <= free {
            let mk = |role, text: String, tokens| Part {
                kind: PartKind::History,
                path: None,
                lines: None,
                tokens,
                text,
                slot: Slot::Turn(role),
            };
            turns.push(mk(Role::Assistant, "Understood.".into(), 2 + PER_MESSAGE));
            turns.push(mk(Role::User, user, cost - 2 - PER_MESSAGE));
        }
    }
    turns.reverse();
    let missing_tokens = b.missing + current.missing;
    let cut = std::mem::take(&mut b.cut);
    b.parts.extend(turns);
    b.parts.extend(current.parts);

    let mut ctx = Context {
        budget,
        total_tokens: 0,
        parts: b.parts,
        question: req.question.to_string(),
        dropped_turns: dropped,
        missing_tokens,
        cut,
        map_files,
        left_out: withheld
            .into_iter()
            .map(|(path, reason)| super::LeftOutFile { path, reason })
            .collect(),
        history_turns,
        attachments: Vec::new(),
    };
    // Counted on the rendered messages, as the model will see them; trim the
    // least needed parts if token merges across parts pushed it over.
    loop {
        ctx.total_tokens = ctx
            .messages()
            .iter()
            .map(|m| counter.count(&m.content) + PER_MESSAGE)
            .sum::<usize>()
            + 2;
        if ctx.total_tokens <= budget {
            break;
        }
        let victim = ctx
            .parts
            .iter()
            .rposition(|p| p.kind == PartKind::Snippet)
            .or_else(|| ctx.parts.iter().rposition(|p| p.slot == Slot::Current))
            .or_else(|| ctx.parts.iter().position(|p| p.kind == PartKind::History))
            .or_else(|| ctx.parts.iter().rposition(|p| p.kind != PartKind::System));
        match victim {
            Some(i) => {
                let removed = ctx.parts.remove(i);
                // Turns go in user/answer pairs, so the roles keep alternating.
                if removed.kind == PartKind::History {
                    ctx.dropped_turns += 1;
                    ctx.history_turns = ctx.history_turns.saturating_sub(1);
                    if ctx
                        .parts
                        .get(i)
                        .is_some_and(|p| p.slot == Slot::Turn(Role::Assistant))
                    {
                        ctx.parts.remove(i);
                    }
                }
            }
            None => break,
        }
    }
    ctx
}
