use super::*;
use crate::model::GenStats;
use crate::route::Preview;
use crate::session::Task;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        app.key(key(KeyCode::Char(c)));
    }
}

#[test]
fn enter_asks_and_tokens_stream_into_the_answer() {
    let mut app = App::new();
    typed(&mut app, "what is main?");
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::Ask("what is main?".into())]
    );
    assert!(app.busy && app.input.is_empty());
    app.report(Report::Thinking("Find ".into()));
    app.report(Report::Thinking("main.".into()));
    app.report(Report::Token("It ".into()));
    app.report(Report::Token("starts.".into()));
    app.report(Report::Answered {
        placement: "local: gemma".into(),
        stats: GenStats::default(),
        sources: vec!["src/main.rs:1".into()],
        context_tokens: 900,
        budget: 7000,
        cost: 0.0,
    });
    assert!(!app.busy);
    assert_eq!(
        app.entries[1],
        Entry::Assistant {
            placement: "local: gemma".into(),
            text: "It starts.".into(),
            thinking: "Find main.".into(),
            done: true
        }
    );
    assert_eq!(app.entries[2], Entry::Info("sources: src/main.rs:1".into()));
}

#[test]
fn ctrl_c_cancels_then_quits_and_help_toggles() {
    let mut app = App::new();
    typed(&mut app, "q");
    app.key(key(KeyCode::Enter));
    let cancel = app.cancel.clone().unwrap();
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(cancel.is_cancelled() && !app.quit);
    app.report(Report::Error("cancelled".into()));
    // One Ctrl-C cancelled the answer; the next one quits.
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
    // Idle: twice to quit, and another key in between disarms it.
    let mut app = App::new();
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    app.key(key(KeyCode::Char('x')));
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(!app.quit);
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
    let mut app = App::new();
    app.key(key(KeyCode::Char('?')));
    assert_eq!(app.view, View::Help);
    app.key(key(KeyCode::Esc));
    assert_eq!(app.view, View::Chat);
    typed(&mut app, "a?");
    assert_eq!(app.input, "a?", "? is text once the composer has some");
    app.paste("line1\r\nline2");
    assert_eq!(app.input, "a?line1\nline2");
    assert!(app.entries.is_empty(), "a paste never sends");
}

#[test]
fn slash_commands_and_history() {
    let mut app = App::new();
    typed(&mut app, "/edit rename foo to bar");
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::Edit("rename foo to bar".into())]
    );
    app.report(Report::Error("x".into()));
    typed(&mut app, "/undo");
    assert_eq!(app.key(key(KeyCode::Enter)), vec![Request::Undo]);
    typed(&mut app, "/nope");
    assert!(app.key(key(KeyCode::Enter)).is_empty());
    assert!(
        matches!(app.entries.last(), Some(Entry::Error(e)) if e.contains("unknown command /nope"))
    );
    app.key(key(KeyCode::Up));
    assert_eq!(app.input, "/nope");
    app.key(key(KeyCode::Up));
    assert_eq!(app.input, "/undo");
    app.key(key(KeyCode::Down));
    app.key(key(KeyCode::Down));
    assert_eq!(app.input, "");
}

fn preview() -> Preview {
    use crate::context::{Part, PartKind, Slot};
    let part = |kind, path: Option<&str>, tokens| Part {
        kind,
        path: path.map(String::from),
        lines: None,
        tokens,
        text: format!("text of {path:?}"),
        slot: Slot::Current,
    };
    Preview {
        provider: "acme".into(),
        model: "m-1".into(),
        url: "http://127.0.0.1:9/v1".into(),
        parts: vec![
            part(PartKind::System, None, 100),
            part(PartKind::File, Some("calc.py"), 40),
            part(PartKind::File, Some("notes.py"), 60),
        ],
        left_out: vec![(".env".into(), ".env".into())],
        redactions: 1,
        total_tokens: 200,
        max_output_tokens: 1000,
        cost_estimate_usd: 0.0,
        price_in_per_mtok: 1.0,
        price_out_per_mtok: 2.0,
        files: vec!["calc.py".into(), "notes.py".into()],
        requests: 1,
        attachments: vec![],
    }
}

