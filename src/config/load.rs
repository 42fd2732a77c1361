//! Layered configuration: defaults in code, then the user file, then the repo
//! file, then `LOCUS_*` environment variables. Each layer is validated on its own
//! against the full schema first, so an error names the exact file, line and key
//! it came from; layers are then merged as TOML tables (a later table's keys
//! replace earlier ones; arrays are replaced, not appended).
//!
//! The repository's file is untrusted input (see `trust.rs`): its privacy
//! settings may only tighten (never-send/never-touch globs are added to the
//! user's, `local_only` can be switched on, never off), and what sends data or
//! runs a command is dropped unless the user trusted that exact file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use super::settings::Settings;
use super::trust::{self, TrustState};

/// A config layer that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {}{message}", key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: usize,
        key: Option<String>,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config: {message}")]
    Bound { message: String },
}

/// Where one layer came from, and whether it was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    User,
    Repo,
    Env,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub kind: SourceKind,
    /// File path, or the variable name for environment layers.
    pub origin: String,
    /// False when a file does not exist.
    pub present: bool,
}

/// The outcome of loading: merged settings plus every source consulted.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    pub sources: Vec<Source>,
    /// How far the repository's config file is trusted.
    pub trust: TrustState,
    /// The repository file's settings that need trust (whether or not applied).
    pub risky: Vec<String>,
    /// Those of them ignored because the file is not trusted.
    pub ignored: Vec<String>,
    /// Numbers that were out of bounds and clamped, said per key.
    pub warnings: Vec<String>,
}

impl Loaded {
    /// The one line that says what of the repository's file was ignored
    /// and how to trust it; `None` when nothing was.
    pub fn ignored_note(&self) -> Option<String> {
        if self.ignored.is_empty() {
            return None;
        }
        let why = match self.trust {
            TrustState::Changed => "it changed since you trusted it",
            _ => "this repository is not trusted",
        };
        Some(format!(
            "ignored from .locus/config.toml ({why}): {}; run `locus trust` to review and trust it",
            self.ignored.join(", ")
        ))
    }
}

/// Load and merge all layers, with the repository file untrusted (see
/// `load_with`).
pub fn load(
    user_file: &Path,
    repo_file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    load_with(user_file, repo_file, env, &|_| TrustState::Untrusted)
}

/// Load and merge all layers. `user_file` and `repo_file` may not exist; an
/// unreadable or invalid one is an error. `verdict` says whether the
/// repository file's text is trusted.
pub fn load_with(
    user_file: &Path,
    repo_file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    verdict: &dyn Fn(&str) -> TrustState,
) -> Result<Loaded, ConfigError> {
    let mut merged = Table::try_from(Settings::default()).expect("defaults serialize");
    let mut sources = Vec::new();
    let mut state = TrustState::NoFile;
    let (mut risky, mut ignored) = (Vec::new(), Vec::new());
    let files = [
        (SourceKind::User, Some(user_file)),
        (SourceKind::Repo, repo_file),
    ];
    for (kind, file) in files {
        let Some(file) = file else { continue };
        let present = match read_layer(file)? {
            Some((mut table, text)) => {
                if kind == SourceKind::Repo {
                    risky = trust::risky_keys(&table);
                    state = if risky.is_empty() {
                        TrustState::NotNeeded
                    } else {
                        verdict(&text)
                    };
                    if state != TrustState::Trusted {
                        ignored = trust::strip_risky(&mut table);
                    }
                    tighten_only(&merged, &mut table);
                }
                merge(&mut merged, table);
                true
            }
            None => false,
        };
        sources.push(Source {
            kind,
            origin: file.display().to_string(),
            present,
        });
    }
    let mut env: Vec<_> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("LOCUS_"))
        .collect();
    env.sort();
    for (var, raw) in env {
        let Some(path) = env_key(&var) else { continue };
        let layer = env_layer(&var, &path, &raw)?;
        merge(&mut merged, layer);
        sources.push(Source {
            kind: SourceKind::Env,
            origin: var,
            present: true,
        });
    }
    let mut settings =
        Settings::deserialize(Value::Table(merged)).map_err(|e| ConfigError::Env {
            var: "(merged)".into(),
            message: e.to_string(),
        })?;
    let warnings = settings
        .bound()
        .map_err(|message| ConfigError::Bound { message })?;
    Ok(Loaded {
        settings,
        sources,
        trust: state,
        risky,
        ignored,
        warnings,
    })
}

