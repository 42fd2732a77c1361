//! The escalation preview: exactly what would leave the machine for the
//! cloud model (each part with its file, lines and tokens, what the privacy
//! guard left out, the secrets it redacted, the total and the cost), with
//! parts the user can trim before Enter sends it. Nothing has left while
//! this is on screen.

use std::collections::BTreeSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::style::Styles;
use crate::route::Preview;
use crate::session::Task;

#[derive(Debug, Clone)]
pub struct Escalation {
    pub task: Task,
    /// The request as the user typed it.
    pub text: String,
    pub preview: Preview,
    /// Paths the user trimmed from the payload.
    pub excluded: BTreeSet<String>,
    /// The selected part.
    pub at: usize,
    /// Whether the selected part's text is shown.
    pub show_text: bool,
}

/// What a key in the preview asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stay,
    /// Send with these paths trimmed.
    Send(Vec<String>),
    Cancel,
    /// A message for the transcript (and stay).
    Note(String),
}

impl Escalation {
    pub fn new(task: Task, text: String, preview: Preview) -> Escalation {
        Escalation {
            task,
            text,
            preview,
            excluded: BTreeSet::new(),
            at: 0,
            show_text: false,
        }
    }

    fn kept(&self, i: usize) -> bool {
        self.preview.parts[i]
            .path
            .as_ref()
            .is_none_or(|p| !self.excluded.contains(p))
    }

    /// Tokens that would leave now.
    pub fn tokens(&self) -> usize {
        (0..self.preview.parts.len())
            .filter(|&i| self.kept(i))
            .map(|i| self.preview.parts[i].tokens)
            .sum()
    }

    /// The estimated cost now, in US dollars.
    pub fn cost(&self) -> f64 {
        let p = &self.preview;
        self.tokens() as f64 * p.price_in_per_mtok / 1e6
            + p.max_output_tokens as f64 * p.price_out_per_mtok / 1e6
    }

    pub fn step(&mut self, by: isize) {
        let n = self.preview.parts.len() as isize;
        if n > 0 {
            self.at = (self.at as isize + by).clamp(0, n - 1) as usize;
        }
    }

    /// Trim the selected part's file from the payload, or put it back.
    pub fn toggle(&mut self) -> Outcome {
        let Some(part) = self.preview.parts.get(self.at) else {
            return Outcome::Stay;
        };
        match &part.path {
            Some(p) => {
                if !self.excluded.remove(p) {
                    self.excluded.insert(p.clone());
                }
                Outcome::Stay
            }
            None => Outcome::Note(
                "the instructions, the question and the conversation always go with the request"
                    .into(),
            ),
        }
    }

    pub fn send(&self) -> Outcome {
        Outcome::Send(self.excluded.iter().cloned().collect())
    }
}

pub fn draw(f: &mut Frame<'_>, area: Rect, e: &Escalation, st: &Styles) {
    let p = &e.preview;
    f.render_widget(Clear, area);
    let outer = Block::default()
        .borders(Borders::ALL)
        .title(format!(
            " send to {} ({})? nothing has left this machine yet ",
            p.provider, p.model
        ))
        .border_style(st.get("ui.border.focus"));
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let [list, text, keys] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(if e.show_text { inner.height / 2 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut lines = vec![Line::from(Span::styled(
        format!("to {}", p.url),
        st.get("ui.text.dim"),
    ))];
    for (i, part) in p.parts.iter().enumerate() {
        let kept = e.kept(i);
        let what = match (&part.path, part.lines) {
            (Some(path), Some([a, b])) => format!("{:?} {path}:{a}-{b}", part.kind),
            (Some(path), None) => format!("{:?} {path}", part.kind),
            _ => format!("{:?}", part.kind),
        };
        let mark = if kept { "[x]" } else { "[ ]" };
        let pointer = if i == e.at { "▶ " } else { "  " };
        let style = if i == e.at {
            st.get("ui.selection")
        } else if kept {
            st.get("ui.text")
        } else {
            st.get("ui.text.dim")
        };
        lines.push(Line::from(Span::styled(
            format!("{pointer}{mark} {what:<56} {:>7} tokens", part.tokens),
            style,
        )));
    }
    for a in &p.attachments {
        lines.push(Line::from(format!("  attached {}", a.describe())));
    }
    for (path, why) in &p.left_out {
        let why = if why.starts_with("--") || why.contains(' ') {
            why.clone()
        } else {
            format!("privacy.never_send `{why}`")
        };
        lines.push(Line::from(Span::styled(
            format!("  left out: {path} ({why})"),
            st.get("info"),
        )));
    }
    lines.push(Line::from(format!("  secrets redacted: {}", p.redactions)));
    lines.push(Line::from(Span::styled(
        format!(
            "  total {} tokens in, up to {} out; estimated cost ${:.4}",
            e.tokens(),
            p.max_output_tokens,
            e.cost()
        ),
        st.get("ui.help.key"),
    )));
    let h = usize::from(list.height);
    let top = (e.at + 1).saturating_sub(h.saturating_sub(4)) as u16;
    f.render_widget(Paragraph::new(Text::from(lines)).scroll((top, 0)), list);
    if e.show_text
        && let Some(part) = p.parts.get(e.at)
    {
        f.render_widget(
            Paragraph::new(part.text.as_str())
                .wrap(Wrap { trim: false })
                .block(
                    Block::default()
                        .borders(Borders::TOP)
                        .title(" exactly this text is sent ")
                        .border_style(st.get("ui.border")),
                ),
            text,
        );
    }
    f.render_widget(
        Paragraph::new(
            " Enter send · Esc cancel · j/k move · Space trim/keep the file · v show the text · F1 help",
        )
        .style(st.get("ui.statusline")),
        keys,
    );
}
