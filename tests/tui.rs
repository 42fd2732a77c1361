//! The TUI: each view drawn on a TestBackend at a fixed size and compared
//! with its snapshot; colours checked cell by cell; and the real binary
//! driven in tmux against the real small model.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use locus::assets::Assets;
use locus::edit::{ChangeSet, FileChange, FileOp};
use locus::model::GenStats;
use locus::theme::Theme;
use locus::tui::app::{App, Entry, Report, View};
use locus::tui::style::Styles;
use locus::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::util::{Sandbox, git_init, test_model};

fn render(app: &App, styles: &Styles, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(f, app, styles)).unwrap();
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let area = buf.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn chatting() -> App {
    let mut app = App::new();
    app.report(Report::ModelReady {
        name: "Gemma 3 270m".into(),
        window: 8192,
    });
    app.report(Report::IndexReady { files: 42 });
    app.report(Report::Git {
        branch: Some("main".into()),
        dirty: true,
    });
    app.entries.push(Entry::User("What does add do?".into()));
    app.entries.push(Entry::Assistant {
        placement: "local: Gemma 3 270m".into(),
        text: "It returns the sum (calc.py:1):\n```py\ndef add(a, b):\n    return a + b\n```"
            .into(),
        thinking: "The user asks about add.\nIt is defined in calc.py.".into(),
        done: true,
    });
    app.report(Report::Answered {
        placement: "local: Gemma 3 270m".into(),
        stats: GenStats {
            prefill_tokens_per_s: 120.0,
            decode_tokens_per_s: 14.5,
            reused_prefix_tokens: 300,
            ..GenStats::default()
        },
        sources: vec!["calc.py:1".into()],
        cost: 0.0,
        context_tokens: 2048,
        budget: 7168,
    });
    app.input = "and sub?".into();
    app
}

#[test]
fn chat_help_and_review_views() {
    let plain = Styles::new(None, 0);
    let app = chatting();
    insta::assert_snapshot!("chat_80x24", text(&render(&app, &plain, 80, 24)));
    let mut help = chatting();
    help.key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::F(1),
        crossterm::event::KeyModifiers::NONE,
    ));
    assert_eq!(help.view, View::Help);
    insta::assert_snapshot!("help_80x24", text(&render(&help, &plain, 80, 24)));

    let old: String = (1..=12).map(|i| format!("line {i}\n")).collect();
    let new = old
        .replace("line 2\n", "line two\n")
        .replace("line 11\n", "line 11\nline 11.5\n");
    let changes = ChangeSet {
        files: vec![FileChange::new(
            "notes.txt".into(),
            FileOp::Modify,
            None,
            old,
            new,
        )],
    };
    let mut review = chatting();
    review.report(Report::Proposed {
        changes,
        failures: vec![],
        advice: None,
        placement: "local: Gemma 3 270m".into(),
        cost: 0.0,
    });
    assert_eq!(review.view, View::Review);
    review.key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('a'),
        crossterm::event::KeyModifiers::NONE,
    ));
    insta::assert_snapshot!("review_80x24", text(&render(&review, &plain, 80, 24)));

    // `s`: side by side on a wide terminal, the unified view on a narrow one.
    let unified = text(&render(&review, &plain, 80, 24));
    review.key(key(crossterm::event::KeyCode::Char('s')));
    assert!(review.side_by_side);
    assert_eq!(
        text(&render(&review, &plain, 80, 24)),
        unified,
        "80 columns stay unified"
    );
    let wide = text(&render(&review, &plain, 140, 30));
    insta::assert_snapshot!("review_side_by_side_140x30", wide);
    let row = wide
        .lines()
        .find(|l| l.contains("-line 2"))
        .expect("the removed line is shown");
    assert!(row.contains(" │ +line two"), "{row}");
    let row = wide.lines().find(|l| l.contains("+line 11.5")).unwrap();
    assert!(
        !row.contains('-'),
        "an added line with nothing removed: {row}"
    );
    review.key(key(crossterm::event::KeyCode::Char('s')));
    assert!(!text(&render(&review, &plain, 140, 30)).contains(" │ +line two"));
}

fn key(code: crossterm::event::KeyCode) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE)
}

