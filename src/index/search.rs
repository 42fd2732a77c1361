//! Lexical search over the definitions: each definition is a small document
//! of its name and the name's pieces, the class or impl around it, its
//! signature, the first sentence of its doc comment and its file's path,
//! scored with BM25 (names weigh more than the rest). It finds what a
//! question describes in words rather than names ("how are relative URLs
//! joined") and weighs a word by how rare it is in this repository.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::file::FileEntry;
use super::names::Names;

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Term frequency weights of the fields.
const NAME_WEIGHT: u16 = 4;
const CONTAINER_WEIGHT: u16 = 2;
const OTHER_WEIGHT: u16 = 1;

/// Words too common in English questions and code comments to say anything.
pub const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing", "done",
    "each", "else", "for", "from", "get", "gets", "had", "has", "have", "having", "he", "her",
    "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
    "me", "might", "more", "most", "my", "no", "not", "now", "of", "on", "once", "one", "only",
    "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "us", "used", "uses", "using", "very", "was",
    "way", "we", "were", "what", "when", "where", "whether", "which", "while", "who", "whom",
    "why", "will", "with", "would", "you", "your", "explain", "show", "tell", "work", "works",
    "happen", "happens", "code", "please", "there's", "what's", "thing", "things",
];

pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.contains(&w)
}

/// The pieces of an identifier, lower-cased: `parseHTTPHeader` -> parse,
/// http, header; `exist_ok` -> exist, ok; `kebab-case` -> kebab, case.
pub fn pieces(ident: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = ident.chars().collect();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (c.is_uppercase() && prev.is_lowercase())
                || (c.is_uppercase() && prev.is_uppercase() && next_lower)
                || (c.is_ascii_digit() != prev.is_ascii_digit() && prev.is_alphanumeric());
            if boundary {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A light stemmer, the same for questions and definitions: plural `s`,
/// `ed`, `ing` and a final `e` come off (`grouped`, `groups`, `grouping` ->
/// `group`; `parse`, `parsed`, `parsing` -> `pars`), a doubled final
/// consonant left by them is undone (`mapped` -> `map`).
pub fn stem(word: &str) -> String {
    let mut w = word;
    let n = w.len();
    if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w = &w[..n - 1];
    } else if n > 6 && w.ends_with("ing") {
        w = &w[..n - 3];
    } else if n > 5 && w.ends_with("ed") && !w.ends_with("eed") {
        w = &w[..n - 2];
    }
    let b = w.as_bytes();
    let m = b.len();
    if m != n && m > 3 && b[m - 1] == b[m - 2] && !matches!(b[m - 1], b'l' | b's' | b'z' | b'e') {
        w = &w[..m - 1];
    }
    let w = if w.len() > 3 && w.ends_with('e') {
        &w[..w.len() - 1]
    } else {
        w
    };
    w.to_string()
}

/// The terms of free text or code: each identifier whole (lower-cased) and
/// its pieces (stemmed), stop words and one-letter pieces left out.
pub fn terms(text: &str, out: &mut Vec<String>) {
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() || word.len() > 64 {
            continue;
        }
        let lower = word.to_lowercase();
        let parts = pieces(word);
        let whole_is_piece = parts.len() == 1 && parts[0] == lower;
        if !whole_is_piece && lower.len() > 1 && !is_stop_word(&lower) {
            out.push(lower);
        }
        for p in parts {
            if p.len() > 1 && !is_stop_word(&p) {
                out.push(stem(&p));
            }
        }
    }
}

fn key(term: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(term.as_bytes())
}

/// One definition's terms with their weighted frequencies.
fn document(
    f: &FileEntry,
    d: &super::file::Def,
    names: &Names,
    path_terms: &[String],
) -> Vec<(u64, u16)> {
    let mut weighted: Vec<(u64, u16)> = Vec::with_capacity(24);
    let mut scratch = Vec::with_capacity(16);
    let mut add = |text: &str, w: u16, scratch: &mut Vec<String>| {
        scratch.clear();
        terms(text, scratch);
        for t in scratch.iter() {
            weighted.push((key(t), w));
        }
    };
    add(names.name(d.name), NAME_WEIGHT, &mut scratch);
    if let Some(c) = d.container {
        add(names.name(c), CONTAINER_WEIGHT, &mut scratch);
    }
    add(f.signature(d), OTHER_WEIGHT, &mut scratch);
    add(f.doc(d), OTHER_WEIGHT, &mut scratch);
    for t in path_terms {
        weighted.push((key(t), OTHER_WEIGHT));
    }
    weighted.sort_unstable_by_key(|t| t.0);
    let mut merged: Vec<(u64, u16)> = Vec::with_capacity(weighted.len());
    for (k, w) in weighted {
        match merged.last_mut() {
            Some(last) if last.0 == k => last.1 = last.1.saturating_add(w),
            _ => merged.push((k, w)),
        }
    }
    merged
}