/// A repository file's privacy settings may only add protection: its
/// never-send/never-touch globs are added to those in force, and
/// `local_only` can be switched on but never off.
fn tighten_only(base: &Table, repo: &mut Table) {
    let Some(Value::Table(privacy)) = repo.get_mut("privacy") else {
        return;
    };
    if privacy.get("local_only").and_then(Value::as_bool) == Some(false) {
        privacy.remove("local_only");
    }
    let current = base.get("privacy").and_then(Value::as_table);
    for key in ["never_send", "never_touch"] {
        let Some(Value::Array(added)) = privacy.get(key) else {
            continue;
        };
        let mut all = current
            .and_then(|p| p.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for g in added {
            if !all.contains(g) {
                all.push(g.clone());
            }
        }
        privacy.insert(key.to_string(), Value::Array(all));
    }
}

/// Read and validate one file, and its text; `None` when it does not exist.
fn read_layer(path: &Path) -> Result<Option<(Table, String)>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Read {
                path: path.into(),
                source: e,
            });
        }
    };
    let invalid = |e: toml::de::Error| {
        let (line, key) = locate(&text, e.span());
        ConfigError::Invalid {
            path: path.into(),
            line,
            key,
            message: e.message().trim().to_string(),
        }
    };
    toml::from_str::<Settings>(&text).map_err(invalid)?;
    let table = text.parse::<Table>().map_err(invalid)?;
    Ok(Some((table, text)))
}

/// 1-based line of a span, and the dotted key written on that line (with the
/// enclosing `[table]` header), when there is one.
fn locate(text: &str, span: Option<std::ops::Range<usize>>) -> (usize, Option<String>) {
    let Some(span) = span else { return (1, None) };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .or_else(|| {
            let k = text[span.clone()].trim().trim_matches('"');
            (!k.is_empty() && !k.contains('\n') && !k.starts_with('[')).then(|| k.to_string())
        });
    let header = text
        .lines()
        .take(line_no - 1)
        .filter_map(|l| {
            let l = l.trim();
            (l.starts_with('[') && l.ends_with(']'))
                .then(|| l.trim_matches(['[', ']']).trim().to_string())
        })
        .last();
    let key = match (header, key) {
        (Some(h), Some(k)) => Some(format!("{h}.{k}")),
        (None, k) => k,
        (Some(h), None) => Some(h),
    };
    (line_no, key)
}

/// `LOCUS_UI__THEME` -> `["ui", "theme"]`; a few short aliases; `None` for
/// variables that are not config keys (e.g. `LOCUS_MODEL`, read elsewhere).
fn env_key(var: &str) -> Option<Vec<String>> {
    let rest = var.strip_prefix("LOCUS_")?;
    match rest {
        "THEME" => return Some(vec!["ui".into(), "theme".into()]),
        "LOG" => return Some(vec!["log".into(), "level".into()]),
        _ => {}
    }
    if !rest.contains("__") {
        return None;
    }
    Some(rest.split("__").map(|s| s.to_ascii_lowercase()).collect())
}

/// Build a one-key table from an environment variable and validate it. The
/// value is read as a TOML value when it parses as one (numbers, booleans,
/// arrays), otherwise as a plain string.
fn env_layer(var: &str, path: &[String], raw: &str) -> Result<Table, ConfigError> {
    let value = format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()));
    let mut table = Table::new();
    let mut cursor = &mut table;
    for (i, part) in path.iter().enumerate() {
        if i + 1 == path.len() {
            cursor.insert(part.clone(), value.clone());
        } else {
            cursor = cursor
                .entry(part.clone())
                .or_insert_with(|| Value::Table(Table::new()))
                .as_table_mut()
                .expect("fresh table");
        }
    }
    Settings::deserialize(Value::Table(table.clone())).map_err(|e| ConfigError::Env {
        var: var.into(),
        message: format!("key `{}`: {}", path.join("."), e.message().trim()),
    })?;
    Ok(table)
}

/// Deep-merge `over` into `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
