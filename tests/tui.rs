//! The TUI without a terminal: each view drawn on a TestBackend at a fixed
//! size and compared with its snapshot; colours checked cell by cell. The
//! real binary in a real terminal is tui_term.rs.

use locus::assets::Assets;
use locus::edit::{ChangeSet, Decision, FileChange, FileOp};
use locus::model::GenStats;
use locus::theme::Theme;
use locus::tui::app::{App, Entry, Report, View};
use locus::tui::style::Styles;
use locus::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

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

/// `chatting()` with a proposed change of `path` from `old` to `new` under
/// review, and `failures` that could not be placed.
fn reviewing(path: &str, old: &str, new: &str, failures: &[&str]) -> App {
    let mut app = chatting();
    app.report(Report::Proposed {
        changes: ChangeSet {
            files: vec![FileChange::new(
                path.into(),
                FileOp::Modify,
                None,
                old.into(),
                new.into(),
            )],
        },
        failures: failures.iter().map(|f| f.to_string()).collect(),
        advice: None,
        placement: "local: Gemma 3 270m".into(),
        cost: 0.0,
    });
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
    let mut review = reviewing("notes.txt", &old, &new, &[]);
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
    // F rejects the whole file, f accepts it again.
    let hunks = |r: &App| {
        r.review.as_ref().unwrap().changes.files[0]
            .hunks
            .iter()
            .map(|h| h.decision)
            .collect::<Vec<_>>()
    };
    review.key(key(crossterm::event::KeyCode::Char('F')));
    assert_eq!(hunks(&review), [Decision::Rejected, Decision::Rejected]);
    review.key(key(crossterm::event::KeyCode::Char('f')));
    assert_eq!(hunks(&review), [Decision::Accepted, Decision::Accepted]);
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
        ["calculate", "calc.py", "src/calculus/limits.py"]
    );
    let screen = text(&render(&app, &plain, 80, 24));
    assert!(screen.contains("▶ calculate"), "{screen}");
    assert!(screen.contains("  calc.py"), "{screen}");
    // The popup sits inside the conversation: its bottom border stays whole.
    let bottom = screen.lines().find(|l| l.starts_with('└')).unwrap();
    assert!(
        bottom.chars().skip(1).take(30).all(|c| c == '─'),
        "{screen}"
    );
    app.key(key(KeyCode::Down));
    app.key(key(KeyCode::Tab));
    assert_eq!(app.input, "what calls @calc.py ");
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
            files: vec!["app.py".into(), "calc.py".into()],
            requests: 1,
            attachments: vec![],
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
        why: "several models were found; choose one below (/model changes it later)".into(),
        found: vec![
            locus::tui::setup::FoundModel {
                label: "gemma-3-270m  (ollama, 0.3 GB)".into(),
                path: "/m/a".into(),
                problem: None,
            },
            locus::tui::setup::FoundModel {
                label: "gemma-4-12b-it-Q4_K_M  (huggingface, 7.4 GB)".into(),
                path: "/m/b".into(),
                problem: None,
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

/// The review highlights code in the file's language, over the diff's
/// colours: `def` in the keyword colour, the `+` in the added colour; and an
/// edit that could not be placed is said at the top with its reason.
#[test]
fn the_review_highlights_code_and_shows_failed_edits_inline() {
    let theme = Theme::load(&Assets::new(None), "dark").unwrap();
    let st = Styles::new(Some(theme), 1 << 24);
    let app = reviewing(
        "calc.py",
        "x = 1\n",
        "x = 1\ndef add(a, b):\n    return a + b\n",
        &["SEARCH block for util.py matched nothing"],
    );
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

/// Every view, and help over it, at terminal sizes down to one cell: a
/// squeezed or freshly resized terminal never makes a frame panic.
#[test]
fn every_view_draws_at_any_size_down_to_one_cell() {
    use locus::tui::commit::CommitView;
    use locus::tui::context_panel::{ContextPanel, PanelPart};
    let plain = Styles::new(None, 0);
    let theme = Theme::load(&Assets::new(None), "dark").unwrap();
    let colour = Styles::new(Some(theme), 1 << 24);
    let review = |side_by_side: bool| {
        let old: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 20\n", "");
        let failed = ["calc.py: SEARCH text not found (closest: line 3)"];
        let mut app = reviewing("notes.txt", &old, &new, &failed);
        app.side_by_side = side_by_side;
        app
    };
    let commit = || {
        let mut app = chatting();
        app.report(Report::CommitDraft(Box::new(CommitView {
            message: "Swap the operands of add\n\nA body line that is rather long, to wrap.".into(),
            files: vec!["modified  calc.py +1 -1".into()],
            patch: "@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n+    return b + a\n"
                .into(),
            ..CommitView::default()
        })));
        app
    };
    let panel = || {
        let mut app = chatting();
        app.key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('o'),
            crossterm::event::KeyModifiers::CONTROL,
        ));
        app.report(Report::Context(ContextPanel {
            parts: vec![PanelPart {
                label: "calc.py".into(),
                path: Some("calc.py".into()),
                tokens: 40,
                pinned: true,
            }],
            excluded: vec!["secrets.py".into()],
            total: 40,
            budget: 7000,
            ..ContextPanel::default()
        }));
        app
    };
    let setup = || {
        let mut app = App::new();
        app.report(Report::NoModel(Box::new(locus::tui::setup::SetupView {
            why: "no model found".into(),
            download: ("org/model:file.gguf".into(), "about 7.4 GB".into()),
            progress: Some((1, 3)),
            ..Default::default()
        })));
        app
    };
    let completing = || {
        let mut app = chatting();
        app.names = locus::tui::complete::Names::new(
            vec!["src/calc.py".into(), "src/calculus.py".into()],
            vec!["calculate".into()],
        );
        app.input = "what is @cal".into();
        app
    };
    let views: Vec<Box<dyn Fn() -> App>> = vec![
        Box::new(chatting),
        Box::new(|| review(false)),
        Box::new(|| review(true)),
        Box::new(commit),
        Box::new(panel),
        Box::new(setup),
        Box::new(completing),
    ];
    for make in &views {
        let mut help = make();
        help.key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::F(1),
            crossterm::event::KeyModifiers::NONE,
        ));
        assert_eq!(help.view, View::Help);
        for app in [make(), help] {
            for (w, h) in [
                (1, 1),
                (2, 2),
                (5, 3),
                (10, 4),
                (20, 6),
                (40, 8),
                (61, 10),
                (99, 12),
                (100, 5),
                (140, 3),
                (3, 60),
            ] {
                for st in [&plain, &colour] {
                    render(&app, st, w, h);
                }
            }
        }
    }
}

