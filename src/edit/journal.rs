//! Undo and redo that survive a restart — and a crash. Every applied change
//! set is one entry in locus's state dir (per repository): the bytes each
//! file had before and after. Undo puts the before-bytes back only if the
//! files still hold the after-bytes, so it never overwrites someone else's
//! later work.
//!
//! Every apply, undo and redo runs under a lock on the repository's journal
//! (a second locus waits, then re-checks every file under the lock), and is
//! recorded as pending — with the before- and after-images — before the
//! first file is written. A pending record found later (a crash, a kill)
//! is rolled back to where the operation started, or marked done if it had
//! finished; stray temporary files of its writes are removed.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::apply::{ApplyError, Write, execute};
use super::fsio;
use super::paths::PathGuard;
use crate::config::Dirs;

/// Entries kept; older ones are dropped (they can no longer be undone).
const MAX_ENTRIES: usize = 100;
/// Bytes of before/after images kept; the oldest entries go first.
const MAX_BYTES: u64 = 256 * 1024 * 1024;
/// How long to wait for another locus to finish changing files.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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
    #[error(
        "another locus ({holder}) is changing files in this repository; try again when it is done"
    )]
    Busy { holder: String },
}

/// An operation recorded before its first write.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    id: String,
    /// "apply", "undo" or "redo".
    op: String,
}

/// What a recovery did with a pending operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub id: String,
    pub op: String,
    /// Whether it had finished (then it is kept) or was rolled back.
    pub finished: bool,
    /// Files that held neither image (changed by someone else meanwhile): left as they are.
    pub untouched: Vec<String>,
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
    /// Bytes of images kept at most.
    max_bytes: u64,
}

impl Journal {
    pub fn new(dir: PathBuf) -> Journal {
        Journal {
            dir,
            max_bytes: MAX_BYTES,
        }
    }

    /// The same journal keeping at most `bytes` of images.
    pub fn with_cap(mut self, bytes: u64) -> Journal {
        self.max_bytes = bytes;
        self
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

    /// Hold the repository's journal lock (waiting up to `LOCK_WAIT` for
    /// another locus), finishing or rolling back any interrupted operation first.
    fn lock(&self, guard: &PathGuard) -> Result<Lock, JournalError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.storage(&self.dir, e))?;
        let p = self.dir.join("lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&p)
            .map_err(|e| self.storage(&p, e))?;
        let start = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(&p).unwrap_or_default();
                    return Err(JournalError::Busy {
                        holder: format!("pid {}", holder.trim()),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(self.storage(&p, e)),
            }
        }
        {
            use std::io::{Seek as _, Write as _};
            let _ = file.set_len(0);
            let _ = file.seek(std::io::SeekFrom::Start(0));
            let _ = write!(file, "{}", std::process::id());
        }
        let lock = Lock { _file: file };
        self.recover_locked(guard)?;
        Ok(lock)
    }

    fn pending_file(&self) -> PathBuf {
        self.dir.join("pending.json")
    }

