//! The Gemma decoder (Gemma 3 and Gemma 4 dense) on candle's quantized
//! primitives. Follows llama.cpp's graphs (src/models/gemma3.cpp, gemma4.cpp):
//! embeddings scaled by sqrt(hidden); per layer RMSNorm -> Q/K/V -> q_norm and
//! k_norm (Gemma 4: V gets a weight-less RMSNorm, and is the raw K projection on
//! layers without attn_v) -> NEOX RoPE (Gemma 4 full layers with per-dim divisors)
//! -> causal attention, windowed on sliding layers -> post-attention norm and
//! residual -> GELU-tanh gated MLP with pre/post norms and residual -> (Gemma 4)
//! per-layer output scalar; final norm, tied output, optional soft-cap.

use std::sync::Arc;

use candle_core::quantized::QTensor;
use candle_core::{D, DType, Device, Tensor};

use super::LocalError;
use super::attention;
use super::config::{Arch, LayerConfig, ModelConfig};
use super::gguf::Gguf;
use super::kv::KvCache;
use super::linear::Linear;
use super::media::{MediaSet, image_spans, is_media};

#[cfg(feature = "cuda")]
mod cuda_graph;
mod decode;
mod device_kv;
mod device_pass;
mod device_step;
pub mod mtp;
pub use decode::Scratch;
pub use device_kv::DeviceCache;

/// A layer's norm weights and output scalar as plain values (the decode
/// step's), and its RoPE inverse frequencies.
struct LayerValues {
    attn_norm: Vec<f32>,
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    post_attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    post_ffn_norm: Vec<f32>,
    out_scale: Option<Vec<f32>>,
    /// `n_rot / 2` frequencies.
    inv_freq: Vec<f32>,
}

struct Layer {
    cfg: LayerConfig,
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Option<Linear>,
    wo: Linear,
    q_norm: Tensor,
    k_norm: Tensor,
    post_attn_norm: Tensor,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Tensor,
    out_scale: Option<Tensor>,
    values: LayerValues,
}

pub struct Gemma {
    pub cfg: ModelConfig,
    embed: Arc<QTensor>,
    output: Linear,
    /// Logits per position.
    output_rows: usize,
    final_norm: Tensor,
    final_norm_values: Vec<f32>,
    layers: Vec<Layer>,
    device: Device,
}

fn first_tensor(g: &Gguf, names: &[String], device: &Device) -> Result<QTensor, LocalError> {
    for n in names {
        if g.has_tensor(n) {
            return g.tensor(n, device);
        }
    }
    Err(LocalError::MissingTensor {
        path: g.path.clone(),
        name: names[0].clone(),
    })
}

fn optional(g: &Gguf, names: &[String], device: &Device) -> Result<Option<QTensor>, LocalError> {
    match names.iter().find(|n| g.has_tensor(n)) {
        Some(n) => g.tensor(n, device).map(Some),
        None => Ok(None),
    }
}

pub(super) fn dense(t: QTensor, device: &Device) -> Result<Tensor, LocalError> {
    Ok(t.dequantize(device)?.to_dtype(DType::F32)?)
}

