//! The in-process runtime behind the `ChatModel` interface.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::DraftWhen;
use crate::model::attach::{AttachKind, Attachment};
use crate::model::chat::{ChatModel, ChatRequest, ModelError, Placement, ReplyKind};
use crate::model::tools::ToolDecl;
use crate::model::{Cancel, Event, Message, Role};
use crate::tokens::TokenCounter;

use super::config::Arch;
use super::gemma4_tools::{CallParser, Parsed};
use super::media::Media;
use super::tokenizer::GgufTokenizer;
use super::vision::Projector;
use super::vision::audio::{FRAME, Hearing, MAX_SECONDS, RATE};

/// The soft tokens of a WAV attachment, from its size (16-bit mono at
/// 16 kHz or less: at most one token per 1,280 bytes of samples).
fn audio_tokens(a: &Attachment) -> usize {
    let most = (MAX_SECONDS * RATE) as usize / FRAME;
    ((a.bytes as usize).div_ceil(2 * FRAME)).min(most)
}
use super::{DraftConfig, DraftKind, GenerateRequest, LocalModel, SamplerConfig};

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
    vision: Option<Vision>,
}

/// The model's eyes: its projector (loaded when first needed), the soft
/// tokens an image may take, and the images encoded lately.
struct Vision {
    path: PathBuf,
    max_tokens: usize,
    /// Whether the projector file has an audio part (its header says).
    hears: bool,
    projector: OnceLock<Result<Projector, String>>,
    hearing: OnceLock<Result<Option<Hearing>, String>>,
    /// By key, the most recent last: a follow-up about the same image does
    /// not encode it again.
    recent: Mutex<Vec<Arc<Media>>>,
}

