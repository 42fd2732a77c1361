//! Syntax highlighting with syntect's grammars, drawn in the locus theme:
//! syntect parses a line into TextMate scopes, and each scope is shown with
//! the theme's style for the matching helix-style key (`keyword`, `string`,
//! `comment`, `function`, `type`, `constant`, `operator`), so NO_COLOR and
//! 16/256-colour terminals are handled as everywhere else.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::OnceLock;

use ratatui::style::Style;
use ratatui::text::Span;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet};

use super::style::Styles;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    // syntect's defaults and more (TypeScript, TSX, TOML, Dockerfile, …).
    SET.get_or_init(two_face::syntax::extra_newlines)
}

/// The grammar for a code fence's language tag or a file name's extension.
pub fn syntax_for(token: &str) -> Option<&'static SyntaxReference> {
    let ext = token.rsplit('.').next().unwrap_or(token);
    let ps = syntaxes();
    ps.find_syntax_by_token(token)
        .or_else(|| ps.find_syntax_by_extension(ext))
        .filter(|s| s.name != "Plain Text")
}

/// The theme key for a TextMate scope, if it is one the themes style.
fn theme_key(scope: &Scope) -> Option<&'static str> {
    let s = scope.build_string();
    let starts = |p: &str| s.starts_with(p);
    Some(if starts("comment") {
        "comment"
    } else if starts("string") {
        "string"
    } else if starts("constant") {
        "constant"
    } else if starts("keyword.operator") {
        "operator"
    } else if starts("keyword") || starts("storage.modifier") || starts("storage.type") {
        "keyword"
    } else if starts("entity.name.function") || starts("support.function") {
        "function"
    } else if starts("entity.name") || starts("support.type") || starts("support.class") {
        "type"
    } else {
        return None;
    })
}

/// Highlighted lines of one code block.
pub type Block = Rc<Vec<Vec<Span<'static>>>>;

/// Blocks kept between frames (a frame redraws the same answers; parsing
/// them again each time would cost milliseconds a frame).
const CACHE_MAX: usize = 512;

thread_local! {
    static CACHE: RefCell<HashMap<u64, Block>> = RefCell::new(HashMap::new());
}

/// The lines of a code block in language `lang`, highlighted over `base`;
/// `None` when no grammar knows the language. Cached by content and styles.
pub fn block(lang: &str, code: &[&str], base: Style, st: &Styles) -> Option<Block> {
    let syntax = syntax_for(lang)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let styles = [
        "keyword", "string", "comment", "function", "type", "constant",
    ]
    .map(|k| st.get(k));
    (lang, code, format!("{base:?}{styles:?}")).hash(&mut h);
    let key = h.finish();
    if let Some(b) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Some(b);
    }
    let mut lines = Lines::new(syntax);
    let b: Block = Rc::new(code.iter().map(|l| lines.spans(l, base, st)).collect());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(key, b.clone());
    });
    Some(b)
}

/// Highlights the lines of one code block (or one file's lines) in order,
/// carrying the parser's state from line to line.
pub struct Lines {
    state: ParseState,
    stack: ScopeStack,
}

impl Lines {
    pub fn new(syntax: &SyntaxReference) -> Lines {
        Lines {
            state: ParseState::new(syntax),
            stack: ScopeStack::new(),
        }
    }

    /// `line` (without its newline) as spans in `base` with the scopes'
    /// styles patched over it.
    pub fn spans(&mut self, line: &str, base: Style, st: &Styles) -> Vec<Span<'static>> {
        let with_nl = format!("{line}\n");
        let Ok(ops) = self.state.parse_line(&with_nl, syntaxes()) else {
            return vec![Span::styled(line.to_string(), base)];
        };
        let mut out = Vec::new();
        let mut at = 0;
        let style_now = |stack: &ScopeStack| {
            let key = stack.as_slice().iter().rev().find_map(theme_key);
            key.map_or(base, |k| base.patch(st.get(k)))
        };
        for (pos, op) in ops {
            let pos = pos.min(line.len());
            if pos > at {
                out.push(Span::styled(
                    line[at..pos].to_string(),
                    style_now(&self.stack),
                ));
                at = pos;
            }
            if self.stack.apply(&op).is_err() {
                return vec![Span::styled(line.to_string(), base)];
            }
        }
        if at < line.len() {
            out.push(Span::styled(line[at..].to_string(), style_now(&self.stack)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::Assets;
    use crate::theme::Theme;

    #[test]
    fn the_languages_locus_indexes_have_grammars() {
        for token in [
            "rust",
            "py",
            "ts",
            "tsx",
            "js",
            "go",
            "java",
            "c",
            "cpp",
            "cs",
            "rb",
            "php",
            "sh",
            "toml",
            "Dockerfile",
            "yaml",
            "json",
            "md",
        ] {
            assert!(syntax_for(token).is_some(), "no grammar for {token}");
        }
    }

    #[test]
    fn rust_keywords_strings_and_comments_take_the_themes_styles() {
        let theme = Theme::load(&Assets::new(None), "dark").unwrap();
        let st = Styles::new(Some(theme), 1 << 24);
        let mut h = Lines::new(syntax_for("rust").expect("rust grammar"));
        let spans = h.spans(
            "fn main() { let s = \"hi\"; } // done",
            Style::default(),
            &st,
        );
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "fn main() { let s = \"hi\"; } // done");
        let style_of = |needle: &str| {
            spans
                .iter()
                .find(|s| s.content.contains(needle))
                .unwrap_or_else(|| panic!("{needle} in {spans:?}"))
                .style
        };
        assert_eq!(style_of("fn").fg, st.get("keyword").fg);
        assert_eq!(style_of("hi").fg, st.get("string").fg);
        assert_eq!(style_of("done").fg, st.get("comment").fg);
        assert_ne!(st.get("keyword").fg, st.get("string").fg);
        assert!(syntax_for("py").is_some() && syntax_for("src/lib.rs").is_some());
        assert!(syntax_for("no-such-language").is_none());
    }
}
