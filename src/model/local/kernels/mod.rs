//! locus's CPU matrix kernels (the `locus-kernels` crate: SIMD chosen at
//! run time, rows shared over the compute threads) joined to the rest of
//! the runtime: candle's CPU tensors lent to them without a copy, GGUF
//! types mapped to their formats, and dequantization for what the
//! kernels do not multiply (embedding rows, small tensors).

pub mod dequant;

use std::sync::Arc;

use candle_core::quantized::QTensor;
pub use locus_kernels::*;

use super::tensor_type::TensorType;

/// The kernels' format for a GGUF tensor type, where they have one.
pub fn format_of(t: TensorType) -> Option<Format> {
    Format::from_ggml(t.id())
}

/// A candle tensor's weights for the kernels, borrowed from its CPU storage;
/// `None` when it is not on the CPU, not 2-D, or its format has no kernel
/// (the caller then uses candle's product).
pub fn qweight(tensor: Arc<QTensor>) -> Option<QWeight> {
    if !tensor.device().is_cpu() {
        return None;
    }
    let format = format_of(TensorType::from_candle(tensor.dtype()))?;
    let (rows, cols) = tensor.shape().dims2().ok()?;
    let std::borrow::Cow::Borrowed(bytes) = tensor.data().ok()? else {
        return None;
    };
    // The slice outlives this function only through the QWeight, which
    // holds the tensor.
    let (ptr, len) = (bytes.as_ptr(), bytes.len());
    // SAFETY: `ptr..ptr + len` is the tensor's CPU storage, which the Arc
    // given as owner keeps alive and which nothing mutates.
    unsafe {
        QWeight::borrowed(
            tensor,
            std::slice::from_raw_parts(ptr, len),
            format,
            rows,
            cols,
        )
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ggml;
