//! The terminal in the real binary's care, in tmux: a panic, the signals
//! that end locus, Ctrl-Z and `fg`, a resize — the terminal is always given
//! back as it was, and taken again whole.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::tui_term::{
    Kill, command_line, continue_without_a_model, launch, launch_then, new_session, project, tmux,
    wait_for,
};
use crate::util::Sandbox;

/// A panic (made on purpose with LOCUS_DEBUG_PANIC, which only debug
/// builds read) restores the terminal, says where the log is, and ends the
/// program; the log holds the panic.
#[test]
fn a_panic_restores_the_terminal_and_names_the_log() {
    let sb = Sandbox::new();
    let root = project(&sb, "x = 1\n");
    let (session, _kill) = launch(&sb, &root, "LOCUS_DEBUG_PANIC=1");
    continue_without_a_model(&session);
    tmux(&["send-keys", "-t", &session, "-l", "what is x?"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let screen = wait_for(&session, "locus crashed; details are in", 20);
    assert!(
        !screen.contains("conversation"),
        "the TUI's screen is gone: {screen}"
    );
    let log = sb.path("state").join("locus").join("locus.log");
    assert!(
        screen
            .replace('\n', "")
            .contains(&log.display().to_string()),
        "{screen}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("panic: ") && logged.contains("LOCUS_DEBUG_PANIC"),
        "{logged}"
    );
}

/// The pid of locus in `session` (the child of the pane's shell).
fn locus_pid(session: &str) -> String {
    let shell = tmux(&["display", "-p", "-t", session, "#{pane_pid}"]);
    for _ in 0..50 {
        let out = Command::new("pgrep")
            .args(["-P", shell.trim()])
            .output()
            .unwrap();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !pid.is_empty() {
            return pid.lines().next().unwrap().to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no locus process in {session}");
}

fn pane_flag(session: &str, flag: &str) -> String {
    tmux(&["display", "-p", "-t", session, &format!("#{{{flag}}}")])
        .trim()
        .to_string()
}

/// TERM, HUP, QUIT and an INT from outside: locus leaves the alternate
/// screen, turns mouse tracking off and gives the tty back in cooked mode.
#[test]
fn signals_restore_the_terminal() {
    for sig in ["TERM", "HUP", "QUIT", "INT"] {
        let sb = Sandbox::new();
        let root = project(&sb, "def add(a, b):\n    return a + b\n");
        let stty = sb.path("stty.txt");
        let (session, _kill) = launch_then(
            &sb,
            &root,
            "",
            &format!("echo exit=$? > {0}.code; stty -a > {0};", stty.display()),
        );
        continue_without_a_model(&session);
        assert_eq!(pane_flag(&session, "alternate_on"), "1");
        let pid = locus_pid(&session);
        assert!(
            Command::new("kill")
                .args([&format!("-{sig}"), &pid])
                .status()
                .unwrap()
                .success()
        );
        let start = Instant::now();
        while !stty.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{sig}: locus did not exit"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            pane_flag(&session, "alternate_on"),
            "0",
            "{sig}: still on the alternate screen"
        );
        assert_eq!(
            pane_flag(&session, "mouse_any_flag"),
            "0",
            "{sig}: mouse tracking left on"
        );
        let modes = std::fs::read_to_string(&stty).unwrap();
        assert!(
            modes.contains(" icanon") && modes.contains(" echo"),
            "{sig}: the tty is left raw: {modes}"
        );
    }
}

/// Ctrl-Z hands the terminal back and stops locus; `fg` in the user's
/// shell gives it the terminal again and everything is redrawn.
#[test]
fn ctrl_z_suspends_and_fg_redraws() {
    let sb = Sandbox::new();
    let root = project(&sb, "def add(a, b):\n    return a + b\n");
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let session = format!(
        "locus-z-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    // An interactive shell, with job control, as the user has.
    new_session(
        &session,
        &["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"],
    );
    let _kill = Kill(session.clone());
    let line = command_line(&sb, &root, "");
    tmux(&["send-keys", "-t", &session, "-l", &line]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    continue_without_a_model(&session);
    tmux(&["send-keys", "-t", &session, "C-z"]);
    let start = Instant::now();
    while pane_flag(&session, "alternate_on") != "0" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "Ctrl-Z did not give the terminal back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for(&session, "Stopped", 30);
    tmux(&["send-keys", "-t", &session, "-l", "fg"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let start = Instant::now();
    while pane_flag(&session, "alternate_on") != "1" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not back on the alternate screen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = wait_for(&session, "conversation", 30);
    assert!(screen.contains("ask · /edit"), "redrawn whole: {screen}");
}

/// Small then large: every border is drawn again.
#[test]
fn a_resize_redraws_the_whole_frame() {
    let sb = Sandbox::new();
    let root = project(&sb, "def add(a, b):\n    return a + b\n");
    let (session, _kill) = launch(&sb, &root, "");
    continue_without_a_model(&session);
    tmux(&["resize-window", "-t", &session, "-x", "30", "-y", "8"]);
    std::thread::sleep(Duration::from_millis(500));
    tmux(&["resize-window", "-t", &session, "-x", "100", "-y", "30"]);
    std::thread::sleep(Duration::from_millis(800));
    let screen = tmux(&["capture-pane", "-p", "-t", &session]);
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines.iter().find(|l| l.contains("conversation")).unwrap();
    assert!(
        top.trim_end().ends_with('┐'),
        "the top border reaches the right edge: {screen}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with('│'))
            .all(|l| l.trim_end().ends_with('│')),
        "every side border is whole: {screen}"
    );
}

/// `[ui] alternate_screen = false` and `[ui] mouse = false`: locus draws on
/// the main screen (the scrollback keeps what was there) and leaves the
/// mouse to the terminal's own selection; by default it takes both.
#[test]
fn the_alternate_screen_and_the_mouse_can_be_left_alone() {
    for (config, alt, mouse) in [
        ("", "1", "1"),
        ("[ui]\nalternate_screen = false\nmouse = false\n", "0", "0"),
    ] {
        let sb = Sandbox::new();
        let root = project(&sb, "def add(a, b):\n    return a + b\n");
        sb.write("config/locus/config.toml", config);
        let (session, _kill) = launch(&sb, &root, "");
        wait_for(&session, "no local model yet", 60);
        assert_eq!(pane_flag(&session, "alternate_on"), alt, "{config}");
        assert_eq!(pane_flag(&session, "mouse_any_flag"), mouse, "{config}");
    }
}