#[test]
fn at_completes_files_and_symbols_from_the_index() {
    use crossterm::event::KeyCode;
    let plain = Styles::new(None, 0);
    let mut app = chatting();
    app.input.clear();
    app.report(Report::Names(locus::tui::complete::Names::new(
        vec!["calc.py".into(), "src/calculus/limits.py".into()],
        vec!["add".into(), "calculate".into()],
    )));
    for c in "what calls @cal".chars() {
        app.key(key(KeyCode::Char(c)));
    }
    assert_eq!(
        app.completions(),
        ["calc.py", "src/calculus/limits.py", "calculate"]
    );
    let screen = text(&render(&app, &plain, 80, 24));
    assert!(screen.contains("▶ calc.py"), "{screen}");
    assert!(screen.contains("  calculate"), "{screen}");
    app.key(key(KeyCode::Down));
    app.key(key(KeyCode::Down));
    app.key(key(KeyCode::Tab));
    assert_eq!(app.input, "what calls @calculate ");
    assert!(app.completions().is_empty(), "the popup closes");
    assert!(!text(&render(&app, &plain, 80, 24)).contains("Tab completes"));
    // With no `@` word, Up and Tab keep their meaning (history, nothing).
    app.input = "plain".into();
    app.key(key(KeyCode::Tab));
    assert_eq!(app.input, "plain");
}

fn ctrl_t() -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('t'),
        crossterm::event::KeyModifiers::CONTROL,
    )
}

#[test]
fn thinking_is_folded_to_one_line_and_ctrl_t_unfolds_it() {
    let styles = Styles::new(None, 0);
    let mut app = chatting();
    let folded = text(&render(&app, &styles, 80, 24));
    assert!(
        folded.contains("▸ thinking, 2 lines (Ctrl-T shows)"),
        "{folded}"
    );
    assert!(!folded.contains("The user asks about add."), "{folded}");
    app.key(ctrl_t());
    let open = text(&render(&app, &styles, 80, 24));
    assert!(open.contains("▾ thinking (Ctrl-T folds)"), "{open}");
    assert!(open.contains("  The user asks about add."), "{open}");
    assert!(open.contains("  It is defined in calc.py."), "{open}");
    assert_eq!(app.input, "and sub?", "Ctrl-T types nothing");
    app.key(ctrl_t());
    assert_eq!(text(&render(&app, &styles, 80, 24)), folded);
}

#[test]
fn colours_follow_the_theme_and_no_color() {
    let theme = Theme::load(&Assets::new(None), "dark").unwrap();
    let expected = theme.get("ui.statusline.local");
    let coloured = Styles::new(Some(theme.clone()), 1 << 24);
    let app = chatting();
    let t = render(&app, &coloured, 80, 24);
    let cell = &t.backend().buffer()[(1, 23)];
    match expected.bg {
        Some(locus::theme::Color::Rgb(r, g, b)) => {
            assert_eq!(cell.bg, ratatui::style::Color::Rgb(r, g, b))
        }
        other => assert!(other.is_none() || cell.bg != ratatui::style::Color::Reset),
    }
    // The code block is highlighted in the theme's syntax styles.
    let buf = t.backend().buffer();
    let def = (0..24u16)
        .flat_map(|y| (0..76u16).map(move |x| (x, y)))
        .find(|&(x, y)| (0..4).map(|i| buf[(x + i, y)].symbol()).collect::<String>() == "def ")
        .expect("the code block's `def` is on the screen");
    let keyword = coloured
        .get("keyword")
        .fg
        .expect("the dark theme colours keywords");
    assert_eq!(buf[def].fg, keyword, "`def` in the keyword colour");
    let indexed = Styles::new(Some(theme.clone()), 256);
    let t = render(&app, &indexed, 80, 24);
    assert!(matches!(
        t.backend().buffer()[(1, 23)].bg,
        ratatui::style::Color::Indexed(_) | ratatui::style::Color::Reset
    ));
    let none = Styles::new(Some(theme), 0);
    let t = render(&app, &none, 80, 24);
    let buf = t.backend().buffer();
    for y in 0..24 {
        for x in 0..80 {
            let c = &buf[(x, y)];
            assert!(
                matches!(c.fg, ratatui::style::Color::Reset)
                    && matches!(c.bg, ratatui::style::Color::Reset),
                "NO_COLOR: colour at {x},{y}"
            );
        }
    }
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(session: &str, what: &str, secs: u64) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(what) {
            return screen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "waited {secs}s for {what:?}; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Kills its tmux session when dropped.
struct Kill(String);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

/// The real binary in a 100x30 tmux session, in `root`, with the sandbox's
/// directories and `env` (`NAME=value …`) set.
fn launch(sb: &Sandbox, root: &Path, env: &str) -> (String, Kill) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let session = format!(
        "locus-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let cmd = format!(
        "cd {} && env -u LOCUS_MODEL XDG_CONFIG_HOME={} XDG_STATE_HOME={} XDG_CACHE_HOME={} HOME={} TERM=xterm-256color {env} {} ; sleep 30",
        root.display(),
        sb.path("config").display(),
        sb.path("state").display(),
        sb.path("cache").display(),
        sb.dir.path().display(),
        Path::new(env!("CARGO_BIN_EXE_locus")).display()
    );
    let st = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "100",
            "-y",
            "30",
            &cmd,
        ])
        .status()
        .unwrap();
    assert!(st.success());
    (session.clone(), Kill(session))
}

