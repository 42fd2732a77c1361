//! Each provider's wire format: the streaming request, and what its events mean.

use serde_json::{Value, json};

use super::sse::SseEvent;
use crate::config::{ProviderKind, ProviderSettings};
use crate::model::local::vision::MediaError;
use crate::model::tools::ToolDecl;
use crate::model::{Message, Role};

/// What one event says.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    /// A piece of a tool call, streamed (OpenAI's `tool_calls` deltas,
    /// Anthropic's `tool_use` block and its `input_json_delta`s): pieces with
    /// the same `index` make one call.
    ToolPart {
        index: usize,
        id: Option<String>,
        name: Option<String>,
        args: String,
    },
    /// A whole tool call (Gemini's `functionCall`).
    ToolCall {
        name: String,
        arguments: Value,
    },
    Usage {
        input: Option<usize>,
        output: Option<usize>,
    },
    /// The reply is complete.
    Done,
    Error(String),
}

/// URL, headers and JSON body of a streaming request.
pub struct WireRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// A tool's name as the APIs accept it (`[a-zA-Z0-9_-]`): an MCP tool's
/// `server.tool` travels as `server__tool`.
pub fn wire_name(name: &str) -> String {
    name.replace('.', "__")
}

fn role(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Message `i`'s attachments as they travel.
fn media_of(media: &[Vec<Inline>], i: usize) -> &[Inline] {
    media.get(i).map_or(&[], Vec::as_slice)
}

/// The system text and the rest of the conversation (each message with its
/// attachments), for APIs that take them apart.
fn split_system<'a>(
    messages: &'a [Message],
    media: &'a [Vec<Inline>],
) -> (String, Vec<(&'a Message, &'a [Inline])>) {
    let system: Vec<&str> = messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    (
        system.join("\n\n"),
        messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role != Role::System)
            .map(|(i, m)| (m, media_of(media, i)))
            .collect(),
    )
}

/// An attachment as it travels: its type and its bytes in base64.
pub struct Inline {
    pub mime: String,
    pub data: String,
}

/// The attachments of each message, read now and encoded (one list per
/// message, in order). A file changed or gone since it was attached and
/// previewed is an error: what leaves is what was shown.
pub fn inline_media(messages: &[Message]) -> Result<Vec<Vec<Inline>>, MediaError> {
    use base64::Engine as _;
    messages
        .iter()
        .map(|m| {
            m.attachments
                .iter()
                .map(|a| {
                    Ok(Inline {
                        mime: a.mime.clone(),
                        data: base64::engine::general_purpose::STANDARD.encode(a.read()?),
                    })
                })
                .collect()
        })
        .collect()
}

/// A user message's content: plain text, or its attachments first and
/// then the text in the provider's blocks.
fn user_content(kind: ProviderKind, m: &Message, media: &[Inline]) -> Value {
    if media.is_empty() {
        return match kind {
            ProviderKind::Gemini => json!([{"text": m.content}]),
            _ => json!(m.content),
        };
    }
    let mut blocks: Vec<Value> = media
        .iter()
        .map(|i| match kind {
            ProviderKind::Openai => json!({"type": "image_url",
                "image_url": {"url": format!("data:{};base64,{}", i.mime, i.data)}}),
            ProviderKind::Anthropic => json!({"type": "image",
                "source": {"type": "base64", "media_type": i.mime, "data": i.data}}),
            ProviderKind::Gemini => json!({"inlineData": {"mimeType": i.mime, "data": i.data}}),
        })
        .collect();
    blocks.push(match kind {
        ProviderKind::Gemini => json!({"text": m.content}),
        _ => json!({"type": "text", "text": m.content}),
    });
    json!(blocks)
}

