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

/// Files then symbols matching `query`, best first: files whose name starts
/// with it, files whose path contains it, symbols that start with it, symbols
/// that contain it (case-insensitive), at most `MAX`.
pub fn candidates(names: &Names, query: &str) -> Vec<String> {
    let q = query.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    let name_starts = |p: &str| p.rsplit('/').next().unwrap_or(p).starts_with(q.as_str());
    let files = names.files.iter();
    let symbols = names.symbols.iter();
    let ranked = files
        .clone()
        .filter(|(l, _)| name_starts(l))
        .chain(files.filter(|(l, _)| l.contains(&q)))
        .chain(symbols.clone().filter(|(l, _)| l.starts_with(&q)))
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
    fn the_word_after_an_at_sign_is_completed_files_first() {
        assert_eq!(word("what does @cal"), Some("cal"));
        assert_eq!(word("@"), Some(""));
        assert_eq!(word("what does cal"), None);
        assert_eq!(word("@calc.py then"), None);
        assert_eq!(
            candidates(&names(), "CAL"),
            ["src/calc.py", "docs/calculus.md", "calculate"]
        );
        assert_eq!(
            candidates(&names(), "config"),
            ["src/parse/config.py", "parse_config"]
        );
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
