//! Themes and tree-sitter queries: shipped inside the binary (see build.rs),
//! overridable per user by a file at the same relative path under the config
//! dir (`~/.config/locus/themes/dark.toml`, `~/.config/locus/queries/rust/tags.scm`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_assets.rs"));
}

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("no asset `{0}`: neither shipped with locus nor in the config dir")]
    Missing(String),
    #[error("cannot read override {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Every embedded asset as (relative path, contents).
pub fn embedded() -> &'static [(&'static str, &'static str)] {
    embedded::EMBEDDED
}

/// The shipped version of one asset.
pub fn embedded_asset(rel: &str) -> Option<&'static str> {
    embedded::EMBEDDED
        .iter()
        .find(|(p, _)| *p == rel)
        .map(|(_, c)| *c)
}

/// Looks assets up in an override directory first, then in the binary.
#[derive(Debug, Clone)]
pub struct Assets {
    override_dir: Option<PathBuf>,
}

impl Assets {
    /// `override_dir` is normally the config dir; `None` uses only what shipped.
    pub fn new(override_dir: Option<&Path>) -> Assets {
        Assets {
            override_dir: override_dir.map(Path::to_path_buf),
        }
    }

    /// The override file for `rel`, when one exists.
    pub fn override_path(&self, rel: &str) -> Option<PathBuf> {
        let p = self.override_dir.as_ref()?.join(rel);
        p.is_file().then_some(p)
    }

    /// Contents of `rel` (e.g. `themes/dark.toml`), the user's override winning.
    pub fn get(&self, rel: &str) -> Result<Cow<'static, str>, AssetError> {
        if let Some(path) = self.override_path(rel) {
            return std::fs::read_to_string(&path)
                .map(Cow::Owned)
                .map_err(|source| AssetError::Read { path, source });
        }
        embedded_asset(rel)
            .map(Cow::Borrowed)
            .ok_or_else(|| AssetError::Missing(rel.into()))
    }

    /// Names of the themes available: shipped ones and the user's.
    pub fn theme_names(&self) -> Vec<String> {
        let mut names: Vec<String> = embedded()
            .iter()
            .filter_map(|(p, _)| p.strip_prefix("themes/")?.strip_suffix(".toml"))
            .map(String::from)
            .collect();
        if let Some(dir) = &self.override_dir
            && let Ok(rd) = std::fs::read_dir(dir.join("themes"))
        {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(stem) = name.strip_suffix(".toml") {
                    names.push(stem.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_wins_over_embedded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(dir.path().join("themes/dark.toml"), "# mine\n").unwrap();
        std::fs::write(dir.path().join("themes/mine.toml"), "").unwrap();
        let assets = Assets::new(Some(dir.path()));
        assert_eq!(assets.get("themes/dark.toml").unwrap(), "# mine\n");
        assert!(assets.theme_names().contains(&"mine".to_string()));
        assert!(assets.theme_names().contains(&"light".to_string()));
        let plain = Assets::new(None);
        assert_ne!(plain.get("themes/dark.toml").unwrap(), "# mine\n");
        assert!(matches!(
            plain.get("themes/none.toml"),
            Err(AssetError::Missing(_))
        ));
    }
}
