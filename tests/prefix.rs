//! The prefix cache in real conversations: a follow-up question keeps the
//! system prompt (repository map, pinned files) computed even when the
//! previous turn's files and reply ran on far past what a sliding layer
//! keeps, and what it answers is what a fresh model answers.

use candle_core::Device;
use locus::model::chat::{ChatModel, ChatRequest, ReplyKind};
use locus::model::local::{LocalChat, LocalModel};
use locus::model::{Cancel, Event, GenStats, Message, Role};

use crate::util::test_model;

fn chat(m: &LocalChat, messages: &[Message]) -> (String, GenStats) {
    let mut text = String::new();
    let mut stats = None;
    m.chat(
        &ChatRequest {
            messages,
            max_tokens: 40,
            temperature: 0.0,
            files: &[],
            tools: &[],
            kind: ReplyKind::Answer,
        },
        &Cancel::new(),
        &mut |e| match e {
            Event::Text(t) => text.push_str(&t),
            Event::Done(s) => stats = Some(s),
            _ => {}
        },
    )
    .unwrap();
    (text, stats.unwrap())
}

/// A system prompt as a session builds one: instructions and a map.
fn system() -> String {
    let mut s = String::from(
        "You answer questions about this repository.\n\n# Repository map (the most relevant files and their definitions)\n",
    );
    for i in 0..40 {
        s.push_str(&format!(
            "src/module_{i}.py:\n  class Handler{i}\n  def serve_{i}(request, retries)\n"
        ));
    }
    s
}

/// A turn's own parts: far more than a sliding layer keeps (512 + 1024
/// positions on this model).
fn files(tag: &str) -> String {
    (0..60)
        .map(|i| {
            format!("# src/{tag}_{i}.py\ndef f_{i}(x):\n    return x * {i} + len('{tag}')\n\n")
        })
        .collect()
}

/// A turn's own parts when only the snapshot matters (a third of `files`:
/// each of this test's seven prefills is then about half as long).
fn few_files(tag: &str) -> String {
    files(tag)
        .split("\n\n")
        .take(20)
        .map(|f| f.to_string() + "\n\n")
        .collect()
}

fn tokens(m: &LocalChat, messages: &[Message]) -> usize {
    m.prompt_tokens(messages)
}

#[test]
fn a_follow_up_resumes_after_the_system_prompt_and_answers_as_a_fresh_model() {
    let load = || LocalChat::new(LocalModel::load(&test_model(), &Device::Cpu).unwrap(), 8192);
    let m = load();
    let sys = Message::new(Role::System, system());
    let first = vec![
        sys.clone(),
        Message::new(
            Role::User,
            format!("{}\nWhat does f_3 return?", files("alpha")),
        ),
    ];
    let stable = tokens(&m, std::slice::from_ref(&sys));
    assert!(
        tokens(&m, &first) - stable > 1600,
        "the first turn runs past the sliding window and its slack"
    );
    let (answer, s1) = chat(&m, &first);
    assert_eq!(s1.reused_prefix_tokens, 0);
    // The follow-up as a session sends it: the earlier question and answer
    // as history, the new turn's own files, the new question.
    let second = vec![
        sys.clone(),
        Message::new(Role::User, "What does f_3 return?"),
        Message::new(Role::Assistant, answer),
        Message::new(Role::User, format!("{}\nAnd f_7?", files("beta"))),
    ];
    let (got, s2) = chat(&m, &second);
    assert!(
        s2.reused_prefix_tokens + 8 >= stable,
        "the follow-up reused {} tokens; the system prompt is about {stable}",
        s2.reused_prefix_tokens
    );
    assert_eq!(s2.reused_prefix_from, "memory");
    let (want, fresh) = chat(&load(), &second);
    assert_eq!(fresh.reused_prefix_tokens, 0);
    assert_eq!(
        got, want,
        "resumed from the checkpoint, the answer is a fresh model's"
    );
    // And a third turn, which shares the second's history too, reuses more.
    let mut third = second.clone();
    third.push(Message::new(Role::Assistant, got));
    third.push(Message::new(Role::User, "And f_9?"));
    let (_, s3) = chat(&m, &third);
    assert!(s3.reused_prefix_tokens >= stable, "{s3:?}");
}

fn request(m: &LocalChat, messages: &[Message]) -> (String, GenStats) {
    chat(m, messages)
}

