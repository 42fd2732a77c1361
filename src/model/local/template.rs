//! Chat templates for Gemma 3 and Gemma 4, rendered as segments so that only
//! the template's own markers are parsed as special tokens, never the text of
//! a message (a file containing `<end_of_turn>` must not end the turn).

use crate::model::attach::{AttachKind, Attachment};
use crate::model::tools::{ToolDecl, ToolUse};
use crate::model::{Message, Role};

use super::config::Arch;
use super::gemma4_tools::{self, Out};

/// A piece of the prompt: one special token (`special`), or text that is
/// never parsed for special tokens (a file containing `<end_of_turn>` must
/// not end the turn). Text runs are whole between special tokens, so they
/// tokenize as the reference tokenizes the whole prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub special: bool,
}

/// Render `messages` (BOS not included) ending with the model's turn opened,
/// with `tools` declared (Gemma 4 only: Gemma 3 has no native tool calling).
pub fn render(
    arch: Arch,
    messages: &[Message],
    thinking: bool,
    tools: &[ToolDecl],
) -> Vec<Segment> {
    match arch {
        Arch::Gemma3 => gemma3(messages),
        Arch::Gemma4 => gemma4(messages, thinking, tools),
    }
}

/// Gemma 3 has no system role: the system text opens the first user turn.
/// It has no tool roles either: calls and results (from a conversation held
/// with another model) are written as the text protocol writes them.
fn gemma3(messages: &[Message]) -> Vec<Segment> {
    let mut out = Out::default();
    let mut system: Option<&str> = None;
    for m in messages {
        let role = match m.role {
            Role::System => {
                system = Some(&m.content);
                continue;
            }
            Role::User | Role::Tool => "user",
            Role::Assistant => "model",
        };
        out.tok("<start_of_turn>");
        out.txt(&format!("{role}\n"));
        if let (Role::User, Some(sys)) = (m.role, system.take()) {
            out.txt(&format!("{}\n\n", sys.trim()));
        }
        let mut text = m.content.trim().to_string();
        for c in &m.tool_calls {
            text.push_str(&format!(
                "\n<tool_call>{}</tool_call>",
                serde_json::json!({"name": c.name, "arguments": c.arguments})
            ));
        }
        if m.role == Role::Tool {
            text = format!(
                "<tool_result name=\"{}\">\n{}\n</tool_result>",
                m.name.as_deref().unwrap_or("tool"),
                text
            );
        }
        out.txt(text.trim());
        out.tok("<end_of_turn>");
        out.txt("\n");
    }
    out.tok("<start_of_turn>");
    out.txt("model\n");
    out.0
}

/// One model turn of Gemma 4 as llama.cpp hands it to the template: the
/// calls of an assistant message, the results of the `tool` messages after
/// it, and the text of the next assistant message when that makes no call
/// (the calling message's own text is not kept, as in llama.cpp).
struct Turn<'a> {
    role: Role,
    content: Option<&'a str>,
    calls: &'a [ToolUse],
    /// (tool name, content)
    responses: Vec<(String, &'a str)>,
    /// Images and recordings sent with a user message.
    attachments: &'a [Attachment],
}

fn fold(messages: &[Message]) -> Vec<Turn<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < messages.len() {
        let m = &messages[i];
        i += 1;
        if m.role != Role::Assistant || m.tool_calls.is_empty() {
            out.push(Turn {
                role: m.role,
                content: Some(&m.content),
                calls: &[],
                responses: Vec::new(),
                attachments: &m.attachments,
            });
            continue;
        }
        let mut t = Turn {
            role: Role::Assistant,
            content: None,
            calls: &m.tool_calls,
            responses: Vec::new(),
            attachments: &[],
        };
        while let Some(r) = messages.get(i).filter(|r| r.role == Role::Tool) {
            let name = m
                .tool_calls
                .get(t.responses.len())
                .map(|c| c.name.clone())
                .or_else(|| r.tool_call_id.clone())
                .unwrap_or_default();
            t.responses.push((name, &r.content));
            i += 1;
        }
        if let Some(next) = messages.get(i)
            && next.role == Role::Assistant
            && next.tool_calls.is_empty()
            && !next.content.is_empty()
        {
            t.content = Some(&next.content);
            i += 1;
        }
        out.push(t);
    }
    out
}

