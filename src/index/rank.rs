//! Ranking: a graph over files where an edge runs from a file that uses a name
//! to each file that defines it, ranked by personalized PageRank (after aider's
//! repo map), then spread back onto the definitions that drew the rank.

use rustc_hash::FxHashMap;

use super::file::FileEntry;
use super::names::{NameId, Names};
use super::symbols::SymbolTable;

/// A name defined in more files than this is too generic to say which file
/// matters (`new`, `get`, `init`); it adds no edges.
const MAX_DEFINERS: usize = 24;
const DAMPING: f64 = 0.85;
pub const ITERATIONS: usize = 50;
const TOLERANCE: f64 = 1e-9;
/// Forward push stops moving mass out of a file holding less than this per edge.
const PUSH_EPS: f64 = 3e-5;
/// And after this many pushes whatever is left.
const PUSH_STEPS: usize = 200_000;
/// Definitions are ranked in this many top files (plus focused ones): more
/// than any token budget can show.
pub const TOP_FILES: usize = 400;
/// What a generated or vendored file's rank is multiplied by.
const GENERATED_PENALTY: f64 = 0.05;

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

/// The edges one name contributes: its distinct defining files into
/// `definers`, its using files with edge weights into `users`. False when the
/// name adds no edges (no definitions, or too generic to say anything).
fn name_edges(
    symbols: &SymbolTable,
    names: &Names,
    focused: bool,
    name: NameId,
    refs: &[super::symbols::RefLoc],
    definers: &mut Vec<u32>,
    users: &mut Vec<(u32, f64)>,
) -> bool {
    definers.clear();
    users.clear();
    let defs = symbols.definitions(name);
    if defs.is_empty() || refs.is_empty() {
        return false;
    }
    definers.extend(defs.iter().map(|d| d.file));
    definers.sort_unstable();
    definers.dedup();
    if definers.len() > MAX_DEFINERS && !focused {
        return false;
    }
    let weight = name_weight(names.name(name), definers.len(), focused);
    let mut files: Vec<u32> = refs.iter().map(|r| r.file).collect();
    files.sort_unstable();
    let mut i = 0;
    while i < files.len() {
        let f = files[i];
        let mut j = i;
        while j < files.len() && files[j] == f {
            j += 1;
        }
        users.push((f, weight * ((j - i) as f64).sqrt()));
        i = j;
    }
    true
}

/// The unfocused file graph: merged edges (from, to, weight) and each file's
/// total outgoing weight. Built once per index state and reused by every query.
#[derive(Debug)]
pub struct BaseGraph {
    /// Sorted by source; `starts[f]..starts[f + 1]` are `f`'s edges.
    edges: Vec<(u32, u32, f64)>,
    starts: Vec<u32>,
    out: Vec<f64>,
}

impl BaseGraph {
    pub fn build(n_files: usize, names: &Names, symbols: &SymbolTable) -> BaseGraph {
        let mut edges: Vec<(u32, u32, f64)> = Vec::new();
        let mut definers: Vec<u32> = Vec::new();
        let mut users: Vec<(u32, f64)> = Vec::new();
        for (name, refs) in symbols.referenced() {
            if !name_edges(symbols, names, false, name, refs, &mut definers, &mut users) {
                continue;
            }
            for &(f, ew) in &users {
                for &to in &definers {
                    if to != f {
                        edges.push((f, to, ew));
                    }
                }
            }
        }
        edges.sort_unstable_by_key(|e| (e.0, e.1));
        let mut merged: Vec<(u32, u32, f64)> = Vec::with_capacity(edges.len() / 4);
        for e in edges {
            match merged.last_mut() {
                Some(last) if last.0 == e.0 && last.1 == e.1 => last.2 += e.2,
                _ => merged.push(e),
            }
        }
        merged.shrink_to_fit();
        let mut out = vec![0.0; n_files];
        for &(f, _, w) in &merged {
            out[f as usize] += w;
        }
        let mut starts = vec![0u32; n_files + 1];
        for &(f, _, _) in &merged {
            starts[f as usize + 1] += 1;
        }
        for i in 0..n_files {
            starts[i + 1] += starts[i];
        }
        BaseGraph {
            edges: merged,
            starts,
            out,
        }
    }
}

