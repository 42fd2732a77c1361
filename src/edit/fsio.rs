//! Writing files so that a crash or a full disk never leaves half a file:
//! a temporary file in the same directory, fsync, rename over the target.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write as _;
use std::path::Path;

/// Replace (or create) `path` with `bytes` atomically. `perms` are applied to
/// the new file (the old file's, to keep an executable bit); `None` leaves the
/// process default (as any editor creating a file).
pub fn write_atomic(path: &Path, bytes: &[u8], perms: Option<Permissions>) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut n = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.locus-{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        file.write_all(bytes)?;
        if let Some(p) = perms {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Remove a file, and the directories above it (below `root`) that this leaves
/// empty, as git does; make the removal durable.
pub fn remove(path: &Path, root: &Path) -> std::io::Result<()> {
    fs::remove_file(path)?;
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            sync_dir(d);
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The bytes at `path`, `None` if there is no file.
pub fn read_opt(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