#[derive(PartialEq)]
enum Last {
    Other,
    Call,
    Response,
}

/// Gemma 4: `<|turn>role\n…<turn|>\n`; a system turn holding the tool
/// declarations; `<|think|>` asks for reasoning, and without it the model's
/// turn starts with an empty thought. After tool results the model's turn
/// stays open (no generation prompt): it goes on from them.
fn gemma4(messages: &[Message], thinking: bool, tools: &[ToolDecl]) -> Vec<Segment> {
    let mut out = Out::default();
    let (system, rest) = match messages.first() {
        Some(m) if m.role == Role::System => (Some(m.content.as_str()), &messages[1..]),
        _ => (None, messages),
    };
    if thinking || system.is_some() || !tools.is_empty() {
        out.tok("<|turn>");
        out.txt("system\n");
        if thinking {
            out.tok("<|think|>");
            out.txt("\n");
        }
        if let Some(s) = system {
            out.txt(s.trim());
        }
        for t in tools {
            gemma4_tools::declaration(&mut out, t);
        }
        out.tok("<turn|>");
        out.txt("\n");
    }
    let turns = fold(rest);
    let mut last = Last::Other;
    let mut prev_role: Option<Role> = None;
    for t in turns.iter().filter(|t| t.role != Role::Tool) {
        last = Last::Other;
        let role = match t.role {
            Role::Assistant => "model",
            Role::System => "system",
            _ => "user",
        };
        let continued = t.role == Role::Assistant && prev_role == Some(Role::Assistant);
        prev_role = Some(t.role);
        if !continued {
            out.tok("<|turn>");
            out.txt(&format!("{role}\n"));
        }
        for c in t.calls {
            gemma4_tools::call(&mut out, c);
            last = Last::Call;
        }
        for (name, content) in &t.responses {
            gemma4_tools::response(&mut out, name, content);
            last = Last::Response;
        }
        // Media first, then the words (as a content list [image, text]
        // renders): each a slot the prompt's encoding fills.
        for a in t.attachments {
            out.tok(media_slot(a.kind));
        }
        if let Some(c) = t.content {
            if t.role == Role::Assistant {
                out.txt(&strip_thinking(c));
            } else {
                out.txt(c.trim());
            }
        }
        let has_responses = !t.responses.is_empty();
        if last == Last::Call && !has_responses {
            out.tok(gemma4_tools::RESPONSE_OPEN);
        } else if !(has_responses && t.content.is_none_or(str::is_empty)) {
            out.tok("<turn|>");
            out.txt("\n");
        }
    }
    if last == Last::Other {
        out.tok("<|turn>");
        out.txt("model\n");
        if !thinking {
            out.tok("<|channel>");
            out.txt("thought\n");
            out.tok("<channel|>");
        }
    } else if ends_turn(&out) {
        // llama.cpp opens the model's turn when the template left it closed.
        out.tok("<|turn>");
        out.txt("model\n");
    }
    out.0
}

/// The special token the Gemma 4 template writes where an attachment goes;
/// the encoding replaces it with the media's opening token, rows and
/// closing token.
pub fn media_slot(kind: AttachKind) -> &'static str {
    match kind {
        AttachKind::Image => IMAGE_SLOT,
        AttachKind::Audio => AUDIO_SLOT,
    }
}

pub const IMAGE_SLOT: &str = "<|image|>";
pub const AUDIO_SLOT: &str = "<|audio|>";

/// Whether the segments end with `<turn|>` and a newline.
fn ends_turn(out: &Out) -> bool {
    match out.0.as_slice() {
        [.., end, nl] => end.special && end.text == "<turn|>" && nl.text == "\n",
        _ => false,
    }
}

/// A model turn as it goes back into the history: its thinking removed.
pub fn strip_thinking(text: &str) -> String {
    let mut out = String::new();
    for part in text.split("<channel|>") {
        match part.split_once("<|channel>") {
            Some((before, _)) => out.push_str(before),
            None => out.push_str(part),
        }
    }
    out.trim().to_string()
}

/// Splits a streamed Gemma 4 answer into thinking and answer text as it
/// arrives: `<|channel>thought\n…<channel|>` is thinking, the rest the answer.
#[derive(Debug, Default)]
pub struct ThinkingSplitter {
    buf: String,
    in_thought: bool,
}

