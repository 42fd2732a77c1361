//! The privacy gate on every path a request can leave by — an answer, an
//! edit and its retry, a summary of older turns, a commit message — against
//! a loopback server that records what it receives, with secrets and
//! never-send files planted in the repository.

use std::path::{Path, PathBuf};

use crate::cloud::{Received, Reply, Server, openai_answer};
use crate::git::git;
use crate::util::{Sandbox, git_init, stderr, stdout, test_model};

const KEY_ENV: (&str, &str) = ("LOCUS_TEST_TEAM_KEY", "sk-team-key-999");

/// What must never arrive: secrets (as written in the files) and the
/// content of files that stay on this machine.
const NEVER: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "STRIPE_KEY",
    "def charge_card",
    "Xk9mQ2vL8pR4wZ",
    "NOTES_BODY",
];

const SETTINGS: &str = "AWS_ACCESS_KEY_ID = \"AKIAIOSFODNN7EXAMPLE\"\n\n\ndef load_settings():\n    return {\"debug\": False}\n";

/// A repository with a secret in settings.py, a never-send file with a
/// live key, a .env, and notes.py; the user's provider points at `server`.
pub fn gate_repo(sb: &Sandbox, server: &Server, provider_extra: &str) -> PathBuf {
    let root = sb.path("work/repo");
    git_init(&root);
    std::fs::write(root.join("settings.py"), SETTINGS).unwrap();
    std::fs::create_dir_all(root.join("secrets")).unwrap();
    std::fs::write(
        root.join("secrets/creds.py"),
        "STRIPE_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n\n\ndef charge_card(amount):\n    return load_settings() and amount\n",
    )
    .unwrap();
    std::fs::write(root.join(".env"), "DB_PASS=Xk9mQ2vL8pR4wZ\n").unwrap();
    std::fs::write(
        root.join("notes.py"),
        "def note_taker(x):\n    return x  # NOTES_BODY\n",
    )
    .unwrap();
    git(&root, &["config", "user.name", "Tess Ter"]);
    git(&root, &["config", "user.email", "tess@example.com"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "init"]);
    sb.write(
        "config/locus/config.toml",
        &format!(
            "[providers.team]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"team-model\"\napi_key_env = \"LOCUS_TEST_TEAM_KEY\"\nplacement = \"cloud\"\n{provider_extra}",
            server.url("/v1")
        ),
    );
    root
}

pub fn assert_clean(sent: &[Received]) {
    for r in sent {
        for never in NEVER {
            assert!(!r.body.contains(never), "{never} was sent: {}", r.body);
        }
    }
}

fn audit(sb: &Sandbox, root: &Path) -> Vec<serde_json::Value> {
    let out = sb.locus(root, &["audit", "--json"]);
    serde_json::from_str::<Vec<serde_json::Value>>(&stdout(&out)).unwrap()
}

#[test]
fn an_answer_leaves_never_send_and_excluded_files_out_of_every_part() {
    let server = Server::start(vec![Reply::sse(&openai_answer("It loads them."), 40)]);
    let sb = Sandbox::new();
    let root = gate_repo(&sb, &server, "");
    let q = "How do charge_card, note_taker and load_settings work together?";
    let out = sb.locus_env(
        &root,
        &[
            "ask",
            q,
            "--cloud",
            "--yes",
            "--exclude",
            "notes.py",
            "--file",
            "secrets/creds.py",
        ],
        &[KEY_ENV],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("left out: secrets/creds.py") && err.contains("with these files:"),
        "{err}"
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_clean(&sent);
    let body = &sent[0].body;
    assert!(body.contains("def load_settings"), "{body}");
    assert!(
        !body.contains("creds.py\\n") && !body.contains("notes.py\\n"),
        "no map line names a file that stays here: {body}"
    );
    let log = audit(&sb, &root);
    let files = log[0]["files"].as_array().unwrap();
    assert!(
        files.contains(&serde_json::json!("settings.py")),
        "{files:?}"
    );
    assert!(
        !files.iter().any(|f| {
            let f = f.as_str().unwrap();
            f.contains("creds") || f.contains("notes") || f.contains(".env")
        }),
        "{files:?}"
    );
}

/// The first reply's SEARCH misses (the matcher's feedback quotes the
/// closest lines, which hold a secret); the retry carries it redacted. A
/// reply that copies a redaction placeholder back is refused.
#[test]
fn an_edit_retry_carries_no_secret_and_a_placeholder_is_never_written() {
    let miss = "settings.py\n<<<<<<< SEARCH\nAWS_ACCESS_KEY_ID = \"[REDACTED:aws_access_key]\"\n\n\ndef load_settings():\n    return {\"debug\": None}\n=======\ndef load_settings():\n    return {\"debug\": True}\n>>>>>>> REPLACE\n";
    let hit = "settings.py\n<<<<<<< SEARCH\ndef load_settings():\n    return {\"debug\": False}\n=======\ndef load_settings():\n    return {\"debug\": True}\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![
        Reply::sse(&openai_answer(miss), 64),
        Reply::sse(&openai_answer(hit), 64),
    ]);
    let sb = Sandbox::new();
    let root = gate_repo(&sb, &server, "");
    let out = sb.locus_env(
        &root,
        &[
            "edit",
            "Turn debug on in load_settings",
            "--file",
            "settings.py",
            "--cloud",
            "--yes",
        ],
        &[KEY_ENV],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let sent = server.requests();
    assert_eq!(sent.len(), 2, "the first attempt and one retry");
    assert_clean(&sent);
    assert!(
        sent[1].body.contains("could not be applied"),
        "the retry holds the matcher's feedback: {}",
        sent[1].body
    );
    let now = std::fs::read_to_string(root.join("settings.py")).unwrap();
    assert!(
        now.contains("\"debug\": True") && now.contains("AKIAIOSFODNN7EXAMPLE"),
        "{now}"
    );
    assert_eq!(audit(&sb, &root).len(), 2, "each request is audited");

    let copy = "settings.py\n<<<<<<< SEARCH\ndef load_settings():\n    return {\"debug\": True}\n=======\ndef load_settings():\n    key = \"[REDACTED:aws_access_key]\"\n    return {\"debug\": True, \"key\": key}\n>>>>>>> REPLACE\n";
    let server = Server::start(vec![Reply::sse(&openai_answer(copy), 64)]);
    let sb2 = Sandbox::new();
    let root2 = gate_repo(&sb2, &server, "");
    std::fs::write(root2.join("settings.py"), &now).unwrap();
    let out = sb2.locus_env(
        &root2,
        &[
            "edit",
            "Return the key too",
            "--file",
            "settings.py",
            "--cloud",
            "--yes",
        ],
        &[KEY_ENV],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("redaction placeholder"),
        "{}",
        stderr(&out)
    );
    let after = std::fs::read_to_string(root2.join("settings.py")).unwrap();
    assert_eq!(after, now, "nothing was written");
    assert_clean(&server.requests());
}

