//! Downloading a GGUF from the Hugging Face Hub (or anything that serves files
//! the way the Hub does, at `HF_ENDPOINT`) into Hugging Face's own cache
//! layout, so other tools and `locus models` see it. Resumable (a `.part`
//! file and an HTTP range request), checked against the Hub's sha256.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The model `locus models pull` fetches when none is named.
pub const DEFAULT_MODEL: &str = "ggml-org/gemma-4-12b-it-GGUF:gemma-4-12b-it-Q4_K_M.gguf";
/// About how big it is, to say before downloading.
pub const DEFAULT_MODEL_SIZE: &str = "about 7.4 GB";

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("`{0}` is not a model reference: use ORG/REPO or ORG/REPO:FILE.gguf")]
    BadSpec(String),
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    #[error("{url} answered {status}: {hint}")]
    Status {
        url: String,
        status: u16,
        hint: String,
    },
    #[error("repository {repo} has no .gguf file{detail}")]
    NoGguf { repo: String, detail: String },
    #[error(
        "download of {file} was cut after {got} of {total} bytes; run the same command again to resume"
    )]
    Interrupted { file: String, got: u64, total: u64 },
    #[error("download of {file} cancelled after {got} bytes; pulling it again resumes")]
    Cancelled { file: String, got: u64 },
    #[error("another `locus models pull` is downloading {file}; wait for it to finish")]
    Busy { file: String },
    #[error(
        "checksum mismatch for {file}: expected sha256 {expected}, got {got}; the partial file was removed"
    )]
    Checksum {
        file: String,
        expected: String,
        got: String,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where and how to download.
#[derive(Debug, Clone)]
pub struct PullConfig {
    /// `HF_ENDPOINT` or https://huggingface.co.
    pub endpoint: String,
    /// `HF_TOKEN`, sent as a bearer token.
    pub token: Option<String>,
    /// The hub cache root (`.../huggingface/hub`).
    pub hub: PathBuf,
}

impl PullConfig {
    pub fn from_env(hub: PathBuf) -> PullConfig {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        PullConfig {
            endpoint: var("HF_ENDPOINT")
                .unwrap_or_else(|| "https://huggingface.co".into())
                .trim_end_matches('/')
                .to_string(),
            token: var("HF_TOKEN")
                .or_else(|| var("HUGGING_FACE_HUB_TOKEN"))
                .or_else(|| token_file().and_then(|p| std::fs::read_to_string(p).ok()))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            hub,
        }
    }
}

/// Where `hf auth login` keeps the token: `HF_TOKEN_PATH`, else
/// `$HF_HOME/token`, else `token` in the Hugging Face cache directory
/// (`$XDG_CACHE_HOME/huggingface`, `~/.cache/huggingface`).
fn token_file() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = var("HF_TOKEN_PATH") {
        return Some(p);
    }
    let home = var("HF_HOME").or_else(|| {
        var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .map(|c| c.join("huggingface"))
    })?;
    Some(home.join("token"))
}

/// Progress as (bytes done, total bytes); returning `false` stops the
/// download (the partial file is kept, so a later pull resumes).
pub type OnProgress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PullError + '_ {
    move |source| PullError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn agent(redirects: u32) -> ureq::Agent {
    ureq::Agent::config_builder()
        .tls_config(crate::model::cloud::platform_tls())
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .max_redirects(redirects)
        .build()
        .into()
}

fn status_hint(status: u16) -> String {
    match status {
        401 | 403 => {
            "access denied; for a gated model accept its terms on the Hub and set HF_TOKEN".into()
        }
        404 => "no such repository or file".into(),
        429 => "rate limited; wait a moment and retry".into(),
        s if s >= 500 => "the server failed; retry later".into(),
        _ => "unexpected answer".into(),
    }
}

fn get(
    agent: &ureq::Agent,
    url: &str,
    cfg: &PullConfig,
    range_from: u64,
) -> Result<ureq::http::Response<ureq::Body>, PullError> {
    let mut req = agent.get(url);
    if let Some(t) = &cfg.token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    if range_from > 0 {
        req = req.header("Range", &format!("bytes={range_from}-"));
    }
    req.call().map_err(|e| PullError::Network {
        url: url.into(),
        message: e.to_string(),
    })
}

