//! A tool round trip on the local model: the first request (system prompt
//! with the tools, the question), then the same conversation with the
//! model's call and the tool's result appended. Reports how many of the
//! second prompt's tokens were new, how many were prefilled (the prefix
//! cache keeps the rest), and the time to first token against the same
//! second request from a cold cache. Prints one JSON object per model.
//!
//! usage: cargo bench --bench tool_roundtrip -- [MODEL.gguf ...]
//! (default: the small test model and the tiny Gemma 4, which calls tools
//! in its native format)

use locus::model::chat::{ChatModel, ChatRequest};
use locus::model::local::{LocalChat, LocalModel};
use locus::model::tools::ToolUse;
use locus::model::{Cancel, Event, GenStats, Message, Role};
use serde_json::json;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn chat(m: &LocalChat, messages: &[Message], tools: &[locus::model::tools::ToolDecl]) -> GenStats {
    let mut stats = None;
    m.chat(
        &ChatRequest {
            messages,
            max_tokens: 8,
            temperature: 0.0,
            files: &[],
            tools,
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
}

fn load(path: &str) -> LocalChat {
    let m = LocalModel::load(std::path::Path::new(path), &candle_core::Device::Cpu).unwrap();
    LocalChat::new(m, 4096)
}

fn main() {
    let mut models: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if models.is_empty() {
        models = vec![
            "models/gemma-3-270m-q4_k_m.gguf".into(),
            "tests/fixtures/tiny-gemma4.gguf".into(),
        ];
    }
    let specs = locus::tools::builtin();
    let code: String = (0..12)
        .map(|i| format!("def handler_{i}(request, db):\n    record = db.fetch('items', request.params['id'])\n    return record.count + {i}\n\n"))
        .collect();
    for path in models {
        let m = load(&path);
        let native = m.native_tools();
        let decls: Vec<_> = if native {
            specs.iter().map(|s| s.decl()).collect()
        } else {
            Vec::new()
        };
        let system = if native {
            "You answer questions about the repository; call the tools you are given when needed."
                .to_string()
        } else {
            locus::session::agent::protocol(&specs)
        };
        let mut messages = vec![
            Message::new(Role::System, system),
            Message::new(
                Role::User,
                format!("{code}\nWhy does handler_3 fail when the record is missing?"),
            ),
        ];
        // What declaring the tools costs every request of the loop.
        let declaration_tokens = if native {
            m.model.encode_chat(&messages, false, &decls).unwrap().len()
                - m.model.encode_chat(&messages, false, &[]).unwrap().len()
        } else {
            m.counter().count(&messages[0].content)
        };
        let first = chat(&m, &messages, &decls);
        let call = ToolUse {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: json!({"path": "handlers.py", "start_line": 1, "end_line": 12}),
        };
        let result = "    1│ def handler_3(request, db):\n    2│     record = db.fetch('items', request.params['id'])\n    3│     return record.count + 3\n";
        if native {
            messages.push(Message::calls("", vec![call]));
            messages.push(Message::tool_result("call_1", "read_file", result));
        } else {
            messages.push(Message::new(
                Role::Assistant,
                format!(
                    "<tool_call>{}</tool_call>",
                    json!({"name": call.name, "arguments": call.arguments})
                ),
            ));
            messages.push(Message::new(
                Role::User,
                format!("<tool_result name=\"read_file\">\n{result}</tool_result>"),
            ));
        }
        let second = chat(&m, &messages, &decls);
        let cold = chat(&load(&path), &messages, &decls);
        println!(
            "{}",
            json!({
                "model": path,
                "native_tools": native,
                "declaration_tokens": declaration_tokens,
                "first_prompt_tokens": first.prompt_tokens,
                "second_prompt_tokens": second.prompt_tokens,
                "new_tokens": second.prompt_tokens - first.prompt_tokens,
                "prefilled_tokens": second.prompt_tokens - second.reused_prefix_tokens,
                "reused_prefix_tokens": second.reused_prefix_tokens,
                "ttft_ms_round_trip": second.ttft_ms,
                "ttft_ms_cold": cold.ttft_ms,
            })
        );
    }
}
