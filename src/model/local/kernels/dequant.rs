//! Weights back to f32, for every format the kernels run: the embedding
//! rows and small tensors of types candle has no storage for, and the
//! reference the tests compare ggml's own dequantization with.

use candle_core::quantized::GgmlType;
use candle_core::quantized::k_quants::{BlockQ4K, BlockQ5_0, BlockQ5K, BlockQ6K, BlockQ8_0};

use super::Format;
use super::blocks;
use super::scalar::f16_at;

/// `bytes` (whole blocks of `format`) into `out`, one value per element.
pub fn row(format: Format, bytes: &[u8], out: &mut [f32]) {
    let (values, size) = format.block();
    assert_eq!(bytes.len() / size * values, out.len(), "whole blocks");
    if let Some((size, dec)) = blocks::dec32(format) {
        // Only the formats with a minimum add it (ggml's -0.0 stays -0.0).
        let min = matches!(format, Format::Q4_1 | Format::Q5_1);
        for (b, o) in bytes.chunks_exact(size).zip(out.chunks_exact_mut(32)) {
            let k = dec(b);
            for (o, &x) in o.iter_mut().zip(&k.x) {
                *o = if min {
                    f32::from(x) * k.d + k.m
                } else {
                    f32::from(x) * k.d
                };
            }
        }
        return;
    }
    if let Some((size, dec)) = blocks::dec256(format) {
        for (b, o) in bytes.chunks_exact(size).zip(out.chunks_exact_mut(256)) {
            let k = dec(b);
            for (i, o) in o.iter_mut().enumerate() {
                let j = i / 16;
                *o = k.d * f32::from(k.sc[j]) * f32::from(k.x[i]) - k.dmin * f32::from(k.mn[j]);
            }
        }
        return;
    }
    match format {
        Format::Q8_0 => via_candle::<BlockQ8_0>(bytes, out),
        Format::Q5_0 => via_candle::<BlockQ5_0>(bytes, out),
        Format::F16 => {
            for (b, o) in bytes.chunks_exact(2).zip(out) {
                *o = f16_at(b, 0);
            }
        }
        Format::BF16 => {
            for (b, o) in bytes.chunks_exact(2).zip(out) {
                *o = half::bf16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        Format::Q4K => via_candle::<BlockQ4K>(bytes, out),
        Format::Q5K => via_candle::<BlockQ5K>(bytes, out),
        Format::Q6K => via_candle::<BlockQ6K>(bytes, out),
        _ => unreachable!("{format:?} is decoded by blocks"),
    }
}

/// candle's dequantization, on a copy of the bytes in its aligned block type.
fn via_candle<T: GgmlType>(bytes: &[u8], out: &mut [f32]) {
    let size = std::mem::size_of::<T>();
    let mut blocks = vec![T::zeros(); bytes.len() / size];
    // SAFETY: `blocks` is plain data of exactly `bytes.len()` bytes; any bit
    // pattern is a valid block.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            blocks.as_mut_ptr().cast::<u8>(),
            blocks.len() * size,
        );
    }
    T::to_float(&blocks, out);
}
