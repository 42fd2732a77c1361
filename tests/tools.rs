//! The tools a model may call, on a real repository with a failing test:
//! reading, searching, listing, the map, git, proposing a fix and running
//! the check; refusals and malformed calls come back as results. And
//! `locus checks`: proposed from the layout, saved when confirmed, run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use locus::config::{CheckSettings, PrivacySettings};
use locus::edit::{Journal, PathGuard, writes_for};
use locus::model::Cancel;
use locus::tools::toolbox::call;
use locus::tools::{Toolbox, builtin};
use serde_json::json;

use crate::git::git;
use crate::util::{Sandbox, git_init, index_of, stderr, stdout};

const CALC: &str = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n";
const TEST: &str = "import unittest\n\nfrom calc import add\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n";

/// A Python package whose test fails (add subtracts), committed.
pub fn failing_repo(sb: &Sandbox) -> PathBuf {
    let root = sb.path("work/calc");
    git_init(&root);
    std::fs::write(root.join("calc.py"), CALC).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(root.join("tests/test_calc.py"), TEST).unwrap();
    std::fs::write(
        root.join("setup.py"),
        "from setuptools import setup\nsetup(name='calc')\n",
    )
    .unwrap();
    std::fs::write(root.join(".env"), "TOKEN=Xk9mQ2vL8pR4wZ\n").unwrap();
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "init"]);
    root
}

fn checks() -> BTreeMap<String, CheckSettings> {
    BTreeMap::from([(
        "test".to_string(),
        CheckSettings {
            command: "PYTHONPATH=. python3 -m unittest discover -s tests -q".into(),
            after_edit: true,
            timeout_s: 120,
        },
    )])
}

fn guard(root: &Path) -> PathGuard {
    PathGuard::new(
        root,
        PrivacySettings::default().never_touch_rules().unwrap(),
    )
    .unwrap()
}

#[test]
fn the_tools_find_the_bug_propose_the_fix_and_the_check_passes() {
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    let index = index_of(&root);
    let guard = guard(&root);
    let checks = checks();
    let mut approved = 0;
    let mut approve = |name: &str| {
        approved += 1;
        // The first request is refused, the next ones approved.
        name == "test" && approved > 1
    };
    let mut tb = Toolbox::new(&index, &guard, None, &checks, &mut approve);
    let cancel = Cancel::new();
    let run = |tb: &mut Toolbox<'_>, name: &str, args: serde_json::Value| {
        tb.call(&call(name, args), &cancel)
    };

    let r = run(&mut tb, "run_check", json!({"name": "test"}));
    assert!(!r.ok && r.content.contains("did not approve"), "{r:?}");
    let r = run(&mut tb, "run_check", json!({"name": "test"}));
    assert!(
        r.ok && r.content.contains("FAIL"),
        "the check ran and failed: {r:?}"
    );
    assert!(!tb.checks_run[0].ok);

    let r = run(&mut tb, "search", json!({"query": "add"}));
    assert!(
        r.content.contains("calc.py:1: def add(a, b):"),
        "{}",
        r.content
    );
    assert!(
        r.content.contains("tests/test_calc.py:"),
        "uses too: {}",
        r.content
    );
    let r = run(&mut tb, "search", json!({"query": "a - b", "kind": "text"}));
    assert!(
        r.content.contains("calc.py:2:     return a - b"),
        "{}",
        r.content
    );
    let r = run(
        &mut tb,
        "search",
        json!({"query": "def \\w+\\(", "kind": "regex", "path_glob": "tests/**"}),
    );
    assert!(
        r.content.contains("tests/test_calc.py:7:") && !r.content.contains("calc.py:1:"),
        "{}",
        r.content
    );
    let r = run(
        &mut tb,
        "read_file",
        json!({"path": "calc.py", "start_line": 1, "end_line": 2}),
    );
    assert_eq!(
        r.content,
        "    1│ def add(a, b):\n    2│     return a - b\n"
    );
    let r = run(&mut tb, "list_files", json!({"dir": "tests"}));
    assert_eq!(r.content.trim(), "tests/test_calc.py");
    let r = run(&mut tb, "repo_map", json!({"focus": "add"}));
    assert!(r.content.contains("calc.py"), "{}", r.content);

    let fix =
        "calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n";
    let r = run(&mut tb, "propose_edit", json!({"edits": fix}));
    assert!(r.ok && r.content.contains("user's review"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(root.join("calc.py")).unwrap(),
        CALC,
        "a proposal writes nothing"
    );
    let mut changes = tb.proposals[0].changes.clone();
    changes.accept_all();
    Journal::new(sb.path("journal"))
        .apply(&writes_for(&changes), "fix", &guard)
        .unwrap();
    let r = run(&mut tb, "run_check", json!({"name": "test"}));
    assert!(
        r.ok && tb.checks_run.last().unwrap().ok,
        "the check passes now: {r:?}"
    );

    let r = run(&mut tb, "git_status", json!({}));
    assert!(r.content.contains("unstaged: calc.py"), "{}", r.content);
    let r = run(&mut tb, "git_diff", json!({"path": "calc.py"}));
    assert!(r.content.contains("+    return a + b"), "{}", r.content);
}

