//! Where an edit may write. A model names paths; a path that climbs out of the
//! repository (`..`, an absolute path, a symlink pointing out), reaches into
//! `.git/`, or matches a never-touch glob is refused before anything is read.

use std::path::{Component, Path, PathBuf};

use crate::config::PathRules;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{0:?} is not a usable file path")]
    Invalid(String),
    #[error("{0} is an absolute path; edits take paths relative to the repository root")]
    Absolute(String),
    #[error("{0} leaves the repository (`..`); edits stay inside the repository root")]
    Parent(String),
    #[error("{0} is inside .git/; locus never edits git's own files")]
    GitDir(String),
    #[error("{path} matches the never-touch glob `{glob}` (privacy.never_touch); not edited")]
    NeverTouch { path: String, glob: String },
    #[error("{path} resolves to {target}, outside the repository; not edited")]
    Outside { path: String, target: String },
    #[error(
        "{path} is a symbolic link (to {target}); locus does not delete or rename links: name the file itself, or do it yourself"
    )]
    Symlink { path: String, target: String },
    #[error("{path} is not a regular file ({kind}); locus edits regular files only")]
    NotRegular { path: String, kind: &'static str },
    #[error(
        "{0} decides what locus sends and runs; locus never writes it — edit it yourself (and `locus trust` it)"
    )]
    TrustFile(String),
    #[error(
        "{0} is inside a bare repository (git's own files: config, hooks); locus never edits them"
    )]
    BareRepository(String),
}

/// A path that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Normalized, repo-relative, `/`-separated.
    pub rel: String,
    /// The real file to read and write (symlinks inside the repo followed).
    pub abs: PathBuf,
}

#[derive(Debug, Clone)]
pub struct PathGuard {
    root: PathBuf,
    /// The root is a git directory (a bare repository): nothing is editable.
    git_dir: bool,
    never_touch: PathRules,
    /// Where the user is, relative to the root ("" at the root).
    cwd_rel: String,
}

impl PathGuard {
    /// `root` is the repository's working tree root.
    pub fn new(root: &Path, never_touch: PathRules) -> std::io::Result<PathGuard> {
        let root = root.canonicalize()?;
        let git_dir = root.join("HEAD").is_file()
            && root.join("objects").is_dir()
            && root.join("refs").is_dir();
        Ok(PathGuard {
            root,
            git_dir,
            never_touch,
            cwd_rel: String::new(),
        })
    }

    /// Note the directory the user works in, so a path a model wrote relative
    /// to it can be found.
    pub fn with_cwd(mut self, cwd: &Path) -> PathGuard {
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
        if let Ok(rel) = cwd.strip_prefix(&self.root) {
            self.cwd_rel = rel.to_string_lossy().replace('\\', "/");
        }
        self
    }

