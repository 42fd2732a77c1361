//! Escalation, headless: the cloud model behind the gate every cloud
//! request passes (privacy guard, then the preview on stderr, then `--yes`;
//! the gate writes the audit log). `locus audit` prints the log.

use std::process::ExitCode;

use crate::cli::{RouteArgs, SessionsArgs};
use crate::config::PathRules;
use crate::route::{self, Approve, Gated, Trim};
use crate::session::Workbench;
use crate::workspace::Workspace;

/// With `--cloud`: the cloud model behind its gate, whose approval is the
/// preview on stderr and `--yes`; `--exclude` globs stay on this machine.
pub fn gated(
    wb: &Workbench,
    route: &RouteArgs,
    yes: bool,
    json: bool,
) -> anyhow::Result<Option<Gated>> {
    if !wants_cloud(wb, route) {
        return Ok(None);
    }
    let rules = PathRules::new(route.exclude.iter().map(String::as_str))?;
    let trim: Trim = Box::new(move |path| {
        rules
            .matching(std::path::Path::new(path))
            .map(|g| format!("--exclude {g}"))
    });
    let approve: Approve = Box::new(move |preview| {
        if json {
            errln!("{}", serde_json::json!({ "preview": preview }));
        } else {
            err!("{}", preview.render());
        }
        if yes {
            return Ok(());
        }
        // On a terminal, the preview is a question; otherwise --yes answers it.
        match (
            json,
            super::apply::confirm(
                "Send this to the cloud model? [y/N] ",
                "pass --yes to send it",
            ),
        ) {
            (false, Ok(true)) => Ok(()),
            (false, Ok(false)) => Err("you did not send it".into()),
            _ => Err("pass --yes to send it".into()),
        }
    });
    Ok(Some(wb.escalation(
        route.provider.as_deref(),
        trim,
        approve,
    )?))
}

/// Whether the task goes to the cloud: `--cloud`, or `--hard` with a cloud
/// provider to escalate to (without one, `--hard` says so and stays here).
pub fn wants_cloud(wb: &Workbench, route: &RouteArgs) -> bool {
    if route.cloud {
        return true;
    }
    if !route.hard {
        return false;
    }
    match route::escalation_target(&wb.settings, route.provider.as_deref()) {
        Ok((name, _)) => {
            errln!("--hard: escalating to {name} at once (the preview shows what would leave)");
            true
        }
        Err(e) => {
            errln!("note: --hard, but nothing to escalate to ({e}); the local model answers");
            false
        }
    }
}

pub fn audit(ws: &Workspace, args: &SessionsArgs) -> anyhow::Result<ExitCode> {
    let file = route::audit_file(&ws.dirs, &ws.root);
    let (entries, damaged): (Vec<route::AuditEntry>, usize) = crate::jsonl::read_counting(&file)?;
    if damaged > 0 {
        errln!(
            "note: skipped {damaged} damaged line(s) in {} (a write cut short)",
            file.display()
        );
    }
    if args.json {
        outln!("{}", serde_json::to_string(&entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        outln!("nothing has been sent to a cloud model from this repository");
    }
    let settings = ws.settings().ok().map(|l| l.settings);
    for e in entries {
        // A provider without prices costs nothing known, not $0.
        let priced = settings
            .as_ref()
            .and_then(|s| s.providers.get(&e.provider))
            .is_some_and(|p| p.price_in_per_mtok > 0.0 || p.price_out_per_mtok > 0.0);
        let cost = if priced || e.cost_usd > 0.0 {
            format!("${:.4}", e.cost_usd)
        } else {
            "no price set".to_string()
        };
        outln!(
            "{}  {} ({})  {} in / {} out  {cost}  {}  files: {}",
            crate::terminal::local_time(e.time),
            e.provider,
            e.model,
            e.tokens_in,
            e.tokens_out,
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
