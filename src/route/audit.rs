//! The audit log of cloud requests: when, where, which files, how many
//! tokens, what it cost — never the content, never a key.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Dirs;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time: u64,
    pub provider: String,
    pub model: String,
    pub files: Vec<String>,
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub cost_usd: f64,
    /// "ok", "cut", "cancelled" or the error.
    pub outcome: String,
}

pub fn audit_file(dirs: &Dirs, root: &Path) -> PathBuf {
    Dirs::per_repo(&dirs.state, root).join("audit.jsonl")
}

pub fn append(file: &Path, e: &AuditEntry) -> std::io::Result<()> {
    if let Some(d) = file.parent() {
        std::fs::create_dir_all(d)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
    line.push(b'\n');
    f.write_all(&line)?;
    f.sync_data()
}

pub fn read(file: &Path) -> std::io::Result<Vec<AuditEntry>> {
    match std::fs::read_to_string(file) {
        Ok(t) => Ok(t
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
