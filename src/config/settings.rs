//! The settings locus runs with. Defaults live here, in code; files and the
//! environment only patch them (see `load.rs`). Every struct denies unknown
//! keys so a typo in a config file is an error, not a silently ignored line.

use serde::{Deserialize, Serialize};

use super::PrivacySettings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub model: ModelSettings,
    pub context: ContextSettings,
    pub index: IndexSettings,
    pub ui: UiSettings,
    pub log: LogSettings,
    pub cache: CacheSettings,
    pub privacy: PrivacySettings,
    pub providers: super::Providers,
    pub route: super::RouteSettings,
    /// Commands that check the code (tests, linters), by name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub checks: std::collections::BTreeMap<String, CheckSettings>,
    pub agent: AgentSettings,
    pub tools: ToolsSettings,
    pub mcp: McpSettings,
}

/// `[mcp]`: MCP servers the model's tools may come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpSettings {
    /// `[mcp.servers.NAME]`
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub servers: std::collections::BTreeMap<String, McpServerSettings>,
}

/// One stdio MCP server: started as `command args…` with `env` added, in
/// the repository root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerSettings {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// `[tools]`: tools beyond the built-in ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsSettings {
    /// "off": the model cannot run commands of its own; "ask": it may
    /// propose a shell command, shown and confirmed each time (a
    /// repository's file sets this only once trusted).
    pub shell: String,
    /// A shell command is killed after this many seconds.
    pub shell_timeout_s: u64,
}

impl Default for ToolsSettings {
    fn default() -> Self {
        ToolsSettings {
            shell: "off".into(),
            shell_timeout_s: 120,
        }
    }
}

/// One check (`[checks.NAME]`): a command run in the repository root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// Run through `sh -c`, in the repository root, in its own process group.
    pub command: String,
    /// Run after every applied edit; a failure goes back to the model.
    #[serde(default)]
    pub after_edit: bool,
    /// Killed (the whole process group) after this long.
    #[serde(default = "default_check_timeout")]
    pub timeout_s: u64,
}

fn default_check_timeout() -> u64 {
    600
}

/// How far the model may go on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentSettings {
    /// Tool calls in one task at most.
    pub max_steps: usize,
    /// Fixes asked for after a check fails following an edit.
    pub fix_attempts: usize,
    /// "ask": a check runs the first time per session only when approved;
    /// "checks": configured checks run without asking.
    pub approve: String,
    /// Whether `ask` and `edit` run the tool loop (the model may search,
    /// read and run checks); `--no-tools` turns it off for one run.
    pub tools: bool,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            max_steps: 12,
            fix_attempts: 2,
            approve: "ask".into(),
            tools: true,
        }
    }
}

/// The local model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// A GGUF file or a name from `locus models`; unset: `$LOCUS_MODEL` or the only model found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A provider to use as the local model (one whose placement is local:
    /// an Ollama, llama.cpp or LM Studio server of the user's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Compute threads; 0 means one per physical core.
    pub threads: usize,
    /// Tokens of context (prompt and answer) the local model is used with;
    /// more needs more memory for its cache.
    pub context: usize,
    /// When the local runtime drafts tokens from the prompt (speculative
    /// decoding; the reply is the same, only sooner): for edits, always, off.
    pub draft: DraftWhen,
    /// Tokens drafted per pass at most.
    pub draft_max: usize,
    /// A Gemma 4 MTP assistant GGUF paired with the model (unset: one named
    /// *assistant*.gguf beside it, if any): answers are drafted with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drafter: Option<String>,
    /// A Gemma 4 vision projector (mmproj) GGUF for the model (unset: one
    /// named mmproj*.gguf beside it, if any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmproj: Option<String>,
    /// Soft tokens an attached image may take at most (70 to 1120; more
    /// reads small text better and costs prompt time).
    pub image_tokens: usize,
    /// Where the local model computes: "auto" (the GPU this build was made
    /// for when there is one, else the CPU, said), "cpu", "cuda", "cuda:N",
    /// "metal"; `LOCUS_DEVICE` stands in for it when set.
    pub device: String,
}

/// When the local runtime drafts (`[model] draft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DraftWhen {
    /// Edit replies, which mostly copy the prompt's text.
    #[default]
    Edits,
    Always,
    Off,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            path: None,
            provider: None,
            threads: 0,
            context: 8192,
            draft: DraftWhen::Edits,
            draft_max: 8,
            drafter: None,
            mmproj: None,
            image_tokens: 280,
            device: "auto".into(),
        }
    }
}

/// How a prompt's token budget is shared between its parts (fractions of
/// what is left after the system prompt, the request and the answer's room).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextSettings {
    /// Tokens kept free for the answer; 0: an eighth of the window, at least 512.
    pub answer_tokens: usize,
    pub instructions: f32,
    pub repo_map: f32,
    /// Of the request's room: the most one file's content may take (unless
    /// the question names it; pinned files go whole).
    pub files: f32,
    /// Of the request's room: outlines and callers'/callees' signatures.
    pub snippets: f32,
    pub history: f32,
}

