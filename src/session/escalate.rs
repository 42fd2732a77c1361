//! Escalation to a cloud model, shared by the headless commands and the TUI:
//! the provider, the gate every cloud request passes (the privacy guard, the
//! user's trims, then a check of the preview of exactly what would leave),
//! and the audit record afterwards.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::{Gate, SessionError};
use crate::config::{Dirs, ProviderSettings, Settings};
use crate::context::Context;
use crate::model::GenStats;
use crate::model::chat::ChatModel;
use crate::model::cloud::{CloudError, CloudModel};
use crate::route::{self, AuditEntry, Preview, RouteError};

#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("privacy.never_send has a bad pattern: {0}")]
    Rules(#[from] globset::Error),
}

/// What the gate let through, for the audit log after the request.
pub type Sent = Arc<Mutex<Option<Preview>>>;

/// Sees the preview of what is about to leave; an error stops it.
pub type Check = Box<dyn FnMut(&Preview) -> Result<(), SessionError> + Send>;

/// Says why a part with this path is trimmed from the payload, if it is.
pub type Trim = Box<dyn Fn(&str) -> Option<String> + Send>;

/// A cloud model ready for one request, with its gate.
pub struct Escalation {
    pub model: CloudModel,
    pub gate: Gate,
    pub sent: Sent,
}

/// The escalation provider (`provider`, else `route.escalate_to`, else the
/// only one), and the gate: guard, `trim`, recount, preview, `check`.
pub fn escalation(
    settings: &Settings,
    provider: Option<&str>,
    trim: Trim,
    mut check: Check,
) -> Result<Escalation, EscalationError> {
    let (name, p) = route::escalation_target(settings, provider)?;
    let model = CloudModel::new(name, p.clone())?;
    let rules = settings.privacy.never_send_rules()?;
    let sent: Sent = Arc::new(Mutex::new(None));
    let seen = sent.clone();
    let (name, p) = (name.to_string(), p.clone());
    let gate: Gate = Box::new(move |ctx, model: &dyn ChatModel| {
        let preview = screen(ctx, model, &name, &p, &rules, &trim);
        check(&preview)?;
        *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(preview);
        Ok(())
    });
    Ok(Escalation { model, gate, sent })
}

/// The context as it would leave: the privacy guard's cuts and redactions,
/// the user's trims, recounted with `model`'s tokenizer; and its preview.
pub fn screen(
    ctx: &mut Context,
    model: &dyn ChatModel,
    provider: &str,
    p: &ProviderSettings,
    never_send: &crate::config::PathRules,
    trim: &dyn Fn(&str) -> Option<String>,
) -> Preview {
    let mut report = route::guard(ctx, never_send);
    ctx.parts.retain(|part| match part.path.as_deref() {
        Some(path) => match trim(path) {
            Some(why) => {
                if !report.left_out.iter().any(|(p, _)| p == path) {
                    report.left_out.push((path.to_string(), why));
                }
                false
            }
            None => true,
        },
        None => true,
    });
    ctx.recount(model.counter());
    let max_out = model.window().saturating_sub(ctx.budget);
    Preview::new(provider, p, ctx, &report, max_out)
}

/// Record a cloud request (if one was sent) in the audit log, with how it
/// ended; returns its cost in US dollars (0 when nothing was sent).
pub fn record(
    dirs: &Dirs,
    root: &Path,
    sent: &Sent,
    result: Result<&GenStats, &SessionError>,
    settings: &Settings,
) -> std::io::Result<f64> {
    let Some(preview) = sent.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return Ok(0.0);
    };
    let (stats, outcome) = match result {
        Ok(s) if s.finish == "stop" => (Some(s), "ok".to_string()),
        Ok(s) => (Some(s), s.finish.clone()),
        Err(e) => (None, e.to_string()),
    };
    let p = settings.providers.get(&preview.provider);
    let tokens_in = stats
        .map(|s| s.prompt_tokens)
        .filter(|&n| n > 0)
        .unwrap_or(preview.total_tokens);
    let tokens_out = stats.map_or(0, |s| s.generated_tokens);
    let cost = p.map_or(0.0, |p| {
        tokens_in as f64 * p.price_in_per_mtok / 1e6
            + tokens_out as f64 * p.price_out_per_mtok / 1e6
    });
    let files = preview.files();
    let entry = AuditEntry {
        time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        provider: preview.provider,
        model: preview.model,
        files,
        tokens_in,
        tokens_out,
        cost_usd: cost,
        outcome,
    };
    route::audit_append(&route::audit_file(dirs, root), &entry)?;
    Ok(cost)
}
