//! `locus checks`: the checks configured for this repository (or the one
//! its layout suggests, saved only when the user says so), and running one.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::{ChecksAction, ChecksArgs};
use crate::workspace::Workspace;

use super::apply::confirm;

pub fn run(ws: &Workspace, args: &ChecksArgs) -> anyhow::Result<ExitCode> {
    let wb = super::bench(ws)?;
    let checks = &wb.settings.checks;
    match &args.action {
        None => {
            let proposed = wb.proposed_check();
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
            let o = wb.run_check(name, &super::interrupt())?;
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
            let Some((name, c, from)) = wb.proposed_check() else {
                anyhow::bail!(
                    "the layout suggests no check; add [checks.NAME] with a command (docs/configuration.md)"
                );
            };
            errln!(
                "from {from}: {name} = `{}` (after every edit, timeout {} s)",
                c.command,
                c.timeout_s
            );
            if !yes
                && !confirm(
                    "Save it to .locus/config.toml? [y/N] ",
                    "pass --yes to save it",
                )?
            {
                errln!("nothing saved");
                return Ok(ExitCode::from(1));
            }
            let file = ws.repo_config_file();
            if wb.save_check(&name, &c)? {
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
