//! Lexical search over the definitions: each definition is a small document
//! of its name and the name's pieces, the class or impl around it, its
//! signature, the first sentence of its doc comment and its file's path,
//! scored with BM25 (names weigh more than the rest). It finds what a
//! question describes in words rather than names ("how are relative URLs
//! joined") and weighs a word by how rare it is in this repository.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::file::FileEntry;
use super::names::{NameId, Names};
use super::terms::each_term;

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Term frequency weights of the fields.
const NAME_WEIGHT: u16 = 4;
const CONTAINER_WEIGHT: u16 = 2;
const OTHER_WEIGHT: u16 = 1;
/// How much a path term counts next to a term in the definition itself.
const PATH_SHARE: f64 = 0.5;

/// A term's key: 32 bits of its hash (a collision between two of a
/// repository's terms costs a little precision, never a wrong answer).
fn key(term: &str) -> u32 {
    xxhash_rust::xxh3::xxh3_64(term.as_bytes()) as u32
}

fn keys_of(text: &str, buf: &mut String, out: &mut Vec<u32>) {
    each_term(text, buf, &mut |t| out.push(key(t)));
}

/// One file's part of the index.
#[derive(Debug, Default)]
struct FileTerms {
    /// (term, definition, weighted frequency), sorted by term.
    post: Vec<(u32, u16, u16)>,
    /// Each definition's length in weighted terms.
    lens: Vec<u16>,
    /// The terms of the file's path, sorted.
    path: Vec<u32>,
}

/// The lexical index: definitions as documents of their name's terms
/// (weighted most), their container's, their signature's and their doc
/// line's; file paths as a field of their own, scored per file. Kept per
/// file, sorted, and read by binary search: building it costs one pass over
/// the definitions and no global table, and a query looks each of its few
/// terms up in every file.
#[derive(Debug, Default)]
pub struct Search {
    files: Vec<FileTerms>,
    /// (term, file) for every term of every file's definitions, sorted: which
    /// files to look in for a term.
    directory: Vec<(u32, u32)>,
    /// (term, file) for the terms of every file's path, sorted.
    path_directory: Vec<(u32, u32)>,
    n_docs: usize,
    avg_len: f64,
}

/// Sorted (key, weight) pairs with equal keys summed.
fn merge(v: &mut Vec<(u32, u16)>) {
    v.sort_unstable_by_key(|t| t.0);
    let mut w = 0;
    for r in 0..v.len() {
        if w > 0 && v[w - 1].0 == v[r].0 {
            v[w - 1].1 = v[w - 1].1.saturating_add(v[r].1);
        } else {
            v[w] = v[r];
            w += 1;
        }
    }
    v.truncate(w);
}

impl Search {
    pub fn build(files: &[FileEntry], names: &Names) -> Search {
        // The terms of each name that names a definition or a container, once.
        let mut used = vec![false; names.len()];
        for f in files {
            for d in &f.defs {
                used[d.name as usize] = true;
                if let Some(c) = d.container {
                    used[c as usize] = true;
                }
            }
        }
        let name_keys: Vec<Vec<u32>> = (0..names.len())
            .into_par_iter()
            .map_init(String::new, |buf, i| {
                let mut out = Vec::new();
                if used[i] {
                    keys_of(names.name(i as NameId), buf, &mut out);
                }
                out
            })
            .collect();
        let files: Vec<FileTerms> = files
            .par_iter()
            .map_init(
                || (String::new(), Vec::new(), Vec::new()),
                |(buf, doc, scratch), f| {
                    let mut t = FileTerms::default();
                    if f.defs.is_empty() {
                        return t;
                    }
                    t.post.reserve(f.defs.len() * 8);
                    t.lens.reserve(f.defs.len());
                    let stem_path = f.path.rsplit_once('.').map_or(f.path.as_str(), |(s, _)| s);
                    keys_of(stem_path, buf, &mut t.path);
                    t.path.sort_unstable();
                    t.path.dedup();
                    for (di, d) in f.defs.iter().enumerate().take(usize::from(u16::MAX)) {
                        doc.clear();
                        doc.extend(name_keys[d.name as usize].iter().map(|k| (*k, NAME_WEIGHT)));
                        if let Some(c) = d.container {
                            doc.extend(
                                name_keys[c as usize].iter().map(|k| (*k, CONTAINER_WEIGHT)),
                            );
                        }
                        scratch.clear();
                        keys_of(f.signature(d), buf, scratch);
                        keys_of(f.doc(d), buf, scratch);
                        doc.extend(scratch.iter().map(|k| (*k, OTHER_WEIGHT)));
                        merge(doc);
                        let len: usize = doc.iter().map(|t| t.1 as usize).sum();
                        t.lens.push(len.min(usize::from(u16::MAX)) as u16);
                        t.post.extend(doc.iter().map(|&(k, tf)| (k, di as u16, tf)));
                    }
                    t.post.sort_unstable_by_key(|p| p.0);
                    t.post.shrink_to_fit();
                    t
                },
            )
            .collect();
        let mut directory: Vec<(u32, u32)> = files
            .par_iter()
            .enumerate()
            .flat_map_iter(|(fi, f)| {
                let mut keys: Vec<u32> = f.post.iter().map(|p| p.0).collect();
                keys.dedup();
                keys.into_iter().map(move |k| (k, fi as u32))
            })
            .collect();
        directory.par_sort_unstable();
        let mut path_directory: Vec<(u32, u32)> = files
            .iter()
            .enumerate()
            .flat_map(|(fi, f)| f.path.iter().map(move |k| (*k, fi as u32)))
            .collect();
        path_directory.par_sort_unstable();
        let n_docs: usize = files.iter().map(|f| f.lens.len()).sum();
        let total: usize = files
            .iter()
            .flat_map(|f| f.lens.iter())
            .map(|l| usize::from(*l))
            .sum();
        Search {
            files,
            directory,
            path_directory,
            n_docs,
            avg_len: if n_docs == 0 {
                1.0
            } else {
                total as f64 / n_docs as f64
            },
        }
    }

