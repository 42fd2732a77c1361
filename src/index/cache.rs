//! The index on disk, per repository, in locus's cache dir. A header with a
//! magic, a format version and a checksum guards it: a corrupt, truncated or
//! old-format cache is detected and rebuilt, never trusted.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file::FileEntry;
use super::names::Names;

const MAGIC: &[u8; 8] = b"LOCUSIDX";
/// Bump when `CacheData` or the meaning of its fields changes.
const FORMAT: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
pub struct CacheData {
    pub root: String,
    /// Hash of everything that changes what a scan produces: settings, queries, locus version.
    pub fingerprint: u64,
    /// When the cache was written; files modified within a second of it are re-hashed.
    pub saved_at_ns: u64,
    pub names: Names,
    pub files: Vec<FileEntry>,
    pub dirs: BTreeSet<String>,
}

/// Why a cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache yet")]
    Missing,
    #[error("cache unreadable: {0}")]
    Io(#[from] std::io::Error),
    #[error("cache is corrupt ({0}); rebuilding")]
    Corrupt(&'static str),
    #[error("cache was written by another format ({0}); rebuilding")]
    OldFormat(u32),
    #[error("cache is for other settings or another locus; rebuilding")]
    Stale,
}

pub fn cache_file(cache_dir: &Path) -> PathBuf {
    cache_dir.join("index.bin")
}

/// Load the cache if it is intact and was made for this root and fingerprint.
pub fn load(cache_dir: &Path, root: &str, fingerprint: u64) -> Result<CacheData, CacheError> {
    remove_stale_temps(cache_dir);
    let bytes = match std::fs::read(cache_file(cache_dir)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CacheError::Missing),
        Err(e) => return Err(e.into()),
    };
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return Err(CacheError::Corrupt("bad header"));
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if format != FORMAT {
        return Err(CacheError::OldFormat(format));
    }
    let sum = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
    let payload = &bytes[20..];
    if xxhash_rust::xxh3::xxh3_64(payload) != sum {
        return Err(CacheError::Corrupt("checksum mismatch"));
    }
    let mut data: CacheData =
        postcard::from_bytes(payload).map_err(|_| CacheError::Corrupt("undecodable"))?;
    if data.root != root || data.fingerprint != fingerprint {
        return Err(CacheError::Stale);
    }
    let n = data.names.len() as u32;
    let names_ok = data.files.iter().all(|f| {
        f.defs
            .iter()
            .all(|d| d.name < n && d.container.is_none_or(|c| c < n))
            && f.refs.iter().all(|r| r.name < n)
    });
    if !names_ok {
        return Err(CacheError::Corrupt("dangling name"));
    }
    data.names.rebuild_lookup();
    Ok(data)
}

/// Remove the temporary files of saves that a killed locus left: those of
/// processes that no longer run (older than a day where that cannot be told).
pub fn remove_stale_temps(cache_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("index.") else {
            continue;
        };
        if !name.ends_with(".tmp") {
            continue;
        }
        let pid: Option<u32> = rest.split('.').next().and_then(|p| p.parse().ok());
        let proc = Path::new("/proc");
        let gone = match pid {
            Some(p) if proc.is_dir() => {
                p != std::process::id() && !proc.join(p.to_string()).exists()
            }
            _ => e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 24 * 3600),
        };
        if gone {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Write the cache atomically (temp file in the same dir, then rename).
pub fn save(cache_dir: &Path, data: &CacheData) -> std::io::Result<()> {
    std::fs::create_dir_all(cache_dir)?;
    remove_stale_temps(cache_dir);
    let payload = postcard::to_stdvec(data).map_err(std::io::Error::other)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("index.{}.", std::process::id()))
        .suffix(".tmp")
        .tempfile_in(cache_dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(&FORMAT.to_le_bytes())?;
    tmp.write_all(&xxhash_rust::xxh3::xxh3_64(&payload).to_le_bytes())?;
    tmp.write_all(&payload)?;
    // No fsync: a cache cut short by a crash fails its checksum and is rebuilt.
    tmp.persist(cache_file(cache_dir)).map_err(|e| e.error)?;
    Ok(())
}