/// Text from a model or a file that carries terminal control sequences is
/// drawn as text: no cell holds an escape or another control character, so
/// nothing written to the screen can move the cursor or recolour it.
#[test]
fn control_characters_in_answers_never_reach_the_terminal() {
    let plain = Styles::new(None, 0);
    let mut app = chatting();
    app.entries.push(Entry::Assistant {
        placement: "local: Gemma 3 270m".into(),
        text: "evil \u{1b}[2J\u{1b}]0;title\u{7} bell\r back \u{8}\u{9b}31m and\u{0} nul\n```sh\necho \u{1b}[31mred\n```".into(),
        thinking: String::new(),
        done: true,
    });
    app.input = "typed \u{1b}[A".into();
    let t = render(&app, &plain, 80, 24);
    let buf = t.backend().buffer();
    for y in 0..24 {
        for x in 0..80 {
            let sym = buf[(x, y)].symbol();
            assert!(
                !sym.chars().any(|c| c.is_control()),
                "control character {sym:?} at {x},{y}:\n{}",
                text(&t)
            );
        }
    }
    assert!(text(&t).contains("evil"), "{}", text(&t));
}

/// The tool loop in the transcript: each call one folded line (running,
/// then ✓ or ✗ with its summary), Ctrl-T shows what it gave; a question the
/// worker waits on is answered with y (or n, Esc, Ctrl-C).
#[test]
fn tool_calls_are_folded_lines_and_questions_wait_for_y_or_n() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let styles = Styles::new(None, 0);
    let mut app = chatting();
    app.entries
        .push(Entry::User("Why does the test fail?".into()));
    app.entries.push(Entry::Assistant {
        placement: "local: Gemma 3 270m".into(),
        text: "Let me run it.".into(),
        thinking: String::new(),
        done: false,
    });
    app.report(Report::ToolCall {
        name: "run_check".into(),
        arguments: "{\"name\":\"test\"}".into(),
    });
    assert!(text(&render(&app, &styles, 100, 30)).contains("▸ … run_check {\"name\":\"test\"}"));
    let (reply, answer) = std::sync::mpsc::channel();
    app.report(Report::Confirm {
        prompt: "the model asks to run test".into(),
        reply,
    });
    assert!(text(&render(&app, &styles, 100, 30)).contains("y runs it, n refuses"));
    app.key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    assert!(answer.try_recv().is_err(), "another key does not answer");
    app.key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    assert_eq!(answer.try_recv(), Ok(true));
    app.report(Report::ToolResult {
        name: "run_check".into(),
        ok: true,
        summary: "check test failed (exit 1) in 0.1 s".into(),
        content: "FAIL: test_add\nAssertionError: -1 != 5".into(),
    });
    app.report(Report::Token("add subtracts.".into()));
    let screen = text(&render(&app, &styles, 100, 30));
    assert!(
        screen.contains("▸ ✓ run_check {\"name\":\"test\"}  check test failed"),
        "{screen}"
    );
    assert!(!screen.contains("AssertionError"), "folded: {screen}");
    assert!(
        screen.contains("add subtracts."),
        "the text after the call streams below it"
    );
    app.key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::CONTROL));
    let screen = text(&render(&app, &styles, 100, 30));
    assert!(
        screen.contains("▾ ✓ run_check") && screen.contains("AssertionError: -1 != 5"),
        "{screen}"
    );

    let (reply, answer) = std::sync::mpsc::channel();
    app.report(Report::Confirm {
        prompt: "the model wants to run `rm -rf build`".into(),
        reply,
    });
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(answer.try_recv(), Ok(false), "Ctrl-C answers no");
}

