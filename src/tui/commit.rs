//! The commit view: the message drafted from what is staged (edited in
//! place), the staged files and diff under it, and a commit only after the
//! user confirms.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::style::Styles;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitView {
    pub message: String,
    /// Said above the message (e.g. why it is a plain summary).
    pub note: Option<String>,
    /// One line per staged file.
    pub files: Vec<String>,
    /// The staged diff.
    pub patch: String,
    /// Lines of the diff scrolled past.
    pub scroll: u16,
    /// Waiting for y/n.
    pub confirming: bool,
    /// The cursor: characters of the message after it.
    pub back: usize,
}

pub fn draw(f: &mut Frame<'_>, area: Rect, c: &CommitView, st: &Styles) {
    f.render_widget(Clear, area);
    let width = usize::from(area.width.saturating_sub(2)).max(1);
    let note_h = c.note.as_ref().map_or(0, |n| {
        n.lines()
            .map(|l| l.chars().count() / width + 1)
            .sum::<usize>()
    });
    let msg_h = ((c.message.lines().count().max(1) + note_h) as u16 + 2)
        .min(area.height / 2)
        .max(3);
    let [msg, files, diff, keys] = Layout::vertical([
        Constraint::Length(msg_h),
        Constraint::Length((c.files.len() as u16 + 2).min(area.height / 5).max(3)),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut lines = Vec::new();
    if let Some(n) = &c.note {
        lines.push(Line::from(Span::styled(n.clone(), st.get("info"))));
    }
    let i = super::composer::at(&c.message, c.back);
    let text = format!("{}▏{}", &c.message[..i], &c.message[i..]);
    lines.extend(text.lines().map(|l| Line::from(l.to_string())));
    f.render_widget(
        Paragraph::new(Text::from(lines))
            .wrap(Wrap { trim: false })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" commit message (type to edit) ")
                    .border_style(st.get("ui.border.focus")),
            ),
        msg,
    );
    f.render_widget(
        Paragraph::new(c.files.join("\n")).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" staged: {} file(s) ", c.files.len()))
                .border_style(st.get("ui.border")),
        ),
        files,
    );
    let diff_lines: Vec<Line<'_>> = c
        .patch
        .lines()
        .map(|l| {
            let scope = if l.starts_with("+++") || l.starts_with("---") || l.starts_with("diff ") {
                "diff.header"
            } else if l.starts_with('+') {
                "diff.plus"
            } else if l.starts_with('-') {
                "diff.minus"
            } else if l.starts_with("@@") {
                "diff.delta"
            } else {
                "ui.text"
            };
            Line::from(Span::styled(l.to_string(), st.get(scope)))
        })
        .collect();
    f.render_widget(
        Paragraph::new(Text::from(diff_lines))
            .scroll((c.scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" staged diff (PgUp/PgDn) ")
                    .border_style(st.get("ui.border")),
            ),
        diff,
    );
    let hint = if c.confirming {
        " Commit with this message? y commits · any other key goes back"
    } else {
        " Ctrl-S commit (asks first) · Enter new line · Ctrl-A/E/W/U/K · Esc cancel"
    };
    f.render_widget(
        Paragraph::new(hint).style(st.get(if c.confirming {
            "ui.help.key"
        } else {
            "ui.statusline"
        })),
        keys,
    );
}
