//! Choosing the parts under the budget. Stable parts get fixed shares of the
//! budget (so they render the same whatever is asked); the request's own
//! parts and the conversation share what is left, the request first.

use std::path::Path;

use rustc_hash::FxHashSet;

use super::{Context, Part, PartKind, Slot, project_instructions};
use crate::config::ContextSettings;
use crate::index::{Focus, Index};
use crate::model::Role;
use crate::tokens::TokenCounter;

/// Tokens a message costs beyond its text (turn markers).
const PER_MESSAGE: usize = 6;
/// Definitions of names the request mentions, at most.
const MAX_NAMES: usize = 6;
/// Callers' signatures shown per name, at most.
const MAX_CALLERS: usize = 12;
/// A definition snippet is cut after this many lines.
const MAX_SNIPPET_LINES: usize = 80;

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
}

/// A range of lines the user selected (1-based, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub path: String,
    pub start: usize,
    pub end: usize,
}

/// The last rendered repo map and what it was computed from.
pub type MapMemo = std::sync::Mutex<Option<(u64, String)>>;

/// What a repo map depends on: the pinned files, its budget, the indexed files.
fn map_key(index: &Index, pinned: &[String], budget: usize) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
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

struct Builder<'a> {
    index: &'a Index,
    counter: &'a dyn TokenCounter,
    parts: Vec<Part>,
    /// Tokens of file content left out for lack of room (estimated from bytes).
    missing: usize,
}

fn lang_tag(path: &str) -> &str {
    path.rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.len() <= 10)
        .unwrap_or("")
}

