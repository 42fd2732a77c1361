//! The context panel: what the next prompt holds (each part with its file
//! and tokens, against the budget), the files the user pinned (always sent)
//! and the ones they removed (never chosen), with keys to pin, unpin,
//! remove and restore.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::style::Styles;

#[derive(Debug, Clone, PartialEq)]
pub struct PanelPart {
    pub label: String,
    pub path: Option<String>,
    pub tokens: usize,
    pub pinned: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextPanel {
    pub parts: Vec<PanelPart>,
    /// Files the user removed.
    pub excluded: Vec<String>,
    pub total: usize,
    pub budget: usize,
    /// Said at the top (e.g. why there are no token counts).
    pub note: Option<String>,
    /// The selected row: parts first, then the removed files.
    pub at: usize,
}

/// What a key on the selected row asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Pin(String, bool),
    Exclude(String, bool),
}

impl ContextPanel {
    fn rows(&self) -> usize {
        self.parts.len() + self.excluded.len()
    }

    pub fn step(&mut self, by: isize) {
        let n = self.rows() as isize;
        if n > 0 {
            self.at = (self.at as isize + by).clamp(0, n - 1) as usize;
        }
    }

    /// Pin the selected row's file, or unpin it.
    pub fn pin(&self) -> Option<Change> {
        match self.parts.get(self.at) {
            Some(p) => p.path.clone().map(|path| Change::Pin(path, !p.pinned)),
            None => self
                .excluded
                .get(self.at - self.parts.len())
                .map(|path| Change::Pin(path.clone(), true)),
        }
    }

    /// Remove the selected row's file (unpin a pinned one), or restore a
    /// removed one.
    pub fn remove(&self) -> Option<Change> {
        match self.parts.get(self.at) {
            Some(p) if p.pinned => p.path.clone().map(|path| Change::Pin(path, false)),
            Some(p) => p.path.clone().map(|path| Change::Exclude(path, true)),
            None => self
                .excluded
                .get(self.at - self.parts.len())
                .map(|path| Change::Exclude(path.clone(), false)),
        }
    }
}

pub fn draw(f: &mut Frame<'_>, area: Rect, p: &ContextPanel, st: &Styles) {
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines = Vec::new();
    if let Some(n) = &p.note {
        lines.push(Line::from(Span::styled(n.clone(), st.get("info"))));
    }
    for (i, part) in p.parts.iter().enumerate() {
        let mark = if part.pinned { "* " } else { "  " };
        let tokens = format!(" {}", part.tokens);
        let room = width.saturating_sub(mark.len() + tokens.len());
        let mut label: String = part.label.chars().take(room).collect();
        let pad = room.saturating_sub(label.chars().count());
        label.extend(std::iter::repeat_n(' ', pad));
        let style = if i == p.at {
            st.get("ui.selection")
        } else {
            st.get("ui.text")
        };
        lines.push(Line::from(Span::styled(
            format!("{mark}{label}{tokens}"),
            style,
        )));
    }
    for (j, path) in p.excluded.iter().enumerate() {
        let style = if p.parts.len() + j == p.at {
            st.get("ui.selection")
        } else {
            st.get("ui.text.dim")
        };
        lines.push(Line::from(Span::styled(
            format!("- {path} (removed)"),
            style,
        )));
    }
    lines.push(Line::from(Span::styled(
        "p pin/unpin · d remove/restore · Esc back",
        st.get("ui.text.dim"),
    )));
    let top = (p.at + 3).saturating_sub(usize::from(area.height.saturating_sub(2))) as u16;
    f.render_widget(
        Paragraph::new(Text::from(lines)).scroll((top, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" next prompt: {}/{} tokens ", p.total, p.budget))
                .border_style(st.get("ui.border.focus")),
        ),
        area,
    );
}
