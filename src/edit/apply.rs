//! Writing accepted changes: every file is checked first (still what it was
//! when proposed, path still allowed), then written atomically; if any write
//! fails, the files already written are put back. A change set applies
//! completely or not at all.

use std::path::PathBuf;

use similar::TextDiff;

use super::changeset::{ChangeSet, FileOp, Outcome};
use super::fsio;
use super::paths::{PathError, PathGuard};
use super::text::hash;

/// One file's transition from `before` to `after` (`None`: no file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub path: String,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
    /// Take the new file's permissions from this path (a rename's source).
    pub perms_from: Option<String>,
}

impl Write {
    /// The same transition backwards (undo).
    pub fn inverse(&self) -> Write {
        Write {
            path: self.path.clone(),
            before: self.after.clone(),
            after: self.before.clone(),
            perms_from: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("{path} {reason}; nothing was written{}", if .diff.is_empty() { String::new() } else { format!("\n{}", .diff) })]
    Conflict {
        path: String,
        reason: String,
        diff: String,
    },
    #[error(
        "{0} is read-only; make it writable (chmod u+w) to let locus change it; nothing was written"
    )]
    ReadOnly(String),
    #[error("cannot write {path}: {source}; every file written before it was restored")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The writes that apply a change set's accepted parts.
pub fn writes_for(changes: &ChangeSet) -> Vec<Write> {
    let mut out = Vec::new();
    for f in &changes.files {
        let before = f.base.as_ref().map(|_| f.encode(&f.old));
        let w = |path: &str, before: Option<Vec<u8>>, after: Option<Vec<u8>>| Write {
            path: path.to_string(),
            before,
            after,
            perms_from: None,
        };
        match f.outcome() {
            Outcome::Nothing => {}
            Outcome::Write(text) => out.push(w(&f.path, before, Some(f.encode(&text)))),
            Outcome::Remove => out.push(w(&f.path, before, None)),
            Outcome::Move { from, text } => {
                out.push(w(&from, before, None));
                let mut to = w(&f.path, None, Some(f.encode(&text)));
                to.perms_from = Some(from);
                out.push(to);
            }
        }
        debug_assert!(f.base.is_some() || matches!(f.op, FileOp::Create));
    }
    out
}

struct Checked<'a> {
    write: &'a Write,
    abs: PathBuf,
    perms: Option<std::fs::Permissions>,
}

/// Check every write against the disk, then perform them all or none.
pub fn execute(writes: &[Write], guard: &PathGuard) -> Result<(), ApplyError> {
    let mut checked = Vec::with_capacity(writes.len());
    for w in writes {
        let abs = guard.check(&w.path)?.abs;
        if w.after.is_none() {
            guard.check_not_link(&w.path)?;
        }
        if std::fs::metadata(&abs).is_ok_and(|m| m.permissions().readonly()) {
            return Err(ApplyError::ReadOnly(w.path.clone()));
        }
        let current = fsio::read_opt(&abs).map_err(|source| ApplyError::Io {
            path: w.path.clone(),
            source,
        })?;
        if let Some(reason) = conflict(w.before.as_deref(), current.as_deref()) {
            return Err(ApplyError::Conflict {
                path: w.path.clone(),
                reason: reason.into(),
                diff: conflict_diff(&w.path, w.before.as_deref(), current.as_deref()),
            });
        }
        let perm_source = match (&current, &w.perms_from) {
            (Some(_), _) => Some(abs.clone()),
            (None, Some(from)) => Some(guard.check(from)?.abs),
            (None, None) => None,
        };
        let perms = perm_source
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.permissions());
        checked.push(Checked {
            write: w,
            abs,
            perms,
        });
    }
    for (i, c) in checked.iter().enumerate() {
        if let Err(source) = perform(
            &c.abs,
            c.write.after.as_deref(),
            c.perms.clone(),
            guard.root(),
        ) {
            for done in checked[..i].iter().rev() {
                let _ = perform(
                    &done.abs,
                    done.write.before.as_deref(),
                    done.perms.clone(),
                    guard.root(),
                );
            }
            return Err(ApplyError::Io {
                path: c.write.path.clone(),
                source,
            });
        }
    }
    Ok(())
}

fn perform(
    abs: &std::path::Path,
    bytes: Option<&[u8]>,
    perms: Option<std::fs::Permissions>,
    root: &std::path::Path,
) -> std::io::Result<()> {
    match bytes {
        Some(b) => fsio::write_atomic(abs, b, perms),
        None => match fsio::remove(abs, root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        },
    }
}

fn conflict(expected: Option<&[u8]>, current: Option<&[u8]>) -> Option<&'static str> {
    match (expected, current) {
        (None, Some(_)) => Some("exists on disk now (it did not when the change was made)"),
        (Some(_), None) => Some("was deleted since the change was made"),
        (Some(e), Some(c)) if hash(e) != hash(c) => {
            Some("changed on disk since the change was made")
        }
        _ => None,
    }
}

/// How the file on disk differs from what the change expected, briefly.
fn conflict_diff(path: &str, expected: Option<&[u8]>, current: Option<&[u8]>) -> String {
    let (Some(e), Some(c)) = (expected, current) else {
        return String::new();
    };
    let (e, c) = (String::from_utf8_lossy(e), String::from_utf8_lossy(c));
    let diff = TextDiff::from_lines(e.as_ref(), c.as_ref());
    let text = diff
        .unified_diff()
        .context_radius(1)
        .header(&format!("{path} (expected)"), &format!("{path} (on disk)"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() > 40 {
        format!(
            "{}\n… {} more lines",
            lines[..40].join("\n"),
            lines.len() - 40
        )
    } else {
        text
    }
}
