//! From parsed edits to a change set, reading the files they touch. Edits to
//! one file apply in reply order, each against the text the previous ones
//! left. A block that cannot be placed becomes a failure with the reason and
//! the closest candidate, to show the user or feed back to the model.

use std::collections::BTreeMap;

use serde::Serialize;

use super::block::{Edit, ParsedReply};
use super::changeset::{Base, ChangeSet, FileChange, FileOp};
use super::matcher::{Candidate, MatchError, Tier, locate};
use super::paths::PathGuard;
use super::text::{FileText, hash};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The reply had a block that could not be read.
    Parse,
    /// The path is not one locus will edit.
    Path,
    /// The SEARCH text is not in the file.
    NotFound,
    /// The SEARCH text is in the file more than once.
    Ambiguous,
    /// The file does not exist.
    Missing,
    /// A new file or rename target exists already.
    Exists,
    /// Not UTF-8 text, or unreadable.
    Unreadable,
    /// It would write a secret's redaction placeholder.
    Redacted,
    /// It writes a placeholder comment in place of code, or cuts most of a file.
    Placeholder,
}

/// An edit that could not be turned into a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// 1-based line of the reply.
    pub line: usize,
    pub path: Option<String>,
    pub message: String,
    pub closest: Option<Candidate>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(c) = &self.closest {
            write!(
                f,
                "\n  closest ({}% similar), lines {}-{}:",
                (c.score * 100.0).round(),
                c.start + 1,
                c.start + c.lines.len()
            )?;
            for l in &c.lines {
                write!(f, "\n  | {l}")?;
            }
        }
        Ok(())
    }
}

/// A reply turned into changes, and what could not be.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Proposal {
    pub changes: ChangeSet,
    pub failures: Vec<Failure>,
    /// How each located block was found, in reply order (for stats and tests).
    pub tiers: Vec<Tier>,
}

impl Proposal {
    /// Feedback for the model after failures: what went wrong, block by block.
    pub fn feedback(&self) -> String {
        self.feedback_quoting(&|_| true)
    }

    /// The feedback, quoting lines from disk only for files `may_quote`
    /// allows (a cloud model is shown only the files approved for it).
    pub fn feedback_quoting(&self, may_quote: &dyn Fn(&str) -> bool) -> String {
        let mut s = String::from("Some edits could not be applied:\n");
        for f in &self.failures {
            if f.path.as_deref().is_none_or(may_quote) {
                s.push_str(&format!("- {f}\n"));
            } else {
                s.push_str(&format!("- {}\n", f.message));
            }
        }
        s.push_str(
            "Reply again with SEARCH/REPLACE blocks whose SEARCH part copies the current file lines exactly, \
             with enough lines to be unique.\n",
        );
        s
    }
}

struct Slot {
    /// As on disk at proposal time (`None`: did not exist).
    disk: Option<(FileText, String)>,
    current: Option<FileText>,
    renamed_from: Option<String>,
    /// Moved away by a rename (not a deletion).
    moved: bool,
    touched: bool,
}

/// Turn a parsed reply into a proposal, reading files under `guard`'s root.
pub fn propose(reply: &ParsedReply, guard: &PathGuard) -> Proposal {
    let mut p = Planner {
        guard,
        slots: BTreeMap::new(),
        out: Proposal::default(),
        files: None,
    };
    for e in &reply.errors {
        p.fail(FailureKind::Parse, e.line, None, e.message.clone(), None);
    }
    for edit in &reply.edits {
        p.edit(edit);
    }
    p.finish()
}

struct Planner<'a> {
    guard: &'a PathGuard,
    slots: BTreeMap<String, Slot>,
    out: Proposal,
    /// The repository's files, listed on first need.
    files: Option<Vec<String>>,
}

/// Files listed when looking for a path a model got slightly wrong.
const MAX_LISTED: usize = 100_000;

