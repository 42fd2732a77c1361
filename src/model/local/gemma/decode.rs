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

/// The decode step's buffers, each as wide as the widest layer needs, for
/// up to `rows` tokens at once (one when decoding; a drafted run when
/// verifying it).
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
    /// The last step's logits: one row of the vocabulary per token it ran
    /// (the first row is the only one after a single-token step).
    pub logits: Vec<f32>,
    /// Widths per token: hidden, q, kv, ffn, rope half, vocabulary.
    widths: [usize; 6],
    rows: usize,
}

impl Scratch {
    /// Room for steps of up to `rows` tokens (grows once; never shrinks).
    pub fn reserve_rows(&mut self, rows: usize) {
        if rows <= self.rows {
            return;
        }
        let [hidden, q, kv, ffn, half, vocab] = self.widths;
        for (b, w) in [
            (&mut self.x, hidden),
            (&mut self.h, hidden),
            (&mut self.o, hidden),
            (&mut self.q, q),
            (&mut self.attn, q),
            (&mut self.k, kv),
            (&mut self.v, kv),
            (&mut self.gate, ffn),
            (&mut self.up, ffn),
            (&mut self.cos, half),
            (&mut self.sin, half),
            (&mut self.logits, vocab),
        ] {
            b.resize(w * rows, 0.0);
        }
        self.acts.reserve(hidden.max(q).max(ffn) * rows);
        self.rows = rows;
    }

    /// The hidden state after token `i` of the last step (after the final
    /// norm: what a Gemma 4 MTP assistant drafts from).
    pub fn hidden_row(&self, i: usize) -> &[f32] {
        let hidden = self.widths[0];
        &self.x[i * hidden..(i + 1) * hidden]
    }