/// Images kept encoded.
const RECENT_IMAGES: usize = 8;

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
            vision: None,
        }
    }

    /// Show images to the model through the projector at `mmproj` (none:
    /// it sees none), `max_tokens` soft tokens each at most.
    pub fn vision(mut self, mmproj: Option<PathBuf>, max_tokens: usize) -> LocalChat {
        self.vision = mmproj.map(|path| Vision {
            hears: super::gguf::Gguf::open(&path)
                .is_ok_and(|g| super::vision::audio::has_audio(&g)),
            path,
            max_tokens: max_tokens.clamp(super::vision::MIN_TOKENS, 1120),
            projector: OnceLock::new(),
            hearing: OnceLock::new(),
            recent: Mutex::new(Vec::new()),
        });
        self
    }

    /// Why this model cannot see an image, if it cannot.
    fn cannot_see(&self, a: &Attachment) -> Option<String> {
        let file = &a.name;
        if self.model.arch() != Arch::Gemma4 {
            return Some(format!(
                "{file}: the local model ({}) is not a Gemma 4; it takes no images or recordings",
                self.model.name
            ));
        }
        match &self.vision {
            None => Some(format!(
                "{file}: the local model has no vision projector (mmproj); set [model] mmproj or put one beside {}",
                self.model.path.display()
            )),
            Some(v) if a.kind == AttachKind::Audio && !v.hears => Some(format!(
                "{file}: the local model's projector ({}) has no audio part (gemma4ua); it hears nothing",
                v.path.display()
            )),
            Some(_) => None,
        }
    }

    /// The encodings of `messages`' attachments, in order.
    fn encode_attachments(&self, messages: &[Message]) -> Result<Vec<Arc<Media>>, ModelError> {
        let mut out = Vec::new();
        for a in messages.iter().flat_map(|m| &m.attachments) {
            if let Some(why) = self.cannot_see(a) {
                return Err(ModelError::Other(why));
            }
            let v = self.vision.as_ref().expect("checked");
            let data = a.read().map_err(|e| ModelError::Other(e.to_string()))?;
            let failed = |e: &String| ModelError::Other(e.clone());
            let device = self.model.model.device();
            let (key, encode): (_, Box<dyn Fn() -> Result<Media, String>>) = match a.kind {
                AttachKind::Image => {
                    let p = v
                        .projector
                        .get_or_init(|| Projector::load(&v.path, device).map_err(|e| e.to_string()))
                        .as_ref()
                        .map_err(failed)?;
                    (
                        p.key(&data, v.max_tokens),
                        Box::new(|| {
                            p.encode_bytes(&a.path, &data, v.max_tokens)
                                .map_err(|e| e.to_string())
                        }),
                    )
                }
                AttachKind::Audio => {
                    let h = v
                        .hearing
                        .get_or_init(|| Hearing::load(&v.path, device).map_err(|e| e.to_string()))
                        .as_ref()
                        .map_err(failed)?
                        .as_ref()
                        .ok_or_else(|| {
                            ModelError::Other(format!(
                                "{}: the projector has no audio part",
                                a.name
                            ))
                        })?;
                    (
                        h.key(&data),
                        Box::new(|| h.encode_bytes(&a.path, &data).map_err(|e| e.to_string())),
                    )
                }
            };
            let mut recent = v.recent.lock().unwrap_or_else(|e| e.into_inner());
            let m = match recent.iter().position(|m| m.key == key) {
                Some(i) => recent.remove(i),
                None => Arc::new(encode().map_err(ModelError::Other)?),
            };
            recent.push(m.clone());
            if recent.len() > RECENT_IMAGES {
                recent.remove(0);
            }
            out.push(m);
        }
        Ok(out)
    }

    /// Save stable prefixes' caches in `dir` (at most `cap` bytes; 0: none)
    /// and resume later processes from them.
    pub fn snapshots(mut self, dir: &std::path::Path, cap: u64) -> LocalChat {
        if cap > 0 {
            let store = super::snapshot::SnapshotStore::new(dir, cap, &self.model.path);
            self.model.set_snapshots(store);
        }
        self
    }

    /// Draft `when`, `max` tokens a pass at most (`[model] draft`, `draft_max`).
    pub fn drafting(mut self, when: DraftWhen, max: usize) -> LocalChat {
        (self.draft, self.draft_max) = (when, max);
        self
    }

    /// How many of `tokens` (the conversation's) stay the same whatever
    /// follows the system message (the system prompt, the repository map,
    /// pinned files and, on Gemma 4, the tools): where the tokens of two
    /// conversations with the same system message and different users'
    /// words part, the sooner of two.
    fn stable_prefix(&self, messages: &[Message], tools: &[ToolDecl], tokens: &[u32]) -> usize {
        let Some(system) = messages.first().filter(|m| m.role == Role::System) else {
            return 0;
        };
        ["a", "Z"]
            .iter()
            .map(|word| {
                let probe = [system.clone(), Message::new(Role::User, *word)];
                self.model
                    .encode_chat(&probe, false, tools)
                    .map(|p| p.iter().zip(tokens).take_while(|(a, b)| a == b).count())
                    .unwrap_or(0)
            })
            .min()
            .unwrap_or(0)
    }

    /// Draft with the Gemma 4 MTP assistant at `path` (`[model] drafter`),
    /// else one beside the model (`*assistant*.gguf`), unless drafting is
    /// off. One that does not pair with the model is logged and left out.
    pub fn assistant(mut self, path: Option<&std::path::Path>) -> LocalChat {
        if self.draft == DraftWhen::Off {
            return self;
        }
        let found = path
            .map(std::path::PathBuf::from)
            .or_else(|| super::gemma::mtp::discover(&self.model.path));
        if let Some(p) = found
            && let Err(e) = self.model.load_assistant(&p)
        {
            tracing::warn!("not drafting with {}: {e}", p.display());
        }
        self
    }

    /// How a reply of this kind is drafted: an edit from the prompt, an
    /// answer with the MTP assistant when there is one (`[model] draft =
    /// "always"`: from the prompt without one).
    fn draft_for(&self, kind: ReplyKind) -> DraftConfig {
        if self.draft_max == 0 || self.draft == DraftWhen::Off {
            return DraftConfig::default();
        }
        let lookup = DraftConfig {
            max: self.draft_max,
            ..DraftConfig::lookup()
        };
        match kind {
            ReplyKind::Edit => lookup,
            ReplyKind::Answer if self.model.has_assistant() => DraftConfig {
                kind: DraftKind::Mtp,
                ..lookup
            },
            ReplyKind::Answer if self.draft == DraftWhen::Always => lookup,
            ReplyKind::Answer => DraftConfig::default(),
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

    fn attachment_tokens(&self, a: &Attachment) -> Result<usize, String> {
        match self.cannot_see(a) {
            Some(why) => Err(why),
            // The budget (a recording: its 40 ms frames, bounded by the
            // longest read), and the opening and closing tokens.
            None if a.kind == AttachKind::Audio => Ok(audio_tokens(a) + 2),
            None => Ok(self.vision.as_ref().map_or(0, |v| v.max_tokens) + 2),
        }
    }

    fn prompt_tokens(&self, messages: &[Message]) -> usize {
        let media: usize = messages
            .iter()
            .flat_map(|m| &m.attachments)
            .map(|a| self.attachment_tokens(a).unwrap_or(0))
            .sum();
        let text: Vec<Message> = messages
            .iter()
            .map(|m| Message {
                attachments: Vec::new(),
                ..m.clone()
            })
            .collect();
        media
            + self
                .model
                .encode_chat(&text, false, &[])
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
        let media = self.encode_attachments(req.messages)?;
        let (tokens, media) = self
            .model
            .encode_chat_media(req.messages, false, tools, &media)?;
        let room = self.window.saturating_sub(tokens.len());
        if room == 0 {
            return Err(ModelError::Other(format!(
                "the prompt is {} tokens, the local model's window is {}",
                tokens.len(),
                self.window
            )));
        }
        let request = GenerateRequest {
            max_tokens: req.max_tokens.min(room),
            sampler: SamplerConfig {
                temperature: req.temperature,
                ..SamplerConfig::default()
            },
            split_thinking: self.model.arch() == Arch::Gemma4,
            tokens: tokens.clone(),
            draft: self.draft_for(req.kind),
            stable_prefix: self.stable_prefix(req.messages, tools, &tokens),
            media,
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