    fn set_pending(&self, p: Option<&Pending>) -> Result<(), JournalError> {
        let f = self.pending_file();
        match p {
            Some(p) => {
                let bytes = serde_json::to_vec(p).expect("pending serialize");
                fsio::write_atomic(&f, &bytes, private()).map_err(|e| self.storage(&f, e))
            }
            None => match std::fs::remove_file(&f) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.storage(&f, e)),
                _ => Ok(()),
            },
        }
    }

    /// Finish or roll back an operation a crash interrupted; what was done.
    /// When another locus holds the lock it is at work (and recovers what it
    /// finds itself): nothing is done here.
    pub fn recover(&self, guard: &PathGuard) -> Result<Option<Recovered>, JournalError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.storage(&self.dir, e))?;
        let p = self.dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| self.storage(&p, e))?;
        match file.try_lock() {
            Ok(()) => self.recover_locked(guard),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(self.storage(&p, e)),
        }
    }

    fn recover_locked(&self, guard: &PathGuard) -> Result<Option<Recovered>, JournalError> {
        let f = self.pending_file();
        let Some(bytes) = fsio::read_opt(&f).map_err(|e| self.storage(&f, e))? else {
            return Ok(None);
        };
        let Ok(p) = serde_json::from_slice::<Pending>(&bytes) else {
            // Torn before anything was written (it is written atomically).
            self.set_pending(None)?;
            return Ok(None);
        };
        let mut stacks = self.stacks()?;
        let finished = match p.op.as_str() {
            "apply" | "redo" => stacks.applied.last() == Some(&p.id),
            _ => stacks.undone.last() == Some(&p.id),
        };
        let mut untouched = Vec::new();
        if let Ok((_, writes)) = self.load(&p.id) {
            for w in &writes {
                clean_temps(&guard.root().join(&w.path));
            }
            if !finished {
                // Back to where the operation started, file by file.
                let (from, to): (Vec<Write>, Vec<Write>) = match p.op.as_str() {
                    "undo" => (writes.clone(), writes.iter().map(Write::inverse).collect()),
                    _ => (writes.iter().map(Write::inverse).collect(), writes.clone()),
                };
                for (start, done) in from.iter().zip(&to) {
                    let abs = match guard.check(&start.path) {
                        Ok(r) => r.abs,
                        Err(_) => continue,
                    };
                    let now = fsio::read_opt(&abs).ok().flatten();
                    let same = |b: &Option<Vec<u8>>| match (b, &now) {
                        (None, None) => true,
                        (Some(a), Some(n)) => super::text::hash(a) == super::text::hash(n),
                        _ => false,
                    };
                    if same(&start.after) {
                        continue;
                    }
                    if same(&done.after) {
                        let back = Write {
                            path: start.path.clone(),
                            before: done.after.clone(),
                            after: start.after.clone(),
                            perms_from: None,
                        };
                        if let Err(source) = execute(&[back], guard) {
                            return Err(JournalError::Apply {
                                action: "recover",
                                source,
                            });
                        }
                    } else {
                        untouched.push(start.path.clone());
                    }
                }
            }
        }
        if !finished && p.op == "apply" {
            let _ = std::fs::remove_dir_all(self.dir.join(&p.id));
            stacks.applied.retain(|i| i != &p.id);
            self.save(&stacks)?;
        }
        self.set_pending(None)?;
        tracing::warn!(id = %p.id, op = %p.op, finished, "recovered an interrupted journal operation");
        Ok(Some(Recovered {
            id: p.id,
            op: p.op,
            finished,
            untouched,
        }))
    }

    /// Perform `writes` and record them as one undoable step; returns the entry.
    pub fn apply(
        &self,
        writes: &[Write],
        summary: &str,
        guard: &PathGuard,
    ) -> Result<Entry, JournalError> {
        let _lock = self.lock(guard)?;
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
        self.set_pending(Some(&Pending {
            id: id.clone(),
            op: "apply".into(),
        }))?;
        if let Err(source) = execute(writes, guard) {
            let _ = std::fs::remove_dir_all(&edir);
            self.set_pending(None)?;
            return Err(JournalError::Apply {
                action: "apply",
                source,
            });
        }
        for old in stacks.undone.drain(..) {
            let _ = std::fs::remove_dir_all(self.dir.join(old));
        }
        stacks.applied.push(id);
        self.trim(&mut stacks);
        self.save(&stacks)?;
        self.set_pending(None)?;
        Ok(entry)
    }

    /// Drop the oldest entries past the count or size cap.
    fn trim(&self, stacks: &mut Stacks) {
        while stacks.applied.len() > MAX_ENTRIES {
            let old = stacks.applied.remove(0);
            let _ = std::fs::remove_dir_all(self.dir.join(old));
        }
        let size = |id: &String| dir_bytes(&self.dir.join(id));
        let mut total: u64 = stacks.applied.iter().map(size).sum();
        // The newest entry stays, however large.
        while total > self.max_bytes && stacks.applied.len() > 1 {
            let old = stacks.applied.remove(0);
            total = total.saturating_sub(size(&old));
            let _ = std::fs::remove_dir_all(self.dir.join(old));
        }
    }

    fn write_entry(&self, edir: &Path, entry: &Entry, writes: &[Write]) -> std::io::Result<()> {
        std::fs::create_dir_all(edir)?;
        // The images are copies of the user's files: readable by the user only.
        for (i, w) in writes.iter().enumerate() {
            for (side, bytes) in [("before", &w.before), ("after", &w.after)] {
                if let Some(b) = bytes {
                    fsio::write_atomic(&edir.join(format!("{i}.{side}")), b, private())?;
                }
            }
        }
        let json = serde_json::to_vec_pretty(entry).expect("entry serialize");
        fsio::write_atomic(&edir.join("entry.json"), &json, private())
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
        self.step(guard, false)
    }

    /// Redo the last undone entry; `None` when there is nothing to redo.
    pub fn redo(&self, guard: &PathGuard) -> Result<Option<Entry>, JournalError> {
        self.step(guard, true)
    }

    /// Move the newest entry from one stack to the other (undo: applied to
    /// undone, redo: back), writing its images under the lock, recorded as
    /// pending first.
    fn step(&self, guard: &PathGuard, redo: bool) -> Result<Option<Entry>, JournalError> {
        let _lock = self.lock(guard)?;
        let mut stacks = self.stacks()?;
        let from = if redo {
            &stacks.undone
        } else {
            &stacks.applied
        };
        let Some(id) = from.last().cloned() else {
            return Ok(None);
        };
        let (entry, writes) = self.load(&id)?;
        let writes: Vec<Write> = if redo {
            writes
        } else {
            writes.iter().rev().map(Write::inverse).collect()
        };
        let op = if redo { "redo" } else { "undo" };
        self.set_pending(Some(&Pending {
            id: id.clone(),
            op: op.into(),
        }))?;
        if let Err(source) = execute(&writes, guard) {
            self.set_pending(None)?;
            return Err(JournalError::Apply { action: op, source });
        }
        let (from, to) = if redo {
            (&mut stacks.undone, &mut stacks.applied)
        } else {
            (&mut stacks.applied, &mut stacks.undone)
        };
        from.pop();
        to.push(id);
        self.save(&stacks)?;
        self.set_pending(None)?;
        Ok(Some(entry))
    }

    /// Drop the newest applied entry without writing anything (an undo
    /// that cannot go through: the user changed the files since). The
    /// entry dropped, or `None` when there is none.
    pub fn skip(&self, guard: &PathGuard) -> Result<Option<Entry>, JournalError> {
        let _lock = self.lock(guard)?;
        let mut stacks = self.stacks()?;
        let Some(id) = stacks.applied.pop() else {
            return Ok(None);
        };
        let (entry, _) = self.load(&id)?;
        self.save(&stacks)?;
        let _ = std::fs::remove_dir_all(self.dir.join(&id));
        Ok(Some(entry))
    }

    /// Undo the newest applied entry even though its files changed since:
    /// the files get their images from before the change, and what the
    /// user had is kept in the entry, so `redo` brings it back.
    pub fn force_undo(&self, guard: &PathGuard) -> Result<Option<Entry>, JournalError> {
        let _lock = self.lock(guard)?;
        let mut stacks = self.stacks()?;
        let Some(id) = stacks.applied.last().cloned() else {
            return Ok(None);
        };
        let (mut entry, writes) = self.load(&id)?;
        // Each file as it is now stands in for the image the change wrote.
        let mut now = Vec::with_capacity(writes.len());
        for w in &writes {
            let abs = guard
                .check(&w.path)
                .map_err(|e| JournalError::Apply {
                    action: "undo",
                    source: e.into(),
                })?
                .abs;
            let current = fsio::read_opt(&abs).map_err(|e| self.storage(&abs, e))?;
            now.push(Write {
                after: current,
                ..w.clone()
            });
        }
        for (f, w) in entry.files.iter_mut().zip(&now) {
            f.after = w.after.is_some();
        }
        // Rewritten before anything moves: redo restores the user's version.
        let edir = self.dir.join(&id);
        self.write_entry(&edir, &entry, &now)
            .map_err(|e| self.storage(&edir, e))?;
        self.set_pending(Some(&Pending {
            id: id.clone(),
            op: "undo".into(),
        }))?;
        let inverse: Vec<Write> = now.iter().rev().map(Write::inverse).collect();
        if let Err(source) = execute(&inverse, guard) {
            self.set_pending(None)?;
            return Err(JournalError::Apply {
                action: "undo",
                source,
            });
        }
        stacks.applied.pop();
        stacks.undone.push(id);
        self.save(&stacks)?;
        self.set_pending(None)?;
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

/// Holds the journal lock while alive.
struct Lock {
    _file: std::fs::File,
}

/// Owner-only permissions for what the journal stores.
#[cfg(unix)]
fn private() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(std::fs::Permissions::from_mode(0o600))
}

