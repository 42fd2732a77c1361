//! One-token products streaming their weights from memory: 24 random
//! weights of 15,360 × C columns (C from the environment, default 3,840: a
//! Gemma 4 12B FFN matrix), about 0.8 GB, more than the caches hold; prints
//! the weight bytes read per second. Formats: Q4_K Q6_K IQ4_XS Q4_0 Q8_0.
//!
//! usage: cargo run --release -p locus-kernels --example decode_memory -- Q4_K IQ4_XS

use locus_kernels::{Format, QWeight};
use std::time::Instant;
fn main() {
    let fmts: Vec<String> = std::env::args().skip(1).collect();
    for name in fmts {
        let f = match name.as_str() {
            "Q4_K" => Format::Q4K,
            "Q6_K" => Format::Q6K,
            "IQ4_XS" => Format::IQ4XS,
            "Q4_0" => Format::Q4_0,
            "Q8_0" => Format::Q8_0,
            _ => panic!("formats: Q4_K Q6_K IQ4_XS Q4_0 Q8_0"),
        };
        let cols: usize = std::env::var("C")
            .map(|v| v.parse().unwrap())
            .unwrap_or(3840);
        let rows = 15360;
        let (bv, bb) = f.block();
        let n = 24; // ~24 × 33 MB
        let ws: Vec<QWeight> = (0..n)
            .map(|i| {
                let mut w: Vec<u8> = (0..rows * cols / bv * bb)
                    .map(|j| (j as u32).wrapping_mul(2654435761).wrapping_add(i) as u8 >> 1)
                    .collect();
                let sc = half::f16::from_f32(0.01).to_le_bytes();
                for b in w.chunks_mut(bb) {
                    if f.k() {
                        let l = b.len();
                        if f == Format::Q6K {
                            b[l - 2..].copy_from_slice(&sc)
                        } else {
                            b[0] = sc[0];
                            b[1] = sc[1];
                        }
                    } else {
                        b[0] = sc[0];
                        b[1] = sc[1];
                    }
                }
                QWeight::from_bytes(f, rows, cols, w).unwrap()
            })
            .collect();
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i * 7) % 13) as f32 / 13.0 - 0.5)
            .collect();
        for w in &ws {
            std::hint::black_box(w.matmul(&x, 1));
        }
        let start = Instant::now();
        let reps = 3;
        for _ in 0..reps {
            for w in &ws {
                std::hint::black_box(w.matmul(&x, 1));
            }
        }
        let s = start.elapsed().as_secs_f64() / reps as f64;
        let bytes = (n as usize * rows * cols / bv * bb) as f64;
        println!(
            "{name}: {:.1} GB/s from memory ({:.0} MB per pass, {:.0} ms)",
            bytes / s / 1e9,
            bytes / 1e6,
            s * 1e3
        );
    }
}
