//! Native tool calling end to end: a loopback OpenAI-compatible server that
//! calls tools in OpenAI's streamed `tool_calls` format drives `locus edit`
//! on a real repository with a failing test (the check runs, the file is
//! read, the fix proposed, applied, and the check passes); Anthropic's
//! `tool_use` and Gemini's `functionCall` streams become the same calls, and
//! each API is sent calls and results in its own shape.

use locus::config::ProviderKind;
use locus::model::chat::{ChatModel, ChatRequest};
use locus::model::cloud::CloudModel;
use locus::model::tools::{ToolDecl, ToolUse};
use locus::model::{Cancel, Event, Message, Role};
use serde_json::{Value, json};

use crate::cloud::{Reply, Server, openai_answer, provider};
use crate::tools::failing_repo;
use crate::util::{Sandbox, stderr, stdout};

/// An OpenAI stream calling `name(arguments)`, the arguments split over
/// several deltas as servers send them.
fn openai_call(id: &str, name: &str, arguments: Value) -> String {
    let args = arguments.to_string();
    let (a, b) = args.split_at(args.len() / 2);
    let chunk = |delta: Value| json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
    let first = chunk(
        json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
    );
    let second = chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}));
    let third = chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": b}}]}));
    let end = json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]});
    format!("data: {first}\n\ndata: {second}\n\ndata: {third}\n\ndata: {end}\n\ndata: [DONE]\n\n")
}

#[test]
fn a_server_calling_tools_in_openai_format_finds_and_fixes_the_bug() {
    let fix =
        "calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![
        Reply::sse(
            &openai_call("call_a", "run_check", json!({"name": "test"})),
            40,
        ),
        Reply::sse(
            &openai_call("call_b", "read_file", json!({"path": "calc.py"})),
            40,
        ),
        Reply::sse(
            &openai_call("call_c", "propose_edit", json!({"edits": fix})),
            40,
        ),
        Reply::sse(&openai_answer("add subtracted; it adds now."), 64),
    ]);
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[model]\nprovider = \"mine\"\n\n[providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n\n\
             [checks.test]\ncommand = \"PYTHONPATH=. python3 -m unittest discover -s tests -q\"\nafter_edit = true\ntimeout_s = 120\n",
            server.url("/v1")
        ),
    );
    let out = sb.locus(
        &root,
        &[
            "edit",
            "Make the tests pass",
            "--yes",
            "--allow-checks",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let calls: Vec<&str> = v["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|s| s["call"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["run_check", "read_file", "propose_edit"], "{v}");
    assert!(
        v["tool_calls"][0]["result"]["content"]
            .as_str()
            .unwrap()
            .contains("FAIL"),
        "{v}"
    );
    assert_eq!(v["applied"], true, "{v}");
    assert_eq!(
        v["checks"][0]["ok"], true,
        "the check passes after the fix: {v}"
    );
    assert!(
        std::fs::read_to_string(root.join("calc.py"))
            .unwrap()
            .contains("return a + b")
    );

    let sent: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(sent.len(), 4);
    let names: Vec<&str> = sent[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"run_check") && names.contains(&"propose_edit"),
        "{names:?}"
    );
    // Each call goes back as the assistant's tool_calls, its result as a
    // `tool` message naming it.
    let msgs = sent[3]["messages"].as_array().unwrap();
    let asked: Vec<&str> = msgs
        .iter()
        .filter_map(|m| m["tool_calls"][0]["id"].as_str())
        .collect();
    assert_eq!(asked, ["call_a", "call_b", "call_c"]);
    let results: Vec<&Value> = msgs.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["tool_call_id"], "call_a");
    assert!(
        results[0]["content"]
            .as_str()
            .unwrap()
            .contains("AssertionError")
    );
    assert!(
        results[1]["content"]
            .as_str()
            .unwrap()
            .contains("return a - b")
    );
    assert_eq!(
        msgs.iter()
            .find(|m| m["tool_calls"][0]["id"] == "call_b")
            .unwrap()["tool_calls"][0]["function"]["arguments"],
        json!({"path": "calc.py"}).to_string()
    );
}

