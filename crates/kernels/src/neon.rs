//! aarch64 kernels: the dot products of `scalar` with NEON and the
//! dot-product extension (`sdot`: four i8×i8 products summed into each i32
//! lane), chosen at run time where the CPU has it (Apple M1, Graviton 2,
//! Cortex-A76 and later). `sdot` and the f16 widening are written as inline
//! assembly: Rust's intrinsics for them are not stable.
//!
//! Every kernel is `unsafe`: the caller checks the CPU features (`isa()`)
//! and that `w` holds whole blocks matching the activations.

use std::arch::aarch64::*;
use std::arch::asm;

use super::act::{A32, A256};
use super::blocks::{IQ4NL_VALUES, iq4xs_scale, q3k_scales};
use super::scalar::{f16_at, mins_dot, scales_mins_k4};
use super::unpack::Panel;
use super::{F_IQ4NL, F_Q4_0, F_Q4_1, F_Q5_1, Isa, Table};

/// `acc + Σ` of each four `a[i] * b[i]` (signed bytes).
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn sdot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: a register-only instruction of the dotprod extension, which
    // this function's callers require.
    unsafe {
        asm!(
            "sdot {0:v}.4s, {1:v}.16b, {2:v}.16b",
            inout(vreg) acc,
            in(vreg) a,
            in(vreg) b,
            options(pure, nomem, nostack)
        );
    }
    acc
}

/// `acc + Σ` of each four `w[i] * a[i]` with the four bytes of lane `L` of
/// `a` (signed bytes): four rows' groups of four values against one
/// token's.
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn sdot_lane<const L: i32>(mut acc: int32x4_t, w: int8x16_t, a: int8x16_t) -> int32x4_t {
    // SAFETY: as `sdot`.
    unsafe {
        asm!(
            "sdot {0:v}.4s, {1:v}.16b, {2:v}.4b[{l}]",
            inout(vreg) acc,
            in(vreg) w,
            in(vreg) a,
            l = const L,
            options(pure, nomem, nostack)
        );
    }
    acc
}

/// Four f16 (as bits) widened to f32.
#[inline]
#[target_feature(enable = "neon")]
fn f16x4(h: uint16x4_t) -> float32x4_t {
    let out: float32x4_t;
    // SAFETY: a register-only base NEON instruction.
    unsafe {
        asm!(
            "fcvtl {0:v}.4s, {1:v}.4h",
            out(vreg) out,
            in(vreg) h,
            options(pure, nomem, nostack)
        );
    }
    out
}