/// PageRank by power iteration, up to `iterations` steps.
fn iterate(
    personal: &[f64],
    base: &BaseGraph,
    extra: &[(u32, u32, f64)],
    out_weight: &[f64],
    iterations: usize,
) -> Vec<f64> {
    let n = personal.len();
    let mut rank = personal.to_vec();
    let mut next = vec![0.0; n];
    for _ in 0..iterations {
        let dangling: f64 = (0..n)
            .filter(|&i| out_weight[i] == 0.0)
            .map(|i| rank[i])
            .sum();
        for i in 0..n {
            next[i] = (1.0 - DAMPING + DAMPING * dangling) * personal[i];
        }
        for &(f, t, w) in base.edges.iter().chain(extra) {
            next[t as usize] += DAMPING * rank[f as usize] * w / out_weight[f as usize];
        }
        let delta: f64 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if delta < TOLERANCE {
            break;
        }
    }
    rank
}

/// Personalized PageRank by forward push (Andersen, Chung and Lang): mass
/// moves out from the personalization only while a file holds more than
/// `PUSH_EPS` per edge, so a query touches the neighbourhood of what it is
/// about, not the whole graph. The order near the top matches the power
/// iteration's; the tail is approximate.
fn push(
    personal: &[f64],
    base: &BaseGraph,
    extra: &[(u32, u32, f64)],
    out_weight: &[f64],
) -> Vec<f64> {
    let n = personal.len();
    let mut p = vec![0.0; n];
    let mut r = personal.to_vec();
    let seeds: Vec<(usize, f64)> = personal
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0.0)
        .map(|(i, w)| (i, *w))
        .collect();
    let mut extra_from: FxHashMap<u32, Vec<(u32, f64)>> = FxHashMap::default();
    for &(f, t, w) in extra {
        extra_from.entry(f).or_default().push((t, w));
    }
    let degree = |u: usize| {
        (base.starts[u + 1] - base.starts[u]) as f64
            + extra_from.get(&(u as u32)).map_or(0, Vec::len) as f64
    };
    let mut queued = vec![false; n];
    let mut queue: std::collections::VecDeque<usize> = seeds.iter().map(|s| s.0).collect();
    for &(i, _) in &seeds {
        queued[i] = true;
    }
    let mut steps = 0usize;
    while let Some(u) = queue.pop_front() {
        queued[u] = false;
        let ru = r[u];
        if ru <= PUSH_EPS * degree(u).max(1.0) {
            continue;
        }
        steps += 1;
        if steps > PUSH_STEPS {
            break;
        }
        r[u] = 0.0;
        p[u] += (1.0 - DAMPING) * ru;
        let mass = DAMPING * ru;
        let mut give =
            |v: usize, m: f64, r: &mut Vec<f64>, queue: &mut std::collections::VecDeque<usize>| {
                r[v] += m;
                if !queued[v] && r[v] > PUSH_EPS * degree(v).max(1.0) {
                    queued[v] = true;
                    queue.push_back(v);
                }
            };
        if out_weight[u] == 0.0 {
            // A file that uses nothing hands its share back to the seeds.
            for &(s, w) in &seeds {
                give(s, mass * w, &mut r, &mut queue);
            }
            continue;
        }
        let (a, b) = (base.starts[u] as usize, base.starts[u + 1] as usize);
        for &(_, t, w) in &base.edges[a..b] {
            give(t as usize, mass * w / out_weight[u], &mut r, &mut queue);
        }
        if let Some(list) = extra_from.get(&(u as u32)) {
            for &(t, w) in list {
                give(t as usize, mass * w / out_weight[u], &mut r, &mut queue);
            }
        }
    }
    // What is left in the residuals counts too (it is where the mass would go next).
    for i in 0..n {
        p[i] += r[i];
    }
    p
}

