//! CPU matrix multiplication for quantized weights, written for the formats
//! real Gemma GGUFs use (Q4_K, Q5_K, Q6_K, Q5_0, Q8_0, F16, BF16): the
//! activations are quantized to 8 bits once per call and every output is an
//! integer dot product (as llama.cpp computes them), SIMD when the CPU has it
//! (chosen at run time, so one binary is fast on every x86-64 and safe on
//! any), rows shared out over the compute threads, and a prompt's tokens
//! taken in tiles so a weight row is read once for many of them.

pub mod act;
#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod scalar;
mod unpack;

use std::sync::OnceLock;

use candle_core::quantized::{GgmlDType, QTensor};
use rayon::prelude::*;

use act::{A32, A256};

/// Which implementation the dot products run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    Avx2,
}

/// The best implementation this CPU supports; `LOCUS_KERNELS=scalar` forces
/// the portable one (for comparisons).
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        if std::env::var("LOCUS_KERNELS").is_ok_and(|v| v == "scalar") {
            return Isa::Scalar;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            return Isa::Avx2;
        }
        Isa::Scalar
    })
}

/// Whether locus's own kernels are used at all (`LOCUS_KERNELS=candle` keeps
/// candle's, for comparisons).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| !std::env::var("LOCUS_KERNELS").is_ok_and(|v| v == "candle"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Q4K,
    Q5K,
    Q6K,
    Q5_0,
    Q8_0,
    F16,
    BF16,
}

impl Format {
    pub fn of(d: GgmlDType) -> Option<Format> {
        Some(match d {
            GgmlDType::Q4K => Format::Q4K,
            GgmlDType::Q5K => Format::Q5K,
            GgmlDType::Q6K => Format::Q6K,
            GgmlDType::Q5_0 => Format::Q5_0,
            GgmlDType::Q8_0 => Format::Q8_0,
            GgmlDType::F16 => Format::F16,
            GgmlDType::BF16 => Format::BF16,
            _ => return None,
        })
    }

    /// (values, bytes) of one block.
    pub fn block(self) -> (usize, usize) {
        match self {
            Format::Q4K => (256, 144),
            Format::Q5K => (256, 176),
            Format::Q6K => (256, 210),
            Format::Q5_0 => (32, 22),
            Format::Q8_0 => (32, 34),
            Format::F16 | Format::BF16 => (1, 2),
        }
    }
}

/// A quantized weight matrix [rows, cols] in CPU memory, multiplied by
/// locus's kernels.
pub struct QWeight {
    tensor: std::sync::Arc<QTensor>,
    pub format: Format,
    pub rows: usize,
    pub cols: usize,
    row_bytes: usize,
}

/// Output rows computed for this many tokens before moving to the next rows,
/// so a row stays in cache while the tokens' activations stream past.
const TOKEN_TILE: usize = 64;

type Kernel4<A> = unsafe fn(&[u8], [&[A]; 4]) -> [f32; 4];

struct OutPtr(*mut f32);
// SAFETY: each task writes a disjoint set of output elements.
unsafe impl Sync for OutPtr {}
unsafe impl Send for OutPtr {}

impl QWeight {
    /// `None` when the tensor is not on the CPU, is not 2-D, or its format has
    /// no kernel here (the caller then uses candle's).
    pub fn new(tensor: std::sync::Arc<QTensor>) -> Option<QWeight> {
        if !tensor.device().is_cpu() || !enabled() {
            return None;
        }
        let format = Format::of(tensor.dtype())?;
        let (rows, cols) = tensor.shape().dims2().ok()?;
        let (bv, bb) = format.block();
        if cols % bv != 0 {
            return None;
        }
        let row_bytes = cols / bv * bb;
        if tensor.storage_size_in_bytes() != rows * row_bytes {
            return None;
        }
        Some(QWeight {
            tensor,
            format,
            rows,
            cols,
            row_bytes,
        })
    }

