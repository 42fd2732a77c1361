//! The terminal UI: a chat with the local model, diff review, undo. The
//! state and its update function live in `app` (tested without a terminal),
//! drawing in `view`, the work in `worker` on its own thread; this file owns
//! the terminal: raw mode, the event loop, frame pacing, and restoring the
//! terminal on exit or panic.

pub mod app;
mod attach;
mod choices;
pub mod commit;
pub mod complete;
pub mod composer;
pub mod context_panel;
pub mod diffview;
pub mod escalation;
pub mod highlight;
pub mod markdown;
pub mod setup;
pub mod sides;
pub mod style;
pub mod view;
mod voice;
mod worker;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// A signal that ends locus (TERM, HUP, QUIT, an INT from outside).
    Quit(i32),
}

/// Frames are drawn at most this often.
const FRAME: Duration = Duration::from_millis(16);

/// How the TUI takes the terminal (`[ui] alternate_screen`, `[ui] mouse`);
/// set once, read by every restore (signals and the panic hook included).
static MODE: std::sync::OnceLock<(bool, bool)> = std::sync::OnceLock::new();

fn mode() -> (bool, bool) {
    *MODE.get().unwrap_or(&(true, true))
}

/// Take the terminal: raw mode, bracketed paste, and per the settings the
/// alternate screen and the mouse.
fn take() -> std::io::Result<()> {
    let (alt, mouse) = mode();
    enable_raw_mode()?;
    if alt {
        execute!(std::io::stdout(), EnterAlternateScreen)?;
    }
    execute!(std::io::stdout(), EnableBracketedPaste)?;
    if mouse {
        execute!(std::io::stdout(), EnableMouseCapture)?;
    }
    Ok(())
}

fn restore() {
    let (alt, mouse) = mode();
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), DisableBracketedPaste);
    if mouse {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
    if alt {
        let _ = execute!(std::io::stdout(), LeaveAlternateScreen);
    }
}

/// Run the TUI in `ws`; `resume` continues a saved session (`Some(None)`: the latest).
pub fn run(
    ws: &Workspace,
    resume: Option<Option<String>>,
    model: Option<String>,
) -> anyhow::Result<ExitCode> {
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
        // Held to the end: the UI thread may be drawing a frame while the
        // worker panics, and a frame drawn after the restore would paint
        // over the primary screen (and this message).
        let _stdout = std::io::stdout().lock();
        restore();
        eprintln!("locus crashed; details are in {}", log.display());
        tracing::error!("panic: {info}");
        default_hook(info);
        // A panic on the worker's thread would leave the UI drawing on a
        // restored terminal: the whole program ends here.
        std::process::exit(101);
    }));
    let _ = MODE.set((settings.ui.alternate_screen, settings.ui.mouse));
    take()?;
    let result = event_loop(ws, resume, model, &styles, keys);
    restore();
    result.map(|_| ExitCode::SUCCESS)
}

fn event_loop(
    ws: &Workspace,
    resume: Option<Option<String>>,
    model: Option<String>,
    styles: &style::Styles,
    keys: crate::config::Keymap,
) -> anyhow::Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let (tx, rx) = std::sync::mpsc::channel::<Incoming>();
    let term_tx = tx.clone();
    let input = Arc::new(InputGate::default());
    let gate = input.clone();
    std::thread::Builder::new()
        .name("locus-input".into())
        .spawn(move || {
            loop {
                // Paused while an editor has the terminal: nothing here may
                // read its keys.
                if gate.paused.load(Ordering::SeqCst) {
                    gate.idle.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                gate.idle.store(false, Ordering::SeqCst);
                match event::poll(Duration::from_millis(50)) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => break,
                }
                let Ok(ev) = event::read() else { break };
                if term_tx.send(Incoming::Term(ev)).is_err() {
                    break;
                }
            }
        })?;
    watch_signals(tx.clone())?;
    let jobs = worker::spawn(ws.clone(), resume, model, tx);
    let mut app = App::new();
    app.keys = keys;
    // A spoken request being recorded (Ctrl-R).
    let mut recording: Option<voice::Recorder> = None;
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
                    Incoming::Quit(sig) => {
                        restore();
                        std::process::exit(128 + sig);
                    }
                    Incoming::Term(Event::Key(k))
                        if k.kind != event::KeyEventKind::Release
                            && k.code == event::KeyCode::Char('z')
                            && k.modifiers.contains(event::KeyModifiers::CONTROL) =>
                    {
                        suspend(&mut terminal, &input);
                        Vec::new()
                    }
                    Incoming::Term(Event::Key(k))
                        if k.kind != event::KeyEventKind::Release
                            && k.code == event::KeyCode::Char('r')
                            && k.modifiers.contains(event::KeyModifiers::CONTROL) =>
                    {
                        dictate(&mut app, &mut recording, &ws.dirs.state.join("recordings"))
                    }
                    Incoming::Term(Event::Key(k)) if k.kind != event::KeyEventKind::Release => {
                        app.key(k)
                    }
                    Incoming::Term(Event::Resize(..)) => {
                        // Redraw every cell: a shrink then a grow must not
                        // leave borders cut where they were.
                        let _ = terminal.clear();
                        Vec::new()
                    }
                    Incoming::Term(Event::Paste(p)) => app.paste(&p),
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
        if let Some((id, path, text)) = app.take_edit() {
            let outcome = edit_in_editor(&mut terminal, &input, &path, &text);
            app.edited(&id, outcome);
            dirty = true;
        }
        if dirty && last.elapsed() >= FRAME {
            terminal.draw(|f| view::draw(f, &app, styles))?;
            last = Instant::now();
            dirty = false;
        }
    }
    Ok(())
}

