//! Drawing the state: transcript, composer and status bar; the diff review;
//! the help overlay listing every binding of the view it covers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use super::app::{App, Entry, View};
use super::highlight;
use super::style::Styles;
use crate::config::{Action, Keymap};

pub fn draw(f: &mut Frame<'_>, app: &App, st: &Styles) {
    let area = f.area();
    match app.view {
        View::Review => super::diffview::review(f, area, app, st),
        View::Chat | View::Help => chat(f, area, app, st),
        View::Setup => {
            chat(f, area, app, st);
            if let Some(s) = &app.setup {
                super::setup::draw(f, area, s, st);
            }
        }
        View::Commit => {
            if let Some(c) = &app.commit {
                super::commit::draw(f, area, c, st);
            }
        }
        View::Escalate => {
            chat(f, area, app, st);
            if let Some(e) = &app.escalation {
                super::escalation::draw(f, area, e, st);
            }
        }
    }
    if app.view == View::Help {
        help(f, area, app, st);
    }
}

fn chat(f: &mut Frame<'_>, area: Rect, app: &App, st: &Styles) {
    // The composer grows with its text up to six rows, then scrolls to
    // keep the cursor in view.
    let (rows, (cur_row, cur_col)) =
        super::composer::layout(&app.input, app.input_back, area.width.saturating_sub(2));
    let input_lines = rows.len().clamp(1, 6) as u16;
    let attached = (app.attachments.len() as u16).min(4);
    let [body, attachments, composer, status] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(attached),
        Constraint::Length(input_lines + 2),
        Constraint::Length(1),
    ])
    .areas(area);
    // What goes with the next question: file, size, tokens; /detach N.
    let shown: Vec<Line<'_>> = app
        .attachments
        .iter()
        .map(|l| Line::from(Span::styled(format!(" attached {l}"), st.get("info"))))
        .collect();
    f.render_widget(Paragraph::new(shown), attachments);
    let body = match &app.panel {
        Some(p) if body.width >= 60 => {
            let [conv, side] =
                Layout::horizontal([Constraint::Min(30), Constraint::Length(44)]).areas(body);
            super::context_panel::draw(f, side, p, st);
            conv
        }
        _ => body,
    };
    // Only the entries that reach into view are laid out: a frame costs the
    // same with five or five thousand lines of history.
    let width = body.width.saturating_sub(2);
    let inner_h = usize::from(body.height.saturating_sub(2));
    let need = inner_h + usize::from(app.scroll);
    let mut kept: Vec<Vec<Line<'_>>> = Vec::new();
    let mut height = 0usize;
    for e in app.entries.iter().rev() {
        let mut ls = entry_lines(e, st, app.show_thinking);
        ls.push(Line::from(""));
        height += Paragraph::new(Text::from(ls.clone()))
            .wrap(Wrap { trim: false })
            .line_count(width);
        kept.push(ls);
        if height >= need {
            break;
        }
    }
    kept.reverse();
    let mut lines: Vec<Line<'_>> = kept.concat();
    if app.entries.is_empty() {
        lines.push(Line::from(Span::styled(
            "Ask about the code, or /edit an instruction. ? or F1 for help.",
            st.get("ui.text.dim"),
        )));
    }
    let para = Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false });
    let total = para.line_count(width);
    let top = total
        .saturating_sub(inner_h)
        .saturating_sub(usize::from(app.scroll));
    f.render_widget(
        para.scroll((u16::try_from(top).unwrap_or(u16::MAX), 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" conversation ")
                    .border_style(st.get("ui.border")),
            ),
        body,
    );
    let title = if app.busy {
        " composing… (Ctrl-C cancels) "
    } else {
        " ask · /edit · Enter sends · Alt-Enter newline "
    };
    let first = (cur_row + 1).saturating_sub(usize::from(input_lines));
    let shown: Vec<Line<'_>> = rows[first..]
        .iter()
        .take(usize::from(input_lines))
        .map(|r| Line::from(r.as_str()))
        .collect();
    f.render_widget(
        Paragraph::new(shown).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(st.get("ui.border.focus")),
        ),
        composer,
    );
    if app.view == View::Chat && app.panel.is_none() && composer.height > 2 && composer.width > 2 {
        f.set_cursor_position((
            composer.x + 1 + cur_col,
            composer.y + 1 + (cur_row - first) as u16,
        ));
    }
    completion_popup(f, composer, app, st);
    status_bar(f, status, app, st);
}

