//! The tools a model may call: one registry, each tool with a JSON schema
//! for its arguments and whether it only reads or acts. The schemas are what
//! every model is shown (Gemma 4's declarations, OpenAI `tools`, Anthropic
//! `tool_use`, Gemini `functionDeclarations` are all made from them).

use serde::Serialize;
use serde_json::{Value, json};

/// A tool as the model is told of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
    /// Only reads: runs without asking.
    pub read_only: bool,
}

impl ToolSpec {
    /// What a model is told of the tool.
    pub fn decl(&self) -> crate::model::tools::ToolDecl {
        crate::model::tools::ToolDecl {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters: self.parameters.clone(),
        }
    }
}

/// A call the model made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    pub name: String,
    pub arguments: Value,
}

/// What a call gave back: the content the model sees, and one line for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolResult {
    pub name: String,
    pub ok: bool,
    pub content: String,
    pub summary: String,
}

impl ToolResult {
    pub fn ok(name: &str, content: String, summary: String) -> ToolResult {
        ToolResult {
            name: name.into(),
            ok: true,
            content,
            summary,
        }
    }

    /// An error the model sees (a malformed call, a refused path): the loop goes on.
    pub fn error(name: &str, message: impl Into<String>) -> ToolResult {
        let m = message.into();
        ToolResult {
            name: name.into(),
            ok: false,
            summary: format!("error: {m}"),
            content: format!("error: {m}"),
        }
    }
}

fn spec(name: &str, description: &str, parameters: Value, read_only: bool) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: description.into(),
        parameters,
        read_only,
    }
}

/// The shell tool, offered only when a trusted config sets `[tools] shell = "ask"`.
pub fn shell() -> ToolSpec {
    spec(
        "shell",
        "Run a shell command in the repository root (the user sees it and must confirm it first). Prefer the other tools; use this for what they cannot do.",
        json!({"type": "object", "properties": {"command": {"type": "string", "description": "The command line, run with sh -c."}}, "required": ["command"]}),
        false,
    )
}

/// The built-in tools, in the order the model is shown them.
pub fn builtin() -> Vec<ToolSpec> {
    let obj = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
    vec![
        spec(
            "read_file",
            "Read a file of the repository (or some of its lines), with line numbers.",
            obj(
                json!({
                    "path": {"type": "string", "description": "Path relative to the repository root."},
                    "start_line": {"type": "integer", "description": "First line (1-based)."},
                    "end_line": {"type": "integer", "description": "Last line (inclusive)."}
                }),
                &["path"],
            ),
            true,
        ),
        spec(
            "search",
            "Search the repository: definitions and uses of a symbol, plain text, or a regular expression. Results are `path:line: text`.",
            obj(
                json!({
                    "query": {"type": "string", "description": "A symbol name, text, or a regular expression."},
                    "kind": {"type": "string", "enum": ["symbol", "text", "regex"], "description": "How to read the query (default: symbol, then text)."},
                    "path_glob": {"type": "string", "description": "Only files matching this glob, e.g. `src/**/*.rs`."}
                }),
                &["query"],
            ),
            true,
        ),
        spec(
            "list_files",
            "List the repository's files (ignored files left out).",
            obj(
                json!({
                    "dir": {"type": "string", "description": "Only below this directory."},
                    "glob": {"type": "string", "description": "Only files matching this glob."}
                }),
                &[],
            ),
            true,
        ),
        spec(
            "repo_map",
            "The most relevant files and their definitions' signatures, around a focus.",
            obj(
                json!({"focus": {"type": "string", "description": "Names or paths to rank around."}}),
                &[],
            ),
            true,
        ),
        spec(
            "propose_edit",
            "Propose a change as SEARCH/REPLACE blocks (path on the line before each block). It goes to the user's review; nothing is written until they accept it.",
            obj(
                json!({"edits": {"type": "string", "description": "SEARCH/REPLACE blocks."}}),
                &["edits"],
            ),
            false,
        ),
        spec(
            "run_check",
            "Run one of the repository's configured checks (tests, linters) and see its output.",
            obj(
                json!({"name": {"type": "string", "description": "The check's name, e.g. `test`."}}),
                &["name"],
            ),
            false,
        ),
        spec(
            "git_status",
            "The branch and the changed files.",
            obj(json!({}), &[]),
            true,
        ),
        spec(
            "git_diff",
            "The uncommitted changes to tracked files, as a patch.",
            obj(
                json!({"path": {"type": "string", "description": "Only this file."}}),
                &[],
            ),
            true,
        ),
    ]
}

/// What is wrong with `args` for `spec`: a missing required argument, an
/// unknown one, or one of the wrong type.
pub fn validate(spec: &ToolSpec, args: &Value) -> Result<(), String> {
    let Some(obj) = args.as_object() else {
        return Err(format!("{}: the arguments must be an object", spec.name));
    };
    let props = spec.parameters["properties"].as_object();
    for req in spec.parameters["required"].as_array().into_iter().flatten() {
        let r = req.as_str().unwrap_or_default();
        if !obj.contains_key(r) {
            return Err(format!("{}: missing argument `{r}`", spec.name));
        }
    }
    for (k, v) in obj {
        let Some(p) = props.and_then(|p| p.get(k)) else {
            return Err(format!("{}: unknown argument `{k}`", spec.name));
        };
        let fits = match p["type"].as_str() {
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            _ => true,
        };
        if !fits {
            return Err(format!(
                "{}: argument `{k}` must be a {}",
                spec.name,
                p["type"].as_str().unwrap_or("value")
            ));
        }
        if let Some(options) = p["enum"].as_array()
            && !options.contains(v)
        {
            return Err(format!(
                "{}: argument `{k}` must be one of {}",
                spec.name,
                Value::Array(options.clone())
            ));
        }
    }
    Ok(())
}
