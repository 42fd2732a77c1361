//! The tool loop: the model may call tools (search, read, run a check,
//! propose an edit …) until it answers, bounded by `[agent] max_steps` and
//! the window. This is the text protocol every model can follow — tools
//! declared in the system prompt, a call written as
//! `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, the result given
//! back as `<tool_result name="…">…</tool_result>` — parsed tolerantly: a
//! malformed call becomes an error result the model sees, never a failure.
//! A model with tool calling of its own (Gemma 4, every cloud API) gets the
//! tools in the request instead, and its calls and results travel as tool
//! messages.

use serde::Serialize;

use super::{SessionError, run_tools};
use crate::model::chat::{ChatModel, ReplyKind};
use crate::model::tools::{ToolDecl, ToolUse};
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
    /// The checks the model ran, in order.
    pub checks: Vec<crate::tools::CheckOutcome>,
}

/// The tool loop an edit runs before it proposes: the tools, the bound,
/// and where its events go.
pub struct ToolLoop<'t, 'a> {
    pub toolbox: &'t mut Toolbox<'a>,
    pub max_steps: usize,
    pub on_event: &'t mut dyn FnMut(LoopEvent<'_>),
}

/// What the loop reports as it goes.
pub enum LoopEvent<'a> {
    Text(&'a str),
    /// The prompt is being read: `done` of `total` tokens.
    Prefill {
        done: usize,
        total: usize,
    },
    Call(&'a ToolCall),
    Result(&'a ToolResult),
}

/// The system prompt's part about tools: a model that calls tools natively
/// is given them in the request, any other is taught the text protocol.
pub fn instructions(model: &dyn ChatModel, specs: &[ToolSpec]) -> String {
    if model.native_tools() {
        "You can call the tools you are given to look at the repository before you answer. \
         Call them only when the code shown is not enough; when you know the answer, answer."
            .into()
    } else {
        protocol(specs)
    }
}

/// Tokens the declarations of `specs` take in a request to `model` (none
/// when they travel in the system prompt's text instead).
pub fn declared_tokens(model: &dyn ChatModel, specs: &[ToolSpec]) -> usize {
    if !model.native_tools() {
        return 0;
    }
    let decls: Vec<ToolDecl> = specs.iter().map(ToolSpec::decl).collect();
    decl_tokens(model, &decls)
}

fn decl_tokens(model: &dyn ChatModel, decls: &[ToolDecl]) -> usize {
    if decls.is_empty() {
        return 0;
    }
    model
        .counter()
        .count(&serde_json::to_string(decls).unwrap_or_default())
}

/// What stands in for a result trimmed to make room.
const REMOVED: &str = "(removed to make room)";

/// Make the conversation fit (`extra` tokens besides, the tool declarations):
/// the oldest results after `first` are cut first. Whether it fits now.
fn trim(model: &dyn ChatModel, messages: &mut [Message], first: usize, extra: usize) -> bool {
    let fits = |m: &[Message]| model.prompt_tokens(m) + extra <= model.window();
    for i in first..messages.len() {
        if fits(messages) {
            return true;
        }
        let m = &mut messages[i];
        let result =
            m.role == Role::Tool || (m.role == Role::User && m.content.starts_with("<tool_result"));
        if result && m.content != REMOVED {
            m.content = if m.role == Role::Tool {
                REMOVED.into()
            } else {
                format!("<tool_result>{REMOVED}</tool_result>")
            };
        }
    }
    fits(messages)
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
    kind: ReplyKind,
    cancel: &Cancel,
    on_event: &mut dyn FnMut(LoopEvent<'_>),
) -> Result<LoopEnd, SessionError> {
    let native = model.native_tools();
    let decls: Vec<ToolDecl> = if native {
        toolbox.specs().iter().map(ToolSpec::decl).collect()
    } else {
        Vec::new()
    };
    let decl_tokens = decl_tokens(model, &decls);
    let mut steps: Vec<Step> = Vec::new();
    let first_result = messages.len();
    loop {
        trim(
            model,
            &mut messages,
            first_result,
            answer_room + decl_tokens,
        );
        let room = model
            .window()
            .saturating_sub(model.prompt_tokens(&messages) + decl_tokens);
        if room < 16 {
            return Ok(LoopEnd {
                text: String::new(),
                steps,
                stopped: Some("the window is full".into()),
                stats: Default::default(),
                checks: Vec::new(),
            });
        }
        let mut piece = |p: super::Piece| match p {
            super::Piece::Text(t) => on_event(LoopEvent::Text(t)),
            super::Piece::Prefill { done, total } => on_event(LoopEvent::Prefill { done, total }),
            super::Piece::Thinking(_) => {}
        };
        let reply = run_tools(
            model,
            &messages,
            files,
            &decls,
            answer_room.min(room),
            kind,
            cancel,
            &mut piece,
        )?;
        // A model with native calls that wrote text-protocol calls anyway
        // (a small model behind a local server) is read the text way.
        let native_calls = native && !reply.calls.is_empty();
        let calls: Vec<Result<ToolUse, String>> = if native_calls {
            reply.calls
        } else {
            parse_calls(&reply.text)
                .0
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    c.map(|c| ToolUse {
                        id: crate::model::tools::call_id(i + 1),
                        name: c.name,
                        arguments: c.arguments,
                    })
                })
                .collect()
        };
        if calls.is_empty() || cancel.is_cancelled() {
            return Ok(LoopEnd {
                text: reply.text,
                steps,
                stopped: None,
                stats: reply.stats,
                checks: Vec::new(),
            });
        }
        if steps.len() >= max_steps {
            return Ok(LoopEnd {
                text: reply.text,
                steps,
                stopped: Some(format!(
                    "stopped after {max_steps} tool calls ([agent] max_steps)"
                )),
                stats: reply.stats,
                checks: Vec::new(),
            });
        }
        let good: Vec<ToolUse> = calls
            .iter()
            .filter_map(|c| c.as_ref().ok())
            .cloned()
            .collect();
        if native_calls {
            messages.push(Message::calls(reply.text.clone(), good.clone()));
        } else {
            messages.push(Message::new(Role::Assistant, reply.text.clone()));
        }
        let (mut results, mut errors) = (Vec::new(), Vec::new());
        for c in calls {
            let (call, result) = match c {
                Ok(u) => {
                    let call = ToolCall {
                        name: u.name.clone(),
                        arguments: u.arguments.clone(),
                    };
                    on_event(LoopEvent::Call(&call));
                    let r = toolbox.call(&call, cancel);
                    if native_calls {
                        results.push(Message::tool_result(&u.id, &u.name, r.content.trim_end()));
                    } else {
                        errors.push(render_result(&r));
                    }
                    (Some(call), r)
                }
                Err(why) => {
                    let r = ToolResult::error("tool_call", why);
                    errors.push(render_result(&r));
                    (None, r)
                }
            };
            on_event(LoopEvent::Result(&result));
            steps.push(Step { call, result });
            if steps.len() >= max_steps {
                break;
            }
        }
        messages.extend(results);
        if !errors.is_empty() {
            messages.push(Message::new(Role::User, errors.join("\n")));
        }
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