/// Split `ORG/REPO[:FILE]`.
pub fn parse_spec(spec: &str) -> Result<(String, Option<String>), PullError> {
    let (repo, file) = match spec.split_once(':') {
        Some((r, f)) => (r, Some(f.to_string())),
        None => (spec, None),
    };
    let ok = repo.split('/').count() == 2
        && repo
            .split('/')
            .all(|p| !p.is_empty() && !p.contains(['\\', ' ']));
    if !ok
        || file
            .as_deref()
            .is_some_and(|f| f.is_empty() || f.contains(".."))
    {
        return Err(PullError::BadSpec(spec.into()));
    }
    Ok((repo.to_string(), file))
}

/// The .gguf files of a repository (the Hub's file list).
fn gguf_files(cfg: &PullConfig, repo: &str) -> Result<Vec<String>, PullError> {
    let url = format!("{}/api/models/{repo}", cfg.endpoint);
    let resp = get(&agent(5), &url, cfg, 0)?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(PullError::Status {
            url,
            status,
            hint: status_hint(status),
        });
    }
    let text = resp
        .into_body()
        .read_to_string()
        .map_err(|e| PullError::Network {
            url: url.clone(),
            message: e.to_string(),
        })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| PullError::Network {
        url: url.clone(),
        message: e.to_string(),
    })?;
    Ok(json["siblings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["rfilename"].as_str())
        .filter(|f| f.to_ascii_lowercase().ends_with(".gguf"))
        .map(String::from)
        .collect())
}

/// The .gguf to take from a repository's file list: the only one, else the Q4_K_M one.
fn choose_file(cfg: &PullConfig, repo: &str) -> Result<String, PullError> {
    let files: Vec<String> = gguf_files(cfg, repo)?
        .into_iter()
        .filter(|f| !super::discovery::is_mmproj(Path::new(f)))
        .collect();
    match files.as_slice() {
        [] => Err(PullError::NoGguf {
            repo: repo.into(),
            detail: String::new(),
        }),
        [one] => Ok(one.clone()),
        many => many
            .iter()
            .find(|f| f.to_ascii_uppercase().contains("Q4_K_M"))
            .cloned()
            .ok_or_else(|| PullError::NoGguf {
                repo: repo.into(),
                detail: format!(" named Q4_K_M; pick one: {}", many.join(", ")),
            }),
    }
}

/// The vision projector of `spec`'s repository, downloaded beside the
/// model (an F16 one preferred, as discovery pairs them); `Ok(None)` when
/// the repository has none.
pub fn pull_projector(
    cfg: &PullConfig,
    spec: &str,
    progress: OnProgress,
) -> Result<Option<PathBuf>, PullError> {
    let (repo, _) = parse_spec(spec)?;
    let mut projectors: Vec<String> = gguf_files(cfg, &repo)?
        .into_iter()
        .filter(|f| super::discovery::is_mmproj(Path::new(f)))
        .collect();
    let Some(i) = super::discovery::pick_projector(&mut projectors, |f| f.as_str().into()) else {
        return Ok(None);
    };
    let file = projectors.swap_remove(i);
    pull(cfg, &format!("{repo}:{file}"), progress).map(Some)
}

