//! Sessions on disk: one JSONL file per conversation in the repository's
//! state dir, appended as turns happen, so a crash loses nothing said.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Turn;
use crate::config::Dirs;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Meta {
        id: String,
        created: u64,
        root: String,
    },
    Turn(Box<Turn>),
    /// A summary replacing the first `covers` turns.
    Summary {
        text: String,
        covers: usize,
    },
}

/// A saved session, as `locus sessions` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub created: u64,
    pub updated: u64,
    pub turns: usize,
    pub first: String,
    /// Lines of its file that were damaged (a write cut short) and skipped.
    #[serde(skip_serializing_if = "is_zero")]
    pub damaged: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The sessions directory of the repository at `root`.
pub fn sessions_dir(dirs: &Dirs, root: &Path) -> PathBuf {
    Dirs::per_repo(&dirs.state, root).join("sessions")
}

pub fn append(file: &Path, record: &Record) -> std::io::Result<()> {
    crate::jsonl::append(file, record)
}

/// The records of a session file; a torn last line (a crash mid-write) is skipped.
/// The records, and how many damaged lines were skipped.
pub fn read_counting(file: &Path) -> std::io::Result<(Vec<Record>, usize)> {
    if !file.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such session file",
        ));
    }
    crate::jsonl::read_counting(file)
}

/// Saved sessions, newest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<SessionInfo>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        let (records, damaged) = read_counting(&p)?;
        let Some(Record::Meta { id, created, .. }) = records.first().cloned() else {
            continue;
        };
        let turns: Vec<&Turn> = records
            .iter()
            .filter_map(|r| {
                if let Record::Turn(t) = r {
                    Some(t.as_ref())
                } else {
                    None
                }
            })
            .collect();
        out.push(SessionInfo {
            id,
            created,
            updated: turns.last().map_or(created, |t| t.time),
            turns: turns.len(),
            first: turns
                .first()
                .map(|t| t.question.lines().next().unwrap_or_default().to_string())
                .unwrap_or_default(),
            damaged,
        });
    }
    out.sort_by(|a, b| b.updated.cmp(&a.updated).then(b.id.cmp(&a.id)));
    Ok(out)
}
