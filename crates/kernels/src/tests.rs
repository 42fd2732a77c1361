//! Kernel checks that need no reference implementation: the f16 kernels
//! (a cached key's dot product, a value row's axpy) on every kernel set
//! against plain arithmetic.

use super::*;

/// Deterministic pseudo-random values in about [-1, 1].
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn f16_kernels_match_plain_arithmetic() {
    let all = tables();
    let v: Vec<half::f16> = values(77, 9).into_iter().map(half::f16::from_f32).collect();
    let x = values(77, 10);
    for k in &all {
        let mut acc = x.clone();
        // SAFETY: tables() lists only kernel sets this CPU runs; equal lengths.
        let dot = unsafe {
            (k.axpy_f16)(&mut acc, 0.5, f16_bytes(&v));
            (k.f16_row)(f16_bytes(&v), &x)
        };
        let want: f32 = v.iter().zip(&x).map(|(a, b)| a.to_f32() * b).sum();
        assert!(
            (dot - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{}",
            k.isa.name()
        );
        for i in 0..77 {
            let w = x[i] + 0.5 * v[i].to_f32();
            assert!((acc[i] - w).abs() <= 1e-5, "{} axpy {i}", k.isa.name());
        }
    }
}

/// Where a run must cover a kernel set (CI's qemu run: neon), it says so in
/// `LOCUS_EXPECT_KERNELS`, and the kernels this CPU runs include it.
#[test]
fn the_expected_kernel_set_is_there() {
    let names: Vec<&str> = tables().iter().map(|t| t.isa.name()).collect();
    assert_eq!(names[0], "scalar", "the portable kernels come first");
    if let Ok(want) = std::env::var("LOCUS_EXPECT_KERNELS") {
        assert!(
            names.contains(&want.as_str()),
            "{want} is not among {names:?}"
        );
        eprintln!("kernel sets checked: {names:?}");
    }
}