/// The inverted index of the definitions.
#[derive(Debug, Default)]
pub struct Search {
    postings: FxHashMap<u64, Vec<(u32, u16)>>,
    /// (file, definition) of each document.
    docs: Vec<(u32, u32)>,
    lens: Vec<u16>,
    avg_len: f64,
}

impl Search {
    pub fn build(files: &[FileEntry], names: &Names) -> Search {
        let per_file: Vec<Vec<Vec<(u64, u16)>>> = files
            .par_iter()
            .map(|f| {
                if f.defs.is_empty() {
                    return Vec::new();
                }
                let mut path_terms = Vec::new();
                let stem = f.path.rsplit_once('.').map_or(f.path.as_str(), |(s, _)| s);
                terms(stem, &mut path_terms);
                path_terms.sort();
                path_terms.dedup();
                f.defs
                    .iter()
                    .map(|d| document(f, d, names, &path_terms))
                    .collect()
            })
            .collect();
        let mut s = Search::default();
        let mut total = 0usize;
        for (fi, docs) in per_file.into_iter().enumerate() {
            for (di, doc) in docs.into_iter().enumerate() {
                let id = s.docs.len() as u32;
                s.docs.push((fi as u32, di as u32));
                let len: usize = doc.iter().map(|t| t.1 as usize).sum();
                total += len;
                s.lens.push(len.min(u16::MAX as usize) as u16);
                for (k, tf) in doc {
                    s.postings.entry(k).or_default().push((id, tf));
                }
            }
        }
        s.avg_len = if s.docs.is_empty() {
            1.0
        } else {
            total as f64 / s.docs.len() as f64
        };
        s
    }

    /// How many definitions a term occurs in.
    pub fn doc_freq(&self, term: &str) -> usize {
        self.postings.get(&key(term)).map_or(0, Vec::len)
    }

    /// Definitions ranked by BM25 for `query` terms (each with a weight, e.g.
    /// higher for words written as code), best first, at most `limit`.
    pub fn search(&self, query: &[(String, f64)], limit: usize) -> Vec<(u32, u32, f64)> {
        let n = self.docs.len() as f64;
        let mut scores: FxHashMap<u32, f64> = FxHashMap::default();
        let mut seen: Vec<u64> = Vec::new();
        for (term, weight) in query {
            let k = key(term);
            if seen.contains(&k) {
                continue;
            }
            seen.push(k);
            let Some(list) = self.postings.get(&k) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in list {
                let tf = f64::from(tf);
                let len = f64::from(self.lens[doc as usize]);
                let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / self.avg_len));
                *scores.entry(doc).or_default() += weight * idf * norm;
            }
        }
        let mut out: Vec<(u32, u32, f64)> = scores
            .into_iter()
            .map(|(d, s)| {
                let (f, di) = self.docs[d as usize];
                (f, di, s)
            })
            .collect();
        out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        out.truncate(limit);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_into_pieces() {
        assert_eq!(pieces("parseHTTPHeader"), ["parse", "http", "header"]);
        assert_eq!(pieces("exist_ok"), ["exist", "ok"]);
        assert_eq!(pieces("kebab-case"), ["kebab", "case"]);
        assert_eq!(pieces("TextDiff"), ["text", "diff"]);
        assert_eq!(pieces("utf8_decode"), ["utf", "8", "decode"]);
        assert_eq!(pieces("basicConfig"), ["basic", "config"]);
    }

    #[test]
    fn terms_keep_the_whole_name_and_drop_stop_words() {
        let mut t = Vec::new();
        terms("How does makedirs handle exist_ok?", &mut t);
        assert_eq!(t, ["makedir", "handl", "exist_ok", "exist", "ok"]);
    }

    #[test]
    fn word_forms_meet_at_one_stem() {
        for group in [
            &["group", "groups", "grouped", "grouping"][..],
            &["parse", "parsed", "parsing", "parses"],
            &["map", "mapped", "mapping", "maps"],
            &["match", "matches", "matched", "matching"],
            &["line", "lines"],
        ] {
            let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
            assert!(
                stems.iter().all(|s| *s == stems[0]),
                "{group:?} -> {stems:?}"
            );
        }
        for kept in ["process", "status", "string", "class"] {
            assert_eq!(stem(kept), kept);
        }
    }
}