fn stream(model: &CloudModel, messages: &[Message]) -> Vec<Event> {
    let tools = [ToolDecl {
        name: "read_file".into(),
        description: "Read a file.".into(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    }];
    let mut events = Vec::new();
    model
        .chat(
            &ChatRequest {
                messages,
                max_tokens: 64,
                temperature: 0.0,
                files: &[],
                tools: &tools,
                kind: Default::default(),
            },
            &Cancel::new(),
            &mut |e| events.push(e),
        )
        .unwrap();
    events
}

fn conversation() -> Vec<Message> {
    vec![
        Message::new(Role::System, "Be brief."),
        Message::new(Role::User, "What is in a.py?"),
        Message::calls(
            "Reading it.",
            vec![ToolUse {
                id: "t1".into(),
                name: "read_file".into(),
                arguments: json!({"path": "a.py"}),
            }],
        ),
        Message::tool_result("t1", "read_file", "x = 1"),
    ]
}

#[test]
fn anthropic_and_gemini_calls_arrive_as_calls_and_results_go_back_in_their_shapes() {
    let anthropic = [
        json!({"type": "message_start", "message": {"usage": {"input_tokens": 10, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me read."}}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"pa"}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "th\": \"b.py\"}"}}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "read_file", "input": {}}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": "}}),
        json!({"type": "message_delta", "usage": {"output_tokens": 9}}),
        json!({"type": "message_stop"}),
    ]
    .iter()
    .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
    .collect::<String>();
    let server = Server::start(vec![Reply::sse(&anthropic, 50)]);
    let model = CloudModel::new("a", provider(ProviderKind::Anthropic, server.url(""))).unwrap();
    let events = stream(&model, &conversation());
    let calls: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::ToolCall(_) | Event::BadToolCall { .. }))
        .collect();
    assert_eq!(
        calls[0],
        &Event::ToolCall(ToolUse {
            id: "toolu_1".into(),
            name: "read_file".into(),
            arguments: json!({"path": "b.py"})
        })
    );
    assert!(
        matches!(calls[1], Event::BadToolCall { reason, .. } if reason.contains("not a JSON object")),
        "a cut-off call is reported, not run: {calls:?}"
    );
    let body: Value = serde_json::from_str(&server.requests()[0].body).unwrap();
    assert_eq!(
        body["tools"][0]["input_schema"]["required"],
        json!(["path"])
    );
    let msgs = body["messages"].as_array().unwrap();
    assert_eq!(
        msgs[1]["content"][1],
        json!({"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a.py"}})
    );
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(
        msgs[2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "t1", "content": "x = 1"})
    );

    let gemini = json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"path": "c.py"}}}]}, "finishReason": "STOP"}]});
    let server = Server::start(vec![Reply::sse(&format!("data: {gemini}\n\n"), 64)]);
    let model = CloudModel::new("g", provider(ProviderKind::Gemini, server.url(""))).unwrap();
    let events = stream(&model, &conversation());
    assert!(
        events.iter().any(|e| matches!(e, Event::ToolCall(c) if c.name == "read_file" && c.arguments == json!({"path": "c.py"}))),
        "{events:?}"
    );
    let body: Value = serde_json::from_str(&server.requests()[0].body).unwrap();
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["name"],
        "read_file"
    );
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(
        contents[1]["parts"][1],
        json!({"functionCall": {"name": "read_file", "args": {"path": "a.py"}}})
    );
    assert_eq!(
        contents[2]["parts"][0],
        json!({"functionResponse": {"name": "read_file", "response": {"output": "x = 1"}}})
    );
}

