//! Escalation, headless: the cloud model, the gate every cloud request
//! passes (privacy guard, then the preview on stderr, then `--yes`), and the
//! audit log. `locus audit` prints the log.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crate::cli::SessionsArgs;
use crate::config::Settings;
use crate::model::GenStats;
use crate::model::chat::ChatModel;
use crate::model::cloud::CloudModel;
use crate::route::{self, AuditEntry, Preview};
use crate::session::{Gate, SessionError};
use crate::workspace::Workspace;

/// What the gate saw, for the audit log after the request.
pub type Sent = Arc<Mutex<Option<Preview>>>;

/// The cloud model for `--cloud`, and the gate its requests go through.
pub fn escalation(
    settings: &Settings,
    provider: Option<&str>,
    yes: bool,
    json: bool,
    exclude: &[String],
) -> anyhow::Result<(CloudModel, Gate, Sent)> {
    let (name, p) = route::escalation_target(settings, provider)?;
    let model = CloudModel::new(name, p.clone())?;
    let rules = settings.privacy.never_send_rules()?;
    let trim = crate::config::PathRules::new(exclude.iter().map(String::as_str))?;
    let sent: Sent = Arc::new(Mutex::new(None));
    let seen = sent.clone();
    let (name, p) = (name.to_string(), p.clone());
    let gate: Gate = Box::new(move |ctx, model: &dyn ChatModel| {
        let mut report = route::guard(ctx, &rules);
        // What the user trimmed from the payload (--exclude).
        ctx.parts.retain(|part| match part.path.as_deref() {
            Some(path) if trim.matching(std::path::Path::new(path)).is_some() => {
                if !report.left_out.iter().any(|(p, _)| p == path) {
                    report.left_out.push((path.to_string(), "--exclude".into()));
                }
                false
            }
            _ => true,
        });
        ctx.recount(model.counter());
        let max_out = model.window().saturating_sub(ctx.budget);
        let preview = Preview::new(&name, &p, ctx, &report, max_out);
        if json {
            eprintln!("{}", serde_json::json!({ "preview": preview }));
        } else {
            eprint!("{}", preview.render());
        }
        if !yes {
            return Err(SessionError::NotSent("pass --yes to send it".into()));
        }
        *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(preview);
        Ok(())
    });
    Ok((model, gate, sent))
}

/// The model a chat command runs on: the local one, or with `--cloud` the
/// escalation provider plus the gate its requests pass and the audit record.
pub struct Chosen {
    local: Option<crate::model::local::LocalChat>,
    cloud: Option<CloudModel>,
    pub gate: Option<Gate>,
    sent: Option<Sent>,
}

impl Chosen {
    pub fn get(&self) -> &dyn ChatModel {
        match (&self.cloud, &self.local) {
            (Some(c), _) => c,
            (None, Some(l)) => l,
            (None, None) => unreachable!("a model is always chosen"),
        }
    }

    /// Write the audit entry when the request went to the cloud.
    pub fn record(
        &self,
        ws: &Workspace,
        result: Result<&GenStats, &SessionError>,
        settings: &Settings,
    ) {
        if let Some(sent) = &self.sent {
            record(ws, sent, result, settings);
        }
    }
}

pub fn chosen_model(
    ws: &Workspace,
    settings: &Settings,
    route: &crate::cli::RouteArgs,
    local_spec: Option<&str>,
    yes: bool,
    json: bool,
) -> anyhow::Result<Chosen> {
    if route.cloud {
        let (m, gate, sent) = escalation(
            settings,
            route.provider.as_deref(),
            yes,
            json,
            &route.exclude,
        )?;
        return Ok(Chosen {
            local: None,
            cloud: Some(m),
            gate: Some(gate),
            sent: Some(sent),
        });
    }
    let local = super::models::load_chat(ws, local_spec)?;
    Ok(Chosen {
        local: Some(local),
        cloud: None,
        gate: None,
        sent: None,
    })
}

/// Record a cloud request (if one was sent) in the audit log, with how it ended.
pub fn record(
    ws: &Workspace,
    sent: &Sent,
    result: Result<&GenStats, &SessionError>,
    settings: &Settings,
) {
    let Some(preview) = sent.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
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
    if let Err(e) = route::audit_append(&route::audit_file(&ws.dirs, &ws.root), &entry) {
        eprintln!("warning: cannot write the audit log: {e}");
    }
}

pub fn audit(ws: &Workspace, args: &SessionsArgs) -> anyhow::Result<ExitCode> {
    let entries = route::audit_read(&route::audit_file(&ws.dirs, &ws.root))?;
    if args.json {
        println!("{}", serde_json::to_string(&entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!("nothing has been sent to a cloud model from this repository");
    }
    for e in entries {
        println!(
            "{}  {} ({})  {} in / {} out  ${:.4}  {}  files: {}",
            e.time,
            e.provider,
            e.model,
            e.tokens_in,
            e.tokens_out,
            e.cost_usd,
            e.outcome,
            if e.files.is_empty() {
                "-".to_string()
            } else {
                e.files.join(", ")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