#[inline]
#[target_feature(enable = "neon")]
fn load_i8(p: &[i8]) -> int8x16_t {
    assert!(p.len() >= 16);
    // SAFETY: 16 readable bytes checked above.
    unsafe { vld1q_s8(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn load_u8(p: &[u8]) -> uint8x16_t {
    assert!(p.len() >= 16);
    // SAFETY: as `load_i8`.
    unsafe { vld1q_u8(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn load_u16x8(p: &[u8]) -> uint16x8_t {
    assert!(p.len() >= 16);
    // SAFETY: 16 readable bytes checked above; unaligned loads are fine.
    unsafe { vld1q_u16(p.as_ptr().cast()) }
}

/// 16 bits of `bits` as 16 bytes, 0x10 where the bit is set.
#[inline]
#[target_feature(enable = "neon")]
fn fifth_bits(bits: u16) -> uint8x16_t {
    let [lo, hi] = bits.to_le_bytes();
    let v = vcombine_u8(vdup_n_u8(lo), vdup_n_u8(hi));
    let mask = vreinterpretq_u8_u64(vdupq_n_u64(0x8040_2010_0804_0201));
    vandq_u8(vtstq_u8(v, mask), vdupq_n_u8(0x10))
}

/// A Q5_0 (`Q5`) or Q8_0 block's 32 values as signed bytes (two halves).
#[inline]
#[target_feature(enable = "neon")]
fn block_values<const Q5: bool>(b: &[u8]) -> [int8x16_t; 2] {
    if !Q5 {
        return [2, 18].map(|at| vreinterpretq_s8_u8(load_u8(&b[at..])));
    }
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let q = load_u8(&b[6..]);
    let lo = vorrq_u8(vandq_u8(q, vdupq_n_u8(0xF)), fifth_bits(qh as u16));
    let hi = vorrq_u8(vshrq_n_u8::<4>(q), fifth_bits((qh >> 16) as u16));
    [lo, hi].map(|v| vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(16)))
}

/// Q5_0 (`Q5`) or Q8_0 blocks times their activations.
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn q_32<const Q5: bool>(w: &[u8], a: &[A32]) -> f32 {
    let size = if Q5 { 22 } else { 34 };
    let mut acc = vdupq_n_f32(0.0);
    for (b, y) in w.chunks_exact(size).zip(a) {
        let [x0, x1] = block_values::<Q5>(b);
        let s = sdot(
            sdot(vdupq_n_s32(0), x0, load_i8(&y.qs)),
            x1,
            load_i8(&y.qs[16..]),
        );
        acc = vfmaq_n_f32(acc, vcvtq_f32_s32(s), f16_at(b, 0) * y.d);
    }
    vaddvq_f32(acc)
}

/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q8_0(w: &[u8], a: &[A32]) -> f32 {
    q_32::<false>(w, a)
}

/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q5_0(w: &[u8], a: &[A32]) -> f32 {
    q_32::<true>(w, a)
}

/// Q4_K (`HIGH = false`) and Q5_K (`HIGH = true`) blocks.
///
/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q45k<const HIGH: bool>(w: &[u8], a: &[A256]) -> f32 {
    let size = if HIGH { 176 } else { 144 };
    let m4 = vdupq_n_u8(0xF);
    let one = vdupq_n_u8(1);
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(size).zip(a) {
        let (sc, mn) = scales_mins_k4(&b[4..16]);
        let qs = &b[size - 128..size];
        let mut qh = [load_u8(&b[16..]), load_u8(&b[32..])];
        let mut sum = vdupq_n_s32(0);
        for j in 0..4 {
            let ys = &y.qs[64 * j..64 * j + 64];
            let mut lo_dot = vdupq_n_s32(0);
            let mut hi_dot = vdupq_n_s32(0);
            for h in 0..2 {
                let q = load_u8(&qs[32 * j + 16 * h..]);
                let mut lo = vandq_u8(q, m4);
                let mut hi = vshrq_n_u8::<4>(q);
                if HIGH {
                    lo = vorrq_u8(lo, vshlq_n_u8::<4>(vandq_u8(qh[h], one)));
                    hi = vorrq_u8(hi, vshlq_n_u8::<3>(vandq_u8(qh[h], vdupq_n_u8(2))));
                    qh[h] = vshrq_n_u8::<2>(qh[h]);
                }
                lo_dot = sdot(lo_dot, vreinterpretq_s8_u8(lo), load_i8(&ys[16 * h..]));
                hi_dot = sdot(hi_dot, vreinterpretq_s8_u8(hi), load_i8(&ys[32 + 16 * h..]));
            }
            sum = vmlaq_n_s32(sum, lo_dot, i32::from(sc[2 * j]));
            sum = vmlaq_n_s32(sum, hi_dot, i32::from(sc[2 * j + 1]));
        }
        let d = f16_at(b, 0) * y.d;
        let dmin = f16_at(b, 2) * y.d;
        acc += d * vaddvq_s32(sum) as f32 - dmin * mins_dot(&mn, &y.bsums) as f32;
    }
    acc
}

/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q6k(w: &[u8], a: &[A256]) -> f32 {
    let m4 = vdupq_n_u8(0xF);
    let m2 = vdupq_n_u8(3);
    let off = vdupq_n_s8(32);
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(210).zip(a) {
        let sc = |i: usize| i32::from(b[192 + i] as i8);
        let mut sum = vdupq_n_s32(0);
        for n in 0..2 {
            let ys = &y.qs[128 * n..128 * n + 128];
            // Each 16 values (h) of the four 32-value groups (g).
            for h in 0..2 {
                let ql0 = load_u8(&b[64 * n + 16 * h..]);
                let ql1 = load_u8(&b[64 * n + 32 + 16 * h..]);
                let qh = load_u8(&b[128 + 32 * n + 16 * h..]);
                let high =
                    |s: u8| vshlq_n_u8::<4>(vandq_u8(vshlq_u8(qh, vdupq_n_s8(-(s as i8))), m2));
                let q = [
                    vorrq_u8(vandq_u8(ql0, m4), high(0)),
                    vorrq_u8(vandq_u8(ql1, m4), high(2)),
                    vorrq_u8(vshrq_n_u8::<4>(ql0), high(4)),
                    vorrq_u8(vshrq_n_u8::<4>(ql1), high(6)),
                ];
                for (g, q) in q.into_iter().enumerate() {
                    let q = vsubq_s8(vreinterpretq_s8_u8(q), off);
                    let dot = sdot(vdupq_n_s32(0), q, load_i8(&ys[32 * g + 16 * h..]));
                    sum = vmlaq_n_s32(sum, dot, sc(8 * n + 2 * g + h));
                }
            }
        }
        acc += f16_at(b, 208) * y.d * vaddvq_s32(sum) as f32;
    }
    acc
}

/// # Safety
/// The CPU must support NEON; `w` holds `x.len()` f16 values.
#[target_feature(enable = "neon")]
pub unsafe fn f16_row(w: &[u8], x: &[f32]) -> f32 {
    let n = x.len() / 8 * 8;
    assert!(w.len() >= 2 * x.len());
    let mut acc = vdupq_n_f32(0.0);
    for i in (0..n).step_by(8) {
        let h = load_u16x8(&w[2 * i..]);
        // SAFETY: 8 floats at i are in bounds (i + 8 <= n).
        let (x0, x1) = unsafe { (vld1q_f32(x[i..].as_ptr()), vld1q_f32(x[i + 4..].as_ptr())) };
        acc = vfmaq_f32(acc, f16x4(vget_low_u16(h)), x0);
        acc = vfmaq_f32(acc, f16x4(vget_high_u16(h)), x1);
    }
    vaddvq_f32(acc) + super::scalar::f16_row(&w[2 * n..], &x[n..])
}

/// # Safety
/// The CPU must support NEON; `w` holds `x.len()` bf16 values.
#[target_feature(enable = "neon")]
pub unsafe fn bf16_row(w: &[u8], x: &[f32]) -> f32 {
    let n = x.len() / 8 * 8;
    assert!(w.len() >= 2 * x.len());
    let mut acc = vdupq_n_f32(0.0);
    for i in (0..n).step_by(8) {
        let h = load_u16x8(&w[2 * i..]);
        let w0 = vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(h)));
        let w1 = vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_high_u16(h)));
        // SAFETY: as in f16_row.
        let (x0, x1) = unsafe { (vld1q_f32(x[i..].as_ptr()), vld1q_f32(x[i + 4..].as_ptr())) };
        acc = vfmaq_f32(vfmaq_f32(acc, w0, x0), w1, x1);
    }
    vaddvq_f32(acc) + super::scalar::bf16_row(&w[2 * n..], &x[n..])
}

/// # Safety
/// The CPU must support NEON; `acc.len() == v.len() / 2`.
#[target_feature(enable = "neon")]
pub unsafe fn axpy_f16(acc: &mut [f32], a: f32, v: &[u8]) {
    let n = acc.len() / 4 * 4;
    assert!(v.len() >= 2 * acc.len());
    for i in (0..n).step_by(4) {
        // SAFETY: 4 halves at 2*i and 4 floats at i are in bounds.
        unsafe {
            let h = vld1_u16(v[2 * i..].as_ptr().cast());
            let p = acc[i..].as_mut_ptr();
            vst1q_f32(p, vfmaq_n_f32(vld1q_f32(p), f16x4(h), a));
        }
    }
    super::scalar::axpy_f16(&mut acc[n..], a, &v[2 * n..]);
}

/// A 32-value block (Q4_0, Q4_1, Q5_1, IQ4_NL) as two halves of signed
/// bytes: the integer `x` of `d * x + m`.
#[inline]
#[target_feature(enable = "neon")]
fn block32<const F: u8>(b: &[u8]) -> [int8x16_t; 2] {
    let m4 = vdupq_n_u8(0xF);
    let at = match F {
        F_Q4_1 => 4,
        F_Q5_1 => 8,
        _ => 2,
    };
    let q = load_u8(&b[at..]);
    let (lo, hi) = (vandq_u8(q, m4), vshrq_n_u8::<4>(q));
    match F {
        F_Q4_0 => [lo, hi].map(|v| vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(8))),
        F_Q4_1 => [lo, hi].map(|v| vreinterpretq_s8_u8(v)),
        F_Q5_1 => {
            let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            [
                vorrq_u8(lo, fifth_bits(qh as u16)),
                vorrq_u8(hi, fifth_bits((qh >> 16) as u16)),
            ]
            .map(|v| vreinterpretq_s8_u8(v))
        }
        _ => {
            let t = load_i8(&IQ4NL_VALUES);
            [lo, hi].map(|i| vqtbl1q_s8(t, i))
        }
    }
}

