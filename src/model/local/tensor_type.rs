//! The tensor types a GGUF file can hold (ggml's type ids), which of them
//! locus runs, and which run on its own kernels (the fast path).

use candle_core::quantized::GgmlDType;

/// A GGUF tensor's type, by ggml's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    IQ4NL,
    IQ4XS,
    /// A type locus does not run (its ggml id).
    Other(u32),
}

/// The types locus runs, as ggml names them (for error messages and docs).
pub const RUNS: &str =
    "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS";

/// The types candle stores, one row each way.
const CANDLE: [(TensorType, GgmlDType); 15] = [
    (TensorType::F32, GgmlDType::F32),
    (TensorType::F16, GgmlDType::F16),
    (TensorType::BF16, GgmlDType::BF16),
    (TensorType::Q4_0, GgmlDType::Q4_0),
    (TensorType::Q4_1, GgmlDType::Q4_1),
    (TensorType::Q5_0, GgmlDType::Q5_0),
    (TensorType::Q5_1, GgmlDType::Q5_1),
    (TensorType::Q8_0, GgmlDType::Q8_0),
    (TensorType::Q8_1, GgmlDType::Q8_1),
    (TensorType::Q2K, GgmlDType::Q2K),
    (TensorType::Q3K, GgmlDType::Q3K),
    (TensorType::Q4K, GgmlDType::Q4K),
    (TensorType::Q5K, GgmlDType::Q5K),
    (TensorType::Q6K, GgmlDType::Q6K),
    (TensorType::Q8K, GgmlDType::Q8K),
];

impl TensorType {
    pub fn from_id(id: u32) -> TensorType {
        use TensorType::*;
        match id {
            0 => F32,
            1 => F16,
            2 => Q4_0,
            3 => Q4_1,
            6 => Q5_0,
            7 => Q5_1,
            8 => Q8_0,
            9 => Q8_1,
            10 => Q2K,
            11 => Q3K,
            12 => Q4K,
            13 => Q5K,
            14 => Q6K,
            15 => Q8K,
            20 => IQ4NL,
            23 => IQ4XS,
            30 => BF16,
            other => Other(other),
        }
    }

    /// ggml's id for the type (the inverse of `from_id`).
    pub fn id(self) -> u32 {
        match self {
            TensorType::Other(id) => id,
            t => (0..64)
                .find(|&i| TensorType::from_id(i) == t)
                .expect("every named type has an id below 64"),
        }
    }

    /// The type of a tensor candle holds (every candle type is one of ggml's).
    pub fn from_candle(d: GgmlDType) -> TensorType {
        CANDLE
            .iter()
            .find(|(_, c)| *c == d)
            .map(|(t, _)| *t)
            .expect("every candle type is in CANDLE")
    }

    /// ggml's name for the type (`Q4_K`, `IQ4_XS`, `IQ2_XXS`, …).
    pub fn name(self) -> String {
        use TensorType::*;
        let s = match self {
            F32 => "F32",
            F16 => "F16",
            BF16 => "BF16",
            Q4_0 => "Q4_0",
            Q4_1 => "Q4_1",
            Q5_0 => "Q5_0",
            Q5_1 => "Q5_1",
            Q8_0 => "Q8_0",
            Q8_1 => "Q8_1",
            Q2K => "Q2_K",
            Q3K => "Q3_K",
            Q4K => "Q4_K",
            Q5K => "Q5_K",
            Q6K => "Q6_K",
            Q8K => "Q8_K",
            IQ4NL => "IQ4_NL",
            IQ4XS => "IQ4_XS",
            Other(id) => {
                return match id {
                    4 | 5 => format!("Q4_2/Q4_3 (id {id}, removed from ggml)"),
                    16 => "IQ2_XXS".into(),
                    17 => "IQ2_XS".into(),
                    18 => "IQ3_XXS".into(),
                    19 => "IQ1_S".into(),
                    21 => "IQ3_S".into(),
                    22 => "IQ2_S".into(),
                    24 => "I8".into(),
                    25 => "I16".into(),
                    26 => "I32".into(),
                    27 => "I64".into(),
                    28 => "F64".into(),
                    29 => "IQ1_M".into(),
                    31..=33 => format!("Q4_0_4x4/4x8/8x8 (id {id}, removed from ggml)"),
                    34 => "TQ1_0".into(),
                    35 => "TQ2_0".into(),
                    39 => "MXFP4".into(),
                    _ => format!("type id {id}"),
                };
            }
        };
        s.into()
    }

