//! The forward pass where the model computes: every step built from candle
//! tensor operations that CUDA, Metal and candle's CPU backend all have
//! (quantized matmul, RMS norm, RoPE, matmul, softmax), with the key/value
//! cache resident beside the weights (device_kv.rs) and the RoPE tables
//! too. Attention reads only the entries some query of the step sees, so a
//! decoding step needs no mask: what crosses to the device per step is the
//! token ids (and a prefill chunk's mask per cache layout); what comes back
//! is the logits. On the CPU backend it is checked against the CPU kernel
//! path (`Gemma::forward`).
//!
//! The arithmetic follows the CPU path's (and so ggml's): queries and
//! attention weights rounded to f16 before their products with the f16
//! cache, scores in f32; the softmax is ggml's (f64 sums) on the CPU
//! backend and the backend's own kernel on a GPU. A decoding step on Metal
//! takes candle-nn's fused attention kernel instead (f16 in, f32 sums, as
//! ggml's Metal flash attention).

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{DType, Tensor};

use super::super::LocalError;
use super::super::media::MediaSet;
use super::device_kv::{DeviceCache, Layout};
use super::{Gemma, Layer, spans_at};

/// The attention mask of one layout, built once per step (`None`: every
/// query sees every key of the view).
struct Mask {
    layout: Layout,
    mask: Option<Tensor>,
}

/// Positions a RoPE table starts with; it doubles as the cache grows.
const FIRST_ROPE_ROWS: usize = 1024;

