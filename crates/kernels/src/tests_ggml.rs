//! Every kernel set against ggml itself: weights quantized by ggml's
//! quantizer and its CPU dot products (tests/fixtures/ggml-quants.bin, by
//! `scripts/make-quant-fixture.py`). On aarch64 (scripts/test-aarch64,
//! under qemu) this checks the NEON kernels.

use super::*;

use crate::ggml_fixture::cases;

/// Every kernel set, one token and several (the prompt kernels), against
/// ggml's own dot products of the same weights. locus quantizes the
/// activations as ggml does (Q8_0, Q8_1, Q8_K), so only the order of the
/// float sums differs: measured, at most 5e-8 of the products' magnitude.
#[test]
fn every_kernel_set_matches_ggmls_dot_products() {
    for c in cases() {
        let f = c.format;
        let tol = 1e-6;
        let mut worst = 0f32;
        let w = QWeight::from_bytes(f, c.rows, c.cols, c.bytes.clone()).unwrap();
        // The tokens repeated to make a prompt long enough for the panels
        // (and a rest).
        let reps = (prompt::PANEL_MIN_TOKENS + 3).div_ceil(c.tokens);
        let x: Vec<f32> = (0..reps).flat_map(|_| c.x.iter().copied()).collect();
        for k in tables() {
            for t in [1, c.tokens * reps] {
                let got = w.matmul_with(k, &x[..t * c.cols], t);
                for ti in 0..t {
                    let tok = ti % c.tokens;
                    let xr = &c.x[tok * c.cols..(tok + 1) * c.cols];
                    for r in 0..c.rows {
                        let wr = &c.deq[r * c.cols..(r + 1) * c.cols];
                        let scale: f32 = wr.iter().zip(xr).map(|(a, b)| (a * b).abs()).sum();
                        let want = c.dots[tok * c.rows + r];
                        let g = got[ti * c.rows + r];
                        worst = worst.max((g - want).abs() / scale);
                        assert!(
                            (g - want).abs() <= tol * scale,
                            "{:?} {} t={t} token {ti} row {r}: {g} vs ggml {want} (scale {scale})",
                            f,
                            k.isa.name()
                        );
                    }
                }
            }
        }
        eprintln!("{:?}: worst |locus - ggml| / Σ|w·x| = {worst:.2e}", f);
    }
}

/// A per-token product gives each token its lone product's bits on every
/// kernel set, and the 256-value formats' four-token prompt kernels (seven
/// tokens are fewer than the panels take) round as their one-token kernels.
#[test]
fn products_per_token_are_bit_identical() {
    for c in cases() {
        let f = c.format;
        let w = QWeight::from_bytes(f, c.rows, c.cols, c.bytes.clone()).unwrap();
        let t = 7;
        let x: Vec<f32> = (0..t)
            .flat_map(|i| {
                c.x[(i % c.tokens) * c.cols..][..c.cols]
                    .iter()
                    .map(move |v| v * (1.0 + i as f32 / 8.0))
            })
            .collect();
        for k in tables() {
            let mut all = vec![0f32; t * c.rows];
            let mut buf = ActBuf::per_token();
            matmul_many_into(k, &[&w], &x, t, &mut buf, &mut [&mut all]);
            let tiled = w.matmul_with(k, &x, t);
            for ti in 0..t {
                let one = w.matmul_with(k, &x[ti * c.cols..(ti + 1) * c.cols], 1);
                for r in 0..c.rows {
                    assert_eq!(
                        all[ti * c.rows + r].to_bits(),
                        one[r].to_bits(),
                        "{:?} {}",
                        f,
                        k.isa.name()
                    );
                    if f.k() {
                        assert_eq!(
                            tiled[ti * c.rows + r].to_bits(),
                            one[r].to_bits(),
                            "{:?} {} tiled",
                            f,
                            k.isa.name()
                        );
                    }
                }
            }
        }
    }
}

/// Matrices of many rows (ggml's rows repeated to 37: full panels of eight
/// and of sixteen, and a part-filled one) against ggml's dot products, on
/// every kernel set, with a prompt long enough for the panels.
#[test]
fn panels_of_many_rows_match_ggml() {
    for c in cases() {
        let rows = 37;
        let row_bytes = c.bytes.len() / c.rows;
        let bytes: Vec<u8> = (0..rows)
            .flat_map(|r| {
                c.bytes[(r % c.rows) * row_bytes..][..row_bytes]
                    .iter()
                    .copied()
            })
            .collect();
        let w = QWeight::from_bytes(c.format, rows, c.cols, bytes).unwrap();
        let t = prompt::PANEL_MIN_TOKENS + 6;
        let x: Vec<f32> = (0..t)
            .flat_map(|ti| c.x[(ti % c.tokens) * c.cols..][..c.cols].iter().copied())
            .collect();
        for k in tables() {
            let got = w.matmul_with(k, &x, t);
            for ti in 0..t {
                let tok = ti % c.tokens;
                let xr = &c.x[tok * c.cols..(tok + 1) * c.cols];
                for r in 0..rows {
                    let wr = &c.deq[(r % c.rows) * c.cols..][..c.cols];
                    let scale: f32 = wr.iter().zip(xr).map(|(a, b)| (a * b).abs()).sum();
                    let (g, want) = (got[ti * rows + r], c.dots[tok * c.rows + r % c.rows]);
                    assert!(
                        (g - want).abs() <= 1e-6 * scale,
                        "{:?} {} token {ti} row {r}: {g} vs ggml {want}",
                        c.format,
                        k.isa.name()
                    );
                }
            }
        }
    }
}
