//! `@` completion in the composer: the word being typed after an `@` is
//! matched against the index's files and defined symbols. A mention like
//! `@src/calc.py` or `@parse_config` is what the context builder resolves to
//! the file or the definition.

/// What the index offers for completion, with each entry lower-cased once
/// (the popup is matched again on every key and frame).
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// (lower-cased, as is) repo-relative paths, `/`-separated.
    files: Vec<(String, String)>,
    /// (lower-cased, as is) names with a definition, each once.
    symbols: Vec<(String, String)>,
}

impl Names {
    pub fn new(files: Vec<String>, symbols: Vec<String>) -> Names {
        let lower = |v: Vec<String>| v.into_iter().map(|s| (s.to_lowercase(), s)).collect();
        Names {
            files: lower(files),
            symbols: lower(symbols),
        }
    }
}

/// Candidates shown at most.
pub const MAX: usize = 8;

/// The `@` word at the end of `input` (without the `@`), if the user is
/// typing one.
pub fn word(input: &str) -> Option<&str> {
    let last = input.rsplit(char::is_whitespace).next()?;
    last.strip_prefix('@')
}

/// What matches `query`, best first (case-insensitive): exact names
/// (a symbol, a file's name or path), symbols that start with it, files
/// whose name starts with it, files whose path contains it, symbols that
/// contain it; at most `MAX`. Nothing when the query is already exactly a
/// name (the popup closes on an exact match).
pub fn candidates(names: &Names, query: &str) -> Vec<String> {
    if !query.is_empty()
        && (names.symbols.iter().any(|(_, s)| s == query)
            || names.files.iter().any(|(_, f)| f == query))
    {
        return Vec::new();
    }
    let q = query.to_lowercase();
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let mut out: Vec<String> = Vec::new();
    let files = names.files.iter();
    let symbols = names.symbols.iter();
    let ranked = symbols
        .clone()
        .filter(|(l, _)| *l == q)
        .chain(files.clone().filter(|(l, _)| *l == q || base(l) == q))
        .chain(symbols.clone().filter(|(l, _)| l.starts_with(&q)))
        .chain(
            files
                .clone()
                .filter(|(l, _)| base(l).starts_with(q.as_str())),
        )
        .chain(files.filter(|(l, _)| l.contains(&q)))
        .chain(symbols.filter(|(l, _)| l.contains(&q)));
    for (_, s) in ranked {
        if !out.contains(s) {
            out.push(s.clone());
        }
        if out.len() == MAX {
            break;
        }
    }
    out
}

/// `input` with its last word replaced by `@choice` and a space.
pub fn accept(input: &str, choice: &str) -> String {
    let cut = input
        .rfind(char::is_whitespace)
        .map(|i| i + input[i..].chars().next().map_or(1, char::len_utf8))
        .unwrap_or(0);
    format!("{}@{choice} ", &input[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::new(
            vec![
                "src/calc.py".into(),
                "src/parse/config.py".into(),
                "docs/calculus.md".into(),
                "README.md".into(),
            ],
            vec!["calculate".into(), "parse_config".into()],
        )
    }

    #[test]
    fn the_word_after_an_at_sign_is_completed_symbols_and_names_first() {
        assert_eq!(word("what does @cal"), Some("cal"));
        assert_eq!(word("@"), Some(""));
        assert_eq!(word("what does cal"), None);
        assert_eq!(word("@calc.py then"), None);
        assert_eq!(
            candidates(&names(), "CAL"),
            ["calculate", "src/calc.py", "docs/calculus.md"]
        );
        assert_eq!(
            candidates(&names(), "config"),
            ["src/parse/config.py", "parse_config"]
        );
        // `@Diff`: the symbol before paths that merely contain the word.
        let n = Names::new(
            (0..8)
                .map(|i| format!("tests/snapshots/diff_{i}.snap"))
                .collect(),
            vec!["DiffHook".into(), "unified_diff".into()],
        );
        assert_eq!(candidates(&n, "Diff")[0], "DiffHook");
        assert_eq!(candidates(&n, "Diff").len(), MAX);
        // An exact name closes the popup.
        assert!(candidates(&n, "DiffHook").is_empty());
        assert!(candidates(&names(), "src/calc.py").is_empty());
        assert_eq!(candidates(&names(), "").len(), 6);
        assert!(candidates(&names(), "zzz").is_empty());
    }

    #[test]
    fn accepting_replaces_only_the_last_word() {
        assert_eq!(
            accept("what does @cal", "src/calc.py"),
            "what does @src/calc.py "
        );
        assert_eq!(accept("@par", "parse_config"), "@parse_config ");
        assert_eq!(accept("line one\n@c", "calculate"), "line one\n@calculate ");
    }
}