/// cos/sin tables `[positions, n_rot/2]` resident on the device, one per
/// kind of rotation (the first layer of the kind names it): a step takes
/// its rows as a view, so nothing is uploaded per step.
#[derive(Default)]
pub struct RopeTables(Vec<(usize, Tensor, Tensor)>);

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
        super::device_step::other_work();
        let l = tokens.len();
        let pos = cache.tokens.len();
        let spans = spans_at(tokens, media, pos);
        let mut x = self.inputs(tokens, media)?;
        let mut masks: Vec<Mask> = Vec::new();
        for (i, (layer, lcache)) in self.layers.iter().zip(cache.layers.iter_mut()).enumerate() {
            let (q, k, v) = self.qkv(layer, &x)?;
            let (cos, sin) = self.rope_rows(&mut cache.ropes, i, pos, l)?;
            let (q, k) = self.rotate(&q, &k, &cos, &sin)?;
            lcache.append(&k, &v)?;
            let mut shape = self.attention_shape(&layer.cfg, pos);
            // The keys some query of the step sees, in position order.
            let first = shape.first_seen(pos, lcache.start());
            let (kc, vc) = lcache.view_from(first)?;
            let layout = lcache.layout();
            let mask = match masks.iter().find(|m| m.layout == layout) {
                Some(m) => m.mask.clone(),
                None => {
                    shape.spans.clone_from(&spans);
                    let t = kc.dim(1)?;
                    let mask = match shape.mask(l, first, t) {
                        Some(m) => Some(Tensor::from_vec(m, (l, t), x.device())?),
                        None => None,
                    };
                    masks.push(Mask {
                        layout,
                        mask: mask.clone(),
                    });
                    mask
                }
            };
            let attn = match mask {
                None if fused_here(&q)? => attend_fused(&q, &kc, &vc)?,
                _ => attend(&q, &kc, &vc, mask.as_ref())?,
            }; // [L, nh * hd]
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

impl Gemma {
    /// The rows of layer `i`'s RoPE tables for positions `pos..pos + l`.
    fn rope_rows(
        &self,
        tables: &mut RopeTables,
        i: usize,
        pos: usize,
        l: usize,
    ) -> Result<(Tensor, Tensor), LocalError> {
        let (c, s) = self.rope_table(tables, i, pos + l)?;
        Ok((c.narrow(0, pos, l)?, s.narrow(0, pos, l)?))
    }

    /// Layer `i`'s whole RoPE tables, holding at least positions
    /// `0..rows`: made (or doubled) on the device first where they fall
    /// short.
    pub(super) fn rope_table(
        &self,
        tables: &mut RopeTables,
        i: usize,
        rows: usize,
    ) -> Result<(Tensor, Tensor), LocalError> {
        let layer = &self.layers[i];
        let at = tables
            .0
            .iter()
            .position(|(j, _, _)| same_rotation(&self.layers[*j], layer));
        let short = at.is_none_or(|a| tables.0[a].1.dim(0).is_ok_and(|n| n < rows));
        if short {
            let rows = rows.next_power_of_two().max(FIRST_ROPE_ROWS);
            let (c, s) = self.rope_tables(layer, 0, rows)?;
            match at {
                Some(a) => tables.0[a] = (i, c, s),
                None => tables.0.push((i, c, s)),
            }
        }
        let (_, c, s) = &tables.0[at.unwrap_or(tables.0.len() - 1)];
        Ok((c.clone(), s.clone()))
    }
}

/// Whether a step's queries `[L, heads, hd]` take the backend's fused
/// attention: Metal's (candle-nn's `sdpa`) for one query, whose kernel
/// reads the f16 cache as it is (head sizes 32 to 512).
fn fused_here(q: &Tensor) -> Result<bool, LocalError> {
    let (l, _, hd) = q.dims3()?;
    Ok(q.device().is_metal() && l == 1 && [32, 64, 72, 80, 96, 128, 256, 512].contains(&hd))
}

/// One query's attention through the fused kernel: `q` `[1, heads, hd]`
/// (already scaled) over the f16 keys and values `[kv heads, n, hd]`, every
/// key seen. The generic path where the kernel declines (logged).
fn attend_fused(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor, LocalError> {
    let (l, nh, hd) = q.dims3()?;
    let fused = || -> candle_core::Result<Tensor> {
        let q = q
            .to_dtype(DType::F16)?
            .transpose(0, 1)?
            .contiguous()?
            .unsqueeze(0)?;
        let out = candle_nn::ops::sdpa(
            &q,
            &k.unsqueeze(0)?,
            &v.unsqueeze(0)?,
            None,
            false,
            1.0,
            1.0,
        )?;
        out.squeeze(0)?
            .transpose(0, 1)?
            .contiguous()?
            .reshape((l, nh * hd))?
            .to_dtype(DType::F32)
    };
    fused().or_else(|e| {
        static SAID: AtomicBool = AtomicBool::new(false);
        if !SAID.swap(true, Ordering::Relaxed) {
            tracing::warn!("the fused attention kernel declined ({e}); the generic one runs");
        }
        attend(q, k, v, None)
    })
}

/// Rounded to f16 and back, as ggml rounds queries and attention weights.
fn f16_rounded(t: &Tensor) -> Result<Tensor, LocalError> {
    Ok(t.to_dtype(DType::F16)?.to_dtype(DType::F32)?)
}

/// Attention of queries `q` `[L, heads, hd]` over the f16 keys and values
/// `[kv heads, n, hd]` under `mask` `[L, n]` (none: all seen): `[L, heads *
/// hd]`.
pub(super) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
) -> Result<Tensor, LocalError> {
    let (l, nh, hd) = q.dims3()?;
    let (nkv, n, _) = k.dims3()?;
    let g = nh / nkv;
    let q = f16_rounded(&q.transpose(0, 1)?.contiguous()?.reshape((nkv, g * l, hd))?)?;
    let (k, v) = (k.to_dtype(DType::F32)?, v.to_dtype(DType::F32)?);
    let scores = q.matmul(&k.t()?)?; // [nkv, g*L, n]
    let scores = match mask {
        Some(mask) => scores
            .reshape((nkv, g, l, n))?
            .broadcast_add(mask)?
            .reshape((nkv, g * l, n))?,
        None => scores,
    };
    // On the CPU backend, ggml's softmax (f64 sum, one reciprocal), as the
    // CPU path computes it: candle's sums in f32 and divides, a last-bit
    // difference the quantized small model turns into logit differences
    // near 1 (measured). On a GPU, the backend's own kernel.
    let probs = if scores.device().is_cpu() {
        super::super::attention::softmax_f16(scores)?
    } else {
        f16_rounded(&candle_nn::ops::softmax_last_dim(&scores)?)?
    };
    let out = probs.matmul(&v)?; // [nkv, g*L, hd]
    Ok(out
        .reshape((nh, l, hd))?
        .transpose(0, 1)?
        .contiguous()?
        .reshape((l, nh * hd))?)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};

    /// Where the fused kernel declines (here: candle's CPU backend has
    /// none), a step gets the generic attention's result.
    #[test]
    fn a_declined_fused_kernel_leaves_the_generic_attention() {
        let dev = Device::Cpu;
        let q = Tensor::randn(0f32, 1.0, (1, 4, 32), &dev).unwrap();
        let kv = |s: f32| {
            (Tensor::randn(0f32, s, (2, 5, 32), &dev).unwrap())
                .to_dtype(DType::F16)
                .unwrap()
        };
        let (k, v) = (kv(1.0), kv(0.5));
        let fused = super::attend_fused(&q, &k, &v).unwrap();
        let generic = super::attend(&q, &k, &v, None).unwrap();
        assert_eq!(fused.dims(), [1, 128]);
        let diff = (fused - generic).unwrap().abs().unwrap();
        assert_eq!(diff.max_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