#[test]
fn ctrl_e_previews_the_task_and_enter_sends_it_without_what_was_trimmed() {
    let ctrl_e = KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL);
    let mut app = App::new();
    assert!(
        app.key(ctrl_e).is_empty(),
        "nothing typed, nothing asked yet"
    );
    assert!(
        matches!(app.entries.last(), Some(Entry::Error(e)) if e.contains("nothing to escalate"))
    );
    typed(&mut app, "/edit rename add");
    assert_eq!(
        app.key(ctrl_e),
        vec![Request::Escalate {
            task: Task::Edit,
            text: "rename add".into()
        }]
    );
    app.report(Report::Preview {
        task: Task::Edit,
        text: "rename add".into(),
        preview: Box::new(preview()),
    });
    assert_eq!(app.view, View::Escalate);
    let e = app.escalation.as_ref().unwrap();
    assert_eq!(e.tokens(), 200);
    // The system part cannot be trimmed; calc.py can.
    app.key(key(KeyCode::Char(' ')));
    assert_eq!(app.escalation.as_ref().unwrap().tokens(), 200);
    app.key(key(KeyCode::Char('j')));
    app.key(key(KeyCode::Char(' ')));
    let e = app.escalation.as_ref().unwrap();
    assert_eq!(e.tokens(), 160);
    assert!((e.cost() - (160.0 + 2000.0) / 1e6).abs() < 1e-12);
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::Send {
            task: Task::Edit,
            text: "rename add".into(),
            exclude: vec!["calc.py".into()]
        }]
    );
    assert_eq!(app.view, View::Chat);
    assert!(app.busy);
    assert!(matches!(
        app.entries.last(),
        Some(Entry::Assistant { placement, .. }) if placement == "cloud: acme (m-1)"
    ));
    // Esc cancels; the last question is what Ctrl-E takes when the
    // composer is empty.
    app.report(Report::Error("x".into()));
    typed(&mut app, "why?");
    app.key(key(KeyCode::Enter));
    app.report(Report::Error("x".into()));
    assert_eq!(
        app.key(ctrl_e),
        vec![Request::Escalate {
            task: Task::Ask,
            text: "why?".into()
        }]
    );
    app.report(Report::Preview {
        task: Task::Ask,
        text: "why?".into(),
        preview: Box::new(preview()),
    });
    assert!(app.key(key(KeyCode::Esc)).is_empty());
    assert_eq!(app.view, View::Chat);
    assert!(matches!(app.entries.last(), Some(Entry::Info(i)) if i.contains("nothing was sent")));
}

#[test]
fn configured_keys_replace_the_defaults() {
    let mut app = App::new();
    app.keys =
        Keymap::new(&toml::from_str("escalate = \"ctrl-x\"\nthinking = \"f5\"").unwrap()).unwrap();
    app.key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE));
    assert!(app.show_thinking);
    typed(&mut app, "q");
    assert!(
        app.key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL))
            .is_empty()
    );
    assert_eq!(
        app.input, "q",
        "Ctrl-E is no longer bound and types nothing"
    );
    assert_eq!(
        app.key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL))
            .len(),
        1
    );
}

#[test]
fn commit_view_edits_the_draft_and_commits_only_after_confirmation() {
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    let mut app = App::new();
    assert_eq!(app.key(ctrl('g')), vec![Request::CommitDraft]);
    app.report(Report::CommitDraft(Box::new(CommitView {
        message: "Add plus".into(),
        files: vec!["modified  calc.py +1 -1".into()],
        patch: "+x\n".into(),
        ..CommitView::default()
    })));
    assert_eq!(app.view, View::Commit);
    typed(&mut app, " and minus");
    app.key(key(KeyCode::Backspace));
    assert_eq!(app.commit.as_ref().unwrap().message, "Add plus and minu");
    // It edits like the composer: Home, Ctrl-E, Ctrl-W, arrows, Enter at the cursor.
    app.key(key(KeyCode::Home));
    typed(&mut app, "> ");
    assert_eq!(app.commit.as_ref().unwrap().message, "> Add plus and minu");
    app.key(ctrl('e'));
    app.key(ctrl('w'));
    assert_eq!(app.commit.as_ref().unwrap().message, "> Add plus and ");
    app.key(ctrl('a'));
    app.key(key(KeyCode::Delete));
    app.key(key(KeyCode::Delete));
    app.key(key(KeyCode::Right));
    app.key(key(KeyCode::Right));
    app.key(key(KeyCode::Right));
    app.key(key(KeyCode::Enter));
    assert_eq!(app.commit.as_ref().unwrap().message, "Add\n plus and ");
    app.key(ctrl('a'));
    app.key(ctrl('k'));
    app.key(key(KeyCode::Backspace));
    typed(&mut app, " plus and minu");
    assert_eq!(app.commit.as_ref().unwrap().message, "Add plus and minu");
    assert!(app.key(ctrl('s')).is_empty());
    assert!(app.commit.as_ref().unwrap().confirming);
    assert!(app.key(key(KeyCode::Char('n'))).is_empty(), "not confirmed");
    assert_eq!(app.view, View::Commit);
    app.key(ctrl('s'));
    assert_eq!(
        app.key(key(KeyCode::Char('y'))),
        vec![Request::Commit("Add plus and minu".into())]
    );
    // A failing hook brings the view back with the message as edited.
    app.report(Report::Error("pre-commit failed".into()));
    assert_eq!(app.view, View::Commit);
    let c = app.commit.as_ref().unwrap();
    assert_eq!(c.message, "Add plus and minu");
    assert!(c.note.as_deref().unwrap().contains("pre-commit failed"));
    app.key(ctrl('s'));
    app.key(key(KeyCode::Char('y')));
    app.report(Report::Committed("committed abc: Add plus and minu".into()));
    assert!(app.commit.is_none());
    assert_eq!(app.view, View::Chat);
    // Esc leaves without committing.
    app.key(ctrl('g'));
    app.report(Report::CommitDraft(Box::default()));
    assert!(app.key(key(KeyCode::Esc)).is_empty());
    assert!(matches!(app.entries.last(), Some(Entry::Info(i)) if i == "nothing was committed"));
}

