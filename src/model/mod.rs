//! Models: the messages and events every model speaks, and the local runtime.
//! Placement (local or cloud) is about where a model runs, not its protocol.

pub mod attach;
pub mod chat;
pub mod cloud;
pub mod local;
pub mod tools;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool's result, answering one of the previous assistant message's calls.
    Tool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// The calls an assistant message made (native tool calling).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<tools::ToolUse>,
    /// For a `Tool` message: the call it answers and the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Images (and recordings) sent with a user message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<attach::Attachment>,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            attachments: Vec::new(),
        }
    }

    /// An assistant message that made `calls` (after its `text`, if any).
    pub fn calls(text: impl Into<String>, calls: Vec<tools::ToolUse>) -> Message {
        Message {
            tool_calls: calls,
            ..Message::new(Role::Assistant, text)
        }
    }

    /// The result of call `id` of tool `name`.
    pub fn tool_result(id: &str, name: &str, content: impl Into<String>) -> Message {
        Message {
            tool_call_id: Some(id.into()),
            name: Some(name.into()),
            ..Message::new(Role::Tool, content)
        }
    }
}

/// Figures of one generation, as `locus generate --json` prints them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// Prompt tokens whose keys/values came from the prefix cache.
    pub reused_prefix_tokens: usize,
    /// Where they came from: "memory" (this process's cache), "disk" (a
    /// snapshot an earlier process saved), or "" (none reused).
    #[serde(default)]
    pub reused_prefix_from: String,
    /// Reading and restoring the snapshot, when the reuse came from disk.
    #[serde(default)]
    pub snapshot_load_ms: f64,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    /// From the request to the first generated token.
    pub ttft_ms: f64,
    pub peak_rss_bytes: u64,
    /// Why generation stopped: "stop" (end-of-turn token), "length", "cancelled".
    pub finish: String,
    /// Speculative decoding: tokens drafted, and how many of them the model
    /// kept (each kept one saved a pass over the weights).
    #[serde(default)]
    pub drafted_tokens: usize,
    #[serde(default)]
    pub accepted_tokens: usize,
}

/// What a streaming generation reports, in order: deltas, then `Done` or `Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The prompt is being read: `done` of `total` tokens so far (the
    /// cached prefix counts as done).
    Prefill {
        done: usize,
        total: usize,
    },
    /// Answer text.
    Text(String),
    /// Reasoning text the model produced before its answer (folded in the UI).
    Thinking(String),
    /// A tool call the model made (native tool calling).
    ToolCall(tools::ToolUse),
    /// Text the model meant as a tool call that does not parse, and why.
    BadToolCall {
        text: String,
        reason: String,
    },
    Done(GenStats),
    Error(String),
}

/// A handle that stops a running generation at the next token.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself (a signal handler sets it).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// Peak resident memory of this process so far (Linux: VmHWM), 0 when unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
