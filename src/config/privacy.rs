//! Which repository paths must never leave the machine or be written by a
//! model's edit. The defaults always apply; the user's globs add to them, so a
//! config file can never switch off the protection of keys and `.env` files.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

/// Never sent to a cloud model (on top of the user's `privacy.never_send`).
pub const DEFAULT_NEVER_SEND: &[&str] = &[
    ".env*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
    "secrets/**",
];

/// Never written by an edit (on top of the user's `privacy.never_touch`).
pub const DEFAULT_NEVER_TOUCH: &[&str] = DEFAULT_NEVER_SEND;

/// What may leave the machine, and what a model may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacySettings {
    /// Extra globs of files never sent to a cloud model.
    pub never_send: Vec<String>,
    /// Extra globs of files an edit may never write, delete or rename.
    pub never_touch: Vec<String>,
    /// Disable cloud escalation entirely.
    pub local_only: bool,
}

impl PrivacySettings {
    /// The never-touch rules: defaults plus the user's.
    pub fn never_touch_rules(&self) -> Result<PathRules, globset::Error> {
        PathRules::new(
            DEFAULT_NEVER_TOUCH
                .iter()
                .copied()
                .chain(self.never_touch.iter().map(String::as_str)),
        )
    }

    /// The never-send rules: defaults plus the user's.
    pub fn never_send_rules(&self) -> Result<PathRules, globset::Error> {
        PathRules::new(
            DEFAULT_NEVER_SEND
                .iter()
                .copied()
                .chain(self.never_send.iter().map(String::as_str)),
        )
    }
}

/// A set of gitignore-flavoured globs over repo-relative paths: a glob matches
/// at any depth (`.env*` matches `api/.env.local`), and a directory glob
/// (`secrets/**`) matches everything below such a directory.
#[derive(Debug, Clone)]
pub struct PathRules {
    set: GlobSet,
    globs: Vec<String>,
}

impl PathRules {
    pub fn new<'a>(globs: impl IntoIterator<Item = &'a str>) -> Result<PathRules, globset::Error> {
        let mut b = GlobSetBuilder::new();
        let mut kept = Vec::new();
        for g in globs {
            let g = g.trim().trim_start_matches('/');
            if g.is_empty() {
                continue;
            }
            for pat in [g.to_string(), format!("**/{g}")] {
                b.add(Glob::new(&pat)?);
            }
            kept.push(g.to_string());
        }
        Ok(PathRules {
            set: b.build()?,
            globs: kept,
        })
    }

    /// The glob that matches `rel` (a path relative to the repository root), if any.
    pub fn matching(&self, rel: &Path) -> Option<&str> {
        self.set
            .matches(rel)
            .first()
            .map(|&i| self.globs[i / 2].as_str())
    }

    pub fn globs(&self) -> &[String] {
        &self.globs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_at_any_depth_and_user_globs_add() {
        let p = PrivacySettings {
            never_touch: vec!["config/prod.toml".into()],
            ..Default::default()
        };
        let r = p.never_touch_rules().unwrap();
        assert_eq!(r.matching(Path::new(".env")), Some(".env*"));
        assert_eq!(r.matching(Path::new("api/.env.local")), Some(".env*"));
        assert_eq!(
            r.matching(Path::new("deploy/secrets/db.txt")),
            Some("secrets/**")
        );
        assert_eq!(r.matching(Path::new("certs/server.pem")), Some("*.pem"));
        assert_eq!(
            r.matching(Path::new("config/prod.toml")),
            Some("config/prod.toml")
        );
        assert_eq!(r.matching(Path::new("src/main.rs")), None);
        assert_eq!(r.matching(Path::new("src/environment.rs")), None);
    }
}
