//! The interface every model placement implements — the in-process runtime,
//! later the cloud clients, and a scripted double for tests — so the session
//! drives them all the same way.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::tokens::{EstimateCounter, TokenCounter};

use super::attach::{AttachKind, Attachment};
use super::tools::ToolDecl;
use super::{Cancel, Event, GenStats, Message};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Local(#[from] super::local::LocalError),
    #[error(transparent)]
    Cloud(#[from] super::cloud::CloudError),
    #[error("nothing was sent: {0}")]
    NotApproved(String),
    #[error("{0}")]
    Other(String),
}

/// What a reply is for. An edit's reply mostly copies text its prompt
/// holds (SEARCH blocks quote the file, REPLACE blocks repeat most of it),
/// which the local runtime drafts from (see `model::local::draft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyKind {
    #[default]
    Answer,
    Edit,
}

/// One chat completion request.
#[derive(Debug, Clone)]
pub struct ChatRequest<'a> {
    pub messages: &'a [Message],
    pub max_tokens: usize,
    /// 0 is greedy.
    pub temperature: f32,
    /// Every file whose content or signatures the messages hold: a model
    /// off this machine sends only what the user approved.
    pub files: &'a [String],
    /// Tools the model may call (a model with native tool calling declares
    /// them its own way and reports calls as `Event::ToolCall`).
    pub tools: &'a [ToolDecl],
    pub kind: ReplyKind,
}

/// The privacy gate a model off this machine is wrapped in: its `chat`
/// sends nothing the user has not approved and nothing secret, and these
/// say what must stay here and ask for the approval.
pub trait Gate: Send + Sync {
    /// Why `path` stays on this machine, if it does (never-send, trimmed).
    fn left_out(&self, path: &str) -> Option<String>;
    /// Show what the task would send — `ctx`, plus `extra_files` that
    /// earlier turns to be summarised drew on, in up to `requests` requests —
    /// and get the user's approval (`ctx` leaves as the preview showed it).
    fn review(
        &self,
        ctx: &mut crate::context::Context,
        extra_files: &[String],
        requests: usize,
    ) -> Result<(), ModelError>;
    /// Whether lines of `path` may be quoted to the model (approved for the task).
    fn approved(&self, path: &str) -> bool;
}

/// Where an answer was computed, shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "where", rename_all = "snake_case")]
pub enum Placement {
    Local { model: String },
    Cloud { provider: String, model: String },
}

impl std::fmt::Display for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Placement::Local { model } => write!(f, "local: {model}"),
            Placement::Cloud { provider, model } => write!(f, "cloud: {provider} ({model})"),
        }
    }
}

pub trait ChatModel: Send + Sync {
    fn placement(&self) -> Placement;
    /// Tokens of context the model is used with (prompt and answer together).
    fn window(&self) -> usize;
    /// The most tokens it may be asked to write, when the provider limits it.
    fn max_output(&self) -> Option<usize> {
        None
    }
    /// Counts tokens as this model's tokenizer does.
    fn counter(&self) -> &dyn TokenCounter;
    /// Tokens of the whole rendered conversation, template included.
    fn prompt_tokens(&self, messages: &[Message]) -> usize {
        messages
            .iter()
            .map(|m| self.counter().count(&m.content) + 6)
            .sum::<usize>()
            + 2
    }
    /// Whether the model calls tools in a format of its own (`ChatRequest::tools`
    /// and `Event::ToolCall`); otherwise the text protocol is used.
    fn native_tools(&self) -> bool {
        false
    }
    /// The privacy gate, for a model that runs off this machine.
    fn gate(&self) -> Option<&dyn Gate> {
        None
    }
    /// The prompt tokens an attachment takes at most, or why this model
    /// cannot take it. By default (a cloud model) an image is estimated
    /// from its pixels, as the providers bill them (about 750 a token,
    /// within their floor and ceiling), and audio is not sent.
    fn attachment_tokens(&self, a: &Attachment) -> Result<usize, String> {
        match a.kind {
            AttachKind::Image => {
                let px = u64::from(a.width) * u64::from(a.height);
                Ok((px / 750).clamp(85, 1600) as usize)
            }
            AttachKind::Audio => Err(format!("{}: recordings go to the local model only", a.name)),
        }
    }
    /// Stream a reply: text deltas, then `Done` with the stats (or `Error`).
    fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), ModelError>;
}