#[test]
fn a_snapshot_saved_by_one_model_resumes_the_next_and_bad_ones_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let kv = dir.path().join("kv");
    let load = |store: bool| {
        let m = LocalChat::new(LocalModel::load(&test_model(), &Device::Cpu).unwrap(), 8192);
        if store { m.snapshots(&kv, 1 << 30) } else { m }
    };
    let sys = Message::new(Role::System, system());
    let messages = vec![
        sys.clone(),
        Message::new(
            Role::User,
            format!("{}\nWhat does f_3 return?", few_files("gamma")),
        ),
    ];
    let stable = tokens(&load(false), &[sys]);
    let (want, fresh) = request(&load(false), &messages);
    assert_eq!(fresh.reused_prefix_tokens, 0);
    {
        let (got, s) = request(&load(true), &messages);
        assert_eq!((got, s.reused_prefix_tokens), (want.clone(), 0));
        // Dropping the model waits for the snapshot being written.
    }
    let saved: Vec<_> = std::fs::read_dir(&kv)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let (got, s) = request(&load(true), &messages);
    assert_eq!(s.reused_prefix_from, "disk", "{s:?}");
    assert!(s.snapshot_load_ms > 0.0, "{s:?}");
    assert!(
        s.reused_prefix_tokens + 8 >= stable,
        "{s:?}, stable {stable}"
    );
    assert_eq!(
        got, want,
        "resumed from disk, the answer is a fresh prefill's"
    );
    // Truncated: ignored (a full prefill), removed, and saved again whole.
    let bytes = std::fs::read(&saved[0]).unwrap();
    std::fs::write(&saved[0], &bytes[..bytes.len() / 2]).unwrap();
    {
        let (got, s) = request(&load(true), &messages);
        assert_eq!((got, s.reused_prefix_tokens), (want.clone(), 0));
    }
    assert_eq!(std::fs::read(&saved[0]).unwrap().len(), bytes.len());
    let (_, s) = request(&load(true), &messages);
    assert_eq!(s.reused_prefix_from, "disk");
    // Turned off: nothing read.
    let off = LocalChat::new(LocalModel::load(&test_model(), &Device::Cpu).unwrap(), 8192)
        .snapshots(&kv, 0);
    assert_eq!(request(&off, &messages).1.reused_prefix_tokens, 0);
}

#[test]
fn ask_in_a_new_process_reads_the_snapshot_the_last_one_saved() {
    let sb = crate::util::Sandbox::new();
    let root = sb.path("work/proj");
    crate::util::git_init(&root);
    for i in 0..30 {
        std::fs::write(
            root.join(format!("mod{i}.py")),
            format!("def helper_{i}(x):\n    \"\"\"Add {i}.\"\"\"\n    return x + {i}\n"),
        )
        .unwrap();
    }
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        "[context]\nanswer_tokens = 16\n\n[model]\ncontext = 2048\n",
    )
    .unwrap();
    let m = test_model();
    let ask = |q: &str, more: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "ask",
            q,
            "--json",
            "--no-tools",
            "--model",
            m.to_str().unwrap(),
        ];
        args.extend_from_slice(more);
        let o = sb.locus(&root, &args);
        assert!(o.status.success(), "{}", crate::util::stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let first = ask("What does helper_3 return?", &[]);
    assert_eq!(first["stats"]["reused_prefix_tokens"], 0, "{first}");
    let second = ask("And helper_4?", &["--continue"]);
    assert_eq!(second["stats"]["reused_prefix_from"], "disk", "{second}");
    assert_eq!(second["reused_prefix_from"], "disk", "{second}");
    assert_eq!(
        second["reused_prefix_tokens"],
        second["stats"]["reused_prefix_tokens"]
    );
    // An edit's reply is drafted from the prompt (the base model echoes it,
    // so most of it is), and it reads the snapshot too.
    let o = sb.locus(
        &root,
        &[
            "edit",
            "Add a docstring to helper_5",
            "--json",
            "--no-tools",
            // Enough to draft from the echoed prompt; unbounded, the base
            // model echoes 1,024 tokens (three minutes of a debug build).
            "--max-tokens",
            "64",
            "--model",
            m.to_str().unwrap(),
        ],
    );
    let edit: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", crate::util::stderr(&o)));
    assert!(
        edit["stats"]["drafted_tokens"].as_u64().unwrap() > 0,
        "{edit}"
    );
    assert!(
        edit["stats"]["accepted_tokens"].as_u64().is_some(),
        "{edit}"
    );
    assert!(
        second["stats"]["reused_prefix_tokens"].as_u64().unwrap() > 64,
        "{second}"
    );
}
