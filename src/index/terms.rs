//! Terms: how questions and definitions are cut into words the lexical
//! index can match. Identifiers split into their pieces (`parseHTTPHeader`
//! -> parse, http, header), pieces stemmed lightly (`grouped` -> `group`),
//! English stop words and every signature's keywords left out.

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