    /// (values, bytes) of one block; `None` for a type locus does not run.
    pub fn block(self) -> Option<(usize, usize)> {
        use TensorType::*;
        Some(match self {
            F32 => (1, 4),
            F16 | BF16 => (1, 2),
            Q4_0 | IQ4NL => (32, 18),
            Q4_1 => (32, 20),
            Q5_0 => (32, 22),
            Q5_1 => (32, 24),
            Q8_0 => (32, 34),
            Q8_1 => (32, 36),
            Q2K => (256, 84),
            Q3K => (256, 110),
            Q4K => (256, 144),
            Q5K => (256, 176),
            Q6K => (256, 210),
            Q8K => (256, 292),
            IQ4XS => (256, 136),
            Other(_) => return None,
        })
    }

    /// candle's type for it, where candle has one.
    pub fn candle(self) -> Option<GgmlDType> {
        CANDLE.iter().find(|(t, _)| *t == self).map(|(_, c)| *c)
    }

    /// Whether a weight matrix of this type is multiplied by locus's own
    /// kernels (SIMD where the CPU has it).
    pub fn fast(self) -> bool {
        crate::model::local::kernels::format_of(self).is_some()
    }

    /// Whether locus runs a tensor of this type at all.
    pub fn runs(self) -> bool {
        !matches!(self, TensorType::Other(_))
    }
}

impl std::fmt::Display for TensorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sizes_match_candle() {
        for id in 0..40 {
            let t = TensorType::from_id(id);
            if let Some(c) = t.candle() {
                assert_eq!(t.block(), Some((c.block_size(), c.type_size())), "{t}");
            }
        }
        assert_eq!(TensorType::from_id(23).name(), "IQ4_XS");
        for id in 0..64 {
            assert_eq!(TensorType::from_id(id).id(), id);
        }
        assert_eq!(TensorType::from_id(16).name(), "IQ2_XXS");
        assert!(!TensorType::from_id(16).runs());
        assert!(TensorType::IQ4XS.runs() && TensorType::IQ4XS.candle().is_none());
    }

    #[test]
    fn every_candle_type_maps_both_ways() {
        // An exhaustive match: a type candle adds fails to compile here
        // until CANDLE has a row for it.
        let all = |d: GgmlDType| match d {
            GgmlDType::F32
            | GgmlDType::F16
            | GgmlDType::BF16
            | GgmlDType::Q4_0
            | GgmlDType::Q4_1
            | GgmlDType::Q5_0
            | GgmlDType::Q5_1
            | GgmlDType::Q8_0
            | GgmlDType::Q8_1
            | GgmlDType::Q2K
            | GgmlDType::Q3K
            | GgmlDType::Q4K
            | GgmlDType::Q5K
            | GgmlDType::Q6K
            | GgmlDType::Q8K => d,
        };
        for (t, c) in CANDLE {
            assert_eq!(TensorType::from_candle(all(c)), t);
            assert_eq!(t.candle(), Some(c));
        }
        let ids: std::collections::HashSet<_> = CANDLE.iter().map(|(t, _)| *t).collect();
        assert_eq!(ids.len(), CANDLE.len(), "one row per type");
        // 15 distinct candle types: all of the match's variants.
        for (_, c) in CANDLE {
            assert_eq!(CANDLE.iter().filter(|(_, d)| *d == c).count(), 1);
        }
    }
}
