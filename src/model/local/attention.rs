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
    /// Absolute positions of images in the chunk: on sliding layers an
    /// image's rows see each other both ways (the window still bounds the
    /// past), as llama.cpp decodes Gemma 4's images; full layers stay
    /// causal.
    pub spans: Vec<std::ops::Range<usize>>,
}

impl Shape {
    /// Cache indices visible to the query at absolute position `p`.
    fn visible(&self, cache: &LayerCache, p: usize) -> std::ops::Range<usize> {
        let lo = self.first_seen(p, cache.start());
        // A query at the position after the cache (an MTP assistant's) sees
        // what is there.
        (lo - cache.start())..(self.last_seen(p) + 1 - cache.start()).min(cache.len())
    }

    /// The first position the query at `p` sees in a cache whose oldest
    /// entry is at `start`: the window's first on sliding layers.
    pub fn first_seen(&self, p: usize, start: usize) -> usize {
        match self.window {
            Some(w) => (p + 1).saturating_sub(w).max(start),
            None => start,
        }
    }

    /// `[L, t]` for the chunk's queries over the keys at `kstart..kstart +
    /// t`: 0 where a query sees the key (`sees`), -inf elsewhere; `None`
    /// where every query sees every key.
    pub fn mask(&self, l: usize, kstart: usize, t: usize) -> Option<Vec<f32>> {
        // One query (every decoding step): looked at without allocating.
        if l == 1 && (kstart..kstart + t).all(|kp| self.sees(self.qpos, kp)) {
            return None;
        }
        let mut mask = vec![0f32; l * t];
        let hidden = mask
            .par_chunks_mut(t.max(1))
            .enumerate()
            .map(|(i, row)| {
                let p = self.qpos + i;
                let mut hidden = false;
                for (j, m) in row.iter_mut().enumerate() {
                    if !self.sees(p, kstart + j) {
                        *m = f32::NEG_INFINITY;
                        hidden = true;
                    }
                }
                hidden
            })
            .reduce(|| false, |a, b| a || b);
        hidden.then_some(mask)
    }

    /// Whether the query at absolute position `p` sees the key at `kp`:
    /// causal (an image's rows both ways on sliding layers), within the
    /// window on sliding layers.
    pub fn sees(&self, p: usize, kp: usize) -> bool {
        kp <= self.last_seen(p) && self.window.is_none_or(|w| kp > p || p - kp < w)
    }

    /// The last position the query at `p` sees: itself, or its image's end.
    fn last_seen(&self, p: usize) -> usize {
        match self.window {
            Some(_) => self
                .spans
                .iter()
                .find(|s| s.contains(&p))
                .map_or(p, |s| s.end - 1),
            None => p,
        }
    }
}

/// Keys scored at a time in `direct` (on the stack: nothing allocated).
const SCORE_BLOCK: usize = 64;

/// Widest head `direct` takes (its query is copied to the stack).
pub const MAX_HEAD_DIM: usize = 512;

/// `q`: `[L][n_head][head_dim]` (already scaled); writes the same shape to
/// `out`. One task per query head, as ggml computes attention without
/// flash attention: the query rounded to f16 for its products with the f16
/// keys; the softmax's maximum and sum (in f64) in a first pass over the
/// keys, then each weight, normalized and rounded to f16, times its f16
/// value. Nothing is allocated.
pub fn direct(q: &[f32], cache: &LayerCache, s: &Shape, out: &mut [f32]) {
    let (nh, hd) = (s.n_head, s.head_dim);
    let group = nh / s.n_kv;
    assert_eq!(q.len(), out.len());
    assert_eq!(q.len() % (nh * hd), 0, "query shape");
    assert!(hd <= MAX_HEAD_DIM, "head size {hd}");
    out.par_chunks_mut(hd).enumerate().for_each(|(idx, o)| {
        let (i, h) = (idx / nh, idx % nh);
        let g = h / group;
        let mut qbuf = [0f32; MAX_HEAD_DIM];
        let qv = &mut qbuf[..hd];
        for (d, x) in qv.iter_mut().zip(&q[idx * hd..(idx + 1) * hd]) {
            *d = half::f16::from_f32(*x).to_f32();
        }
        let qv = &*qv;
        let range = s.visible(cache, s.qpos + i);
        let score = |j: usize| dot_f16(&cache.key(j)[g * hd..][..hd], qv);
        let (mut max, mut sum) = (f32::NEG_INFINITY, 0f64);
        let mut scores = [0f32; SCORE_BLOCK];
        let end = range.end;
        let blocks = || {
            range
                .clone()
                .step_by(SCORE_BLOCK)
                .map(move |j| j..(j + SCORE_BLOCK).min(end))
        };
        for b in blocks() {
            let scores = &mut scores[..b.len()];
            for (x, j) in scores.iter_mut().zip(b) {
                *x = score(j);
            }
            let m = scores.iter().copied().fold(max, f32::max);
            if m > max && sum > 0.0 {
                sum *= f64::from((max - m).exp());
            }
            max = m;
            sum += scores
                .iter()
                .map(|x| f64::from((x - max).exp()))
                .sum::<f64>();
        }
        let inv = (1.0 / sum) as f32;
        o.fill(0.0);
        for b in blocks() {
            let scores = &mut scores[..b.len()];
            for (x, j) in scores.iter_mut().zip(b.clone()) {
                *x = score(j);
            }
            for (x, j) in scores.iter().zip(b) {
                let p = half::f16::from_f32((x - max).exp() * inv).to_f32();
                axpy_f16(o, p, &cache.value(j)[g * hd..][..hd]);
            }
        }
    });
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
    let f32s = |rows: &[half::f16]| -> Result<Tensor, LocalError> {
        let mut v = vec![0f32; t * width];
        let mut at = 0;
        for r in cache.runs(first) {
            let src = &rows[r.start * width..r.end * width];
            v[at..at + src.len()]
                .par_chunks_mut(width * 64)
                .zip(src.par_chunks(width * 64))
                .for_each(|(d, s)| s.convert_to_f32_slice(d));
            at += src.len();
        }
        Ok(Tensor::from_vec(v, (t, nkv, hd), dev)?
            .transpose(0, 1)?
            .contiguous()?)
    };
    let (k, v) = (f32s(cache.key_rows())?, f32s(cache.value_rows())?);
    let g = nh / nkv;
    // ggml multiplies the f16 cache by the queries rounded to f16, and the
    // values by the attention weights rounded to f16: so does this.
    let f16 = |t: &Tensor| -> Result<Tensor, LocalError> {
        Ok(t.to_dtype(candle_core::DType::F16)?
            .to_dtype(candle_core::DType::F32)?)
    };
    let qg = f16(&q.reshape((nkv, g * l, hd))?)?;
    let scores = qg.matmul(&k.t()?)?; // [nkv, g*L, T]
    let scores = match s.mask(l, cache.start() + first, t) {
        Some(mask) => {
            let mask = Tensor::from_vec(mask, (l, t), dev)?;
            scores
                .reshape((nkv, g, l, t))?
                .broadcast_add(&mask)?
                .reshape((nkv, g * l, t))?
        }
        None => scores,
    };
    let probs = softmax_f16(scores)?;
    let out = probs.matmul(&v)?; // [nkv, g*L, hd]
    Ok(out.reshape((nh, l, hd))?)
}

