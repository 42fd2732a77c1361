//! Which local model to run and loading it for chat: `--model` (a path or a
//! name `locus models` lists), else the configured path, else `$LOCUS_MODEL`,
//! else the only model found. Shared by the commands and the TUI.

use std::path::{Path, PathBuf};

use super::discovery::{self, SearchPaths};
use super::{LocalChat, LocalError, LocalModel};

#[derive(Debug, thiserror::Error)]
pub enum ChooseError {
    #[error("no model `{0}`: not a file, and not a name `locus models` lists")]
    Unknown(String),
    #[error(
        "no local model found; pass --model PATH, set model.path in the config or LOCUS_MODEL, \
         or run `locus models pull`"
    )]
    NoneFound,
    #[error(
        "several models found; choose one with --model NAME (see `locus models`) or set model.path"
    )]
    Several,
    #[error(
        "{what} names {}, which is not a file; fix it (or unset it) — `locus models` lists the models found",
        path.display()
    )]
    Missing { what: &'static str, path: PathBuf },
    #[error(transparent)]
    Device(#[from] super::device::DeviceError),
    #[error("cannot load {}: {source}", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: LocalError,
    },
}

/// `configured`: the config's `model.path`; `spec`: what the user asked for.
pub fn resolve(configured: Option<PathBuf>, spec: Option<&str>) -> Result<PathBuf, ChooseError> {
    let paths = SearchPaths::from_env(configured);
    let found = discovery::discover(&paths);
    // A model the user named (a path, or a name `locus models` lists) that
    // is not there is an error, never a silent fall back to another one.
    if spec.is_none() {
        for (what, p) in [
            ("model.path", &paths.configured),
            ("LOCUS_MODEL", &paths.env),
        ] {
            if let Some(p) = p
                && !p.is_file()
            {
                return discovery::resolve(&p.to_string_lossy(), &found).ok_or_else(|| {
                    ChooseError::Missing {
                        what,
                        path: p.clone(),
                    }
                });
            }
        }
    }
    if let Some(spec) = spec {
        return discovery::resolve(spec, &found).ok_or_else(|| ChooseError::Unknown(spec.into()));
    }
    if let Some(f) = found.iter().find(|f| matches!(f.source, "config" | "env")) {
        return Ok(f.path.clone());
    }
    match found.as_slice() {
        [only] => Ok(only.path.clone()),
        [] => Err(ChooseError::NoneFound),
        _ => Err(ChooseError::Several),
    }
}

/// Load `path` for chat with `threads` compute threads (0: physical cores),
/// a `context`-token window, on `device` (`[model] device`); with the
/// device chosen, said.
pub fn load_chat(
    path: &Path,
    threads: usize,
    context: usize,
    device: &str,
) -> Result<(LocalChat, super::device::Chosen), ChooseError> {
    super::threads::init(threads);
    let chosen = super::device::select(device)?;
    let model = LocalModel::load(path, &chosen.device).map_err(|source| ChooseError::Load {
        path: path.into(),
        source,
    })?;
    Ok((LocalChat::new(model, context), chosen))
}

/// The vision projector for the model at `model`: `explicit` (`--mmproj`),
/// else `configured` (`[model] mmproj`, which pairs with the configured
/// model `configured_model`), else the model file itself when it carries
/// the projector's tensors, else one beside the model file, else the one
/// Ollama keeps with it. None: the model sees no images.
pub fn projector(
    model: &Path,
    explicit: Option<&Path>,
    configured_model: Option<&Path>,
    configured: Option<&Path>,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.into());
    }
    if let Some(p) = configured
        && configured_model.is_none_or(|c| same_file(c, model))
    {
        return Some(p.into());
    }
    if let Some(p) = discovery::own_projector(model).or_else(|| discovery::mmproj_beside(model)) {
        return Some(p);
    }
    let paths = SearchPaths::from_env(configured_model.map(PathBuf::from));
    discovery::discover(&paths)
        .into_iter()
        .find(|f| same_file(&f.path, model))
        .and_then(|f| f.mmproj)
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}
