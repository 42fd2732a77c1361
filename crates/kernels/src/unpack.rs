//! Weight rows of the 32-value formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
//! IQ4_NL) unpacked for prompt processing: blocks of 32 signed 8-bit values
//! with their scale (and minimum, for Q4_1/Q5_1), so one multi-token kernel
//! serves them all and a row's unpacking is paid once for many tokens. A block's value
//! i is `scale[i / 16] * x[i]` (two halves, so a format with 16-value scales
//! fits too). The K-quants have their own multi-token kernels that keep the
//! scales in the integer sums.

use super::Format;
use super::scalar::f16_at;

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
    fn push(&mut self, x: [i8; 32], s0: f32, s1: f32) {
        self.x.push(x);
        self.scale.push([s0, s0, s0, s0, s1, s1, s1, s1]);
    }

    pub fn fill(&mut self, format: Format, w: &[u8]) {
        self.x.clear();
        self.scale.clear();
        self.min.clear();
        if let Some((size, dec)) = super::blocks::dec32(format) {
            let mins = matches!(format, Format::Q4_1 | Format::Q5_1);
            for b in w.chunks_exact(size) {
                let k = dec(b);
                self.push(k.x, k.d, k.d);
                if mins {
                    self.min.push(k.m);
                }
            }
            return;
        }
        match format {
            Format::Q8_0 => {
                for b in w.chunks_exact(34) {
                    let d = f16_at(b, 0);
                    let x = std::array::from_fn(|i| b[2 + i] as i8);
                    self.push(x, d, d);
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
                    self.push(x, d, d);
                }
            }
            _ => unreachable!("only the 32-value formats are unpacked"),
        }
    }
}
