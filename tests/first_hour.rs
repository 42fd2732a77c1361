//! What a new user trips over in the first hour, each kept fixed: edits
//! that would empty a file, hunk headers, and the rest of issue 21's list.

use serde_json::Value;

use crate::cloud::{Reply, Server, openai_answer};
use crate::util::{Sandbox, git_init, stderr, stdout};

fn long_file() -> String {
    (1..=20)
        .map(|i| format!("def f{i}():\n    return {i}\n"))
        .collect()
}

/// A model whose edit leaves a file with less than half its lines: `--yes`
/// refuses unless the request asked for a removal; the warning is said.
#[test]
fn an_edit_that_empties_most_of_a_file_is_refused_by_yes_unless_asked() {
    let gutting = "funcs.py\n<<<<<<< SEARCH\n".to_string()
        + &long_file()
        + "=======\ndef f1():\n    return 1\n>>>>>>> REPLACE\n";
    for (instruction, applied) in [
        ("Add a docstring to f1", false),
        ("Remove every function but f1", true),
    ] {
        let server = Server::start(vec![Reply::sse(&openai_answer(&gutting), 64)]);
        let sb = Sandbox::new();
        let root = sb.path("work/p");
        git_init(&root);
        std::fs::write(root.join("funcs.py"), long_file()).unwrap();
        sb.write(
            "config/locus/config.toml",
            &format!(
                "[model]\nprovider = \"mine\"\n\n[providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n",
                server.url("/v1")
            ),
        );
        let out = sb.locus(
            &root,
            &[
                "edit",
                instruction,
                "--file",
                "funcs.py",
                "--yes",
                "--no-tools",
                "--json",
            ],
        );
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["removals"][0]["lines"], 40, "{v}");
        let now = std::fs::read_to_string(root.join("funcs.py")).unwrap();
        if applied {
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(now, "def f1():\n    return 1\n");
        } else {
            assert_eq!(out.status.code(), Some(1));
            assert!(
                v["refused"]
                    .as_str()
                    .unwrap()
                    .contains("removes 38 of the 40 lines of funcs.py"),
                "{v}"
            );
            assert_eq!(now, long_file(), "nothing written");
            let out = sb.locus(
                &root,
                &[
                    "edit",
                    instruction,
                    "--file",
                    "funcs.py",
                    "--yes",
                    "--no-tools",
                ],
            );
            assert!(
                stderr(&out).contains("warning: the change removes 38 of the 40 lines"),
                "{}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains("review it without --yes"),
                "{}",
                stderr(&out)
            );
        }
    }
}