/// The `@` completions, in a box just above the composer.
fn completion_popup(f: &mut Frame<'_>, composer: Rect, app: &App, st: &Styles) {
    let shown = app.completions();
    if shown.is_empty() {
        return;
    }
    // Above the conversation's bottom border, inside its left one.
    let h = (shown.len() as u16 + 2).min(composer.y.saturating_sub(1));
    let w = shown
        .iter()
        .map(|s| s.chars().count() as u16 + 4)
        .max()
        .unwrap_or(10)
        .max(24)
        .min(composer.width.saturating_sub(2));
    if h < 3 || w < 8 {
        return;
    }
    let area = Rect::new(composer.x + 1, composer.y - 1 - h, w, h);
    let sel = app.completion_sel.min(shown.len() - 1);
    let lines: Vec<Line<'_>> = shown
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if i == sel {
                Line::from(Span::styled(format!("▶ {s}"), st.get("ui.selection")))
            } else {
                Line::from(format!("  {s}"))
            }
        })
        .collect();
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" @ Tab completes, ↑/↓ choose ")
                .border_style(st.get("ui.border.focus")),
        ),
        area,
    );
}

fn status_bar(f: &mut Frame<'_>, area: Rect, app: &App, st: &Styles) {
    let s = &app.status;
    let [left, gauge] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(22)]).areas(area);
    let scope = if s.placement.starts_with("cloud") {
        "ui.statusline.cloud"
    } else {
        "ui.statusline.local"
    };
    let model = match (&s.placement, s.no_model) {
        (p, _) if !p.is_empty() => p.clone(),
        (_, true) => "no local model".to_string(),
        _ => "loading model…".to_string(),
    };
    let branch = s
        .branch
        .as_ref()
        .map(|b| format!(" · {b}{}", if s.dirty { "*" } else { "" }))
        .unwrap_or_default();
    // What matters most first: a narrow terminal cuts the end.
    let cost = if s.cost > 0.0 {
        format!(" · cloud ${:.4}", s.cost)
    } else {
        String::new()
    };
    let trust = if s.untrusted {
        " · repo config untrusted: `locus trust`"
    } else {
        ""
    };
    let text = match &s.reading {
        // While the user waits, what they wait on comes first.
        Some(reading) => format!(" {reading} · {model}{cost}{branch}{trust}"),
        None => format!(
            " {model}{cost}{branch}{trust} · {} · {:.0}/{:.1} tok/s in/out · reused {}",
            s.index, s.prefill, s.decode, s.reused
        ),
    };
    f.render_widget(Paragraph::new(text).style(st.get(scope)), left);
    let ratio = if s.window > 0 {
        (s.context_used as f64 / s.window as f64).min(1.0)
    } else {
        0.0
    };
    f.render_widget(
        Gauge::default()
            .ratio(ratio)
            .label(format!("{}/{}", s.context_used, s.window))
            .gauge_style(st.get("ui.gauge")),
        gauge,
    );
}

