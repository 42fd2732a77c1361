//! A Gemma 4 MTP assistant ("gemma4-assistant" GGUF) drafting for its
//! target, as llama.cpp runs one (src/models/gemma4-assistant.cpp,
//! common/speculative.cpp): each step takes the last token, embedded with
//! the *target's* table and scaled by √(target width), concatenated with a
//! hidden state (first the target's, after its final norm, then the
//! assistant's own), projects it down (`nextn.pre_projection`), runs a few
//! query-only layers whose keys and values are the target's cache (sliding
//! layers read the target's last sliding layer, full layers its last full
//! one; every step at the position after the cache), and yields its most
//! likely token and the next hidden state (`nextn.post_projection`).
//! Drafts are only guesses: the target verifies them (see `draft`).

use std::path::Path;

use candle_core::Device;

use super::super::LocalError;
use super::super::attention::{self, Shape};
use super::super::config::{LayerConfig, ModelConfig};
use super::super::draft::{DraftInput, Drafter};
use super::super::gguf::Gguf;
use super::super::kernels::ActBuf;
use super::super::kv::KvCache;
use super::super::linear::Linear;
use super::super::sampler::argmax;
use super::decode::{add, embed_row, rms_norm, rms_norm_in_place, rope};
use super::{Gemma, dense, first_tensor, gelu_lookup, gelu_table, inv_freq, rope_angles, to_vec};

struct Layer {
    cfg: LayerConfig,
    /// The target layer whose cache this layer attends to.
    target: usize,
    attn_norm: Vec<f32>,
    wq: Linear,
    q_norm: Vec<f32>,
    wo: Linear,
    post_attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Vec<f32>,
    out_scale: Vec<f32>,
    inv_freq: Vec<f32>,
}

pub struct Assistant {
    cfg: ModelConfig,
    /// The target's width.
    backbone: usize,
    pre: Linear,
    post: Linear,
    output: Linear,
    vocab: usize,
    final_norm: Vec<f32>,
    layers: Vec<Layer>,
}

impl Assistant {
    /// Load the assistant at `path` for `target`, checking that they pair
    /// (widths, vocabulary, head sizes of the layers it reads).
    pub fn load(path: &Path, target: &Gemma) -> Result<Assistant, LocalError> {
        let g = Gguf::open(path)?;
        let (cfg, backbone) = ModelConfig::assistant(&g)?;
        let bad = |message: String| LocalError::Format {
            path: path.into(),
            message,
        };
        if backbone != target.cfg.hidden {
            return Err(bad(format!(
                "it drafts for a model {backbone} wide; this one is {}",
                target.cfg.hidden
            )));
        }
        let dev = &Device::Cpu;
        let t = |name: &str| first_tensor(&g, &[name.to_string()], dev);
        let vec = |name: &str| -> Result<Vec<f32>, LocalError> { to_vec(&dense(t(name)?, dev)?) };
        let embed = t("token_embd.weight")?;
        let vocab = embed.shape().dims2()?.0;
        if vocab != target.output_rows {
            return Err(bad(format!(
                "its vocabulary has {vocab} tokens; this model's {}",
                target.output_rows
            )));
        }
        let last = |sliding: bool| target.cfg.layers.iter().rposition(|l| l.sliding == sliding);
        let rope_freqs = g
            .has_tensor("rope_freqs.weight")
            .then(|| vec("rope_freqs.weight"))
            .transpose()?;
        let mut layers = Vec::new();
        for (i, lc) in cfg.layers.iter().enumerate() {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            let target_layer = last(lc.sliding)
                .ok_or_else(|| bad(format!("layer {i} reads a kind of layer the model lacks")))?;
            let tc = &target.cfg.layers[target_layer];
            if tc.head_dim != lc.head_dim || lc.n_head % tc.n_kv_head != 0 {
                return Err(bad(format!(
                    "layer {i}'s heads ({} of {}) do not fit the model's layer {target_layer} ({} KV heads of {})",
                    lc.n_head, lc.head_dim, tc.n_kv_head, tc.head_dim
                )));
            }
            layers.push(Layer {
                cfg: lc.clone(),
                target: target_layer,
                attn_norm: vec(&n("attn_norm"))?,
                wq: Linear::load(&g, &n("attn_q"), dev)?,
                q_norm: vec(&n("attn_q_norm"))?,
                wo: Linear::load(&g, &n("attn_output"), dev)?,
                post_attn_norm: vec(&n("post_attention_norm"))?,
                ffn_norm: vec(&n("ffn_norm"))?,
                gate: Linear::load(&g, &n("ffn_gate"), dev)?,
                up: Linear::load(&g, &n("ffn_up"), dev)?,
                down: Linear::load(&g, &n("ffn_down"), dev)?,
                post_ffn_norm: vec(&n("post_ffw_norm"))?,
                out_scale: vec(&n("layer_output_scale"))?,
                inv_freq: inv_freq(lc, rope_freqs.as_deref()),
            });
        }
        Ok(Assistant {
            backbone,
            pre: Linear::load(&g, "nextn.pre_projection.weight", dev)?,
            post: Linear::load(&g, "nextn.post_projection.weight", dev)?,
            output: Linear::new(embed)?,
            vocab,
            final_norm: vec("output_norm.weight")?,
            layers,
            cfg,
        })
    }

