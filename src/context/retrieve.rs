//! From a read question to the definitions that answer it. Four rankings,
//! fused by reciprocal rank:
//! - qualified names resolved through modules, packages, files and classes
//!   (`xml.dom.minidom.Document`, `crate::text::TextDiff`, `Random.shuffle`);
//! - names the question writes that the index defines, weighed by how few
//!   places define them (a name defined once is strong evidence);
//! - BM25 over the definitions' names, pieces, signatures, docs and paths;
//! - personalised PageRank seeded by the above: what the code around them uses.

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};

use super::question::Question;
use crate::index::{Focus, Index, NameId};

/// PageRank for the graph ranking by forward push (0: not by iteration):
/// it touches the neighbourhood of the seeds only.
const GRAPH_ITERATIONS: usize = 0;
/// Files whose definitions the graph ranking orders (besides the focused).
const GRAPH_FILES: usize = 40;
/// Reciprocal-rank constant: how quickly a list's later entries fade.
const RRF_K: f64 = 8.0;
/// Entries taken from the name and graph rankings.
const LIST: usize = 60;
/// Entries taken from the lexical ranking: enough to fill a large budget
/// after the best ones are in.
const LEXICAL_LIST: usize = 400;
/// The weight of being in a file the question names, as if it were a list
/// where the file ranks first.
const NAMED_FILE: f64 = 4.0;
/// Files a module or package name may stand for, at most.
const MAX_MODULE_FILES: usize = 24;

/// What retrieval found.
#[derive(Debug, Default, Clone)]
pub struct Retrieved {
    /// Files the question names by path or as a module, in order.
    pub files: Vec<u32>,
    /// (file, definition, fused score), best first.
    pub defs: Vec<(u32, u32, f64)>,
    /// Names the question mentions that the index defines (strongest first).
    pub names: Vec<NameId>,
}

fn stem(path: &str) -> &str {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.') {
        Some(i) if i > 0 => &path[..name_start + i],
        _ => path,
    }
}

fn ends_with_segment(s: &str, suffix: &str) -> bool {
    s == suffix
        || (s.len() > suffix.len()
            && s.ends_with(suffix)
            && s.as_bytes()[s.len() - suffix.len() - 1] == b'/')
}

/// The files a module path (`xml/dom/minidom`, `text`, `net/http`) names:
/// a file with that stem, a package's `__init__`/`mod`/`index` file, else
/// the files directly in a directory of that name.
pub fn module_files(index: &Index, module: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut dir_files = Vec::new();
    for (i, f) in index.files().iter().enumerate() {
        let s = stem(&f.path);
        let in_package = ["__init__", "mod", "index", "lib"].iter().any(|p| {
            s.strip_suffix(p)
                .and_then(|d| d.strip_suffix('/'))
                .is_some_and(|d| ends_with_segment(d, module))
        });
        if ends_with_segment(s, module) || in_package {
            out.push(i as u32);
        } else if let Some((dir, _)) = f.path.rsplit_once('/')
            && ends_with_segment(dir, module)
            && !f.defs.is_empty()
        {
            dir_files.push(i as u32);
        }
        if out.len() >= MAX_MODULE_FILES {
            break;
        }
    }
    if out.is_empty() {
        dir_files.truncate(MAX_MODULE_FILES);
        return dir_files;
    }
    out
}

/// Definitions named `member` in `files` (members of `inner` when given first).
fn members(index: &Index, files: &[u32], member: &str, inner: Option<&str>) -> Vec<(u32, u32)> {
    let Some(id) = index.names().get(member) else {
        return Vec::new();
    };
    let inner_id = inner.and_then(|n| index.names().get(n));
    let mut hits: Vec<(u32, u32)> = Vec::new();
    for d in index.symbols().definitions(id) {
        if files.contains(&d.file) {
            hits.push((d.file, d.def));
        }
    }
    if let Some(c) = inner_id {
        let inside: Vec<(u32, u32)> = hits
            .iter()
            .copied()
            .filter(|(f, d)| index.files()[*f as usize].defs[*d as usize].container == Some(c))
            .collect();
        if !inside.is_empty() {
            return inside;
        }
    }
    hits
}

/// Resolve one qualified name: the longest prefix that names a module, then
/// its member; or `Container.member` by the containers the index records.
fn resolve_qualified(index: &Index, segs: &[String], files: &mut Vec<u32>) -> Vec<(u32, u32)> {
    // A file extension at the end is part of a path, not a member.
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    for k in (1..=segs.len()).rev() {
        let module = segs[..k].join("/");
        let found = module_files(index, &module);
        if found.is_empty() {
            continue;
        }
        if k == segs.len() {
            for f in found {
                if !files.contains(&f) {
                    files.push(f);
                }
            }
            return Vec::new();
        }
        let member = segs[k];
        let hits = members(index, &found, member, None);
        if hits.is_empty() {
            continue;
        }
        // `module.Class.method`: the method inside the class when there is one.
        if let Some(sub) = segs.get(k + 1) {
            let inner = members(index, &found, sub, Some(member));
            if !inner.is_empty() {
                return inner.into_iter().chain(hits).collect();
            }
        }
        return hits;
    }
    // `Class.method` / `Type::method`: by container, then by defining file.
    let (container, member) = (segs[segs.len() - 2], segs[segs.len() - 1]);
    let (Some(c), Some(m)) = (index.names().get(container), index.names().get(member)) else {
        return Vec::new();
    };
    let defs = index.symbols().definitions(m);
    let inside: Vec<(u32, u32)> = defs
        .iter()
        .filter(|d| index.files()[d.file as usize].defs[d.def as usize].container == Some(c))
        .map(|d| (d.file, d.def))
        .collect();
    if !inside.is_empty() {
        return inside;
    }
    let definers: FxHashSet<u32> = index
        .symbols()
        .definitions(c)
        .iter()
        .map(|d| d.file)
        .collect();
    defs.iter()
        .filter(|d| definers.contains(&d.file))
        .map(|d| (d.file, d.def))
        .collect()
}