/// Download `spec` (`ORG/REPO[:FILE]`) and return the snapshot path of the file.
pub fn pull(cfg: &PullConfig, spec: &str, progress: OnProgress) -> Result<PathBuf, PullError> {
    let (repo, file) = parse_spec(spec)?;
    let file = match file {
        Some(f) => f,
        None => choose_file(cfg, &repo)?,
    };
    let url = format!("{}/{repo}/resolve/main/{file}", cfg.endpoint);
    // First request without following redirects: the Hub puts the file's sha256
    // (X-Linked-Etag), size and commit on the redirect, not on the CDN's answer.
    let first = get(&agent(0), &url, cfg, 0)?;
    let status = first.status().as_u16();
    let header = |name: &str| {
        first
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim_matches('"').to_string())
    };
    let sha = header("x-linked-etag")
        .filter(|e| e.len() == 64 && e.chars().all(|c| c.is_ascii_hexdigit()));
    let commit = header("x-repo-commit").unwrap_or_else(|| "main".into());
    let size: Option<u64> = header("x-linked-size")
        .or_else(|| header("content-length"))
        .and_then(|s| s.parse().ok());
    let location = header("location");
    let download_url = match (status, location) {
        (300..=399, Some(loc)) if loc.starts_with("http") => loc,
        (300..=399, Some(loc)) => format!(
            "{}{}",
            cfg.endpoint,
            if loc.starts_with('/') {
                loc
            } else {
                format!("/{loc}")
            }
        ),
        (200, _) => url.clone(),
        (s, _) => {
            return Err(PullError::Status {
                url,
                status: s,
                hint: status_hint(s),
            });
        }
    };
    drop(first);

    let repo_dir = cfg.hub.join(format!("models--{}", repo.replace('/', "--")));
    let blob_name = sha
        .clone()
        .unwrap_or_else(|| format!("{commit}-{}", file.replace('/', "_")));
    let blob = repo_dir.join("blobs").join(&blob_name);
    let snapshot = repo_dir.join("snapshots").join(&commit).join(&file);
    if !blob.exists() {
        download(
            cfg,
            &download_url,
            &blob,
            &file,
            size,
            sha.as_deref(),
            progress,
        )?;
    }
    if let Some(parent) = snapshot.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    if !snapshot.exists() {
        #[cfg(unix)]
        {
            let depth = file.matches('/').count() + 2;
            let rel = PathBuf::from("../".repeat(depth))
                .join("blobs")
                .join(&blob_name);
            std::os::unix::fs::symlink(&rel, &snapshot).map_err(io(&snapshot))?;
        }
        #[cfg(not(unix))]
        std::fs::copy(&blob, &snapshot).map_err(io(&snapshot))?;
    }
    let refs = repo_dir.join("refs");
    std::fs::create_dir_all(&refs).map_err(io(&refs))?;
    std::fs::write(refs.join("main"), &commit).map_err(io(&refs))?;
    Ok(snapshot)
}

fn download(
    cfg: &PullConfig,
    url: &str,
    blob: &Path,
    file: &str,
    size: Option<u64>,
    sha: Option<&str>,
    progress: OnProgress,
) -> Result<(), PullError> {
    let dir = blob.parent().expect("blob has a parent");
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let part = blob.with_extension("part");
    // One download of a file at a time: a second pull would append to the
    // same partial file.
    let lock_path = blob.with_extension("lock");
    let lock = File::create(&lock_path).map_err(io(&lock_path))?;
    if lock.try_lock().is_err() {
        return Err(PullError::Busy { file: file.into() });
    }
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let resp = get(&agent(10), url, cfg, have)?;
    let status = resp.status().as_u16();
    let (mut out, mut got) = match status {
        206 => (
            OpenOptions::new()
                .append(true)
                .open(&part)
                .map_err(io(&part))?,
            have,
        ),
        200 => (File::create(&part).map_err(io(&part))?, 0),
        416 if size == Some(have) => (
            OpenOptions::new()
                .append(true)
                .open(&part)
                .map_err(io(&part))?,
            have,
        ),
        s => {
            return Err(PullError::Status {
                url: url.into(),
                status: s,
                hint: status_hint(s),
            });
        }
    };
    let total = size.unwrap_or(0);
    let mut reader = resp.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 20];
    let mut last = Instant::now();
    let cancelled = |got| PullError::Cancelled {
        file: file.into(),
        got,
    };
    if !progress(got, total) {
        return Err(cancelled(got));
    }
    if status != 416 {
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(_) => break,
            };
            out.write_all(&buf[..n]).map_err(io(&part))?;
            got += n as u64;
            if last.elapsed() > Duration::from_millis(200) {
                if !progress(got, total) {
                    out.sync_all().map_err(io(&part))?;
                    return Err(cancelled(got));
                }
                last = Instant::now();
            }
        }
    }
    out.sync_all().map_err(io(&part))?;
    progress(got, total);
    if total > 0 && got < total {
        return Err(PullError::Interrupted {
            file: file.into(),
            got,
            total,
        });
    }
    if let Some(expected) = sha {
        let mut h = Sha256::new();
        let mut f = File::open(&part).map_err(io(&part))?;
        loop {
            let n = f.read(&mut buf).map_err(io(&part))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let got_hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if got_hex != expected.to_ascii_lowercase() {
            let _ = std::fs::remove_file(&part);
            return Err(PullError::Checksum {
                file: file.into(),
                expected: expected.into(),
                got: got_hex,
            });
        }
    }
    std::fs::rename(&part, blob).map_err(io(blob))?;
    Ok(())
}
