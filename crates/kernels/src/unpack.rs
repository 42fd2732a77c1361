//! Weight rows of the 32-value formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
//! IQ4_NL) unpacked for prompt processing: blocks of 32 signed 8-bit values
//! with their scale (and minimum, for Q4_1/Q5_1), so one multi-token kernel
//! serves them all and a row's unpacking is paid once for many tokens.
//! Two layouts: `Row` (one row; a block's value i is `scale[i / 16] * x[i]`)
//! and `Panel` (eight rows interleaved four values at a time, as llama.cpp
//! repacks Q4_0 for its GEMM: one register holds four values of each of the
//! eight rows, so a token's four activations, broadcast, meet all eight rows
//! in one dot-product instruction and every sum lands in its row's lane;
//! sixteen rows for 512-bit registers).
//! The panels also take the K-quants and IQ4_XS, each 256-value block as
//! eight 32-value ones; the K-quants' four-token kernels (shorter prompts)
//! keep the scales in the integer sums.

use super::Format;
use super::act::A32;
use super::scalar::f16_at;

/// One 32-value block: value `i` is `x[i]` times `d` (`d_hi` from value 16
/// on) plus `m` (`m_hi` from value 16 on).
struct Block {
    x: [i8; 32],
    d: f32,
    d_hi: f32,
    m: f32,
    m_hi: f32,
}

/// A block with one scale and one minimum.
fn block(x: [i8; 32], d: f32, m: f32) -> Block {
    Block {
        x,
        d,
        d_hi: d,
        m,
        m_hi: m,
    }
}

/// Each 32-value block of `w`. The 256-value formats come as eight such
/// blocks each, their sub-blocks' scales (and minimums) times the block's.
fn each_block(format: Format, w: &[u8], mut f: impl FnMut(Block)) {
    if let Some((size, dec)) = super::blocks::dec32(format) {
        for b in w.chunks_exact(size) {
            let k = dec(b);
            f(block(k.x, k.d, k.m));
        }
        return;
    }
    if let Some((size, dec)) = super::blocks::dec256(format) {
        // Q2_K, Q3_K, IQ4_XS: a scale and (Q2_K) a minimum per 16 values.
        for b in w.chunks_exact(size) {
            let k = dec(b);
            for j in 0..8 {
                let s = |h: usize| k.d * f32::from(k.sc[2 * j + h]);
                let m = |h: usize| -k.dmin * f32::from(k.mn[2 * j + h]);
                f(Block {
                    x: k.x[32 * j..32 * j + 32].try_into().expect("32 values"),
                    d: s(0),
                    d_hi: s(1),
                    m: m(0),
                    m_hi: m(1),
                });
            }
        }
        return;
    }
    if matches!(format, Format::Q4K | Format::Q5K) {
        // Eight 32-value sub-blocks: value d·sc·q - dmin·mn, q a nibble (and
        // Q5_K's fifth bit from qh).
        let high = format == Format::Q5K;
        let size = if high { 176 } else { 144 };
        for b in w.chunks_exact(size) {
            let (sc, mn) = super::scalar::scales_mins_k4(&b[4..16]);
            let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
            let qs = &b[size - 128..];
            for j in 0..8 {
                let (chunk, upper) = (j / 2, j % 2);
                let mut x = [0i8; 32];
                for (l, o) in x.iter_mut().enumerate() {
                    let q = qs[32 * chunk + l] >> (4 * upper) & 0xF;
                    let h = if high { (b[16 + l] >> j) & 1 } else { 0 };
                    *o = (q | h << 4) as i8;
                }
                f(block(x, d * f32::from(sc[j]), -dmin * f32::from(mn[j])));
            }
        }
        return;
    }
    if format == Format::Q6K {
        // Values 128n + 32k + l: four bits of ql, two of qh, 32 less; a
        // signed scale per 16 values.
        for b in w.chunks_exact(210) {
            let d = f16_at(b, 208);
            let mut x = [0i8; 256];
            for n in 0..2 {
                let (ql, qh) = (&b[64 * n..64 * n + 64], &b[128 + 32 * n..160 + 32 * n]);
                for k in 0..4 {
                    let out = &mut x[128 * n + 32 * k..128 * n + 32 * k + 32];
                    for (l, o) in out.iter_mut().enumerate() {
                        let low = ql[l + 32 * (k % 2)] >> (4 * (k / 2)) & 0xF;
                        let high = (qh[l] >> (2 * k)) & 3;
                        *o = (low | high << 4) as i8 - 32;
                    }
                }
            }
            for j in 0..8 {
                let s = |h: usize| d * f32::from(b[192 + 2 * j + h] as i8);
                f(Block {
                    x: std::array::from_fn(|i| x[32 * j + i]),
                    d: s(0),
                    d_hi: s(1),
                    m: 0.0,
                    m_hi: 0.0,
                });
            }
        }
        return;
    }
    match format {
        Format::Q8_0 => {
            for b in w.chunks_exact(34) {
                let d = f16_at(b, 0);
                f(block(std::array::from_fn(|i| b[2 + i] as i8), d, 0.0));
            }
        }
        Format::Q5_0 => {
            for b in w.chunks_exact(22) {
                let d = f16_at(b, 0);
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                let x = std::array::from_fn(|i| {
                    let nib = if i < 16 {
                        b[6 + i] & 0xF
                    } else {
                        b[6 + i - 16] >> 4
                    };
                    (nib | ((((qh >> i) & 1) as u8) << 4)) as i8 - 16
                });
                f(block(x, d, 0.0));
            }
        }
        _ => unreachable!("only the quantized formats are unpacked"),
    }
}

