//! Lines a model writes instead of code it did not repeat — `# ... existing
//! code ...`, `// rest of the file unchanged` — which, written to disk, would
//! delete that code. An edit that introduces one is refused and the model is
//! told why.

use std::sync::OnceLock;

use regex::Regex;

fn pattern() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    P.get_or_init(|| {
        Regex::new(
            r"(?ix)^\s*(?:\#|//|/\*|--|<!--|;|\*|\{/\*)\s*
              (?:
                (?:\.\.\.|…)\s*(?:\S.*)?$                    # // ... anything
              | (?:rest|remainder)\s+of\s+(?:the\s+)?(?:file|code|function|class|method|module|body|implementation)\b
              | (?:existing|previous|other|remaining|original)\s+(?:code|methods|functions|content|lines|implementation)\b
              | (?:code|lines|content|implementation)\s+(?:unchanged|omitted|stays\s+the\s+same|as\s+before)\b
              | (?:unchanged|same\s+as\s+before|as\s+before)\s*(?:\.\.\.|…|\*/|-->)?\s*$
              )",
        )
        .expect("placeholder pattern")
    })
}

/// The first line of `written` that is a placeholder for code and is not
/// among `kept` (the lines the edit replaces: a placeholder already in the
/// file is the user's own).
pub fn first_placeholder<'a>(written: &'a [String], kept: &[String]) -> Option<&'a str> {
    written
        .iter()
        .map(String::as_str)
        .find(|l| pattern().is_match(l) && !kept.iter().any(|k| k.trim() == l.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_code_is_not() {
        for p in [
            "    # ... existing code ...",
            "// ... rest of the file unchanged",
            "  /* ... */",
            "// rest of the function",
            "# Rest of the class remains the same",
            "    // existing methods",
            "<!-- ... -->",
            "-- remaining code unchanged",
            "    # code unchanged",
            "# unchanged",
            "{/* ... */}",
            "  // …",
        ] {
            assert!(first_placeholder(&[p.to_string()], &[]).is_some(), "{p}");
        }
        for code in [
            "def stub(self): ...",
            "...",
            "x = [1, 2, ...]",
            "# Keep the rest of the arguments for later",
            "// TODO: handle the remaining cases",
            "# see the previous commit for details",
            "print('... existing code ...')",
            "// Unchanged since 2019: the parser.",
        ] {
            assert!(
                first_placeholder(&[code.to_string()], &[]).is_none(),
                "{code}"
            );
        }
        let line = "# ... existing code ...".to_string();
        assert!(
            first_placeholder(std::slice::from_ref(&line), std::slice::from_ref(&line)).is_none()
        );
    }
}
