//! Append-only JSON-lines files (sessions, the audit log): one record per
//! line, owner-only, synced as written. Every append starts on a fresh
//! line, so a line torn by a crash (cut mid-record or mid-character) never
//! swallows the next record; reading skips only the damaged lines, and
//! says how many.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn append<T: Serialize>(file: &Path, record: &T) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = {
        let mut o = std::fs::OpenOptions::new();
        o.create(true).read(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            o.mode(0o600);
        }
        o.open(file)?
    };
    let mut line = Vec::new();
    // A torn last line (no newline at the end) is closed first.
    let len = f.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.push(b'\n');
        }
    }
    line.extend(serde_json::to_vec(record).map_err(std::io::Error::other)?);
    line.push(b'\n');
    f.write_all(&line)?;
    f.sync_data()
}

/// The records of `file` (none when it does not exist) and how many lines
/// were damaged and skipped.
pub fn read_counting<T: DeserializeOwned>(file: &Path) -> std::io::Result<(Vec<T>, usize)> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut damaged = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(r) => records.push(r),
            Err(_) => damaged += 1,
        }
    }
    if damaged > 0 {
        tracing::warn!(file = %file.display(), damaged, "skipped damaged lines");
    }
    Ok((records, damaged))
}

/// The records of `file`; none when it does not exist. Damaged lines are
/// skipped (see `read_counting` to learn how many).
pub fn read<T: DeserializeOwned>(file: &Path) -> std::io::Result<Vec<T>> {
    read_counting(file).map(|(r, _)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct R {
        n: u32,
        s: String,
    }

    #[test]
    fn torn_lines_are_skipped_and_never_swallow_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("log.jsonl");
        append(
            &f,
            &R {
                n: 1,
                s: "ä".into(),
            },
        )
        .unwrap();
        // A crash mid-record, mid-character.
        let mut bytes = std::fs::read(&f).unwrap();
        bytes.extend_from_slice(b"{\"n\":2,\"s\":\"\xc3");
        std::fs::write(&f, &bytes).unwrap();
        append(
            &f,
            &R {
                n: 3,
                s: "x".into(),
            },
        )
        .unwrap();
        let (records, damaged): (Vec<R>, usize) = read_counting(&f).unwrap();
        assert_eq!(damaged, 1);
        assert_eq!(records.iter().map(|r| r.n).collect::<Vec<_>>(), [1, 3]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
