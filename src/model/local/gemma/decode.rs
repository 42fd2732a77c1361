//! One decoding step on the CPU over buffers allocated once per model
//! (`Scratch`): `Gemma::forward`'s graph for a single token, written out on
//! slices so that a step allocates nothing. The products write into the
//! scratch buffers (activations quantized into a reused buffer), the norms,
//! RoPE, GELU and residuals run in place, attention keeps its scores on the
//! stack, and the logits land in a buffer reused from step to step.

use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K,
    BlockQ8_0, BlockQ8_1, BlockQ8K, GgmlType,
};
use candle_core::quantized::{GgmlDType, QTensor};

use super::super::LocalError;
use super::super::attention;
use super::super::config::Arch;
use super::super::kernels::ActBuf;
use super::super::kv::KvCache;
use super::super::linear::Linear;
use super::{Gemma, gelu_lookup, gelu_table, rope_angles};

/// The decode step's buffers, each as wide as the widest layer needs.
pub struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    o: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    acts: ActBuf,
    /// The last step's logits.
    pub logits: Vec<f32>,
}

impl Gemma {
    /// Buffers for `decode`.
    pub fn scratch(&self) -> Scratch {
        let most = |f: &dyn Fn(&super::LayerConfig) -> usize| {
            self.cfg.layers.iter().map(f).max().unwrap_or(0)
        };
        let q = most(&|l| l.n_head * l.head_dim);
        let kv = most(&|l| l.n_kv_head * l.head_dim);
        let ffn = most(&|l| l.ffn);
        let half = most(&|l| l.n_rot / 2);
        let hidden = self.cfg.hidden;
        Scratch {
            x: vec![0.0; hidden],
            h: vec![0.0; hidden],
            q: vec![0.0; q],
            k: vec![0.0; kv],
            v: vec![0.0; kv],
            attn: vec![0.0; q],
            o: vec![0.0; hidden],
            gate: vec![0.0; ffn],
            up: vec![0.0; ffn],
            cos: vec![0.0; half],
            sin: vec![0.0; half],
            acts: ActBuf::default(),
            logits: vec![0.0; self.output_rows],
        }
    }

    /// Whether `decode` runs here (the CPU; GPU devices use `forward`).
    pub fn decodes_on_cpu(&self) -> bool {
        self.device.is_cpu()
    }

    /// Runs `token` at the next position of `cache`, extending it; the
    /// logits for the position after it are left in `s.logits`. Allocates
    /// nothing once `s` and the cache have grown (every weight in a format
    /// locus's kernels cover; see `KvCache::reserve`).
    pub fn decode(
        &self,
        token: u32,
        cache: &mut KvCache,
        s: &mut Scratch,
    ) -> Result<(), LocalError> {
        assert!(self.device.is_cpu(), "decode runs on the CPU");
        // On the compute pool (see `forward`).
        rayon::scope(|_| self.decode_here(token, cache, s))
    }

    fn decode_here(
        &self,
        token: u32,
        cache: &mut KvCache,
        s: &mut Scratch,
    ) -> Result<(), LocalError> {
        let Scratch {
            x,
            h,
            q,
            k,
            v,
            attn,
            o,
            gate,
            up,
            cos,
            sin,
            acts,
            logits,
        } = s;
        let eps = self.cfg.eps as f32;
        let pos = cache.tokens.len();
        embed_row(&self.embed, token, x)?;
        let scale = (self.cfg.hidden as f64).sqrt() as f32;
        x.iter_mut().for_each(|v| *v *= scale);
        let attn_scale = self.cfg.attn_scale as f32;
        let table = gelu_table();
        for (layer, lcache) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let (lc, lv) = (&layer.cfg, &layer.values);
            let (nh, nkv, hd) = (lc.n_head, lc.n_kv_head, lc.head_dim);
            let (q, k, v) = (&mut q[..nh * hd], &mut k[..nkv * hd], &mut v[..nkv * hd]);
            rms_norm(x, &lv.attn_norm, eps, h);
            match &layer.wv {
                Some(wv) => {
                    Linear::forward_into(&[&layer.wq, &layer.wk, wv], h, 1, &mut [q, k, v], acts)?
                }
                None => {
                    Linear::forward_into(&[&layer.wq, &layer.wk], h, 1, &mut [q, k], acts)?;
                    v.copy_from_slice(k);
                }
            }
            q.chunks_mut(hd)
                .for_each(|r| rms_norm_in_place(r, &lv.q_norm, eps));
            k.chunks_mut(hd)
                .for_each(|r| rms_norm_in_place(r, &lv.k_norm, eps));
            if self.cfg.arch == Arch::Gemma4 {
                v.chunks_mut(hd).for_each(|r| rms_norm_plain(r, eps));
            }
            let half = lv.inv_freq.len();
            let (cos, sin) = (&mut cos[..half], &mut sin[..half]);
            rope_angles(lc, &lv.inv_freq, pos, cos, sin);
            q.chunks_mut(hd).for_each(|r| rope(r, cos, sin));
            k.chunks_mut(hd).for_each(|r| rope(r, cos, sin));
            q.iter_mut().for_each(|v| *v *= attn_scale);
            lcache.append(k, v, nkv * hd);
            let shape = self.attention_shape(lc, pos);
            let attn = &mut attn[..nh * hd];
            attention::direct(q, lcache, &shape, attn);
            Linear::forward_into(&[&layer.wo], attn, 1, &mut [o], acts)?;
            rms_norm_in_place(o, &lv.post_attn_norm, eps);
            add(x, o);
            rms_norm(x, &lv.ffn_norm, eps, h);
            let (gate, up) = (&mut gate[..lc.ffn], &mut up[..lc.ffn]);
            Linear::forward_into(&[&layer.gate, &layer.up], h, 1, &mut [gate, up], acts)?;
            for (g, u) in gate.iter_mut().zip(up.iter()) {
                *g = gelu_lookup(table, *g) * u;
            }
            Linear::forward_into(&[&layer.down], gate, 1, &mut [o], acts)?;
            rms_norm_in_place(o, &lv.post_ffn_norm, eps);
            add(x, o);
            match lv.out_scale.as_deref() {
                Some([s]) => x.iter_mut().for_each(|v| *v *= s),
                Some(s) => x.iter_mut().zip(s).for_each(|(v, s)| *v *= s),
                None => {}
            }
        }
        cache.tokens.push(token);
        rms_norm_in_place(x, &self.final_norm_values, eps);
        Linear::forward_into(&[&self.output], x, 1, &mut [logits], acts)?;
        if let Some(cap) = self.cfg.final_softcap {
            let (inv, cap) = ((1.0 / cap) as f32, cap as f32);
            logits.iter_mut().for_each(|l| *l = (*l * inv).tanh() * cap);
        }
        Ok(())
    }
}