/// Q4_0, Q4_1, Q5_1 or IQ4_NL blocks times their activations.
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn q_32x<const F: u8>(w: &[u8], a: &[A32]) -> f32 {
    let (size, min) = match F {
        F_Q4_1 => (20, true),
        F_Q5_1 => (24, true),
        _ => (18, false),
    };
    let mut acc = vdupq_n_f32(0.0);
    let mut accm = 0f32;
    for (b, y) in w.chunks_exact(size).zip(a) {
        let [x0, x1] = block32::<F>(b);
        let s = sdot(
            sdot(vdupq_n_s32(0), x0, load_i8(&y.qs)),
            x1,
            load_i8(&y.qs[16..]),
        );
        acc = vfmaq_n_f32(acc, vcvtq_f32_s32(s), f16_at(b, 0) * y.d);
        if min {
            accm += f16_at(b, 2) * y.s;
        }
    }
    vaddvq_f32(acc) + accm
}

/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q4_0(w: &[u8], a: &[A32]) -> f32 {
    q_32x::<F_Q4_0>(w, a)
}

/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q4_1(w: &[u8], a: &[A32]) -> f32 {
    q_32x::<F_Q4_1>(w, a)
}

/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q5_1(w: &[u8], a: &[A32]) -> f32 {
    q_32x::<F_Q5_1>(w, a)
}