/// Softmax over the last dimension as ggml computes it (the sum of the
/// exponentials in f64, then one reciprocal), each weight rounded to f16.
pub(super) fn softmax_f16(scores: Tensor) -> Result<Tensor, LocalError> {
    let (dims, dev) = (scores.dims().to_vec(), scores.device().clone());
    let t = *dims.last().expect("scores have a last dimension");
    let mut v = scores.flatten_all()?.to_vec1::<f32>()?;
    v.par_chunks_mut(t).for_each(|row| {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f64;
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum += f64::from(*x);
        }
        let inv = (1.0 / sum) as f32;
        for x in row.iter_mut() {
            *x = half::f16::from_f32(*x * inv).to_f32();
        }
    });
    Ok(Tensor::from_vec(v, dims, &dev)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::local::kv::SLIDING_SLACK;

    /// Key/value element `e` of position `p` (small, exact enough in f16).
    fn kv(p: usize, e: usize) -> (f32, f32) {
        let x = ((p * 7 + e * 3) % 17) as f32 / 17.0 - 0.5;
        (x, ((p * 5 + e) % 13) as f32 / 13.0)
    }

    /// Attention of one query at `p` over positions `lo..=p`, in f64 from
    /// the f16-rounded keys, values and query, with the normalized weights
    /// rounded to f16 (as ggml computes it).
    fn reference(q: &[f32], p: usize, lo: usize, hd: usize) -> Vec<f64> {
        let r = |x: f32| f64::from(half::f16::from_f32(x).to_f32());
        let scores: Vec<f64> = (lo..=p)
            .map(|j| (0..hd).map(|e| r(q[e]) * r(kv(j, e).0)).sum())
            .collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f64 = w.iter().sum();
        (0..hd)
            .map(|e| {
                (lo..=p)
                    .zip(&w)
                    .map(|(j, w)| r((w / sum) as f32) * r(kv(j, e).1))
                    .sum()
            })
            .collect()
    }

    /// The last position's attention, on the cache directly and as a chunk,
    /// against the reference.
    fn check(cache: &LayerCache, window: usize, hd: usize) {
        let q: Vec<f32> = (0..hd).map(|e| 0.3 * e as f32 - 0.4).collect();
        let last = cache.end() - 1;
        let shape = Shape {
            n_head: 1,
            n_kv: 1,
            head_dim: hd,
            qpos: last,
            window: Some(window),
            spans: Vec::new(),
        };
        let want = reference(&q, last, (last + 1).saturating_sub(window), hd);
        let mut got = vec![0f32; hd];
        direct(&q, cache, &shape, &mut got);
        let qt = Tensor::from_vec(q, (1, 1, hd), &Device::Cpu).unwrap();
        let chunked: Vec<f32> = chunk(&qt, cache, &shape, &Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for e in 0..hd {
            assert!(
                (f64::from(got[e]) - want[e]).abs() < 1e-5,
                "direct {e} at {last}"
            );
            assert!(
                (f64::from(chunked[e]) - want[e]).abs() < 1e-5,
                "chunk {e} at {last}"
            );
        }
    }

    #[test]
    fn a_wrapped_sliding_ring_attends_to_exactly_the_window() {
        let (hd, window) = (4, 6);
        let mut cache = LayerCache::new(Some(window));
        let total = window + SLIDING_SLACK + 600;
        let mut p = 0;
        while p < total {
            let l = 1 + p % 5;
            let (k, v): (Vec<f32>, Vec<f32>) = (p..p + l)
                .flat_map(|j| (0..hd).map(move |e| kv(j, e)))
                .unzip();
            cache.append(&k, &v, hd);
            p += l;
            // Every position past the first drop: the window lies across
            // the ring's end at some of them.
            if cache.start() > 0 || p % 97 < 5 {
                check(&cache, window, hd);
            }
        }
        assert!(cache.start() > 0, "the ring has dropped entries");
    }
}
