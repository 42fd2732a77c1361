//! The request's own parts: what retrieval ranked, shown as the model needs
//! it. Files the question names go in whole when they fit; then the best
//! definitions' bodies (whole up to a line cap; a longer class or impl shows
//! its head and its members' signatures), the outline of the files they are
//! in and the signatures of their callers and callees; then the next-best
//! bodies until the room is used. No file's content takes more than the
//! `files` share of the room (half by default) unless the question names it.

use rustc_hash::FxHashSet;

use super::build::{Builder, lang_tag};
use super::retrieve::Retrieved;
use super::{PartKind, Slot};
use crate::index::{Def, FileEntry};

/// A definition body longer than this shows its head and members' signatures.
const MAX_BODY_LINES: u32 = 120;
/// Lines of a long definition shown before its members' signatures.
const HEAD_LINES: u32 = 20;
/// Bodies shown before the outlines and related signatures, at most: those
/// scored within `PRIMARY_SHARE` of the best.
const PRIMARY: usize = 3;
const PRIMARY_SHARE: f64 = 0.5;
/// Lines of one file's outline, at most.
const OUTLINE_LINES: usize = 40;
/// Callers' and callees' signatures per primary definition, at most.
const RELATED: usize = 6;
/// A file at most this many lines longer than twice a definition is sent whole.
const SMALL_FILE_SLACK: u32 = 12;
/// How far behind a long class its members may rank and still go first.
const MEMBER_WINDOW: usize = 8;
/// Snippets this many lines apart or closer are shown as one.
const MERGE_GAP: u32 = 3;
/// Fewer lines than this of a body are not worth showing.
const MIN_LINES: u32 = 4;

/// What was shown of one file so far.
#[derive(Default)]
struct Shown {
    /// Line ranges shown per file path, with the part that shows them.
    ranges: Vec<(String, u32, u32, usize)>,
    whole: FxHashSet<String>,
    outlined: FxHashSet<String>,
    signatures: FxHashSet<(u32, u32)>,
}

impl Shown {
    fn covers(&self, path: &str, a: u32, b: u32) -> bool {
        self.whole.contains(path)
            || self
                .ranges
                .iter()
                .any(|(p, s, e, _)| p == path && *s <= a && b <= *e)
    }

    fn tokens_of(&self, parts: &[super::Part], path: &str) -> usize {
        parts
            .iter()
            .filter(|p| {
                p.path.as_deref() == Some(path)
                    && matches!(p.kind, PartKind::Snippet | PartKind::File)
            })
            .map(|p| p.tokens)
            .sum()
    }
}

pub struct Limits<'a> {
    /// Tokens the request's parts may use.
    pub room: usize,
    /// Tokens one file's content may take unless the question names it.
    pub per_file: usize,
    /// Tokens the outlines and the callers' and callees' signatures may take.
    pub related: usize,
    /// Files already in the prompt (pinned) or left out by the user.
    pub skip: &'a FxHashSet<String>,
}

