//! The repository walk: which files locus looks at. Honours .gitignore (also
//! outside git), .ignore, global git excludes, .git/info/exclude and
//! `.locusignore`; skips configured vendored/generated directories and never
//! follows symlinks (so it cannot leave the repository or loop).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use ignore::WalkState;
use ignore::overrides::OverrideBuilder;

use crate::config::IndexSettings;

/// One file the walk accepted.
#[derive(Debug, Clone)]
pub struct Walked {
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u64,
}

/// Everything one walk found.
#[derive(Debug, Default)]
pub struct WalkResult {
    pub files: Vec<Walked>,
    /// Directories walked into (relative, `/`-separated; the root is "").
    pub dirs: BTreeSet<String>,
    /// Paths that could not be read, with the reason.
    pub errors: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("bad exclude glob `{glob}` in [index] exclude: {message}")]
    Glob { glob: String, message: String },
}

/// The name of the ignore file locus reads besides git's.
pub const LOCUS_IGNORE: &str = ".locusignore";

pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// `path` relative to `root` with `/` separators, or `None` outside it.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    Some(parts.join("/"))
}

fn builder(
    root: &Path,
    start: &Path,
    settings: &IndexSettings,
) -> Result<ignore::WalkBuilder, WalkError> {
    let mut overrides = OverrideBuilder::new(root);
    for glob in &settings.exclude {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|e| WalkError::Glob {
                glob: glob.clone(),
                message: e.to_string(),
            })?;
    }
    let overrides = overrides.build().map_err(|e| WalkError::Glob {
        glob: "*".into(),
        message: e.to_string(),
    })?;
    let skip: BTreeSet<String> = settings.skip_dirs.iter().cloned().collect();
    let mut b = ignore::WalkBuilder::new(start);
    b.hidden(false)
        .follow_links(false)
        .require_git(false)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .ignore(true)
        .parents(true)
        .add_custom_ignore_filename(LOCUS_IGNORE)
        .overrides(overrides)
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && e.depth() > 0 && skip.contains(e.file_name().to_string_lossy().as_ref()))
        });
    Ok(b)
}

/// Walk the whole tree under `root`, in parallel.
pub fn walk(
    root: &Path,
    settings: &IndexSettings,
    threads: usize,
) -> Result<WalkResult, WalkError> {
    walk_from(root, root, settings, threads, None)
}

/// Walk `start` (a directory under `root`), to `max_depth` levels when given.
pub fn walk_from(
    root: &Path,
    start: &Path,
    settings: &IndexSettings,
    threads: usize,
    max_depth: Option<usize>,
) -> Result<WalkResult, WalkError> {
    let mut b = builder(root, start, settings)?;
    b.threads(threads).max_depth(max_depth);
    let result = Mutex::new(WalkResult::default());
    let root_buf: PathBuf = root.to_path_buf();
    b.build_parallel().run(|| {
        let result = &result;
        let root = &root_buf;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    let path = match &err {
                        ignore::Error::WithPath { path, .. } => {
                            relative(root, path).unwrap_or_default()
                        }
                        _ => String::new(),
                    };
                    result.lock().unwrap().errors.push((path, err.to_string()));
                    return WalkState::Continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue;
            };
            let Some(rel) = relative(root, entry.path()) else {
                return WalkState::Continue;
            };
            if entry
                .path()
                .strip_prefix(root)
                .is_ok_and(|r| r.to_str().is_none())
            {
                // Its name could not be written back: say so, once, not
                // "No such file" later.
                if ft.is_file() {
                    result.lock().unwrap().errors.push((
                        rel,
                        "its name is not valid UTF-8; locus leaves it out".into(),
                    ));
                }
                return WalkState::Continue;
            }
            if ft.is_dir() {
                result.lock().unwrap().dirs.insert(rel);
            } else if ft.is_file() {
                match entry.metadata() {
                    Ok(meta) => {
                        let w = Walked {
                            rel,
                            size: meta.len(),
                            mtime_ns: mtime_ns(&meta),
                        };
                        result.lock().unwrap().files.push(w);
                    }
                    Err(e) => result.lock().unwrap().errors.push((rel, e.to_string())),
                }
            }
            WalkState::Continue
        })
    });
    let mut result = result.into_inner().unwrap();
    result.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(result)
}
