//! `locus checks`: the checks configured for this repository (or the one
//! its layout suggests, saved only when the user says so), and running one.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::{ChecksAction, ChecksArgs};
use crate::config::TrustState;
use crate::model::Cancel;
use crate::tools::check;
use crate::workspace::Workspace;

use super::apply::confirm;

pub fn run(ws: &Workspace, args: &ChecksArgs) -> anyhow::Result<ExitCode> {
    let loaded = ws.settings()?;
    let checks = &loaded.settings.checks;
    match &args.action {
        None => {
            let proposed = if checks.is_empty() {
                check::propose(&ws.root)
            } else {
                None
            };
            if args.json {
                outln!(
                    "{}",
                    json!({
                        "checks": checks,
                        "proposed": proposed.as_ref().map(|(name, c, from)| json!({"name": name, "check": c, "from": from})),
                    })
                );
                return Ok(ExitCode::SUCCESS);
            }
            for (name, c) in checks {
                outln!(
                    "{name:<10} {}  (timeout {} s{})",
                    c.command,
                    c.timeout_s,
                    if c.after_edit {
                        ", after every edit"
                    } else {
                        ""
                    }
                );
            }
            if checks.is_empty() {
                match proposed {
                    Some((name, c, from)) => outln!(
                        "no checks configured; from {from}: {name} = `{}` — `locus checks save` saves it",
                        c.command
                    ),
                    None => outln!(
                        "no checks configured, and none suggested by the layout; add [checks.NAME] with a command (docs/configuration.md)"
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(ChecksAction::Run { name }) => {
            let o = check::run(&ws.root, checks, name, &Cancel::new())?;
            if args.json {
                outln!("{}", json!(o));
            } else {
                out!("{}", o.output);
                if !o.output.ends_with('\n') && !o.output.is_empty() {
                    outln!();
                }
                errln!("{}", o.summary());
            }
            Ok(if o.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Some(ChecksAction::Save { yes }) => {
            if !checks.is_empty() {
                anyhow::bail!("checks are configured already (`locus checks` lists them)");
            }
            let Some((name, c, from)) = check::propose(&ws.root) else {
                anyhow::bail!(
                    "the layout suggests no check; add [checks.NAME] with a command (docs/configuration.md)"
                );
            };
            errln!(
                "from {from}: {name} = `{}` (after every edit, timeout {} s)",
                c.command,
                c.timeout_s
            );
            if !yes && !confirm("Save it to .locus/config.toml? [y/N] ")? {
                errln!("nothing saved");
                return Ok(ExitCode::from(1));
            }
            let file = ws.repo_config_file();
            let before = std::fs::read_to_string(&file).unwrap_or_default();
            let mut text = before.clone();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            let mut table = toml::Table::new();
            table.insert(name.clone(), toml::Value::try_from(&c)?);
            let mut outer = toml::Table::new();
            outer.insert("checks".into(), toml::Value::Table(table));
            text.push_str(&format!("\n{}", toml::to_string(&outer)?));
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&file, &text)?;
            // The user confirmed this check: the file stays trusted if it
            // was (or needed no trust before); otherwise it still needs `locus trust`.
            if matches!(
                loaded.trust,
                TrustState::NoFile | TrustState::NotNeeded | TrustState::Trusted
            ) {
                ws.trust_store().grant(&ws.root, &text)?;
                outln!("saved check {name} to {} (trusted)", file.display());
            } else {
                outln!(
                    "saved check {name} to {}; run `locus trust` to use it (the file has other settings you have not trusted)",
                    file.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
