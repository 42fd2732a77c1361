//! Placement: what runs where. Local by default; the cloud only when the
//! user says so, after a preview of exactly what would leave, through the
//! privacy guard, and written to the audit log. Routing advice is shown with
//! its reason and never acted on silently.

mod audit;
mod gate;
mod preview;
mod privacy;
mod secrets;

pub use audit::{AuditEntry, append as audit_append, audit_file, read as audit_read};
pub use gate::{Approve, Gated, Trim};
pub use preview::Preview;
pub use privacy::{PrivacyReport, guard};
pub use secrets::{PLACEHOLDER_PREFIX, redact};

use crate::config::{ProviderSettings, Settings};

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("cloud escalation is disabled (privacy.local_only = true)")]
    LocalOnly,
    #[error(
        "no cloud provider is configured: add a [providers.NAME] table (see docs/configuration.md)"
    )]
    NoProvider,
    #[error("no provider named {0} in the config")]
    UnknownProvider(String),
    #[error(
        "several providers are configured; choose one with --provider NAME or set route.escalate_to"
    )]
    Ambiguous,
}

/// The provider an escalation goes to: `name`, else `route.escalate_to`, else the only one.
pub fn escalation_target<'a>(
    settings: &'a Settings,
    name: Option<&str>,
) -> Result<(&'a str, &'a ProviderSettings), RouteError> {
    if settings.privacy.local_only {
        return Err(RouteError::LocalOnly);
    }
    let want = name.or(settings.route.escalate_to.as_deref());
    match want {
        Some(n) => settings
            .providers
            .get_key_value(n)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| RouteError::UnknownProvider(n.into())),
        None => {
            let mut it = settings.providers.iter();
            match (it.next(), it.next()) {
                (Some((k, v)), None) => Ok((k.as_str(), v)),
                (None, _) => Err(RouteError::NoProvider),
                _ => Err(RouteError::Ambiguous),
            }
        }
    }
}

/// Why escalating may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The context the request needs does not fit the local window.
    ContextTooLarge { needed: usize, window: usize },
    /// The edits failed to apply twice in a row (on a cloud model when `cloud`).
    EditsFailedTwice { cloud: bool },
    /// The user marked the task hard.
    MarkedHard,
    /// The checks still fail after the local model's fixes.
    ChecksStillFail { attempts: usize },
}

/// Where advice is shown: it names the way to escalate there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Surface {
    /// A headless command: `--cloud`.
    Cli,
    /// The TUI: the key that escalates.
    Tui { key: String },
}

/// Advice to show on the command line (never acted on).
pub fn advice(reason: &Reason) -> String {
    advice_in(reason, &Surface::Cli)
}

/// Advice to show on `surface` (never acted on).
pub fn advice_in(reason: &Reason, surface: &Surface) -> String {
    let how = match surface {
        Surface::Cli => "run it again with --cloud".to_string(),
        Surface::Tui { key } => format!("press {key} to send it to a cloud model"),
    };
    let why = match reason {
        Reason::ContextTooLarge { needed, window } => {
            format!(
                "this request needs about {needed} tokens of context and the local model's window is {window}"
            )
        }
        Reason::EditsFailedTwice { cloud: true } => {
            return "hint: the cloud model's edits failed to apply twice in a row; name the file \
                    (@file, --file) or say more precisely what to change"
                .into();
        }
        Reason::EditsFailedTwice { cloud: false } => {
            "the local model's edits failed to apply twice in a row".into()
        }
        Reason::MarkedHard => "you marked this task as hard".into(),
        Reason::ChecksStillFail { attempts } => {
            format!("the checks still fail after {attempts} fix(es) by the local model")
        }
    };
    format!("hint: consider escalating to a cloud model ({why}): {how}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> Settings {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn escalation_target_and_advice() {
        let one = settings("[providers.a]\nkind = \"openai\"\nmodel = \"m\"\n");
        assert_eq!(escalation_target(&one, None).unwrap().0, "a");
        assert!(matches!(
            escalation_target(&one, Some("b")),
            Err(RouteError::UnknownProvider(_))
        ));
        let two = settings(
            "[route]\nescalate_to = \"b\"\n[providers.a]\nkind = \"openai\"\nmodel = \"m\"\n[providers.b]\nkind = \"gemini\"\nmodel = \"g\"\n",
        );
        assert_eq!(escalation_target(&two, None).unwrap().0, "b");
        let mut ambiguous = two.clone();
        ambiguous.route.escalate_to = None;
        assert!(matches!(
            escalation_target(&ambiguous, None),
            Err(RouteError::Ambiguous)
        ));
        assert!(matches!(
            escalation_target(&Settings::default(), None),
            Err(RouteError::NoProvider)
        ));
        let mut local = one.clone();
        local.privacy.local_only = true;
        assert!(matches!(
            escalation_target(&local, None),
            Err(RouteError::LocalOnly)
        ));
        let a = advice(&Reason::ContextTooLarge {
            needed: 12000,
            window: 7000,
        });
        assert!(a.contains("12000 tokens") && a.contains("7000"), "{a}");
        assert!(advice(&Reason::MarkedHard).contains("marked this task as hard"));
    }
}