#[test]
fn the_real_binary_in_tmux_answers_a_question() {
    let model = test_model();
    let sb = Sandbox::new();
    let root = sb.path("work/proj");
    git_init(&root);
    std::fs::write(root.join("calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        format!(
            "[model]\npath = \"{}\"\ncontext = 2048\n\n[context]\nanswer_tokens = 24\n",
            model.display()
        ),
    )
    .unwrap();
    let (session, _kill) = launch(&sb, &root, "");
    wait_for(&session, "conversation", 20);
    wait_for(&session, " files ·", 60);
    wait_for(&session, "local: ", 120);
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "What does add do in calc.py?",
        "Enter",
    ]);
    let screen = wait_for(&session, "What does add do in calc.py?", 10);
    assert!(screen.contains("What does add do in calc.py?"), "{screen}");
    // The answer streams in under the question; the status shows its speed.
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", &session]);
        let answered = screen
            .lines()
            .any(|l| l.contains("locus [local:") && !l.contains('…'));
        if answered {
            assert!(
                !screen.contains("0/0.0 tok/s"),
                "the status shows the speed: {screen}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "no answer:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // An edit request to the real model: its reply either becomes a change
    // set to review or (this small model cannot write SEARCH/REPLACE
    // blocks) its failures are shown with their reasons and the hint to
    // escalate.
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "-l",
        "/edit make add return b + a in calc.py",
    ]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", &session]);
        if screen.contains("review changes") {
            tmux(&["send-keys", "-t", &session, "Escape"]);
            wait_for(&session, "nothing was written", 5);
            break;
        }
        if screen.contains("hint: consider escalating") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no outcome of the edit:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    tmux(&["send-keys", "-t", &session, "F1"]);
    wait_for(&session, "keys (Esc closes)", 5);
    tmux(&["send-keys", "-t", &session, "Escape"]);
    tmux(&["send-keys", "-t", &session, "C-c"]);
    wait_for(&session, "press Ctrl-C again to quit", 5);
    tmux(&["send-keys", "-t", &session, "C-c"]);
    // Back at the shell's `sleep`: the TUI is gone and the terminal restored.
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", &session]);
        if !screen.contains("conversation") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "locus did not quit:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let saved = std::fs::read_dir(sb.path("state")).unwrap().count();
    assert!(saved > 0);
}

#[test]
fn long_transcripts_show_their_end_and_scroll_back_to_their_start() {
    let plain = Styles::new(None, 0);
    let mut app = App::new();
    for i in 0..3000 {
        app.entries.push(Entry::Info(format!("entry {i}")));
    }
    let bottom = text(&render(&app, &plain, 40, 12));
    assert!(bottom.contains("entry 2999"), "{bottom}");
    assert!(!bottom.contains("entry 2990"), "{bottom}");
    // Each entry is two lines (its text and a blank): scroll up 10 entries.
    app.scroll = 20;
    let up = text(&render(&app, &plain, 40, 12));
    assert!(
        up.contains("entry 2989") && !up.contains("entry 2999"),
        "{up}"
    );
    // Past the start: the first entry at the top, nothing wraps around.
    app.scroll = u16::MAX;
    let top = text(&render(&app, &plain, 40, 12));
    assert!(
        top.contains("│entry 0 ") && top.contains("│entry 1 "),
        "{top}"
    );
}