/// The root mean square of `x` with `eps` (candle's rms_norm divides by it).
fn rms(x: &[f32], eps: f32) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32 + eps).sqrt()
}

/// `out = x / rms(x) * w` (candle's rms_norm, on one row).
fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let m = rms(x, eps);
    for ((o, x), w) in out.iter_mut().zip(x).zip(w) {
        *o = x / m * w;
    }
}

fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    let m = rms(x, eps);
    for (x, w) in x.iter_mut().zip(w) {
        *x = *x / m * w;
    }
}

/// RMS norm without a weight (Gemma 4's value norm).
fn rms_norm_plain(x: &mut [f32], eps: f32) {
    let m = rms(x, eps);
    x.iter_mut().for_each(|v| *v /= m);
}

/// NEOX RoPE on one head: dimension `i` pairs with `i + n_rot/2`; the
/// dimensions past `n_rot` are left as they are.
fn rope(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = cos.len();
    let (a, b) = x[..2 * half].split_at_mut(half);
    for (((a, b), c), s) in a.iter_mut().zip(b).zip(cos).zip(sin) {
        (*a, *b) = (*a * c - *b * s, *a * s + *b * c);
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
}

/// Row `token` of the embedding table, dequantized into `out`.
fn embed_row(t: &QTensor, token: u32, out: &mut [f32]) -> Result<(), LocalError> {
    let (rows, cols) = t.shape().dims2()?;
    let row = token as usize;
    if row >= rows {
        return Err(candle_core::Error::Msg(format!(
            "token {token} is outside the vocabulary of {rows}"
        ))
        .into());
    }
    let dt = t.dtype();
    let bytes = cols / dt.block_size() * dt.type_size();
    let data = t.data()?;
    let r = &data[row * bytes..(row + 1) * bytes];
    match dt {
        GgmlDType::F32 => dequantize::<f32>(r, out),
        GgmlDType::F16 => dequantize::<half::f16>(r, out),
        GgmlDType::BF16 => dequantize::<half::bf16>(r, out),
        GgmlDType::Q4_0 => dequantize::<BlockQ4_0>(r, out),
        GgmlDType::Q4_1 => dequantize::<BlockQ4_1>(r, out),
        GgmlDType::Q5_0 => dequantize::<BlockQ5_0>(r, out),
        GgmlDType::Q5_1 => dequantize::<BlockQ5_1>(r, out),
        GgmlDType::Q8_0 => dequantize::<BlockQ8_0>(r, out),
        GgmlDType::Q8_1 => dequantize::<BlockQ8_1>(r, out),
        GgmlDType::Q2K => dequantize::<BlockQ2K>(r, out),
        GgmlDType::Q3K => dequantize::<BlockQ3K>(r, out),
        GgmlDType::Q4K => dequantize::<BlockQ4K>(r, out),
        GgmlDType::Q5K => dequantize::<BlockQ5K>(r, out),
        GgmlDType::Q6K => dequantize::<BlockQ6K>(r, out),
        GgmlDType::Q8K => dequantize::<BlockQ8K>(r, out),
    }
    Ok(())
}

/// The blocks in `bytes` (a row of a CPU tensor, whose storage is a vector
/// of such blocks) to f32.
fn dequantize<T: GgmlType>(bytes: &[u8], out: &mut [f32]) {
    let size = std::mem::size_of::<T>();
    assert!(
        bytes.len().is_multiple_of(size)
            && bytes.as_ptr().align_offset(std::mem::align_of::<T>()) == 0
    );
    // SAFETY: the bytes are whole, aligned blocks of `T` (a plain-data block
    // type) inside the tensor's storage, which outlives this borrow.
    let blocks =
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size) };
    T::to_float(blocks, out);
}
