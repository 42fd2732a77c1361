//! The key/value cache a loaded model holds between requests: on the host
//! (the CPU kernel path; every drafter works on it), or beside the weights on
//! the device (the device pass: CUDA, Metal, or candle's CPU backend when
//! asked for with `LOCUS_DEVICE_PASS=1`). Checkpoints and disk snapshots
//! are host copies of either.

use candle_core::Tensor;

use super::LocalError;
use super::gemma::{DeviceCache, Gemma, Scratch};
use super::kv::{KvCache, Snapshot};
use super::media::MediaSet;

pub enum Held {
    Host(KvCache),
    Device(DeviceCache),
}

/// Whether `model` runs through the device pass: always off the CPU, and on
/// the CPU when `LOCUS_DEVICE_PASS=1` (to run what a GPU runs, on candle's
/// CPU backend, end to end).
pub fn device_pass(model: &Gemma) -> bool {
    !model.device().is_cpu() || std::env::var("LOCUS_DEVICE_PASS").is_ok_and(|v| v == "1")
}

/// Whether the device pass decodes through the replayable step
/// (device_step.rs): on CUDA, where it is recorded as a graph, unless
/// `LOCUS_DEVICE_REPLAY=0`; elsewhere when `LOCUS_DEVICE_REPLAY=1` (op by
/// op: to check it on candle's CPU backend).
fn replays(model: &Gemma) -> bool {
    static SET: std::sync::OnceLock<Option<bool>> = std::sync::OnceLock::new();
    let set = SET.get_or_init(|| match std::env::var("LOCUS_DEVICE_REPLAY").as_deref() {
        Ok("1") => Some(true),
        Ok("0") => Some(false),
        _ => None,
    });
    set.unwrap_or_else(|| model.device().is_cuda())
}

impl Held {
    pub fn new(model: &Gemma, device_pass: bool) -> Held {
        match device_pass {
            true => Held::Device(model.new_device_cache()),
            false => Held::Host(model.new_cache()),
        }
    }

    pub fn tokens(&self) -> &[u32] {
        match self {
            Held::Host(c) => &c.tokens,
            Held::Device(c) => &c.tokens,
        }
    }

    /// Cuts back to the first `n` tokens where that is exact; returns the
    /// tokens kept.
    pub fn rollback(&mut self, n: usize) -> usize {
        match self {
            Held::Host(c) => c.rollback(n),
            Held::Device(c) => c.rollback(n),
        }
    }

    /// The host cache (an MTP drafter and the decode buffers' reserve work
    /// on it).
    pub fn host(&mut self) -> Option<&mut KvCache> {
        match self {
            Held::Host(c) => Some(c),
            Held::Device(_) => None,
        }
    }

    /// The cache as it was at the snapshot's end (uploaded to the device
    /// for the device pass); false when it could not be.
    pub fn restore(&mut self, model: &Gemma, s: &Snapshot) -> bool {
        match self {
            Held::Host(c) => {
                c.restore(s);
                true
            }
            Held::Device(c) => {
                let heads = model.cfg.layers.iter().map(|l| (l.n_kv_head, l.head_dim));
                match c.restore(s, heads, model.device()) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!("restoring a checkpoint on the device: {e}");
                        c.rollback(0);
                        false
                    }
                }
            }
        }
    }

    /// What resuming at the first `p` tokens needs, on the host (copied
    /// from the device for the device pass), if the cache still holds it.
    pub fn snapshot(&self, p: usize) -> Option<Snapshot> {
        match self {
            Held::Host(c) => c.snapshot(p),
            Held::Device(c) => c.snapshot(p).unwrap_or_else(|e| {
                tracing::warn!("copying a checkpoint from the device: {e}");
                None
            }),
        }
    }

    pub fn bytes(&self) -> usize {
        match self {
            Held::Host(c) => c.bytes(),
            Held::Device(c) => c.bytes(),
        }
    }

    /// A prompt chunk through `model`: logits `[L or 1, vocab]`.
    pub fn forward(
        &mut self,
        model: &Gemma,
        tokens: &[u32],
        media: &MediaSet,
        all_logits: bool,
    ) -> Result<Tensor, LocalError> {
        match self {
            Held::Host(c) => model.forward_media(tokens, media, c, all_logits),
            Held::Device(c) => model.forward_device(tokens, media, c, all_logits),
        }
    }

    /// A token and its draft in one pass: the logits after `tokens[i]` left
    /// in `scratch`'s row `i` (rows reserved for them).
    pub fn step_many(
        &mut self,
        model: &Gemma,
        tokens: &[u32],
        scratch: &mut Scratch,
    ) -> Result<(), LocalError> {
        match self {
            Held::Host(c) => model.decode_many(tokens, c, scratch),
            Held::Device(c) => {
                let l = model.forward_device(tokens, &MediaSet::default(), c, true)?;
                logits_into(&l, scratch)
            }
        }
    }

    /// One decoding step: `token` through `model`, its logits left in
    /// `scratch`'s first row (the one copy back from a device).
    pub fn step(
        &mut self,
        model: &Gemma,
        token: u32,
        scratch: &mut Scratch,
    ) -> Result<(), LocalError> {
        let l = match self {
            Held::Host(c) if model.decodes_on_cpu() => return model.decode(token, c, scratch),
            Held::Host(c) => model.forward(&[token], c, false)?,
            Held::Device(c) if replays(model) => model.step_device(token, c)?,
            Held::Device(c) => model.forward_device(&[token], &MediaSet::default(), c, false)?,
        };
        logits_into(&l, scratch)
    }
}

/// Logits `[rows, vocab]` (from the device: the one copy back) into
/// `scratch`'s first rows.
fn logits_into(l: &Tensor, scratch: &mut Scratch) -> Result<(), LocalError> {
    let vocab = l.dim(1)?;
    let all = l.flatten_all()?.to_vec1::<f32>()?;
    for (i, row) in all.chunks(vocab).enumerate() {
        scratch.logits_row(i).copy_from_slice(row);
    }
    Ok(())
}
