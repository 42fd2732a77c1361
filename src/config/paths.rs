//! Where locus keeps its own files. XDG layout on every platform (as helix and
//! most terminal tools do), so a user finds config in the same place everywhere.

use std::path::{Path, PathBuf};

/// locus's own directories: config (read), state (logs, sessions, journals),
/// cache (index). Nothing else outside a repository is ever written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub state: PathBuf,
    pub cache: PathBuf,
}

impl Dirs {
    /// Resolve from `XDG_CONFIG_HOME`, `XDG_STATE_HOME`, `XDG_CACHE_HOME`, falling
    /// back to `~/.config`, `~/.local/state`, `~/.cache` (on Windows to
    /// `%APPDATA%\locus` and `%LOCALAPPDATA%\locus`).
    pub fn from_env() -> Dirs {
        let home = dirs::home_dir().unwrap_or_else(|| PathBuf::from("."));
        let xdg = |var: &str, fallback: &[&str]| -> PathBuf {
            match std::env::var_os(var) {
                Some(v) if !v.is_empty() && Path::new(&v).is_absolute() => PathBuf::from(v),
                _ => fallback.iter().fold(home.clone(), |p, s| p.join(s)),
            }
        };
        let set = |var: &str| {
            std::env::var_os(var).is_some_and(|v| !v.is_empty() && Path::new(&v).is_absolute())
        };
        // On Windows, without XDG variables: %APPDATA% and %LOCALAPPDATA%.
        if cfg!(windows)
            && !set("XDG_CONFIG_HOME")
            && let (Some(roaming), Some(local)) = (dirs::config_dir(), dirs::data_local_dir())
        {
            return Dirs {
                config: roaming.join("locus"),
                state: local.join("locus").join("state"),
                cache: local.join("locus").join("cache"),
            };
        }
        Dirs {
            config: xdg("XDG_CONFIG_HOME", &[".config"]).join("locus"),
            state: xdg("XDG_STATE_HOME", &[".local", "state"]).join("locus"),
            cache: xdg("XDG_CACHE_HOME", &[".cache"]).join("locus"),
        }
    }

    /// The user's config file.
    pub fn user_config_file(&self) -> PathBuf {
        self.config.join("config.toml")
    }

    /// The log file that tracing writes to.
    pub fn log_file(&self) -> PathBuf {
        self.state.join("locus.log")
    }

    /// A per-repository subdirectory of `base` (state or cache): the repo's
    /// folder name plus a hash of its canonical path, so two clones never share.
    pub fn per_repo(base: &Path, root: &Path) -> PathBuf {
        let canon = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let hash = xxhash_rust::xxh3::xxh3_64(canon.as_os_str().as_encoded_bytes());
        let name: String = canon
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".into())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        base.join("repos").join(format!("{name}-{hash:016x}"))
    }
}

/// The repository's own config file, relative to its root.
pub fn repo_config_file(root: &Path) -> PathBuf {
    root.join(".locus").join("config.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_repo_dirs_differ_for_different_roots() {
        let base = Path::new("/tmp/cache");
        let a = Dirs::per_repo(base, Path::new("/nonexistent/a/proj"));
        let b = Dirs::per_repo(base, Path::new("/nonexistent/b/proj"));
        assert_ne!(a, b);
        assert!(a.to_string_lossy().contains("proj-"));
    }
}
