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

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Term frequency weights of the fields.
const NAME_WEIGHT: u16 = 4;
const CONTAINER_WEIGHT: u16 = 2;
const OTHER_WEIGHT: u16 = 1;
/// How much a path term counts next to a term in the definition itself.
const PATH_SHARE: f64 = 0.5;

/// Words too common in English questions and code comments to say anything.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "done",
    "each",
    "else",
    "for",
    "from",
    "get",
    "gets",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "might",
    "more",
    "most",
    "my",
    "no",
    "not",
    "now",
    "of",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "used",
    "uses",
    "using",
    "very",
    "was",
    "way",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "explain",
    "show",
    "tell",
    "work",
    "works",
    "happen",
    "happens",
    "code",
    "please",
    "there's",
    "what's",
    "thing",
    "things",
    // Keywords and built-in types that every signature holds.
    "pub",
    "fn",
    "def",
    "self",
    "mut",
    "const",
    "static",
    "impl",
    "return",
    "async",
    "await",
    "let",
    "var",
    "func",
    "public",
    "private",
    "protected",
    "void",
    "int",
    "unsafe",
    "extern",
    "crate",
    "super",
    "dyn",
    "ref",
    "usize",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "i8",
    "i16",
    "i32",
    "i64",
    "f32",
    "f64",
    "bool",
    "char",
    "str",
    "none",
    "true",
    "false",
    "null",
    "cls",
    "inline",
    "virtual",
    "override",
    "final",
    "export",
    "typeof",
    "instanceof",
    "elif",
    "lambda",
    "yield",
    "unsigned",
    "signed",
    "long",
    "short",
    "double",
    "float",
    "auto",
    "where",
    "type",
];

pub fn is_stop_word(w: &str) -> bool {
    static SET: std::sync::OnceLock<rustc_hash::FxHashSet<&'static str>> =
        std::sync::OnceLock::new();
    let set = SET.get_or_init(|| STOP_WORDS.iter().copied().collect());
    w.len() <= 10 && set.contains(w)
}

/// The pieces of an identifier, lower-cased: `parseHTTPHeader` -> parse,
/// http, header; `exist_ok` -> exist, ok; `kebab-case` -> kebab, case.
pub fn pieces(ident: &str) -> Vec<String> {
    let mut out = Vec::new();
    piece_bounds(ident, &mut |a, b| out.push(ident[a..b].to_lowercase()));
    out
}

/// A light stemmer, the same for questions and definitions: plural `s`,
/// `ed`, `ing` and a final `e` come off (`grouped`, `groups`, `grouping` ->
/// `group`; `parse`, `parsed`, `parsing` -> `pars`), a doubled final
/// consonant left by them is undone (`mapped` -> `map`).
pub fn stem(word: &str) -> &str {
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
    if m != n
        && m > 3
        && b[m - 1] == b[m - 2]
        && b[m - 1].is_ascii_lowercase()
        && !matches!(b[m - 1], b'l' | b's' | b'z' | b'e')
    {
        w = &w[..m - 1];
    }
    if w.len() > 3 && w.ends_with('e') {
        &w[..w.len() - 1]
    } else {
        w
    }
}

/// Call `f` with each term of free text or code: each identifier whole
/// (lower-cased, when it has more than one piece) and its pieces (stemmed),
/// stop words and one-letter pieces left out. `buf` is scratch space.
pub fn each_term(text: &str, buf: &mut String, f: &mut dyn FnMut(&str)) {
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() || word.len() > 64 {
            continue;
        }
        let mut n_pieces = 0;
        piece_bounds(word, &mut |a, b| {
            n_pieces += 1;
            buf.clear();
            let piece = &word[a..b];
            if piece.is_ascii() {
                buf.push_str(piece);
                buf.make_ascii_lowercase();
            } else {
                for c in piece.chars() {
                    buf.extend(c.to_lowercase());
                }
            }
            if buf.len() > 1 && !is_stop_word(buf) {
                f(stem(buf));
            }
        });
        if n_pieces > 1 {
            buf.clear();
            buf.push_str(word);
            if word.is_ascii() {
                buf.make_ascii_lowercase();
            } else {
                *buf = word.to_lowercase();
            }
            if !is_stop_word(buf) {
                f(buf);
            }
        }
    }
}

/// The byte ranges of an identifier's pieces (see `pieces`).
fn piece_bounds(word: &str, out: &mut dyn FnMut(usize, usize)) {
    fn walk<C: Copy>(
        chars: &[(usize, C)],
        end: usize,
        alnum: impl Fn(C) -> bool,
        upper: impl Fn(C) -> bool,
        lower: impl Fn(C) -> bool,
        digit: impl Fn(C) -> bool,
        out: &mut dyn FnMut(usize, usize),
    ) {
        let mut start: Option<usize> = None;
        for (k, &(i, c)) in chars.iter().enumerate() {
            if !alnum(c) {
                if let Some(a) = start.take() {
                    out(a, i);
                }
                continue;
            }
            match start {
                Some(a) => {
                    let prev = chars[k - 1].1;
                    let next_lower = chars.get(k + 1).is_some_and(|n| lower(n.1));
                    let boundary = (upper(c) && lower(prev))
                        || (upper(c) && upper(prev) && next_lower)
                        || (digit(c) != digit(prev) && alnum(prev));
                    if boundary {
                        out(a, i);
                        start = Some(i);
                    }
                }
                None => start = Some(i),
            }
        }
        if let Some(a) = start {
            out(a, end);
        }
    }
    if word.is_ascii() {
        let mut chars = [(0usize, 0u8); 64];
        let n = word.len().min(64);
        for (i, b) in word.bytes().take(n).enumerate() {
            chars[i] = (i, b);
        }
        walk(
            &chars[..n],
            n,
            |c: u8| c.is_ascii_alphanumeric(),
            |c: u8| c.is_ascii_uppercase(),
            |c: u8| c.is_ascii_lowercase(),
            |c: u8| c.is_ascii_digit(),
            out,
        );
    } else {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        walk(
            &chars,
            word.len(),
            char::is_alphanumeric,
            char::is_uppercase,
            char::is_lowercase,
            |c: char| c.is_ascii_digit(),
            out,
        );
    }
}

/// The terms of `text` (see `each_term`), as strings.
pub fn terms(text: &str, out: &mut Vec<String>) {
    let mut buf = String::new();
    each_term(text, &mut buf, &mut |t| out.push(t.to_string()));
}

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
        assert_eq!(t, ["makedir", "handl", "exist", "ok", "exist_ok"]);
    }

    #[test]
    fn any_text_splits_without_panicking() {
        // Multi-byte characters whose last bytes repeat, long and odd words.
        let long = "x".repeat(10_000);
        for text in [
            "ꀀꀀs ꀀꀀed ꀀꀀing ＡＢＣdef ßßs é_È_ÿ 日本語のテキスト",
            long.as_str(),
            "a.b::c->d#e/f\\g \u{0} \u{feff}Zero\u{200b}Width",
            "🦀🦀ing 🦀s __init__ ___ _ 9 99 9a a9 A9B",
        ] {
            let mut t = Vec::new();
            terms(text, &mut t);
            for w in text.split_whitespace() {
                let _ = stem(w);
                let _ = pieces(w);
            }
        }
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
            let stems: Vec<&str> = group.iter().map(|w| stem(w)).collect();
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