    /// The working directory relative to the root ("" at the root).
    pub fn cwd_rel(&self) -> &str {
        &self.cwd_rel
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Check a path a model (or the journal) names.
    pub fn check(&self, path: &str) -> Result<Resolved, PathError> {
        let rel = self.normalize(path)?;
        self.rules(&rel, &rel)?;
        let abs = self.root.join(&rel);
        let real = match std::fs::symlink_metadata(&abs) {
            Ok(_) => abs.canonicalize().map_err(|_| PathError::Outside {
                path: rel.clone(),
                target: "a missing target (dangling symlink)".into(),
            })?,
            Err(_) => {
                // A new file: its nearest existing ancestor must be inside.
                let mut existing = abs.as_path();
                while std::fs::symlink_metadata(existing).is_err() {
                    existing = existing.parent().unwrap_or(&self.root);
                }
                let canon = existing
                    .canonicalize()
                    .map_err(|_| PathError::Invalid(path.into()))?;
                canon.join(abs.strip_prefix(existing).unwrap_or(Path::new("")))
            }
        };
        let real_rel = real
            .strip_prefix(&self.root)
            .map_err(|_| PathError::Outside {
                path: rel.clone(),
                target: real.display().to_string(),
            })?;
        let real_rel_s = real_rel.to_string_lossy().replace('\\', "/");
        if real_rel_s != rel {
            self.rules(&real_rel_s, &rel)?;
        }
        if let Ok(m) = std::fs::metadata(&real) {
            let ft = m.file_type();
            let kind = if ft.is_file() {
                None
            } else if ft.is_dir() {
                Some("a directory")
            } else {
                Some(special_kind(&ft))
            };
            if let Some(kind) = kind {
                return Err(PathError::NotRegular { path: rel, kind });
            }
        }
        Ok(Resolved { rel, abs: real })
    }

    /// Refuse `path` when it is itself a symbolic link: deleting or renaming
    /// it must not act on the file it points to.
    pub fn check_not_link(&self, path: &str) -> Result<(), PathError> {
        let rel = self.normalize(path)?;
        let abs = self.root.join(&rel);
        match std::fs::symlink_metadata(&abs) {
            Ok(m) if m.file_type().is_symlink() => Err(PathError::Symlink {
                path: rel,
                target: std::fs::read_link(&abs)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default(),
            }),
            _ => Ok(()),
        }
    }

    fn normalize(&self, path: &str) -> Result<String, PathError> {
        let p = path.trim();
        if p.is_empty() || p.contains('\0') {
            return Err(PathError::Invalid(path.into()));
        }
        if p.starts_with('/')
            || p.starts_with('\\')
            || Path::new(p).is_absolute()
            || p.as_bytes().get(1) == Some(&b':')
        {
            return Err(PathError::Absolute(p.into()));
        }
        let mut parts = Vec::new();
        for c in Path::new(&p.replace('\\', "/")).components() {
            match c {
                Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => return Err(PathError::Parent(p.into())),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(PathError::Absolute(p.into()));
                }
            }
        }
        if parts.is_empty() {
            return Err(PathError::Invalid(path.into()));
        }
        Ok(parts.join("/"))
    }

    fn rules(&self, rel: &str, named: &str) -> Result<(), PathError> {
        if self.git_dir {
            return Err(PathError::BareRepository(named.into()));
        }
        if rel.split('/').any(|c| c.eq_ignore_ascii_case(".git")) {
            return Err(PathError::GitDir(named.into()));
        }
        let parts: Vec<&str> = rel.split('/').collect();
        if parts.windows(2).any(|w| {
            w[0].eq_ignore_ascii_case(".locus") && w[1].eq_ignore_ascii_case("config.toml")
        }) {
            return Err(PathError::TrustFile(named.into()));
        }
        if let Some(glob) = self.never_touch.matching(Path::new(rel)) {
            return Err(PathError::NeverTouch {
                path: named.into(),
                glob: glob.into(),
            });
        }
        Ok(())
    }
}

/// The paths' checks, with real symlinks (Unix).
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::config::PrivacySettings;

    #[test]
    fn refuses_escapes_git_and_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(dir.path().join("outside.txt"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("link-out")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("dir-out")).unwrap();
        std::os::unix::fs::symlink("src", root.join("src-link")).unwrap();
        std::os::unix::fs::symlink(".env", root.join("innocent")).unwrap();
        std::fs::write(root.join(".env"), "K=1").unwrap();
        let g = PathGuard::new(
            &root,
            PrivacySettings::default().never_touch_rules().unwrap(),
        )
        .unwrap();
        assert_eq!(g.check("./src//a.rs").unwrap().rel, "src/a.rs");
        assert!(matches!(g.check("../x"), Err(PathError::Parent(_))));
        assert!(matches!(g.check("src/../../x"), Err(PathError::Parent(_))));
        assert!(matches!(
            g.check("/etc/passwd"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(g.check("C:\\x"), Err(PathError::Absolute(_))));
        assert!(matches!(g.check(".git/config"), Err(PathError::GitDir(_))));
        assert!(matches!(
            g.check("sub/.GIT/hooks/pre-commit"),
            Err(PathError::GitDir(_))
        ));
        assert!(matches!(
            g.check("config/.env.prod"),
            Err(PathError::NeverTouch { .. })
        ));
        assert!(matches!(
            g.check("innocent"),
            Err(PathError::NeverTouch { .. })
        ));
        assert!(matches!(
            g.check("link-out"),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(
            g.check("dir-out/new.txt"),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(g.check(""), Err(PathError::Invalid(_))));
        let r = g.check("src-link/new.rs").unwrap();
        assert_eq!(r.abs, root.canonicalize().unwrap().join("src/new.rs"));
    }
}

/// What a file that is neither a regular file nor a directory is.
#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if ft.is_fifo() {
        "a named pipe"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a file"
}
