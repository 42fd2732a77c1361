//! The forward pass where the model computes: every step built from candle
//! tensor operations that CUDA, Metal and candle's CPU backend all have
//! (quantized matmul, RMS norm, RoPE, matmul, softmax), with the key/value
//! cache resident beside the weights (device_kv.rs). What crosses to the
//! device per step is the token ids, the RoPE tables and one attention mask
//! per window kind; what comes back is the logits. On the CPU backend it is
//! checked against the CPU kernel path (`Gemma::forward`).
//!
//! The arithmetic follows the CPU path's (and so ggml's): queries and
//! attention weights rounded to f16 before their products with the f16
//! cache, scores in f32; the softmax is ggml's (f64 sums) on the CPU
//! backend and the backend's own kernel on a GPU.

use candle_core::{DType, Device, Tensor};

use super::super::LocalError;
use super::super::attention::Shape;
use super::super::media::MediaSet;
use super::device_kv::{DeviceCache, Layout};
use super::{Gemma, Layer, spans_at};

/// A mask `[L, rows]` for one layout, built once per step.
struct Mask {
    layout: Layout,
    mask: Tensor,
}

impl Gemma {
    /// A cache for `forward_device`.
    pub fn new_device_cache(&self) -> DeviceCache {
        let w = self.cfg.window;
        DeviceCache::new(
            self.cfg
                .layers
                .iter()
                .map(|l| (l.sliding && w > 0).then_some(w)),
            self.cfg.context,
        )
    }

    /// `forward_media` on the device: `tokens` at absolute positions from
    /// `cache.tokens.len()` through the model, extending the device cache.
    /// Logits `[L, vocab]` when `all_logits`, else `[1, vocab]`.
    pub fn forward_device(
        &self,
        tokens: &[u32],
        media: &MediaSet,
        cache: &mut DeviceCache,
        all_logits: bool,
    ) -> Result<Tensor, LocalError> {
        let l = tokens.len();
        let pos = cache.tokens.len();
        let spans = spans_at(tokens, media, pos);
        let mut x = self.inputs(tokens, media)?;
        let mut masks: Vec<Mask> = Vec::new();
        // RoPE tables shared by layers with the same rotation.
        let mut ropes: Vec<(usize, Tensor, Tensor)> = Vec::new();
        for (i, (layer, lcache)) in self.layers.iter().zip(cache.layers.iter_mut()).enumerate() {
            let (q, k, v) = self.qkv(layer, &x)?;
            let same = |j: &usize| same_rotation(&self.layers[*j], layer);
            let (cos, sin) = match ropes.iter().find(|(j, _, _)| same(j)) {
                Some((_, c, s)) => (c.clone(), s.clone()),
                None => {
                    let (c, s) = self.rope_tables(layer, pos, l)?;
                    ropes.push((i, c.clone(), s.clone()));
                    (c, s)
                }
            };
            let (q, k) = self.rotate(&q, &k, &cos, &sin)?;
            lcache.append(&k, &v)?;
            let layout = lcache.layout();
            let mask = match masks.iter().find(|m| m.layout == layout) {
                Some(m) => m.mask.clone(),
                None => {
                    let mut shape = self.attention_shape(&layer.cfg, pos);
                    shape.spans.clone_from(&spans);
                    let m = mask(&layout, &shape, l, x.device())?;
                    masks.push(Mask {
                        layout,
                        mask: m.clone(),
                    });
                    m
                }
            };
            let (kc, vc) = lcache.view()?;
            let attn = attend(&q, &kc, &vc, &mask)?; // [L, nh * hd]
            x = self.after_attention(layer, &attn, &x)?;
        }
        cache.tokens.extend_from_slice(tokens);
        self.logits(x, all_logits)
    }
}

/// Whether two layers rotate queries and keys alike.
fn same_rotation(a: &Layer, b: &Layer) -> bool {
    let (x, y) = (&a.cfg, &b.cfg);
    x.n_rot == y.n_rot
        && x.rope_base == y.rope_base
        && x.rope_scale == y.rope_scale
        && a.values.inv_freq == b.values.inv_freq
}

/// `[L, rows]`: 0 where the query at `shape.qpos + i` sees the entry in
/// that row (the CPU path's rule, `Shape::sees`), -inf elsewhere and on rows
/// holding nothing.
fn mask(lay: &Layout, shape: &Shape, l: usize, dev: &Device) -> Result<Tensor, LocalError> {
    let rows = match lay.window {
        Some(_) => lay.cap,
        None => lay.len,
    };
    let mut m = vec![f32::NEG_INFINITY; l * rows];
    for (i, row) in m.chunks_mut(rows).enumerate() {
        for (r, v) in row.iter_mut().enumerate() {
            if lay
                .position(r)
                .is_some_and(|kp| shape.sees(shape.qpos + i, kp))
            {
                *v = 0.0;
            }
        }
    }
    Ok(Tensor::from_vec(m, (l, rows), dev)?)
}

/// Rounded to f16 and back, as ggml rounds queries and attention weights.
fn f16_rounded(t: &Tensor) -> Result<Tensor, LocalError> {
    Ok(t.to_dtype(DType::F16)?.to_dtype(DType::F32)?)
}

/// Attention of queries `q` `[L, heads, hd]` over keys and values `[kv
/// heads, n, hd]` under `mask` `[L, n]`: `[L, heads * hd]`.
fn attend(q: &Tensor, k: &Tensor, v: &Tensor, mask: &Tensor) -> Result<Tensor, LocalError> {
    let (l, nh, hd) = q.dims3()?;
    let (nkv, n, _) = k.dims3()?;
    let g = nh / nkv;
    let q = f16_rounded(&q.transpose(0, 1)?.contiguous()?.reshape((nkv, g * l, hd))?)?;
    let scores = q.matmul(&k.t()?)?; // [nkv, g*L, n]
    let scores = scores.reshape((nkv, g, l, n))?.broadcast_add(mask)?;
    let scores = scores.reshape((nkv, g * l, n))?;
    // On the CPU backend, ggml's softmax (f64 sum, one reciprocal), as the
    // CPU path computes it: candle's sums in f32 and divides, a last-bit
    // difference the quantized small model turns into logit differences
    // near 1 (measured). On a GPU, the backend's own kernel.
    let probs = if scores.device().is_cpu() {
        super::super::attention::softmax_f16(scores)?
    } else {
        f16_rounded(&candle_nn::ops::softmax_last_dim(&scores)?)?
    };
    let out = probs.matmul(v)?; // [nkv, g*L, hd]
    Ok(out
        .reshape((nh, l, hd))?
        .transpose(0, 1)?
        .contiguous()?
        .reshape((l, nh * hd))?)
}
