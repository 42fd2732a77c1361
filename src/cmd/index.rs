//! `locus map`, `locus symbols`, `locus index`: the repository index from the shell.

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use crate::assets::Assets;
use crate::cli::{IndexArgs, MapArgs, SymbolsArgs};
use crate::index::{BuildStats, FileStatus, Index, Progress};
use crate::tokens::EstimateCounter;
use crate::workspace::Workspace;

/// Open the workspace's index through its cache.
pub fn open_index(ws: &Workspace, rebuild: bool) -> anyhow::Result<(Index, BuildStats)> {
    let settings = ws.settings()?.settings;
    let cache_dir = ws.cache_dir();
    if rebuild {
        let _ = std::fs::remove_file(cache_dir.join("index.bin"));
    }
    let assets = Assets::new(Some(&ws.dirs.config));
    Index::open(
        &ws.root,
        &settings.index,
        assets,
        Some(&cache_dir),
        &Progress::default(),
    )
    .with_context(|| format!("cannot index {}", ws.root.display()))
}

pub fn map(ws: &Workspace, args: &MapArgs) -> anyhow::Result<ExitCode> {
    let (index, _) = open_index(ws, false)?;
    let words: Vec<String> = args.focus.iter().flat_map(|f| Index::words(f)).collect();
    let focus = index.focus(&words, &ws.cwd);
    let map = index.repo_map(&focus, args.tokens, &EstimateCounter);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        out!("{}", map.text);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn symbols(ws: &Workspace, args: &SymbolsArgs) -> anyhow::Result<ExitCode> {
    let (index, _) = open_index(ws, false)?;
    let names = index.names();
    let ids: Vec<_> = if args.prefix {
        index.symbols().with_prefix(names, &args.name).collect()
    } else {
        names.get(&args.name).into_iter().collect()
    };
    let mut out = Vec::new();
    for id in ids {
        let defs: Vec<_> = index
            .symbols()
            .definitions(id)
            .iter()
            .map(|d| {
                let f = &index.files()[d.file as usize];
                let def = &f.defs[d.def as usize];
                json!({"path": f.path, "line": def.start_line, "end_line": def.end_line,
                       "kind": def.kind.name(), "signature": f.signature(def),
                       "container": def.container.map(|c| names.name(c)), "doc": f.doc(def)})
            })
            .collect();
        let refs: Vec<_> = index
            .symbols()
            .references(id)
            .iter()
            .map(|r| {
                let f = &index.files()[r.file as usize];
                let rf = &f.refs[r.reference as usize];
                json!({"path": f.path, "line": rf.line, "kind": rf.kind.name()})
            })
            .collect();
        if defs.is_empty() && refs.is_empty() {
            continue;
        }
        out.push(json!({"name": names.name(id), "definitions": defs, "references": refs}));
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "symbols": out }))?
        );
    } else {
        for s in &out {
            outln!("{}", s["name"].as_str().unwrap_or_default());
            for d in s["definitions"].as_array().into_iter().flatten() {
                outln!(
                    "  defined  {}:{}  {}  {}",
                    d["path"].as_str().unwrap_or_default(),
                    d["line"],
                    d["kind"].as_str().unwrap_or_default(),
                    d["signature"].as_str().unwrap_or_default()
                );
            }
            for r in s["references"].as_array().into_iter().flatten() {
                outln!(
                    "  used     {}:{}  ({})",
                    r["path"].as_str().unwrap_or_default(),
                    r["line"],
                    r["kind"].as_str().unwrap_or_default()
                );
            }
        }
    }
    if out.is_empty() {
        anyhow::bail!(
            "no symbol named `{}` in {} (try --prefix)",
            args.name,
            ws.root.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn index(ws: &Workspace, args: &IndexArgs) -> anyhow::Result<ExitCode> {
    let (index, stats) = open_index(ws, args.rebuild)?;
    let mut skipped = std::collections::BTreeMap::<&str, usize>::new();
    let mut failed = Vec::new();
    for f in index.files() {
        let reason = match &f.status {
            FileStatus::Parsed | FileStatus::Unsupported => continue,
            FileStatus::Binary => "binary",
            FileStatus::TooLarge => "too large",
            FileStatus::Minified => "minified",
            FileStatus::Failed(why) => {
                failed.push((f.path.clone(), why.clone()));
                "failed"
            }
        };
        *skipped.entry(reason).or_default() += 1;
    }
    let languages = index.languages();
    let parsed: usize = languages.values().sum();
    if args.json {
        let v = json!({
            "root": ws.root,
            "files": stats.files,
            "parsed_files": parsed,
            "reparsed": stats.parsed,
            "reused": stats.reused,
            "definitions": index.definition_count(),
            "references": index.reference_count(),
            "languages": languages,
            "skipped": skipped,
            "failed": failed.iter().map(|(p, w)| json!({"path": p, "reason": w})).collect::<Vec<_>>(),
            "unreadable": stats.walk_errors.iter().map(|(p, w)| json!({"path": p, "reason": w})).collect::<Vec<_>>(),
            "cache": stats.cache,
            "elapsed_ms": stats.elapsed.as_secs_f64() * 1000.0,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "indexed {} in {:.0} ms",
        ws.root.display(),
        stats.elapsed.as_secs_f64() * 1000.0
    );
    if args.stats || args.rebuild {
        outln!(
            "  files        {} ({} with tags, {} parsed now, {} from cache)",
            stats.files,
            parsed,
            stats.parsed,
            stats.reused
        );
        outln!("  definitions  {}", index.definition_count());
        outln!("  references   {}", index.reference_count());
        let langs: Vec<String> = languages.iter().map(|(l, n)| format!("{l} {n}")).collect();
        outln!(
            "  languages    {}",
            if langs.is_empty() {
                "none".into()
            } else {
                langs.join(", ")
            }
        );
        if !skipped.is_empty() {
            let s: Vec<String> = skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
            outln!("  skipped      {}", s.join(", "));
        }
        for (p, why) in failed.iter().chain(stats.walk_errors.iter()) {
            outln!("  problem      {p}: {why}");
        }
        if let Some(c) = &stats.cache {
            outln!("  cache        {c}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