/// `--hard` escalates at once (the preview, then `--yes` or the question on
/// a terminal) instead of running the local model first; with nothing to
/// escalate to it says so and the local model answers.
#[test]
fn ask_hard_escalates_at_once() {
    let server = Server::start(vec![Reply::sse(&openai_answer("From the cloud."), 64)]);
    let sb = Sandbox::new();
    let root = sb.path("work/p");
    git_init(&root);
    std::fs::write(root.join("a.py"), "def add(a, b):\n    return a + b\n").unwrap();
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[providers.team]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"team-model\"\napi_key_env = \"LOCUS_TEST_TEAM_KEY\"\nplacement = \"cloud\"\n",
            server.url("/v1")
        ),
    );
    let env = [("LOCUS_TEST_TEAM_KEY", "sk-team-key-999")];
    // No local model is needed: the task goes straight to the cloud.
    let out = sb.locus_env(
        &root,
        &[
            "ask",
            "How does add work?",
            "--hard",
            "--yes",
            "--no-tools",
            "--json",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["answer"], "From the cloud.");
    assert_eq!(v["placement"]["where"], "cloud", "{v}");
    assert!(
        stderr(&out).contains("--hard: escalating to team at once"),
        "{}",
        stderr(&out)
    );
    // Without --yes and without a terminal: the preview, and nothing sent.
    let out = sb.locus_env(
        &root,
        &["ask", "How does add work?", "--hard", "--no-tools"],
        &env,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("About to send") && stderr(&out).contains("pass --yes"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 1);

    let sb = Sandbox::new();
    let root = sb.path("work/q");
    git_init(&root);
    let out = sb.locus_env(
        &root,
        &[
            "ask",
            "How?",
            "--hard",
            "--no-tools",
            "--model",
            "/nonexistent.gguf",
        ],
        &[],
    );
    assert!(
        stderr(&out).contains("--hard, but nothing to escalate to"),
        "{}",
        stderr(&out)
    );
}

/// `locus commit` without `--yes` and without a terminal says what commit
/// would do, in commit's words (not apply's).
#[test]
fn commit_refusal_speaks_of_committing() {
    let sb = Sandbox::new();
    let root = sb.path("work/p");
    git_init(&root);
    std::fs::write(root.join("a.py"), "x = 1\n").unwrap();
    crate::git::git(&root, &["add", "a.py"]);
    let tiny =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf");
    let out = sb.locus(&root, &["commit", "--model", tiny.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("pass --yes to commit with this message") && !err.contains("to apply"),
        "{err}"
    );
}

/// An undo whose file the user changed since: the refusal says the ways
/// past it; `--skip` drops the entry and writes nothing; `--force` restores
/// the file and keeps the user's version for `redo`.
#[test]
fn undo_past_a_users_change_with_skip_or_force() {
    let reply = "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n";
    for way in ["--skip", "--force"] {
        let sb = Sandbox::new();
        let root = sb.path("work/p");
        git_init(&root);
        std::fs::write(root.join("a.py"), "x = 1\n").unwrap();
        let r = sb.write("reply.md", reply);
        let out = sb.locus(
            &root,
            &["apply", r.to_str().unwrap(), "--yes", "--no-check"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::write(root.join("a.py"), "x = 2\ny = 'mine'\n").unwrap();
        let out = sb.locus(&root, &["undo"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("locus undo --skip") && stderr(&out).contains("--force"),
            "{}",
            stderr(&out)
        );
        let now = || std::fs::read_to_string(root.join("a.py")).unwrap();
        assert_eq!(now(), "x = 2\ny = 'mine'\n");
        if way == "--skip" {
            let out = sb.locus(&root, &["undo", "--skip"]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("the last change: apply"),
                "shown first: {}",
                stderr(&out)
            );
            assert_eq!(now(), "x = 2\ny = 'mine'\n", "nothing written");
            let out = sb.locus(&root, &["undo"]);
            assert!(
                stderr(&out).contains("error: nothing to undo"),
                "{}",
                stderr(&out)
            );
        } else {
            let out = sb.locus(&root, &["undo", "--force"]);
            assert_eq!(out.status.code(), Some(1), "asks first; no terminal here");
            assert_eq!(now(), "x = 2\ny = 'mine'\n");
            let out = sb.locus(&root, &["undo", "--force", "--yes"]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(now(), "x = 1\n");
            let out = sb.locus(&root, &["redo"]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(
                now(),
                "x = 2\ny = 'mine'\n",
                "redo brings the user's version back"
            );
        }
    }
}

/// Headless without a terminal, a shell command the model proposes is
/// refused (and said), never run.
#[test]
fn a_shell_command_without_a_terminal_to_confirm_it_is_refused() {
    let call = "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"touch ran.txt\"}}</tool_call>";
    let server = Server::start(vec![
        Reply::sse(&openai_answer(call), 64),
        Reply::sse(&openai_answer("Done."), 64),
    ]);
    let sb = Sandbox::new();
    let root = sb.path("work/p");
    git_init(&root);
    std::fs::write(root.join("a.py"), "x = 1\n").unwrap();
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[model]\nprovider = \"mine\"\n\n[providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n\n[tools]\nshell = \"ask\"\n",
            server.url("/v1")
        ),
    );
    let out = sb.locus(&root, &["ask", "Run it", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refused: no terminal to confirm it on"),
        "{}",
        stderr(&out)
    );
    assert!(!root.join("ran.txt").exists());
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["tool_calls"][0]["result"]["ok"], false, "{v}");
}