impl Builder<'_> {
    fn count(&self, s: &str) -> usize {
        self.counter.count(s)
    }

    fn push(
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
    fn fit_lines(&self, header: &str, text: &str, max: usize) -> (String, usize) {
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

    /// A file as a part: whole if it fits in `max`, else its head (or nothing
    /// when not even a few lines fit). Returns the tokens used.
    fn file(&mut self, path: &str, kind: PartKind, slot: Slot, max: usize, note: &str) -> usize {
        let Ok(text) = std::fs::read_to_string(self.index.root().join(path)) else {
            return 0;
        };
        let total_lines = text.lines().count();
        let header = format!("# File: {path}{note}\n```{}\n", lang_tag(path));
        let (mut body, kept) = self.fit_lines(&header, &text, max.saturating_sub(8));
        if kept < total_lines {
            let left: usize = text.lines().skip(kept).map(|l| l.len() + 1).sum();
            self.missing += left / 3;
        }
        if kept == 0 && total_lines > 0 {
            return 0;
        }
        body.push_str("```");
        if kept < total_lines {
            // Part of a file is a snippet: its lines are named.
            body.push_str(&format!(
                "\n[lines {}-{total_lines} of {path} left out for lack of room]",
                kept + 1
            ));
            return self.push(
                PartKind::Snippet,
                Some(path.to_string()),
                Some([1, kept]),
                body,
                slot,
            );
        }
        self.push(kind, Some(path.to_string()), None, body, slot)
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
    let mut b = Builder {
        index,
        counter,
        parts: Vec::new(),
        missing: 0,
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

    let mut left = share(room, shares.instructions);
    for (name, text) in project_instructions(index.root()) {
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
    if map_budget > 32 && !index.files().is_empty() {
        let key = map_key(index, req.pinned, map_budget);
        let memo = req.map_memo.and_then(|m| {
            m.lock().ok().and_then(|g| {
                g.as_ref()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, t)| t.clone())
            })
        });
        let text = memo.unwrap_or_else(|| {
            let text = index.repo_map(&pinned_focus, map_budget, counter).text;
            if let Some(m) = req.map_memo
                && let Ok(mut g) = m.lock()
            {
                *g = Some((key, text.clone()));
            }
            text
        });
        let map = crate::index::RepoMap {
            files: Vec::new(),
            text,
            tokens: 0,
        };
        if !map.text.trim().is_empty() {
            b.push(
                PartKind::RepoMap,
                None,
                None,
                format!("{header}{}", map.text.trim_end()),
                Slot::Stable,
            );
        }
    }

    let files_share = share(room, shares.files);
    let mut files_left = files_share;
    for path in req.pinned {
        files_left =
            files_left.saturating_sub(b.file(path, PartKind::File, Slot::Stable, files_left, ""));
    }
    let stable_used: usize = b.parts.iter().map(|p| p.tokens).sum::<usize>() - system_tokens;
    let mut free = room.saturating_sub(stable_used + question_tokens);

    // The request's own parts: files it names, definitions of names it
    // mentions and their callers' signatures.
    let mut current = Builder {
        index,
        counter,
        parts: Vec::new(),
        missing: 0,
    };
    let mut current_left = (files_left + share(room, shares.snippets)).min(free);
    if let Some(sel) = req.selection
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
    let focus = index.focus(&Index::words(req.question), req.cwd);
    let mut shown: FxHashSet<String> = req.pinned.iter().chain(req.excluded).cloned().collect();
    for &f in &focus.files {
        let path = index.files()[f as usize].path.clone();
        if shown.insert(path.clone()) {
            current_left = current_left.saturating_sub(current.file(
                &path,
                PartKind::File,
                Slot::Current,
                current_left,
                "",
            ));
        }
    }
    let mut sig_seen: FxHashSet<(u32, u32)> = FxHashSet::default();
    for &name in focus.names.iter().take(MAX_NAMES) {
        let ident = index.names().name(name).to_string();
        for d in index.symbols().definitions(name).iter().take(2) {
            let entry = &index.files()[d.file as usize];
            let path = entry.path.clone();
            if shown.contains(&path) {
                continue;
            }
            let note = format!(" (defines {ident})");
            let used = current.file(
                &path,
                PartKind::File,
                Slot::Current,
                current_left.min(files_share),
                &note,
            );
            if used > 0 {
                shown.insert(path);
                current_left = current_left.saturating_sub(used);
                continue;
            }
            let def = &entry.defs[d.def as usize];
            let Ok(text) = std::fs::read_to_string(index.root().join(&entry.path)) else {
                continue;
            };
            let (start, end) = (
                def.start_line as usize,
                (def.end_line as usize).min(def.start_line as usize + MAX_SNIPPET_LINES - 1),
            );
            let body: String = text
                .lines()
                .skip(start - 1)
                .take(end + 1 - start)
                .map(|l| format!("{l}\n"))
                .collect();
            let header = format!(
                "# {path}:{start}-{end} (definition of {ident})\n```{}\n",
                lang_tag(&path)
            );
            let (mut snippet, kept) = current.fit_lines(&header, &body, current_left);
            if kept > 0 {
                snippet.push_str("```");
                let lines = Some([start, start + kept - 1]);
                current_left = current_left.saturating_sub(current.push(
                    PartKind::Snippet,
                    Some(path),
                    lines,
                    snippet,
                    Slot::Current,
                ));
            }
        }
        let mut callers = 0;
        for r in index.symbols().references(name) {
            if callers == MAX_CALLERS {
                break;
            }
            let entry = &index.files()[r.file as usize];
            let line = entry.refs[r.reference as usize].line;
            let Some((di, def)) = entry
                .defs
                .iter()
                .enumerate()
                .filter(|(_, d)| d.start_line <= line && line <= d.end_line && d.name != name)
                .min_by_key(|(_, d)| d.end_line - d.start_line)
            else {
                continue;
            };
            if !sig_seen.insert((r.file, di as u32)) || shown.contains(&entry.path) {
                continue;
            }
            let text = format!(
                "# {}:{} (uses {ident})\n{}",
                entry.path,
                def.start_line,
                entry.signature(def).trim_end()
            );
            let cost = counter.count(&text) + 1;
            if cost > current_left {
                break;
            }
            let lines = Some([def.start_line as usize, def.start_line as usize]);
            current_left -= current.push(
                PartKind::Snippet,
                Some(entry.path.clone()),
                lines,
                text,
                Slot::Current,
            );
            callers += 1;
        }
    }
    let current_used: usize = current.parts.iter().map(|p| p.tokens).sum();
    free = free.saturating_sub(current_used);

    // The conversation: the most recent turns that fit, after a summary of older ones.
    let mut turns: Vec<Part> = Vec::new();
    let mut dropped = 0;
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
    b.parts.extend(turns);
    b.parts.extend(current.parts);

    let mut ctx = Context {
        budget,
        total_tokens: 0,
        parts: b.parts,
        question: req.question.to_string(),
        dropped_turns: dropped,
        missing_tokens,
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