/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn iq4nl(w: &[u8], a: &[A32]) -> f32 {
    q_32x::<F_IQ4NL>(w, a)
}

/// Q2_K (`Q3 = false`) or Q3_K (`Q3 = true`) blocks: each 16 values'
/// 2-bit fields (and Q3_K's high bit) as signed bytes, summed with `sdot`
/// and weighed by their scale.
///
/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn q23k<const Q3: bool>(w: &[u8], a: &[A256]) -> f32 {
    let size = if Q3 { 110 } else { 84 };
    let m3 = vdupq_n_u8(3);
    let one = vdupq_n_u8(1);
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(size).zip(a) {
        let sc: [i16; 16] = if Q3 {
            q3k_scales(&b[96..108])
        } else {
            std::array::from_fn(|j| i16::from(b[j] & 0xF))
        };
        let qs = if Q3 { &b[32..96] } else { &b[16..80] };
        let mut sum = vdupq_n_s32(0);
        for n in 0..2 {
            for h in 0..2 {
                let q = load_u8(&qs[32 * n + 16 * h..]);
                let hm = load_u8(&b[16 * h..]);
                for j in 0..4 {
                    let v = vandq_u8(vshlq_u8(q, vdupq_n_s8(-2 * j as i8)), m3);
                    let x = if Q3 {
                        let s = -((4 * n + j) as i8);
                        let hbit = vandq_u8(vshlq_u8(hm, vdupq_n_s8(s)), one);
                        let v = vorrq_u8(v, vshlq_n_u8::<2>(hbit));
                        vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(4))
                    } else {
                        vreinterpretq_s8_u8(v)
                    };
                    let at = 128 * n + 32 * j + 16 * h;
                    let dot = sdot(vdupq_n_s32(0), x, load_i8(&y.qs[at..]));
                    sum = vmlaq_n_s32(sum, dot, i32::from(sc[at / 16]));
                }
            }
        }
        let d = f16_at(b, if Q3 { 108 } else { 80 }) * y.d;
        acc += d * vaddvq_s32(sum) as f32;
        if !Q3 {
            let m: i32 = (0..16)
                .map(|j| i32::from(b[j] >> 4) * i32::from(y.bsums[j]))
                .sum();
            acc -= f16_at(b, 82) * y.d * m as f32;
        }
    }
    acc
}

/// IQ4_XS blocks.
///
/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn iq4xs(w: &[u8], a: &[A256]) -> f32 {
    let t = load_i8(&IQ4NL_VALUES);
    let m4 = vdupq_n_u8(0xF);
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(136).zip(a) {
        let mut sum = vdupq_n_s32(0);
        for ib in 0..8 {
            let q = load_u8(&b[8 + 16 * ib..]);
            let (lo, hi) = (
                vqtbl1q_s8(t, vandq_u8(q, m4)),
                vqtbl1q_s8(t, vshrq_n_u8::<4>(q)),
            );
            let dot = sdot(
                sdot(vdupq_n_s32(0), lo, load_i8(&y.qs[32 * ib..])),
                hi,
                load_i8(&y.qs[32 * ib + 16..]),
            );
            sum = vmlaq_n_s32(sum, dot, i32::from(iq4xs_scale(b, ib)));
        }
        acc += f16_at(b, 0) * y.d * vaddvq_s32(sum) as f32;
    }
    acc
}

