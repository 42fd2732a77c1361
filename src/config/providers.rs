//! Cloud providers and where escalation goes. Keys are never in the config:
//! it names the environment variable (or a command) that holds them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, LM Studio,
    /// llama.cpp's server, OpenRouter, Gemini's compatible endpoint).
    Openai,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini `streamGenerateContent`.
    Gemini,
}

/// One named provider (`[providers.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    /// As the provider's SDKs take it, e.g. `http://localhost:8000/v1`; empty: the provider's own.
    #[serde(default)]
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the key (none for a local server without auth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// A command printing the key (e.g. `pass show openai`), when no variable is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_cmd: Option<String>,
    /// US dollars per million prompt tokens, for the cost estimate.
    #[serde(default)]
    pub price_in_per_mtok: f64,
    /// US dollars per million generated tokens.
    #[serde(default)]
    pub price_out_per_mtok: f64,
    /// Tokens of context the model takes.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Most tokens asked for in an answer.
    #[serde(default = "default_max_output")]
    pub max_output_tokens: usize,
    #[serde(default = "default_connect")]
    pub connect_timeout_s: u64,
    /// Longest silence while a reply streams.
    #[serde(default = "default_idle")]
    pub idle_timeout_s: u64,
    /// Retries after 429 and 5xx (honouring Retry-After).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
}

fn default_window() -> usize {
    32_768
}
fn default_max_output() -> usize {
    4096
}
fn default_connect() -> u64 {
    10
}
fn default_idle() -> u64 {
    60
}
fn default_retries() -> u32 {
    3
}

impl ProviderSettings {
    /// The base URL in force (the provider's public API when none is set).
    pub fn base(&self) -> String {
        let b = if self.base_url.trim().is_empty() {
            match self.kind {
                ProviderKind::Openai => "https://api.openai.com/v1",
                ProviderKind::Anthropic => "https://api.anthropic.com",
                ProviderKind::Gemini => "https://generativelanguage.googleapis.com/v1beta",
            }
        } else {
            self.base_url.trim()
        };
        b.trim_end_matches('/').to_string()
    }
}

/// Where escalation goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSettings {
    /// The provider `--cloud` and the escalation key use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
}

pub type Providers = BTreeMap<String, ProviderSettings>;
