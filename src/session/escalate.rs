//! Escalation to a cloud model, shared by the headless commands and the TUI:
//! the provider, handed out only behind the privacy gate (see
//! `route::Gated`), which writes the audit log itself.

use std::path::Path;

use crate::config::{Dirs, Settings};
use crate::model::cloud::{CloudError, CloudModel};
use crate::route::{self, Approve, Gated, RouteError, Trim};

#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("privacy.never_send has a bad pattern: {0}")]
    Rules(#[from] globset::Error),
}

/// The escalation provider (`provider`, else `route.escalate_to`, else the
/// only one), behind the gate: `trim` says what the user left out,
/// `approve` sees each task's preview.
pub fn gated(
    settings: &Settings,
    dirs: &Dirs,
    root: &Path,
    provider: Option<&str>,
    trim: Trim,
    approve: Approve,
) -> Result<Gated, EscalationError> {
    let (name, p) = route::escalation_target(settings, provider)?;
    let model = CloudModel::new(name, p.clone())?;
    let rules = settings.privacy.never_send_rules()?;
    Ok(Gated::new(
        model,
        rules,
        trim,
        approve,
        Some(route::audit_file(dirs, root)),
    ))
}
