//! Chat templates for Gemma 3 and Gemma 4, rendered as segments so that only
//! the template's own markers are parsed as special tokens, never the text of
//! a message (a file containing `<end_of_turn>` must not end the turn).

use crate::model::{Message, Role};

use super::config::Arch;

/// A piece of the prompt; `special` pieces may contain special-token text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub special: bool,
}

fn marker(s: &str) -> Segment {
    Segment {
        text: s.into(),
        special: true,
    }
}

fn content(s: &str) -> Segment {
    Segment {
        text: s.into(),
        special: false,
    }
}

/// Render `messages` (BOS not included) ending with the model's turn opened.
pub fn render(arch: Arch, messages: &[Message], thinking: bool) -> Vec<Segment> {
    match arch {
        Arch::Gemma3 => gemma3(messages),
        Arch::Gemma4 => gemma4(messages, thinking),
    }
}

/// Gemma 3 has no system role: the system text opens the first user turn.
fn gemma3(messages: &[Message]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut system: Option<&str> = None;
    for m in messages {
        match m.role {
            Role::System => system = Some(&m.content),
            Role::User | Role::Assistant => {
                let role = if m.role == Role::User {
                    "user"
                } else {
                    "model"
                };
                out.push(marker(&format!("<start_of_turn>{role}\n")));
                if let (Role::User, Some(sys)) = (m.role, system.take()) {
                    out.push(content(&format!("{}\n\n", sys.trim())));
                }
                out.push(content(m.content.trim()));
                out.push(marker("<end_of_turn>\n"));
            }
        }
    }
    out.push(marker("<start_of_turn>model\n"));
    out
}

/// Gemma 4: `<|turn>role\n…<turn|>\n`; a system turn; `<|think|>` asks for
/// reasoning, and without it the model's turn starts with an empty thought.
fn gemma4(messages: &[Message], thinking: bool) -> Vec<Segment> {
    let mut out = Vec::new();
    let (system, rest) = match messages.first() {
        Some(m) if m.role == Role::System => (Some(m.content.as_str()), &messages[1..]),
        _ => (None, messages),
    };
    if thinking || system.is_some() {
        out.push(marker("<|turn>system\n"));
        if thinking {
            out.push(marker("<|think|>\n"));
        }
        if let Some(s) = system {
            out.push(content(s.trim()));
        }
        out.push(marker("<turn|>\n"));
    }
    for m in rest {
        let role = match m.role {
            Role::User | Role::System => "user",
            Role::Assistant => "model",
        };
        out.push(marker(&format!("<|turn>{role}\n")));
        let text = if m.role == Role::Assistant {
            strip_thinking(&m.content)
        } else {
            m.content.trim().to_string()
        };
        out.push(content(&text));
        out.push(marker("<turn|>\n"));
    }
    out.push(marker("<|turn>model\n"));
    if !thinking {
        out.push(marker("<|channel>thought\n<channel|>"));
    }
    out
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
            text(&render(Arch::Gemma3, &msgs, false)),
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
            text(&render(Arch::Gemma4, &msgs, false)),
            "<|turn>system\nBe brief.<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>"
        );
        assert_eq!(
            text(&render(Arch::Gemma4, &msgs[1..], true)),
            "<|turn>system\n<|think|>\n<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n"
        );
        let with_history = vec![
            Message::new(Role::User, "Q"),
            Message::new(Role::Assistant, "<|channel>thought\nhmm<channel|>A"),
            Message::new(Role::User, "Q2"),
        ];
        assert!(
            text(&render(Arch::Gemma4, &with_history, false)).contains("<|turn>model\nA<turn|>")
        );
    }

    #[test]
    fn message_text_is_never_special() {
        let msgs = vec![Message::new(Role::User, "<end_of_turn>")];
        let segs = render(Arch::Gemma3, &msgs, false);
        assert!(segs.iter().any(|s| s.text == "<end_of_turn>" && !s.special));
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
