//! The first hour, walked in a real terminal (tmux) with the real binary:
//! the first run without a configured model, a question whose prompt is
//! read with its progress shown, a follow-up, an `@` symbol, an edit
//! reviewed and applied, an undo past the user's own change, a commit.

use crate::cloud::{Reply, Server, openai_answer};
use crate::tui_term::{launch, project, select_row, tmux, wait_for};
use crate::util::{Sandbox, test_model};

fn keys(session: &str, text: &str) {
    tmux(&["send-keys", "-t", session, "-l", text]);
}

fn press(session: &str, key: &str) {
    tmux(&["send-keys", "-t", session, key]);
}

#[test]
fn the_first_hour_in_a_real_terminal() {
    let edit =
        "calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![
        Reply::sse(&openai_answer(edit), 64),
        Reply::sse(&openai_answer("Fix add: it subtracted"), 64),
    ]);
    let sb = Sandbox::new();
    let root = project(&sb, "def add(a, b):\n    return a - b\n");
    // Enough code that reading the prompt takes a few seconds.
    let helpers: String = (0..120)
        .map(|i| format!("def helper_{i}(x):\n    \"\"\"Helper number {i}.\"\"\"\n    return x * {i} + add(x, {i})\n\n"))
        .collect();
    std::fs::write(root.join("helpers.py"), helpers).unwrap();
    // The small model where LM Studio keeps models: found, not configured.
    let lm = sb.dir.path().join(".lmstudio/models/google/gemma-3-270m");
    std::fs::create_dir_all(&lm).unwrap();
    std::os::unix::fs::symlink(test_model(), lm.join("gemma-3-270m-q4_k_m.gguf")).unwrap();
    // And a second one: which to run is the user's choice.
    let tiny = sb.dir.path().join(".lmstudio/models/acme/tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf"),
        tiny.join("tiny.gguf"),
    )
    .unwrap();
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[model]\ncontext = 2048\n\n[context]\nanswer_tokens = 12\n\n[agent]\ntools = false\n\n\
             [providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n",
            server.url("/v1")
        ),
    );
    let (s, _kill) = launch(&sb, &root, "");
    // First run: the models found are offered; the small Gemma is taken.
    let screen = wait_for(&s, "no local model yet", 60);
    assert!(!screen.contains("--model"), "{screen}");
    select_row(&s, "gemma-3-270m");
    press(&s, "Enter");
    wait_for(&s, "local: Gemma 3 270m", 120);
    // A question: the prompt's reading is shown while it lasts.
    keys(&s, "What does helper_7 in helpers.py return?");
    press(&s, "Enter");
    let screen = wait_for(&s, "reading the prompt:", 60);
    assert!(screen.contains("tokens ·"), "{screen}");
    wait_for(&s, "ask · /edit", 120);
    // A follow-up.
    keys(&s, "And helper_8?");
    press(&s, "Enter");
    wait_for(&s, "And helper_8?", 30);
    wait_for(&s, "ask · /edit", 120);
    // `@` completes a symbol.
    keys(&s, "where is @hel");
    wait_for(&s, "▶ helper_0", 30);
    press(&s, "Tab");
    wait_for(&s, "where is @helper_0 ", 30);
    press(&s, "Escape");
    // An edit, on a server of the user's own, reviewed and applied.
    keys(&s, "/model provider:mine");
    press(&s, "Enter");
    wait_for(&s, "local: m (mine)", 30);
    keys(&s, "/edit make add add");
    press(&s, "Enter");
    wait_for(&s, "review changes", 30);
    press(&s, "a");
    wait_for(&s, "[accepted]", 30);
    press(&s, "Enter");
    wait_for(&s, "applied to 1 file", 30);
    assert!(
        std::fs::read_to_string(root.join("calc.py"))
            .unwrap()
            .contains("a + b")
    );
    // The user changes the file; undo is refused, then forced.
    std::fs::write(
        root.join("calc.py"),
        "def add(a, b):\n    return a + b  # mine\n",
    )
    .unwrap();
    keys(&s, "/undo");
    press(&s, "Enter");
    wait_for(&s, "/undo skip drops this change", 20);
    keys(&s, "/undo force");
    press(&s, "Enter");
    wait_for(&s, "y runs it, n refuses", 20);
    keys(&s, "y");
    wait_for(&s, "undone (forced)", 20);
    assert_eq!(
        std::fs::read_to_string(root.join("calc.py")).unwrap(),
        "def add(a, b):\n    return a - b\n"
    );
    // A commit of what is staged.
    crate::git::git(&root, &["config", "user.name", "Tess Ter"]);
    crate::git::git(&root, &["config", "user.email", "tess@example.com"]);
    crate::git::git(&root, &["add", "helpers.py"]);
    press(&s, "C-g");
    wait_for(&s, "commit message", 30);
    // Committing waits for the drafted message (a Ctrl-S while it streams
    // in is not a commit of half a message).
    wait_for(&s, "Fix add: it subtracted", 30);
    press(&s, "C-s");
    wait_for(&s, "y commits", 30);
    keys(&s, "y");
    wait_for(&s, "committed", 30);
    let log = crate::git::git(&root, &["log", "--format=%s", "-1"]);
    assert_eq!(log.trim(), "Fix add: it subtracted");
}
