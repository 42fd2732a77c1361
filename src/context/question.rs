//! Reading a question: which words are code and which are English, which
//! names are qualified (`os.makedirs`, `crate::a::b`, `obj->field`,
//! `Class#method`, `xml/dom/minidom.py`) and which words could be paths.
//! Nothing here looks at the index; `retrieve` decides what the words name.

use std::sync::OnceLock;

use regex::Regex;

use crate::index::is_stop_word;

/// A word of the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// Written as code: in backticks or quotes, followed by `()`, or shaped
    /// like an identifier (`snake_case`, `camelCase`, digits, a qualifier).
    pub code: bool,
}

/// What a question mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Question {
    /// Words that may name a file (they hold a `/` or a file extension).
    pub paths: Vec<String>,
    /// Qualified names, split into their segments (`crate`/`self`/`super` dropped).
    pub qualified: Vec<Vec<String>>,
    /// Identifiers and English words, stop words left out, each once.
    pub words: Vec<Word>,
}

fn token_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:\.{1,2}/)?[A-Za-z_$@][\w$]*(?:(?:::|->|\.|#|/|-)[A-Za-z_$0-9][\w$]*)*(?:\(\))?",
        )
        .expect("token pattern")
    })
}

fn quoted_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"`([^`]+)`|"([^"\s][^"]*)"|(?:^|[^\w])'([^'\s]+)'"#).expect("quote pattern")
    })
}

fn identifier_shaped(w: &str) -> bool {
    let chars: Vec<char> = w.chars().collect();
    w.contains('_')
        || w.chars().any(|c| c.is_ascii_digit())
        || chars
            .windows(2)
            .any(|p| p[0].is_lowercase() && p[1].is_uppercase())
        || (chars.len() > 1 && chars.iter().all(|c| c.is_uppercase()))
}

/// The segments of a qualified name, or None when `tok` is one identifier.
fn segments(tok: &str) -> Option<Vec<String>> {
    let t = tok.trim_start_matches("./").trim_start_matches("../");
    if !(t.contains("::")
        || t.contains("->")
        || t.contains('.')
        || t.contains('#')
        || t.contains('/'))
    {
        return None;
    }
    let segs: Vec<String> = t
        .split(['.', '#', '/'])
        .flat_map(|s| s.split("::"))
        .flat_map(|s| s.split("->"))
        .filter(|s| !s.is_empty())
        .filter(|s| !matches!(*s, "crate" | "self" | "super" | "this"))
        .map(String::from)
        .collect();
    (segs.len() > 1).then_some(segs)
}

impl Question {
    pub fn read(text: &str) -> Question {
        let mut q = Question::default();
        let mut code_spans: Vec<&str> = Vec::new();
        for c in quoted_re().captures_iter(text) {
            if let Some(m) = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)) {
                code_spans.push(m.as_str());
            }
        }
        for span in &code_spans {
            q.add_text(span, true);
        }
        q.add_text(text, false);
        q
    }

    fn add_word(&mut self, text: &str, code: bool) {
        if text.is_empty() {
            return;
        }
        let plain = !code && !identifier_shaped(text);
        let stored = if plain {
            text.to_lowercase()
        } else {
            text.to_string()
        };
        if plain && (is_stop_word(&stored) || stored.len() < 2) {
            return;
        }
        if let Some(w) = self.words.iter_mut().find(|w| w.text == stored) {
            w.code |= !plain;
            return;
        }
        self.words.push(Word {
            text: stored,
            code: !plain,
        });
    }

    fn add_text(&mut self, text: &str, quoted: bool) {
        for m in token_re().find_iter(text) {
            let called = m.as_str().ends_with("()");
            let tok = m.as_str().trim_end_matches("()").trim_start_matches('@');
            let code = quoted || called;
            if tok.contains('/') || has_extension(tok) {
                let p = tok.to_string();
                if !self.paths.contains(&p) {
                    self.paths.push(p);
                }
            }
            match segments(tok) {
                Some(segs) => {
                    for s in &segs {
                        self.add_word(s, true);
                    }
                    if !self.qualified.contains(&segs) {
                        self.qualified.push(segs);
                    }
                }
                None if tok.contains('-') && !tok.starts_with('-') => {
                    for part in tok.split('-') {
                        self.add_word(part, code);
                    }
                    if code {
                        self.add_word(tok, true);
                    }
                }
                None => self.add_word(tok, code),
            }
        }
    }

    /// The names written as code, then the other words.
    pub fn code_words(&self) -> impl Iterator<Item = &Word> {
        self.words.iter().filter(|w| w.code)
    }
}

