use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::*;

/// Deterministic pseudo-random values in about [-1, 1] with some outliers.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0;
            if i % 97 == 0 { v * 6.0 } else { v }
        })
        .collect()
}

fn weight(dtype: GgmlDType, rows: usize, cols: usize) -> (Arc<QTensor>, Vec<f32>) {
    let w = Tensor::from_vec(values(rows * cols, 7), (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&w, dtype).unwrap();
    let deq: Vec<f32> = q
        .dequantize(&Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    (Arc::new(q), deq)
}

const FORMATS: [GgmlDType; 12] = [
    GgmlDType::Q2K,
    GgmlDType::Q3K,
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q5_1,
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
    GgmlDType::Q5_0,
    GgmlDType::Q8_0,
    GgmlDType::F16,
    GgmlDType::BF16,
];

#[test]
fn matmul_matches_dequantized_weights_times_f32_activations() {
    let (rows, cols) = (37, 512);
    // One token (decode kernels), nine (the four-token and unpacked prompt
    // kernels and a remainder) and 67 (the panels and a remainder).
    for (t, dtype) in [1, 9, 67].into_iter().flat_map(|t| FORMATS.map(|f| (t, f))) {
        let x = values(t * cols, 11 + t as u64);
        let (q, deq) = weight(dtype, rows, cols);
        let w = qweight(q).unwrap_or_else(|| panic!("{dtype:?} has a kernel"));
        let got = w.matmul(&x, t);
        for ti in 0..t {
            let xr = &x[ti * cols..(ti + 1) * cols];
            for r in 0..rows {
                let want: f32 = deq[r * cols..(r + 1) * cols]
                    .iter()
                    .zip(xr)
                    .map(|(a, b)| a * b)
                    .sum();
                // 8-bit activations: about 1/254 of each |w·x| term.
                let scale: f32 = deq[r * cols..(r + 1) * cols]
                    .iter()
                    .zip(xr)
                    .map(|(a, b)| (a * b).abs())
                    .sum();
                let g = got[ti * rows + r];
                assert!(
                    (g - want).abs() <= 0.01 * scale + 1e-3,
                    "{dtype:?} row {r} token {ti}: {g} vs {want} (scale {scale})"
                );
            }
        }
    }
}

/// Every kernel set this CPU runs (AVX2, AVX-VNNI, AVX-512 VNNI, NEON
/// dotprod) gives what the portable one gives: one token (decode) and six
/// (the multi-token prompt kernels and a remainder), every format, and the
/// f16 cache helpers.
#[test]
fn simd_kernels_agree_with_the_portable_ones() {
    let all = tables();
    let names: Vec<&str> = all.iter().map(|t| t.isa.name()).collect();
    eprintln!("kernel sets on this CPU: {names:?}");
    // Where a run must cover a kernel set (CI's qemu run: neon), say so.
    if let Ok(want) = std::env::var("LOCUS_EXPECT_KERNELS") {
        assert!(
            names.contains(&want.as_str()),
            "{want} is not among {names:?}"
        );
    }
    let (rows, cols) = (9, 1024);
    for t in [1, 6, 70] {
        let x = values(t * cols, 3 + t as u64);
        for dtype in FORMATS {
            let (q, _) = weight(dtype, rows, cols);
            let w = qweight(q).unwrap();
            let want = w.matmul_with(&scalar::TABLE, &x, t);
            for k in &all[1..] {
                let got = w.matmul_with(k, &x, t);
                for (i, (s, v)) in want.iter().zip(&got).enumerate() {
                    assert!(
                        (s - v).abs() <= 1e-4 * s.abs().max(1.0),
                        "{dtype:?} {} t={t} output {i}: portable {s} vs {v}",
                        k.isa.name()
                    );
                }
            }
        }
    }
}

#[test]
fn activations_round_trip_within_half_a_step() {
    let x = values(512, 5);
    let mut a = vec![act::A256::ZERO; 2];
    act::quantize_a256(&x, &mut a);
    for (b, xs) in a.iter().zip(x.chunks(256)) {
        for (q, v) in b.qs.iter().zip(xs) {
            assert!((f32::from(*q) * b.d - v).abs() <= b.d * 0.5 + 1e-6);
        }
        for j in 0..16 {
            let s: i32 = b.qs[16 * j..16 * j + 16]
                .iter()
                .map(|&q| i32::from(q))
                .sum();
            assert_eq!(i32::from(b.bsums[j]), s);
        }
    }
    let zeros = vec![0f32; 32];
    let mut z = vec![act::A32::ZERO; 1];
    act::quantize_a32(&zeros, &mut z);
    assert_eq!((z[0].d, z[0].s), (0.0, 0.0));
}

#[test]
fn shapes_without_a_kernel_are_left_to_candle() {
    let w = Tensor::zeros((4, 64), candle_core::DType::F32, &Device::Cpu).unwrap();
    let q = QTensor::quantize(&w, GgmlDType::F32).unwrap();
    assert!(qweight(Arc::new(q)).is_none(), "f32 stays with candle");
    let w = Tensor::zeros((4, 640), candle_core::DType::F32, &Device::Cpu).unwrap();
    let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
    assert!(
        qweight(Arc::new(q)).is_some(),
        "640 columns are 20 Q8_0 blocks"
    );
}

#[test]
fn one_token_matches_candles_quantized_matmul() {
    use candle_core::Module;
    let (rows, cols) = (33, 768);
    let x = values(cols, 21);
    let xt = Tensor::from_vec(x.clone(), (1, cols), &Device::Cpu).unwrap();
    // candle's Q8_1 keeps its sum rounded unlike ggml's (the Q4_1/Q5_1
    // kernels are held to ggml's own dot products in tests_ggml instead),
    // and candle multiplies F16/BF16 weights by f32 activations where ggml
    // (and locus) round them to the weight's type first.
    for dtype in FORMATS.into_iter().filter(|d| {
        !matches!(
            d,
            GgmlDType::Q4_1 | GgmlDType::Q5_1 | GgmlDType::F16 | GgmlDType::BF16
        )
    }) {
        let (q, _) = weight(dtype, rows, cols);
        let want: Vec<f32> = candle_core::quantized::QMatMul::from_arc(q.clone())
            .unwrap()
            .forward(&xt)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let got = qweight(q).unwrap().matmul(&x, 1);
        for r in 0..rows {
            assert!(
                (got[r] - want[r]).abs() <= 1e-4 * want[r].abs().max(1.0),
                "{dtype:?} row {r}: {} vs candle {}",
                got[r],
                want[r]
            );
        }
    }
}

#[test]
fn prompt_kernel_gives_each_token_what_the_decode_kernel_gives_it() {
    let (rows, cols) = (19, 512);
    for (t, dtype) in [6, 70].into_iter().flat_map(|t| FORMATS.map(|f| (t, f))) {
        let x = values(t * cols, 31);
        let (q, _) = weight(dtype, rows, cols);
        let w = qweight(q).unwrap();
        let all = w.matmul(&x, t);
        for ti in 0..t {
            let one = w.matmul(&x[ti * cols..(ti + 1) * cols], 1);
            for r in 0..rows {
                let (a, b) = (all[ti * rows + r], one[r]);
                assert!(
                    (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                    "{dtype:?} token {ti} row {r}: {a} in a batch, {b} alone"
                );
            }
        }
    }
}

/// What `ActBuf::per_token` relies on: on every kernel set, the four-token
/// K-quant prompt kernels (short prompts; long ones run on panels) give each
/// token exactly the one-token kernel's bits, and
/// a per-token product of any format gives each token its lone product's.
#[test]
fn per_token_products_are_bit_identical_to_one_token_products() {
    let (rows, cols, t) = (21, 512, 7);
    let x = values(t * cols, 5);
    for k in tables() {
        for dtype in FORMATS {
            let (q, _) = weight(dtype, rows, cols);
            let w = qweight(q).unwrap();
            let mut all = vec![0f32; t * rows];
            let mut buf = ActBuf::per_token();
            matmul_many_into(k, &[&w], &x, t, &mut buf, &mut [&mut all]);
            for ti in 0..t {
                let one = w.matmul_with(k, &x[ti * cols..(ti + 1) * cols], 1);
                for r in 0..rows {
                    assert_eq!(
                        all[ti * rows + r].to_bits(),
                        one[r].to_bits(),
                        "{} {dtype:?} token {ti} row {r}",
                        k.isa.name()
                    );
                }
            }
            // Seven tokens are fewer than the panels take.
            if matches!(
                dtype,
                GgmlDType::Q2K | GgmlDType::Q3K | GgmlDType::Q4K | GgmlDType::Q5K | GgmlDType::Q6K
            ) {
                let tiled = w.matmul_with(k, &x, t);
                assert!(
                    tiled
                        .iter()
                        .zip(&all)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{} {dtype:?}: the prompt kernels round as the one-token kernel",
                    k.isa.name()
                );
            }
        }
    }
}
