//! Finding GGUF models a user already has: an explicit path, the config,
//! `$LOCUS_MODEL`, Hugging Face's cache, Ollama's store and LM Studio's folder.

use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// How to name it on the command line (`--model NAME`).
    pub name: String,
    pub path: PathBuf,
    /// Where it was found: "config", "env", "huggingface", "ollama", "lmstudio".
    pub source: &'static str,
    /// Its vision projector (an `mmproj` GGUF beside it, or Ollama's
    /// projector layer), when one was found.
    pub mmproj: Option<PathBuf>,
}

/// Where to look; each `None` falls back to the conventional location.
#[derive(Debug, Clone, Default)]
pub struct SearchPaths {
    pub configured: Option<PathBuf>,
    pub env: Option<PathBuf>,
    pub hf_hub: Option<PathBuf>,
    pub ollama: Option<PathBuf>,
    pub lmstudio: Option<PathBuf>,
}

impl SearchPaths {
    /// From the environment: `LOCUS_MODEL`, `HF_HUB_CACHE`/`HF_HOME`, `OLLAMA_MODELS`, `HOME`.
    pub fn from_env(configured: Option<PathBuf>) -> SearchPaths {
        let home = dirs::home_dir().unwrap_or_default();
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let hf_hub = var("HF_HUB_CACHE")
            .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
            .unwrap_or_else(|| home.join(".cache/huggingface/hub"));
        SearchPaths {
            configured,
            env: var("LOCUS_MODEL"),
            hf_hub: Some(hf_hub),
            ollama: Some(var("OLLAMA_MODELS").unwrap_or_else(|| home.join(".ollama/models"))),
            lmstudio: Some(home.join(".lmstudio/models")),
        }
    }
}

/// A `.gguf` file that really is one.
fn is_gguf(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        && has_gguf_magic(p)
}

/// Whether a file (of any name, e.g. an Ollama blob) starts with the GGUF magic.
fn has_gguf_magic(p: &Path) -> bool {
    std::fs::File::open(p)
        .and_then(|mut f| {
            let mut magic = [0u8; 4];
            std::io::Read::read_exact(&mut f, &mut magic).map(|_| magic == *b"GGUF")
        })
        .unwrap_or(false)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every model found, in the order above, without duplicates.
pub fn discover(paths: &SearchPaths) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    for (p, source) in [(&paths.configured, "config"), (&paths.env, "env")] {
        if let Some(p) = p
            && p.is_file()
        {
            out.push(Found {
                name: stem(p),
                path: p.clone(),
                source,
                mmproj: None,
            });
        }
    }
    if let Some(hub) = &paths.hf_hub {
        out.extend(huggingface(hub));
    }
    if let Some(root) = &paths.ollama {
        out.extend(ollama(root));
    }
    if let Some(root) = &paths.lmstudio {
        let mut found = Vec::new();
        walk_gguf(root, 6, &mut found);
        found.sort();
        out.extend(found.into_iter().map(|p| Found {
            name: stem(&p),
            path: p,
            source: "lmstudio",
            mmproj: None,
        }));
    }
    // A projector is not a model: it pairs with the models in its folder.
    out.retain(|f| !is_mmproj(&f.path));
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(f.path.canonicalize().unwrap_or_else(|_| f.path.clone())));
    for f in &mut out {
        if f.mmproj.is_none() {
            f.mmproj = own_projector(&f.path).or_else(|| mmproj_beside(&f.path));
        }
    }
    out
}

/// `model` itself, when the model file carries its vision projector's
/// tensors (a single-blob model) rather than pairing with an mmproj file.
pub fn own_projector(model: &Path) -> Option<PathBuf> {
    let g = super::gguf::Gguf::open(model).ok()?;
    super::vision::holds_projector(&g).then(|| model.to_path_buf())
}

/// Whether a GGUF's file name says it is a vision projector (`mmproj`), as
/// llama.cpp's converter and the Hugging Face repositories name them.
pub fn is_mmproj(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().to_lowercase().contains("mmproj"))
}

