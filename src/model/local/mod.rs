//! The in-process runtime: a quantized Gemma (3 or 4) from a GGUF file on
//! candle, its tokenizer and chat template, sampling, and a prefix cache that
//! keeps the keys/values of the last sequence so a follow-up that shares its
//! beginning only computes what is new.

mod attention;
mod chat;
pub mod choose;
pub mod config;
pub mod device;
pub mod discovery;
pub mod draft;
mod engine;
pub mod gemma;
pub mod gemma4_tools;
pub mod gguf;
mod gguf_header;
mod held;
pub mod info;
pub mod kernels;
pub mod kv;
mod linear;
pub mod media;
pub mod pull;
pub mod sampler;
pub mod snapshot;
pub mod template;
pub mod tensor_type;
pub mod threads;
pub mod tokenizer;
pub mod vision;

use std::path::PathBuf;

pub use chat::LocalChat;
pub use draft::{DraftConfig, DraftKind};
pub use engine::{GenerateRequest, LocalModel};

pub use sampler::SamplerConfig;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot read model {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model file is not GGUF: {0}; run `locus models` to list usable models")]
    NotGguf(PathBuf),
    #[error("model {path} is not usable: {message}")]
    Format { path: PathBuf, message: String },
    #[error("model {path} lacks metadata `{key}`")]
    MissingKey { path: PathBuf, key: String },
    /// `detail`: which tensor has which type.
    #[error("model {path}: {detail}, which locus does not run (it runs {runs})", runs = tensor_type::RUNS)]
    UnsupportedType { path: PathBuf, detail: String },
    #[error("model {path} lacks tensor `{name}`")]
    MissingTensor { path: PathBuf, name: String },
    #[error("model {path} has architecture `{arch}`; locus runs gemma3 and gemma4")]
    UnsupportedArch { path: PathBuf, arch: String },
    #[error("model computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}
