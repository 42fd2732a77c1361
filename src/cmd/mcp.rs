//! `locus mcp list`: the MCP servers of `[mcp.servers.NAME]`, started to
//! list their tools, then stopped.

use std::process::ExitCode;

use crate::cli::{McpAction, McpArgs};
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, args: &McpArgs) -> anyhow::Result<ExitCode> {
    let McpAction::List { json } = &args.action;
    let mut wb = super::bench(ws)?;
    let status = wb.mcp_status();
    if *json {
        outln!("{}", serde_json::to_string(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    if status.is_empty() {
        outln!("no MCP servers configured (add [mcp.servers.NAME] with command, args, env)");
        return Ok(ExitCode::SUCCESS);
    }
    for s in &status {
        outln!("{}  ({})", s.name, crate::terminal::visible(&s.command));
        if let Some(e) = &s.error {
            outln!("  error: {}", crate::terminal::visible(e));
        }
        for t in &s.tools {
            outln!(
                "  {:<28} {:<9} {}",
                crate::terminal::visible(&t.name),
                if t.read_only { "read-only" } else { "acting" },
                crate::terminal::visible(t.description.lines().next().unwrap_or_default())
            );
        }
    }
    let failed = status.iter().any(|s| s.error.is_some());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