/// `name.ext` with a short alphabetic extension (`os.py`, `mod.rs`).
fn has_extension(tok: &str) -> bool {
    tok.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && (1..=5).contains(&ext.len())
            && ext.chars().all(|c| c.is_ascii_alphanumeric())
            && matches!(
                ext,
                "py" | "rs"
                    | "js"
                    | "jsx"
                    | "ts"
                    | "tsx"
                    | "go"
                    | "java"
                    | "c"
                    | "h"
                    | "cc"
                    | "cpp"
                    | "hpp"
                    | "cs"
                    | "rb"
                    | "php"
                    | "sh"
                    | "toml"
                    | "json"
                    | "md"
                    | "yaml"
                    | "yml"
                    | "txt"
                    | "mjs"
                    | "cjs"
                    | "kt"
                    | "swift"
                    | "scala"
                    | "lua"
                    | "pyi"
                    | "cfg"
                    | "ini"
                    | "html"
                    | "css"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &Question) -> Vec<(&str, bool)> {
        q.words.iter().map(|w| (w.text.as_str(), w.code)).collect()
    }

    #[test]
    fn dotted_names_are_split_and_english_is_weighed() {
        let q = Question::read("How does os.makedirs handle exist_ok?");
        assert_eq!(q.qualified, vec![vec!["os".to_string(), "makedirs".into()]]);
        assert_eq!(
            words(&q),
            [
                ("os", true),
                ("makedirs", true),
                ("handle", false),
                ("exist_ok", true)
            ]
        );
        assert!(q.paths.is_empty());
    }

    #[test]
    fn every_qualifier_spelling_is_read() {
        for (text, segs) in [
            (
                "what does crate::text::TextDiff do",
                vec!["text", "TextDiff"],
            ),
            ("where is node->next set", vec!["node", "next"]),
            ("explain Foo#bar please", vec!["Foo", "bar"]),
            (
                "see xml/dom/minidom.py",
                vec!["xml", "dom", "minidom", "py"],
            ),
            ("call `a.b.c()` twice", vec!["a", "b", "c"]),
        ] {
            let q = Question::read(text);
            let want: Vec<String> = segs.into_iter().map(String::from).collect();
            assert!(q.qualified.contains(&want), "{text}: {:?}", q.qualified);
        }
        let q = Question::read("see xml/dom/minidom.py and ./src/lib.rs.");
        assert_eq!(q.paths, ["xml/dom/minidom.py", "./src/lib.rs"]);
    }

    #[test]
    fn quoted_and_called_words_are_code() {
        let q = Question::read("what does 'shuffle' do with `random`, and parse()?");
        let w = words(&q);
        assert!(w.contains(&("shuffle", true)), "{w:?}");
        assert!(w.contains(&("random", true)), "{w:?}");
        assert!(w.contains(&("parse", true)), "{w:?}");
        let q = Question::read("what's the don't-care case?");
        assert!(!words(&q).iter().any(|(_, code)| *code), "{:?}", words(&q));
    }

    #[test]
    fn hostile_questions_are_read_without_panicking() {
        let long = "a.".repeat(5_000);
        for text in [
            "",
            "```",
            "`unclosed backtick and \"quote",
            "''''' \"\"\" ``` ::: -> # / .. ./ ../",
            "ꀀꀀ.ꀀꀀ::日本語 🦀->🦀 Ünïcödé#méthod",
            long.as_str(),
            "\u{0}\u{1b}[31mred\u{1b}[0m os.path",
        ] {
            let q = Question::read(text);
            assert!(q.words.iter().all(|w| !w.text.is_empty()));
        }
    }

    #[test]
    fn kebab_words_give_their_pieces() {
        let q = Question::read("what does `max-tokens` bound");
        let w = words(&q);
        assert!(
            w.contains(&("max", true)) && w.contains(&("tokens", true)),
            "{w:?}"
        );
        assert!(w.contains(&("max-tokens", true)), "{w:?}");
    }
}