/// Distinct files defining `name`.
fn definers(index: &Index, name: NameId) -> usize {
    let mut files: Vec<u32> = index
        .symbols()
        .definitions(name)
        .iter()
        .map(|d| d.file)
        .collect();
    files.dedup();
    files.len()
}

/// Rank the definitions that answer `q`.
pub fn retrieve(index: &Index, q: &Question, cwd: &Path) -> Retrieved {
    let mut out = Retrieved::default();
    for p in &q.paths {
        if let Some(f) = index.resolve_file(p, cwd)
            && !out.files.contains(&f)
        {
            out.files.push(f);
        }
    }
    // 1. Qualified names.
    let mut qualified: Vec<(u32, u32)> = Vec::new();
    for segs in &q.qualified {
        let as_path = segs.join("/");
        if index.resolve_file(&as_path, cwd).is_some() {
            continue;
        }
        for hit in resolve_qualified(index, segs, &mut out.files) {
            if !qualified.contains(&hit) {
                qualified.push(hit);
            }
        }
    }
    // 2. Names written in the question, by specificity.
    let mut named: Vec<(NameId, f64)> = Vec::new();
    for w in &q.words {
        let Some(id) = index.names().get(&w.text) else {
            continue;
        };
        let n = definers(index, id);
        if n == 0 || (!w.code && n > 3) {
            continue;
        }
        let weight = if w.code { 1.0 } else { 0.4 } / (1.0 + (n as f64).ln());
        named.push((id, weight));
    }
    named.sort_by(|a, b| b.1.total_cmp(&a.1));
    out.names = named.iter().map(|n| n.0).collect();
    let mut by_name: Vec<(u32, u32)> = Vec::new();
    for &(id, _) in &named {
        for d in index.symbols().definitions(id).iter().take(8) {
            by_name.push((d.file, d.def));
        }
    }
    // 3. BM25.
    let mut query: Vec<(String, f64)> = Vec::new();
    for w in &q.words {
        let weight = if w.code { 2.0 } else { 1.0 };
        let mut t = Vec::new();
        crate::index::terms(&w.text, &mut t);
        for term in t {
            query.push((term, weight));
        }
    }
    let lexical = index.search().search(&query, LEXICAL_LIST);
    let best = lexical.first().map_or(1.0, |d| d.2);
    // 4. PageRank seeded by the files and names found so far.
    let mut focus = Focus {
        files: out.files.clone(),
        names: out.names.iter().copied().take(8).collect(),
    };
    for &(f, _) in qualified.iter().chain(&by_name).take(6) {
        if !focus.files.contains(&f) {
            focus.files.push(f);
        }
    }
    for &(f, _, _) in lexical.iter().take(5) {
        if !focus.files.contains(&f) {
            focus.files.push(f);
        }
    }
    let graph: Vec<(u32, u32)> = if focus.files.is_empty() && focus.names.is_empty() {
        Vec::new()
    } else {
        index
            .rank_within(&focus, GRAPH_ITERATIONS, GRAPH_FILES)
            .defs
            .iter()
            .filter(|d| d.2 > 0.0)
            .take(LIST)
            .map(|d| (d.0, d.1))
            .collect()
    };
    let mut fused: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    let mut add = |list: &mut dyn Iterator<Item = (u32, u32)>, weight: f64| {
        for (r, key) in list.enumerate() {
            *fused.entry(key).or_default() += weight / (RRF_K + r as f64 + 1.0);
        }
    };
    add(&mut qualified.iter().copied(), 4.0);
    add(&mut by_name.iter().copied(), 2.0);
    add(&mut graph.iter().copied(), 0.5);
    // The lexical ranking counts by rank and by how close its score is to
    // the best: members of a class the question names all match its name,
    // and the one that matches the rest of the question stands out by score.
    for (r, d) in lexical.iter().enumerate() {
        *fused.entry((d.0, d.1)).or_default() += 1.5 * (d.2 / best) / (RRF_K + r as f64 + 1.0);
    }
    // Definitions in files the question names come before the rest found
    // elsewhere (and keep their own order).
    for (r, &f) in out.files.iter().enumerate() {
        let entry = &index.files()[f as usize];
        for (di, _) in entry.defs.iter().enumerate() {
            if let Some(s) = fused.get_mut(&(f, di as u32)) {
                *s += NAMED_FILE / (RRF_K + r as f64 + 1.0);
            }
        }
    }
    let mut defs: Vec<(u32, u32, f64)> = fused.into_iter().map(|((f, d), s)| (f, d, s)).collect();
    for d in &mut defs {
        if index.files()[d.0 as usize].generated {
            d.2 *= 0.3;
        }
    }
    defs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    out.defs = defs;
    out
}
