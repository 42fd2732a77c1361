//! The repo map: the most relevant files with their key definitions'
//! signature lines, as many as fit a token budget.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::tokens::TokenCounter;

use super::Index;
use super::rank::Ranking;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MapDef {
    pub name: String,
    pub kind: &'static str,
    pub line: u32,
    #[serde(skip)]
    pub signature: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MapFile {
    pub path: String,
    pub rank: f64,
    pub definitions: Vec<MapDef>,
}

/// A rendered repo map and what it holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RepoMap {
    pub files: Vec<MapFile>,
    #[serde(skip)]
    pub text: String,
    #[serde(skip)]
    pub tokens: usize,
}

/// Definitions one file may show in the map (a focused file any number):
/// one large file cannot crowd out the rest.
const PER_FILE: usize = 12;

/// Render the first `n` ranked definitions (plus focused files), no file
/// past `PER_FILE` of them, grouped by file in file-rank order, definitions
/// in line order.
fn select(
    index: &Index,
    ranking: &Ranking,
    focus_files: &[u32],
    hidden: &[u32],
    n: usize,
) -> Vec<MapFile> {
    let mut by_file: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &f in focus_files.iter().filter(|f| !hidden.contains(f)) {
        by_file.entry(f).or_default();
    }
    let mut taken = 0;
    for &(f, d, _) in &ranking.defs {
        if taken == n {
            break;
        }
        if hidden.contains(&f) {
            continue;
        }
        let defs = by_file.entry(f).or_default();
        if defs.len() >= PER_FILE && !focus_files.contains(&f) {
            continue;
        }
        defs.push(d);
        taken += 1;
    }
    by_file.retain(|f, defs| !defs.is_empty() || focus_files.contains(f));
    let mut files: Vec<MapFile> = by_file
        .into_iter()
        .map(|(fi, mut defs)| {
            let entry = &index.files()[fi as usize];
            defs.sort_by_key(|d| entry.defs[*d as usize].start_line);
            MapFile {
                path: entry.path.clone(),
                rank: ranking.files[fi as usize],
                definitions: defs
                    .into_iter()
                    .map(|d| {
                        let def = &entry.defs[d as usize];
                        MapDef {
                            name: index.names().name(def.name).to_string(),
                            kind: def.kind.name(),
                            line: def.start_line,
                            signature: entry.signature(def).to_string(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    files.sort_by(|a, b| b.rank.total_cmp(&a.rank).then_with(|| a.path.cmp(&b.path)));
    files
}

pub fn render_text(files: &[MapFile]) -> String {
    let mut out = String::new();
    for f in files {
        let _ = writeln!(out, "{}", f.path);
        for d in &f.definitions {
            let _ = writeln!(out, "{:>6}│ {}", d.line, d.signature);
        }
    }
    out
}

/// The largest map whose text fits `budget` tokens by `counter`; no
/// `hidden` file appears in it.
pub fn build(
    index: &Index,
    ranking: &Ranking,
    focus_files: &[u32],
    hidden: &[u32],
    budget: usize,
    counter: &dyn TokenCounter,
) -> RepoMap {
    let make = |n: usize| {
        let files = select(index, ranking, focus_files, hidden, n);
        let text = render_text(&files);
        let tokens = counter.count(&text);
        RepoMap {
            files,
            text,
            tokens,
        }
    };
    let fits = |m: &RepoMap| m.tokens <= budget;
    let mut best = make(0);
    if !fits(&best) {
        return RepoMap {
            files: Vec::new(),
            text: String::new(),
            tokens: 0,
        };
    }
    // Every definition line costs at least one token, so no more than `budget` fit.
    let (mut lo, mut hi) = (0usize, ranking.defs.len().min(budget));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let m = make(mid);
        if fits(&m) {
            best = m;
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    best
}
