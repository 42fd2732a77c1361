//! Settings (TOML, layered) and the directories locus owns.

mod keymap;
mod load;
mod paths;
mod privacy;
mod providers;
mod settings;

pub use keymap::{Action, Key, KeyName, Keymap, KeymapError, Keys};
pub use load::{ConfigError, Loaded, Source, SourceKind, load};
pub use paths::{Dirs, repo_config_file};
pub use privacy::{DEFAULT_NEVER_SEND, DEFAULT_NEVER_TOUCH, PathRules, PrivacySettings};
pub use providers::{ProviderKind, ProviderSettings, Providers, RouteSettings};
pub use settings::{
    ContextSettings, IndexSettings, LogSettings, ModelSettings, Settings, UiSettings,
};

impl Settings {
    /// The merged settings as TOML, as `locus doctor` shows them.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("settings serialize")
    }
}
