//! locus's dequantization against ggml's, bit for bit, on the weights of
//! tests/fixtures/ggml-quants.bin (the kernels' own crate checks its dot
//! products on the same file).

use super::*;

#[test]
fn dequantization_is_ggmls_bit_for_bit() {
    let cases = ggml_fixture::cases();
    assert_eq!(cases.len(), 14, "every format the kernels run");
    for c in &cases {
        assert_eq!(format_of(TensorType::from_id(c.id)), Some(c.format));
        let mut got = vec![0f32; c.rows * c.cols];
        dequant::row(c.format, &c.bytes, &mut got);
        for (i, (g, w)) in got.iter().zip(&c.deq).enumerate() {
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "{:?} value {i}: {g} vs ggml {w}",
                c.format
            );
        }
    }
}
