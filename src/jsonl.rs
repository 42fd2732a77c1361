//! Append-only JSON-lines files (sessions, the audit log): one record per
//! line, synced as written; a torn last line (a crash mid-write) is skipped
//! when read back.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn append<T: Serialize>(file: &Path, record: &T) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    f.write_all(&line)?;
    f.sync_data()
}

/// The records of `file`; none when it does not exist.
pub fn read<T: DeserializeOwned>(file: &Path) -> std::io::Result<Vec<T>> {
    match std::fs::read_to_string(file) {
        Ok(t) => Ok(t
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
