//! The terminal UI: a chat with the local model, diff review, undo. The
//! state and its update function live in `app` (tested without a terminal),
//! drawing in `view`, the work in `worker` on its own thread; this file owns
//! the terminal: raw mode, the event loop, frame pacing, and restoring the
//! terminal on exit or panic.

pub mod app;
pub mod commit;
pub mod complete;
pub mod context_panel;
pub mod escalation;
pub mod highlight;
pub mod setup;
pub mod sides;
pub mod style;
pub mod view;
mod worker;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::assets::Assets;
use crate::theme::Theme;
use crate::workspace::Workspace;
use app::{App, Report};

/// What reaches the UI thread.
pub enum Incoming {
    Term(Event),
    Report(Report),
}

/// Frames are drawn at most this often.
const FRAME: Duration = Duration::from_millis(16);

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen
    );
}

/// Run the TUI in `ws`; `resume` continues a saved session (`Some(None)`: the latest).
pub fn run(ws: &Workspace, resume: Option<Option<String>>) -> anyhow::Result<ExitCode> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "the locus TUI needs a terminal; headless, use `locus ask`, `locus edit`, `locus commit` …"
        );
    }
    let settings = ws.settings()?.settings;
    let keys = crate::config::Keymap::new(&settings.ui.keys)?;
    let theme = Theme::load(&Assets::new(Some(&ws.dirs.config)), &settings.ui.theme).ok();
    let styles = style::Styles::new(theme, style::detect_colors());
    let log = ws.dirs.log_file();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        eprintln!("locus crashed; details are in {}", log.display());
        tracing::error!("panic: {info}");
        default_hook(info);
    }));
    enable_raw_mode()?;
    execute!(
        std::io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableMouseCapture
    )?;
    let result = event_loop(ws, resume, &styles, keys);
    restore();
    result.map(|_| ExitCode::SUCCESS)
}

fn event_loop(
    ws: &Workspace,
    resume: Option<Option<String>>,
    styles: &style::Styles,
    keys: crate::config::Keymap,
) -> anyhow::Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let (tx, rx) = std::sync::mpsc::channel::<Incoming>();
    let term_tx = tx.clone();
    std::thread::Builder::new()
        .name("locus-input".into())
        .spawn(move || {
            while let Ok(ev) = event::read() {
                if term_tx.send(Incoming::Term(ev)).is_err() {
                    break;
                }
            }
        })?;
    let jobs = worker::spawn(ws.cwd.clone(), resume, tx);
    let mut app = App::new();
    app.keys = keys;
    // The first frame, before the index or the model is ready.
    terminal.draw(|f| view::draw(f, &app, styles))?;
    let mut dirty = false;
    let mut last = Instant::now();
    loop {
        match next(
            &rx,
            if dirty {
                FRAME.saturating_sub(last.elapsed())
            } else {
                Duration::from_secs(1)
            },
        ) {
            Ok(Some(inc)) => {
                dirty = true;
                let requests = match inc {
                    Incoming::Term(Event::Key(k)) if k.kind != event::KeyEventKind::Release => {
                        app.key(k)
                    }
                    Incoming::Term(Event::Paste(p)) => {
                        app.paste(&p);
                        Vec::new()
                    }
                    Incoming::Term(Event::Mouse(m)) => {
                        match m.kind {
                            MouseEventKind::ScrollUp => app.scroll = app.scroll.saturating_add(3),
                            MouseEventKind::ScrollDown => app.scroll = app.scroll.saturating_sub(3),
                            _ => {}
                        }
                        Vec::new()
                    }
                    Incoming::Term(_) => Vec::new(),
                    Incoming::Report(r) => {
                        app.report(r);
                        Vec::new()
                    }
                };
                for request in requests {
                    let cancel = app.cancel.clone().unwrap_or_default();
                    let _ = jobs.send(worker::Job { request, cancel });
                }
            }
            Ok(None) => {}
            Err(()) => break,
        }
        if app.quit {
            break;
        }
        if dirty && last.elapsed() >= FRAME {
            terminal.draw(|f| view::draw(f, &app, styles))?;
            last = Instant::now();
            dirty = false;
        }
    }
    Ok(())
}

/// The next message, `None` on timeout, `Err` when every sender is gone.
fn next(rx: &Receiver<Incoming>, wait: Duration) -> Result<Option<Incoming>, ()> {
    match rx.recv_timeout(wait) {
        Ok(m) => Ok(Some(m)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err(()),
    }
}
