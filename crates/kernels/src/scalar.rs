//! Portable dot products of one quantized weight row with one quantized
//! activation row: the reference the SIMD versions are tested against, and
//! the fallback on CPUs without them. Block layouts are ggml's.

use half::{bf16, f16};

use super::act::{A32, A256};
use super::{Isa, Table, blocks};

#[inline]
pub fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// The 6-bit scales and mins of a Q4_K/Q5_K block (ggml's get_scale_min_k4).
#[inline]
pub fn scales_mins_k4(q: &[u8]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    for j in 0..8 {
        if j < 4 {
            sc[j] = q[j] & 63;
            m[j] = q[j + 4] & 63;
        } else {
            sc[j] = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            m[j] = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }
    (sc, m)
}

/// Σ over the 8 sub-blocks of min_j * (sum of the 32 activations they cover).
#[inline]
pub fn mins_dot(mins: &[u8; 8], bsums: &[i16; 16]) -> i32 {
    (0..8)
        .map(|j| i32::from(mins[j]) * (i32::from(bsums[2 * j]) + i32::from(bsums[2 * j + 1])))
        .sum()
}

/// Q4_K (`HIGH = false`) and Q5_K (`HIGH = true`, a fifth bit per value
/// from `qh`) blocks.
pub fn q45k<const HIGH: bool>(w: &[u8], a: &[A256]) -> f32 {
    let size = if HIGH { 176 } else { 144 };
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(size).zip(a) {
        let (sc, mn) = scales_mins_k4(&b[4..16]);
        let qs = &b[size - 128..size];
        let high = |l: usize, bit: usize| {
            if HIGH {
                i32::from((b[16 + l] >> bit) & 1) << 4
            } else {
                0
            }
        };
        let mut sumi = 0i32;
        for j in 0..4 {
            let (mut lo, mut hi) = (0i32, 0i32);
            for l in 0..32 {
                lo += (i32::from(qs[32 * j + l] & 0xF) | high(l, 2 * j))
                    * i32::from(y.qs[64 * j + l]);
                hi += (i32::from(qs[32 * j + l] >> 4) | high(l, 2 * j + 1))
                    * i32::from(y.qs[64 * j + 32 + l]);
            }
            sumi += lo * i32::from(sc[2 * j]) + hi * i32::from(sc[2 * j + 1]);
        }
        let d = f16_at(b, 0) * y.d;
        let dmin = f16_at(b, 2) * y.d;
        acc += d * sumi as f32 - dmin * mins_dot(&mn, &y.bsums) as f32;
    }
    acc
}

pub fn q6k(w: &[u8], a: &[A256]) -> f32 {
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(210).zip(a) {
        let sc = |i: usize| i32::from(b[192 + i] as i8);
        let mut sumi = 0i32;
        for n in 0..2 {
            let ql = &b[64 * n..64 * n + 64];
            let qh = &b[128 + 32 * n..128 + 32 * n + 32];
            let ys = &y.qs[128 * n..128 * n + 128];
            for l in 0..32 {
                let is = 8 * n + l / 16;
                let q1 = i32::from((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                let q2 = i32::from((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                let q3 = i32::from((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                let q4 = i32::from((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                sumi += sc(is) * q1 * i32::from(ys[l])
                    + sc(is + 2) * q2 * i32::from(ys[l + 32])
                    + sc(is + 4) * q3 * i32::from(ys[l + 64])
                    + sc(is + 6) * q4 * i32::from(ys[l + 96]);
            }
        }
        acc += f16_at(b, 208) * y.d * sumi as f32;
    }
    acc
}

pub fn q5_0(w: &[u8], a: &[A32]) -> f32 {
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(22).zip(a) {
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let qs = &b[6..22];
        let mut sumi = 0i32;
        for (j, &q) in qs.iter().enumerate() {
            let x0 = i32::from(q & 0xF) | (((qh >> j) & 1) << 4) as i32;
            let x1 = i32::from(q >> 4) | (((qh >> (j + 16)) & 1) << 4) as i32;
            sumi += (x0 - 16) * i32::from(y.qs[j]) + (x1 - 16) * i32::from(y.qs[j + 16]);
        }
        acc += f16_at(b, 0) * y.d * sumi as f32;
    }
    acc
}

pub fn q8_0(w: &[u8], a: &[A32]) -> f32 {
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(34).zip(a) {
        let sumi: i32 = b[2..34]
            .iter()
            .zip(&y.qs)
            .map(|(&x, &q)| i32::from(x as i8) * i32::from(q))
            .sum();
        acc += f16_at(b, 0) * y.d * sumi as f32;
    }
    acc
}

pub fn f16_row(w: &[u8], x: &[f32]) -> f32 {
    w.chunks_exact(2)
        .zip(x)
        .map(|(b, v)| f16::from_le_bytes([b[0], b[1]]).to_f32() * v)
        .sum()
}

pub fn bf16_row(w: &[u8], x: &[f32]) -> f32 {
    w.chunks_exact(2)
        .zip(x)
        .map(|(b, v)| bf16::from_le_bytes([b[0], b[1]]).to_f32() * v)
        .sum()
}

/// `acc[i] += a * v[i]` for f16 values `v`.
pub fn axpy_f16(acc: &mut [f32], a: f32, v: &[u8]) {
    for (o, b) in acc.iter_mut().zip(v.chunks_exact(2)) {
        *o += a * f16::from_le_bytes([b[0], b[1]]).to_f32();
    }
}

/// The portable kernels.
pub const TABLE: Table = Table {
    isa: Isa::Scalar,
    q4k: q45k::<false>,
    q5k: q45k::<true>,
    q6k,
    q4k_4: None,
    q5k_4: None,
    q6k_4: None,
    q2k: blocks::dot_q2k,
    q3k: blocks::dot_q3k,
    iq4xs: blocks::dot_iq4xs,
    q2k_4: None,
    q3k_4: None,
    iq4xs_4: None,
    q4_0: blocks::dot_q4_0,
    q4_1: blocks::dot_q4_1,
    q5_0,
    q5_1: blocks::dot_q5_1,
    q8_0,
    iq4nl: blocks::dot_iq4nl,
    f16_row,
    bf16_row,
    axpy_f16,
    unpacked: None,
    panel: None,
    panel16: None,
};
