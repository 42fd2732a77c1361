//! Hyper-parameters of a Gemma decoder, read from GGUF metadata. One shape
//! covers Gemma 3 and Gemma 4: what differs (per-layer head counts and head
//! sizes, K=V layers, proportional RoPE, output scalars, soft-capping) is per
//! layer or optional here, so one decoder runs both.

use super::LocalError;
use super::gguf::Gguf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Gemma3,
    Gemma4,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Gemma3 => "gemma3",
            Arch::Gemma4 => "gemma4",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayerConfig {
    pub sliding: bool,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    /// Dimensions RoPE rotates (NEOX pairing over this many dims).
    pub n_rot: usize,
    pub rope_base: f32,
    /// Multiplies positions (1 / linear scaling factor).
    pub rope_scale: f32,
    /// Uses the model's `rope_freqs` divisors (Gemma 4 full layers: proportional RoPE).
    pub rope_freq_factors: bool,
    pub ffn: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    pub hidden: usize,
    pub layers: Vec<LayerConfig>,
    pub vocab: usize,
    pub context: usize,
    pub window: usize,
    pub eps: f64,
    /// Multiplies q after q_norm (Gemma 3: 1/sqrt(head_dim); Gemma 4: 1).
    pub attn_scale: f64,
    pub final_softcap: Option<f64>,
}

fn prefixed(arch: &str, key: &str) -> String {
    format!("{arch}.{key}")
}

impl ModelConfig {
    pub fn from_gguf(g: &Gguf) -> Result<ModelConfig, LocalError> {
        let arch_name = g.arch()?.to_string();
        let arch = match arch_name.as_str() {
            "gemma3" => Arch::Gemma3,
            "gemma4" => Arch::Gemma4,
            other => {
                return Err(LocalError::UnsupportedArch {
                    path: g.path.clone(),
                    arch: other.to_string(),
                });
            }
        };
        Self::parse(g, &arch_name, arch)
    }

    /// A Gemma 4 MTP assistant's layers (its keys are Gemma 4's under
    /// `gemma4-assistant.`), and the width of the model it drafts for
    /// (`embedding_length_out`).
    pub fn assistant(g: &Gguf) -> Result<(ModelConfig, usize), LocalError> {
        const ARCH: &str = "gemma4-assistant";
        let arch = g.arch()?;
        if arch != ARCH {
            return Err(LocalError::Format {
                path: g.path.clone(),
                message: format!("architecture `{arch}` is not a Gemma 4 MTP assistant ({ARCH})"),
            });
        }
        let cfg = Self::parse(g, ARCH, Arch::Gemma4)?;
        let backbone = g.u64(&prefixed(ARCH, "embedding_length_out"))? as usize;
        Ok((cfg, backbone))
    }

