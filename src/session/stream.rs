//! One reply streamed from a model: its text (and thinking) as it arrives,
//! the tool calls it made, and its figures.

use super::SessionError;
use crate::model::chat::{ChatModel, ChatRequest, ReplyKind};
use crate::model::{Cancel, Event, GenStats, Message};

/// A piece of a reply as it streams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// The answer's text.
    Text(&'a str),
    /// The model's thinking before (or between) its answer, for showing
    /// folded; it is not part of the answer or the history.
    Thinking(&'a str),
    /// The prompt is being read: `done` of `total` tokens.
    Prefill { done: usize, total: usize },
}

/// How far reading a prompt has come, for people: tokens, rate, time spent
/// and an estimate of what is left. A new request starts it over.
#[derive(Debug, Default)]
pub struct PrefillMeter {
    /// When the request's first report came, and how much was done then.
    start: Option<(std::time::Instant, usize)>,
    last: usize,
}

impl PrefillMeter {
    pub fn line(&mut self, done: usize, total: usize) -> String {
        let now = std::time::Instant::now();
        if done < self.last || self.start.is_none() {
            self.start = Some((now, done));
        }
        self.last = done;
        let (t0, d0) = self.start.expect("set");
        let secs = now.duration_since(t0).as_secs_f64();
        let rate = if secs > 0.05 {
            (done - d0) as f64 / secs
        } else {
            0.0
        };
        let left = if rate > 0.0 {
            format!(" · ~{:.0} s left", total.saturating_sub(done) as f64 / rate)
        } else {
            String::new()
        };
        format!("reading the prompt: {done}/{total} tokens · {rate:.0} tok/s · {secs:.0} s{left}")
    }
}

/// Stream one reply; the text and the stats.
pub(super) fn run(
    model: &dyn ChatModel,
    messages: &[Message],
    files: &[String],
    max_tokens: usize,
    kind: ReplyKind,
    cancel: &Cancel,
    on_text: &mut dyn FnMut(Piece),
) -> Result<(String, GenStats), SessionError> {
    let r = run_tools(
        model,
        messages,
        files,
        &[],
        max_tokens,
        kind,
        cancel,
        on_text,
    )?;
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
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_tools(
    model: &dyn ChatModel,
    messages: &[Message],
    files: &[String],
    tools: &[crate::model::tools::ToolDecl],
    max_tokens: usize,
    kind: ReplyKind,
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
        kind,
    };
    model.chat(&req, cancel, &mut |e| match e {
        Event::Text(t) => {
            on_text(Piece::Text(&t));
            reply.text.push_str(&t);
        }
        Event::Thinking(t) => on_text(Piece::Thinking(&t)),
        Event::Prefill { done, total } => on_text(Piece::Prefill { done, total }),
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
