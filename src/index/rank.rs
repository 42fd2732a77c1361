//! Ranking: a graph over files where an edge runs from a file that uses a name
//! to each file that defines it, ranked by personalized PageRank (after aider's
//! repo map), then spread back onto the definitions that drew the rank.

use std::collections::HashMap;

use super::file::FileEntry;
use super::names::{NameId, Names};
use super::symbols::SymbolTable;

/// A name defined in more files than this is too generic to say which file
/// matters (`new`, `get`, `init`); it adds no edges.
const MAX_DEFINERS: usize = 24;
const DAMPING: f64 = 0.85;
const ITERATIONS: usize = 50;
const TOLERANCE: f64 = 1e-9;

/// What the request is about: files and names it mentions.
#[derive(Debug, Default, Clone)]
pub struct Focus {
    pub files: Vec<u32>,
    pub names: Vec<NameId>,
}

/// Ranks of files and of definitions.
#[derive(Debug)]
pub struct Ranking {
    /// PageRank of each file (sums to 1).
    pub files: Vec<f64>,
    /// (file, definition index, rank), highest first.
    pub defs: Vec<(u32, u32, f64)>,
}

fn name_weight(name: &str, definers: usize, focused: bool) -> f64 {
    let mut w = 1.0;
    if focused {
        w *= 10.0;
    }
    let is_snake = name.contains('_') && name.chars().any(char::is_alphabetic);
    let is_camel = name.chars().any(char::is_uppercase) && name.chars().any(char::is_lowercase);
    if (is_snake || is_camel) && name.len() >= 8 {
        w *= 10.0;
    }
    if name.starts_with('_') {
        w *= 0.1;
    }
    if definers > 5 {
        w *= 0.1;
    }
    w
}

pub fn rank(files: &[FileEntry], names: &Names, symbols: &SymbolTable, focus: &Focus) -> Ranking {
    let n = files.len();
    if n == 0 {
        return Ranking {
            files: Vec::new(),
            defs: Vec::new(),
        };
    }
    let focused_name = |id: NameId| focus.names.contains(&id);
    let focused_file: Vec<bool> = (0..n).map(|i| focus.files.contains(&(i as u32))).collect();

    // Edges (from, to) -> weight, and for each (to, name) the edges it drew from.
    let mut edges: HashMap<(u32, u32), f64> = HashMap::new();
    let mut contributions: Vec<(u32, u32, NameId, f64)> = Vec::new();
    for (name, refs) in symbols.referenced() {
        let defs = symbols.definitions(name);
        if defs.is_empty() {
            continue;
        }
        let mut definers: Vec<u32> = defs.iter().map(|d| d.file).collect();
        definers.dedup();
        if definers.len() > MAX_DEFINERS && !focused_name(name) {
            continue;
        }
        let w = name_weight(names.name(name), definers.len(), focused_name(name));
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for r in refs {
            *counts.entry(r.file).or_default() += 1;
        }
        for (&from, &count) in &counts {
            let mut ew = w * f64::from(count).sqrt();
            if focused_file[from as usize] {
                ew *= 50.0;
            }
            for &to in &definers {
                if to == from {
                    continue;
                }
                *edges.entry((from, to)).or_default() += ew;
                contributions.push((from, to, name, ew));
            }
        }
    }

    // Personalization: focused files, and files defining focused names.
    let mut personal = vec![0.0; n];
    for &f in &focus.files {
        personal[f as usize] += 1.0;
    }
    for &name in &focus.names {
        for d in symbols.definitions(name) {
            personal[d.file as usize] += 1.0;
        }
    }
    let total: f64 = personal.iter().sum();
    if total > 0.0 {
        personal.iter_mut().for_each(|p| *p /= total);
    } else {
        personal.iter_mut().for_each(|p| *p = 1.0 / n as f64);
    }

    let mut out_weight = vec![0.0; n];
    for (&(from, _), &w) in &edges {
        out_weight[from as usize] += w;
    }
    let edge_list: Vec<(usize, usize, f64)> = edges
        .iter()
        .map(|(&(f, t), &w)| (f as usize, t as usize, w / out_weight[f as usize]))
        .collect();

    let mut rank = personal.clone();
    let mut next = vec![0.0; n];
    for _ in 0..ITERATIONS {
        let dangling: f64 = (0..n)
            .filter(|&i| out_weight[i] == 0.0)
            .map(|i| rank[i])
            .sum();
        for i in 0..n {
            next[i] = (1.0 - DAMPING + DAMPING * dangling) * personal[i];
        }
        for &(f, t, w) in &edge_list {
            next[t] += DAMPING * rank[f] * w;
        }
        let delta: f64 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if delta < TOLERANCE {
            break;
        }
    }

    // Spread each edge's share of rank onto the definitions of its name.
    let mut def_rank: HashMap<(u32, NameId), f64> = HashMap::new();
    for (from, to, name, w) in contributions {
        let share = rank[from as usize] * w / out_weight[from as usize];
        *def_rank.entry((to, name)).or_default() += share;
    }
    // Focused names and files rank their own definitions even without references.
    for &name in &focus.names {
        for d in symbols.definitions(name) {
            *def_rank.entry((d.file, name)).or_default() += rank[d.file as usize];
        }
    }
    let mut defs = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        let file_bonus = if focused_file[fi] { rank[fi] } else { 0.0 };
        for (di, d) in f.defs.iter().enumerate() {
            let r = def_rank.get(&(fi as u32, d.name)).copied().unwrap_or(0.0) + file_bonus;
            // A tiny share of the file's own rank keeps unreferenced definitions in order.
            defs.push((fi as u32, di as u32, r + rank[fi] * 1e-3));
        }
    }
    defs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    Ranking { files: rank, defs }
}