    /// `x` holds `t` rows of `cols` values; returns `t` rows of `rows` values.
    pub fn matmul(&self, x: &[f32], t: usize) -> Vec<f32> {
        assert_eq!(x.len(), t * self.cols, "activation shape");
        let data = self.tensor.data().expect("CPU tensors expose their bytes");
        let w: &[u8] = &data;
        let simd = isa() == Isa::Avx2;
        #[cfg(target_arch = "x86_64")]
        if simd && t >= 4 && matches!(self.format, Format::Q5_0 | Format::Q8_0) {
            let acts = quantize_rows(x, self.cols, t, act::quantize_a32);
            return self.drive_unpacked(w, &acts, t);
        }
        match self.format {
            Format::Q4K | Format::Q5K | Format::Q6K => {
                let acts = quantize_rows(x, self.cols, t, act::quantize_a256);
                let f: unsafe fn(&[u8], &[A256]) -> f32 = match (self.format, simd) {
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q4K, true) => avx2::q45k::<false>,
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q5K, true) => avx2::q45k::<true>,
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q6K, true) => avx2::q6k,
                    (Format::Q4K, _) => scalar::q45k::<false>,
                    (Format::Q5K, _) => scalar::q45k::<true>,
                    _ => scalar::q6k,
                };
                let f4: Option<Kernel4<A256>> = match (self.format, simd) {
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q4K, true) => Some(avx2::q45k_n::<false, 4>),
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q5K, true) => Some(avx2::q45k_n::<true, 4>),
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q6K, true) => Some(avx2::q6k_n::<4>),
                    _ => None,
                };
                self.drive(w, &acts, self.cols / 256, t, f, f4)
            }
            Format::Q5_0 | Format::Q8_0 => {
                let acts = quantize_rows(x, self.cols, t, act::quantize_a32);
                let f: unsafe fn(&[u8], &[A32]) -> f32 = match (self.format, simd) {
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q5_0, true) => avx2::q5_0,
                    #[cfg(target_arch = "x86_64")]
                    (Format::Q8_0, true) => avx2::q8_0,
                    (Format::Q5_0, _) => scalar::q5_0,
                    _ => scalar::q8_0,
                };
                self.drive(w, &acts, self.cols / 32, t, f, None)
            }
            Format::F16 | Format::BF16 => {
                let f: unsafe fn(&[u8], &[f32]) -> f32 = match (self.format, simd) {
                    #[cfg(target_arch = "x86_64")]
                    (Format::F16, true) => avx2::f16_row,
                    #[cfg(target_arch = "x86_64")]
                    (Format::BF16, true) => avx2::bf16_row,
                    (Format::F16, _) => scalar::f16_row,
                    _ => scalar::bf16_row,
                };
                self.drive(w, x, self.cols, t, f, None)
            }
        }
    }

    /// `f` computes one row with one token; `f4`, when given, one row with
    /// four tokens (the prompt kernels).
    fn drive<A: Sync>(
        &self,
        w: &[u8],
        acts: &[A],
        per_row: usize,
        t: usize,
        f: unsafe fn(&[u8], &[A]) -> f32,
        f4: Option<Kernel4<A>>,
    ) -> Vec<f32> {
        let rows = self.rows;
        let mut out = vec![0f32; t * rows];
        let ptr = OutPtr(out.as_mut_ptr());
        let threads = rayon::current_num_threads().max(1);
        let chunk = rows.div_ceil(threads * 4).clamp(8, 4096);
        let work = |c: usize| {
            let ptr = &ptr;
            let (r0, r1) = (c * chunk, ((c + 1) * chunk).min(rows));
            let a = |ti: usize| &acts[ti * per_row..(ti + 1) * per_row];
            for tb in (0..t).step_by(TOKEN_TILE) {
                let te = (tb + TOKEN_TILE).min(t);
                for r in r0..r1 {
                    let wr = &w[r * self.row_bytes..(r + 1) * self.row_bytes];
                    // SAFETY (this and the calls below): the kernels are SIMD
                    // ones only when `isa()` found the CPU features; `wr` and
                    // the activations hold matching whole blocks. The output
                    // index is inside `out` and written by this task alone
                    // (rows r0..r1).
                    let put = |ti: usize, v: f32| unsafe { *ptr.0.add(ti * rows + r) = v };
                    let mut ti = tb;
                    if let Some(f4) = f4 {
                        while ti + 4 <= te {
                            let v = unsafe { f4(wr, [a(ti), a(ti + 1), a(ti + 2), a(ti + 3)]) };
                            for (k, v) in v.into_iter().enumerate() {
                                put(ti + k, v);
                            }
                            ti += 4;
                        }
                    }
                    for ti in ti..te {
                        put(ti, unsafe { f(wr, a(ti)) });
                    }
                }
            }
        };
        let tasks = rows.div_ceil(chunk);
        if tasks == 1 || threads == 1 {
            (0..tasks).for_each(work);
        } else {
            (0..tasks).into_par_iter().for_each(work);
        }
        out
    }
}