#[test]
fn refusals_and_malformed_calls_are_results_the_model_sees() {
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    let index = index_of(&root);
    let guard = guard(&root);
    let checks = checks();
    let mut approve = |_: &str| true;
    let stays = |p: &str| (p == "calc.py").then(|| "never_send".to_string());
    let mut tb = Toolbox::new(&index, &guard, Some(&stays), &checks, &mut approve);
    let cancel = Cancel::new();
    let mut run = |name: &str, args: serde_json::Value| tb.call(&call(name, args), &cancel);
    for (name, args, says) in [
        ("read_file", json!({"path": ".env"}), "never-touch"),
        (
            "read_file",
            json!({"path": "../outside"}),
            "leaves the repository",
        ),
        (
            "read_file",
            json!({"path": "calc.py"}),
            "stays on this machine",
        ),
        ("read_file", json!({}), "missing argument `path`"),
        ("read_file", json!({"path": 3}), "must be a string"),
        (
            "search",
            json!({"query": "x", "kind": "fuzzy"}),
            "must be one of",
        ),
        (
            "search",
            json!({"query": "(", "kind": "regex"}),
            "bad regular expression",
        ),
        ("run_check", json!({"name": "lint"}), "no check named lint"),
        ("fly", json!({}), "no tool `fly`"),
        (
            "propose_edit",
            json!({"edits": "calc.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n"}),
            "stays on this machine",
        ),
        (
            "propose_edit",
            json!({"edits": "hello"}),
            "no SEARCH/REPLACE",
        ),
    ] {
        let r = run(name, args.clone());
        assert!(!r.ok && r.content.contains(says), "{name} {args}: {r:?}");
    }
    let r = run("search", json!({"query": "add(", "kind": "text"}));
    assert!(
        r.ok && !r.content.lines().any(|l| l.starts_with("calc.py:"))
            && r.content.contains("tests/"),
        "{}",
        r.content
    );
    let r = run("list_files", json!({}));
    assert!(!r.content.lines().any(|l| l == "calc.py"), "{}", r.content);
    let r = run("repo_map", json!({"focus": "add"}));
    assert!(!r.content.lines().any(|l| l == "calc.py"), "{}", r.content);
    // Every tool the model is told of has a schema with its required arguments.
    for spec in builtin() {
        assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
    }
}