/// Lines `a..=b` (1-based) of `text`.
fn lines_of(text: &str, a: u32, b: u32) -> String {
    text.lines()
        .skip(a as usize - 1)
        .take((b + 1 - a) as usize)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The members' signature lines of a definition (those nested in its lines, after `from`).
fn member_signatures(entry: &FileEntry, def: &Def, from: u32) -> String {
    let mut s = String::new();
    for d in &entry.defs {
        if d.start_line > from && d.end_line <= def.end_line && d.start_line > def.start_line {
            s.push_str(&format!("{:>6}│ {}\n", d.start_line, entry.signature(d)));
        }
    }
    s
}

/// Add the request's parts to `b` within `limits`; returns the tokens used.
pub fn add(b: &mut Builder<'_>, found: &Retrieved, limits: &Limits<'_>) -> usize {
    let index = b.index;
    let mut left = limits.room;
    let per_file = limits.per_file;
    let mut shown = Shown::default();
    // Each file is read once, however many of its definitions are shown.
    let mut cache: rustc_hash::FxHashMap<u32, Option<std::rc::Rc<str>>> = Default::default();
    let mut read = |f: u32| -> Option<std::rc::Rc<str>> {
        cache
            .entry(f)
            .or_insert_with(|| {
                std::fs::read_to_string(index.root().join(&index.files()[f as usize].path))
                    .ok()
                    .map(std::rc::Rc::from)
            })
            .clone()
    };

    // Files the question names: whole when they fit.
    let mut named: FxHashSet<u32> = FxHashSet::default();
    for &f in &found.files {
        let path = index.files()[f as usize].path.clone();
        named.insert(f);
        if limits.skip.contains(&path) || shown.whole.contains(&path) {
            continue;
        }
        let Some(text) = read(f) else { continue };
        let used = b.file_whole(&path, &text, PartKind::File, Slot::Current, left);
        if used > 0 {
            shown.whole.insert(path);
            left = left.saturating_sub(used);
        }
    }

    let mut primary: Vec<(u32, u32)> = Vec::new();
    let mut related_done = false;
    let top = found.defs.first().map_or(0.0, |d| d.2);
    for &(f, di, score) in &members_first(index, &found.defs) {
        if left < 16 {
            break;
        }
        let is_primary = primary.len() < PRIMARY && score >= top * PRIMARY_SHARE;
        if !is_primary && !related_done && !primary.is_empty() {
            related_done = true;
            left = related(b, &primary, &mut shown, left, limits);
        }
        let entry = &index.files()[f as usize];
        let path = &entry.path;
        if limits.skip.contains(path) {
            continue;
        }
        let def = &entry.defs[di as usize];
        let end = def.end_line.min(def.start_line + MAX_BODY_LINES - 1);
        if shown.covers(path, def.start_line, end) {
            if is_primary {
                primary.push((f, di));
            }
            continue;
        }
        let cap = if named.contains(&f) {
            limits.room
        } else {
            per_file
        };
        let file_left = cap
            .saturating_sub(shown.tokens_of(&b.parts, path))
            .min(left);
        if file_left < 16 {
            continue;
        }
        // A small file around the definition goes in whole: its imports and
        // neighbours cost little more than the body.
        let Some(text) = read(f) else { continue };
        let def_lines = def.end_line + 1 - def.start_line;
        if entry.lines <= def_lines * 2 + SMALL_FILE_SLACK {
            let used = b.file_whole(path, &text, PartKind::File, Slot::Current, file_left);
            if used > 0 {
                shown.whole.insert(path.clone());
                left = left.saturating_sub(used);
                if is_primary {
                    primary.push((f, di));
                }
                continue;
            }
        }
        let long = def.end_line > end;
        // Next to a snippet already shown: one part of both (a header and
        // fences saved, the lines between kept).
        if !long
            && let Some(k) = shown.ranges.iter().position(|(p, s, e, _)| {
                p == path
                    && def.start_line <= e + MERGE_GAP + 1
                    && def.end_line + MERGE_GAP + 1 >= *s
            })
        {
            let (_, s0, e0, part) = shown.ranges[k].clone();
            let (a, z) = (s0.min(def.start_line), e0.max(def.end_line));
            let merged = format!(
                "# {path}:{a}-{z}\n```{}\n{}```",
                lang_tag(path),
                lines_of(&text, a, z)
            );
            let cost = b.count(&merged) + 1;
            let old = b.parts[part].tokens;
            if cost <= old + file_left {
                b.parts[part].text = merged;
                b.parts[part].tokens = cost;
                b.parts[part].lines = Some([a as usize, z as usize]);
                shown.ranges[k] = (path.clone(), a, z, part);
                left = left.saturating_sub(cost - old.min(cost));
                if is_primary {
                    primary.push((f, di));
                }
            }
            continue;
        }
        let ident = index.names().name(def.name);
        // A long class or impl: its head and its members' signatures; a long
        // function: as much as the cap allows.
        let (body_end, tail) = if long {
            let head_end = def.start_line + HEAD_LINES - 1;
            let members = member_signatures(entry, def, head_end);
            if members.is_empty() {
                (end, String::new())
            } else {
                (head_end, members)
            }
        } else {
            (def.end_line, String::new())
        };
        let header = format!(
            "# {path}:{}-{} ({} {ident})\n```{}\n",
            def.start_line,
            def.end_line,
            def.kind.name(),
            lang_tag(path)
        );
        let body = lines_of(&text, def.start_line, body_end);
        let mut snippet = format!("{header}{body}```");
        if !tail.is_empty() {
            snippet.push_str(&format!(
                "\n[lines {}-{} not shown; the members there:]\n{}",
                body_end + 1,
                def.end_line,
                tail.trim_end()
            ));
        } else if body_end < def.end_line {
            snippet.push_str(&format!(
                "\n[lines {}-{} not shown]",
                body_end + 1,
                def.end_line
            ));
        }
        let cost = b.count(&snippet) + 1;
        let (text_out, kept_end) = if cost <= file_left {
            (snippet, body_end)
        } else {
            // The head that fits, if enough of it does.
            let (mut part, kept) = b.fit_lines(&header, &body, file_left.saturating_sub(8));
            if (kept as u32) < MIN_LINES.min(body_end + 1 - def.start_line) {
                continue;
            }
            part.push_str("```");
            (part, def.start_line + kept as u32 - 1)
        };
        let used = b.push(
            PartKind::Snippet,
            Some(path.clone()),
            Some([def.start_line as usize, kept_end as usize]),
            text_out,
            Slot::Current,
        );
        shown
            .ranges
            .push((path.clone(), def.start_line, kept_end, b.parts.len() - 1));
        left = left.saturating_sub(used);
        if is_primary {
            primary.push((f, di));
        }
    }
    if !related_done && !primary.is_empty() {
        left = related(b, &primary, &mut shown, left, limits);
    }
    limits.room - left
}

/// The ranking with a long class or impl's members that rank close behind
/// it moved in front of it (with its score): the member is the specific
/// answer, and the class's head and member list come after it.
fn members_first(index: &crate::index::Index, defs: &[(u32, u32, f64)]) -> Vec<(u32, u32, f64)> {
    let mut out: Vec<(u32, u32, f64)> = defs.to_vec();
    let mut i = 0;
    while i < out.len().min(MEMBER_WINDOW) {
        let (f, di, score) = out[i];
        let entry = &index.files()[f as usize];
        let d = &entry.defs[di as usize];
        if d.end_line - d.start_line < MAX_BODY_LINES {
            i += 1;
            continue;
        }
        let inside = |x: &(u32, u32, f64)| {
            x.0 == f && x.1 != di && {
                let m = &entry.defs[x.1 as usize];
                d.start_line < m.start_line && m.end_line <= d.end_line
            }
        };
        let window = (i + 1)..out.len().min(i + 1 + MEMBER_WINDOW);
        let members: Vec<(u32, u32, f64)> =
            out[window.clone()].iter().copied().filter(inside).collect();
        if members.is_empty() {
            i += 1;
            continue;
        }
        out.retain(|x| !(inside(x) && members.contains(x)));
        for (k, m) in members.iter().enumerate() {
            out.insert(i + k, (m.0, m.1, score));
        }
        i += members.len() + 1;
    }
    out
}

/// The outline of the primary definitions' files and their callers' and
/// callees' signatures. Returns the room left.
fn related(
    b: &mut Builder<'_>,
    primary: &[(u32, u32)],
    shown: &mut Shown,
    left: usize,
    limits: &Limits<'_>,
) -> usize {
    let index = b.index;
    // Outlines and signatures within their share; outlines at most half of it.
    let related_left = limits.related.min(left);
    let reserved = left - related_left;
    let mut left = related_left;
    let outline_room = related_left / 2;
    let mut outline_used = 0;
    for &(f, di) in primary {
        let entry = &index.files()[f as usize];
        if shown.whole.contains(&entry.path) || !shown.outlined.insert(entry.path.clone()) {
            continue;
        }
        // The definitions nearest the primary one, in line order.
        let at = entry.defs[di as usize].start_line;
        let mut near: Vec<&Def> = entry.defs.iter().collect();
        near.sort_by_key(|d| d.start_line.abs_diff(at));
        near.truncate(OUTLINE_LINES);
        near.sort_by_key(|d| d.start_line);
        let header = format!(
            "# Outline of {} ({} lines, {} definitions)\n",
            entry.path,
            entry.lines,
            entry.defs.len()
        );
        let lines: String = near
            .iter()
            .map(|d| format!("{:>6}│ {}\n", d.start_line, entry.signature(d)))
            .collect();
        let room = outline_room.saturating_sub(outline_used).min(left);
        let (text, kept) = b.fit_lines(&header, &lines, room);
        if kept < 3 {
            continue;
        }
        let cost = b.push(
            PartKind::Outline,
            Some(entry.path.clone()),
            None,
            text.trim_end().to_string(),
            Slot::Current,
        );
        outline_used += cost;
        left = left.saturating_sub(cost);
    }
    // Callers and callees of each primary definition.
    for &(f, di) in primary {
        let entry = &index.files()[f as usize];
        let def = &entry.defs[di as usize];
        let ident = index.names().name(def.name).to_string();
        let mut found: Vec<(u32, u32, &'static str)> = Vec::new();
        for r in index.symbols().references(def.name) {
            if found.len() >= RELATED {
                break;
            }
            let user = &index.files()[r.file as usize];
            let line = user.refs[r.reference as usize].line;
            if let Some((ci, _)) = user.enclosing(line, Some(def.name)) {
                found.push((r.file, ci as u32, "calls"));
            }
        }
        let mut callees = 0;
        for r in &entry.refs {
            if callees >= RELATED {
                break;
            }
            if r.line < def.start_line || r.line > def.end_line || r.name == def.name {
                continue;
            }
            let defs = index.symbols().definitions(r.name);
            let best = defs
                .iter()
                .find(|d| d.file == f)
                .or_else(|| defs.first())
                .copied();
            if let Some(d) = best
                && defs.len() <= 8
            {
                found.push((d.file, d.def, "is called by"));
                callees += 1;
            }
        }
        for (rf, rd, how) in found {
            let user = &index.files()[rf as usize];
            if limits.skip.contains(&user.path) || !shown.signatures.insert((rf, rd)) {
                continue;
            }
            let d = &user.defs[rd as usize];
            if shown.covers(&user.path, d.start_line, d.start_line) {
                continue;
            }
            let text = format!(
                "# {}:{} ({how} {ident})\n{}",
                user.path,
                d.start_line,
                user.signature(d).trim_end()
            );
            let cost = b.count(&text) + 1;
            if cost > left {
                return left + reserved;
            }
            let line = d.start_line as usize;
            left -= b.push(
                PartKind::Signature,
                Some(user.path.clone()),
                Some([line, line]),
                text,
                Slot::Current,
            );
        }
    }
    left + reserved
}