/// Ctrl-E in the real binary: the preview of what would leave (nothing has
/// yet), a file trimmed from it, Enter; the loopback provider gets exactly
/// the rest, the answer is marked as the cloud's, the cost shows, and the
/// audit log has the request. No local model here: escalation works
/// without one.
#[test]
fn ctrl_e_previews_trims_and_sends_to_the_cloud_model() {
    use crate::cloud::{OPENAI_STREAM, Reply, Server};
    let server = Server::start(vec![Reply::sse(OPENAI_STREAM, 64)]);
    let sb = Sandbox::new();
    let root = sb.path("work/proj");
    git_init(&root);
    std::fs::write(
        root.join("calc.py"),
        "def add(a, b):\n    return a + b  # CALC_BODY\n",
    )
    .unwrap();
    std::fs::write(
        root.join("notes.py"),
        "def note(x):\n    return add(x, 1)  # NOTES_BODY\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        format!(
            "[providers.acme]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{}/v1\"\nmodel = \"m-1\"\napi_key_cmd = \"echo sk-test\"\nprice_in_per_mtok = 3.0\nprice_out_per_mtok = 15.0\n",
            server.port
        ),
    )
    .unwrap();
    let (session, _kill) = launch(&sb, &root, "");
    wait_for(&session, "no local model yet", 60);
    tmux(&["send-keys", "-t", &session, "Escape"]);
    wait_for(&session, "No local model found", 10);
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "-l",
        "What do add and note in calc.py and notes.py do?",
    ]);
    tmux(&["send-keys", "-t", &session, "C-e"]);
    let screen = wait_for(&session, "nothing has left this machine yet", 20);
    assert!(
        screen.contains("acme (m-1)") && screen.contains("estimated cost $"),
        "{screen}"
    );
    assert!(server.requests().is_empty(), "nothing is sent before Enter");
    // Select calc.py's part and trim it.
    let mut tries = 0;
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", &session]);
        let selected = screen
            .lines()
            .find(|l| l.contains('▶'))
            .unwrap_or_default()
            .to_string();
        if selected.contains("calc.py") {
            break;
        }
        tries += 1;
        assert!(tries < 20, "no part for calc.py:\n{screen}");
        tmux(&["send-keys", "-t", &session, "j"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    tmux(&["send-keys", "-t", &session, "Space"]);
    let screen = wait_for(&session, "[ ]", 5);
    assert!(
        screen
            .lines()
            .any(|l| l.contains("[ ]") && l.contains("calc.py")),
        "{screen}"
    );
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let screen = wait_for(&session, "Hello, wörld", 20);
    assert!(screen.contains("locus [cloud: acme (m-1)]"), "{screen}");
    let screen = wait_for(&session, "cloud $0.0001", 5);
    assert!(
        screen.contains("no local model · cloud $0.0001"),
        "the status bar shows the cost: {screen}"
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    let body = &sent[0].body;
    assert!(body.contains("What do add and note"), "{body}");
    assert!(
        !body.contains("CALC_BODY"),
        "the trimmed file stayed home: {body}"
    );
    tmux(&["send-keys", "-t", &session, "C-c"]);
    tmux(&["send-keys", "-t", &session, "C-c"]);
    let audit = std::fs::read_dir(sb.path("state"))
        .unwrap()
        .flatten()
        .flat_map(|d| walk(&d.path()))
        .find(|p| p.to_string_lossy().contains("audit"))
        .expect("an audit log");
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        log.contains("\"provider\":\"acme\"") && !log.contains("calc.py"),
        "{log}"
    );
}

fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    if p.is_dir() {
        std::fs::read_dir(p)
            .unwrap()
            .flatten()
            .flat_map(|d| walk(&d.path()))
            .collect()
    } else {
        vec![p.to_path_buf()]
    }
}

/// An OpenAI-style stream whose answer is `text`.
fn openai_answer(text: &str) -> String {
    let chunk = serde_json::json!({
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]
    });
    let end = serde_json::json!({
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    });
    format!("data: {chunk}\n\ndata: {end}\n\ndata: [DONE]\n\n")
}

