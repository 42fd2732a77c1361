//! Images into Gemma 4: the "unified" vision projector (llama.cpp's
//! `gemma4uv` mmproj), which has no encoder layers. Each 48 x 48 patch
//! (the model's 16-pixel patches merged 3 x 3) goes through LayerNorm ->
//! Linear with bias -> LayerNorm -> + its column's and row's position rows
//! -> LayerNorm -> RMSNorm without scale -> Linear to the text model's
//! width, and the rows replace the image's soft tokens in the prompt.
//! Checked against llama.cpp's mtmd (`clip_graph_gemma4uv`) on generated
//! projectors: tests/vision.rs.

pub mod audio;
pub mod decode;
pub mod prep;
mod resample;
mod resize;

use std::path::{Path, PathBuf};

use candle_core::{D, Device, Tensor};

use super::LocalError;
use super::gguf::Gguf;
use super::media::{self, Media, MediaKind};
pub use decode::{MediaError, decode_image};
pub use prep::{Budget, Patches, Rgb};

/// The LayerNorms' epsilon: PyTorch's default, which llama.cpp fixes too
/// (the GGUF's epsilon is the final RMSNorm's).
const LN_EPS: f32 = 1e-5;

/// Soft tokens an image may take: llama.cpp's floor for Gemma 4, and the
/// model's default budget (Hugging Face's `max_soft_tokens`).
pub const MIN_TOKENS: usize = 70;
pub const DEFAULT_TOKENS: usize = 280;

struct Norm {
    weight: Tensor,
    bias: Tensor,
}

