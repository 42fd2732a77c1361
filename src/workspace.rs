//! Where locus was started: the directory, the repository around it (if any),
//! locus's own dirs, and the settings in force there (read once, with the
//! repository's file trusted or not). Every command starts here.

use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use crate::config::{self, ConfigError, Dirs, Loaded, TrustStore};
use crate::git::{self, RepoInfo};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot use directory {path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory locus was started in (canonical).
    pub cwd: PathBuf,
    /// The repository's working tree root, or `cwd` when there is no repository.
    pub root: PathBuf,
    /// The repository, `Ok(None)` when there is none, `Err` when git failed.
    pub repo: Result<Option<RepoInfo>, String>,
    pub dirs: Dirs,
    /// The settings, once read successfully.
    loaded: OnceLock<Loaded>,
}

impl Workspace {
    /// Detect the workspace around `dir` (default: the current directory).
    pub fn detect(dir: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        let start = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|source| WorkspaceError::Dir {
                path: ".".into(),
                source,
            })?,
        };
        let cwd = start.canonicalize().map_err(|source| WorkspaceError::Dir {
            path: start.clone(),
            source,
        })?;
        if !cwd.is_dir() {
            let source = std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory");
            return Err(WorkspaceError::Dir {
                path: start,
                source,
            });
        }
        let repo = git::discover(&cwd).map_err(|e| e.to_string());
        let root = match &repo {
            Ok(Some(RepoInfo {
                workdir: Some(w), ..
            })) => w.clone(),
            _ => cwd.clone(),
        };
        Ok(Workspace {
            cwd,
            root,
            repo,
            dirs: Dirs::from_env(),
            loaded: OnceLock::new(),
        })
    }

    /// The repository's config file (`<root>/.locus/config.toml`).
    pub fn repo_config_file(&self) -> PathBuf {
        config::repo_config_file(&self.root)
    }

    /// Settings in force here: defaults, user file, repo file (its risky
    /// settings only when trusted), `LOCUS_*`. Read once per process.
    pub fn settings(&self) -> Result<Loaded, ConfigError> {
        if let Some(l) = self.loaded.get() {
            return Ok(l.clone());
        }
        let store = self.trust_store();
        let loaded = config::load_with(
            &self.dirs.user_config_file(),
            Some(&self.repo_config_file()),
            std::env::vars(),
            &|text| store.verdict(&self.root, text),
        )?;
        Ok(self.loaded.get_or_init(|| loaded).clone())
    }

    /// Where the user's trust in repositories' config files is recorded.
    pub fn trust_store(&self) -> TrustStore {
        TrustStore::new(&self.dirs.state)
    }

    /// This repository's folder under locus's cache dir.
    pub fn cache_dir(&self) -> PathBuf {
        Dirs::per_repo(&self.dirs.cache, &self.root)
    }

    /// Where prefix snapshots are kept (shared by every repository: they
    /// are keyed by the model and the prompt's tokens).
    pub fn kv_dir(&self) -> PathBuf {
        self.dirs.cache.join("kv")
    }

    /// This repository's folder under locus's state dir.
    pub fn state_dir(&self) -> PathBuf {
        Dirs::per_repo(&self.dirs.state, &self.root)
    }
}