/// Every binding of the view under the overlay, with the keys the keymap
/// gives the configurable ones.
pub fn bindings(view: View, keys: &Keymap) -> Vec<(String, &'static str)> {
    let k = |a: Action| keys.label(a);
    let fixed = |s: &str| s.to_string();
    match view {
        View::Review => vec![
            (fixed("j / ↓, k / ↑"), "next / previous hunk"),
            (k(Action::Accept), "accept the hunk"),
            (k(Action::Reject), "reject the hunk"),
            (k(Action::AcceptFile), "accept the whole file"),
            (k(Action::RejectFile), "reject the whole file"),
            (
                k(Action::EditHunk),
                "edit the hunk in $EDITOR, then accept it",
            ),
            (
                format!("{} , {}", k(Action::AcceptAll), k(Action::RejectAll)),
                "accept / reject everything",
            ),
            (
                k(Action::SideBySide),
                "side by side / unified (from 100 columns)",
            ),
            (k(Action::Apply), "apply what is accepted (undo with /undo)"),
            (
                k(Action::Stage),
                "apply what is accepted and stage it (git add)",
            ),
            (fixed("Esc / q"), "dismiss; nothing is written"),
            (k(Action::Help), "this help"),
            (fixed("Ctrl-C twice"), "quit"),
        ],
        View::Setup => vec![
            (fixed("j / ↓, k / ↑"), "choose"),
            (fixed("Enter"), "load the model, download, or go on"),
            (
                fixed("Esc"),
                "go on without a local model (cancels a download)",
            ),
            (k(Action::Help), "this help"),
        ],
        View::Commit => vec![
            (fixed("typing, Enter"), "edit the message (Enter: new line)"),
            (
                fixed("Ctrl-S, then y"),
                "commit what is staged with this message",
            ),
            (fixed("PgUp / PgDn"), "scroll the staged diff"),
            (fixed("Esc"), "cancel; nothing is committed"),
            (k(Action::Help), "this help"),
        ],
        View::Escalate => vec![
            (fixed("Enter"), "send exactly this to the cloud model"),
            (fixed("Esc / q"), "cancel; nothing is sent"),
            (fixed("j / ↓, k / ↑"), "select a part"),
            (
                format!("Space / x / {}", k(Action::Remove)),
                "trim the part's file from what is sent, or keep it",
            ),
            (fixed("v"), "show the exact text of the part"),
            (k(Action::Help), "this help"),
        ],
        _ => vec![
            (fixed("Enter"), "send the question (or /command)"),
            (fixed("Alt-Enter, Ctrl-J"), "new line"),
            (fixed("← → Home End"), "move the cursor; Ctrl-W/U/K delete"),
            (fixed("↑ / ↓"), "earlier questions"),
            (
                fixed("@name, Tab"),
                "complete a file or symbol (↑/↓ choose)",
            ),
            (fixed("PgUp / PgDn"), "scroll the conversation"),
            (k(Action::Thinking), "show / fold thinking, tool calls"),
            (
                k(Action::Escalate),
                "to the cloud model: preview, then send",
            ),
            (k(Action::Commit), "commit what is staged, message drafted"),
            (k(Action::Context), "context panel: pin (p), remove (d)"),
            (
                fixed("/add, /drop PATH"),
                "always send a file / never choose it",
            ),
            (fixed("/edit TEXT"), "ask for a change, then review it"),
            (fixed("/model [NAME]"), "pick the model, or switch to NAME"),
            (
                fixed("@shot.png, /image PATH"),
                "attach an image (/paste: the clipboard's)",
            ),
            (fixed("/detach [N]"), "remove attachment N, or all"),
            (fixed("Ctrl-R"), "record a spoken request; again: send it"),
            (
                fixed("/undo, /redo"),
                "undo or redo the last applied change",
            ),
            (fixed("/clear, /quit"), "clear the screen, quit"),
            (
                format!("? (empty composer), {}", k(Action::Help)),
                "this help",
            ),
            (fixed("Ctrl-C"), "cancel the answer; twice to quit"),
            (fixed("Esc"), "close the @ popup, else clear the composer"),
        ],
    }
}

fn help(f: &mut Frame<'_>, area: Rect, app: &App, st: &Styles) {
    let view = if app.view == View::Help {
        app.behind()
    } else {
        app.view
    };
    let items = bindings(view, &app.keys);
    const KEY_COL: usize = 24;
    // As wide as the longest line needs (the terminal allowing); what does
    // not fit wraps under its description, never cut.
    let widest = items
        .iter()
        .map(|(_, d)| KEY_COL + d.chars().count())
        .max()
        .unwrap_or(40);
    let w = area.width.min(widest as u16 + 2).max(area.width.min(40));
    let room = usize::from(w.saturating_sub(2))
        .saturating_sub(KEY_COL)
        .max(8);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for (k, d) in &items {
        for (i, row) in wrap_words(d, room).into_iter().enumerate() {
            let key = if i == 0 { k.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{key:<KEY_COL$}"), st.get("ui.help.key")),
                Span::raw(row),
            ]));
        }
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(Text::from(lines)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" keys (Esc closes) ")
                .style(st.get("ui.popup")),
        ),
        rect,
    );
}

/// `text` in rows of at most `width` characters, broken between words (a
/// word longer than a row is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut rows = vec![String::new()];
    for word in text.split(' ') {
        let row = rows.last_mut().expect("one row");
        let len = row.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            rows.push(word.chars().take(width).collect());
        } else {
            if len > 0 {
                row.push(' ');
            }
            row.push_str(word);
        }
    }
    rows
}