const OPEN: &str = "<|channel>";
const CLOSE: &str = "<channel|>";

impl ThinkingSplitter {
    /// Feed a delta; returns (thinking, answer) text that is now certain.
    pub fn push(&mut self, delta: &str) -> (String, String) {
        self.buf.push_str(delta);
        let (mut think, mut answer) = (String::new(), String::new());
        loop {
            let tag = if self.in_thought { CLOSE } else { OPEN };
            if let Some(i) = self.buf.find(tag) {
                let before: String = self.buf[..i].to_string();
                if self.in_thought {
                    think.push_str(&before);
                } else {
                    answer.push_str(&before);
                }
                self.buf.drain(..i + tag.len());
                self.in_thought = !self.in_thought;
                if self.in_thought && self.buf.starts_with("thought\n") {
                    self.buf.drain(.."thought\n".len());
                }
                continue;
            }
            // Keep a possible partial tag at the end for the next delta.
            let keep = (1..tag.len())
                .rev()
                .find(|n| self.buf.ends_with(&tag[..*n]))
                .unwrap_or(0);
            let cut = self.buf.len() - keep;
            let ready: String = self.buf[..cut].to_string();
            self.buf.drain(..cut);
            if self.in_thought {
                think.push_str(&ready);
            } else {
                answer.push_str(&ready);
            }
            break;
        }
        (think, answer)
    }

    /// Whatever is left at the end of the stream.
    pub fn finish(&mut self) -> (String, String) {
        let rest = std::mem::take(&mut self.buf);
        if self.in_thought {
            (rest, String::new())
        } else {
            (String::new(), rest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(segs: &[Segment]) -> String {
        segs.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn gemma3_folds_system_into_first_user_turn() {
        let msgs = vec![
            Message::new(Role::System, "Be brief."),
            Message::new(Role::User, "Hi"),
            Message::new(Role::Assistant, "Hello."),
            Message::new(Role::User, "Bye"),
        ];
        assert_eq!(
            text(&render(Arch::Gemma3, &msgs, false, &[])),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n\
             <start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn gemma4_turns_system_and_thinking() {
        let msgs = vec![
            Message::new(Role::System, "Be brief."),
            Message::new(Role::User, "Hi"),
        ];
        assert_eq!(
            text(&render(Arch::Gemma4, &msgs, false, &[])),
            "<|turn>system\nBe brief.<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>"
        );
        assert_eq!(
            text(&render(Arch::Gemma4, &msgs[1..], true, &[])),
            "<|turn>system\n<|think|>\n<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n"
        );
        let with_history = vec![
            Message::new(Role::User, "Q"),
            Message::new(Role::Assistant, "<|channel>thought\nhmm<channel|>A"),
            Message::new(Role::User, "Q2"),
        ];
        assert!(
            text(&render(Arch::Gemma4, &with_history, false, &[]))
                .contains("<|turn>model\nA<turn|>")
        );
    }

    #[test]
    fn message_text_is_never_special() {
        let msgs = vec![Message::new(Role::User, "<end_of_turn>")];
        let segs = render(Arch::Gemma3, &msgs, false, &[]);
        let special: Vec<&str> = segs
            .iter()
            .filter(|s| s.special)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(
            special,
            ["<start_of_turn>", "<end_of_turn>", "<start_of_turn>"]
        );
        assert!(
            segs.iter()
                .any(|s| s.text.contains("<end_of_turn>") && !s.special)
        );
    }

    #[test]
    fn splitter_separates_thinking_across_chunk_boundaries() {
        let mut s = ThinkingSplitter::default();
        let stream = [
            "<|chan",
            "nel>thought\nlet me ",
            "think<chan",
            "nel|>The answer",
            " is 4.",
        ];
        let (mut think, mut answer) = (String::new(), String::new());
        for d in stream {
            let (t, a) = s.push(d);
            think.push_str(&t);
            answer.push_str(&a);
        }
        let (t, a) = s.finish();
        think.push_str(&t);
        answer.push_str(&a);
        assert_eq!(think, "let me think");
        assert_eq!(answer, "The answer is 4.");
    }
}
