//! Settings (TOML, layered) and the directories locus owns.

mod keymap;
mod load;
mod paths;
mod privacy;
mod providers;
mod settings;
mod trust;

pub use keymap::{Action, Key, KeyName, Keymap, KeymapError, Keys};
pub use load::{ConfigError, Loaded, Source, SourceKind, load, load_with};
pub use paths::{Dirs, repo_config_file};
pub use privacy::{DEFAULT_NEVER_SEND, DEFAULT_NEVER_TOUCH, PathRules, PrivacySettings};
pub use providers::{
    ProviderKind, ProviderPlacement, ProviderSettings, Providers, RouteSettings, is_loopback_url,
};
pub use settings::{
    AgentSettings, CacheSettings, CheckSettings, ContextSettings, DraftWhen, IndexSettings,
    LogSettings, McpServerSettings, McpSettings, ModelSettings, Settings, ToolsSettings,
    UiSettings,
};
pub use trust::{RISKY_KEYS, TrustRecord, TrustState, TrustStore, content_hash, risky_keys};

impl Settings {
    /// The merged settings as TOML, as `locus doctor` shows them.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("settings serialize")
    }
}
