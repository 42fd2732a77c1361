//! Undo and redo that survive a restart. Every applied change set is one
//! entry in locus's state dir (per repository): the bytes each file had
//! before and after. Undo puts the before-bytes back only if the files still
//! hold the after-bytes, so it never overwrites someone else's later work.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::apply::{ApplyError, Write, execute};
use super::fsio;
use super::paths::PathGuard;
use crate::config::Dirs;

/// Entries kept; older ones are dropped (they can no longer be undone).
const MAX_ENTRIES: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {action}: {source}")]
    Apply {
        action: &'static str,
        #[source]
        source: ApplyError,
    },
    #[error("undo journal {path}: {message}")]
    Storage { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stacks {
    applied: Vec<String>,
    undone: Vec<String>,
}

/// One applied change set, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub summary: String,
    pub files: Vec<EntryFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryFile {
    pub path: String,
    /// The file existed before / after (its bytes are in the entry's blobs).
    pub before: bool,
    pub after: bool,
}

pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub fn new(dir: PathBuf) -> Journal {
        Journal { dir }
    }

    /// The journal of the repository at `root`, under locus's state dir.
    pub fn for_repo(dirs: &Dirs, root: &Path) -> Journal {
        Journal::new(Dirs::per_repo(&dirs.state, root).join("journal"))
    }

    fn storage(&self, path: &Path, e: impl std::fmt::Display) -> JournalError {
        JournalError::Storage {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    fn stacks(&self) -> Result<Stacks, JournalError> {
        let p = self.dir.join("stacks.json");
        match fsio::read_opt(&p).map_err(|e| self.storage(&p, e))? {
            None => Ok(Stacks::default()),
            Some(b) => serde_json::from_slice(&b).map_err(|e| self.storage(&p, e)),
        }
    }

    fn save(&self, s: &Stacks) -> Result<(), JournalError> {
        let p = self.dir.join("stacks.json");
        let bytes = serde_json::to_vec_pretty(s).expect("stacks serialize");
        fsio::write_atomic(&p, &bytes, None).map_err(|e| self.storage(&p, e))
    }

    /// Perform `writes` and record them as one undoable step; returns the entry.
    pub fn apply(
        &self,
        writes: &[Write],
        summary: &str,
        guard: &PathGuard,
    ) -> Result<Entry, JournalError> {
        let mut stacks = self.stacks()?;
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let id = format!("{}-{:04x}", time, rand::random::<u16>());
        let entry = Entry {
            id: id.clone(),
            time,
            summary: summary.to_string(),
            files: writes
                .iter()
                .map(|w| EntryFile {
                    path: w.path.clone(),
                    before: w.before.is_some(),
                    after: w.after.is_some(),
                })
                .collect(),
        };
        let edir = self.dir.join(&id);
        self.write_entry(&edir, &entry, writes)
            .map_err(|e| self.storage(&edir, e))?;
        if let Err(source) = execute(writes, guard) {
            let _ = std::fs::remove_dir_all(&edir);
            return Err(JournalError::Apply {
                action: "apply",
                source,
            });
        }
        for old in stacks.undone.drain(..) {
            let _ = std::fs::remove_dir_all(self.dir.join(old));
        }
        stacks.applied.push(id);
        while stacks.applied.len() > MAX_ENTRIES {
            let old = stacks.applied.remove(0);
            let _ = std::fs::remove_dir_all(self.dir.join(old));
        }
        self.save(&stacks)?;
        Ok(entry)
    }

    fn write_entry(&self, edir: &Path, entry: &Entry, writes: &[Write]) -> std::io::Result<()> {
        std::fs::create_dir_all(edir)?;
        for (i, w) in writes.iter().enumerate() {
            for (side, bytes) in [("before", &w.before), ("after", &w.after)] {
                if let Some(b) = bytes {
                    fsio::write_atomic(&edir.join(format!("{i}.{side}")), b, None)?;
                }
            }
        }
        let json = serde_json::to_vec_pretty(entry).expect("entry serialize");
        fsio::write_atomic(&edir.join("entry.json"), &json, None)
    }

    fn load(&self, id: &str) -> Result<(Entry, Vec<Write>), JournalError> {
        let edir = self.dir.join(id);
        let p = edir.join("entry.json");
        let bytes = std::fs::read(&p).map_err(|e| self.storage(&p, e))?;
        let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| self.storage(&p, e))?;
        let mut writes = Vec::new();
        for (i, f) in entry.files.iter().enumerate() {
            let blob = |side: &str, present: bool| -> Result<Option<Vec<u8>>, JournalError> {
                if !present {
                    return Ok(None);
                }
                let p = edir.join(format!("{i}.{side}"));
                std::fs::read(&p).map(Some).map_err(|e| self.storage(&p, e))
            };
            writes.push(Write {
                path: f.path.clone(),
                before: blob("before", f.before)?,
                after: blob("after", f.after)?,
                perms_from: None,
            });
        }
        Ok((entry, writes))
    }

    /// Undo the last applied entry; `None` when there is nothing to undo.
    pub fn undo(&self, guard: &PathGuard) -> Result<Option<Entry>, JournalError> {
        let mut stacks = self.stacks()?;
        let Some(id) = stacks.applied.last().cloned() else {
            return Ok(None);
        };
        let (entry, writes) = self.load(&id)?;
        let inverse: Vec<Write> = writes.iter().rev().map(Write::inverse).collect();
        execute(&inverse, guard).map_err(|source| JournalError::Apply {
            action: "undo",
            source,
        })?;
        stacks.applied.pop();
        stacks.undone.push(id);
        self.save(&stacks)?;
        Ok(Some(entry))
    }

    /// Redo the last undone entry; `None` when there is nothing to redo.
    pub fn redo(&self, guard: &PathGuard) -> Result<Option<Entry>, JournalError> {
        let mut stacks = self.stacks()?;
        let Some(id) = stacks.undone.last().cloned() else {
            return Ok(None);
        };
        let (entry, writes) = self.load(&id)?;
        execute(&writes, guard).map_err(|source| JournalError::Apply {
            action: "redo",
            source,
        })?;
        stacks.undone.pop();
        stacks.applied.push(id);
        self.save(&stacks)?;
        Ok(Some(entry))
    }

    /// Applied entries, newest last.
    pub fn history(&self) -> Result<Vec<Entry>, JournalError> {
        let stacks = self.stacks()?;
        stacks
            .applied
            .iter()
            .map(|id| self.load(id).map(|(e, _)| e))
            .collect()
    }
}
