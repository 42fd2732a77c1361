//! Escalation, headless: the cloud model, the gate every cloud request
//! passes (privacy guard, then the preview on stderr, then `--yes`), and the
//! audit log. `locus audit` prints the log.

use std::process::ExitCode;

use crate::cli::SessionsArgs;
use crate::config::Settings;
use crate::model::GenStats;
use crate::model::chat::ChatModel;
use crate::model::cloud::CloudModel;
use crate::route;
use crate::session::escalate::{self, Escalation};
use crate::session::{Gate, SessionError};
use crate::workspace::Workspace;

/// The cloud model for `--cloud`, and the gate its requests go through:
/// the preview on stderr, sent only with `--yes`.
pub fn escalation(
    settings: &Settings,
    provider: Option<&str>,
    yes: bool,
    json: bool,
    exclude: &[String],
) -> anyhow::Result<Escalation> {
    let trim = crate::config::PathRules::new(exclude.iter().map(String::as_str))?;
    let trim: escalate::Trim = Box::new(move |path| {
        trim.matching(std::path::Path::new(path))
            .map(|_| "--exclude".to_string())
    });
    let check: escalate::Check = Box::new(move |preview| {
        if json {
            eprintln!("{}", serde_json::json!({ "preview": preview }));
        } else {
            eprint!("{}", preview.render());
        }
        if yes {
            Ok(())
        } else {
            Err(SessionError::NotSent("pass --yes to send it".into()))
        }
    });
    Ok(escalate::escalation(settings, provider, trim, check)?)
}

/// The model a chat command runs on: the local one, or with `--cloud` the
/// escalation provider plus the gate its requests pass and the audit record.
pub struct Chosen {
    local: Option<crate::model::local::LocalChat>,
    cloud: Option<CloudModel>,
    pub gate: Option<Gate>,
    sent: Option<escalate::Sent>,
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
        if let Some(sent) = &self.sent
            && let Err(e) = escalate::record(&ws.dirs, &ws.root, sent, result, settings)
        {
            eprintln!("warning: cannot write the audit log: {e}");
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
        let e = escalation(
            settings,
            route.provider.as_deref(),
            yes,
            json,
            &route.exclude,
        )?;
        return Ok(Chosen {
            local: None,
            cloud: Some(e.model),
            gate: Some(e.gate),
            sent: Some(e.sent),
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