impl QWeight {
    /// Prompt processing: each row is unpacked once per tile of tokens and
    /// multiplied with four tokens at a time.
    #[cfg(target_arch = "x86_64")]
    fn drive_unpacked(&self, w: &[u8], acts: &[A32], t: usize) -> Vec<f32> {
        let rows = self.rows;
        let per_row = self.cols / 32;
        let mut out = vec![0f32; t * rows];
        let ptr = OutPtr(out.as_mut_ptr());
        let threads = rayon::current_num_threads().max(1);
        let chunk = rows.div_ceil(threads * 4).clamp(8, 4096);
        let chunk = chunk.next_multiple_of(2);
        let work = |c: usize| {
            let ptr = &ptr;
            let (mut row, mut row2) = (unpack::Row::default(), unpack::Row::default());
            let (r0, r1) = (c * chunk, ((c + 1) * chunk).min(rows));
            let a = |ti: usize| &acts[ti * per_row..(ti + 1) * per_row];
            let wrow = |r: usize| &w[r * self.row_bytes..(r + 1) * self.row_bytes];
            for tb in (0..t).step_by(UNPACKED_TILE) {
                let te = (tb + UNPACKED_TILE).min(t);
                // Rows two at a time (the last one twice when one is left).
                for r in (r0..r1).step_by(2) {
                    let pair = if r + 1 < r1 { 2 } else { 1 };
                    row.fill(self.format, wrow(r));
                    row2.fill(self.format, wrow(r + pair - 1));
                    // SAFETY: the output index is inside `out` and belongs to
                    // this task's rows.
                    let put = |ti: usize, dr: usize, v: f32| unsafe {
                        *ptr.0.add(ti * rows + r + dr) = v;
                    };
                    let mut ti = tb;
                    // SAFETY (both calls): `drive_unpacked` runs only when
                    // `isa()` found AVX2/FMA/F16C.
                    while ti + 4 <= te {
                        let v = unsafe {
                            avx2::dot_unpacked2(
                                [&row, &row2],
                                [a(ti), a(ti + 1), a(ti + 2), a(ti + 3)],
                            )
                        };
                        for (dr, vals) in v.iter().enumerate().take(pair) {
                            for (k, &v) in vals.iter().enumerate() {
                                put(ti + k, dr, v);
                            }
                        }
                        ti += 4;
                    }
                    for ti in ti..te {
                        let v = unsafe { avx2::dot_unpacked2([&row, &row2], [a(ti)]) };
                        for (dr, [v]) in v.into_iter().enumerate().take(pair) {
                            put(ti, dr, v);
                        }
                    }
                }
            }
        };
        let tasks = rows.div_ceil(chunk);
        if tasks == 1 || threads == 1 {
            (0..tasks).for_each(work);
        } else {
            (0..tasks).into_par_iter().for_each(work);
        }
        out
    }
}

/// Tokens per tile on the unpacked path (a row is unpacked once per tile).
#[cfg(target_arch = "x86_64")]
const UNPACKED_TILE: usize = 256;

/// Each token's row quantized, the rows shared out over the threads when
/// there are many (a serial step here would leave the other cores idle).
fn quantize_rows<A: Send>(x: &[f32], cols: usize, t: usize, q: fn(&[f32], &mut Vec<A>)) -> Vec<A> {
    let one = |r: &[f32]| {
        let mut v = Vec::new();
        q(r, &mut v);
        v
    };
    if t < 8 {
        return x[..t * cols].chunks(cols).flat_map(one).collect();
    }
    let parts: Vec<Vec<A>> = x[..t * cols].par_chunks(cols).map(one).collect();
    parts.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests;

fn f16_bytes(v: &[half::f16]) -> &[u8] {
    // SAFETY: f16 is a plain 2-byte value; the byte view covers the same memory.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
}

/// `Σ k[i] * q[i]` for an f16 row (a cached key) and f32 values.
pub fn dot_f16(k: &[half::f16], q: &[f32]) -> f32 {
    assert_eq!(k.len(), q.len());
    #[cfg(target_arch = "x86_64")]
    if isa() == Isa::Avx2 {
        // SAFETY: features checked by isa(); lengths equal.
        return unsafe { avx2::f16_row(f16_bytes(k), q) };
    }
    scalar::f16_row(f16_bytes(k), q)
}

/// `acc[i] += a * v[i]` for an f16 row (a cached value).
pub fn axpy_f16(acc: &mut [f32], a: f32, v: &[half::f16]) {
    assert_eq!(acc.len(), v.len());
    #[cfg(target_arch = "x86_64")]
    if isa() == Isa::Avx2 {
        // SAFETY: features checked by isa(); lengths equal.
        return unsafe { avx2::axpy_f16(acc, a, f16_bytes(v)) };
    }
    for (o, x) in acc.iter_mut().zip(v) {
        *o += a * x.to_f32();
    }
}