/// A shared model is the model (a test keeps a handle to read what it was sent).
impl<M: ChatModel + ?Sized> ChatModel for std::sync::Arc<M> {
    fn placement(&self) -> Placement {
        (**self).placement()
    }
    fn window(&self) -> usize {
        (**self).window()
    }
    fn max_output(&self) -> Option<usize> {
        (**self).max_output()
    }
    fn counter(&self) -> &dyn TokenCounter {
        (**self).counter()
    }
    fn prompt_tokens(&self, messages: &[Message]) -> usize {
        (**self).prompt_tokens(messages)
    }
    fn gate(&self) -> Option<&dyn Gate> {
        (**self).gate()
    }
    fn attachment_tokens(&self, a: &Attachment) -> Result<usize, String> {
        (**self).attachment_tokens(a)
    }
    fn native_tools(&self) -> bool {
        (**self).native_tools()
    }
    fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), ModelError> {
        (**self).chat(req, cancel, emit)
    }
}

/// A test double that replays recorded replies in order and remembers every
/// request it was sent, for the session's retry and failure paths.
pub struct ScriptedModel {
    replies: Mutex<VecDeque<String>>,
    responder: Option<Responder>,
    seen: Mutex<Vec<Vec<Message>>>,
    window: usize,
}

/// Computes a scripted reply from the conversation it answers.
pub type Responder = Box<dyn Fn(&[Message]) -> String + Send + Sync>;

impl ScriptedModel {
    pub fn new(
        replies: impl IntoIterator<Item = impl Into<String>>,
        window: usize,
    ) -> ScriptedModel {
        ScriptedModel {
            replies: Mutex::new(replies.into_iter().map(Into::into).collect()),
            responder: None,
            seen: Mutex::new(Vec::new()),
            window,
        }
    }

    /// A double whose replies `f` computes from each request.
    pub fn from_fn(
        f: impl Fn(&[Message]) -> String + Send + Sync + 'static,
        window: usize,
    ) -> ScriptedModel {
        ScriptedModel {
            replies: Mutex::new(VecDeque::new()),
            responder: Some(Box::new(f)),
            seen: Mutex::new(Vec::new()),
            window,
        }
    }

    /// The conversations it was asked to continue, in order.
    pub fn requests(&self) -> Vec<Vec<Message>> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl ChatModel for ScriptedModel {
    fn placement(&self) -> Placement {
        Placement::Local {
            model: "scripted".into(),
        }
    }

    fn window(&self) -> usize {
        self.window
    }

    fn counter(&self) -> &dyn TokenCounter {
        &EstimateCounter
    }

    fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), ModelError> {
        self.seen
            .lock()
            .map_err(|_| ModelError::Other("poisoned".into()))?
            .push(req.messages.to_vec());
        let reply = match &self.responder {
            Some(f) => f(req.messages),
            None => self
                .replies
                .lock()
                .map_err(|_| ModelError::Other("poisoned".into()))?
                .pop_front()
                .ok_or_else(|| {
                    ModelError::Other("the scripted model has no more replies".into())
                })?,
        };
        let mut generated = 0;
        for piece in reply.split_inclusive(' ') {
            if cancel.is_cancelled() {
                emit(Event::Done(GenStats {
                    generated_tokens: generated,
                    finish: "cancelled".into(),
                    ..GenStats::default()
                }));
                return Ok(());
            }
            emit(Event::Text(piece.to_string()));
            generated += 1;
        }
        let prompt_tokens = self.prompt_tokens(req.messages);
        emit(Event::Done(GenStats {
            prompt_tokens,
            generated_tokens: generated,
            finish: "stop".into(),
            ..GenStats::default()
        }));
        Ok(())
    }
}