pub fn request(
    p: &ProviderSettings,
    messages: &[Message],
    media: &[Vec<Inline>],
    tools: &[ToolDecl],
    max_tokens: usize,
    temperature: f32,
    key: Option<&str>,
) -> WireRequest {
    let base = p.base();
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    match p.kind {
        ProviderKind::Openai => {
            if let Some(k) = key {
                headers.push(("authorization".into(), format!("Bearer {k}")));
            }
            let msgs: Vec<Value> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| openai_message(m, media_of(media, i)))
                .collect();
            let mut body = json!({
                "model": p.model,
                "messages": msgs,
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": max_tokens,
                "temperature": temperature,
            });
            if !tools.is_empty() {
                body["tools"] = tools
                    .iter()
                    .map(|t| json!({"type": "function", "function": {"name": wire_name(&t.name), "description": t.description, "parameters": t.parameters}}))
                    .collect();
            }
            WireRequest {
                url: format!("{base}/chat/completions"),
                headers,
                body,
            }
        }
        ProviderKind::Anthropic => {
            if let Some(k) = key {
                headers.push(("x-api-key".into(), k.to_string()));
            }
            headers.push(("anthropic-version".into(), "2023-06-01".into()));
            let (system, rest) = split_system(messages, media);
            let msgs = anthropic_messages(&rest);
            let mut body = json!({"model": p.model, "messages": msgs, "max_tokens": max_tokens, "stream": true, "temperature": temperature});
            if !system.is_empty() {
                body["system"] = json!(system);
            }
            if !tools.is_empty() {
                body["tools"] = tools
                    .iter()
                    .map(|t| json!({"name": wire_name(&t.name), "description": t.description, "input_schema": t.parameters}))
                    .collect();
            }
            let url = if base.ends_with("/v1") {
                format!("{base}/messages")
            } else {
                format!("{base}/v1/messages")
            };
            WireRequest { url, headers, body }
        }
        ProviderKind::Gemini => {
            if let Some(k) = key {
                headers.push(("x-goog-api-key".into(), k.to_string()));
            }
            let (system, rest) = split_system(messages, media);
            let contents = gemini_contents(&rest);
            let mut body = json!({
                "contents": contents,
                "generationConfig": {"maxOutputTokens": max_tokens, "temperature": temperature},
            });
            if !tools.is_empty() {
                let decls: Vec<Value> = tools
                    .iter()
                    .map(|t| json!({"name": wire_name(&t.name), "description": t.description, "parameters": t.parameters}))
                    .collect();
                body["tools"] = json!([{"functionDeclarations": decls}]);
            }
            if !system.is_empty() {
                body["systemInstruction"] = json!({"parts": [{"text": system}]});
            }
            WireRequest {
                url: format!("{base}/models/{}:streamGenerateContent?alt=sse", p.model),
                headers,
                body,
            }
        }
    }
}

