//! Tool calling as every model speaks it: the declarations a request
//! carries, and the calls a model makes. Each placement turns these into its
//! own wire form (Gemma 4's `<|tool>` tokens, OpenAI `tools`, Anthropic
//! `tool_use`, Gemini `functionDeclarations`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tool as a model is told of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolDecl {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// A call a model made: its id (the provider's, or one locus made up), the
/// tool's name and the arguments object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolUse {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

/// An id for a call whose model gave none (Gemma, Gemini).
pub fn call_id(n: usize) -> String {
    format!("call_{n}")
}
