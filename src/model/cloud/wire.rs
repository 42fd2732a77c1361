//! Each provider's wire format: the streaming request, and what its events mean.

use serde_json::{Value, json};

use super::sse::SseEvent;
use crate::config::{ProviderKind, ProviderSettings};
use crate::model::{Message, Role};

/// What one event says.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
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

fn role(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The system text and the rest of the conversation, for APIs that take them apart.
fn split_system(messages: &[Message]) -> (String, Vec<&Message>) {
    let system: Vec<&str> = messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    (
        system.join("\n\n"),
        messages.iter().filter(|m| m.role != Role::System).collect(),
    )
}

pub fn request(
    p: &ProviderSettings,
    messages: &[Message],
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
                .map(|m| json!({"role": role(m.role), "content": m.content}))
                .collect();
            WireRequest {
                url: format!("{base}/chat/completions"),
                headers,
                body: json!({
                    "model": p.model,
                    "messages": msgs,
                    "stream": true,
                    "stream_options": {"include_usage": true},
                    "max_tokens": max_tokens,
                    "temperature": temperature,
                }),
            }
        }
        ProviderKind::Anthropic => {
            if let Some(k) = key {
                headers.push(("x-api-key".into(), k.to_string()));
            }
            headers.push(("anthropic-version".into(), "2023-06-01".into()));
            let (system, rest) = split_system(messages);
            let msgs: Vec<Value> = rest
                .iter()
                .map(|m| json!({"role": role(m.role), "content": m.content}))
                .collect();
            let mut body = json!({"model": p.model, "messages": msgs, "max_tokens": max_tokens, "stream": true, "temperature": temperature});
            if !system.is_empty() {
                body["system"] = json!(system);
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
            let (system, rest) = split_system(messages);
            let contents: Vec<Value> = rest
                .iter()
                .map(|m| json!({"role": if m.role == Role::Assistant { "model" } else { "user" }, "parts": [{"text": m.content}]}))
                .collect();
            let mut body = json!({
                "contents": contents,
                "generationConfig": {"maxOutputTokens": max_tokens, "temperature": temperature},
            });
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
                "content_block_delta" => {
                    if let Some(t) = v.pointer("/delta/text").and_then(Value::as_str) {
                        out.push(Delta::Text(t.to_string()));
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
