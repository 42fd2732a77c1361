//! The formats checked against ggml itself: weights quantized by ggml's
//! quantizer, its dequantization and its CPU dot products, recorded by
//! `scripts/make-quant-fixture.py` in tests/fixtures/ggml-quants.bin.

use super::*;

struct Case {
    ty: TensorType,
    rows: usize,
    cols: usize,
    tokens: usize,
    bytes: Vec<u8>,
    deq: Vec<f32>,
    x: Vec<f32>,
    dots: Vec<f32>,
}

fn cases() -> Vec<Case> {
    let b: &[u8] = include_bytes!("../../../../tests/fixtures/ggml-quants.bin");
    let count = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 4;
    for _ in 0..count {
        let h: Vec<usize> = (0..5)
            .map(|i| {
                u32::from_le_bytes(b[pos + 4 * i..pos + 4 * i + 4].try_into().unwrap()) as usize
            })
            .collect();
        pos += 20;
        let (id, rows, cols, tokens, n) = (h[0], h[1], h[2], h[3], h[4]);
        let bytes = b[pos..pos + n].to_vec();
        pos += n;
        let mut floats = |k: usize| -> Vec<f32> {
            let v = b[pos..pos + 4 * k]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            pos += 4 * k;
            v
        };
        let deq = floats(rows * cols);
        let x = floats(tokens * cols);
        let dots = floats(tokens * rows);
        out.push(Case {
            ty: TensorType::from_id(id as u32),
            rows,
            cols,
            tokens,
            bytes,
            deq,
            x,
            dots,
        });
    }
    assert_eq!(pos, b.len(), "the whole fixture read");
    out
}

#[test]
fn dequantization_is_ggmls_bit_for_bit() {
    let cases = cases();
    let names: Vec<String> = cases.iter().map(|c| c.ty.name()).collect();
    assert_eq!(
        names,
        ["Q4_0", "Q4_1", "Q5_1", "Q2_K", "Q3_K", "IQ4_NL", "IQ4_XS"]
    );
    for c in &cases {
        let f = Format::of(c.ty).unwrap();
        let mut got = vec![0f32; c.rows * c.cols];
        dequant::row(f, &c.bytes, &mut got);
        for (i, (g, w)) in got.iter().zip(&c.deq).enumerate() {
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "{} value {i}: {g} vs ggml {w}",
                c.ty
            );
        }
    }
}

/// Every kernel set, one token and several (the prompt kernels), against
/// ggml's own dot products of the same weights. locus quantizes the
/// activations as ggml does (Q8_0, Q8_1, Q8_K), so only the order of the
/// float sums differs: measured, at most 5e-8 of the products' magnitude.
#[test]
fn every_kernel_set_matches_ggmls_dot_products() {
    for c in cases() {
        let f = Format::of(c.ty).unwrap();
        let tol = 1e-6;
        let mut worst = 0f32;
        let w = QWeight::from_bytes(f, c.rows, c.cols, c.bytes.clone()).unwrap();
        // The tokens repeated to make a prompt (four at a time and a rest).
        let reps = 3;
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
                            "{} {} t={t} token {ti} row {r}: {g} vs ggml {want} (scale {scale})",
                            c.ty,
                            k.isa.name()
                        );
                    }
                }
            }
        }
        eprintln!("{}: worst |locus - ggml| / Σ|w·x| = {worst:.2e}", c.ty);
    }
}

/// The IQ formats (which candle cannot quantize) on the rules the other
/// formats are held to: a per-token product gives each token its lone
/// product's bits on every kernel set, and IQ4_XS's prompt kernels round as
/// its one-token kernel.
#[test]
fn iq_products_per_token_are_bit_identical() {
    for c in cases() {
        let f = Format::of(c.ty).unwrap();
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
            let mut buf = ActBuf {
                per_token: true,
                ..ActBuf::default()
            };
            matmul_many_into(k, &[&w], &x, t, &mut buf, &mut [&mut all]);
            let tiled = w.matmul_with(k, &x, t);
            for ti in 0..t {
                let one = w.matmul_with(k, &x[ti * c.cols..(ti + 1) * c.cols], 1);
                for r in 0..c.rows {
                    assert_eq!(
                        all[ti * c.rows + r].to_bits(),
                        one[r].to_bits(),
                        "{} {}",
                        c.ty,
                        k.isa.name()
                    );
                    if f.k() {
                        assert_eq!(
                            tiled[ti * c.rows + r].to_bits(),
                            one[r].to_bits(),
                            "{} {} tiled",
                            c.ty,
                            k.isa.name()
                        );
                    }
                }
            }
        }
    }
}