/// Whether a format's blocks have two scales (a 16-value sub-block each).
pub fn halves(format: Format) -> bool {
    matches!(format, Format::Q2K | Format::Q3K | Format::Q6K)
}

/// Whether the format adds a per-block minimum (Q4_1, Q5_1, and the
/// K-quants' per sub-block: Q4_K/Q5_K per 32 values, Q2_K per 16).
fn has_min(format: Format) -> bool {
    matches!(
        format,
        Format::Q4_1 | Format::Q5_1 | Format::Q2K | Format::Q4K | Format::Q5K
    )
}

#[derive(Default)]
pub struct Row {
    pub x: Vec<[i8; 32]>,
    /// Per block, the scale of each of its eight 4-value lanes after the
    /// pairwise sums (lanes 0-3 cover values 0-15, lanes 4-7 values 16-31).
    pub scale: Vec<[f32; 8]>,
    /// Per block, the minimum added to each value (empty for the formats
    /// without one).
    pub min: Vec<f32>,
}

impl Row {
    pub fn fill(&mut self, format: Format, w: &[u8]) {
        self.x.clear();
        self.scale.clear();
        self.min.clear();
        let mins = has_min(format);
        each_block(format, w, |b| {
            self.x.push(b.x);
            self.scale.push([b.d; 8]);
            if mins {
                self.min.push(b.m);
            }
        });
    }
}

/// Rows in a panel of 256-bit registers (NEON: two 128-bit ones).
pub const PANEL: usize = 8;
/// Rows in a panel of 512-bit registers.
pub const PANEL_WIDE: usize = 16;