/// An OpenAI chat message: calls as `tool_calls` (arguments a JSON string),
/// results as `tool` messages naming the call.
fn openai_message(m: &Message, media: &[Inline]) -> Value {
    match m.role {
        Role::Assistant if !m.tool_calls.is_empty() => {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| json!({"id": c.id, "type": "function", "function": {"name": wire_name(&c.name), "arguments": c.arguments.to_string()}}))
                .collect();
            let content = if m.content.is_empty() {
                Value::Null
            } else {
                json!(m.content)
            };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        Role::Tool => {
            json!({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        }
        Role::User => {
            json!({"role": "user", "content": user_content(ProviderKind::Openai, m, media)})
        }
        _ => json!({"role": role(m.role), "content": m.content}),
    }
}

/// Anthropic messages: calls as `tool_use` blocks, results as `tool_result`
/// blocks of one user message (consecutive results together).
fn anthropic_messages(msgs: &[(&Message, &[Inline])]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for &(m, media) in msgs {
        match m.role {
            Role::Assistant if !m.tool_calls.is_empty() => {
                let mut blocks = Vec::new();
                if !m.content.trim().is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                for c in &m.tool_calls {
                    blocks.push(json!({"type": "tool_use", "id": c.id, "name": wire_name(&c.name), "input": c.arguments}));
                }
                out.push(json!({"role": "assistant", "content": blocks}));
            }
            Role::Tool => {
                let block = json!({"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content});
                match out.last_mut() {
                    Some(last) if last["role"] == "user" && last["content"].is_array() => {
                        last["content"].as_array_mut().expect("array").push(block);
                    }
                    _ => out.push(json!({"role": "user", "content": [block]})),
                }
            }
            Role::User => out.push(json!({"role": "user",
                "content": user_content(ProviderKind::Anthropic, m, media)})),
            r => out.push(json!({"role": role(r), "content": m.content})),
        }
    }
    out
}

/// Gemini contents: calls as `functionCall` parts of the model's turn,
/// results as `functionResponse` parts of one user turn.
fn gemini_contents(msgs: &[(&Message, &[Inline])]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for &(m, media) in msgs {
        match m.role {
            Role::Assistant => {
                let mut parts = Vec::new();
                if !m.content.trim().is_empty() || m.tool_calls.is_empty() {
                    parts.push(json!({"text": m.content}));
                }
                for c in &m.tool_calls {
                    parts.push(
                        json!({"functionCall": {"name": wire_name(&c.name), "args": c.arguments}}),
                    );
                }
                out.push(json!({"role": "model", "parts": parts}));
            }
            Role::Tool => {
                let part = json!({"functionResponse": {"name": m.name.as_deref().map(wire_name), "response": {"output": m.content}}});
                match out.last_mut() {
                    Some(last)
                        if last["role"] == "user"
                            && last["parts"][0].get("functionResponse").is_some() =>
                    {
                        last["parts"].as_array_mut().expect("array").push(part);
                    }
                    _ => out.push(json!({"role": "user", "parts": [part]})),
                }
            }
            _ => out.push(
                json!({"role": "user", "parts": user_content(ProviderKind::Gemini, m, media)}),
            ),
        }
    }
    out
}

fn error_message(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    Some(
        e.get("message")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| e.to_string()),
    )
}

/// What an event of `kind`'s stream means.
pub fn interpret(kind: ProviderKind, ev: &SseEvent) -> Vec<Delta> {
    let data = ev.data.trim();
    if data.is_empty() {
        return Vec::new();
    }
    if data == "[DONE]" {
        return vec![Delta::Done];
    }
    let Ok(v) = serde_json::from_str::<Value>(data) else {
        return Vec::new();
    };
    if let Some(msg) = error_message(&v) {
        return vec![Delta::Error(msg)];
    }
    let mut out = Vec::new();
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).map(|x| x as usize);
    match kind {
        ProviderKind::Openai => {
            if let Some(c) = v
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                && !c.is_empty()
            {
                out.push(Delta::Text(c.to_string()));
            }
            for (k, tc) in v
                .pointer("/choices/0/delta/tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let s = |p: &str| tc.pointer(p).and_then(Value::as_str).map(String::from);
                out.push(Delta::ToolPart {
                    index: n(tc, "index").unwrap_or(k),
                    id: s("/id"),
                    name: s("/function/name"),
                    args: s("/function/arguments").unwrap_or_default(),
                });
            }
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                out.push(Delta::Usage {
                    input: n(u, "prompt_tokens"),
                    output: n(u, "completion_tokens"),
                });
            }
        }
        ProviderKind::Anthropic => {
            match v.get("type").and_then(Value::as_str).unwrap_or_default() {
                "message_start" => {
                    if let Some(u) = v.pointer("/message/usage") {
                        out.push(Delta::Usage {
                            input: n(u, "input_tokens"),
                            output: n(u, "output_tokens"),
                        });
                    }
                }
                "content_block_start" => {
                    if let Some(b) = v.get("content_block").filter(|b| b["type"] == "tool_use") {
                        out.push(Delta::ToolPart {
                            index: n(&v, "index").unwrap_or(0),
                            id: b["id"].as_str().map(String::from),
                            name: b["name"].as_str().map(String::from),
                            args: String::new(),
                        });
                    }
                }
                "content_block_delta" => {
                    if let Some(t) = v.pointer("/delta/text").and_then(Value::as_str) {
                        out.push(Delta::Text(t.to_string()));
                    }
                    if let Some(j) = v.pointer("/delta/partial_json").and_then(Value::as_str) {
                        out.push(Delta::ToolPart {
                            index: n(&v, "index").unwrap_or(0),
                            id: None,
                            name: None,
                            args: j.to_string(),
                        });
                    }
                }
                "message_delta" => {
                    if let Some(u) = v.get("usage") {
                        out.push(Delta::Usage {
                            input: None,
                            output: n(u, "output_tokens"),
                        });
                    }
                }
                "message_stop" => out.push(Delta::Done),
                _ => {}
            }
        }
        ProviderKind::Gemini => {
            if let Some(parts) = v
                .pointer("/candidates/0/content/parts")
                .and_then(Value::as_array)
            {
                for p in parts {
                    if let Some(t) = p.get("text").and_then(Value::as_str) {
                        out.push(Delta::Text(t.to_string()));
                    }
                    if let Some(f) = p.get("functionCall") {
                        out.push(Delta::ToolCall {
                            name: f["name"].as_str().unwrap_or_default().to_string(),
                            arguments: f.get("args").cloned().unwrap_or_else(|| json!({})),
                        });
                    }
                }
            }
            if let Some(u) = v.get("usageMetadata") {
                out.push(Delta::Usage {
                    input: n(u, "promptTokenCount"),
                    output: n(u, "candidatesTokenCount"),
                });
            }
            if v.pointer("/candidates/0/finishReason")
                .and_then(Value::as_str)
                .is_some()
            {
                out.push(Delta::Done);
            }
        }
    }
    out
}