/// A tool round trip on the local Gemma 4 (native format) computes only what
/// the call and its result added: the rest comes from the prefix cache (all
/// but the empty thought its template puts before an answer).
#[test]
fn a_native_round_trip_on_the_local_model_reuses_the_prefix() {
    use locus::model::local::{LocalChat, LocalModel};
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf");
    let m = LocalChat::new(
        LocalModel::load(&path, &candle_core::Device::Cpu).unwrap(),
        4096,
    );
    assert!(m.native_tools());
    let decls: Vec<ToolDecl> = locus::tools::builtin().iter().map(|s| s.decl()).collect();
    let run = |messages: &[Message]| {
        let mut stats = None;
        m.chat(
            &ChatRequest {
                messages,
                max_tokens: 4,
                temperature: 0.0,
                files: &[],
                tools: &decls,
                kind: Default::default(),
            },
            &Cancel::new(),
            &mut |e| {
                if let Event::Done(s) = e {
                    stats = Some(s)
                }
            },
        )
        .unwrap();
        stats.unwrap()
    };
    let mut messages = vec![
        Message::new(Role::System, "Be brief."),
        Message::new(Role::User, "What is in a.py?"),
    ];
    let first = run(&messages);
    messages.push(Message::calls(
        "",
        vec![ToolUse {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: json!({"path": "a.py"}),
        }],
    ));
    messages.push(Message::tool_result(
        "call_1",
        "read_file",
        "    1│ x = 1\n",
    ));
    let second = run(&messages);
    let new = second.prompt_tokens - first.prompt_tokens;
    let prefilled = second.prompt_tokens - second.reused_prefix_tokens;
    let thought = m.counter().count("thought\n") + 2;
    assert!(
        prefilled <= new + thought && second.reused_prefix_tokens + thought >= first.prompt_tokens,
        "new {new}, prefilled {prefilled}, reused {} of the first {}",
        second.reused_prefix_tokens,
        first.prompt_tokens
    );
}

/// An MCP tool's `server.tool` name travels as `server__tool` (the APIs
/// accept no dot) and comes back as itself.
#[test]
fn dotted_tool_names_travel_as_the_apis_accept_them() {
    let server = Server::start(vec![Reply::sse(
        &openai_call("c9", "demo__echo", json!({"text": "hi"})),
        64,
    )]);
    let model = CloudModel::new("o", provider(ProviderKind::Openai, server.url("/v1"))).unwrap();
    let tools = [ToolDecl {
        name: "demo.echo".into(),
        description: "Echo.".into(),
        parameters: json!({"type": "object", "properties": {"text": {"type": "string"}}}),
    }];
    let mut messages = conversation();
    messages[2].tool_calls[0].name = "demo.echo".into();
    let mut events = Vec::new();
    model
        .chat(
            &ChatRequest {
                messages: &messages,
                max_tokens: 16,
                temperature: 0.0,
                files: &[],
                tools: &tools,
                kind: Default::default(),
            },
            &Cancel::new(),
            &mut |e| events.push(e),
        )
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ToolCall(c) if c.name == "demo.echo")),
        "{events:?}"
    );
    let body: Value = serde_json::from_str(&server.requests()[0].body).unwrap();
    assert_eq!(body["tools"][0]["function"]["name"], "demo__echo");
    assert_eq!(
        body["messages"][2]["tool_calls"][0]["function"]["name"],
        "demo__echo"
    );
}

/// The whole loop on the local Gemma 4 runtime with its native format: the
/// tiny random-weight model writes noise, and the loop ends cleanly.
#[test]
fn the_loop_on_the_local_gemma4_ends_cleanly() {
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf");
    sb.write(
        "config/locus/config.toml",
        "[model]\ncontext = 4096\n\n[context]\nanswer_tokens = 32\n\n[agent]\nmax_steps = 2\n",
    );
    let out = sb.locus_env(
        &root,
        &["ask", "What is wrong with add?", "--json"],
        &[("LOCUS_MODEL", model.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["tool_calls"].as_array().unwrap().len() <= 2, "{v}");
    assert_eq!(v["placement"]["where"], "local");
}
