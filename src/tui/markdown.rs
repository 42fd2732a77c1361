//! Markdown outside code fences, as a terminal can show it: headings in the
//! theme's heading style (their `#`s dropped), list bullets as `•`, `inline
//! code` in the raw style, **bold** bold. Code fences are highlighted
//! elsewhere (`highlight`); anything else is shown as written, so a partly
//! streamed line never jumps.

use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::style::Styles;

/// One line of an answer's prose.
pub fn line(l: &str, st: &Styles) -> Line<'static> {
    let indent = l.len() - l.trim_start().len();
    let body = l.trim_start();
    let hashes = body.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) && body[hashes..].starts_with(' ') {
        return Line::from(Span::styled(
            body[hashes + 1..].to_string(),
            st.get("markup.heading"),
        ));
    }
    let mut spans = vec![Span::raw(" ".repeat(indent))];
    let rest = match body.strip_prefix("- ").or_else(|| body.strip_prefix("* ")) {
        Some(item) => {
            spans.push(Span::styled("• ", st.get("markup.list")));
            item
        }
        None => body,
    };
    spans.extend(inline(rest, st));
    Line::from(spans)
}

/// `code` and **bold** within a line.
fn inline(s: &str, st: &Styles) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    // Backticks pair up; an unpaired one (still streaming) stays as text.
    let pieces: Vec<&str> = s.split('`').collect();
    let paired = pieces.len() % 2 == 1;
    for (i, p) in pieces.iter().enumerate() {
        if i % 2 == 1 && (paired || i + 1 < pieces.len()) {
            out.push(Span::styled(p.to_string(), st.get("markup.raw")));
        } else {
            if i % 2 == 1 {
                out.push(Span::raw("`"));
            }
            bold(p, st, &mut out);
        }
    }
    out
}

fn bold(s: &str, st: &Styles, out: &mut Vec<Span<'static>>) {
    let parts: Vec<&str> = s.split("**").collect();
    let paired = parts.len() % 2 == 1;
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() {
            continue;
        }
        if i % 2 == 1 && paired {
            out.push(Span::styled(
                p.to_string(),
                st.get("markup.bold").add_modifier(Modifier::BOLD),
            ));
        } else if i % 2 == 1 {
            out.push(Span::raw(format!("**{p}")));
        } else {
            out.push(Span::raw(p.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &Line<'_>) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn headings_lists_code_and_bold() {
        let st = Styles::new(None, 0);
        assert_eq!(text(&line("## How it works", &st)), "How it works");
        assert_eq!(text(&line("  - item `x`", &st)), "  • item x");
        let l = line("a **strong** word and `code`", &st);
        assert_eq!(text(&l), "a strong word and code");
        assert!(
            l.spans
                .iter()
                .any(|s| s.content == "strong" && s.style.add_modifier.contains(Modifier::BOLD))
        );
        assert_eq!(
            text(&line("half `open", &st)),
            "half `open",
            "unpaired stays"
        );
        assert_eq!(text(&line("#hashtag", &st)), "#hashtag");
        assert_eq!(text(&line("2 ** 3", &st)), "2 ** 3");
    }
}