impl Norm {
    fn load(g: &Gguf, n: usize, device: &Device) -> Result<Norm, LocalError> {
        let t = |s: &str| dense(g, &format!("v.patch_norm.{n}.{s}"), device);
        Ok(Norm {
            weight: t("weight")?,
            bias: t("bias")?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, LocalError> {
        Ok(candle_nn::ops::layer_norm(
            x,
            &self.weight,
            &self.bias,
            LN_EPS,
        )?)
    }
}

/// A loaded vision projector.
pub struct Projector {
    pub path: PathBuf,
    /// Pixels on a side of one patch (one soft token).
    pub side: usize,
    /// The text model's width its rows have.
    pub width: usize,
    eps: f32,
    mean: [f32; 3],
    std: [f32; 3],
    norm1: Norm,
    /// The two matrices in f32 (dequantized once: an image's rows go
    /// through them as one matrix product each, which f32 GEMM does
    /// fastest).
    embed: Tensor,
    bias: Tensor,
    norm2: Norm,
    /// [2 * positions, V]: the x rows, then the y rows.
    pos: Tensor,
    positions: usize,
    norm3: Norm,
    proj: Tensor,
    device: Device,
    /// What identifies this projector in a media key.
    identity: String,
}

/// Why an image could not go into the prompt.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Model(#[from] LocalError),
}

pub(super) fn dense(g: &Gguf, name: &str, device: &Device) -> Result<Tensor, LocalError> {
    super::gemma::dense(g.tensor(name, device)?, device)
}

/// A projector file's path, size and modification time.
pub(super) fn identity(path: &Path) -> String {
    let meta = std::fs::metadata(path).ok();
    let len = meta.as_ref().map_or(0, |m| m.len());
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{} {len} {mtime}", path.display())
}

/// Whether `g` is a model file that carries Gemma 4's unified projector
/// among its own tensors (as Ollama's single-blob models and some merged
/// conversions do) rather than in a companion mmproj file.
pub fn holds_projector(g: &Gguf) -> bool {
    g.arch().is_ok_and(|a| a != "clip")
        && g.has_tensor("v.patch_embd.weight")
        && g.has_tensor("mm.input_projection.weight")
}

/// A model file holding its own projector: the vision keys under the
/// model's architecture (`gemma4.vision.*`) or the clip ones, when present.
fn vision_key(g: &Gguf, key: &str) -> Vec<String> {
    let mut keys = vec![format!("clip.vision.{key}")];
    if let Ok(arch) = g.arch() {
        keys.push(format!("{arch}.vision.{key}"));
    }
    keys
}

/// Whether `g` is a projector locus runs (header only: cheap enough for
/// `locus models`): an mmproj file, or a model file holding one.
pub fn check(g: &Gguf) -> Result<(), LocalError> {
    let bad = |message: String| LocalError::Format {
        path: g.path.clone(),
        message,
    };
    if holds_projector(g) {
        // No clip metadata to name the kind: the unified projector is the
        // one with three patch norms and no encoder blocks.
        if !g.has_tensor("v.patch_norm.1.weight")
            || g.tensors.keys().any(|k| k.starts_with("v.blk."))
        {
            return Err(bad(
                "the model's own vision tensors are an encoder locus does not run; \
                 locus runs Gemma 4's unified projector (gemma4uv)"
                    .into(),
            ));
        }
        return Ok(());
    }
    if g.arch()? != "clip" {
        return Err(bad(format!(
            "architecture `{}` is not a vision projector (mmproj)",
            g.arch()?
        )));
    }
    let kind = g
        .str("clip.vision.projector_type")
        .or_else(|_| g.str("clip.projector_type"))?;
    if kind != "gemma4uv" {
        return Err(bad(format!(
            "projector type `{kind}`; locus runs Gemma 4's unified projector (gemma4uv)"
        )));
    }
    if !g.bool("clip.has_vision_encoder").unwrap_or(false) {
        return Err(bad("the projector has no vision part".into()));
    }
    Ok(())
}

impl Projector {
    pub fn load(path: &Path, device: &Device) -> Result<Projector, LocalError> {
        let g = Gguf::open(path)?;
        let bad = |message: String| LocalError::Format {
            path: path.into(),
            message,
        };
        check(&g)?;
        let int = |key: &str| vision_key(&g, key).iter().find_map(|k| g.u64(k).ok());
        let float = |key: &str| vision_key(&g, key).iter().find_map(|k| g.f32(k).ok());
        let merge = int("projector.scale_factor").unwrap_or(3) as usize;
        let n_in = g
            .tensors
            .get("v.patch_embd.weight")
            .and_then(|t| t.dims.last().copied())
            .ok_or_else(|| bad("no v.patch_embd.weight".into()))?;
        // A file without the patch size (a model holding its projector)
        // gets it from the patch vector: 3 x side x side values.
        let side = match int("patch_size") {
            Some(p) => p as usize * merge,
            None => (1..=n_in)
                .find(|s| 3 * s * s >= n_in)
                .filter(|s| 3 * s * s == n_in)
                .ok_or_else(|| bad(format!("a patch vector of {n_in} values is not 3 x s x s")))?,
        };
        // The final RMSNorm's epsilon: the projector's, else the model's.
        let eps = float("attention.layer_norm_epsilon")
            .or_else(|| {
                let arch = g.arch().ok()?;
                g.f32(&format!("{arch}.attention.layer_norm_rms_epsilon"))
                    .ok()
            })
            .ok_or_else(|| LocalError::MissingKey {
                path: path.into(),
                key: "clip.vision.attention.layer_norm_epsilon".into(),
            })?;
        let three = |key: &str, default: f32| -> Result<[f32; 3], LocalError> {
            let Ok(a) = g.array(key) else {
                return Ok([default; 3]);
            };
            let v: Vec<f32> = a.iter().filter_map(|v| v.to_f32().ok()).collect();
            v.get(..3)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| bad(format!("metadata `{key}` is not three floats")))
        };
        let pos = dense(&g, "v.position_embd.weight", device)?;
        let v = pos.dim(D::Minus1)?;
        let pos = pos.reshape(((), v))?;
        let positions = pos.dim(0)? / 2;
        let proj = dense(&g, "mm.input_projection.weight", device)?;
        let width = g
            .tensors
            .get("mm.input_projection.weight")
            .map(|t| t.dims[0])
            .ok_or_else(|| bad("no mm.input_projection.weight".into()))?;
        let n_in = 3 * side * side;
        let embed_dims = g.tensors.get("v.patch_embd.weight").map(|t| t.dims.clone());
        if embed_dims.as_deref() != Some(&[v, n_in][..]) {
            return Err(bad(format!(
                "v.patch_embd.weight is {embed_dims:?}, not [{v}, {n_in}] for {side}-pixel patches"
            )));
        }
        Ok(Projector {
            path: path.into(),
            side,
            width,
            eps,
            mean: three("clip.vision.image_mean", 0.0)?,
            std: three("clip.vision.image_std", 1.0)?,
            norm1: Norm::load(&g, 1, device)?,
            embed: dense(&g, "v.patch_embd.weight", device)?,
            bias: dense(&g, "v.patch_embd.bias", device)?,
            norm2: Norm::load(&g, 2, device)?,
            pos,
            positions,
            norm3: Norm::load(&g, 3, device)?,
            proj,
            device: device.clone(),
            identity: identity(path),
        })
    }

    /// The image file at `path` encoded with at most `max_tokens` soft
    /// tokens, keyed by its bytes, the budget and this projector.
    pub fn encode_image(&self, path: &Path, max_tokens: usize) -> Result<Media, ImageError> {
        let data = decode::read_limited(path)?;
        self.encode_bytes(path, &data, max_tokens)
    }

    /// The key an image with contents `data` gets at `max_tokens`.
    pub fn key(&self, data: &[u8], max_tokens: usize) -> [u8; 32] {
        media::key(data, &format!("image {max_tokens} {}", self.identity))
    }

    /// `encode_image` of contents already read.
    pub fn encode_bytes(
        &self,
        path: &Path,
        data: &[u8],
        max_tokens: usize,
    ) -> Result<Media, ImageError> {
        let rgb = decode::decode_bytes(path, data)?;
        let rows = self.encode(&prep::patches(&rgb, self.budget(max_tokens)))?;
        let rows = rows
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(LocalError::from)?;
        let key = self.key(data, max_tokens);
        Ok(Media::new(MediaKind::Image, key, rows, self.width))
    }

    /// The budget an image gets with at most `max_tokens` soft tokens.
    pub fn budget(&self, max_tokens: usize) -> Budget {
        Budget {
            side: self.side,
            min_tokens: MIN_TOKENS.min(max_tokens),
            max_tokens,
        }
    }

    /// The soft-token rows of `patches`: [cols * rows, width].
    pub fn encode(&self, p: &Patches) -> Result<Tensor, LocalError> {
        assert_eq!(p.side, self.side, "patches cut for this projector");
        if p.cols > self.positions || p.rows > self.positions {
            return Err(LocalError::Format {
                path: self.path.clone(),
                message: format!(
                    "an image of {} x {} patches; the projector has positions for {}",
                    p.cols, p.rows, self.positions
                ),
            });
        }
        let n = p.cols * p.rows;
        let n_in = 3 * self.side * self.side;
        let area = self.side * self.side;
        let mut values = p.values.clone();
        for patch in values.chunks_exact_mut(n_in) {
            for (c, plane) in patch.chunks_exact_mut(area).enumerate() {
                plane
                    .iter_mut()
                    .for_each(|v| *v = (*v - self.mean[c]) / self.std[c]);
            }
        }
        let x = Tensor::from_vec(values, (n, n_in), &self.device)?;
        let x = self.norm1.forward(&x)?;
        let x = x.matmul(&self.embed.t()?)?.broadcast_add(&self.bias)?;
        let x = self.norm2.forward(&x)?;
        let xs: Vec<u32> = (0..n).map(|i| (i % p.cols) as u32).collect();
        let ys: Vec<u32> = (0..n)
            .map(|i| (self.positions + i / p.cols) as u32)
            .collect();
        let at = |ids: Vec<u32>| -> Result<Tensor, LocalError> {
            Ok(self.pos.index_select(&Tensor::new(ids, &self.device)?, 0)?)
        };
        let x = ((x + at(xs)?)? + at(ys)?)?;
        let x = self.norm3.forward(&x)?;
        let x = super::gemma::rms_norm_plain(&x, self.eps)?;
        Ok(x.matmul(&self.proj.t()?)?)
    }
}