/// A panel of eight unpacked weight rows with `N` tokens' activations (the
/// x86 kernels' `dot_panel`, whose integer sums and float steps it repeats):
/// per four-value group, each token's four bytes (a lane of its register)
/// meet four rows in one `sdot`, signed by signed, so the unsigned copy of
/// the activations and the panel's bias are not needed.
///
/// # Safety
/// The CPU must support NEON and dotprod.
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn dot_panel<const N: usize>(
    p: &Panel,
    acts: [&[A32]; N],
    unsigned: [&[[u8; 32]]; N],
) -> [[f32; 8]; N] {
    let acc = if p.check(acts, unsigned) {
        panel_body::<N, true>(p, acts)
    } else {
        panel_body::<N, false>(p, acts)
    };
    std::array::from_fn(|k| {
        let mut o = [0f32; 8];
        // SAFETY: four floats each.
        unsafe {
            vst1q_f32(o.as_mut_ptr(), acc[k][0]);
            vst1q_f32(o[4..].as_mut_ptr(), acc[k][1]);
        }
        o
    })
}

/// `dot_panel`'s sums, rows 0-3 and 4-7; `TWO`: two scales a block.
#[inline]
#[target_feature(enable = "neon,dotprod")]
#[allow(clippy::needless_range_loop)] // one index into N tokens' arrays
fn panel_body<const N: usize, const TWO: bool>(
    p: &Panel,
    acts: [&[A32]; N],
) -> [[float32x4_t; 2]; N] {
    let mut acc = [[vdupq_n_f32(0.0); 2]; N];
    // SAFETY (the loads below): four floats each.
    let ld = |v: &[f32]| unsafe { vld1q_f32(v.as_ptr()) };
    for b in 0..p.x.len() {
        // [token][rows 0-3, 4-7][values 0-15, 16-31 (or all, in the first)]
        let mut s = [[[vdupq_n_s32(0); 2]; 2]; N];
        let a: [[int8x16_t; 2]; N] =
            std::array::from_fn(|k| [load_i8(&acts[k][b].qs), load_i8(&acts[k][b].qs[16..])]);
        macro_rules! group {
            ($g:expr, $lane:expr) => {{
                let x = p.x[b][$g].as_flattened();
                let w = [load_i8(&x[..16]), load_i8(&x[16..])];
                let h = usize::from(TWO && $g >= 4);
                for k in 0..N {
                    for r in 0..2 {
                        s[k][r][h] = sdot_lane::<$lane>(s[k][r][h], w[r], a[k][$g / 4]);
                    }
                }
            }};
        }
        group!(0, 0);
        group!(1, 1);
        group!(2, 2);
        group!(3, 3);
        group!(4, 0);
        group!(5, 1);
        group!(6, 2);
        group!(7, 3);
        for k in 0..N {
            let d = acts[k][b].d;
            for r in 0..2 {
                let sc = vmulq_n_f32(ld(&p.scale[b][4 * r..]), d);
                acc[k][r] = vfmaq_f32(acc[k][r], vcvtq_f32_s32(s[k][r][0]), sc);
                if TWO {
                    let hi = vmulq_n_f32(ld(&p.scale_hi[b][4 * r..]), d);
                    acc[k][r] = vfmaq_f32(acc[k][r], vcvtq_f32_s32(s[k][r][1]), hi);
                }
                if let Some(m) = p.min.get(b) {
                    acc[k][r] = vfmaq_n_f32(acc[k][r], ld(&m[4 * r..]), acts[k][b].s);
                }
                if let Some(m) = p.min_hi.get(b) {
                    acc[k][r] = vfmaq_n_f32(acc[k][r], ld(&m[4 * r..]), acts[k][b].s_hi);
                }
            }
        }
    }
    acc
}

/// NEON with dotprod.
pub const TABLE: Table = Table {
    isa: Isa::NeonDot,
    q4k: q45k::<false>,
    q5k: q45k::<true>,
    q6k,
    q4k_4: None,
    q5k_4: None,
    q6k_4: None,
    q2k: q23k::<false>,
    q3k: q23k::<true>,
    iq4xs,
    q2k_4: None,
    q3k_4: None,
    iq4xs_4: None,
    q4_0,
    q4_1,
    q5_0,
    q5_1,
    q8_0,
    iq4nl,
    f16_row,
    bf16_row,
    axpy_f16,
    unpacked: None,
    panel: Some((dot_panel::<4>, dot_panel::<1>, crate::unpack::any_format)),
    panel16: None,
};