impl Planner<'_> {
    fn fail(
        &mut self,
        kind: FailureKind,
        line: usize,
        path: Option<&str>,
        message: String,
        closest: Option<Candidate>,
    ) {
        self.out.failures.push(Failure {
            kind,
            line,
            path: path.map(String::from),
            message,
            closest,
        });
    }

    /// `path` for an edit that needs an existing file: as written if it
    /// exists; else relative to the user's directory; else the one file in the
    /// repository whose path ends with it (models often drop leading dirs).
    fn existing(&mut self, path: &str) -> String {
        let exists = |p: &str| {
            self.guard.check(p).is_ok_and(|r| {
                self.slots
                    .get(&r.rel)
                    .map_or(r.abs.is_file(), |s| s.current.is_some())
            })
        };
        if exists(path) {
            return path.to_string();
        }
        let cwd = self.guard.cwd_rel();
        if !cwd.is_empty() {
            let joined = format!("{cwd}/{path}");
            if exists(&joined) {
                return joined;
            }
        }
        let clean = path.trim_start_matches("./");
        let suffix = format!("/{clean}");
        let root = self.guard.root().to_path_buf();
        let files = self.files.get_or_insert_with(|| list_files(&root));
        let mut hits = files.iter().filter(|f| f.ends_with(&suffix));
        match (hits.next(), hits.next()) {
            (Some(one), None) => one.clone(),
            _ => path.to_string(),
        }
    }

    /// The slot for a file that must exist (see `existing`).
    fn existing_slot(&mut self, path: &str, line: usize) -> Option<String> {
        let p = self.existing(path);
        self.slot(&p, line)
    }

    /// The slot for `path`, loading the file on first use.
    fn slot(&mut self, path: &str, line: usize) -> Option<String> {
        let r = match self.guard.check(path) {
            Ok(r) => r,
            Err(e) => {
                self.fail(FailureKind::Path, line, Some(path), e.to_string(), None);
                return None;
            }
        };
        if !self.slots.contains_key(&r.rel) {
            let disk = match std::fs::read(&r.abs) {
                Ok(bytes) => match FileText::decode(&bytes) {
                    Some(t) => Some((t, hash(&bytes))),
                    None => {
                        self.fail(
                            FailureKind::Unreadable,
                            line,
                            Some(&r.rel),
                            format!(
                                "{} is not UTF-8 text; locus does not edit binary files",
                                r.rel
                            ),
                            None,
                        );
                        return None;
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) if e.kind() == std::io::ErrorKind::IsADirectory || r.abs.is_dir() => {
                    self.fail(
                        FailureKind::Unreadable,
                        line,
                        Some(&r.rel),
                        format!("{} is a directory, not a file", r.rel),
                        None,
                    );
                    return None;
                }
                Err(e) => {
                    self.fail(
                        FailureKind::Unreadable,
                        line,
                        Some(&r.rel),
                        format!("cannot read {}: {e}", r.rel),
                        None,
                    );
                    return None;
                }
            };
            let current = disk.as_ref().map(|(t, _)| t.clone());
            self.slots.insert(
                r.rel.clone(),
                Slot {
                    disk,
                    current,
                    renamed_from: None,
                    moved: false,
                    touched: false,
                },
            );
        }
        Some(r.rel)
    }

    fn edit(&mut self, edit: &Edit) {
        let line = edit.line();
        // A cloud model saw secrets as placeholders; one copied back would
        // overwrite the secret on disk with the placeholder.
        let written = match edit {
            Edit::Replace { replace, .. } => replace.as_slice(),
            Edit::WholeFile { content, .. } => content.as_slice(),
            _ => &[],
        };
        if written
            .iter()
            .any(|l| l.contains(crate::route::PLACEHOLDER_PREFIX))
        {
            let msg = format!(
                "the edit of {} (reply line {line}) would write a redaction placeholder ({}…]) into the file; keep the lines that hold secrets out of SEARCH/REPLACE blocks",
                edit.path(),
                crate::route::PLACEHOLDER_PREFIX
            );
            self.fail(FailureKind::Redacted, line, Some(edit.path()), msg, None);
            return;
        }
        let kept: &[String] = match edit {
            Edit::Replace { search, .. } => search,
            _ => &[],
        };
        if let Some(p) = super::placeholder::first_placeholder(written, kept) {
            let msg = format!(
                "the edit of {} (reply line {line}) writes `{}` in place of code: that would delete the code it stands for; write the lines out, or use SEARCH/REPLACE blocks for just the part that changes",
                edit.path(),
                p.trim()
            );
            self.fail(FailureKind::Placeholder, line, Some(edit.path()), msg, None);
            return;
        }
        match edit {
            Edit::Replace {
                path,
                search,
                replace,
                ..
            } => {
                let blank = search.iter().all(|l| l.trim().is_empty());
                let rel = if blank {
                    self.slot(path, line)
                } else {
                    self.existing_slot(path, line)
                };
                let Some(rel) = rel else {
                    return;
                };
                let slot = self.slots.get_mut(&rel).expect("slot");
                match (&mut slot.current, blank) {
                    (None, true) => {
                        let mut t = FileText::from_normalized("");
                        t.lines = replace.clone();
                        t.final_newline = true;
                        slot.current = Some(t);
                    }
                    (None, false) => {
                        let msg = format!(
                            "{rel} does not exist, so its SEARCH block (reply line {line}) cannot match; to create it, leave SEARCH empty"
                        );
                        self.fail(FailureKind::Missing, line, Some(&rel), msg, None);
                        return;
                    }
                    (Some(t), true) => {
                        // An empty SEARCH on an existing file appends to it.
                        t.lines.extend(replace.iter().cloned());
                        t.final_newline = true;
                    }
                    (Some(t), false) => match locate(&t.lines, search, replace) {
                        Ok(found) => {
                            t.lines.splice(found.start..found.end, found.replacement);
                            self.out.tiers.push(found.tier);
                        }
                        Err(MatchError::NotFound { closest }) => {
                            let msg = format!(
                                "{rel}: the SEARCH block at reply line {line} matches nothing in the file"
                            );
                            self.fail(FailureKind::NotFound, line, Some(&rel), msg, closest);
                            return;
                        }
                        Err(MatchError::Ambiguous { starts, .. }) => {
                            let at: Vec<String> =
                                starts.iter().map(|s| (s + 1).to_string()).collect();
                            let msg = format!(
                                "{rel}: the SEARCH block at reply line {line} matches {} places (lines {}); include more lines to make it unique",
                                starts.len(),
                                at.join(", ")
                            );
                            self.fail(FailureKind::Ambiguous, line, Some(&rel), msg, None);
                            return;
                        }
                    },
                }
                self.slots.get_mut(&rel).expect("slot").touched = true;
            }
            Edit::WholeFile { path, content, .. } => {
                let Some(rel) = self.slot(path, line) else {
                    return;
                };
                let slot = self.slots.get_mut(&rel).expect("slot");
                let final_newline = slot
                    .current
                    .as_ref()
                    .is_none_or(|t| t.final_newline || t.lines.is_empty());
                // A whole file a quarter of the length of a long one is a
                // truncation, not a rewrite, unless the model says so with DELETE.
                let old = slot.current.as_ref().map_or(0, |t| t.lines.len());
                if old >= 60 && content.len() * 4 < old {
                    let msg = format!(
                        "the whole-file edit of {rel} (reply line {line}) keeps {} of its {old} lines: that looks like a cut-off reply; send SEARCH/REPLACE blocks for the parts that change",
                        content.len()
                    );
                    self.fail(FailureKind::Placeholder, line, Some(&rel), msg, None);
                    return;
                }
                let slot = self.slots.get_mut(&rel).expect("slot");
                let mut t = FileText::from_normalized("");
                t.lines = content.clone();
                t.final_newline = final_newline;
                slot.current = Some(t);
                slot.touched = true;
            }
            Edit::Delete { path, .. } => {
                let Some(rel) = self.existing_slot(path, line) else {
                    return;
                };
                if let Err(e) = self.guard.check_not_link(&rel) {
                    self.fail(FailureKind::Path, line, Some(&rel), e.to_string(), None);
                    return;
                }
                let slot = self.slots.get_mut(&rel).expect("slot");
                if slot.current.take().is_none() {
                    self.fail(
                        FailureKind::Missing,
                        line,
                        Some(&rel),
                        format!("{rel} does not exist, so it cannot be deleted"),
                        None,
                    );
                    return;
                }
                slot.touched = true;
            }
            Edit::Rename { from, to, .. } => {
                let (Some(from), Some(to)) = (self.existing_slot(from, line), self.slot(to, line))
                else {
                    return;
                };
                if let Err(e) = self.guard.check_not_link(&from) {
                    self.fail(FailureKind::Path, line, Some(&from), e.to_string(), None);
                    return;
                }
                if self.slots[&to].current.is_some() {
                    self.fail(
                        FailureKind::Exists,
                        line,
                        Some(&to),
                        format!("cannot rename {from} to {to}: {to} exists"),
                        None,
                    );
                    return;
                }
                let Some(text) = self.slots.get_mut(&from).and_then(|s| s.current.take()) else {
                    self.fail(
                        FailureKind::Missing,
                        line,
                        Some(&from),
                        format!("cannot rename {from}: it does not exist"),
                        None,
                    );
                    return;
                };
                let src = self.slots.get_mut(&from).expect("slot");
                src.moved = true;
                src.touched = true;
                let origin = src.renamed_from.clone().unwrap_or(from);
                let dst = self.slots.get_mut(&to).expect("slot");
                dst.current = Some(text);
                dst.renamed_from = Some(origin);
                dst.touched = true;
            }
        }
    }

    fn finish(mut self) -> Proposal {
        let mut files = Vec::new();
        for (rel, slot) in &self.slots {
            if !slot.touched {
                continue;
            }
            let base_of = |s: &Slot| {
                s.disk.as_ref().map(|(t, h)| {
                    (
                        Base {
                            hash: h.clone(),
                            crlf: t.crlf,
                            bom: t.bom,
                        },
                        t.text(),
                    )
                })
            };
            let new = slot.current.as_ref().map(FileText::text);
            let change = if let Some(from) = &slot.renamed_from {
                let Some((base, old)) = self.slots.get(from).and_then(base_of) else {
                    continue;
                };
                FileChange::new(
                    rel.clone(),
                    FileOp::Rename { from: from.clone() },
                    Some(base),
                    old,
                    new.unwrap_or_default(),
                )
            } else {
                match (base_of(slot), new) {
                    (None, None) => continue,
                    (None, Some(new)) => {
                        if slot.moved {
                            continue;
                        }
                        FileChange::new(rel.clone(), FileOp::Create, None, String::new(), new)
                    }
                    (Some(_), None) if slot.moved => continue,
                    (Some((base, old)), None) => {
                        FileChange::new(rel.clone(), FileOp::Delete, Some(base), old, String::new())
                    }
                    (Some((base, old)), Some(new)) => {
                        if old == new {
                            continue;
                        }
                        FileChange::new(rel.clone(), FileOp::Modify, Some(base), old, new)
                    }
                }
            };
            files.push(change);
        }
        self.out.changes = ChangeSet { files };
        self.out
    }
}

/// Repo-relative paths of the files under `root`, as the index would walk them.
fn list_files(root: &std::path::Path) -> Vec<String> {
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            e.path()
                .strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        })
        .take(MAX_LISTED)
        .collect()
}
