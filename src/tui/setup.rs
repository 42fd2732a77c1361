//! First run without a local model: what was looked for, the models found
//! elsewhere (Ollama, LM Studio, the Hugging Face cache) to pick from, the
//! default Gemma 4 12B to download (its size said first, progress shown,
//! Esc cancels), or going on with the cloud provider only. Never a blank
//! screen or a crash.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use super::style::Styles;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FoundModel {
    pub label: String,
    pub path: PathBuf,
    /// Why it cannot be run in-process (an architecture locus lacks, a bad file).
    pub problem: Option<String>,
}

/// A configured provider in the model picker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FoundProvider {
    pub label: String,
    /// The name, when it can be the model (its placement is local).
    pub usable: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetupView {
    /// Why no model was loaded.
    pub why: String,
    pub found: Vec<FoundModel>,
    /// What would be downloaded, and its size ("about 7.4 GB").
    pub download: (String, String),
    /// The cloud provider escalation would use, if one is configured.
    pub cloud: Option<String>,
    pub at: usize,
    /// Bytes done and total while downloading.
    pub progress: Option<(u64, u64)>,
    /// What went wrong with the last choice.
    pub error: Option<String>,
    /// Opened by `/model` (a model is loaded or not): a picker, not the first run.
    pub picker: bool,
    /// The configured providers (local servers can be picked).
    pub providers: Vec<FoundProvider>,
}

/// What Enter on a row asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    Use(PathBuf),
    Provider(String),
    /// A row that cannot be the model, and why.
    Unusable(String),
    Download,
    Continue,
}

impl SetupView {
    fn rows(&self) -> usize {
        self.found.len() + self.providers.len() + 2
    }

    pub fn step(&mut self, by: isize) {
        let n = self.rows() as isize;
        self.at = (self.at as isize + by).clamp(0, n - 1) as usize;
    }

    pub fn choice(&self) -> Choice {
        let n = self.found.len();
        let p = self.providers.len();
        match self.found.get(self.at) {
            Some(FoundModel {
                problem: Some(why), ..
            }) => Choice::Unusable(why.clone()),
            Some(f) => Choice::Use(f.path.clone()),
            None if self.at < n + p => {
                let pr = &self.providers[self.at - n];
                match &pr.usable {
                    Some(name) => Choice::Provider(name.clone()),
                    None => Choice::Unusable(format!(
                        "{} runs off this machine: Ctrl-E escalates a task to it after a preview",
                        pr.label
                    )),
                }
            }
            None if self.at == n + p => Choice::Download,
            None => Choice::Continue,
        }
    }
}

fn gb(b: u64) -> String {
    format!("{:.2} GB", b as f64 / 1e9)
}

pub fn draw(f: &mut Frame<'_>, area: Rect, s: &SetupView, st: &Styles) {
    f.render_widget(Clear, area);
    let title = if s.picker {
        " choose a model "
    } else {
        " no local model yet "
    };
    let outer = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(st.get("ui.border.focus"));
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let [text, gauge, keys] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(if s.progress.is_some() { 1 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut lines = if s.picker {
        vec![Line::from(s.why.clone()), Line::from("")]
    } else {
        vec![
            Line::from(format!(
                "No model to run yet: {}.",
                s.why.trim_end_matches('.')
            )),
            Line::from(""),
        ]
    };
    if !s.found.is_empty() {
        lines.push(Line::from(Span::styled(
            "Models found on this machine:",
            st.get("ui.help.key"),
        )));
    }
    let row = |i: usize, label: String| {
        let style = if i == s.at {
            st.get("ui.selection")
        } else {
            st.get("ui.text")
        };
        let pointer = if i == s.at { "▶ " } else { "  " };
        Line::from(Span::styled(format!("{pointer}{label}"), style))
    };
    for (i, m) in s.found.iter().enumerate() {
        lines.push(row(i, m.label.clone()));
    }
    let n = s.found.len();
    if !s.providers.is_empty() {
        lines.push(Line::from(Span::styled(
            "Providers configured:",
            st.get("ui.help.key"),
        )));
    }
    for (i, p) in s.providers.iter().enumerate() {
        lines.push(row(n + i, p.label.clone()));
    }
    lines.push(Line::from(""));
    let n = n + s.providers.len();
    lines.push(row(
        n,
        format!(
            "Download {} ({}, Hugging Face)",
            s.download.0.split(':').next().unwrap_or_default(),
            s.download.1
        ),
    ));
    lines.push(row(
        n + 1,
        match &s.cloud {
            Some(p) => format!("Continue with the cloud provider {p} only (Ctrl-E sends a task)"),
            None => {
                "Continue without a model (a cloud provider can be set up: docs/configuration.md)"
                    .to_string()
            }
        },
    ));
    if let Some(e) = &s.error {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(e.clone(), st.get("error"))));
    }
    f.render_widget(
        Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }),
        text,
    );
    if let Some((done, total)) = s.progress {
        let ratio = if total > 0 {
            (done as f64 / total as f64).min(1.0)
        } else {
            0.0
        };
        f.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(format!("downloading: {} of {}", gb(done), gb(total)))
                .gauge_style(st.get("ui.gauge")),
            gauge,
        );
    }
    let hint = if s.progress.is_some() {
        " Esc cancels the download (pulling again resumes it)"
    } else {
        " j/k choose · Enter take it · Esc or type a question: go on without a model · F1 help"
    };
    f.render_widget(Paragraph::new(hint).style(st.get("ui.statusline")), keys);
}
