//! `locus trust`: what a repository's `.locus/config.toml` would send or run
//! (providers, keys and key commands, routes), shown in full; then trust for
//! that exact content recorded in the state directory, or revoked.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::TrustArgs;
use crate::config::{self, TrustState};
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, args: &TrustArgs) -> anyhow::Result<ExitCode> {
    let store = ws.trust_store();
    let file = ws.repo_config_file();
    if args.revoke {
        let was = store.revoke(&ws.root)?;
        let msg = if was {
            format!("trust revoked for {}", ws.root.display())
        } else {
            format!("{} was not trusted", ws.root.display())
        };
        if args.json {
            outln!("{}", json!({"revoked": was, "root": ws.root}));
        } else {
            outln!("{msg}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if args.json {
                outln!("{}", json!({"state": TrustState::NoFile, "risky": []}));
            } else {
                outln!(
                    "{} has no .locus/config.toml: nothing to trust",
                    ws.root.display()
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => anyhow::bail!("cannot read {}: {e}", file.display()),
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("{} is not valid TOML: {e}", file.display()))?;
    // Validate it as locus would read it, so nothing unreadable is trusted.
    ws.settings()?;
    let risky = config::risky_keys(&table);
    let before = store.verdict(&ws.root, &text);
    let shown = show(&table, &risky);
    let record = if args.show || risky.is_empty() {
        None
    } else {
        Some(store.grant(&ws.root, &text)?)
    };
    if args.json {
        outln!(
            "{}",
            json!({
                "file": file,
                "risky": risky,
                "settings": shown,
                "state_before": before,
                "trusted": record.is_some(),
                "sha256": config::content_hash(&text),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    if risky.is_empty() {
        outln!(
            "{} sets nothing that sends data or runs a command: nothing to trust",
            file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} sets what sends data or runs commands (now: {}):\n",
        file.display(),
        before.label()
    );
    out!("{shown}");
    match record {
        Some(r) => outln!(
            "\ntrusted: these settings apply in {} while the file stays exactly as it is (sha256 {}); `locus trust --revoke` undoes it",
            ws.root.display(),
            &r.sha256[..16]
        ),
        None => outln!("\nnothing recorded (--show); `locus trust` trusts it"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The risky settings as TOML, one table per key.
fn show(table: &toml::Table, risky: &[String]) -> String {
    let mut out = String::new();
    for key in risky {
        let mut v = toml::Value::Table(table.clone());
        for part in key.split('.') {
            v = v.get(part).cloned().unwrap_or(toml::Value::Boolean(false));
        }
        match v {
            toml::Value::Table(t) => {
                out.push_str(&format!(
                    "[{key}]\n{}\n",
                    toml::to_string(&t).unwrap_or_default()
                ));
            }
            other => out.push_str(&format!("{key} = {other}\n")),
        }
    }
    out
}