/// A change that leaves a file with less than half its lines is flagged in
/// the review; hunk headers count their lines.
#[test]
fn the_review_warns_of_a_file_mostly_removed_and_counts_hunk_lines() {
    let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let app = reviewing("big.txt", &old, "line 1\n", &[]);
    let screen = text(&render(&app, &Styles::new(None, 0), 100, 30));
    assert!(
        screen.contains("⚠ the change removes 19 of the 20 lines of big.txt"),
        "{screen}"
    );
    assert!(
        screen.contains("@@ -2,19 +1,0 @@") || screen.contains("@@ -1,20 +1 @@"),
        "{screen}"
    );
    let app = reviewing("small.txt", "a\nb\nc\n", "a\nB\nc\n", &[]);
    let screen = text(&render(&app, &Styles::new(None, 0), 100, 30));
    assert!(!screen.contains("⚠"), "{screen}");
    assert!(screen.contains("@@ -1,3 +1,3 @@"), "{screen}");
}

/// F1 shows every binding of the view in front in full: long descriptions
/// wrap inside the box instead of being cut (the first-run screen, the review).
#[test]
fn help_is_drawn_whole_for_the_view_in_front() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let plain = Styles::new(None, 0);
    let old: String = (1..=5).map(|i| format!("line {i}\n")).collect();
    let mut review = reviewing("notes.txt", &old, "line 1\nline two\n", &[]);
    let mut setup = chatting();
    setup.report(Report::NoModel(Box::new(locus::tui::setup::SetupView {
        why: "nothing found".into(),
        ..Default::default()
    })));
    for (app, view) in [(&mut review, View::Review), (&mut setup, View::Setup)] {
        app.key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE));
        let screen = text(&render(app, &plain, 80, 24));
        let joined: String = screen
            .lines()
            .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
            .collect::<Vec<_>>()
            .join(" ");
        for (_, d) in locus::tui::view::bindings(view, &app.keys) {
            let words: Vec<&str> = d.split(' ').collect();
            let last = words.last().unwrap();
            assert!(joined.contains(last), "`{d}` is cut in:\n{screen}");
        }
    }
}