fn git(root: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An edit from the (loopback) cloud model reviewed in the real binary: one
/// hunk accepted, one rejected, `S` applies and stages exactly the accepted
/// one, Ctrl-G drafts the commit message (a plain summary: there is no
/// local model), the message is edited, Ctrl-S and `y` commit it.
#[test]
fn review_stages_the_accepted_hunk_and_the_commit_view_commits_it() {
    use crate::cloud::{Reply, Server};
    let reply = "Two changes.\n\ncalc.py\n<<<<<<< SEARCH\ndef add(a, b):\n    return a + b\n=======\ndef add(a, b):\n    return b + a\n>>>>>>> REPLACE\n\ncalc.py\n<<<<<<< SEARCH\ndef sub(a, b):\n    return a - b\n=======\ndef sub(a, b):\n    return -(b - a)\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![Reply::sse(&openai_answer(reply), 50)]);
    let sb = Sandbox::new();
    let root = sb.path("work/proj");
    git_init(&root);
    let filler: String = (0..12).map(|i| format!("X{i} = {i}\n")).collect();
    let original =
        format!("def add(a, b):\n    return a + b\n\n{filler}\ndef sub(a, b):\n    return a - b\n");
    std::fs::write(root.join("calc.py"), &original).unwrap();
    git(&root, &["config", "user.name", "T"]);
    git(&root, &["config", "user.email", "t@example.com"]);
    git(&root, &["add", "calc.py"]);
    git(&root, &["commit", "-qm", "Start"]);
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        format!(
            "[providers.acme]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{}/v1\"\nmodel = \"m-1\"\napi_key_cmd = \"echo sk-test\"\n",
            server.port
        ),
    )
    .unwrap();
    let (session, _kill) = launch(&sb, &root, "");
    wait_for(&session, "no local model yet", 60);
    tmux(&["send-keys", "-t", &session, "Escape"]);
    wait_for(&session, "No local model found", 10);
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "-l",
        "/edit swap the operands in calc.py",
    ]);
    tmux(&["send-keys", "-t", &session, "C-e"]);
    wait_for(&session, "nothing has left this machine yet", 20);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "review changes", 20);
    tmux(&["send-keys", "-t", &session, "a"]);
    let screen = wait_for(&session, "[accepted]", 5);
    assert!(
        screen.contains("[pending]"),
        "the second hunk waits: {screen}"
    );
    tmux(&["send-keys", "-t", &session, "r"]);
    wait_for(&session, "[rejected]", 5);
    tmux(&["send-keys", "-t", &session, "S"]);
    wait_for(&session, "staged 1 file(s)", 10);
    let on_disk = std::fs::read_to_string(root.join("calc.py")).unwrap();
    assert!(
        on_disk.contains("return b + a") && on_disk.contains("return a - b"),
        "{on_disk}"
    );
    let cached = git(&root, &["diff", "--cached"]);
    assert!(
        cached.contains("+    return b + a") && !cached.contains("b - a"),
        "{cached}"
    );
    tmux(&["send-keys", "-t", &session, "C-g"]);
    let screen = wait_for(&session, "commit message (type to edit)", 20);
    assert!(screen.contains("calc.py"), "{screen}");
    tmux(&["send-keys", "-t", &session, "-l", " (swapped)"]);
    tmux(&["send-keys", "-t", &session, "C-s"]);
    wait_for(&session, "Commit with this message?", 5);
    assert_eq!(
        git(&root, &["log", "--format=%s"]).lines().count(),
        1,
        "not before y"
    );
    tmux(&["send-keys", "-t", &session, "y"]);
    wait_for(&session, "committed ", 20);
    let log = git(&root, &["log", "-1", "--format=%B"]);
    assert!(
        log.contains("calc.py") && log.contains("(swapped)"),
        "{log}"
    );
    let shown = git(&root, &["show", "HEAD"]);
    assert!(
        shown.contains("+    return b + a") && !shown.contains("b - a"),
        "{shown}"
    );
}