    /// Buffers for drafting (allocated once per generation).
    fn scratch(&self) -> Steps {
        let most =
            |f: &dyn Fn(&LayerConfig) -> usize| self.cfg.layers.iter().map(f).max().unwrap_or(0);
        let q = most(&|l| l.n_head * l.head_dim);
        let (e, b) = (self.cfg.hidden, self.backbone);
        Steps {
            xh: vec![0.0; 2 * b],
            cur: vec![0.0; e],
            h: vec![0.0; e],
            o: vec![0.0; e],
            q: vec![0.0; q],
            attn: vec![0.0; q],
            gate: vec![0.0; most(&|l| l.ffn)],
            up: vec![0.0; most(&|l| l.ffn)],
            cos: vec![0.0; most(&|l| l.n_rot / 2)],
            sin: vec![0.0; most(&|l| l.n_rot / 2)],
            logits: vec![0.0; self.vocab],
            hidden: vec![0.0; b],
            acts: ActBuf::default(),
        }
    }

    /// One step: the token after `token` and the hidden state it leaves in
    /// `s.hidden` (which holds the previous one on entry).
    fn step(
        &self,
        target: &Gemma,
        cache: &KvCache,
        token: u32,
        s: &mut Steps,
    ) -> Result<u32, LocalError> {
        let (b, eps) = (self.backbone, self.cfg.eps as f32);
        let pos = cache.tokens.len();
        embed_row(&target.embed, token, &mut s.xh[..b])?;
        let scale = (b as f32).sqrt();
        s.xh[..b].iter_mut().for_each(|v| *v *= scale);
        s.xh[b..].copy_from_slice(&s.hidden);
        Linear::forward_into(&[&self.pre], &s.xh, 1, &mut [&mut s.cur], &mut s.acts)?;
        let table = gelu_table();
        for l in &self.layers {
            let (nh, hd) = (l.cfg.n_head, l.cfg.head_dim);
            let (q, attn) = (&mut s.q[..nh * hd], &mut s.attn[..nh * hd]);
            rms_norm(&s.cur, &l.attn_norm, eps, &mut s.h);
            Linear::forward_into(&[&l.wq], &s.h, 1, &mut [&mut *q], &mut s.acts)?;
            let half = l.inv_freq.len();
            let (cos, sin) = (&mut s.cos[..half], &mut s.sin[..half]);
            rope_angles(&l.cfg, &l.inv_freq, pos, cos, sin);
            for r in q.chunks_mut(hd) {
                rms_norm_in_place(r, &l.q_norm, eps);
                rope(r, cos, sin);
            }
            let attn_scale = self.cfg.attn_scale as f32;
            q.iter_mut().for_each(|v| *v *= attn_scale);
            let tc = &target.cfg.layers[l.target];
            let shape = Shape {
                n_head: nh,
                n_kv: tc.n_kv_head,
                head_dim: hd,
                qpos: pos,
                window: (tc.sliding && target.cfg.window > 0).then_some(target.cfg.window),
                spans: Vec::new(),
            };
            attention::direct(q, &cache.layers[l.target], &shape, attn);
            Linear::forward_into(&[&l.wo], attn, 1, &mut [&mut s.o], &mut s.acts)?;
            rms_norm_in_place(&mut s.o, &l.post_attn_norm, eps);
            add(&mut s.cur, &s.o);
            rms_norm(&s.cur, &l.ffn_norm, eps, &mut s.h);
            let (gate, up) = (&mut s.gate[..l.cfg.ffn], &mut s.up[..l.cfg.ffn]);
            Linear::forward_into(
                &[&l.gate, &l.up],
                &s.h,
                1,
                &mut [&mut *gate, &mut *up],
                &mut s.acts,
            )?;
            for (g, u) in gate.iter_mut().zip(up.iter()) {
                *g = gelu_lookup(table, *g) * u;
            }
            Linear::forward_into(&[&l.down], gate, 1, &mut [&mut s.o], &mut s.acts)?;
            rms_norm_in_place(&mut s.o, &l.post_ffn_norm, eps);
            add(&mut s.cur, &s.o);
            match l.out_scale.as_slice() {
                [k] => s.cur.iter_mut().for_each(|v| *v *= k),
                k => s.cur.iter_mut().zip(k).for_each(|(v, k)| *v *= k),
            }
        }
        rms_norm_in_place(&mut s.cur, &self.final_norm, eps);
        Linear::forward_into(
            &[&self.output],
            &s.cur,
            1,
            &mut [&mut s.logits],
            &mut s.acts,
        )?;
        Linear::forward_into(&[&self.post], &s.cur, 1, &mut [&mut s.hidden], &mut s.acts)?;
        Ok(argmax(&s.logits))
    }
}

