//! Lines a model writes instead of code it did not repeat — `# ... existing
//! code ...`, `// rest of the file unchanged` — which, written to disk, would
//! delete that code. An edit that introduces one is refused and the model is
//! told why.

use std::sync::OnceLock;

use regex::Regex;

fn pattern() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    P.get_or_init(|| {
        // The comment is an ellipsis alone, or opens (after an optional
        // ellipsis) with a phrase that stands for code left out. Measured on
        // CPython's stdlib and the registry's crates: comments that merely
        // start with "..." or mention "remaining lines" or "original code"
        // are prose, and are not matched.
        Regex::new(
            r"(?ix)^\s*(?:\#|//|/\*|--|<!--|;|\*|\{/\*)\s*
              (?:
                (?:\.\.\.|…)\s*(?:\*/|-->|\*/\})?\s*$
              | (?:(?:\.\.\.|…)\s*)?
                (?:
                  (?:the\s+)?(?:rest|remainder)\s+of\s+(?:the\s+)?(?:file|code|function|class|method|module|body|implementation)\b.{0,30}$
                | (?:existing|remaining|previous)\s+(?:code|methods|functions|implementation|imports)\b.{0,30}$
                | (?:code|implementation)\s+(?:unchanged|omitted|stays\s+the\s+same|as\s+before)\b.{0,30}$
                | (?:unchanged|same\s+as\s+before|as\s+before|omitted\s+for\s+brevity)\s*(?:\.\.\.|…|\*/|-->)?\s*$
                )
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
            "# ...in order to have a more informative exception.",
            "# remaining lines in the input are thrown into the message body.",
            "# Original code by Kevin O'Connor, augmented by Tim Peters",
            "// other code when running loom tests.",
            "// The rest of the code in this module needs to be careful that only a",
            "# The remainder of the file consists of leap seconds (currently unused) and",
            "// ... but only if we don't already have a **/ prefix.",
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
