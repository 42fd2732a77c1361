//! MCP servers over stdio (a small real server speaking the protocol, in
//! Python): `locus mcp list`, their tools in the loop as `NAME.tool` (a
//! read-only one runs, an acting one only once approved), a repository's
//! file that names a server ignored until trusted.

use std::path::PathBuf;
use std::sync::Arc;

use locus::config::Dirs;
use locus::model::Cancel;
use locus::model::chat::ScriptedModel;
use locus::session::{Via, Workbench};
use locus::workspace::Workspace;
use serde_json::Value;

use crate::util::{Sandbox, git_init, stderr, stdout};

fn server() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp_demo_server.py")
        .display()
        .to_string()
}

fn config() -> String {
    format!(
        "[mcp.servers.demo]\ncommand = \"python3\"\nargs = [\"{}\"]\nenv = {{ DEMO = \"1\" }}\n",
        server()
    )
}

#[test]
fn locus_mcp_list_shows_each_servers_tools_or_why_not() {
    let sb = Sandbox::new();
    let root = sb.path("work/p");
    git_init(&root);
    sb.write(
        "config/locus/config.toml",
        &format!(
            "{}\n[mcp.servers.broken]\ncommand = \"/nonexistent/mcp-server\"\n",
            config()
        ),
    );
    let out = sb.locus(&root, &["mcp", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let broken = &v[0];
    assert_eq!(broken["name"], "broken");
    assert!(
        broken["error"].as_str().unwrap().contains("cannot start"),
        "{v}"
    );
    let demo = &v[1];
    assert_eq!(demo["error"], Value::Null, "{v}");
    let tools: Vec<(&str, bool)> = demo["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["read_only"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(tools, [("demo.echo", true), ("demo.write_note", false)]);
    let out = sb.locus(&root, &["mcp", "list"]);
    assert!(
        stdout(&out).contains("demo.write_note") && stdout(&out).contains("acting"),
        "{}",
        stdout(&out)
    );

    // A repository's own file names a server: not started until trusted.
    let sb = Sandbox::new();
    let root = sb.path("work/q");
    git_init(&root);
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(root.join(".locus/config.toml"), config()).unwrap();
    let out = sb.locus(&root, &["mcp", "list", "--json"]);
    assert_eq!(stdout(&out).trim(), "[]", "{}", stderr(&out));
    assert!(
        stderr(&out).contains("mcp"),
        "the ignored key is said: {}",
        stderr(&out)
    );
}

#[test]
fn mcp_tools_join_the_loop_and_acting_ones_are_approved_first() {
    let sb = Sandbox::new();
    let root = sb.path("work/p");
    git_init(&root);
    std::fs::write(root.join("a.py"), "x = 1\n").unwrap();
    sb.write("config/locus/config.toml", &config());
    let mut ws = Workspace::detect(Some(&root)).unwrap();
    ws.dirs = Dirs {
        config: sb.path("config/locus"),
        state: sb.path("state/locus"),
        cache: sb.path("cache/locus"),
    };
    let mut wb = Workbench::new(ws).unwrap();
    wb.open_session(None).unwrap();
    let script = [
        "<tool_call>{\"name\": \"demo.echo\", \"arguments\": {\"text\": \"hi\"}}</tool_call>",
        "<tool_call>{\"name\": \"demo.write_note\", \"arguments\": {\"text\": \"first\"}}</tool_call>",
        "<tool_call>{\"name\": \"demo.write_note\", \"arguments\": {\"text\": \"second\"}}</tool_call>",
        "Done.",
    ];
    let model = Arc::new(ScriptedModel::new(script, 8192));
    wb.set_model(Box::new(model.clone()));
    let mut asked = Vec::new();
    let mut approve = |name: &str| {
        asked.push(name.to_string());
        asked.len() > 1
    };
    let (_, end, _) = wb
        .ask_with_tools(
            Via::Local,
            "Use the demo",
            &[],
            &mut approve,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        asked,
        ["demo.write_note", "demo.write_note"],
        "only the acting tool asked"
    );
    let r: Vec<(bool, &str)> = end
        .steps
        .iter()
        .map(|s| (s.result.ok, s.result.content.as_str()))
        .collect();
    assert_eq!(r[0], (true, "echo: hi\n"));
    assert!(!r[1].0 && r[1].1.contains("did not approve"), "{r:?}");
    assert!(r[2].0, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(root.join("note.txt")).unwrap(),
        "second"
    );
    assert!(
        model.requests()[0][0].content.contains("demo.write_note"),
        "declared to the model"
    );
}
