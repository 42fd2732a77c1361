//! The in-process runtime behind the `ChatModel` interface.

use crate::config::DraftWhen;
use crate::model::chat::{ChatModel, ChatRequest, ModelError, Placement, ReplyKind};
use crate::model::{Cancel, Event, Message};
use crate::tokens::TokenCounter;

use super::config::Arch;
use super::gemma4_tools::{CallParser, Parsed};
use super::tokenizer::GgufTokenizer;
use super::{DraftConfig, GenerateRequest, LocalModel, SamplerConfig};

impl TokenCounter for GgufTokenizer {
    fn count(&self, text: &str) -> usize {
        self.encode(text, false)
            .map(|ids| ids.len())
            .unwrap_or_else(|_| crate::tokens::EstimateCounter.count(text))
    }
}

/// A loaded local model used with a context window of `window` tokens.
pub struct LocalChat {
    pub model: LocalModel,
    pub window: usize,
    /// Which replies are drafted from the prompt, and how far.
    pub draft: DraftWhen,
    pub draft_max: usize,
}

impl LocalChat {
    /// `window` is capped at what the model was trained for. Edit replies
    /// are drafted from the prompt.
    pub fn new(model: LocalModel, window: usize) -> LocalChat {
        let window = window.min(model.model.cfg.context).max(512);
        LocalChat {
            model,
            window,
            draft: DraftWhen::Edits,
            draft_max: super::draft::DRAFT_MAX,
        }
    }

    /// Draft `when`, `max` tokens a pass at most (`[model] draft`, `draft_max`).
    pub fn drafting(mut self, when: DraftWhen, max: usize) -> LocalChat {
        (self.draft, self.draft_max) = (when, max);
        self
    }

    /// How a reply of this kind is drafted.
    fn draft_for(&self, kind: ReplyKind) -> DraftConfig {
        let on = match self.draft {
            DraftWhen::Always => true,
            DraftWhen::Edits => kind == ReplyKind::Edit,
            DraftWhen::Off => false,
        };
        if on && self.draft_max > 0 {
            DraftConfig {
                max: self.draft_max,
                ..DraftConfig::lookup()
            }
        } else {
            DraftConfig::default()
        }
    }
}

impl ChatModel for LocalChat {
    fn placement(&self) -> Placement {
        Placement::Local {
            model: self.model.name.clone(),
        }
    }

    fn window(&self) -> usize {
        self.window
    }

    fn counter(&self) -> &dyn TokenCounter {
        &self.model.tokenizer
    }

    /// Gemma 4 calls tools in its own tokens; Gemma 3 has no native format.
    fn native_tools(&self) -> bool {
        self.model.arch() == Arch::Gemma4
    }

    fn prompt_tokens(&self, messages: &[Message]) -> usize {
        self.model
            .encode_chat(messages, false, &[])
            .map(|t| t.len())
            .unwrap_or_else(|_| {
                messages
                    .iter()
                    .map(|m| self.model.tokenizer.count(&m.content) + 6)
                    .sum()
            })
    }

    fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), ModelError> {
        let native = self.native_tools() && !req.tools.is_empty();
        let tools = if native { req.tools } else { &[] };
        let tokens = self.model.encode_chat(req.messages, false, tools)?;
        let room = self.window.saturating_sub(tokens.len());
        if room == 0 {
            return Err(ModelError::Other(format!(
                "the prompt is {} tokens, the local model's window is {}",
                tokens.len(),
                self.window
            )));
        }
        let request = GenerateRequest {
            tokens,
            max_tokens: req.max_tokens.min(room),
            sampler: SamplerConfig {
                temperature: req.temperature,
                ..SamplerConfig::default()
            },
            split_thinking: self.model.arch() == Arch::Gemma4,
            draft: self.draft_for(req.kind),
        };
        if !native {
            self.model.generate(&request, cancel, emit)?;
            return Ok(());
        }
        // Calls come out of the answer text as they complete.
        let mut parser = CallParser::default();
        let pass = |parsed: Vec<Parsed>, emit: &mut dyn FnMut(Event)| {
            for p in parsed {
                emit(match p {
                    Parsed::Text(t) => Event::Text(t),
                    Parsed::Call(c) => Event::ToolCall(c),
                    Parsed::Bad { text, reason } => Event::BadToolCall { text, reason },
                });
            }
        };
        self.model.generate(&request, cancel, &mut |e| match e {
            Event::Text(t) => pass(parser.push(&t), emit),
            Event::Done(s) => {
                pass(parser.finish(), emit);
                emit(Event::Done(s));
            }
            other => emit(other),
        })?;
        Ok(())
    }
}
