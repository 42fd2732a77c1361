//! Generation: prompt -> tokens -> (prefix cache) -> chunked prefill ->
//! decode loop with sampling, streaming text as it is decoded.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use candle_core::{Device, Tensor};

use crate::model::tools::ToolDecl;
use crate::model::{Cancel, Event, GenStats, Message, peak_rss_bytes};

use super::LocalError;
use super::config::Arch;
use super::draft::{DraftConfig, DraftInput, DraftKind, Drafter};
use super::gemma::mtp::{Assistant, Mtp};
use super::gemma::{Gemma, Scratch};
use super::gguf::Gguf;
use super::held::Held;
use super::kv::Snapshot;
use super::media::{Media, MediaKind, MediaSet, is_media, span_start};
use super::sampler::{Sampler, SamplerConfig};
use super::snapshot::{self, SnapshotStore};
use super::template::{self, ThinkingSplitter};
use super::tokenizer::{GgufTokenizer, StreamDecoder};

/// Where `--raw` prompts put each media file (llama.cpp's mtmd marker).
pub const MEDIA_MARKER: &str = "<__media__>";

/// Prompt tokens are processed this many at a time.
pub const PREFILL_CHUNK: usize = 256;
/// On a GPU (the device pass), this many.
const GPU_PREFILL_CHUNK: usize = 1024;

pub struct LocalModel {
    pub path: PathBuf,
    pub name: String,
    pub model: Gemma,
    pub tokenizer: GgufTokenizer,
    state: Mutex<State>,
    /// Where stable prefixes' caches are saved for later processes.
    snapshots: Option<Arc<SnapshotStore>>,
    /// A Gemma 4 MTP assistant paired with this model, for `DraftKind::Mtp`.
    assistant: Option<Assistant>,
    /// Whether the model runs through the device pass (held.rs).
    device_pass: bool,
}

/// What one generation at a time works in: the prefix cache and the decode
/// step's buffers.
struct State {
    cache: Held,
    scratch: Scratch,
    /// The cache at the end of recent prompts' stable prefixes, the most
    /// recent first.
    checkpoints: Vec<Snapshot>,
}

/// Stable prefixes whose checkpoints are kept in memory: one (for the 12B
/// a checkpoint at 3,000 tokens is about 0.4 GB); another job's prefix in
/// between (a summary's) replaces it, and the snapshot on disk brings the
/// conversation's back.
const CHECKPOINTS: usize = 1;

#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub tokens: Vec<u32>,
    pub max_tokens: usize,
    pub sampler: SamplerConfig,
    /// Split `<|channel>…<channel|>` reasoning out of the answer (Gemma 4).
    pub split_thinking: bool,
    /// Speculative decoding (never changes the reply, only its speed).
    pub draft: DraftConfig,
    /// The first tokens that stay the same from request to request (the
    /// system prompt with the repository map and pinned files): the cache
    /// at their end is kept, so a later prompt that starts with them
    /// resumes there however far the previous reply ran on. 0: none.
    pub stable_prefix: usize,
    /// The rows of the media placeholders in `tokens`.
    pub media: MediaSet,
}

