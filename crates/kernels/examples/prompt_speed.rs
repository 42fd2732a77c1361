//! Kernel speed on one thread, prompts and one token: a random weight of each format
//! (default all formats; `LOCUS_SPEED_ROWS` × `LOCUS_SPEED_COLS`, default
//! 2048 × 1280, and `LOCUS_SPEED_TOKENS` tokens, default 256)
//! multiplied by a prompt's activations; prints G multiply-adds per second.
//! `LOCUS_KERNELS` picks the kernel set. For comparing kernel changes; the
//! runtime's figures against llama.cpp are scripts/bench-formats.
//!
//! usage: RAYON_NUM_THREADS=1 cargo run --release -p locus-kernels --example prompt_speed [FORMAT ...]

use std::time::Instant;

use locus_kernels::{Format, QWeight};

fn bytes(n: usize, seed: &mut u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*seed >> 56) as u8
        })
        .collect()
}

fn main() {
    let all = [
        ("Q4_0", Format::Q4_0),
        ("Q4_1", Format::Q4_1),
        ("Q5_0", Format::Q5_0),
        ("Q5_1", Format::Q5_1),
        ("Q8_0", Format::Q8_0),
        ("IQ4_NL", Format::IQ4NL),
        ("Q2_K", Format::Q2K),
        ("Q3_K", Format::Q3K),
        ("Q4_K", Format::Q4K),
        ("Q5_K", Format::Q5K),
        ("Q6_K", Format::Q6K),
        ("IQ4_XS", Format::IQ4XS),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = |name: &str, default: usize| {
        std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
    };
    let (rows, cols) = (env("LOCUS_SPEED_ROWS", 2048), env("LOCUS_SPEED_COLS", 1280));
    let t = env("LOCUS_SPEED_TOKENS", 256);
    let mut seed = 7;
    let x: Vec<f32> = bytes(t * cols, &mut seed)
        .into_iter()
        .map(|b| b as f32 / 128.0 - 1.0)
        .collect();
    for (name, f) in all {
        if !args.is_empty() && !args.iter().any(|a| a == name) {
            continue;
        }
        let (bv, bb) = f.block();
        let mut w = bytes(rows * cols / bv * bb, &mut seed);
        // Every f16 scale a small normal number (random bits can be NaN).
        let scale = half::f16::from_f32(0.01).to_le_bytes();
        for b in w.chunks_mut(bb) {
            let at = if f.k() {
                &mut [] as &mut [u8]
            } else {
                &mut b[..2]
            };
            at.copy_from_slice(&scale[..at.len()]);
            if f.k() {
                let n = b.len();
                b[n - 2..].copy_from_slice(&scale);
            }
        }
        let w = QWeight::from_bytes(f, rows, cols, w).expect("shape");
        let time = |t: usize, runs: usize| {
            let _ = w.matmul(&x[..t * cols], t);
            let start = Instant::now();
            for _ in 0..runs {
                std::hint::black_box(w.matmul(&x[..t * cols], t));
            }
            start.elapsed().as_secs_f64() / runs as f64
        };
        let (prompt, one) = (time(t, 5), time(1, 400));
        println!(
            "{name:7} prompt {:6.1} GMAC/s   one token {:6.1} GMAC/s ({:.1} GB/s of weights)",
            (rows * cols * t) as f64 / prompt / 1e9,
            (rows * cols) as f64 / one / 1e9,
            (rows * cols / bv * bb) as f64 / one / 1e9,
        );
    }
}