impl Gemma {
    pub fn load(g: &Gguf, device: &Device) -> Result<Gemma, LocalError> {
        let cfg = ModelConfig::from_gguf(g)?;
        let t = |name: &str| first_tensor(g, &[name.to_string()], device);
        let embed = Arc::new(t("token_embd.weight")?);
        let (output, output_rows) = match g.tensors.get("output.weight") {
            Some(o) => (Linear::load(g, "output.weight", device)?, o.dims[0]),
            None => (Linear::from_arc(embed.clone())?, embed.shape().dims2()?.0),
        };
        let final_norm = dense(t("output_norm.weight")?, device)?;
        let rope_freqs = match cfg.arch {
            Arch::Gemma4 if g.has_tensor("rope_freqs.weight") => Some(
                dense(t("rope_freqs.weight")?, device)?
                    .flatten_all()?
                    .to_vec1::<f32>()?,
            ),
            _ => None,
        };
        let mut layers = Vec::with_capacity(cfg.layers.len());
        for (i, lc) in cfg.layers.iter().enumerate() {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            let q = |s: &str| -> Result<Linear, LocalError> { Linear::load(g, &n(s), device) };
            let norm = |names: &[&str]| -> Result<Tensor, LocalError> {
                dense(
                    first_tensor(g, &names.iter().map(|s| n(s)).collect::<Vec<_>>(), device)?,
                    device,
                )
            };
            let wv = match g.has_tensor(&n("attn_v")) {
                true => Some(Linear::load(g, &n("attn_v"), device)?),
                false if cfg.arch == Arch::Gemma4 => None,
                false => {
                    return Err(LocalError::MissingTensor {
                        path: g.path.clone(),
                        name: n("attn_v"),
                    });
                }
            };
            let out_scale = optional(
                g,
                &[
                    n("layer_output_scale"),
                    n("layer_scalar"),
                    format!("blk.{i}.layer_scalar"),
                ],
                device,
            )?
            .map(|s| dense(s, device))
            .transpose()?;
            let attn_norm = norm(&["attn_norm"])?;
            let q_norm = norm(&["attn_q_norm"])?;
            let k_norm = norm(&["attn_k_norm"])?;
            let post_attn_norm = norm(&["post_attention_norm", "attn_post_norm"])?;
            let ffn_norm = norm(&["ffn_norm"])?;
            let post_ffn_norm = norm(&["post_ffw_norm", "ffn_post_norm"])?;
            let values = LayerValues {
                attn_norm: to_vec(&attn_norm)?,
                q_norm: to_vec(&q_norm)?,
                k_norm: to_vec(&k_norm)?,
                post_attn_norm: to_vec(&post_attn_norm)?,
                ffn_norm: to_vec(&ffn_norm)?,
                post_ffn_norm: to_vec(&post_ffn_norm)?,
                out_scale: out_scale.as_ref().map(to_vec).transpose()?,
                inv_freq: inv_freq(lc, rope_freqs.as_deref()),
            };
            layers.push(Layer {
                cfg: lc.clone(),
                attn_norm,
                wq: q("attn_q")?,
                wk: q("attn_k")?,
                wv,
                wo: q("attn_output")?,
                q_norm,
                k_norm,
                post_attn_norm,
                ffn_norm,
                gate: q("ffn_gate")?,
                up: q("ffn_up")?,
                down: q("ffn_down")?,
                post_ffn_norm,
                out_scale,
                values,
            });
        }
        Ok(Gemma {
            cfg,
            embed,
            output,
            output_rows,
            final_norm_values: to_vec(&final_norm)?,
            final_norm,
            layers,
            device: device.clone(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn new_cache(&self) -> KvCache {
        let w = self.cfg.window;
        KvCache::new(
            self.cfg
                .layers
                .iter()
                .map(|l| (l.sliding && w > 0).then_some(w)),
        )
    }

    /// cos/sin tables [L, n_rot/2] for positions `pos..pos+L`.
    fn rope_tables(
        &self,
        layer: &Layer,
        pos: usize,
        l: usize,
    ) -> Result<(Tensor, Tensor), LocalError> {
        let half = layer.values.inv_freq.len();
        let mut cos = vec![0f32; l * half];
        let mut sin = vec![0f32; l * half];
        for (i, p) in (pos..pos + l).enumerate() {
            let (c, s) = (&mut cos[i * half..][..half], &mut sin[i * half..][..half]);
            rope_angles(&layer.cfg, &layer.values.inv_freq, p, c, s);
        }
        Ok((
            Tensor::from_vec(cos, (l, half), &self.device)?,
            Tensor::from_vec(sin, (l, half), &self.device)?,
        ))
    }

    /// A layer's attention for queries from absolute position `pos`.
    fn attention_shape(&self, lc: &LayerConfig, pos: usize) -> attention::Shape {
        attention::Shape {
            n_head: lc.n_head,
            n_kv: lc.n_kv_head,
            head_dim: lc.head_dim,
            qpos: pos,
            window: (lc.sliding && self.cfg.window > 0).then_some(self.cfg.window),
            spans: Vec::new(),
        }
    }

    /// Run `tokens` (at absolute positions starting at `cache.tokens.len()`)
    /// through the model, extending the cache. Returns logits [L, vocab] for every
    /// position when `all_logits`, else [1, vocab] for the last one.
    pub fn forward(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        all_logits: bool,
    ) -> Result<Tensor, LocalError> {
        // On the compute pool's own threads: the serial parts between matrix
        // products then never compete with the pool for the cores, and no
        // product pays for waking a pool from outside.
        self.forward_media(tokens, &MediaSet::default(), cache, all_logits)
    }

    /// `forward` of a prompt chunk with media: placeholder ids take their
    /// rows from `media` (as they are: only token embeddings are scaled by
    /// sqrt(hidden)). An image must lie wholly inside the chunk.
    pub fn forward_media(
        &self,
        tokens: &[u32],
        media: &MediaSet,
        cache: &mut KvCache,
        all_logits: bool,
    ) -> Result<Tensor, LocalError> {
        rayon::scope(|_| self.forward_here(tokens, media, cache, all_logits))
    }

    /// The input rows of `tokens`: [L, hidden].
    fn inputs(&self, tokens: &[u32], media: &MediaSet) -> Result<Tensor, LocalError> {
        // Media placeholders embed as token 0, then take their rows.
        let text: Vec<u32> = tokens
            .iter()
            .map(|&t| if is_media(t) { 0 } else { t })
            .collect();
        let ids = Tensor::new(text, &self.device)?;
        let scale = (self.cfg.hidden as f64).sqrt();
        let x = (self.embed.embedding(&ids)?.to_dtype(DType::F32)? * scale)?;
        if !tokens.iter().any(|&t| is_media(t)) {
            return Ok(x);
        }
        let mut rows = to_vec(&x)?;
        let h = self.cfg.hidden;
        for (i, &t) in tokens.iter().enumerate().filter(|(_, t)| is_media(**t)) {
            let row = media.row(t).ok_or_else(|| {
                LocalError::Tokenizer(format!("prompt position {i}: media row {t:#x} not given"))
            })?;
            if row.len() != h {
                return Err(LocalError::Tokenizer(format!(
                    "media rows are {} wide; the model is {h}",
                    row.len()
                )));
            }
            rows[i * h..(i + 1) * h].copy_from_slice(row);
        }
        Ok(Tensor::from_vec(rows, (tokens.len(), h), &self.device)?)
    }

    fn forward_here(
        &self,
        tokens: &[u32],
        media: &MediaSet,
        cache: &mut KvCache,
        all_logits: bool,
    ) -> Result<Tensor, LocalError> {
        let l = tokens.len();
        let pos = cache.tokens.len();
        let mut x = self.inputs(tokens, media)?; // [L, hidden]
        let spans = spans_at(tokens, media, pos);
        for (layer, lcache) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let lc = &layer.cfg;
            let (nh, nkv, hd) = (lc.n_head, lc.n_kv_head, lc.head_dim);
            let (q, k, v) = self.qkv(layer, &x)?;
            let (cos, sin) = self.rope_tables(layer, pos, l)?;
            let (q, k) = self.rotate(&q, &k, &cos, &sin)?;
            lcache.append(&to_vec(&k)?, &to_vec(&v)?, nkv * hd);
            let mut shape = self.attention_shape(lc, pos);
            shape.spans.clone_from(&spans);
            let attn = if l <= attention::DIRECT_MAX && self.device.is_cpu() {
                let mut out = vec![0f32; l * nh * hd];
                attention::direct(&to_vec(&q)?, lcache, &shape, &mut out);
                Tensor::from_vec(out, (l, nh * hd), &self.device)?
            } else {
                let q = q.transpose(0, 1)?.contiguous()?;
                attention::chunk(&q, lcache, &shape, &self.device)?
                    .transpose(0, 1)?
                    .reshape((l, nh * hd))?
            };
            x = self.after_attention(layer, &attn, &x)?;
        }
        cache.tokens.extend_from_slice(tokens);
        self.logits(x, all_logits)
    }

    /// A layer's queries `[L, heads, hd]`, keys and values `[L, kv heads,
    /// hd]` from its input `x`: normed, before RoPE (Gemma 4's values
    /// normed without a weight, and the raw keys where it has no value
    /// matrix).
    fn qkv(&self, layer: &Layer, x: &Tensor) -> Result<(Tensor, Tensor, Tensor), LocalError> {
        let lc = &layer.cfg;
        let (l, eps) = (x.dim(0)?, self.cfg.eps as f32);
        let (nh, nkv, hd) = (lc.n_head, lc.n_kv_head, lc.head_dim);
        let h = candle_nn::ops::rms_norm(x, &layer.attn_norm, eps)?;
        let mut qkv = match &layer.wv {
            Some(wv) => Linear::forward_many(&[&layer.wq, &layer.wk, wv], &h)?,
            None => Linear::forward_many(&[&layer.wq, &layer.wk], &h)?,
        }
        .into_iter();
        let mut next = |n| -> Result<Tensor, LocalError> {
            let t = qkv.next().expect("one output per weight");
            Ok(t.reshape((l, n, hd))?)
        };
        let q = next(nh)?;
        let k_raw = next(nkv)?;
        let v = match &layer.wv {
            Some(_) => next(nkv)?,
            None => k_raw.clone(),
        };
        let q = candle_nn::ops::rms_norm(&q, &layer.q_norm, eps)?;
        let k = candle_nn::ops::rms_norm(&k_raw, &layer.k_norm, eps)?;
        let v = match self.cfg.arch {
            Arch::Gemma4 => rms_norm_plain(&v, eps)?,
            Arch::Gemma3 => v,
        };
        Ok((q, k, v))
    }

    /// Queries and keys rotated by the tables `cos`/`sin`, the queries
    /// scaled for attention.
    fn rotate(
        &self,
        q: &Tensor,
        k: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
    ) -> Result<(Tensor, Tensor), LocalError> {
        let q = candle_nn::rotary_emb::rope_thd(&q.unsqueeze(0)?, cos, sin)?.squeeze(0)?;
        let k = candle_nn::rotary_emb::rope_thd(&k.unsqueeze(0)?, cos, sin)?.squeeze(0)?;
        Ok(((q * self.cfg.attn_scale)?, k))
    }

    /// The rest of a layer after its attention output `attn` `[L, heads *
    /// hd]`: output matrix, norms and residual, the gated MLP, the layer's
    /// output scale. Returns the next layer's input.
    fn after_attention(
        &self,
        layer: &Layer,
        attn: &Tensor,
        x: &Tensor,
    ) -> Result<Tensor, LocalError> {
        let eps = self.cfg.eps as f32;
        let o = layer.wo.forward(attn)?;
        let o = candle_nn::ops::rms_norm(&o, &layer.post_attn_norm, eps)?;
        let resid = (o + x)?;
        let h = candle_nn::ops::rms_norm(&resid, &layer.ffn_norm, eps)?;
        let [gate, up]: [Tensor; 2] = Linear::forward_many(&[&layer.gate, &layer.up], &h)?
            .try_into()
            .expect("two outputs");
        let gated = gelu_gated(&gate, &up)?;
        let f = layer.down.forward(&gated)?;
        let f = candle_nn::ops::rms_norm(&f, &layer.post_ffn_norm, eps)?;
        let x = (f + resid)?;
        Ok(match &layer.out_scale {
            Some(s) => x.broadcast_mul(s)?,
            None => x,
        })
    }

    /// Logits from the last layer's output `x` `[L, hidden]`: every row's
    /// when `all_logits`, else the last one's.
    fn logits(&self, x: Tensor, all_logits: bool) -> Result<Tensor, LocalError> {
        let l = x.dim(0)?;
        let x = if all_logits {
            x
        } else {
            x.narrow(0, l - 1, 1)?
        };
        let x = candle_nn::ops::rms_norm(&x, &self.final_norm, self.cfg.eps as f32)?;
        let mut logits = self.output.forward(&x)?;
        if let Some(cap) = self.cfg.final_softcap {
            logits = ((logits / cap)?.tanh()? * cap)?;
        }
        Ok(logits)
    }
}

/// The absolute positions of the images in a chunk of `tokens` at `pos`.
fn spans_at(tokens: &[u32], media: &MediaSet, pos: usize) -> Vec<std::ops::Range<usize>> {
    image_spans(tokens, media)
        .into_iter()
        .map(|s| pos + s.start..pos + s.end)
        .collect()
}

/// RoPE's inverse frequencies of a layer (`n_rot / 2`): Gemma 4's full
/// layers divide them by the model's `rope_freqs`.
/// The divisor of each rotated pair's angle: 1, or the model's
/// `rope_freqs` factor where the layer takes them (Gemma 4's proportional
/// RoPE on full layers).
fn inv_freq(lc: &LayerConfig, rope_freqs: Option<&[f32]>) -> Vec<f32> {
    (0..lc.n_rot / 2)
        .map(|i| match (rope_freqs, lc.rope_freq_factors) {
            (Some(f), true) => f.get(i).copied().unwrap_or(1.0),
            _ => 1.0,
        })
        .collect()
}

/// cos and sin of RoPE's angles at position `p`, to ggml's bits: pair `i`'s
/// angle is the position times `base^(-2/n_rot)` multiplied in `i` times in
/// f32 (ggml_rope_cache_init), divided by its factor, then scaled.
fn rope_angles(lc: &LayerConfig, factors: &[f32], p: usize, cos: &mut [f32], sin: &mut [f32]) {
    let step = lc.rope_base.powf(-2.0 / lc.n_rot as f32);
    let mut theta = p as f32;
    for ((f, c), s) in factors.iter().zip(cos).zip(sin) {
        (*s, *c) = (lc.rope_scale * (theta / f)).sin_cos();
        theta *= step;
    }
}

/// RMS norm without a weight (Gemma 4's value norm).
pub(super) fn rms_norm_plain(x: &Tensor, eps: f32) -> Result<Tensor, LocalError> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(x.broadcast_div(&(ms + f64::from(eps))?.sqrt()?)?)
}

fn to_vec(t: &Tensor) -> Result<Vec<f32>, LocalError> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// GELU (tanh approximation) of `gate` times `up`, in one pass over the
/// values, shared out over the compute threads, looked up in an f16 table as
/// ggml does (candle's goes through libm's tanh one value at a time).
fn gelu_gated(gate: &Tensor, up: &Tensor) -> Result<Tensor, LocalError> {
    if !gate.device().is_cpu() {
        return Ok((gate.gelu()? * up)?);
    }
    use rayon::prelude::*;
    let table = gelu_table();
    let mut g = to_vec(gate)?;
    let u = to_vec(up)?;
    g.par_chunks_mut(4096)
        .zip(u.par_chunks(4096))
        .for_each(|(g, u)| {
            for (g, u) in g.iter_mut().zip(u) {
                *g = gelu_lookup(table, *g) * u;
            }
        });
    Ok(Tensor::from_vec(g, gate.dims(), gate.device())?)
}

/// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
fn gelu(x: f32) -> f32 {
    const C: f32 = 0.797_884_6; // √(2/π)
    0.5 * x * (1.0 + (C * (x + 0.044_715 * x * x * x)).tanh())
}

/// GELU of every f16 value, rounded to f16 (ggml's ggml_table_gelu_f16).
fn gelu_table() -> &'static [half::f16] {
    static TABLE: std::sync::OnceLock<Vec<half::f16>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|b| half::f16::from_f32(gelu(half::f16::from_bits(b).to_f32())))
            .collect()
    })
}

#[inline]
fn gelu_lookup(table: &[half::f16], x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        table[usize::from(half::f16::from_f32(x).to_bits())].to_f32()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gelu_lookup_is_the_formula_to_f16_precision() {
        let table = super::gelu_table();
        for i in -4000..4000 {
            let x = i as f32 / 200.0;
            let want = super::gelu(x);
            let got = super::gelu_lookup(table, x);
            assert!(
                (got - want).abs() <= 2e-3 * want.abs().max(1.0),
                "{x}: {got} vs {want}"
            );
        }
        assert_eq!(super::gelu_lookup(table, 100.0), 100.0);
        assert_eq!(super::gelu_lookup(table, -100.0), 0.0);
        assert_eq!(super::gelu_lookup(table, f32::NEG_INFINITY), 0.0);
    }
}
