//! One reply streamed from a model: its text (and thinking) as it arrives,
//! the tool calls it made, and its figures.

use super::SessionError;
use crate::model::chat::{ChatModel, ChatRequest};
use crate::model::{Cancel, Event, GenStats, Message};

/// A piece of a reply as it streams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// The answer's text.
    Text(&'a str),
    /// The model's thinking before (or between) its answer, for showing
    /// folded; it is not part of the answer or the history.
    Thinking(&'a str),
}

/// Stream one reply; the text and the stats.
pub(super) fn run(
    model: &dyn ChatModel,
    messages: &[Message],
    files: &[String],
    max_tokens: usize,
    cancel: &Cancel,
    on_text: &mut dyn FnMut(Piece),
) -> Result<(String, GenStats), SessionError> {
    let r = run_tools(model, messages, files, &[], max_tokens, cancel, on_text)?;
    Ok((r.text, r.stats))
}

/// One reply with the tools it called (native tool calling).
pub(crate) struct Reply {
    pub text: String,
    /// Each call, or why it could not be read.
    pub calls: Vec<Result<crate::model::tools::ToolUse, String>>,
    pub stats: GenStats,
}

/// Stream one reply, `tools` declared to the model.
pub(crate) fn run_tools(
    model: &dyn ChatModel,
    messages: &[Message],
    files: &[String],
    tools: &[crate::model::tools::ToolDecl],
    max_tokens: usize,
    cancel: &Cancel,
    on_text: &mut dyn FnMut(Piece),
) -> Result<Reply, SessionError> {
    let mut reply = Reply {
        text: String::new(),
        calls: Vec::new(),
        stats: GenStats::default(),
    };
    let mut failure = None;
    let req = ChatRequest {
        messages,
        max_tokens,
        temperature: 0.0,
        files,
        tools,
    };
    model.chat(&req, cancel, &mut |e| match e {
        Event::Text(t) => {
            on_text(Piece::Text(&t));
            reply.text.push_str(&t);
        }
        Event::Thinking(t) => on_text(Piece::Thinking(&t)),
        Event::Done(s) => reply.stats = s,
        Event::Error(e) => failure = Some(e),
        Event::ToolCall(c) => reply.calls.push(Ok(c)),
        Event::BadToolCall { text, reason } => {
            reply.calls.push(Err(format!("{reason}: {text}")));
        }
    })?;
    if let Some(e) = failure {
        return Err(SessionError::Generation(e));
    }
    Ok(reply)
}