/// The buffers of the assistant's steps.
struct Steps {
    xh: Vec<f32>,
    cur: Vec<f32>,
    h: Vec<f32>,
    o: Vec<f32>,
    q: Vec<f32>,
    attn: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    logits: Vec<f32>,
    /// The hidden state the next step starts from.
    hidden: Vec<f32>,
    acts: ActBuf,
}

/// Drafts with an assistant for its target: greedy, up to the most asked,
/// from the target's hidden state after the last token it ran.
pub struct Mtp<'a> {
    assistant: &'a Assistant,
    target: &'a Gemma,
    steps: Steps,
}

impl<'a> Mtp<'a> {
    pub fn new(assistant: &'a Assistant, target: &'a Gemma) -> Mtp<'a> {
        Mtp {
            steps: assistant.scratch(),
            assistant,
            target,
        }
    }
}

impl Drafter for Mtp<'_> {
    fn draft(&mut self, input: &DraftInput<'_>, max: usize, out: &mut Vec<u32>) {
        // Only after a step of the target (a prompt's last token runs in a
        // prefill, which keeps no hidden state).
        // And only on the host cache, which its attention reads.
        let (Some(hidden), Some(&last), Some(cache)) =
            (input.hidden, input.history.last(), input.cache)
        else {
            return;
        };
        self.steps.hidden.copy_from_slice(hidden);
        let mut token = last;
        for _ in 0..max {
            match self
                .assistant
                .step(self.target, cache, token, &mut self.steps)
            {
                Ok(t) => {
                    out.push(t);
                    token = t;
                }
                Err(e) => {
                    tracing::warn!("the MTP assistant failed: {e}");
                    return;
                }
            }
        }
    }
}

/// A Gemma 4 MTP assistant beside the model at `model`: a GGUF in the same
/// folder whose name says "assistant" and whose architecture is
/// gemma4-assistant.
pub fn discover(model: &Path) -> Option<std::path::PathBuf> {
    let dir = model.parent()?;
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p != model
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().to_lowercase().contains("assistant"))
        })
        .filter(|p| Gguf::open(p).is_ok_and(|g| g.arch().is_ok_and(|a| a == "gemma4-assistant")))
        .collect();
    found.sort();
    found.into_iter().next()
}