/// A local turn that read a never-send file, then cloud turns long enough
/// to need a summary: the summary request and the history carry neither
/// that file nor the secrets a local answer quoted.
#[test]
fn a_summarised_conversation_sends_only_what_was_approved() {
    let long = "The settings loader reads the module and returns a dict. ".repeat(40);
    let server = Server::start(vec![Reply::sse(&openai_answer(&long), 200)]);
    let sb = Sandbox::new();
    let root = gate_repo(&sb, &server, "window = 2048\nmax_output_tokens = 256\n");
    let model = test_model();
    let env = [KEY_ENV, ("LOCUS_MODEL", model.to_str().unwrap())];
    sb.write(
        "config/locus/config.toml",
        &format!(
            "{}\n[model]\ncontext = 2048\n\n[context]\nanswer_tokens = 24\n",
            std::fs::read_to_string(sb.path("config/locus/config.toml")).unwrap()
        ),
    );
    let out = sb.locus_env(
        &root,
        &[
            "ask",
            "Repeat secrets/creds.py and .env",
            "--file",
            "secrets/creds.py",
            "--file",
            ".env",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for i in 0..4 {
        let q = format!("Question {i}: what does load_settings return?");
        let out = sb.locus_env(&root, &["ask", &q, "--continue", "--cloud", "--yes"], &env);
        assert!(out.status.success(), "turn {i}: {}", stderr(&out));
    }
    let sent = server.requests();
    assert!(
        sent.iter()
            .any(|r| r.body.contains("Summarise the conversation")),
        "a summary was requested: {} requests",
        sent.len()
    );
    assert!(
        sent.iter()
            .any(|r| r.body.contains("answer withheld: it drew on")),
        "the local turn's answer stayed home"
    );
    assert_clean(&sent);
}

#[test]
fn a_commit_message_leaves_never_send_files_and_secrets_home() {
    let server = Server::start(vec![Reply::sse(&openai_answer("Turn on debug"), 40)]);
    let sb = Sandbox::new();
    let root = gate_repo(&sb, &server, "");
    std::fs::write(root.join("settings.py"), SETTINGS.replace("False", "True")).unwrap();
    std::fs::write(root.join(".env"), "DB_PASS=Xk9mQ2vL8pR4wZ\nMORE=1\n").unwrap();
    git(&root, &["add", "-A"]);
    let out = sb.locus_env(&root, &["commit", "--cloud"], &[KEY_ENV]);
    assert_eq!(out.status.code(), Some(1), "no --yes, nothing sent");
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert!(server.requests().is_empty());
    let out = sb.locus_env(&root, &["commit", "--cloud", "--yes"], &[KEY_ENV]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_clean(&sent);
    assert!(
        !sent[0].body.contains("MORE=1") && !sent[0].body.contains(".env"),
        "{}",
        sent[0].body
    );
    assert!(sent[0].body.contains("debug"), "{}", sent[0].body);
    let subject = git(&root, &["log", "-1", "--format=%s"]);
    assert_eq!(subject.trim(), "Turn on debug");
    let files: Vec<String> = audit(&sb, &root)[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, ["settings.py"]);
}