pub fn rank(
    files: &[FileEntry],
    names: &Names,
    symbols: &SymbolTable,
    base: &BaseGraph,
    focus: &Focus,
    iterations: usize,
    top_files: usize,
) -> Ranking {
    let n = files.len();
    if n == 0 {
        return Ranking {
            files: Vec::new(),
            defs: Vec::new(),
        };
    }
    let focused_file: Vec<bool> = (0..n).map(|i| focus.files.contains(&(i as u32))).collect();

    // Focused names weigh more: add the difference to their edges.
    let mut definers: Vec<u32> = Vec::new();
    let mut users: Vec<(u32, f64)> = Vec::new();
    let mut out_weight = base.out.clone();
    let mut extra: Vec<(u32, u32, f64)> = Vec::new();
    for &name in &focus.names {
        let refs = symbols.references(name);
        let base_users: Vec<(u32, f64)> =
            if name_edges(symbols, names, false, name, refs, &mut definers, &mut users) {
                users.clone()
            } else {
                Vec::new()
            };
        if !name_edges(symbols, names, true, name, refs, &mut definers, &mut users) {
            continue;
        }
        for (k, &(f, w)) in users.iter().enumerate() {
            let before = base_users.get(k).map_or(0.0, |u| u.1);
            for &to in &definers {
                if to != f {
                    extra.push((f, to, w - before));
                    out_weight[f as usize] += w - before;
                }
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

    let mut rank = if iterations == 0 {
        push(&personal, base, &extra, &out_weight)
    } else {
        iterate(&personal, base, &extra, &out_weight, iterations)
    };

    // Spread each file's rank back onto the definitions whose names drew it,
    // for the files that can make it into a map: the top-ranked and the focused.
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by(|a, b| rank[*b as usize].total_cmp(&rank[*a as usize]));
    let mut candidate = vec![false; n];
    for &f in order.iter().take(top_files) {
        candidate[f as usize] = true;
    }
    for &f in &focus.files {
        candidate[f as usize] = true;
    }
    for &name in &focus.names {
        for d in symbols.definitions(name) {
            candidate[d.file as usize] = true;
        }
    }
    let mut def_rank: FxHashMap<(u32, NameId), f64> = FxHashMap::default();
    let mut done: FxHashMap<NameId, ()> = FxHashMap::default();
    for (fi, f) in files.iter().enumerate() {
        if !candidate[fi] {
            continue;
        }
        for d in &f.defs {
            if done.insert(d.name, ()).is_some() {
                continue;
            }
            let refs = symbols.references(d.name);
            let focused = focus.names.contains(&d.name);
            if !name_edges(
                symbols,
                names,
                focused,
                d.name,
                refs,
                &mut definers,
                &mut users,
            ) {
                continue;
            }
            for &(from, w) in &users {
                let share = rank[from as usize] * w / out_weight[from as usize];
                for &to in &definers {
                    if to != from && candidate[to as usize] {
                        *def_rank.entry((to, d.name)).or_default() += share;
                    }
                }
            }
        }
    }
    // Focused names and files rank their own definitions even without references.
    for &name in &focus.names {
        for d in symbols.definitions(name) {
            *def_rank.entry((d.file, name)).or_default() += rank[d.file as usize];
        }
    }
    let mut defs = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        if !candidate[fi] {
            continue;
        }
        let file_bonus = if focused_file[fi] { rank[fi] } else { 0.0 };
        for (di, d) in f.defs.iter().enumerate() {
            let r = def_rank.get(&(fi as u32, d.name)).copied().unwrap_or(0.0) + file_bonus;
            // A tiny share of the file's own rank keeps unreferenced definitions in order.
            defs.push((fi as u32, di as u32, r + rank[fi] * 1e-3));
        }
    }
    // Generated and vendored files rank low: they are rarely what a question is about.
    for (fi, f) in files.iter().enumerate() {
        if f.generated && !focused_file[fi] {
            rank[fi] *= GENERATED_PENALTY;
        }
    }
    for d in &mut defs {
        if files[d.0 as usize].generated && !focused_file[d.0 as usize] {
            d.2 *= GENERATED_PENALTY;
        }
    }
    defs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    Ranking { files: rank, defs }
}