#[test]
fn locus_checks_proposes_saves_and_runs() {
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    let out = sb.locus(&root, &["checks", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["checks"], json!({}));
    assert!(
        v["proposed"]["check"]["command"]
            .as_str()
            .unwrap()
            .contains("unittest"),
        "{v}"
    );
    let out = sb.locus(&root, &["checks", "save"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no terminal, no --yes: nothing saved"
    );
    assert!(!root.join(".locus/config.toml").exists());
    let out = sb.locus(&root, &["checks", "save", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sb.locus(&root, &["checks"]);
    assert!(stdout(&out).starts_with("test "), "{}", stdout(&out));
    // The proposed command runs the tests from the root; they fail.
    let out = sb.locus(&root, &["checks", "run", "test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("check test failed"),
        "{}",
        stderr(&out)
    );
    std::fs::write(root.join("calc.py"), CALC.replace("a - b", "a + b")).unwrap();
    let out = sb.locus(&root, &["checks", "run", "test", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["exit_code"].as_i64()),
        (Some(true), Some(0))
    );

    // A cloned repository's checks run nothing until trusted.
    let sb2 = Sandbox::new();
    let root2 = failing_repo(&sb2);
    let marker = sb2.path("ran");
    std::fs::create_dir_all(root2.join(".locus")).unwrap();
    std::fs::write(
        root2.join(".locus/config.toml"),
        format!("[checks.test]\ncommand = \"touch {}\"\n", marker.display()),
    )
    .unwrap();
    let out = sb2.locus(&root2, &["checks", "run", "test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ignored from .locus/config.toml"),
        "{}",
        stderr(&out)
    );
    assert!(!marker.exists());
}

/// `locus edit --yes` on a server of the user's own (a local model): the
/// edit is applied, the check fails, its output goes back to the model,
/// the fix is applied and the check passes. With no fix left, it stops and
/// says to escalate. `locus apply` runs the checks too; `--no-check` not.
#[test]
fn checks_after_an_edit_feed_failures_back_until_they_pass() {
    use crate::cloud::{Reply, Server, openai_answer};
    let wrong = "calc.py\n<<<<<<< SEARCH\ndef mul(a, b):\n    return a * b\n=======\ndef mul(a, b):\n    return a * b\n\n\ndef sub(a, b):\n    return a - b\n>>>>>>> REPLACE\n";
    let fix = "calc.py\n<<<<<<< SEARCH\ndef add(a, b):\n    return a - b\n=======\ndef add(a, b):\n    return a + b\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![
        Reply::sse(&openai_answer(wrong), 64),
        Reply::sse(&openai_answer(fix), 64),
    ]);
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    let config = format!(
        "[model]\nprovider = \"mine\"\n\n[providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n\n[checks.test]\ncommand = \"PYTHONPATH=. python3 -m unittest discover -s tests -q\"\nafter_edit = true\ntimeout_s = 120\n",
        server.url("/v1")
    );
    sb.write("config/locus/config.toml", &config);
    let out = sb.locus(
        &root,
        &[
            "edit",
            "Add a sub function to calc.py",
            "--file",
            "calc.py",
            "--yes",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let oks: Vec<bool> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(oks, [false, true], "{v}");
    assert_eq!(v["fixes"].as_array().unwrap().len(), 1, "{v}");
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].body.contains("check test failed") && sent[1].body.contains("AssertionError"),
        "the failure went back to the model: {}",
        sent[1].body
    );
    let now = std::fs::read_to_string(root.join("calc.py")).unwrap();
    assert!(
        now.contains("return a + b") && now.contains("def sub"),
        "{now}"
    );

    // A model that does not fix it: one attempt, then the advice.
    let server = Server::start(vec![Reply::sse(&openai_answer(wrong), 64)]);
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    sb.write(
        "config/locus/config.toml",
        &config
            .replace(&sb_url_placeholder(&config), &server.url("/v1"))
            .replace(
                "[checks.test]",
                "[agent]\nfix_attempts = 1\n\n[checks.test]",
            ),
    );
    let out = sb.locus(
        &root,
        &[
            "edit",
            "Add a sub function to calc.py",
            "--file",
            "calc.py",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("checks still fail after 1 fix"),
        "{}",
        stderr(&out)
    );

    // locus apply: the checks run after it, unless --no-check.
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    sb.write("config/locus/config.toml", &config);
    let reply = sb.write("reply.md", wrong);
    let out = sb.locus(
        &root,
        &["apply", reply.to_str().unwrap(), "--yes", "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the check fails after the apply"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["applied"].as_bool(), v["checks"][0]["ok"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(sb.locus(&root, &["undo"]).status.success());
    let out = sb.locus(
        &root,
        &[
            "apply",
            reply.to_str().unwrap(),
            "--yes",
            "--no-check",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v.get("checks").is_none(), "{v}");
}

/// The base URL written in a config made by the test above.
fn sb_url_placeholder(config: &str) -> String {
    config
        .lines()
        .find_map(|l| l.strip_prefix("base_url = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_string()
}

/// `locus ask --tools` on a server of the user's own following the text
/// protocol: the call runs, its result goes back, the answer comes with the
/// calls in the JSON. On the small real model (which may not follow the
/// protocol at all) the loop ends cleanly.
#[test]
fn ask_with_tools_headless_and_on_the_small_model() {
    use crate::cloud::{Reply, Server, openai_answer};
    let call =
        "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"calc.py\"}}</tool_call>";
    let server = Server::start(vec![
        Reply::sse(&openai_answer(call), 64),
        Reply::sse(&openai_answer("add subtracts (calc.py:2)."), 64),
    ]);
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[model]\nprovider = \"mine\"\n\n[providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n",
            server.url("/v1")
        ),
    );
    let out = sb.locus(
        &root,
        &["ask", "What is wrong with add?", "--tools", "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["answer"], "add subtracts (calc.py:2).");
    assert_eq!(v["tool_calls"][0]["call"]["name"], "read_file", "{v}");
    assert_eq!(v["tool_calls"][0]["result"]["ok"], true, "{v}");
    assert_eq!(v["checks"], serde_json::json!([]), "no check ran: {v}");
    let sent = server.requests();
    assert!(sent[1].body.contains("return a - b"), "{}", sent[1].body);

    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    let model = crate::util::test_model();
    sb.write(
        "config/locus/config.toml",
        "[model]\ncontext = 2048\n\n[context]\nanswer_tokens = 48\n\n[agent]\nmax_steps = 2\n",
    );
    let out = sb.locus_env(
        &root,
        &["ask", "What is wrong with add?", "--tools", "--json"],
        &[("LOCUS_MODEL", model.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["tool_calls"].as_array().unwrap().len() <= 2, "{v}");
}

/// `--jsonl`: one object per line as things happen, `done` last.
#[test]
fn jsonl_prints_events_as_they_happen() {
    use crate::cloud::{Reply, Server, openai_answer};
    let call = "<tool_call>{\"name\": \"search\", \"arguments\": {\"query\": \"add\"}}</tool_call>";
    let fix =
        "calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![
        Reply::sse(&openai_answer(call), 64),
        Reply::sse(&openai_answer("It subtracts."), 64),
        Reply::sse(&openai_answer(fix), 64),
    ]);
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[model]\nprovider = \"mine\"\n\n[providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n\n[checks.test]\ncommand = \"PYTHONPATH=. python3 -m unittest discover -s tests -q\"\nafter_edit = true\n",
            server.url("/v1")
        ),
    );
    let lines = |out: &std::process::Output| -> Vec<serde_json::Value> {
        stdout(out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let out = sb.locus(&root, &["ask", "What does add do?", "--tools", "--jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = lines(&out);
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let call_at = types.iter().position(|t| *t == "tool_call").unwrap();
    assert_eq!(types[call_at + 1], "tool_result", "{types:?}");
    assert_eq!(*types.last().unwrap(), "done");
    assert!(
        types[call_at + 2..types.len() - 1]
            .iter()
            .all(|t| *t == "text"),
        "{types:?}"
    );
    assert_eq!(ev.last().unwrap()["answer"], "It subtracts.");

    let out = sb.locus(
        &root,
        &[
            "edit",
            "Make add add",
            "--file",
            "calc.py",
            "--yes",
            "--jsonl",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = lines(&out);
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let tail: Vec<&str> = types.iter().copied().filter(|t| *t != "text").collect();
    assert_eq!(tail, ["edit_proposed", "check", "done"], "{types:?}");
    assert_eq!(ev[ev.len() - 2]["ok"], true);
    assert_eq!(ev.last().unwrap()["applied"], true);
}

/// Whether process `pid` still runs (a zombie waiting for init is dead).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

fn wait_for(path: &Path) -> i32 {
    for _ in 0..200 {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

/// A hanging check, with a child of its own, is killed whole at its timeout,
/// and on Ctrl-C (the check runs in its own process group, so the terminal's
/// signal would not reach it: locus kills the group, then exits with 130).
#[test]
fn a_hanging_check_is_killed_at_its_timeout_and_on_ctrl_c() {
    let sb = Sandbox::new();
    let root = failing_repo(&sb);
    let hang = "sleep 300 & echo $! > child.pid; wait";
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[checks.slow]\ncommand = \"{hang}\"\ntimeout_s = 1\n\n[checks.hang]\ncommand = \"{hang}\"\ntimeout_s = 600\n"
        ),
    );
    let started = std::time::Instant::now();
    let out = sb.locus(&root, &["checks", "run", "slow", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["timed_out"].as_bool()),
        (Some(false), Some(true)),
        "{v}"
    );
    assert!(started.elapsed().as_secs() < 30);
    let child = wait_for(&root.join("child.pid"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!alive(child), "the check's own child was killed with it");

    std::fs::remove_file(root.join("child.pid")).unwrap();
    let mut run = sb
        .command(&root, &["checks", "run", "hang", "--json"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let child = wait_for(&root.join("child.pid"));
    // SAFETY: sends SIGINT to the locus process this test started.
    unsafe { libc::kill(run.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let out = loop {
        if let Some(_status) = run.try_wait().unwrap() {
            break run.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "locus did not stop on Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["cancelled"], true, "{v}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!alive(child), "the check's child was killed on Ctrl-C");
}