/// Accept one hunk of two, apply with Enter, the file on disk has exactly
/// that one; /undo puts the file back byte for byte, /redo again. (The edit
/// comes from a loopback provider: the 270M test model cannot write
/// SEARCH/REPLACE blocks; what it does write is shown as failures with
/// their reasons, tested in `the_real_binary_in_tmux_answers_a_question`.)
#[test]
fn an_accepted_hunk_is_written_and_undo_restores_the_file() {
    use crate::cloud::{Reply, Server};
    let reply = "Two changes.\n\ncalc.py\n<<<<<<< SEARCH\ndef add(a, b):\n    return a + b\n=======\ndef add(a, b):\n    return b + a\n>>>>>>> REPLACE\n\ncalc.py\n<<<<<<< SEARCH\ndef sub(a, b):\n    return a - b\n=======\ndef sub(a, b):\n    return -(b - a)\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![Reply::sse(&openai_answer(reply), 50)]);
    let sb = Sandbox::new();
    let root = sb.path("work/proj");
    git_init(&root);
    let filler: String = (0..12).map(|i| format!("X{i} = {i}\n")).collect();
    let original =
        format!("def add(a, b):\n    return a + b\n\n{filler}\ndef sub(a, b):\n    return a - b\n");
    std::fs::write(root.join("calc.py"), &original).unwrap();
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        format!(
            "[providers.acme]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{}/v1\"\nmodel = \"m-1\"\napi_key_cmd = \"echo sk-test\"\n",
            server.port
        ),
    )
    .unwrap();
    let (session, _kill) = launch(&sb, &root, "");
    wait_for(&session, "no local model yet", 60);
    tmux(&["send-keys", "-t", &session, "Escape"]);
    wait_for(&session, "No local model found", 10);
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "-l",
        "/edit swap the operands in calc.py",
    ]);
    tmux(&["send-keys", "-t", &session, "C-e"]);
    wait_for(&session, "nothing has left this machine yet", 20);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "review changes", 20);
    tmux(&["send-keys", "-t", &session, "j"]);
    tmux(&["send-keys", "-t", &session, "a"]);
    wait_for(&session, "[accepted]", 5);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "applied to 1 file(s)", 10);
    let on_disk = std::fs::read_to_string(root.join("calc.py")).unwrap();
    assert!(
        on_disk.contains("return -(b - a)") && on_disk.contains("return a + b"),
        "only the second hunk: {on_disk}"
    );
    tmux(&["send-keys", "-t", &session, "-l", "/undo"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "undone:", 10);
    assert_eq!(
        std::fs::read_to_string(root.join("calc.py")).unwrap(),
        original
    );
    tmux(&["send-keys", "-t", &session, "-l", "/redo"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "redone:", 10);
    assert_eq!(
        std::fs::read_to_string(root.join("calc.py")).unwrap(),
        on_disk
    );
}

/// The escalation preview, the commit view and the context panel, each at
/// a fixed size.
#[test]
fn escalation_commit_and_context_views() {
    use locus::context::{Part, PartKind, Slot};
    use locus::route::Preview;
    use locus::session::Task;
    use locus::tui::commit::CommitView;
    use locus::tui::context_panel::{ContextPanel, PanelPart};
    let plain = Styles::new(None, 0);
    let part = |kind, path: Option<&str>, lines, tokens| Part {
        kind,
        path: path.map(String::from),
        lines,
        tokens,
        text: String::new(),
        slot: Slot::Current,
    };
    let mut app = chatting();
    app.report(Report::Preview {
        task: Task::Ask,
        text: "What does add do?".into(),
        preview: Box::new(Preview {
            provider: "acme".into(),
            model: "m-1".into(),
            url: "https://api.acme.test/v1".into(),
            parts: vec![
                part(PartKind::System, None, None, 120),
                part(PartKind::RepoMap, None, None, 300),
                part(PartKind::File, Some("calc.py"), None, 40),
                part(PartKind::Snippet, Some("app.py"), Some([4, 9]), 60),
            ],
            left_out: vec![(".env".into(), ".env".into())],
            redactions: 2,
            total_tokens: 520,
            max_output_tokens: 1024,
            cost_estimate_usd: 0.0,
            price_in_per_mtok: 3.0,
            price_out_per_mtok: 15.0,
        }),
    });
    app.key(key(crossterm::event::KeyCode::Char('j')));
    app.key(key(crossterm::event::KeyCode::Char('j')));
    app.key(key(crossterm::event::KeyCode::Char(' ')));
    insta::assert_snapshot!("escalate_100x24", text(&render(&app, &plain, 100, 24)));

    let mut app = chatting();
    app.report(Report::CommitDraft(Box::new(CommitView {
        message: "Swap the operands of add".into(),
        files: vec!["modified  calc.py +1 -1".into()],
        patch: "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n+    return b + a\n".into(),
        ..CommitView::default()
    })));
    insta::assert_snapshot!("commit_80x24", text(&render(&app, &plain, 80, 24)));

    let mut app = chatting();
    app.key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('o'),
        crossterm::event::KeyModifiers::CONTROL,
    ));
    let pp = |label: &str, path: Option<&str>, tokens, pinned| PanelPart {
        label: label.into(),
        path: path.map(String::from),
        tokens,
        pinned,
    };
    app.report(Report::Context(ContextPanel {
        parts: vec![
            pp("system", None, 120, false),
            pp("repomap", None, 300, false),
            pp("util.py", Some("util.py"), 25, true),
            pp("calc.py", Some("calc.py"), 40, false),
        ],
        excluded: vec!["secrets.py".into()],
        total: 485,
        budget: 7000,
        ..ContextPanel::default()
    }));
    insta::assert_snapshot!("context_panel_120x24", text(&render(&app, &plain, 120, 24)));

    let mut app = App::new();
    app.report(Report::NoModel(Box::new(locus::tui::setup::SetupView {
        why: "several models found; choose one with --model NAME (see `locus models`) or set model.path".into(),
        found: vec![
            locus::tui::setup::FoundModel {
                label: "gemma-3-270m  (ollama, 0.3 GB)".into(),
                path: "/m/a".into(),
            },
            locus::tui::setup::FoundModel {
                label: "gemma-4-12b-it-Q4_K_M  (huggingface, 7.4 GB)".into(),
                path: "/m/b".into(),
            },
        ],
        download: (
            "ggml-org/gemma-4-12b-it-GGUF:gemma-4-12b-it-Q4_K_M.gguf".into(),
            "about 7.4 GB".into(),
        ),
        cloud: Some("acme (m-1)".into()),
        progress: Some((1_500_000_000, 7_400_000_000)),
        ..Default::default()
    })));
    insta::assert_snapshot!("first_run_100x20", text(&render(&app, &plain, 100, 20)));
}

