//! Reading one file into a `FileEntry`: the checks that keep bad input out
//! (binary, too large, minified, unreadable) and the tags extraction.

use std::path::Path;

use crate::config::IndexSettings;

use super::file::FileStatus;
use super::lang::Lang;
use super::queries::Queries;
use super::tags::{self, Definition, Reference};

/// What scanning one file produced, before names are interned.
#[derive(Debug)]
pub struct Scanned {
    pub hash: u64,
    pub lang: Option<Lang>,
    pub status: FileStatus,
    pub lines: u32,
    pub defs: Vec<Definition>,
    pub refs: Vec<Reference>,
}

impl Scanned {
    fn status(status: FileStatus) -> Scanned {
        Scanned {
            hash: 0,
            lang: None,
            status,
            lines: 0,
            defs: Vec::new(),
            refs: Vec::new(),
        }
    }
}

/// Hash of a file's contents as the cache records it.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Scan the file at `abs` (whose size the walk saw as `size`).
pub fn scan(abs: &Path, size: u64, settings: &IndexSettings, queries: &Queries) -> Scanned {
    if size > settings.max_file_bytes {
        return Scanned::status(FileStatus::TooLarge);
    }
    let bytes = match std::fs::read(abs) {
        Ok(b) => b,
        Err(e) => return Scanned::status(FileStatus::Failed(format!("cannot read: {e}"))),
    };
    scan_bytes(abs, &bytes, settings, queries)
}

pub fn scan_bytes(
    path: &Path,
    bytes: &[u8],
    settings: &IndexSettings,
    queries: &Queries,
) -> Scanned {
    let hash = content_hash(bytes);
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Scanned {
            hash,
            ..Scanned::status(FileStatus::Binary)
        };
    }
    let lines = bytes.split(|b| *b == b'\n').count() as u32;
    let longest = bytes
        .split(|b| *b == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    let lang = Lang::detect(path, head);
    let mut out = Scanned {
        hash,
        lang,
        lines,
        ..Scanned::status(FileStatus::Unsupported)
    };
    if longest as u64 > settings.max_line_bytes {
        out.status = FileStatus::Minified;
        return out;
    }
    let Some(lang) = lang else { return out };
    let query = match queries.get(lang) {
        Ok(q) => q,
        Err(e) => {
            out.status = FileStatus::Failed(e.to_string());
            return out;
        }
    };
    match tags::extract(query, bytes) {
        Ok((defs, refs)) => {
            out.status = FileStatus::Parsed;
            out.defs = defs;
            out.refs = refs;
        }
        Err(e) => out.status = FileStatus::Failed(e.to_string()),
    }
    out
}