/// `R` weight rows interleaved: per block, value group `g` (values
/// `4g..4g+4`) of each row, so one register holds a group of all `R` rows
/// (`R` = 8: 256 bits; 16: 512 bits).
pub struct Panel<const R: usize = PANEL> {
    pub x: Vec<[[[i8; 4]; R]; 8]>,
    /// Per block, each row's scale (of values 0-15 where `hi` is not empty).
    pub scale: Vec<[f32; R]>,
    /// Formats with two scales a block: each row's scale of values 16-31,
    /// and its bias apart (`bias` then covers values 0-15).
    pub scale_hi: Vec<[f32; R]>,
    pub bias_hi: Vec<[i32; R]>,
    /// Per block, `-128 × Σ` of each row's values: the kernels multiply the
    /// values by the activations plus 128 (unsigned bytes, what `vpdpbusd`
    /// takes) and this takes the 128s back out, exactly, in the integer sum.
    pub bias: Vec<[i32; R]>,
    /// Per block, each row's minimum (empty for the formats without one).
    pub min: Vec<[f32; R]>,
    /// Q2_K (a minimum per 16 values): per block, each row's minimum of
    /// values 16-31 less that of 0-15 (`min` is the latter), which weighs
    /// the activations' `s_hi` (`min` weighs their whole sum `s`).
    pub min_hi: Vec<[f32; R]>,
    /// The rows' blocks while the panel is filled.
    blocks: Vec<Block>,
}

impl<const R: usize> Default for Panel<R> {
    fn default() -> Self {
        Panel {
            x: Vec::new(),
            scale: Vec::new(),
            scale_hi: Vec::new(),
            bias_hi: Vec::new(),
            bias: Vec::new(),
            min: Vec::new(),
            min_hi: Vec::new(),
            blocks: Vec::new(),
        }
    }
}

impl<const R: usize> Panel<R> {
    /// What every panel kernel checks before it reads: the panel's parts
    /// agree in length and each token has the panel's blocks (signed and
    /// unsigned). Whether the format has two scales a block.
    pub fn check<const N: usize>(&self, acts: [&[A32]; N], us: [&[[u8; 32]]; N]) -> bool {
        let nb = self.x.len();
        assert!(self.scale.len() == nb && self.bias.len() == nb);
        assert!(self.min.is_empty() || self.min.len() == nb);
        assert!(self.min_hi.is_empty() || self.min_hi.len() == nb);
        let two = !self.scale_hi.is_empty();
        assert!(!two || (self.scale_hi.len() == nb && self.bias_hi.len() == nb));
        for k in 0..N {
            assert!(acts[k].len() >= nb && us[k].len() >= nb);
        }
        two
    }

    /// The panel of `rows` (at most `R`, each one row's bytes; the rest of
    /// the panel's rows are zeros).
    pub fn fill(&mut self, format: Format, rows: &[&[u8]]) {
        assert!(!rows.is_empty() && rows.len() <= R);
        let (bv, bb) = format.block();
        let nb = rows[0].len() / bb * bv / 32;
        let two = halves(format);
        self.scale_hi.clear();
        self.bias_hi.clear();
        if two {
            self.scale_hi.resize(nb, [0.0; R]);
            self.bias_hi.resize(nb, [0; R]);
        }
        self.x.clear();
        self.x.resize(nb, [[[0; 4]; R]; 8]);
        self.scale.clear();
        self.scale.resize(nb, [0.0; R]);
        self.bias.clear();
        self.bias.resize(nb, [0; R]);
        self.min.clear();
        if has_min(format) {
            self.min.resize(nb, [0.0; R]);
        }
        self.min_hi.clear();
        if format == Format::Q2K {
            self.min_hi.resize(nb, [0.0; R]);
        }
        // Every row's blocks first, then the panel block by block: each
        // block's rows are written while its cache lines are at hand (row
        // by row, each row would touch every line of the panel).
        let blocks = &mut self.blocks;
        blocks.clear();
        for w in rows {
            each_block(format, w, |b| blocks.push(b));
        }
        assert_eq!(blocks.len(), nb * rows.len());
        let sum = |v: &[i8]| -128 * sum_i8(v);
        for i in 0..nb {
            let x = &mut self.x[i];
            for (r, b) in blocks[i..].iter().step_by(nb).enumerate() {
                for (g, v) in b.x.chunks_exact(4).enumerate() {
                    x[g][r].copy_from_slice(v);
                }
                self.scale[i][r] = b.d;
                if two {
                    self.bias[i][r] = sum(&b.x[..16]);
                    self.bias_hi[i][r] = sum(&b.x[16..]);
                    self.scale_hi[i][r] = b.d_hi;
                } else {
                    self.bias[i][r] = sum(&b.x);
                }
                if let Some(mn) = self.min.get_mut(i) {
                    mn[r] = b.m;
                }
                if let Some(mn) = self.min_hi.get_mut(i) {
                    mn[r] = b.m_hi - b.m;
                }
            }
        }
    }
}

