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

/// Where a provider's model runs, when its address does not say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderPlacement {
    /// On the user's own machine or network: no preview, no guard.
    Local,
    /// Off the machine: every request passes the privacy gate.
    Cloud,
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
    /// `local` or `cloud`; unset: local when `base_url` is loopback
    /// (127.0.0.0/8, ::1, localhost) or a unix socket, else cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<ProviderPlacement>,
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

    /// Whether the model runs on this machine (or one the user marked as
    /// theirs): then it needs no preview and no privacy guard.
    pub fn is_local(&self) -> bool {
        match self.placement {
            Some(p) => p == ProviderPlacement::Local,
            None => !self.base_url.trim().is_empty() && is_loopback_url(&self.base()),
        }
    }
}

/// Whether `url` points at this machine: a unix socket, `localhost`, an
/// address in 127.0.0.0/8 or `::1`.
pub fn is_loopback_url(url: &str) -> bool {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "unix" || scheme.ends_with("+unix") {
        return true;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split_once(']').map_or(v6, |(h, _)| h)
    } else {
        hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
    };
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_are_local() {
        for url in [
            "http://localhost:11434/v1",
            "http://127.0.0.1:8080/v1",
            "http://127.1.2.3/v1",
            "http://[::1]:1234/v1",
            "https://user:pw@localhost/v1",
            "unix:///run/llama.sock",
            "http+unix://%2Frun%2Fx.sock/v1",
            "http://LOCALHOST:1/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://192.168.1.5:8000/v1",
            "http://127.0.0.1.evil.com/v1",
            "http://localhost.evil.com/v1",
            "http://evil.com/?localhost",
            "http://evil.com#@127.0.0.1",
            "http://127.0.0.1@evil.com/v1",
            "http://[::2]/v1",
            "",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn placement_follows_the_address_unless_configured() {
        let mut p: ProviderSettings = toml::from_str(
            "kind = \"openai\"\nmodel = \"m\"\nbase_url = \"http://127.0.0.1:9/v1\"\n",
        )
        .unwrap();
        assert!(p.is_local());
        p.placement = Some(ProviderPlacement::Cloud);
        assert!(!p.is_local());
        p.base_url = "http://192.168.1.5/v1".into();
        p.placement = None;
        assert!(!p.is_local());
        p.placement = Some(ProviderPlacement::Local);
        assert!(p.is_local());
        p.base_url = String::new();
        p.placement = None;
        assert!(!p.is_local(), "the provider's public API is the cloud");
    }
}