    /// Definitions ranked by BM25 for `query` terms (each with a weight, e.g.
    /// higher for words written as code), best first, at most `limit`. A
    /// term in a file's path lifts that file's definitions the other terms
    /// found, weighed by how many files' paths hold it.
    pub fn search(&self, query: &[(String, f64)], limit: usize) -> Vec<(u32, u32, f64)> {
        let mut keys: Vec<(u32, f64)> = Vec::new();
        for (term, weight) in query {
            let k = key(term);
            if !keys.iter().any(|q| q.0 == k) {
                keys.push((k, *weight));
            }
        }
        // Every file's postings of every query term, and the files whose paths hold it.
        let mut hits: Vec<Vec<(u32, u16, u16)>> = vec![Vec::new(); keys.len()];
        let mut path_hits: Vec<Vec<u32>> = vec![Vec::new(); keys.len()];
        for (q, &(k, _)) in keys.iter().enumerate() {
            let a = self.directory.partition_point(|e| e.0 < k);
            for &(_, fi) in self.directory[a..].iter().take_while(|e| e.0 == k) {
                let post = &self.files[fi as usize].post;
                let b = post.partition_point(|p| p.0 < k);
                for p in post[b..].iter().take_while(|p| p.0 == k) {
                    hits[q].push((fi, p.1, p.2));
                }
            }
            let a = self.path_directory.partition_point(|e| e.0 < k);
            path_hits[q].extend(
                self.path_directory[a..]
                    .iter()
                    .take_while(|e| e.0 == k)
                    .map(|e| e.1),
            );
        }
        let n = self.n_docs as f64;
        let n_files = self.files.len() as f64;
        let mut scores: FxHashMap<(u32, u16), f64> = FxHashMap::default();
        let mut file_scores: FxHashMap<u32, f64> = FxHashMap::default();
        for (q, &(_, weight)) in keys.iter().enumerate() {
            let df = hits[q].len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(fi, di, tf) in &hits[q] {
                let tf = f64::from(tf);
                let len = f64::from(self.files[fi as usize].lens[usize::from(di)]);
                let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / self.avg_len));
                *scores.entry((fi, di)).or_default() += weight * idf * norm;
            }
            let df = path_hits[q].len() as f64;
            let idf = ((n_files - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &fi in &path_hits[q] {
                *file_scores.entry(fi).or_default() += weight * idf * PATH_SHARE;
            }
        }
        let mut out: Vec<(u32, u32, f64)> = scores
            .into_iter()
            .map(|((f, d), s)| {
                (
                    f,
                    u32::from(d),
                    s + file_scores.get(&f).copied().unwrap_or(0.0),
                )
            })
            .collect();
        out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        out.truncate(limit);
        out
    }
}
