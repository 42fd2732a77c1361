//! The block layouts of Q4_0, Q4_1, Q5_1, IQ4_NL (32 values a block) and
//! Q2_K, Q3_K, IQ4_XS (256), as ggml writes them, decoded to small
//! integers with their scales: the portable dot products, dequantization
//! and the unpacked prompt rows are built on these.

use super::act::{A32, A256};
use super::scalar::f16_at;

/// IQ4_NL's and IQ4_XS's 16 values (ggml's kvalues_iq4nl).
pub const IQ4NL_VALUES: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// One 32-value block: value `i` is `d * x[i] + m`.
pub struct Dec32 {
    pub x: [i8; 32],
    pub d: f32,
    pub m: f32,
}

/// Low nibbles give values 0-15, high nibbles 16-31 (ggml's layout).
#[inline]
fn nibbles(qs: &[u8]) -> [u8; 32] {
    let mut n = [0u8; 32];
    for i in 0..16 {
        n[i] = qs[i] & 0xF;
        n[i + 16] = qs[i] >> 4;
    }
    n
}

#[inline]
fn fifth_bits(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

pub fn q4_0(b: &[u8]) -> Dec32 {
    let n = nibbles(&b[2..18]);
    Dec32 {
        x: n.map(|v| v as i8 - 8),
        d: f16_at(b, 0),
        m: 0.0,
    }
}

pub fn q4_1(b: &[u8]) -> Dec32 {
    let n = nibbles(&b[4..20]);
    Dec32 {
        x: n.map(|v| v as i8),
        d: f16_at(b, 0),
        m: f16_at(b, 2),
    }
}

pub fn q5_1(b: &[u8]) -> Dec32 {
    let n = nibbles(&b[8..24]);
    let qh = fifth_bits(&b[4..8]);
    Dec32 {
        x: std::array::from_fn(|i| (n[i] | ((((qh >> i) & 1) as u8) << 4)) as i8),
        d: f16_at(b, 0),
        m: f16_at(b, 2),
    }
}

pub fn iq4nl(b: &[u8]) -> Dec32 {
    let n = nibbles(&b[2..18]);
    Dec32 {
        x: n.map(|v| IQ4NL_VALUES[v as usize]),
        d: f16_at(b, 0),
        m: 0.0,
    }
}

/// One 256-value block: value `i` is `d * sc[i / 16] * x[i] - dmin * mn[i / 16]`.
pub struct Dec256 {
    pub x: [i8; 256],
    pub sc: [i16; 16],
    pub mn: [u8; 16],
    pub d: f32,
    pub dmin: f32,
}

/// The 2-bit fields of Q2_K: value `128n + 32j + l` is bits `2j..2j+2`
/// of `qs[32n + l]`.
#[inline]
fn crumbs(qs: &[u8]) -> [i8; 256] {
    // Loops the compiler vectorizes (an index per value did not).
    let mut x = [0i8; 256];
    for n in 0..2 {
        for j in 0..4 {
            let out = &mut x[128 * n + 32 * j..128 * n + 32 * j + 32];
            for (o, &q) in out.iter_mut().zip(&qs[32 * n..32 * n + 32]) {
                *o = ((q >> (2 * j)) & 3) as i8;
            }
        }
    }
    x
}

pub fn q2k(b: &[u8]) -> Dec256 {
    Dec256 {
        x: crumbs(&b[16..80]),
        sc: std::array::from_fn(|j| i16::from(b[j] & 0xF)),
        mn: std::array::from_fn(|j| b[j] >> 4),
        d: f16_at(b, 80),
        dmin: f16_at(b, 82),
    }
}

/// Q3_K's 16 six-bit scales, 32 subtracted.
pub fn q3k_scales(s: &[u8]) -> [i16; 16] {
    // Four bytes at a time, as ggml unpacks them: scale i's low four bits
    // are a nibble of bytes 0-7, its high two bits a crumb of bytes 8-11.
    let word = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let (a0, a1, hi) = (word(0), word(4), word(8));
    let (nib, crumb) = (0x0f0f_0f0f, 0x0303_0303);
    let words = [
        (a0 & nib) | ((hi & crumb) << 4),
        (a1 & nib) | (((hi >> 2) & crumb) << 4),
        ((a0 >> 4) & nib) | (((hi >> 4) & crumb) << 4),
        ((a1 >> 4) & nib) | (((hi >> 6) & crumb) << 4),
    ];
    std::array::from_fn(|i| i16::from(words[i / 4].to_le_bytes()[i % 4]) - 32)
}

pub fn q3k(b: &[u8]) -> Dec256 {
    let (qs, hm) = (&b[32..96], &b[0..32]);
    // Value 128n + 32j + l: bits 2j..2j+2 of qs[32n + l], and 4 less where
    // bit 4n + j of hm[l] is clear (loops the compiler vectorizes).
    let mut x = [0i8; 256];
    for n in 0..2 {
        for j in 0..4 {
            let out = &mut x[128 * n + 32 * j..128 * n + 32 * j + 32];
            for l in 0..32 {
                let q = (qs[32 * n + l] >> (2 * j)) & 3;
                let high = (hm[l] >> (4 * n + j)) & 1;
                out[l] = q as i8 - 4 + 4 * high as i8;
            }
        }
    }
    Dec256 {
        x,
        sc: q3k_scales(&b[96..108]),
        mn: [0; 16],
        d: f16_at(b, 108),
        dmin: 0.0,
    }
}

/// IQ4_XS's scale of 32-value sub-block `ib`, 32 subtracted.
#[inline]
pub fn iq4xs_scale(b: &[u8], ib: usize) -> i16 {
    let h = u16::from_le_bytes([b[2], b[3]]);
    let ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | ((((h >> (2 * ib)) & 3) as u8) << 4);
    i16::from(ls) - 32
}

pub fn iq4xs(b: &[u8]) -> Dec256 {
    Dec256 {
        x: {
            let mut x = [0i8; 256];
            for (ib, out) in x.chunks_exact_mut(32).enumerate() {
                let n = nibbles(&b[8 + 16 * ib..24 + 16 * ib]);
                for (o, &v) in out.iter_mut().zip(&n) {
                    *o = IQ4NL_VALUES[usize::from(v)];
                }
            }
            x
        },
        sc: std::array::from_fn(|j| iq4xs_scale(b, j / 2)),
        mn: [0; 16],
        d: f16_at(b, 0),
        dmin: 0.0,
    }
}

fn dot32(w: &[u8], size: usize, a: &[A32], dec: fn(&[u8]) -> Dec32) -> f32 {
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(size).zip(a) {
        let k = dec(b);
        let sumi: i32 =
            k.x.iter()
                .zip(&y.qs)
                .map(|(&x, &q)| i32::from(x) * i32::from(q))
                .sum();
        acc += k.d * y.d * sumi as f32 + k.m * y.s;
    }
    acc
}

fn dot256(w: &[u8], size: usize, a: &[A256], dec: fn(&[u8]) -> Dec256) -> f32 {
    let mut acc = 0f32;
    for (b, y) in w.chunks_exact(size).zip(a) {
        let k = dec(b);
        let mut sumi = 0i32;
        let mut summ = 0i32;
        for j in 0..16 {
            let s: i32 = (16 * j..16 * j + 16)
                .map(|i| i32::from(k.x[i]) * i32::from(y.qs[i]))
                .sum();
            sumi += i32::from(k.sc[j]) * s;
            summ += i32::from(k.mn[j]) * i32::from(y.bsums[j]);
        }
        acc += k.d * y.d * sumi as f32 - k.dmin * y.d * summ as f32;
    }
    acc
}

pub fn dot_q4_0(w: &[u8], a: &[A32]) -> f32 {
    dot32(w, 18, a, q4_0)
}
pub fn dot_q4_1(w: &[u8], a: &[A32]) -> f32 {
    dot32(w, 20, a, q4_1)
}
pub fn dot_q5_1(w: &[u8], a: &[A32]) -> f32 {
    dot32(w, 24, a, q5_1)
}
pub fn dot_iq4nl(w: &[u8], a: &[A32]) -> f32 {
    dot32(w, 18, a, iq4nl)
}
pub fn dot_q2k(w: &[u8], a: &[A256]) -> f32 {
    dot256(w, 84, a, q2k)
}
pub fn dot_q3k(w: &[u8], a: &[A256]) -> f32 {
    dot256(w, 110, a, q3k)
}
pub fn dot_iq4xs(w: &[u8], a: &[A256]) -> f32 {
    dot256(w, 136, a, iq4xs)
}

/// A format's block size in bytes and its decoder.
pub type Decoder<D> = (usize, fn(&[u8]) -> D);

/// The decoder of a 32-value format among these.
pub fn dec32(format: super::Format) -> Option<Decoder<Dec32>> {
    use super::Format::*;
    Some(match format {
        Q4_0 => (18, q4_0 as fn(&[u8]) -> Dec32),
        Q4_1 => (20, q4_1),
        Q5_1 => (24, q5_1),
        IQ4NL => (18, iq4nl),
        _ => return None,
    })
}

/// The decoder of a 256-value format among these.
pub fn dec256(format: super::Format) -> Option<Decoder<Dec256>> {
    use super::Format::*;
    Some(match format {
        Q2K => (84, q2k as fn(&[u8]) -> Dec256),
        Q3K => (110, q3k),
        IQ4XS => (136, iq4xs),
        _ => return None,
    })
}
