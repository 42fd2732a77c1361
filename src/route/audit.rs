//! The audit log of cloud requests: when, where, which files, how many
//! tokens, what it cost — never the content, never a key.

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
    crate::jsonl::append(file, e)
}

pub fn read(file: &Path) -> std::io::Result<Vec<AuditEntry>> {
    crate::jsonl::read(file)
}