#[test]
fn context_panel_pins_removes_and_restores() {
    use crate::tui::context_panel::PanelPart;
    let ctrl_o = KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL);
    let mut app = App::new();
    typed(&mut app, "how does add work?");
    assert_eq!(
        app.key(ctrl_o),
        vec![Request::Context {
            question: "how does add work?".into()
        }]
    );
    let part = |path: &str, pinned| PanelPart {
        label: path.into(),
        path: Some(path.into()),
        tokens: 10,
        pinned,
    };
    app.report(Report::Context(ContextPanel {
        parts: vec![part("a.py", true), part("b.py", false)],
        excluded: vec!["c.py".into()],
        total: 20,
        budget: 100,
        ..ContextPanel::default()
    }));
    assert_eq!(
        app.key(key(KeyCode::Char('p'))),
        vec![Request::Pin {
            path: "a.py".into(),
            on: false
        }]
    );
    app.key(key(KeyCode::Char('j')));
    assert_eq!(
        app.key(key(KeyCode::Char('d'))),
        vec![Request::Exclude {
            path: "b.py".into(),
            on: true
        }]
    );
    app.key(key(KeyCode::Down));
    assert_eq!(
        app.key(key(KeyCode::Delete)),
        vec![Request::Exclude {
            path: "c.py".into(),
            on: false
        }]
    );
    assert_eq!(app.input, "how does add work?", "the panel took the keys");
    app.key(key(KeyCode::Esc));
    assert!(app.panel.is_none());
    app.input.clear();
    typed(&mut app, "/pin @src/x.rs");
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::Pin {
            path: "src/x.rs".into(),
            on: true
        }]
    );
}

#[test]
fn first_run_screen_picks_downloads_cancels_or_goes_on() {
    use crate::tui::setup::FoundModel;
    let setup = || {
        Box::new(SetupView {
            why: "several models found".into(),
            found: vec![
                FoundModel {
                    label: "a".into(),
                    path: "/m/a.gguf".into(),
                    problem: None,
                },
                FoundModel {
                    label: "b".into(),
                    path: "/m/b.gguf".into(),
                    problem: None,
                },
            ],
            download: ("org/repo:f.gguf".into(), "about 7.4 GB".into()),
            ..SetupView::default()
        })
    };
    let mut app = App::new();
    app.report(Report::NoModel(setup()));
    assert_eq!(app.view, View::Setup);
    app.key(key(KeyCode::Char('j')));
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::UseModel("/m/b.gguf".into())]
    );
    app.report(Report::Error("cannot load /m/b.gguf".into()));
    assert_eq!(app.view, View::Setup, "a failed load stays on the screen");
    assert!(app.setup.as_ref().unwrap().error.is_some());
    app.key(key(KeyCode::Down));
    assert_eq!(app.key(key(KeyCode::Enter)), vec![Request::Download]);
    app.report(Report::Download(50, 100));
    assert_eq!(app.setup.as_ref().unwrap().progress, Some((50, 100)));
    let cancel = app.cancel.clone().unwrap();
    app.key(key(KeyCode::Esc));
    assert!(cancel.is_cancelled(), "Esc cancels the download");
    app.report(Report::Error("download cancelled".into()));
    assert_eq!(app.setup.as_ref().unwrap().progress, None);
    app.report(Report::ModelReady {
        name: "gemma".into(),
        window: 8192,
    });
    assert!(app.setup.is_none() && app.view == View::Chat);
    let mut app = App::new();
    app.report(Report::NoModel(setup()));
    app.key(key(KeyCode::Esc));
    assert_eq!(app.view, View::Chat, "Esc goes on without a model");
    let mut app = App::new();
    app.report(Report::NoModel(setup()));
    typed(&mut app, "why?");
    assert_eq!(
        (app.view, app.input.as_str()),
        (View::Chat, "why?"),
        "typing goes on too"
    );
}