    /// The logits after token `i` of the last step.
    pub fn logits_row(&mut self, i: usize) -> &mut [f32] {
        let vocab = self.widths[5];
        &mut self.logits[i * vocab..(i + 1) * vocab]
    }
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
        let mut s = Scratch {
            x: Vec::new(),
            h: Vec::new(),
            q: Vec::new(),
            k: Vec::new(),
            v: Vec::new(),
            attn: Vec::new(),
            o: Vec::new(),
            gate: Vec::new(),
            up: Vec::new(),
            cos: Vec::new(),
            sin: Vec::new(),
            acts: ActBuf::default(),
            logits: Vec::new(),
            widths: [hidden, q, kv, ffn, half, self.output_rows],
            rows: 0,
        };
        s.reserve_rows(1);
        s
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
        self.decode_many(&[token], cache, s)
    }

    /// Runs `tokens` at the next positions of `cache`, as `decode` would run
    /// them one after another, and to the same bits: every product gives
    /// each token what the one-token kernel gives it (the weights are read
    /// once for all of them), everything else is the same per-token code.
    /// The logits after token `i` are left in `s.logits_row(i)`. This is how
    /// a drafted run is verified.
    pub fn decode_many(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        s: &mut Scratch,
    ) -> Result<(), LocalError> {
        assert!(self.device.is_cpu(), "decode runs on the CPU");
        assert!(!tokens.is_empty());
        s.reserve_rows(tokens.len());
        // On the compute pool (see `forward`).
        rayon::scope(|_| self.decode_here(tokens, cache, s))
    }

    fn decode_here(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        s: &mut Scratch,
    ) -> Result<(), LocalError> {
        let t = tokens.len();
        let [hidden, _, _, _, _, vocab] = s.widths;
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
            ..
        } = s;
        acts.per_token = true;
        let eps = self.cfg.eps as f32;
        let pos = cache.tokens.len();
        let (x, h, o) = (
            &mut x[..t * hidden],
            &mut h[..t * hidden],
            &mut o[..t * hidden],
        );
        let scale = (self.cfg.hidden as f64).sqrt() as f32;
        for (&token, x) in tokens.iter().zip(x.chunks_mut(hidden)) {
            embed_row(&self.embed, token, x)?;
            x.iter_mut().for_each(|v| *v *= scale);
        }
        let attn_scale = self.cfg.attn_scale as f32;
        let table = gelu_table();
        for (layer, lcache) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let (lc, lv) = (&layer.cfg, &layer.values);
            let (nh, nkv, hd) = (lc.n_head, lc.n_kv_head, lc.head_dim);
            let (q, k, v) = (
                &mut q[..t * nh * hd],
                &mut k[..t * nkv * hd],
                &mut v[..t * nkv * hd],
            );
            for (x, h) in x.chunks(hidden).zip(h.chunks_mut(hidden)) {
                rms_norm(x, &lv.attn_norm, eps, h);
            }
            match &layer.wv {
                Some(wv) => {
                    Linear::forward_into(&[&layer.wq, &layer.wk, wv], h, t, &mut [q, k, v], acts)?
                }
                None => {
                    Linear::forward_into(&[&layer.wq, &layer.wk], h, t, &mut [q, k], acts)?;
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
            for i in 0..t {
                let (cos, sin) = (&mut cos[..half], &mut sin[..half]);
                rope_angles(lc, &lv.inv_freq, pos + i, cos, sin);
                q[i * nh * hd..(i + 1) * nh * hd]
                    .chunks_mut(hd)
                    .for_each(|r| rope(r, cos, sin));
                k[i * nkv * hd..(i + 1) * nkv * hd]
                    .chunks_mut(hd)
                    .for_each(|r| rope(r, cos, sin));
            }
            q.iter_mut().for_each(|v| *v *= attn_scale);
            lcache.append(k, v, nkv * hd);
            let shape = self.attention_shape(lc, pos);
            let attn = &mut attn[..t * nh * hd];
            attention::direct(q, lcache, &shape, attn);
            Linear::forward_into(&[&layer.wo], attn, t, &mut [o], acts)?;
            for (o, x) in o.chunks_mut(hidden).zip(x.chunks_mut(hidden)) {
                rms_norm_in_place(o, &lv.post_attn_norm, eps);
                add(x, o);
            }
            for (x, h) in x.chunks(hidden).zip(h.chunks_mut(hidden)) {
                rms_norm(x, &lv.ffn_norm, eps, h);
            }
            let (gate, up) = (&mut gate[..t * lc.ffn], &mut up[..t * lc.ffn]);
            Linear::forward_into(&[&layer.gate, &layer.up], h, t, &mut [gate, up], acts)?;
            for (g, u) in gate.iter_mut().zip(up.iter()) {
                *g = gelu_lookup(table, *g) * u;
            }
            Linear::forward_into(&[&layer.down], gate, t, &mut [o], acts)?;
            for (o, x) in o.chunks_mut(hidden).zip(x.chunks_mut(hidden)) {
                rms_norm_in_place(o, &lv.post_ffn_norm, eps);
                add(x, o);
                match lv.out_scale.as_deref() {
                    Some([s]) => x.iter_mut().for_each(|v| *v *= s),
                    Some(s) => x.iter_mut().zip(s).for_each(|(v, s)| *v *= s),
                    None => {}
                }
            }
        }
        cache.tokens.extend_from_slice(tokens);
        x.chunks_mut(hidden)
            .for_each(|x| rms_norm_in_place(x, &self.final_norm_values, eps));
        let logits = &mut logits[..t * vocab];
        Linear::forward_into(&[&self.output], x, t, &mut [logits], acts)?;
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
pub(super) fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let m = rms(x, eps);
    for ((o, x), w) in out.iter_mut().zip(x).zip(w) {
        *o = x / m * w;
    }
}

pub(super) fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
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
pub(super) fn rope(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = cos.len();
    let (a, b) = x[..2 * half].split_at_mut(half);
    for (((a, b), c), s) in a.iter_mut().zip(b).zip(cos).zip(sin) {
        (*a, *b) = (*a * c - *b * s, *a * s + *b * c);
    }
}

pub(super) fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
}

/// Row `token` of the embedding table, dequantized into `out`.
pub(super) fn embed_row(t: &QTensor, token: u32, out: &mut [f32]) -> Result<(), LocalError> {
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
