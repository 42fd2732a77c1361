//! Drawing the diff review: files and hunks with their decisions, each hunk
//! unified and highlighted in its file's language, or old and new side by
//! side on wide terminals. Only the hunks that reach into view are drawn
//! (and highlighted), so a frame costs the same for ten lines or ten
//! thousand.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::App;
use super::highlight;
use super::sides;
use super::style::Styles;
use crate::edit::{Decision, FileChange, Hunk};

/// Terminal width from which `s` shows the review side by side.
pub const SIDE_BY_SIDE_MIN: u16 = 100;

/// One side of a diff line: its sign and text in the sign's style, cut or
/// padded to `width` characters (`usize::MAX`: as it is).
fn diff_cell<'a>(line: Option<(char, &str)>, width: usize, st: &Styles) -> Span<'a> {
    let (tag, text) = line.unwrap_or((' ', ""));
    let scope = match (line.is_some(), tag) {
        (true, '+') => "diff.plus",
        (true, '-') => "diff.minus",
        _ => "ui.text",
    };
    let mut s = format!("{tag}{}", text.trim_end_matches('\n'));
    if width != usize::MAX {
        s = s.chars().take(width).collect();
        let n = s.chars().count();
        s.extend(std::iter::repeat_n(' ', width - n));
    }
    Span::styled(s, st.get(scope))
}

/// A piece of the review: a line as it is, or a hunk with its lines.
enum Item<'a> {
    Line(Line<'a>),
    Hunk {
        fc: &'a FileChange,
        h: &'a Hunk,
        selected: bool,
        ops: Vec<(char, String)>,
        /// Rows its body takes.
        rows: usize,
    },
}

impl Item<'_> {
    fn height(&self) -> usize {
        match self {
            Item::Line(_) => 1,
            Item::Hunk { rows, .. } => 1 + rows,
        }
    }
}

pub fn review(f: &mut Frame<'_>, area: Rect, app: &App, st: &Styles) {
    let [body, keys] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let side_by_side = app.side_by_side && area.width >= SIDE_BY_SIDE_MIN;
    let half = usize::from(body.width.saturating_sub(7)) / 2;
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut cursor_line = 0;
    let mut y = 0;
    if let Some(r) = &app.review {
        for fail in &r.failures {
            items.push(Item::Line(Line::from(Span::styled(
                format!("not placed: {fail}"),
                st.get("error"),
            ))));
        }
        let removals = crate::edit::mass_removals(&r.changes);
        for (fi, fc) in r.changes.files.iter().enumerate() {
            let (added, removed) = fc.stats();
            items.push(Item::Line(Line::from(Span::styled(
                format!("{} {:?} +{added} -{removed}", fc.path, fc.op),
                st.get("diff.header"),
            ))));
            if let Some(m) = removals.iter().find(|m| m.path == fc.path) {
                items.push(Item::Line(Line::from(Span::styled(
                    format!("⚠ {m}: is that what you asked for?"),
                    st.get("warning"),
                ))));
            }
            for (hi, h) in fc.hunks.iter().enumerate() {
                let ops = crate::edit::hunk_lines(h);
                let rows = if side_by_side {
                    sides::pair(&ops).len()
                } else {
                    ops.len()
                };
                let selected = r.at == (fi, hi);
                items.push(Item::Hunk {
                    fc,
                    h,
                    selected,
                    ops,
                    rows,
                });
            }
        }
    }
    for item in &items {
        if matches!(item, Item::Hunk { selected: true, .. }) {
            cursor_line = y;
        }
        y += item.height();
    }
    let h = body.height.saturating_sub(2) as usize;
    let top = if cursor_line < h * 2 / 3 {
        0
    } else {
        cursor_line.saturating_sub(h / 3)
    };
    // Lay out only what reaches into rows top..top + h.
    let mut lines: Vec<Line<'_>> = Vec::new();
    let (mut y, mut first) = (0, None);
    for item in items {
        let height = item.height();
        if y + height > top && y < top + h {
            first.get_or_insert(y);
            match item {
                Item::Line(l) => lines.push(l),
                Item::Hunk {
                    fc,
                    h,
                    selected,
                    ops,
                    ..
                } => hunk_lines(&mut lines, fc, h, selected, &ops, side_by_side, half, st),
            }
        }
        y += height;
    }
    let scroll = top - first.unwrap_or(top);
    f.render_widget(
        Paragraph::new(Text::from(lines))
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" review changes ")
                    .border_style(st.get("ui.border.focus")),
            ),
        body,
    );
    f.render_widget(
        Paragraph::new(" j/k move · a accept · r reject · e edit · f file · A/R all · s side by side · Enter apply · S apply+stage · F1 help").style(st.get("ui.statusline")),
        keys,
    );
}

/// A hunk's header (its place and decision) and its lines.
#[allow(clippy::too_many_arguments)]
fn hunk_lines<'a>(
    lines: &mut Vec<Line<'a>>,
    fc: &FileChange,
    h: &Hunk,
    selected: bool,
    ops: &[(char, String)],
    side_by_side: bool,
    half: usize,
    st: &Styles,
) {
    let mark = match h.decision {
        Decision::Accepted if h.edited => ("[accepted, edited]", "diff.accepted"),
        Decision::Accepted => ("[accepted]", "diff.accepted"),
        Decision::Rejected => ("[rejected]", "diff.rejected"),
        Decision::Pending => ("[pending]", "ui.text.dim"),
    };
    let pointer = if selected { "▶ " } else { "  " };
    lines.push(Line::from(vec![
        Span::raw(pointer),
        Span::styled(format!("{} ", h.header()), st.get("diff.delta")),
        Span::styled(mark.0, st.get(mark.1)),
    ]));
    if side_by_side {
        for (old, new) in sides::pair(ops) {
            lines.push(Line::from(vec![
                Span::raw("  "),
                diff_cell(old, half, st),
                Span::styled(" │ ", st.get("ui.border")),
                diff_cell(new, half, st),
            ]));
        }
        return;
    }
    let code: Vec<&str> = ops.iter().map(|(_, t)| t.trim_end_matches('\n')).collect();
    let hl = highlight::block(&fc.path, &code, Style::default(), st);
    for (i, (tag, text)) in ops.iter().enumerate() {
        match hl.as_ref().and_then(|b| b.get(i)) {
            Some(spans) => {
                let base = diff_cell(Some((*tag, "")), usize::MAX, st).style;
                let mut line = vec![Span::raw("  "), Span::styled(tag.to_string(), base)];
                line.extend(
                    spans
                        .iter()
                        .map(|s| Span::styled(s.content.clone(), base.patch(s.style))),
                );
                lines.push(Line::from(line));
            }
            None => lines.push(Line::from(vec![
                Span::raw("  "),
                diff_cell(Some((*tag, text)), usize::MAX, st),
            ])),
        }
    }
}