/// TERM, HUP, QUIT and an INT sent from outside (a key press of Ctrl-C is
/// a key in raw mode) end locus through the event loop, which restores the
/// terminal; if the loop does not answer in time, the terminal is restored
/// here and locus exits.
#[cfg(not(unix))]
fn watch_signals(_: std::sync::mpsc::Sender<Incoming>) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn watch_signals(tx: std::sync::mpsc::Sender<Incoming>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGQUIT, SIGINT])?;
    std::thread::Builder::new()
        .name("locus-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let _ = tx.send(Incoming::Quit(sig));
                std::thread::sleep(Duration::from_secs(2));
                restore();
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

/// Ctrl-Z: hand the terminal back and stop; on `fg`, take it again and
/// redraw everything.
fn suspend(terminal: &mut Terminal<CrosstermBackend<std::io::Stdout>>, input: &InputGate) {
    hand_over(terminal, input, || {
        #[cfg(unix)]
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGTSTP);
    });
}

/// Give the terminal to `f` (an editor, the shell while stopped): the
/// input thread parked, the terminal restored; then take it back and redraw
/// every cell.
fn hand_over<T>(
    terminal: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    input: &InputGate,
    f: impl FnOnce() -> T,
) -> T {
    input.paused.store(true, Ordering::SeqCst);
    let since = Instant::now();
    while !input.idle.load(Ordering::SeqCst) && since.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(5));
    }
    restore();
    let r = f();
    let _ = take();
    let _ = terminal.clear();
    input.paused.store(false, Ordering::SeqCst);
    r
}

/// Lets the UI thread stop the input thread from reading the terminal.
#[derive(Default)]
struct InputGate {
    paused: AtomicBool,
    /// The input thread has seen `paused` and reads nothing.
    idle: AtomicBool,
}

/// `text` in the user's editor (`$VISUAL`, `$EDITOR`, else `vi`) with the
/// terminal handed over; the text as saved, or why not.
fn edit_in_editor(
    terminal: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    input: &InputGate,
    path: &str,
    text: &str,
) -> Result<String, String> {
    let ext = std::path::Path::new(path)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let file = tempfile::Builder::new()
        .prefix("locus-hunk-")
        .suffix(&ext)
        .tempfile()
        .map_err(|e| format!("cannot make a file to edit the hunk in: {e}"))?;
    std::fs::write(file.path(), text)
        .map_err(|e| format!("cannot write {}: {e}", file.path().display()))?;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".into());
    // The editor's command may carry arguments (`code -w`): the shell splits
    // it (on Windows, where there is no sh, the words are split here).
    let status = hand_over(terminal, input, || {
        #[cfg(unix)]
        {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{editor} \"$1\""))
                .arg("sh")
                .arg(file.path())
                .status()
        }
        #[cfg(not(unix))]
        {
            let mut words = editor.split_whitespace();
            let program = words.next().unwrap_or("notepad");
            std::process::Command::new(program)
                .args(words)
                .arg(file.path())
                .status()
        }
    });
    match status {
        Ok(s) if s.success() => std::fs::read_to_string(file.path())
            .map_err(|e| format!("cannot read the edited hunk: {e}")),
        Ok(s) => Err(format!("{editor} exited with {s}; the hunk is unchanged")),
        Err(e) => Err(format!("cannot start {editor}: {e}; set $EDITOR")),
    }
}

/// The next message, `None` on timeout, `Err` when every sender is gone.
fn next(rx: &Receiver<Incoming>, wait: Duration) -> Result<Option<Incoming>, ()> {
    match rx.recv_timeout(wait) {
        Ok(m) => Ok(Some(m)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err(()),
    }
}

/// Ctrl-R: start recording, or stop and attach the recording (asked at
/// once when the composer is empty).
fn dictate(
    app: &mut App,
    recording: &mut Option<voice::Recorder>,
    dir: &std::path::Path,
) -> Vec<app::Request> {
    use app::{Entry, Request};
    match recording.take() {
        None => {
            match voice::start() {
                Ok(r) => {
                    *recording = Some(r);
                    app.entries
                        .push(Entry::Info("recording… Ctrl-R stops and sends it".into()));
                }
                Err(e) => app.entries.push(Entry::Error(e)),
            }
            Vec::new()
        }
        Some(r) => match r.stop(dir) {
            Ok(path) => {
                let mut out = vec![Request::Attach(path.display().to_string())];
                if app.input.trim().is_empty() {
                    app.input = "Do what my recording asks.".into();
                    out.extend(app.send_input());
                }
                out
            }
            Err(e) => {
                app.entries.push(Entry::Error(e));
                Vec::new()
            }
        },
    }
}
