//! The cases of tests/fixtures/ggml-quants.bin (written by
//! scripts/make-quant-fixture.py): weights quantized by ggml's own
//! quantizer, ggml's dequantization of them and ggml's CPU dot products,
//! the reference the kernels and locus's dequantization are checked with.

use super::Format;

pub struct Case {
    /// ggml's type id.
    pub id: u32,
    pub format: Format,
    pub rows: usize,
    pub cols: usize,
    pub tokens: usize,
    pub bytes: Vec<u8>,
    /// ggml's dequantization, `rows * cols`.
    pub deq: Vec<f32>,
    /// Activations, `tokens * cols`.
    pub x: Vec<f32>,
    /// ggml's dot products, token-major (`tokens * rows`).
    pub dots: Vec<f32>,
}

/// The fixture's bytes.
pub const BYTES: &[u8] = include_bytes!("../../../tests/fixtures/ggml-quants.bin");

/// Every case of the fixture.
pub fn cases() -> Vec<Case> {
    let b = BYTES;
    let word = |pos: usize| u32::from_le_bytes(b[pos..pos + 4].try_into().expect("4 bytes"));
    let count = word(0);
    let mut out = Vec::new();
    let mut pos = 4;
    for _ in 0..count {
        let h: Vec<usize> = (0..5).map(|i| word(pos + 4 * i) as usize).collect();
        pos += 20;
        let (id, rows, cols, tokens, n) = (h[0] as u32, h[1], h[2], h[3], h[4]);
        let bytes = b[pos..pos + n].to_vec();
        pos += n;
        let mut floats = |k: usize| -> Vec<f32> {
            let v = b[pos..pos + 4 * k]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            pos += 4 * k;
            v
        };
        let deq = floats(rows * cols);
        let x = floats(tokens * cols);
        let dots = floats(tokens * rows);
        out.push(Case {
            id,
            format: Format::from_ggml(id).expect("a format the kernels run"),
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