/// Two models found (LM Studio's folder), none configured: the first-run
/// screen lists both, the second is chosen and loaded.
#[test]
fn first_run_lists_the_models_found_and_loads_the_one_picked() {
    let sb = Sandbox::new();
    let root = sb.path("work/proj");
    git_init(&root);
    std::fs::write(root.join("calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
    let lm = sb.dir.path().join(".lmstudio/models/acme/tiny");
    std::fs::create_dir_all(&lm).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::copy(fixtures.join("tiny-gemma4.gguf"), lm.join("tiny-a.gguf")).unwrap();
    std::fs::copy(
        fixtures.join("tiny-gemma4-f32.gguf"),
        lm.join("tiny-b.gguf"),
    )
    .unwrap();
    let (session, _kill) = launch(&sb, &root, "");
    let screen = wait_for(&session, "no local model yet", 60);
    assert!(
        screen.contains("several models found")
            && screen.contains("tiny-a")
            && screen.contains("tiny-b"),
        "{screen}"
    );
    assert!(
        screen.contains("Download ggml-org/gemma-4-12b-it-GGUF"),
        "{screen}"
    );
    assert!(
        screen.contains("about 7.4 GB"),
        "the size is said first: {screen}"
    );
    let b_row = screen.lines().position(|l| l.contains("tiny-b")).unwrap();
    let a_row = screen.lines().position(|l| l.contains("tiny-a")).unwrap();
    if b_row > a_row {
        tmux(&["send-keys", "-t", &session, "j"]);
    }
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let screen = wait_for(&session, "local: ", 60);
    assert!(!screen.contains("no local model yet"), "{screen}");
    assert!(
        screen.contains("tiny-b.gguf"),
        "the one picked was loaded: {screen}"
    );
}

/// No model anywhere: Enter on "Download" fetches the default model from
/// (a loopback stand-in for) the Hugging Face Hub with a progress bar, into
/// the Hub's cache layout, and loads it.
#[test]
fn first_run_downloads_the_default_model_and_loads_it() {
    use crate::pull::{Behaviour, Hub, model_bytes};
    let hub = Hub::start(Behaviour {
        file: model_bytes(),
        cut_first_at: None,
        wrong_sha: false,
        token: None,
    });
    let sb = Sandbox::new();
    let root = sb.path("work/proj");
    git_init(&root);
    let hf = sb.path("hf");
    let (session, _kill) = launch(
        &sb,
        &root,
        &format!("HF_ENDPOINT={} HF_HOME={}", hub.endpoint(), hf.display()),
    );
    let screen = wait_for(&session, "no local model yet", 60);
    assert!(
        screen.contains("▶ Download"),
        "download is offered first: {screen}"
    );
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "local: ", 60);
    let blob_dir = hf.join("hub/models--ggml-org--gemma-4-12b-it-GGUF/snapshots");
    assert!(blob_dir.exists(), "stored in the Hub's cache layout");
}

/// `e` on a hunk opens it in $EDITOR (here a script that rewrites it), the
/// edited text replaces the proposal's and is accepted; Enter writes it.
#[test]
fn a_hunk_edited_in_the_editor_is_what_gets_written() {
    use crate::cloud::{Reply, Server};
    let reply = "One change.\n\ncalc.py\n<<<<<<< SEARCH\ndef add(a, b):\n    return a + b\n=======\ndef add(a, b):\n    return b + a\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![Reply::sse(&openai_answer(reply), 50)]);
    let sb = Sandbox::new();
    let root = sb.path("work/proj");
    git_init(&root);
    std::fs::write(root.join("calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        format!(
            "[providers.acme]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{}/v1\"\nmodel = \"m-1\"\napi_key_cmd = \"echo sk-test\"\n",
            server.port
        ),
    )
    .unwrap();
    let editor = sb.path("edit-hunk.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\ngrep -q 'return b + a' \"$1\" || exit 3\nprintf 'def add(a, b):\\n    return a + b + 0  # by hand\\n' > \"$1\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .unwrap();
    let (session, _kill) = launch(&sb, &root, &format!("EDITOR={}", editor.display()));
    wait_for(&session, "no local model yet", 60);
    tmux(&["send-keys", "-t", &session, "Escape"]);
    wait_for(&session, "No local model found", 10);
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "-l",
        "/edit swap the operands in calc.py",
    ]);
    tmux(&["send-keys", "-t", &session, "C-e"]);
    wait_for(&session, "nothing has left this machine yet", 20);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "review changes", 20);
    tmux(&["send-keys", "-t", &session, "e"]);
    wait_for(&session, "[accepted, edited]", 10);
    wait_for(&session, "# by hand", 5);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "applied to 1 file(s)", 10);
    assert_eq!(
        std::fs::read_to_string(root.join("calc.py")).unwrap(),
        "def add(a, b):\n    return a + b + 0  # by hand\n"
    );
}