/// The projector in the same folder as `model`: an F16 one first (what
/// llama.cpp's converter writes by default), else the first by name.
pub fn mmproj_beside(model: &Path) -> Option<PathBuf> {
    let dir = model.parent()?;
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_mmproj(p) && is_gguf(p))
        .collect();
    let i = pick_projector(&mut all, |p| {
        p.file_name().unwrap_or_default().to_string_lossy()
    })?;
    Some(all.swap_remove(i))
}

/// Which of several projectors to take: sorted by name, an F16 one first
/// (what llama.cpp's converter writes by default), else the first.
pub fn pick_projector<T: Ord>(
    all: &mut [T],
    name: impl Fn(&T) -> std::borrow::Cow<'_, str>,
) -> Option<usize> {
    all.sort();
    let f16 = all.iter().position(|p| {
        name(p)
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "f16")
    });
    f16.or((!all.is_empty()).then_some(0))
}

/// Files under `dir` (at most `depth` levels down) that `keep` accepts;
/// symlinked files count (the Hugging Face cache is made of them).
fn find_files(dir: &Path, depth: usize, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && depth > 0 {
            find_files(&p, depth - 1, keep, out);
        } else if (ft.is_file() || ft.is_symlink()) && keep(&p) {
            out.push(p);
        }
    }
}

fn walk_gguf(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    find_files(dir, depth, &is_gguf, out);
}

/// `models--ORG--REPO/snapshots/REV/*.gguf` (files are symlinks into blobs/).
fn huggingface(hub: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(hub) else {
        return out;
    };
    let mut repos: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    repos.sort();
    for repo in repos {
        let dir_name = repo
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(id) = dir_name.strip_prefix("models--") else {
            continue;
        };
        let id = id.replace("--", "/");
        let mut files = Vec::new();
        walk_gguf(&repo.join("snapshots"), 3, &mut files);
        files.sort();
        for f in files {
            out.push(Found {
                name: format!("{id}:{}", stem(&f)),
                path: f,
                source: "huggingface",
                mmproj: None,
            });
        }
    }
    out
}

/// `manifests/registry.ollama.ai/library/NAME/TAG` JSON -> the layer with
/// mediaType `application/vnd.ollama.image.model` -> `blobs/sha256-HEX`.
fn ollama(root: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let base = root.join("manifests");
    let mut manifests = Vec::new();
    find_files(&base, 5, &|p| p.is_file(), &mut manifests);
    manifests.sort();
    for m in manifests {
        let Ok(text) = std::fs::read_to_string(&m) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(layers) = json["layers"].as_array() else {
            continue;
        };
        let Some(digest) = layers
            .iter()
            .find(|l| l["mediaType"] == "application/vnd.ollama.image.model")
            .and_then(|l| l["digest"].as_str())
        else {
            continue;
        };
        let blob = root.join("blobs").join(digest.replace(':', "-"));
        if !has_gguf_magic(&blob) {
            continue;
        }
        let rel: Vec<String> = m
            .strip_prefix(&base)
            .map(|r| {
                r.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        // registry.ollama.ai/library/NAME/TAG -> NAME:TAG; other namespaces keep theirs.
        let name = match rel.as_slice() {
            [_, ns, name, tag] if ns == "library" => format!("{name}:{tag}"),
            [_, ns, name, tag] => format!("{ns}/{name}:{tag}"),
            _ => rel.join("/"),
        };
        let mmproj = layers
            .iter()
            .find(|l| l["mediaType"] == "application/vnd.ollama.image.projector")
            .and_then(|l| l["digest"].as_str())
            .map(|d| root.join("blobs").join(d.replace(':', "-")))
            .filter(|p| has_gguf_magic(p));
        out.push(Found {
            name,
            path: blob,
            source: "ollama",
            mmproj,
        });
    }
    out
}

/// A model by path, or by a name `discover` reports (exact, then unique prefix).
pub fn resolve(spec: &str, found: &[Found]) -> Option<PathBuf> {
    let p = Path::new(spec);
    if p.is_file() {
        return Some(p.to_path_buf());
    }
    if let Some(f) = found.iter().find(|f| f.name == spec) {
        return Some(f.path.clone());
    }
    let mut hits = found
        .iter()
        .filter(|f| f.name.starts_with(spec) || f.name.ends_with(&format!("/{spec}")));
    match (hits.next(), hits.next()) {
        (Some(f), None) => Some(f.path.clone()),
        _ => None,
    }
}