impl Default for ContextSettings {
    fn default() -> Self {
        ContextSettings {
            answer_tokens: 0,
            instructions: 0.08,
            repo_map: 0.17,
            files: 0.50,
            snippets: 0.25,
            history: 0.25,
        }
    }
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
    /// Key bindings that replace the defaults: action name -> key or keys.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub keys: std::collections::BTreeMap<String, super::Keys>,
    /// Draw in the terminal's alternate screen (off: the conversation is
    /// drawn on the main screen, and what was there stays in the scrollback).
    pub alternate_screen: bool,
    /// Take the mouse (wheel scrolling); off, the terminal's own selection
    /// and copy work as usual.
    pub mouse: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            theme: "dark".into(),
            keys: Default::default(),
            alternate_screen: true,
            mouse: true,
        }
    }
}

/// `[cache]`: what locus keeps on disk to answer sooner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Bytes of prefix snapshots (the local model's cache at the end of a
    /// stable prompt prefix, read back by the next process) kept at most;
    /// the least recently used go first. 0 turns them off.
    pub kv_snapshot_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            kv_snapshot_bytes: 2 << 30,
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

impl Settings {
    /// Keep numbers within what locus can use, whatever set them: an
    /// absurd value that can be clamped is, with a warning naming the key;
    /// one that cannot mean anything is an error naming it.
    pub fn bound(&mut self) -> Result<Vec<String>, String> {
        let mut warnings = Vec::new();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let most = cores * 4;
        for (key, v) in [
            ("model.threads", &mut self.model.threads),
            ("index.threads", &mut self.index.threads),
        ] {
            if *v > most {
                warnings.push(format!(
                    "{key} = {v} is more than 4 per core ({cores} cores): using {most}"
                ));
                *v = most;
            }
        }
        if !matches!(self.tools.shell.as_str(), "off" | "ask") {
            return Err(format!(
                "key `tools.shell`: {:?} is neither \"off\" nor \"ask\"",
                self.tools.shell
            ));
        }
        if !matches!(self.agent.approve.as_str(), "ask" | "checks") {
            return Err(format!(
                "key `agent.approve`: {:?} is neither \"ask\" nor \"checks\"",
                self.agent.approve
            ));
        }
        if self.model.draft_max > 64 {
            warnings.push(format!(
                "model.draft_max = {} is more than 64: using 64",
                self.model.draft_max
            ));
            self.model.draft_max = 64;
        }
        if self.agent.max_steps > 200 {
            warnings.push(format!(
                "agent.max_steps = {} is more than 200: using 200",
                self.agent.max_steps
            ));
            self.agent.max_steps = 200;
        }
        for (name, c) in self.checks.iter_mut() {
            if c.timeout_s == 0 || c.timeout_s > 24 * 3600 {
                warnings.push(format!(
                    "checks.{name}.timeout_s = {} is outside 1..=86400: using 600",
                    c.timeout_s
                ));
                c.timeout_s = 600;
            }
        }
        if !(256..=1 << 20).contains(&self.model.context) {
            return Err(format!(
                "key `model.context`: {} tokens is outside 256..=1048576",
                self.model.context
            ));
        }
        if self.context.answer_tokens > self.model.context / 2 {
            warnings.push(format!(
                "context.answer_tokens = {} is more than half of model.context: using {}",
                self.context.answer_tokens,
                self.model.context / 2
            ));
            self.context.answer_tokens = self.model.context / 2;
        }
        let c = &self.context;
        for (key, v) in [
            ("context.instructions", c.instructions),
            ("context.repo_map", c.repo_map),
            ("context.files", c.files),
            ("context.snippets", c.snippets),
            ("context.history", c.history),
        ] {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                return Err(format!("key `{key}`: {v} is not a share between 0 and 1"));
            }
        }
        const GIB: u64 = 1 << 30;
        if self.index.max_file_bytes > GIB {
            warnings.push(format!(
                "index.max_file_bytes = {} is more than 1 GiB: using 1 GiB",
                self.index.max_file_bytes
            ));
            self.index.max_file_bytes = GIB;
        }
        for (name, p) in self.providers.iter_mut() {
            if p.max_retries > 20 {
                warnings.push(format!(
                    "providers.{name}.max_retries = {} is more than 20: using 20",
                    p.max_retries
                ));
                p.max_retries = 20;
            }
            for (key, v) in [
                ("connect_timeout_s", &mut p.connect_timeout_s),
                ("idle_timeout_s", &mut p.idle_timeout_s),
            ] {
                if *v > 3600 {
                    warnings.push(format!(
                        "providers.{name}.{key} = {v} is more than an hour: using 3600"
                    ));
                    *v = 3600;
                }
            }
            if p.window == 0 || p.window > 10_000_000 {
                return Err(format!(
                    "key `providers.{name}.window`: {} tokens is outside 1..=10000000",
                    p.window
                ));
            }
            if p.max_output_tokens > p.window {
                warnings.push(format!(
                    "providers.{name}.max_output_tokens = {} is more than its window: using {}",
                    p.max_output_tokens, p.window
                ));
                p.max_output_tokens = p.window;
            }
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_numbers_are_clamped_or_refused_by_key() {
        let mut s = Settings::default();
        s.model.threads = 100_000;
        s.index.threads = 100_000;
        let w = s.bound().unwrap();
        assert!(
            w.iter().any(|w| w.contains("model.threads = 100000")),
            "{w:?}"
        );
        assert!(s.model.threads <= 4 * 1024 && s.index.threads == s.model.threads);
        let mut s = Settings::default();
        s.model.context = 10;
        assert!(s.bound().unwrap_err().contains("model.context"));
        let mut s = Settings::default();
        s.context.files = 3.0;
        assert!(s.bound().unwrap_err().contains("context.files"));
        assert!(Settings::default().bound().unwrap().is_empty());
    }
}