#[test]
fn the_composer_edits_at_its_cursor_and_completes_the_word_before_it() {
    let mut app = App::new();
    app.names = complete::Names::new(vec!["src/calc.py".into()], vec![]);
    typed(&mut app, "what does do?");
    for _ in 0.."do?".len() {
        app.key(key(KeyCode::Left));
    }
    typed(&mut app, "@cal");
    assert_eq!(app.before_cursor(), "what does @cal");
    assert_eq!(app.completions(), ["src/calc.py"]);
    app.key(key(KeyCode::Tab));
    assert_eq!(app.input, "what does @src/calc.py do?");
    assert_eq!(app.before_cursor(), "what does @src/calc.py ");
    app.key(key(KeyCode::End));
    app.paste(" (and why)");
    app.key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
    assert_eq!(app.input, "what does @src/calc.py do? (and ");
    app.key(key(KeyCode::Home));
    app.key(key(KeyCode::Delete));
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::Ask("hat does @src/calc.py do? (and".into())]
    );
    // Up recalls history on a one-line draft; the cursor is at its end.
    app.report(Report::Error("x".into()));
    app.key(key(KeyCode::Up));
    typed(&mut app, "!");
    assert_eq!(app.input, "hat does @src/calc.py do? (and!");
    // /add puts a file in every request.
    app.input.clear();
    typed(&mut app, "/add @src/calc.py");
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::Pin {
            path: "src/calc.py".into(),
            on: true
        }]
    );
}

#[test]
fn esc_closes_the_completion_popup_and_keeps_the_text() {
    let mut app = App::new();
    app.names = complete::Names::new(vec!["src/calc.py".into()], vec!["calculate".into()]);
    typed(&mut app, "what does @cal");
    assert_eq!(app.completions(), ["calculate", "src/calc.py"]);
    app.key(key(KeyCode::Esc));
    assert!(app.completions().is_empty(), "the popup closed");
    assert_eq!(app.input, "what does @cal", "the composer kept its text");
    typed(&mut app, "c");
    assert_eq!(
        app.completions(),
        ["calculate", "src/calc.py"],
        "typing opens it again"
    );
    typed(&mut app, "ulate");
    assert!(app.completions().is_empty(), "an exact name closes it");
    app.key(key(KeyCode::Esc));
    assert!(
        app.input.is_empty(),
        "without a popup, Esc clears the composer"
    );
}

#[test]
fn images_are_attached_by_mention_command_and_pasted_path() {
    let mut app = App::new();
    typed(&mut app, "What is in @shot.png, and @calc.py?");
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![
            Request::Attach("shot.png".into()),
            Request::Ask("What is in @shot.png, and @calc.py?".into())
        ]
    );
    let mut app = App::new();
    typed(&mut app, "/detach 2");
    assert_eq!(app.key(key(KeyCode::Enter)), vec![Request::Detach(Some(2))]);
    typed(&mut app, "/detach");
    assert_eq!(app.key(key(KeyCode::Enter)), vec![Request::Detach(None)]);
    typed(&mut app, "/image shots/a b.png");
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        vec![Request::Attach("shots/a b.png".into())]
    );
    typed(&mut app, "/detach x");
    assert!(app.key(key(KeyCode::Enter)).is_empty());
    // A pasted path to an image that exists attaches it; other text is text.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shot.png");
    std::fs::write(&p, b"png bytes").unwrap();
    let pasted = format!("'file://{}'", p.display());
    assert_eq!(
        app.paste(&pasted),
        vec![Request::Attach(p.display().to_string())]
    );
    assert!(app.input.is_empty());
    assert!(app.paste("see shot.png").is_empty());
    assert_eq!(app.input, "see shot.png");
}
