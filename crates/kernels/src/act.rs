//! Activations quantized to 8 bits, the way the weights' dot products want
//! them (as llama.cpp does): blocks of 32 with a scale and the sum of the
//! quants (for Q5_0/Q8_0 weights), and blocks of 256 with a scale and sums
//! of each 16 quants (for the K-quants).

/// 32 activations: `x ≈ d * qs`, `s ≈ Σ x` (`d * Σ qs` kept in f16, as
/// ggml's block_q8_1 keeps it, for the formats with a per-block minimum).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct A32 {
    pub d: f32,
    pub s: f32,
    /// `d × Σ qs[16..32]`, for the 256-value activations cut into 32s
    /// (Q2_K's minimums weigh each 16 values' sum); 0 elsewhere.
    pub s_hi: f32,
    pub qs: [i8; 32],
}

impl A32 {
    pub const ZERO: A32 = A32 {
        d: 0.0,
        s: 0.0,
        s_hi: 0.0,
        qs: [0; 32],
    };
}

/// 256 activations: `x ≈ d * qs`, `bsums[j] = Σ qs[16j..16j+16]`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct A256 {
    pub d: f32,
    pub qs: [i8; 256],
    pub bsums: [i16; 16],
}

impl A256 {
    pub const ZERO: A256 = A256 {
        d: 0.0,
        qs: [0; 256],
        bsums: [0; 16],
    };
}

/// Round to the nearest integer, ties to even, for |v| < 2^22 (ggml's
/// nearest_int: one add and a mask instead of a libm call).
#[inline]
fn nearest_int(v: f32) -> i32 {
    let bits = (v + 12_582_912.0).to_bits() as i32;
    (bits & 0x007f_ffff) - 0x0040_0000
}

fn quantize_into(x: &[f32], qs: &mut [i8]) -> f32 {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if amax == 0.0 || !amax.is_finite() {
        qs.fill(0);
        return if amax.is_finite() { 0.0 } else { f32::NAN };
    }
    let d = amax / 127.0;
    let id = 1.0 / d;
    for (q, v) in qs.iter_mut().zip(x) {
        *q = nearest_int(v * id).clamp(-127, 127) as i8;
    }
    d
}

/// Quantize one row (its length a multiple of 32) into its 32-blocks.
pub fn quantize_a32(x: &[f32], out: &mut [A32]) {
    debug_assert_eq!(x.len(), out.len() * 32);
    for (chunk, b) in x.chunks_exact(32).zip(out) {
        // The scale is kept in f16 as in ggml's block_q8_0, whose rounding
        // llama.cpp's results carry.
        let d = quantize_into(chunk, &mut b.qs);
        b.d = half::f16::from_f32(d).to_f32();
        let sum: i32 = b.qs.iter().map(|&q| i32::from(q)).sum();
        b.s = half::f16::from_f32(d * sum as f32).to_f32();
    }
}

/// Quantize one row (its length a multiple of 256) into its 256-blocks.
pub fn quantize_a256(x: &[f32], out: &mut [A256]) {
    debug_assert_eq!(x.len(), out.len() * 256);
    for (chunk, b) in x.chunks_exact(256).zip(out) {
        b.d = quantize_into(chunk, &mut b.qs);
        for (j, s) in b.bsums.iter_mut().enumerate() {
            *s = b.qs[16 * j..16 * j + 16]
                .iter()
                .map(|&q| i16::from(q))
                .sum();
        }
    }
}
