//! Prompt processing on unpacked weights: panels of eight rows, sixteen
//! with AVX-512 (prompts from `PANEL_MIN_TOKENS`, every quantized format,
//! x86 and NEON)
//! or rows two at a time (shorter prompts of the 32-value formats on x86),
//! unpacked once per tile of tokens and multiplied with several tokens at
//! a time.

use super::act::A32;
use super::{Acts, OutPtr, PanelFn, QWeight, Unpacked, unpack};

/// Tokens per tile on the unpacked paths (a row is unpacked once per tile).
const UNPACKED_TILE: usize = 256;

/// Tokens from which a product runs on panels: unpacking eight rows into a
/// panel costs about what multiplying them with a few dozen tokens does
/// (one thread, 2048 × 1280: panels 30-43 G multiply-adds a second at 48
/// tokens against the other kernels' 38-51, 56-62 against 41-52 at 64).
pub const PANEL_MIN_TOKENS: usize = 64;

/// Tokens per call of a panel kernel (eight measured no faster here: four
/// independent sums already keep the dot-product units busy).
pub const PANEL_TOKENS: usize = 4;

impl QWeight {
    /// Prompt processing on panels: `R` rows unpacked together once per
    /// tile of tokens and multiplied with four tokens at a time.
    pub(crate) fn drive_panel<const R: usize>(
        &self,
        w: &[u8],
        acts: &Acts,
        fm: PanelFn<R, PANEL_TOKENS>,
        f1: PanelFn<R, 1>,
        out: OutPtr,
        rs: std::ops::Range<usize>,
    ) {
        let (rows, t) = (self.rows, acts.t);
        let per_row = self.cols / 32;
        let mut panel = unpack::Panel::<R>::default();
        let (a32, a32u) = if self.format.b32() {
            (acts.a32, acts.a32u)
        } else {
            (acts.k32, acts.k32u)
        };
        let a = |ti: usize| &a32[ti * per_row..(ti + 1) * per_row];
        let u = |ti: usize| &a32u[ti * per_row..(ti + 1) * per_row];
        for tb in (0..t).step_by(UNPACKED_TILE) {
            let te = (tb + UNPACKED_TILE).min(t);
            for r in rs.clone().step_by(R) {
                let n = R.min(rs.end - r);
                let wrows: [&[u8]; R] = std::array::from_fn(|i| {
                    let r = r + i.min(n - 1);
                    &w[r * self.row_bytes..(r + 1) * self.row_bytes]
                });
                panel.fill(self.format, &wrows[..n]);
                // SAFETY: the output index is inside the output and belongs
                // to this task's rows.
                let put = |ti: usize, v: &[f32; R]| {
                    for (dr, &v) in v.iter().enumerate().take(n) {
                        unsafe { *out.0.add(ti * rows + r + dr) = v };
                    }
                };
                let mut ti = tb;
                // SAFETY (both calls): the kernels come from a table
                // `tables()` found the CPU features for; the activations
                // hold the panel's blocks.
                while ti + PANEL_TOKENS <= te {
                    let (aa, uu) = (
                        std::array::from_fn(|k| a(ti + k)),
                        std::array::from_fn(|k| u(ti + k)),
                    );
                    let v = unsafe { fm(&panel, aa, uu) };
                    for (k, v) in v.iter().enumerate() {
                        put(ti + k, v);
                    }
                    ti += PANEL_TOKENS;
                }
                for ti in ti..te {
                    let [v] = unsafe { f1(&panel, [a(ti)], [u(ti)]) };
                    put(ti, &v);
                }
            }
        }
    }

    /// Prompt processing: each row is unpacked once per tile of tokens and
    /// multiplied with four tokens at a time.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn drive_unpacked(
        &self,
        w: &[u8],
        acts: &[A32],
        t: usize,
        f4: Unpacked<4>,
        f1: Unpacked<1>,
        out: OutPtr,
        rs: std::ops::Range<usize>,
    ) {
        let rows = self.rows;
        let per_row = self.cols / 32;
        let (mut row, mut row2) = (unpack::Row::default(), unpack::Row::default());
        let a = |ti: usize| &acts[ti * per_row..(ti + 1) * per_row];
        let wrow = |r: usize| &w[r * self.row_bytes..(r + 1) * self.row_bytes];
        for tb in (0..t).step_by(UNPACKED_TILE) {
            let te = (tb + UNPACKED_TILE).min(t);
            // Rows two at a time (the last one twice when one is left).
            for r in rs.clone().step_by(2) {
                let pair = if r + 1 < rs.end { 2 } else { 1 };
                row.fill(self.format, wrow(r));
                row2.fill(self.format, wrow(r + pair - 1));
                // SAFETY: the output index is inside the output and belongs
                // to this task's rows.
                let put = |ti: usize, dr: usize, v: f32| unsafe {
                    *out.0.add(ti * rows + r + dr) = v;
                };
                let mut ti = tb;
                // SAFETY (both calls): the kernels come from a table
                // `tables()` found the CPU features for.
                while ti + 4 <= te {
                    let v = unsafe { f4([&row, &row2], [a(ti), a(ti + 1), a(ti + 2), a(ti + 3)]) };
                    for (dr, vals) in v.iter().enumerate().take(pair) {
                        for (k, &v) in vals.iter().enumerate() {
                            put(ti + k, dr, v);
                        }
                    }
                    ti += 4;
                }
                for ti in ti..te {
                    let v = unsafe { f1([&row, &row2], [a(ti)]) };
                    for (dr, [v]) in v.into_iter().enumerate().take(pair) {
                        put(ti, dr, v);
                    }
                }
                // Formats with a per-block minimum (Q4_1, Q5_1): its product
                // with each block's activation sum.
                if !row.min.is_empty() {
                    for ti in tb..te {
                        for (dr, rw) in [&row, &row2].into_iter().enumerate().take(pair) {
                            let m: f32 = rw.min.iter().zip(a(ti)).map(|(m, y)| m * y.s).sum();
                            // SAFETY: as `put`.
                            unsafe { *out.0.add(ti * rows + r + dr) += m };
                        }
                    }
                }
            }
        }
    }
}