    fn parse(g: &Gguf, arch_name: &str, arch: Arch) -> Result<ModelConfig, LocalError> {
        let k = |key: &str| prefixed(arch_name, key);
        let n_layer = g.u64(&k("block_count"))? as usize;
        let hidden = g.u64(&k("embedding_length"))? as usize;
        let eps = f64::from(
            g.f32(&k("attention.layer_norm_rms_epsilon"))
                .unwrap_or(1e-6),
        );
        let context = g.u64(&k("context_length")).unwrap_or(8192) as usize;
        let window = g.u64(&k("attention.sliding_window")).unwrap_or(0) as usize;
        let n_head = g.u64_per_layer(&k("attention.head_count"), n_layer)?;
        let ffn = g.u64_per_layer(&k("feed_forward_length"), n_layer)?;
        let vocab = g
            .array("tokenizer.ggml.tokens")
            .map(Vec::len)
            .or_else(|_| g.u64(&k("vocab_size")).map(|v| v as usize))?;
        let softcap = g
            .f32(&k("final_logit_softcapping"))
            .ok()
            .filter(|c| *c > 0.0)
            .map(f64::from);
        let rope_base = g.f32(&k("rope.freq_base")).unwrap_or(1_000_000.0);
        let rope_base_swa = g
            .f32(&k("rope.freq_base_swa"))
            .or_else(|_| g.f32(&k("rope.local.freq_base")))
            .unwrap_or(10_000.0);
        let rope_scale = match (
            g.str(&k("rope.scaling.type")),
            g.f32(&k("rope.scaling.factor")),
        ) {
            (Ok("linear") | Err(_), Ok(f)) if f > 0.0 => 1.0 / f,
            _ => 1.0,
        };

        let sliding: Vec<bool> = match g.get(&k("attention.sliding_window_pattern")) {
            Some(candle_core::quantized::gguf_file::Value::Array(a)) => {
                if a.len() != n_layer {
                    return Err(LocalError::Format {
                        path: g.path.clone(),
                        message: format!(
                            "sliding_window_pattern has {} entries for {n_layer} layers",
                            a.len()
                        ),
                    });
                }
                a.iter().map(|v| v.to_bool().unwrap_or(false)).collect()
            }
            Some(v) => {
                let p = v.to_u32().unwrap_or(6) as usize;
                (0..n_layer)
                    .map(|i| window > 0 && (p == 0 || i % p < p - 1))
                    .collect()
            }
            None if window > 0 && arch == Arch::Gemma3 => (0..n_layer).map(|i| i % 6 < 5).collect(),
            None => vec![false; n_layer],
        };

        let head_full = g.u64(&k("attention.key_length"))? as usize;
        let head_swa = g
            .u64(&k("attention.key_length_swa"))
            .map(|v| v as usize)
            .unwrap_or(head_full);
        let kv_heads: Vec<u64> = match (
            g.get(&k("attention.head_count_kv")),
            g.u64(&k("attention.global_head_count_kv")),
        ) {
            (Some(_), Ok(global)) => {
                let swa = g.u64_per_layer(&k("attention.head_count_kv"), n_layer)?;
                (0..n_layer)
                    .map(|i| if sliding[i] { swa[i] } else { global })
                    .collect()
            }
            _ => g.u64_per_layer(&k("attention.head_count_kv"), n_layer)?,
        };
        let n_rot_full = g
            .u64(&k("rope.dimension_count"))
            .map(|v| v as usize)
            .unwrap_or(head_full);
        let n_rot_swa = g
            .u64(&k("rope.dimension_count_swa"))
            .map(|v| v as usize)
            .unwrap_or(head_swa);
        let has_freqs = g.has_tensor("rope_freqs.weight");
        if arch == Arch::Gemma4 {
            let shared = g.u64(&k("attention.shared_kv_layers")).unwrap_or(0);
            let per_layer_input = g.u64(&k("embedding_length_per_layer_input")).unwrap_or(0);
            let moe = g.u64(&k("expert_count")).unwrap_or(0);
            if shared > 0 || per_layer_input > 0 || moe > 0 {
                return Err(LocalError::Format {
                    path: g.path.clone(),
                    message: "this Gemma 4 variant (shared-KV, per-layer-input or MoE layers) is not supported; \
                              use the dense Gemma 4 12B"
                        .into(),
                });
            }
        }

        let layers = (0..n_layer)
            .map(|i| {
                let swa = sliding[i];
                LayerConfig {
                    sliding: swa,
                    n_head: n_head[i] as usize,
                    n_kv_head: kv_heads[i] as usize,
                    head_dim: if swa { head_swa } else { head_full },
                    n_rot: if swa { n_rot_swa } else { n_rot_full },
                    rope_base: if swa { rope_base_swa } else { rope_base },
                    rope_scale: if swa { 1.0 } else { rope_scale },
                    rope_freq_factors: !swa && has_freqs && arch == Arch::Gemma4,
                    ffn: ffn[i] as usize,
                }
            })
            .collect::<Vec<_>>();
        let attn_scale = match arch {
            Arch::Gemma4 => 1.0,
            Arch::Gemma3 => {
                let q = g
                    .f32(&k("attention.query_pre_attn_scalar"))
                    .map(f64::from)
                    .unwrap_or(head_full as f64);
                1.0 / q.sqrt()
            }
        };
        Ok(ModelConfig {
            arch,
            hidden,
            layers,
            vocab,
            context,
            window,
            eps,
            attn_scale,
            final_softcap: softcap,
        })
    }
}
