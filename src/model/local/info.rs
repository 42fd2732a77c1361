//! What a model file is and what it will cost to run, from its metadata and
//! tensor table alone (nothing is loaded): `locus models` shows this.

use serde::Serialize;

use super::LocalError;
use super::config::ModelConfig;
use super::engine::PREFILL_CHUNK;
use super::gguf::Gguf;
use super::kv::{KV_ELEM_BYTES, SLIDING_SLACK};
use super::tensor_type::TensorType;

/// Code, tokenizer, thread stacks and allocator slack, measured on the small model.
const RUNTIME_OVERHEAD: u64 = 160 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub arch: String,
    pub quantization: String,
    pub file_bytes: u64,
    pub context_length: usize,
    pub layers: usize,
    /// Bytes of the tensors the text decoder loads (vision towers are skipped).
    pub weight_bytes: u64,
    pub kv_bytes_8k: u64,
    pub kv_bytes_32k: u64,
    /// Estimated peak resident memory at an 8k context.
    pub estimated_peak_bytes: u64,
    /// The types of the tensors the text decoder loads, most bytes first.
    pub tensor_types: Vec<TypeUse>,
    /// Whether every weight matrix is multiplied by locus's own kernels.
    pub fast_path: bool,
}

/// How much of a model is stored in one tensor type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeUse {
    #[serde(rename = "type")]
    pub ty: String,
    pub tensors: usize,
    /// How many of them are matrices (the rest are norms and scales).
    pub matrices: usize,
    pub bytes: u64,
    /// Its matrices run on locus's kernels (or it holds only vectors:
    /// norms and scales, which need none).
    pub fast_path: bool,
    /// locus runs this type at all.
    pub runs: bool,
}

/// The text decoder's tensors grouped by type.
pub fn tensor_types(g: &Gguf) -> Vec<TypeUse> {
    let mut by: Vec<(TensorType, TypeUse)> = Vec::new();
    for (_, t) in g.tensors.iter().filter(|(n, _)| is_text_tensor(n)) {
        let i = match by.iter().position(|(ty, _)| *ty == t.ty) {
            Some(i) => i,
            None => {
                by.push((
                    t.ty,
                    TypeUse {
                        ty: t.ty.name(),
                        tensors: 0,
                        matrices: 0,
                        bytes: 0,
                        fast_path: true,
                        runs: t.ty.runs(),
                    },
                ));
                by.len() - 1
            }
        };
        let u = &mut by[i].1;
        u.tensors += 1;
        u.matrices += usize::from(t.dims.len() >= 2);
        u.bytes += t.bytes().unwrap_or(0) as u64;
        u.fast_path &= t.ty.fast() || t.dims.len() < 2;
    }
    let mut v: Vec<TypeUse> = by.into_iter().map(|(_, u)| u).collect();
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.ty.cmp(&b.ty)));
    v
}

fn ftype_name(t: u64) -> Option<&'static str> {
    Some(match t {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        _ => return None,
    })
}

fn is_text_tensor(name: &str) -> bool {
    name.starts_with("blk.")
        || matches!(
            name,
            "token_embd.weight" | "output.weight" | "output_norm.weight" | "rope_freqs.weight"
        )
}

/// KV-cache bytes for `ctx` tokens: full layers hold every token, sliding
/// layers at most the window plus the rollback slack.
pub fn kv_bytes(cfg: &ModelConfig, ctx: usize) -> u64 {
    cfg.layers
        .iter()
        .map(|l| {
            let tokens = if l.sliding && cfg.window > 0 {
                ctx.min(cfg.window + SLIDING_SLACK + 512)
            } else {
                ctx
            };
            2 * (l.n_kv_head * l.head_dim * tokens * KV_ELEM_BYTES) as u64
        })
        .sum()
}

pub fn inspect(g: &Gguf) -> Result<ModelInfo, LocalError> {
    let cfg = ModelConfig::from_gguf(g)?;
    let weight_bytes: u64 = g
        .tensors
        .keys()
        .filter(|n| is_text_tensor(n))
        .filter_map(|n| g.tensor_bytes(n))
        .map(|b| b as u64)
        .sum();
    let quantization = g
        .u64("general.file_type")
        .ok()
        .and_then(ftype_name)
        .map(String::from)
        .unwrap_or_else(|| {
            g.dtype("blk.0.ffn_down.weight")
                .map(TensorType::name)
                .unwrap_or_else(|| "?".into())
        });
    let types = tensor_types(g);
    let max_ffn = cfg.layers.iter().map(|l| l.ffn).max().unwrap_or(0);
    let max_heads = cfg
        .layers
        .iter()
        .map(|l| l.n_head * l.head_dim)
        .max()
        .unwrap_or(0);
    // One prefill chunk's activations (f32): residual, q/k/v/out, gate/up, and scores.
    let scratch = (PREFILL_CHUNK * (4 * cfg.hidden + 4 * max_heads + 3 * max_ffn) * 4) as u64
        + (cfg.layers.iter().map(|l| l.n_head).max().unwrap_or(0) * PREFILL_CHUNK * 8192 * 4)
            as u64
        + (cfg.vocab * 4 * 2) as u64;
    let kv_8k = kv_bytes(&cfg, 8192);
    let name = g.str("general.name").map(String::from).unwrap_or_else(|_| {
        g.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    Ok(ModelInfo {
        name,
        arch: cfg.arch.name().into(),
        quantization,
        file_bytes: g.file_size(),
        context_length: cfg.context,
        layers: cfg.layers.len(),
        weight_bytes,
        kv_bytes_8k: kv_8k,
        kv_bytes_32k: kv_bytes(&cfg, 32768),
        estimated_peak_bytes: weight_bytes + kv_8k + scratch + RUNTIME_OVERHEAD,
        fast_path: types.iter().all(|t| t.fast_path && t.runs),
        tensor_types: types,
    })
}