/// The lines of one transcript entry, unwrapped.
fn entry_lines<'a>(e: &'a Entry, st: &Styles, show_thinking: bool) -> Vec<Line<'a>> {
    let mut lines: Vec<Line<'a>> = Vec::new();
    match e {
        Entry::User(t) => {
            lines.push(Line::from(Span::styled("you", st.get("ui.user"))));
            lines.extend(t.lines().map(|l| Line::from(l.to_string())));
        }
        Entry::Assistant {
            placement,
            text,
            thinking,
            done,
        } => {
            let mark = if *done { "" } else { " …" };
            lines.push(Line::from(Span::styled(
                format!("locus [{placement}]{mark}"),
                st.get("ui.assistant"),
            )));
            let thought = thinking.trim();
            if !thought.is_empty() {
                let dim = st.get("ui.thinking");
                if show_thinking {
                    lines.push(Line::from(Span::styled("▾ thinking (Ctrl-T folds)", dim)));
                    lines.extend(
                        thought
                            .lines()
                            .map(|l| Line::from(Span::styled(format!("  {l}"), dim))),
                    );
                } else {
                    let n = thought.lines().count();
                    let s = if n == 1 { "" } else { "s" };
                    lines.push(Line::from(Span::styled(
                        format!("▸ thinking, {n} line{s} (Ctrl-T shows)"),
                        dim,
                    )));
                }
            }
            let all: Vec<&str> = text.lines().collect();
            let mut i = 0;
            while i < all.len() {
                let l = all[i];
                i += 1;
                if super::markdown::is_table_row(l) {
                    // The table's rows so far, aligned together.
                    let n = all[i - 1..]
                        .iter()
                        .take_while(|r| super::markdown::is_table_row(r))
                        .count();
                    lines.extend(super::markdown::table(&all[i - 1..i - 1 + n], st));
                    i += n - 1;
                    continue;
                }
                let Some(fence) = l.trim_start().strip_prefix("```") else {
                    lines.push(super::markdown::line(l, st));
                    continue;
                };
                lines.push(Line::from(Span::styled(
                    l.to_string(),
                    st.get("ui.text.dim"),
                )));
                // The block up to its closing fence (or what has streamed in).
                let n = all[i..]
                    .iter()
                    .position(|l| l.trim_start().starts_with("```"))
                    .unwrap_or(all.len() - i);
                let code = &all[i..i + n];
                let raw = st.get("markup.raw");
                match highlight::block(fence.trim(), code, raw, st) {
                    Some(spans) => lines.extend(spans.iter().map(|s| Line::from(s.clone()))),
                    None => lines.extend(
                        code.iter()
                            .map(|l| Line::from(Span::styled(l.to_string(), raw))),
                    ),
                }
                i += n;
                if i < all.len() {
                    lines.push(Line::from(Span::styled(
                        all[i].to_string(),
                        st.get("ui.text.dim"),
                    )));
                    i += 1;
                }
            }
        }
        Entry::Tool {
            name,
            arguments,
            ok,
            summary,
            content,
        } => {
            let dim = st.get("ui.thinking");
            let args: String = arguments.chars().take(80).collect();
            let (mark, style) = match ok {
                None => ("…", st.get("info")),
                Some(true) => ("✓", dim),
                Some(false) => ("✗", st.get("error")),
            };
            let fold = if show_thinking { "▾" } else { "▸" };
            lines.push(Line::from(vec![
                Span::styled(format!("{fold} {mark} {name} {args}"), style),
                Span::styled(
                    if summary.is_empty() {
                        String::new()
                    } else {
                        format!("  {summary}")
                    },
                    dim,
                ),
            ]));
            if show_thinking {
                let all: Vec<&str> = content.lines().collect();
                for l in all.iter().take(40) {
                    lines.push(Line::from(Span::styled(format!("    {l}"), dim)));
                }
                if all.len() > 40 {
                    lines.push(Line::from(Span::styled(
                        format!("    … {} more lines", all.len() - 40),
                        dim,
                    )));
                }
            }
        }
        Entry::Info(t) => lines.extend(
            t.lines()
                .map(|l| Line::from(Span::styled(l.to_string(), st.get("info")))),
        ),
        Entry::Error(t) => lines.extend(
            t.lines()
                .map(|l| Line::from(Span::styled(l.to_string(), st.get("error")))),
        ),
    }
    lines
}
