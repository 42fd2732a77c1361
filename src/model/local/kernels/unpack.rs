//! Weight rows unpacked for prompt processing: every format becomes blocks
//! of 32 signed 8-bit values with a scale for each half (Q6_K scales 16
//! values) and an offset per block (the K-quants' mins), so one multi-token
//! kernel serves them all and a row's unpacking is paid once for many tokens.
//! A block's value i is `scale[i / 16] * x[i] - min`.

use super::Format;
use super::scalar::{f16_at, scales_mins_k4};

#[derive(Default)]
pub struct Row {
    pub x: Vec<[i8; 32]>,
    /// Per block, the scale of each of its eight 4-value lanes after the
    /// pairwise sums (lanes 0-3 cover values 0-15, lanes 4-7 values 16-31).
    pub scale: Vec<[f32; 8]>,
    /// Per block, subtracted once per unit of the activations' sum.
    pub min: Vec<f32>,
    /// Whether any `min` is non-zero.
    pub has_min: bool,
}

impl Row {
    fn push(&mut self, x: [i8; 32], s0: f32, s1: f32, min: f32) {
        self.x.push(x);
        self.scale.push([s0, s0, s0, s0, s1, s1, s1, s1]);
        self.min.push(min);
        self.has_min |= min != 0.0;
    }

    pub fn fill(&mut self, format: Format, w: &[u8]) {
        self.x.clear();
        self.scale.clear();
        self.min.clear();
        self.has_min = false;
        match format {
            Format::Q8_0 => {
                for b in w.chunks_exact(34) {
                    let d = f16_at(b, 0);
                    let x = std::array::from_fn(|i| b[2 + i] as i8);
                    self.push(x, d, d, 0.0);
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
                    self.push(x, d, d, 0.0);
                }
            }
            Format::Q4K | Format::Q5K => {
                let size = if format == Format::Q4K { 144 } else { 176 };
                for b in w.chunks_exact(size) {
                    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
                    let (sc, mn) = scales_mins_k4(&b[4..16]);
                    let (qh, qs) = if format == Format::Q4K {
                        (None, &b[16..144])
                    } else {
                        (Some(&b[16..48]), &b[48..176])
                    };
                    for j in 0..8 {
                        let x = std::array::from_fn(|l| {
                            let byte = qs[32 * (j / 2) + l];
                            let nib = if j % 2 == 0 { byte & 0xF } else { byte >> 4 };
                            let high = qh.map_or(0, |h| ((h[l] >> j) & 1) << 4);
                            (nib | high) as i8
                        });
                        let s = d * f32::from(sc[j]);
                        self.push(x, s, s, dmin * f32::from(mn[j]));
                    }
                }
            }
            Format::Q6K => {
                for b in w.chunks_exact(210) {
                    let d = f16_at(b, 208);
                    let sc = |i: usize| d * f32::from(b[192 + i] as i8);
                    for n in 0..2 {
                        let ql = &b[64 * n..64 * n + 64];
                        let qh = &b[128 + 32 * n..128 + 32 * n + 32];
                        for k in 0..4 {
                            let x = std::array::from_fn(|l| {
                                let low = match k {
                                    0 => ql[l] & 0xF,
                                    1 => ql[l + 32] & 0xF,
                                    2 => ql[l] >> 4,
                                    _ => ql[l + 32] >> 4,
                                };
                                let high = (qh[l] >> (2 * k)) & 3;
                                (low | (high << 4)) as i8 - 32
                            });
                            let s = 8 * n + 2 * k;
                            self.push(x, sc(s), sc(s + 1), 0.0);
                        }
                    }
                }
            }
            Format::F16 | Format::BF16 => unreachable!("float rows are not unpacked"),
        }
    }
}
