//! MCP servers over stdio, through the official Rust SDK (`rmcp`): each
//! `[mcp.servers.NAME]` (command, args, env; a repository's file names one
//! only once trusted) is started on first use, in the repository root, and
//! stopped with locus. Its tools join the registry as `NAME.tool`, acting
//! unless the server marks them read-only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde::Serialize;
use serde_json::Value;

use super::ToolSpec;
use crate::config::McpServerSettings;

/// How long a server may take to start and list its tools, or to answer a call.
const START: Duration = Duration::from_secs(30);
const CALL: Duration = Duration::from_secs(120);

/// A tool of a server, as `locus mcp list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct McpTool {
    /// `SERVER.tool`
    pub name: String,
    pub description: String,
    pub read_only: bool,
    #[serde(skip)]
    pub parameters: Value,
}

/// A server and what starting it gave.
#[derive(Debug, Clone, Serialize)]
pub struct McpStatus {
    pub name: String,
    pub command: String,
    /// Why it could not be started or listed, if it could not.
    pub error: Option<String>,
    pub tools: Vec<McpTool>,
}

struct Running {
    service: RunningService<RoleClient, ()>,
    tools: Vec<McpTool>,
}

/// The configured servers; none runs until `start` is called.
pub struct McpServers {
    settings: BTreeMap<String, McpServerSettings>,
    root: PathBuf,
    rt: Option<tokio::runtime::Runtime>,
    running: BTreeMap<String, Running>,
    failed: BTreeMap<String, String>,
}

impl McpServers {
    pub fn new(settings: &BTreeMap<String, McpServerSettings>, root: &Path) -> McpServers {
        McpServers {
            settings: settings.clone(),
            root: root.to_path_buf(),
            rt: None,
            running: BTreeMap::new(),
            failed: BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }

    /// Start every server not started yet (one that fails is said in `status`).
    pub fn start(&mut self) {
        if self.settings.is_empty() {
            return;
        }
        if self.rt.is_none() {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => self.rt = Some(rt),
                Err(e) => {
                    for name in self.settings.keys() {
                        self.failed.insert(name.clone(), e.to_string());
                    }
                    return;
                }
            }
        }
        let rt = self.rt.as_ref().expect("runtime");
        for (name, s) in &self.settings {
            if self.running.contains_key(name) || self.failed.contains_key(name) {
                continue;
            }
            match rt.block_on(start_one(name, s, &self.root)) {
                Ok(r) => {
                    self.running.insert(name.clone(), r);
                }
                Err(e) => {
                    tracing::warn!(server = %name, error = %e, "MCP server did not start");
                    self.failed.insert(name.clone(), e);
                }
            }
        }
    }

    /// Every configured server: its tools, or why it has none.
    pub fn status(&self) -> Vec<McpStatus> {
        self.settings
            .iter()
            .map(|(name, s)| McpStatus {
                name: name.clone(),
                command: std::iter::once(s.command.as_str())
                    .chain(s.args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                error: self.failed.get(name).cloned(),
                tools: self
                    .running
                    .get(name)
                    .map(|r| r.tools.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The running servers' tools, as the model is told of them.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.running
            .values()
            .flat_map(|r| &r.tools)
            .map(|t| ToolSpec {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: t.parameters.clone(),
                read_only: t.read_only,
            })
            .collect()
    }

    /// Call `SERVER.tool` with `arguments`: the text it gave, or why not.
    pub fn call(&self, name: &str, arguments: &Value) -> Result<String, String> {
        let (server, tool) = name
            .split_once('.')
            .ok_or_else(|| format!("`{name}` names no MCP tool"))?;
        let r = self
            .running
            .get(server)
            .ok_or_else(|| format!("the MCP server {server} is not running"))?;
        let rt = self.rt.as_ref().ok_or("no MCP server runs")?;
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Some(obj) = arguments.as_object() {
            params = params.with_arguments(obj.clone());
        }
        let result = rt
            .block_on(async { tokio::time::timeout(CALL, r.service.call_tool(params)).await })
            .map_err(|_| format!("{name} did not answer within {} s", CALL.as_secs()))?
            .map_err(|e| format!("{name} failed: {e}"))?;
        let mut text = String::new();
        for c in &result.content {
            match c.as_text() {
                Some(t) => text.push_str(&t.text),
                None => text.push_str("[non-text content left out]"),
            }
            text.push('\n');
        }
        if let Some(s) = &result.structured_content
            && text.trim().is_empty()
        {
            text = s.to_string();
        }
        if result.is_error == Some(true) {
            return Err(format!("{name} reported an error: {}", text.trim()));
        }
        Ok(text)
    }

    /// Stop every running server.
    pub fn stop(&mut self) {
        let Some(rt) = self.rt.as_ref() else { return };
        for (_, r) in std::mem::take(&mut self.running) {
            let _ = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), r.service.cancel()).await
            });
        }
    }
}

impl Drop for McpServers {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn start_one(name: &str, s: &McpServerSettings, root: &Path) -> Result<Running, String> {
    let mut cmd = tokio::process::Command::new(&s.command);
    cmd.args(&s.args).envs(&s.env).current_dir(root);
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", s.command))?;
    let service = tokio::time::timeout(START, ().serve(transport))
        .await
        .map_err(|_| format!("did not start within {} s", START.as_secs()))?
        .map_err(|e| format!("did not start: {e}"))?;
    let listed = tokio::time::timeout(START, service.list_all_tools())
        .await
        .map_err(|_| format!("did not list its tools within {} s", START.as_secs()))?
        .map_err(|e| format!("cannot list its tools: {e}"))?;
    let tools = listed
        .into_iter()
        .map(|t| McpTool {
            name: format!("{name}.{}", t.name),
            description: t.description.as_deref().unwrap_or_default().to_string(),
            read_only: t
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false),
            parameters: Value::Object((*t.input_schema).clone()),
        })
        .collect();
    Ok(Running { service, tools })
}
