//! `@` completion in the composer: the word being typed after an `@` is
//! matched against the index's files and defined symbols. A mention like
//! `@src/calc.py` or `@parse_config` is what the context builder resolves to
//! the file or the definition.

/// What the index offers for completion.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Repo-relative paths, `/`-separated.
    pub files: Vec<String>,
    /// Names with a definition, sorted, each once.
    pub symbols: Vec<String>,
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
    let push = |s: &String, out: &mut Vec<String>| {
        if out.len() < MAX && !out.contains(s) {
            out.push(s.clone());
        }
    };
    let name_of = |p: &str| p.rsplit('/').next().unwrap_or(p).to_lowercase();
    for f in names.files.iter().filter(|f| name_of(f).starts_with(&q)) {
        push(f, &mut out);
    }
    for f in names.files.iter().filter(|f| f.to_lowercase().contains(&q)) {
        push(f, &mut out);
    }
    for s in names
        .symbols
        .iter()
        .filter(|s| s.to_lowercase().starts_with(&q))
    {
        push(s, &mut out);
    }
    for s in names
        .symbols
        .iter()
        .filter(|s| s.to_lowercase().contains(&q))
    {
        push(s, &mut out);
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
        Names {
            files: vec![
                "src/calc.py".into(),
                "src/parse/config.py".into(),
                "docs/calculus.md".into(),
                "README.md".into(),
            ],
            symbols: vec!["calculate".into(), "parse_config".into()],
        }
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