impl LocalModel {
    pub fn load(path: &Path, device: &Device) -> Result<LocalModel, LocalError> {
        let g = Gguf::open(path)?;
        let tokenizer = GgufTokenizer::from_gguf(&g)?;
        let model = Gemma::load(&g, device)?;
        let device_pass = super::held::device_pass(&model);
        let state = Mutex::new(State {
            cache: Held::new(&model, device_pass),
            scratch: model.scratch(),
            checkpoints: Vec::new(),
        });
        let name = g.str("general.name").map(String::from).unwrap_or_else(|_| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Ok(LocalModel {
            path: path.into(),
            name,
            model,
            tokenizer,
            state,
            snapshots: None,
            assistant: None,
            device_pass,
        })
    }

    /// Runs the model through the device pass from now on, whatever the
    /// device (on the CPU: what a GPU runs, on candle's CPU backend).
    pub fn use_device_pass(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        state.cache = Held::new(&self.model, true);
        self.device_pass = true;
    }

    /// Whether the model runs through the device pass.
    pub fn runs_device_pass(&self) -> bool {
        self.device_pass
    }

    /// Prompt tokens per forward pass: a GPU takes larger chunks.
    fn prefill_chunk(&self) -> usize {
        match self.model.device().is_cpu() {
            true => PREFILL_CHUNK,
            false => GPU_PREFILL_CHUNK,
        }
    }

    /// Load the Gemma 4 MTP assistant at `path` to draft for this model.
    pub fn load_assistant(&mut self, path: &Path) -> Result<(), LocalError> {
        self.assistant = Some(Assistant::load(path, &self.model)?);
        Ok(())
    }

    /// Whether an MTP assistant is loaded.
    pub fn has_assistant(&self) -> bool {
        self.assistant.is_some()
    }

    /// Save stable prefixes' caches in `store`, and resume from them.
    pub fn set_snapshots(&mut self, store: SnapshotStore) {
        self.snapshots = Some(Arc::new(store));
    }

    /// Wait for snapshots being saved.
    pub fn flush_snapshots(&self) {
        if let Some(s) = &self.snapshots {
            s.flush();
        }
    }

    pub fn arch(&self) -> Arch {
        self.model.cfg.arch
    }

    /// Tokens of raw text with BOS first when the model wants it (as llama.cpp
    /// tokenizes a prompt); special-token text is parsed.
    pub fn encode_raw(&self, text: &str) -> Result<Vec<u32>, LocalError> {
        let mut ids = Vec::new();
        if self.tokenizer.add_bos
            && let Some(b) = self.tokenizer.bos
        {
            ids.push(b);
        }
        ids.extend(self.tokenizer.encode(text, true)?);
        Ok(ids)
    }

    /// Tokens of a conversation through the model's chat template.
    pub fn encode_chat(
        &self,
        messages: &[Message],
        thinking: bool,
        tools: &[ToolDecl],
    ) -> Result<Vec<u32>, LocalError> {
        Ok(self.encode_chat_media(messages, thinking, tools, &[])?.0)
    }

    /// `encode_chat` of messages with attachments: `media` holds their
    /// encodings in the order the messages attach them.
    pub fn encode_chat_media(
        &self,
        messages: &[Message],
        thinking: bool,
        tools: &[ToolDecl],
        media: &[Arc<Media>],
    ) -> Result<(Vec<u32>, MediaSet), LocalError> {
        let mut ids: Vec<u32> = self.tokenizer.bos.into_iter().collect();
        let mut set = MediaSet::default();
        let mut next = media.iter();
        for seg in template::render(self.arch(), messages, thinking, tools) {
            if seg.special && [template::IMAGE_SLOT, template::AUDIO_SLOT].contains(&&*seg.text) {
                let m = next.next().ok_or_else(|| {
                    LocalError::Tokenizer("an attachment was not encoded for the prompt".into())
                })?;
                self.push_media(&mut ids, &mut set, m)?;
            } else {
                ids.extend(self.tokenizer.encode(&seg.text, seg.special)?);
            }
        }
        Ok((ids, set))
    }

    /// Raw text with media: `MEDIA_MARKER` says where each of `media` goes,
    /// in order (llama.cpp's mtmd marker); the text between markers is
    /// tokenized piece by piece, as mtmd does.
    pub fn encode_raw_media(
        &self,
        text: &str,
        media: &[Arc<Media>],
    ) -> Result<(Vec<u32>, MediaSet), LocalError> {
        let parts: Vec<&str> = text.split(MEDIA_MARKER).collect();
        if parts.len() - 1 != media.len() {
            return Err(LocalError::Tokenizer(format!(
                "the prompt has {} {MEDIA_MARKER} markers for {} media files",
                parts.len() - 1,
                media.len()
            )));
        }
        let mut ids = self.encode_raw(parts[0])?;
        let mut set = MediaSet::default();
        for (m, part) in media.iter().zip(&parts[1..]) {
            self.push_media(&mut ids, &mut set, m)?;
            ids.extend(self.tokenizer.encode(part, true)?);
        }
        Ok((ids, set))
    }

    /// The opening token, the rows' placeholders and the closing token of `m`.
    fn push_media(
        &self,
        ids: &mut Vec<u32>,
        set: &mut MediaSet,
        m: &Arc<Media>,
    ) -> Result<(), LocalError> {
        if m.width != self.model.cfg.hidden {
            return Err(LocalError::Tokenizer(format!(
                "the projector's rows are {} wide; the model's are {}",
                m.width, self.model.cfg.hidden
            )));
        }
        let (open, close) = match m.kind {
            MediaKind::Image => ("<|image>", "<image|>"),
            MediaKind::Audio => ("<|audio>", "<audio|>"),
        };
        ids.extend(self.tokenizer.encode(open, true)?);
        ids.extend(set.add(m.clone()));
        ids.extend(self.tokenizer.encode(close, true)?);
        Ok(())
    }

    /// Logits for every position of `tokens`, computed from scratch (for
    /// correctness checks against a reference); [len, vocab].
    pub fn logits_all(&self, tokens: &[u32]) -> Result<Tensor, LocalError> {
        self.logits_all_media(tokens, &MediaSet::default())
    }

    /// `logits_all` of a prompt with media.
    pub fn logits_all_media(&self, tokens: &[u32], media: &MediaSet) -> Result<Tensor, LocalError> {
        let mut cache = Held::new(&self.model, self.device_pass);
        let mut parts = Vec::new();
        for chunk in chunks(tokens, 0..tokens.len(), self.prefill_chunk()) {
            parts.push(cache.forward(&self.model, &tokens[chunk], media, true)?);
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// Generate, calling `emit` with each event as it happens. Reuses the
    /// cached keys/values of the longest prefix shared with the previous call.
    ///
    /// The generation runs as one job on the compute pool (so its decode
    /// steps hand nothing to the pool from outside: no per-token queueing,
    /// nothing allocated per step) and its events come back over a bounded
    /// channel to be emitted on this thread. Not to be called from the
    /// compute pool itself.
    pub fn generate(
        &self,
        req: &GenerateRequest,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), LocalError> {
        let start = Instant::now();
        if req.tokens.is_empty() {
            return Err(LocalError::Tokenizer("empty prompt".into()));
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tx, rx) = std::sync::mpsc::sync_channel(256);
        let mut result = Ok(());
        rayon::in_place_scope(|s| {
            let (state, result) = (&mut *state, &mut result);
            s.spawn(move |_| {
                *result = self.run(state, req, cancel, start, &mut |e| {
                    let _ = tx.send(e);
                });
            });
            // Ends when the job is done (it drops the sender).
            rx.iter().for_each(&mut *emit);
        });
        result
    }

    /// `generate`'s work, on the compute pool.
    fn run(
        &self,
        state: &mut State,
        req: &GenerateRequest,
        cancel: &Cancel,
        start: Instant,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), LocalError> {
        let State {
            cache,
            scratch,
            checkpoints,
        } = state;
        let total = req.tokens.len();
        let common = cache
            .tokens()
            .iter()
            .zip(&req.tokens)
            .take_while(|(a, b)| a == b)
            .count();
        // At least one prompt token must run to produce the next token's
        // logits; an image is computed whole or not at all.
        let mut reused = cache.rollback(span_start(&req.tokens, common.min(total - 1)));
        let mut from = if reused > 0 { "memory" } else { "" };
        let mut snapshot_ms = 0.0;
        // A sliding layer keeps only so much behind the newest entry: when
        // the previous reply ran on far past where this prompt leaves it,
        // the checkpoint at the stable prefix's end resumes it.
        if let Some(c) = checkpoints
            .iter()
            .filter(|c| c.tokens.len() > reused && c.tokens.len() < total)
            .find(|c| req.tokens.starts_with(&c.tokens))
            && cache.restore(&self.model, c)
        {
            reused = c.tokens.len();
            from = "memory";
        }
        let keep = span_start(&req.tokens, req.stable_prefix.min(total - 1));
        // Or a snapshot an earlier process saved.
        if reused < keep
            && keep >= snapshot::MIN_TOKENS
            && let Some(store) = &self.snapshots
        {
            let widths: Vec<usize> = self
                .model
                .cfg
                .layers
                .iter()
                .map(|l| l.n_kv_head * l.head_dim)
                .collect();
            let reading = Instant::now();
            if let Some(s) = store.load(&req.tokens[..keep], &widths)
                && cache.restore(&self.model, &s)
            {
                snapshot_ms = reading.elapsed().as_secs_f64() * 1000.0;
                reused = keep;
                from = "disk";
                checkpoints.insert(0, s);
                checkpoints.truncate(CHECKPOINTS);
            }
        }
        let mut prefilled = false;
        let mut done = reused;
        emit(Event::Prefill { done, total });
        // Up to the stable prefix's end, a checkpoint there, then the rest.
        let parts = [reused.min(keep)..keep, reused.max(keep)..total];
        for (i, part) in parts.into_iter().enumerate() {
            for chunk in chunks(&req.tokens, part, self.prefill_chunk()) {
                if cancel.is_cancelled() {
                    break;
                }
                let chunk = &req.tokens[chunk];
                let l = cache.forward(&self.model, chunk, &req.media, false)?;
                scratch
                    .logits_row(0)
                    .copy_from_slice(&l.flatten_all()?.to_vec1::<f32>()?);
                prefilled = true;
                done += chunk.len();
                emit(Event::Prefill { done, total });
            }
            if i == 0 && keep > 0 && !cancel.is_cancelled() {
                let prefix = &req.tokens[..keep];
                if !checkpoints.iter().any(|c| c.tokens == prefix)
                    && let Some(s) = cache.snapshot(keep)
                {
                    if let Some(store) = self
                        .snapshots
                        .as_ref()
                        .filter(|_| keep >= snapshot::MIN_TOKENS)
                    {
                        store.save_in_background(s.clone());
                    }
                    checkpoints.insert(0, s);
                    checkpoints.truncate(CHECKPOINTS);
                }
            }
        }
        let prefill_s = start.elapsed().as_secs_f64();
        let mut stats = GenStats {
            prompt_tokens: req.tokens.len(),
            reused_prefix_tokens: reused,
            reused_prefix_from: from.into(),
            snapshot_load_ms: snapshot_ms,
            // Nothing read (cancelled first): no rate, not tokens / 0 s.
            prefill_tokens_per_s: if prefilled {
                (done - reused) as f64 / prefill_s.max(1e-9)
            } else {
                0.0
            },
            ..GenStats::default()
        };
        // An MTP assistant runs on the CPU kernels beside the host cache;
        // prompt lookup drafts from the tokens alone, for either cache.
        let on_host = self.model.decodes_on_cpu() && cache.host().is_some();
        let mut drafter: Option<Box<dyn Drafter + '_>> = match req.draft.kind {
            DraftKind::Mtp => self
                .assistant
                .as_ref()
                .filter(|_| req.draft.max > 0 && on_host)
                .map(|a| Box::new(Mtp::new(a, &self.model)) as Box<dyn Drafter>),
            _ => req.draft.drafter(),
        }
        .filter(|_| on_host || matches!(cache, Held::Device(_)));
        // Whether the scratch holds the hidden state of the last step (a
        // prefill keeps none).
        let mut stepped = false;
        let kmax = if drafter.is_some() { req.draft.max } else { 0 };
        // The decode loop grows nothing: the cache has room for every token
        // it may add (up to the model's context) and for a drafted run.
        let room = self.model.cfg.context.saturating_sub(cache.tokens().len());
        if let Some(c) = cache.host() {
            c.reserve(req.max_tokens.min(room) + kmax, kmax + 1);
        }
        scratch.reserve_rows(kmax + 1);
        let mut draft = Vec::with_capacity(kmax);
        let mut batch = Vec::with_capacity(kmax + 1);
        let mut sampler = Sampler::new(req.sampler.clone());
        let mut history = Vec::with_capacity(req.tokens.len() + req.max_tokens.min(room) + kmax);
        history.extend_from_slice(&req.tokens);
        let mut decoder = StreamDecoder::default();
        let mut splitter = ThinkingSplitter::default();
        let mut finish = "length";
        let decode_start = Instant::now();
        let mut emit_text = |text: &str, emit: &mut dyn FnMut(Event)| {
            if req.split_thinking {
                let (t, a) = splitter.push(text);
                if !t.is_empty() {
                    emit(Event::Thinking(t));
                }
                if !a.is_empty() {
                    emit(Event::Text(a));
                }
            } else if !text.is_empty() {
                emit(Event::Text(text.to_string()));
            }
        };
        // The logits row the next token is chosen from, or the token itself
        // when verifying a draft already chose it.
        let (mut row, mut chosen) = (0, None);
        'decode: while prefilled && stats.generated_tokens < req.max_tokens {
            if cancel.is_cancelled() {
                finish = "cancelled";
                break;
            }
            let next = match chosen.take() {
                Some(t) => t,
                None => sampler.sample(scratch.logits_row(row), &history),
            };
            if stats.generated_tokens == 0 {
                stats.ttft_ms = start.elapsed().as_secs_f64() * 1000.0;
            }
            if self.tokenizer.stop.contains(&next) {
                finish = "stop";
                break;
            }
            stats.generated_tokens += 1;
            history.push(next);
            emit_text(&decoder.push(&self.tokenizer, next), emit);
            let left = req.max_tokens - stats.generated_tokens;
            if left == 0 || cancel.is_cancelled() {
                continue;
            }
            draft.clear();
            if let Some(d) = drafter.as_mut() {
                let input = DraftInput {
                    history: &history,
                    cache: cache.host().map(|c| &*c),
                    hidden: stepped.then(|| scratch.hidden_row(row)),
                };
                d.draft(&input, kmax.min(left), &mut draft);
                // A lookup may copy what followed a match: never a media row.
                if let Some(m) = draft.iter().position(|&t| is_media(t)) {
                    draft.truncate(m);
                }
            }
            if draft.is_empty() {
                cache.step(&self.model, next, scratch)?;
                (row, stepped) = (0, on_host);
                continue;
            }
            // `next` and the draft in one pass; row i holds the logits after
            // batch[i], which decide draft[i].
            batch.clear();
            batch.push(next);
            batch.extend_from_slice(&draft);
            let base = cache.tokens().len();
            cache.step_many(&self.model, &batch, scratch)?;
            stats.drafted_tokens += draft.len();
            let mut kept = 0;
            for (i, &d) in draft.iter().enumerate() {
                if let Err(t) = sampler.accept(scratch.logits_row(i), &history, d) {
                    chosen = Some(t);
                    break;
                }
                kept += 1;
                stats.accepted_tokens += 1;
                if self.tokenizer.stop.contains(&d) {
                    finish = "stop";
                    break 'decode;
                }
                stats.generated_tokens += 1;
                history.push(d);
                emit_text(&decoder.push(&self.tokenizer, d), emit);
                if stats.generated_tokens == req.max_tokens {
                    break 'decode;
                }
            }
            // The keys/values of the tokens not kept go.
            let keep = base + 1 + kept;
            if cache.rollback(keep) != keep {
                return Err(candle_core::Error::Msg(
                    "the cache could not be cut back after a draft".into(),
                )
                .into());
            }
            // The device pass leaves no hidden state (MTP runs on the host).
            (row, stepped) = (kept, on_host);
        }
        if finish == "length" && cancel.is_cancelled() {
            finish = "cancelled";
        }
        emit_text(&decoder.finish(), emit);
        if req.split_thinking {
            let (t, a) = splitter.finish();
            if !t.is_empty() {
                emit(Event::Thinking(t));
            }
            if !a.is_empty() {
                emit(Event::Text(a));
            }
        }
        let decode_s = decode_start.elapsed().as_secs_f64();
        stats.decode_tokens_per_s =
            stats.generated_tokens.saturating_sub(1) as f64 / decode_s.max(1e-9);
        stats.peak_rss_bytes = peak_rss_bytes();
        stats.finish = finish.into();
        emit(Event::Done(stats));
        Ok(())
    }

    /// Start `generate` on its own thread; events arrive on the returned channel.
    pub fn stream(
        self: &Arc<Self>,
        req: GenerateRequest,
        cancel: Cancel,
    ) -> tokio::sync::mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let me = Arc::clone(self);
        std::thread::spawn(move || {
            let mut send = |e: Event| {
                let _ = tx.send(e);
            };
            if let Err(e) = me.generate(&req, &cancel, &mut send) {
                let _ = tx.send(Event::Error(e.to_string()));
            }
        });
        rx
    }

    /// Bytes held by the key/value cache now.
    /// (See `Drop`: snapshots being saved are waited for.)
    pub fn cache_bytes(&self) -> usize {
        self.state.lock().map(|s| s.cache.bytes()).unwrap_or(0)
    }
}

/// `range` of `tokens` in prefill chunks of `PREFILL_CHUNK`, except that a
/// media span is never cut: a chunk ending inside one runs on to its end.
/// `range` of `tokens` in prompt chunks of `size` (an image kept whole).
fn chunks(
    tokens: &[u32],
    range: std::ops::Range<usize>,
    size: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let mut end = (at + size).min(range.end);
        while end < range.end && is_media(tokens[end]) && is_media(tokens[end - 1]) {
            end += 1;
        }
        out.push(at..end);
        at = end;
    }
    out
}

impl Drop for LocalModel {
    /// A snapshot being saved is finished before the process can exit.
    fn drop(&mut self) {
        self.flush_snapshots();
    }
}
