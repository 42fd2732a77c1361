//! The settings locus runs with. Defaults live here, in code; files and the
//! environment only patch them (see `load.rs`). Every struct denies unknown
//! keys so a typo in a config file is an error, not a silently ignored line.

use serde::{Deserialize, Serialize};

use super::PrivacySettings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub model: ModelSettings,
    pub index: IndexSettings,
    pub ui: UiSettings,
    pub log: LogSettings,
    pub privacy: PrivacySettings,
}

/// The local model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// A GGUF file or a name from `locus models`; unset: `$LOCUS_MODEL` or the only model found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Compute threads; 0 means one per physical core.
    pub threads: usize,
}

/// How the repository is walked and indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexSettings {
    /// Files larger than this are not parsed.
    pub max_file_bytes: u64,
    /// A file whose longest line exceeds this is treated as minified/generated.
    pub max_line_bytes: u64,
    /// Directory names skipped anywhere in the tree (vendored or generated code).
    pub skip_dirs: Vec<String>,
    /// Extra gitignore-style globs to leave out, on top of .gitignore/.locusignore.
    pub exclude: Vec<String>,
    /// Watch the tree for changes while locus runs.
    pub watch: bool,
    /// Worker threads for parsing; 0 means one per core.
    pub threads: usize,
}

impl Default for IndexSettings {
    fn default() -> Self {
        IndexSettings {
            max_file_bytes: 1024 * 1024,
            max_line_bytes: 4096,
            skip_dirs: [
                "node_modules",
                "vendor",
                "third_party",
                "target",
                "dist",
                "build",
                "out",
                ".venv",
                "venv",
                "__pycache__",
                ".git",
                ".hg",
                ".svn",
                ".tox",
                ".mypy_cache",
                ".next",
                "bower_components",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            exclude: Vec::new(),
            watch: true,
            threads: 0,
        }
    }
}

/// What the terminal UI looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiSettings {
    /// Theme name: one shipped in themes/ or a file in the config dir's themes/.
    pub theme: String,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            theme: "dark".into(),
        }
    }
}

/// Log file verbosity (the log never goes to the terminal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter such as `info` or `locus=debug`; `-v` and `RUST_LOG` override.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
        }
    }
}
