//! Markdown outside code fences, as a terminal can show it, line by line
//! (so a streamed answer never reflows above the line being written):
//! headings in the theme's heading style (their `#`s dropped), `-`/`*`
//! bullets as `•`, numbered items, `>` quotes, and within a line what
//! `pulldown-cmark` reads — `code`, **bold**, *emphasis*, ~~struck~~ and
//! [links](url) with their address. Tables (`| a | b |` rows) are drawn with
//! their columns aligned. Code fences are highlighted elsewhere (`highlight`).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
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
    let rest = if let Some(item) = body.strip_prefix("- ").or_else(|| body.strip_prefix("* ")) {
        spans.push(Span::styled("• ", st.get("markup.list")));
        item
    } else if let Some((n, item)) = numbered(body) {
        spans.push(Span::styled(format!("{n}. "), st.get("markup.list")));
        item
    } else if let Some(quote) =
        body.strip_prefix("> ")
            .or(if body == ">" { Some("") } else { None })
    {
        spans.push(Span::styled("│ ", st.get("markup.quote")));
        quote
    } else {
        body
    };
    spans.extend(inline(rest, st));
    Line::from(spans)
}

/// `12. text` -> (12, "text").
fn numbered(body: &str) -> Option<(u32, &str)> {
    let digits = body.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = body[digits..]
        .strip_prefix(". ")
        .or_else(|| body[digits..].strip_prefix(") "))?;
    Some((body[..digits].parse().ok()?, rest))
}

/// The spans of one line's inline markdown.
fn inline(s: &str, st: &Styles) -> Vec<Span<'static>> {
    // Edit blocks' and merge markers are text, not quotes or rules.
    if ["<<<<<<<", ">>>>>>>", "=======", ">"]
        .iter()
        .any(|m| s.starts_with(m))
    {
        return vec![Span::raw(s.to_string())];
    }
    let mut out = Vec::new();
    let (mut bold, mut em, mut strike) = (0u32, 0u32, 0u32);
    let mut link: Option<String> = None;
    let style = |bold: u32, em: u32, strike: u32, link: bool| {
        let mut s = if link {
            st.get("markup.link.text")
        } else if bold > 0 {
            st.get("markup.bold")
        } else {
            Style::default()
        };
        if bold > 0 {
            s = s.add_modifier(Modifier::BOLD);
        }
        if em > 0 {
            s = s.add_modifier(Modifier::ITALIC);
        }
        if strike > 0 {
            s = s.add_modifier(Modifier::CROSSED_OUT);
        }
        if link {
            s = s.add_modifier(Modifier::UNDERLINED);
        }
        s
    };
    for ev in Parser::new_ext(s, Options::ENABLE_STRIKETHROUGH) {
        match ev {
            Event::Start(Tag::Strong) => bold += 1,
            Event::End(TagEnd::Strong) => bold = bold.saturating_sub(1),
            Event::Start(Tag::Emphasis) => em += 1,
            Event::End(TagEnd::Emphasis) => em = em.saturating_sub(1),
            Event::Start(Tag::Strikethrough) => strike += 1,
            Event::End(TagEnd::Strikethrough) => strike = strike.saturating_sub(1),
            Event::Start(Tag::Link { dest_url, .. }) => link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take().filter(|u| !u.is_empty()) {
                    out.push(Span::styled(format!(" ({url})"), st.get("ui.text.dim")));
                }
            }
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push(Span::styled(
                    t.to_string(),
                    style(bold, em, strike, link.is_some()),
                ));
            }
            Event::Code(c) => out.push(Span::styled(c.to_string(), st.get("markup.raw"))),
            Event::SoftBreak | Event::HardBreak => out.push(Span::raw(" ")),
            _ => {}
        }
    }
    if out.is_empty() && !s.trim().is_empty() {
        out.push(Span::raw(s.to_string()));
    }
    out
}

/// Whether `l` is a row of a table (`| a | b |`).
pub fn is_table_row(l: &str) -> bool {
    let t = l.trim();
    t.len() > 1 && t.starts_with('|') && t.ends_with('|')
}

/// Table rows with their columns aligned; the `|---|` row becomes a rule.
pub fn table(rows: &[&str], st: &Styles) -> Vec<Line<'static>> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let t = r.trim();
            t[1..t.len() - 1]
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let rule = |row: &[String]| {
        row.iter()
            .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
    };
    let n = cells.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; n];
    for row in cells.iter().filter(|r| !rule(r)) {
        for (i, c) in row.iter().enumerate() {
            let shown: usize = inline(c, st)
                .iter()
                .map(|s| s.content.chars().count())
                .sum();
            widths[i] = widths[i].max(shown);
        }
    }
    let border = st.get("ui.text.dim");
    cells
        .iter()
        .enumerate()
        .map(|(r, row)| {
            if rule(row) {
                let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
                return Line::from(Span::styled(parts.join("┼"), border));
            }
            let mut spans = Vec::new();
            for (i, w) in widths.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::styled("│", border));
                }
                let c = row.get(i).map_or("", String::as_str);
                let mut cell = inline(c, st);
                if r == 0 {
                    for s in &mut cell {
                        s.style = s.style.add_modifier(Modifier::BOLD);
                    }
                }
                let shown: usize = cell.iter().map(|s| s.content.chars().count()).sum();
                spans.push(Span::raw(" "));
                spans.extend(cell);
                spans.push(Span::raw(" ".repeat(w - shown + 1)));
            }
            Line::from(spans)
        })
        .collect()
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

    #[test]
    fn numbered_lists_quotes_emphasis_and_links() {
        let st = Styles::new(None, 0);
        assert_eq!(text(&line("3. third *one*", &st)), "3. third one");
        let l = line("see [the docs](https://example.com/x) and ~~old~~", &st);
        assert_eq!(text(&l), "see the docs (https://example.com/x) and old");
        assert!(l.spans.iter().any(
            |s| s.content == "the docs" && s.style.add_modifier.contains(Modifier::UNDERLINED)
        ));
        assert!(l.spans.iter().any(|s| s.content == "old"
            && s.style.add_modifier.contains(Modifier::CROSSED_OUT)));
        assert_eq!(text(&line("> quoted **x**", &st)), "│ quoted x");
        assert_eq!(text(&line("1.5 is a number", &st)), "1.5 is a number");
        // An edit block's markers are not quotes.
        assert_eq!(text(&line(">>>>>>> REPLACE", &st)), ">>>>>>> REPLACE");
        assert_eq!(text(&line("<<<<<<< SEARCH", &st)), "<<<<<<< SEARCH");
    }

    #[test]
    fn tables_align_their_columns() {
        let st = Styles::new(None, 0);
        let rows = [
            "| name | what |",
            "| --- | --- |",
            "| `add` | sums **two** |",
            "| x | y |",
        ];
        assert!(rows.iter().all(|r| is_table_row(r)));
        let t: Vec<String> = table(&rows, &st).iter().map(text).collect();
        assert_eq!(
            t,
            [
                " name │ what     ",
                "──────┼──────────",
                " add  │ sums two ",
                " x    │ y        ",
            ]
        );
    }
}
