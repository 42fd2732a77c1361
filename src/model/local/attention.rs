//! Causal attention over the f16 key/value cache, windowed on sliding
//! layers. A few query positions (decoding) are computed directly on the
//! cache, one task per query head; a prompt chunk converts the visible keys
//! and values to f32 once and runs as matrix products, never materializing
//! more than a chunk × context score matrix per KV head.

use candle_core::{Device, Tensor};
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use super::LocalError;
use super::kernels::{axpy_f16, dot_f16};
use super::kv::LayerCache;

/// Query chunks up to this long run on the cache directly.
pub const DIRECT_MAX: usize = 8;

pub struct Shape {
    pub n_head: usize,
    pub n_kv: usize,
    pub head_dim: usize,
    /// Absolute position of the first query.
    pub qpos: usize,
    pub window: Option<usize>,
}

impl Shape {
    /// Cache indices visible to the query at absolute position `p`.
    fn visible(&self, cache: &LayerCache, p: usize) -> std::ops::Range<usize> {
        let lo = match self.window {
            Some(w) => (p + 1).saturating_sub(w).max(cache.start()),
            None => cache.start(),
        };
        (lo - cache.start())..(p + 1 - cache.start())
    }
}

/// `q`: `[L][n_head][head_dim]` (already scaled). Returns the same shape.
pub fn direct(q: &[f32], cache: &LayerCache, s: &Shape) -> Vec<f32> {
    let (nh, hd) = (s.n_head, s.head_dim);
    let l = q.len() / (nh * hd);
    let width = s.n_kv * hd;
    let group = nh / s.n_kv;
    let (keys, values) = (cache.keys(), cache.values());
    let mut out = vec![0f32; q.len()];
    out.par_chunks_mut(hd).enumerate().for_each(|(idx, o)| {
        let (i, h) = (idx / nh, idx % nh);
        let g = h / group;
        let qv = &q[idx * hd..(idx + 1) * hd];
        let range = s.visible(cache, s.qpos + i);
        let mut scores: Vec<f32> = range
            .clone()
            .map(|j| dot_f16(&keys[j * width + g * hd..][..hd], qv))
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for x in &mut scores {
            *x = (*x - max).exp();
            sum += *x;
        }
        for (j, p) in range.zip(&scores) {
            axpy_f16(o, p / sum, &values[j * width + g * hd..][..hd]);
        }
    });
    debug_assert_eq!(out.len(), l * nh * hd);
    out
}

/// `q`: `[n_head, L, head_dim]` (already scaled). Returns `[n_head, L, head_dim]`.
pub fn chunk(
    q: &Tensor,
    cache: &LayerCache,
    s: &Shape,
    dev: &Device,
) -> Result<Tensor, LocalError> {
    let (nh, l, hd) = q.dims3()?;
    let nkv = s.n_kv;
    // Only the positions some query of the chunk can see.
    let first = s.visible(cache, s.qpos).start;
    let t = cache.len() - first;
    let width = nkv * hd;
    let f32s = |src: &[half::f16]| -> Result<Tensor, LocalError> {
        let src = &src[first * width..];
        let mut v = vec![0f32; src.len()];
        v.par_chunks_mut(width * 64)
            .zip(src.par_chunks(width * 64))
            .for_each(|(d, s)| s.convert_to_f32_slice(d));
        Ok(Tensor::from_vec(v, (t, nkv, hd), dev)?
            .transpose(0, 1)?
            .contiguous()?)
    };
    let (k, v) = (f32s(cache.keys())?, f32s(cache.values())?);
    let g = nh / nkv;
    let qg = q.reshape((nkv, g * l, hd))?;
    let scores = qg.matmul(&k.t()?)?; // [nkv, g*L, T]
    let kstart = cache.start() + first;
    let mut mask = vec![0f32; l * t];
    mask.par_chunks_mut(t).enumerate().for_each(|(i, row)| {
        let p = s.qpos + i;
        for (j, m) in row.iter_mut().enumerate() {
            let kp = kstart + j;
            let visible = kp <= p && s.window.is_none_or(|w| p - kp < w);
            if !visible {
                *m = f32::NEG_INFINITY;
            }
        }
    });
    let mask = Tensor::from_vec(mask, (l, t), dev)?;
    let scores = scores.reshape((nkv, g, l, t))?.broadcast_add(&mask)?;
    let probs = candle_nn::ops::softmax_last_dim(&scores)?.reshape((nkv, g * l, t))?;
    let out = probs.matmul(&v)?; // [nkv, g*L, hd]
    Ok(out.reshape((nh, l, hd))?)
}