/// `Σ v` (`v.len()` a multiple of 8): SSE2's `psadbw` on x86-64, else
/// `sum_swar`.
#[inline(always)]
fn sum_i8(v: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if v.len().is_multiple_of(16) {
        return v
            .chunks_exact(16)
            .map(|c| sum16_sse2(c.try_into().expect("16 bytes")))
            .sum();
    }
    sum_swar(v)
}

/// `Σ v` (`v.len()` a multiple of 8), eight bytes at a time in a u64: the
/// bytes made unsigned (+128), added in pairs into 16-bit lanes, the four
/// lanes summed by one multiply (the portable build's compiler left the
/// byte-by-byte sum scalar: a third of a panel's unpacking).
#[inline(always)]
fn sum_swar(v: &[i8]) -> i32 {
    let mut s = 0u64;
    for c in v.chunks_exact(8) {
        let w = u64::from_le_bytes(std::array::from_fn(|i| c[i] as u8)) ^ 0x8080_8080_8080_8080;
        let pairs = (w & 0x00ff_00ff_00ff_00ff) + ((w >> 8) & 0x00ff_00ff_00ff_00ff);
        s += pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48;
    }
    s as i32 - 128 * v.len() as i32
}

/// `Σ v` of 16 bytes with SSE2 (every x86-64 has it): the bytes made
/// unsigned, summed by `psadbw` against zero into two 64-bit lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn sum16_sse2(v: &[i8; 16]) -> i32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `v`.
    unsafe {
        let x = _mm_xor_si128(_mm_loadu_si128(v.as_ptr().cast()), _mm_set1_epi8(i8::MIN));
        let s = _mm_sad_epu8(x, _mm_setzero_si128());
        let total = _mm_cvtsi128_si32(s) + _mm_extract_epi16::<4>(s);
        total - 128 * 16
    }
}

/// Whether a format's values fit the AVX2 panel kernel without saturating
/// its 16-bit pair sums (`vpmaddubsw`: two products of an activation byte
/// up to 255 and a value up to 64 in magnitude).
#[cfg(target_arch = "x86_64")]
pub fn small_values(format: Format) -> bool {
    matches!(
        format,
        Format::Q4_0
            | Format::Q2K
            | Format::Q4_1
            | Format::Q5_0
            | Format::Q5_1
            | Format::Q3K
            | Format::Q4K
            | Format::Q5K
            | Format::Q6K
    )
}

/// Every format the panels take (the VNNI panel kernels sum in 32 bits).
pub fn any_format(_: Format) -> bool {
    true
}

#[cfg(test)]
mod tests {
    /// The byte sums (SSE2, packed) equal the plain one, extremes included.
    #[test]
    fn sum_i8_is_the_sum() {
        let cases: [Vec<i8>; 4] = [
            vec![-128; 32],
            vec![127; 32],
            (0..32).map(|i| (i * 37 % 256) as u8 as i8).collect(),
            (0..16)
                .map(|i| if i % 2 == 0 { -128 } else { 127 })
                .collect(),
        ];
        for v in cases {
            let want: i32 = v.iter().map(|&x| i32::from(x)).sum();
            assert_eq!(super::sum_i8(&v), want);
            assert_eq!(super::sum_swar(&v), want);
            assert_eq!(super::sum_i8(&v[..8]), super::sum_swar(&v[..8]));
        }
    }
}
