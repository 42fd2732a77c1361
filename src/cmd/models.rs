//! `locus models`: the GGUF models locus can find, what they are, and what
//! running them will cost in memory.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::{ModelsAction, ModelsArgs};
use crate::model::local::discovery::{self, SearchPaths};
use crate::model::local::gguf::Gguf;
use crate::model::local::{choose, info, pull, vision};
use crate::workspace::Workspace;

fn configured(ws: &Workspace) -> Option<PathBuf> {
    ws.settings()
        .ok()
        .and_then(|l| l.settings.model.path)
        .map(PathBuf::from)
}

fn search_paths(ws: &Workspace) -> SearchPaths {
    SearchPaths::from_env(configured(ws))
}

/// The model to run (see `model::local::choose`).
pub fn resolve_model(ws: &Workspace, spec: Option<&str>) -> anyhow::Result<PathBuf> {
    Ok(choose::resolve(configured(ws), spec)?)
}

/// Whether the model sees images (its projector is one locus runs; else
/// why not, when there is a projector) and hears (it has an audio part).
fn vision(mmproj: Option<&std::path::Path>) -> (bool, Option<String>, bool) {
    let Some(p) = mmproj else {
        return (false, None, false);
    };
    match Gguf::open(p) {
        Ok(g) => {
            let hears = vision::audio::has_audio(&g);
            match vision::check(&g) {
                Ok(()) => (true, None, hears),
                Err(e) => (false, Some(e.to_string()), hears),
            }
        }
        Err(e) => (false, Some(e.to_string()), false),
    }
}

fn gib(b: u64) -> String {
    format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
}

pub fn list(ws: &Workspace, args: &ModelsArgs) -> anyhow::Result<ExitCode> {
    if let Some(ModelsAction::Pull { spec }) = &args.action {
        return pull(ws, spec.as_deref(), args.json);
    }
    let mut found = discovery::discover(&search_paths(ws));
    // `[model] mmproj` pairs with the configured model.
    let mmproj = ws.settings().ok().and_then(|l| l.settings.model.mmproj);
    for f in found.iter_mut().filter(|f| f.source == "config") {
        if let Some(p) = &mmproj {
            f.mmproj = Some(PathBuf::from(p));
        }
    }
    let mut rows = Vec::new();
    for f in &found {
        let (sees, problem, hears) = vision(f.mmproj.as_deref());
        let row = match Gguf::open(&f.path)
            .map_err(anyhow::Error::from)
            .and_then(|g| Ok(info::inspect(&g)?))
        {
            Ok(i) => json!({"name": f.name, "path": f.path, "source": f.source, "arch": i.arch,
                "mmproj": f.mmproj, "vision": sees, "vision_problem": problem, "audio": hears,
                "quantization": i.quantization, "size_bytes": i.file_bytes, "context_length": i.context_length,
                "weight_bytes": i.weight_bytes, "kv_bytes_8k": i.kv_bytes_8k, "kv_bytes_32k": i.kv_bytes_32k,
                "estimated_memory_bytes": i.estimated_peak_bytes,
                "tensor_types": i.tensor_types, "fast_path": i.fast_path}),
            Err(e) => {
                json!({"name": f.name, "path": f.path, "source": f.source, "error": e.to_string()})
            }
        };
        rows.push(row);
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "models": rows }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!(
            "no models found (looked at model.path, LOCUS_MODEL, the Hugging Face cache, Ollama and LM Studio)"
        );
        outln!("run `locus models pull` to download the default model");
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        outln!(
            "{}  ({})",
            r["name"].as_str().unwrap_or_default(),
            r["source"].as_str().unwrap_or_default()
        );
        outln!("  path     {}", r["path"].as_str().unwrap_or_default());
        if let Some(e) = r["error"].as_str() {
            outln!("  problem  {e}");
            continue;
        }
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        outln!(
            "  {} {}, {} file, context {}",
            r["arch"].as_str().unwrap_or_default(),
            r["quantization"].as_str().unwrap_or_default(),
            gib(n("size_bytes")),
            n("context_length")
        );
        outln!(
            "  memory   ~{} at 8k context (weights {}, KV {}; KV at 32k {})",
            gib(n("estimated_memory_bytes")),
            gib(n("weight_bytes")),
            gib(n("kv_bytes_8k")),
            gib(n("kv_bytes_32k"))
        );
        outln!("  tensors  {}", types_line(&r["tensor_types"]));
        let own = r["mmproj"] == r["path"];
        let projector = |p: &str| {
            if own {
                "projector in the model file".to_string()
            } else {
                format!("projector {p}")
            }
        };
        match (r["mmproj"].as_str(), r["vision_problem"].as_str()) {
            (Some(p), None) if r["audio"] == json!(true) => {
                outln!("  vision   sees images and hears speech ({})", projector(p))
            }
            (Some(p), None) => outln!("  vision   sees images ({})", projector(p)),
            (Some(_), Some(why)) => outln!("  vision   text only: {why}"),
            (None, _) => outln!("  vision   no projector (mmproj) beside it: text only"),
        }
        if r["fast_path"] == json!(false) {
            outln!("  note     not every weight runs on locus's own kernels (see above)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `Q4_K ×140 3.1 GiB, Q6_K ×31 …`, each with where it runs.
fn types_line(types: &serde_json::Value) -> String {
    let Some(types) = types.as_array() else {
        return String::new();
    };
    types
        .iter()
        .map(|t| {
            let how = match (t["runs"].as_bool(), t["fast_path"].as_bool()) {
                (Some(false), _) => "not supported",
                _ if t["matrices"] == json!(0) => "norms and scales",
                (_, Some(true)) => "fast path",
                _ => "candle's portable path",
            };
            format!(
                "{} ×{} {} ({how})",
                t["type"].as_str().unwrap_or_default(),
                t["tensors"].as_u64().unwrap_or(0),
                gib(t["bytes"].as_u64().unwrap_or(0))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn pull(ws: &Workspace, spec: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal as _;
    let hub = crate::session::models::hub_dir(&ws.dirs);
    let cfg = pull::PullConfig::from_env(hub);
    let spec = spec.unwrap_or(pull::DEFAULT_MODEL);
    let tty = std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let mut last_decile = u64::MAX;
    let mut show = |done: u64, total: u64| {
        let rate = done as f64 / start.elapsed().as_secs_f64().max(1e-3) / 1e6;
        let pct = (done * 100).checked_div(total).unwrap_or(0);
        if tty {
            err!(
                "\rdownloading {spec}  {pct:>3}%  {} / {}  {rate:.1} MB/s ",
                gib(done),
                gib(total)
            );
        } else if pct / 10 != last_decile {
            last_decile = pct / 10;
            errln!("downloading {spec}: {pct}% of {}", gib(total));
        }
        true
    };
    let path = pull::pull(&cfg, spec, &mut show)?;
    if tty {
        errln!();
    }
    // The vision projector with it, when the repository has one; a model
    // without one still runs (text only).
    let mmproj = if discovery::is_mmproj(&path) {
        None
    } else {
        match pull::pull_projector(&cfg, spec, &mut show) {
            Ok(p) => p,
            Err(e) => {
                errln!("note: the vision projector was not downloaded: {e}");
                None
            }
        }
    };
    if tty && mmproj.is_some() {
        errln!();
    }
    if let Some(p) = &mmproj {
        errln!("vision projector: {}", p.display());
    }
    if json {
        outln!("{}", json!({ "path": path, "mmproj": mmproj }));
    } else {
        outln!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