/// The review highlights code in the file's language, over the diff's
/// colours: `def` in the keyword colour, the `+` in the added colour; and an
/// edit that could not be placed is said at the top with its reason.
#[test]
fn the_review_highlights_code_and_shows_failed_edits_inline() {
    let theme = Theme::load(&Assets::new(None), "dark").unwrap();
    let st = Styles::new(Some(theme), 1 << 24);
    let mut app = chatting();
    app.report(Report::Proposed {
        changes: ChangeSet {
            files: vec![FileChange::new(
                "calc.py".into(),
                FileOp::Modify,
                None,
                "x = 1\n".into(),
                "x = 1\ndef add(a, b):\n    return a + b\n".into(),
            )],
        },
        failures: vec!["SEARCH block for util.py matched nothing".into()],
        advice: None,
        placement: "local: Gemma 3 270m".into(),
        cost: 0.0,
    });
    let t = render(&app, &st, 80, 24);
    let screen = text(&t);
    assert!(
        screen.contains("not placed: SEARCH block for util.py matched nothing"),
        "{screen}"
    );
    let buf = t.backend().buffer();
    let (x, y) = (0..24u16)
        .flat_map(|y| (0..76u16).map(move |x| (x, y)))
        .find(|&(x, y)| (0..4).map(|i| buf[(x + i, y)].symbol()).collect::<String>() == "def ")
        .expect("the added `def` is shown");
    assert_eq!(buf[(x, y)].fg, st.get("keyword").fg.unwrap());
    assert_eq!(buf[(x - 1, y)].symbol(), "+");
    assert_eq!(buf[(x - 1, y)].fg, st.get("diff.plus").fg.unwrap());
}
