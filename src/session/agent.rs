//! The tool loop: the model may call tools (search, read, run a check,
//! propose an edit …) until it answers, bounded by `[agent] max_steps` and
//! the window. This is the text protocol every model can follow — tools
//! declared in the system prompt, a call written as
//! `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, the result given
//! back as `<tool_result name="…">…</tool_result>` — parsed tolerantly: a
//! malformed call becomes an error result the model sees, never a failure.

use serde::Serialize;

use super::{SessionError, run};
use crate::model::chat::ChatModel;
use crate::model::{Cancel, Message, Role};
use crate::tools::{ToolCall, ToolResult, ToolSpec, Toolbox};

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// The system prompt's part that declares the tools and the protocol.
pub fn protocol(specs: &[ToolSpec]) -> String {
    let mut s = String::from(
        "You can use tools to look at the repository before you answer. To call one, write exactly one line\n\
         <tool_call>{\"name\": \"TOOL\", \"arguments\": {…}}</tool_call>\n\
         and stop; the result comes back as <tool_result name=\"TOOL\">…</tool_result>. \
         Call tools only when the code shown is not enough; when you know the answer, answer without a tool call.\n\
         Tools:\n",
    );
    for t in specs {
        s.push_str(&format!(
            "- {}: {} Arguments: {}\n",
            t.name, t.description, t.parameters["properties"]
        ));
    }
    s
}

/// The calls in a reply, in order (a malformed one as the reason), and the
/// reply's text before the first call.
pub fn parse_calls(reply: &str) -> (Vec<Result<ToolCall, String>>, String) {
    let mut calls = Vec::new();
    let prose = reply
        .split(OPEN)
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut rest = reply;
    while let Some(i) = rest.find(OPEN) {
        let after = &rest[i + OPEN.len()..];
        let (body, next) = match after.find(CLOSE) {
            Some(j) => (&after[..j], &after[j + CLOSE.len()..]),
            // Cut at the stop: the call runs to the end of the reply.
            None => (after, ""),
        };
        calls.push(read_call(body.trim()));
        rest = next;
    }
    (calls, prose)
}

fn read_call(body: &str) -> Result<ToolCall, String> {
    let body = body
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("the tool call is not JSON ({e}): {body}"))?;
    let name = v["name"]
        .as_str()
        .ok_or_else(|| "the tool call has no \"name\"".to_string())?;
    let arguments = match &v["arguments"] {
        serde_json::Value::Null => serde_json::json!({}),
        serde_json::Value::String(s) => serde_json::from_str(s)
            .map_err(|e| format!("the arguments of {name} are not a JSON object ({e})"))?,
        a => a.clone(),
    };
    Ok(ToolCall {
        name: name.to_string(),
        arguments,
    })
}

/// How a result is given back to the model.
pub fn render_result(r: &ToolResult) -> String {
    format!(
        "<tool_result name=\"{}\">\n{}\n</tool_result>",
        r.name,
        r.content.trim_end()
    )
}

/// One call and what it gave.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub call: Option<ToolCall>,
    pub result: ToolResult,
}

/// What the loop ended with.
#[derive(Debug, Clone)]
pub struct LoopEnd {
    /// The final reply (the answer).
    pub text: String,
    pub steps: Vec<Step>,
    /// Why it stopped before an answer, if it did (`max_steps`, the window).
    pub stopped: Option<String>,
    pub stats: crate::model::GenStats,
}

/// What the loop reports as it goes.
pub enum LoopEvent<'a> {
    Text(&'a str),
    Call(&'a ToolCall),
    Result(&'a ToolResult),
}

/// Run the loop on `messages` (system and user already there) until the
/// model answers without a call, or `max_steps` calls, or the window is full.
#[allow(clippy::too_many_arguments)]
pub fn run_loop(
    model: &dyn ChatModel,
    mut messages: Vec<Message>,
    files: &[String],
    toolbox: &mut Toolbox<'_>,
    max_steps: usize,
    answer_room: usize,
    cancel: &Cancel,
    on_event: &mut dyn FnMut(LoopEvent<'_>),
) -> Result<LoopEnd, SessionError> {
    let mut steps: Vec<Step> = Vec::new();
    let first_result = messages.len();
    loop {
        // The oldest results go first when the window gets tight.
        while model.prompt_tokens(&messages) + answer_room > model.window()
            && messages.len() > first_result + 1
        {
            let at = first_result + 1;
            messages[at].content = "<tool_result>(removed to make room)</tool_result>".into();
            if model.prompt_tokens(&messages) + answer_room <= model.window() {
                break;
            }
            messages.drain(first_result..first_result + 2);
        }
        let room = model
            .window()
            .saturating_sub(model.prompt_tokens(&messages));
        if room < 16 {
            return Ok(LoopEnd {
                text: String::new(),
                steps,
                stopped: Some("the window is full".into()),
                stats: Default::default(),
            });
        }
        let mut piece = |p: super::Piece| {
            if let super::Piece::Text(t) = p {
                on_event(LoopEvent::Text(t));
            }
        };
        let (reply, stats) = run(
            model,
            &messages,
            files,
            answer_room.min(room),
            cancel,
            &mut piece,
        )?;
        let (calls, _) = parse_calls(&reply);
        if calls.is_empty() || cancel.is_cancelled() {
            return Ok(LoopEnd {
                text: reply,
                steps,
                stopped: None,
                stats,
            });
        }
        if steps.len() >= max_steps {
            return Ok(LoopEnd {
                text: reply,
                steps,
                stopped: Some(format!(
                    "stopped after {max_steps} tool calls ([agent] max_steps)"
                )),
                stats,
            });
        }
        messages.push(Message::new(Role::Assistant, reply));
        let mut results = Vec::new();
        for c in calls {
            let (call, result) = match c {
                Ok(call) => {
                    on_event(LoopEvent::Call(&call));
                    let r = toolbox.call(&call, cancel);
                    (Some(call), r)
                }
                Err(why) => (None, ToolResult::error("tool_call", why)),
            };
            on_event(LoopEvent::Result(&result));
            results.push(render_result(&result));
            steps.push(Step { call, result });
            if steps.len() >= max_steps {
                break;
            }
        }
        messages.push(Message::new(Role::User, results.join("\n")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_read_tolerantly() {
        let (calls, prose) = parse_calls(
            "Let me look.\n<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.py\"}}</tool_call>\n<tool_call>```json\n{\"name\":\"search\",\"arguments\":\"{\\\"query\\\":\\\"x\\\"}\"}\n```</tool_call><tool_call>{oops</tool_call><tool_call>{\"name\": \"git_status\"}",
        );
        assert_eq!(prose, "Let me look.");
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0].as_ref().unwrap().arguments["path"], "a.py");
        assert_eq!(calls[1].as_ref().unwrap().arguments["query"], "x");
        assert!(calls[2].as_ref().unwrap_err().contains("not JSON"));
        assert_eq!(calls[3].as_ref().unwrap().name, "git_status");
        assert!(parse_calls("Just an answer.").0.is_empty());
    }
}