/// Elsewhere the files inherit the user's profile directory's access rules.
#[cfg(not(unix))]
fn private() -> Option<std::fs::Permissions> {
    None
}

/// Bytes in the files of `dir` (one level).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Remove the temporary files an interrupted write of `path` left.
fn clean_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.locus-", name.to_string_lossy());
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix) && n.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_private_and_the_oldest_go_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        let guard = PathGuard::new(&root, crate::config::PathRules::new([]).unwrap()).unwrap();
        let journal = Journal::new(dir.path().join("journal")).with_cap(5_000);
        let big = |c: u8| vec![c; 1000];
        std::fs::write(root.join("a.txt"), big(b'a')).unwrap();
        let mut ids = Vec::new();
        for (i, c) in [b'b', b'c', b'd'].into_iter().enumerate() {
            let before = std::fs::read(root.join("a.txt")).unwrap();
            let w = Write {
                path: "a.txt".into(),
                before: Some(before),
                after: Some(big(c)),
                perms_from: None,
            };
            ids.push(
                journal
                    .apply(&[w], &format!("step {i}"), &guard)
                    .unwrap()
                    .id,
            );
        }
        for f in std::fs::read_dir(dir.path().join("journal").join(&ids[2]))
            .unwrap()
            .flatten()
        {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = f.metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", f.path().display());
            }
            #[cfg(not(unix))]
            let _ = f;
        }
        let kept: Vec<String> = journal
            .history()
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(kept, ids[1..], "the oldest entry went past the cap");
        assert!(!dir.path().join("journal").join(&ids[0]).exists());
    }
}
