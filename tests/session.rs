//! The conversation core: what goes into the prompt (on a fixture repo, under
//! every budget, byte-stable across turns), the ask and edit loops with a
//! scripted model (retry, failure advice, summaries that fit) and with the
//! real small model (the prefix cache hit on a follow-up), and sessions saved
//! and resumed.

use std::path::{Path, PathBuf};

use locus::config::{ContextSettings, PrivacySettings};
use locus::context::PartKind;
use locus::edit::PathGuard;
use locus::index::Index;
use locus::model::Cancel;
use locus::model::chat::{ChatModel, ScriptedModel};
use locus::model::local::{LocalChat, LocalModel};
use locus::session::{ASK_SYSTEM, Session};
use locus::tokens::EstimateCounter;

use crate::util::{Sandbox, git_init, stderr, stdout, test_model};

const CONFIG_PY: &str = "\
import json


def parse_config(path):
    \"\"\"Read the config file; missing keys get defaults.\"\"\"
    with open(path) as f:
        data = json.load(f)
    data.setdefault(\"port\", 8080)
    return data
";

/// A small Python project: `parse_config` defined in config.py, used by app.py and cli.py.
fn project(sb: &Sandbox) -> PathBuf {
    let root = sb.path("work/proj");
    git_init(&root);
    let files = [
        ("config.py", CONFIG_PY.to_string()),
        ("app.py", "from config import parse_config\n\n\ndef start_server(path):\n    cfg = parse_config(path)\n    return cfg[\"port\"]\n".to_string()),
        ("cli.py", "from config import parse_config\n\n\ndef main(argv):\n    print(parse_config(argv[1]))\n".to_string()),
        ("util.py", "def unrelated():\n    return 42\n".to_string()),
        ("AGENTS.md", "Use type hints in new code.\n".to_string()),
    ];
    for (p, t) in files {
        std::fs::write(root.join(p), t).unwrap();
    }
    for i in 0..40 {
        std::fs::write(
            root.join(format!("mod{i}.py")),
            format!("def helper_{i}(x):\n    return x + {i}\n"),
        )
        .unwrap();
    }
    root
}

fn index(root: &Path) -> Index {
    crate::util::index_of(root)
}

fn detached() -> Session {
    Session::detached(ContextSettings::default())
}

#[test]
fn a_named_function_brings_its_file_and_its_callers_signatures() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let ctx = detached().context(
        &idx,
        &root,
        ASK_SYSTEM,
        "How does parse_config handle missing keys?",
        &[],
        3000,
        &EstimateCounter,
    );
    let kinds: Vec<(PartKind, Option<&str>)> = ctx
        .parts
        .iter()
        .map(|p| (p.kind, p.path.as_deref()))
        .collect();
    assert_eq!(kinds[0], (PartKind::System, None));
    assert!(
        kinds.contains(&(PartKind::Instructions, Some("AGENTS.md"))),
        "{kinds:?}"
    );
    assert!(kinds.contains(&(PartKind::RepoMap, None)), "{kinds:?}");
    assert!(
        kinds.contains(&(PartKind::File, Some("config.py"))),
        "{kinds:?}"
    );
    let callers: Vec<&locus::context::Part> = ctx
        .parts
        .iter()
        .filter(|p| p.kind == PartKind::Signature)
        .collect();
    let caller_files: Vec<&str> = callers.iter().filter_map(|p| p.path.as_deref()).collect();
    assert!(
        caller_files.contains(&"app.py") && caller_files.contains(&"cli.py"),
        "{kinds:?}"
    );
    let app = callers
        .iter()
        .find(|p| p.path.as_deref() == Some("app.py"))
        .unwrap();
    assert_eq!(app.lines, Some([4, 4]));
    assert!(app.text.contains("def start_server(path):"), "{}", app.text);
    assert!(
        !kinds
            .iter()
            .any(|k| k.1 == Some("util.py") && k.0 == PartKind::File)
    );
    let text = ctx.messages().last().unwrap().content.clone();
    assert!(text.ends_with("How does parse_config handle missing keys?"));
    assert!(text.contains("data.setdefault(\"port\", 8080)"));
}

#[test]
fn the_budget_is_never_exceeded() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let history: Vec<(String, String)> = (0..6)
        .map(|i| {
            (
                format!("question {i} about parse_config {}", "x ".repeat(100)),
                "answer ".repeat(80),
            )
        })
        .collect();
    // Six earlier turns compete for the room too.
    let mut s = detached();
    s.turns = history
        .into_iter()
        .map(|(sent, answer)| locus::session::Turn {
            files: Vec::new(),
            kind: "ask".into(),
            question: sent.clone(),
            sent,
            answer,
            placement: locus::model::chat::Placement::Local { model: "m".into() },
            time: 0,
            stats: None,
            sources: vec![],
            attachments: vec![],
        })
        .collect();
    for budget in [200, 400, 700, 1000, 1500, 2500, 4000, 8000] {
        for pinned in [vec![], vec!["config.py".to_string(), "app.py".to_string()]] {
            let ctx = s.context(
                &idx,
                &root,
                ASK_SYSTEM,
                "Where is parse_config called from and why?",
                &pinned,
                budget,
                &EstimateCounter,
            );
            let counted: usize = ctx
                .messages()
                .iter()
                .map(|m| locus::tokens::TokenCounter::count(&EstimateCounter, &m.content) + 6)
                .sum::<usize>()
                + 2;
            assert_eq!(counted, ctx.total_tokens);
            assert!(
                ctx.total_tokens <= budget,
                "budget {budget}: {} tokens",
                ctx.total_tokens
            );
        }
    }
    let roomy = s.context(&idx, &root, ASK_SYSTEM, "Why?", &[], 8000, &EstimateCounter);
    assert!(
        roomy.parts.iter().any(|p| p.kind == PartKind::History),
        "history is part of the prompt when it fits"
    );
}

#[test]
fn rendering_is_byte_stable_across_turns_and_history_extends_the_prompt() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let state = sb.path("state/sessions");
    let model = ScriptedModel::new(
        [
            "parse_config is in config.py:4 and sets a default port (config.py:8). See also nope.py:3.",
            "start_server at app.py:4 calls it.",
        ],
        4096,
    );
    let mut s = Session::create(&state, &root, ContextSettings::default()).unwrap();
    let pinned = vec!["config.py".to_string()];
    let a1 = s
        .ask(
            &model,
            &idx,
            &root,
            "What does parse_config do?",
            &pinned,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(a1.sources.len(), 3);
    assert!(
        a1.sources[0].exists && a1.sources[1].exists && !a1.sources[2].exists,
        "{:?}",
        a1.sources
    );
    assert_eq!(
        (a1.sources[0].path.as_str(), a1.sources[0].line),
        ("config.py", 4)
    );
    let a2 = s
        .ask(
            &model,
            &idx,
            &root,
            "Who calls it?",
            &pinned,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(a2.sources[0].path, "app.py");
    let reqs = model.requests();
    assert_eq!(reqs.len(), 2);
    // The second prompt starts with exactly the first one, then the first answer.
    assert_eq!(
        reqs[1][0], reqs[0][0],
        "the stable system part is byte-identical"
    );
    assert_eq!(
        reqs[1][1], reqs[0][1],
        "the first turn is re-sent as it was sent"
    );
    assert_eq!(reqs[1][2].content, a1.text);
    assert!(reqs[1][3].content.ends_with("Who calls it?"));

    // Saved and resumed: the same turns, and a third ask continues them.
    let resumed = Session::open(&state, None, ContextSettings::default()).unwrap();
    assert_eq!(resumed.id, s.id);
    assert_eq!(resumed.turns.len(), 2);
    assert_eq!(resumed.turns, s.turns);
    assert_eq!(resumed.turns[0].sources, a1.sources);
    let list = locus::session::list(&state).unwrap();
    assert_eq!(
        (list.len(), list[0].turns, list[0].first.as_str()),
        (1, 2, "What does parse_config do?")
    );
}

#[test]
fn edit_loop_retries_once_with_feedback_then_advises_escalation() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let guard = PathGuard::new(
        &root,
        PrivacySettings::default().never_touch_rules().unwrap(),
    )
    .unwrap();
    let bad = "config.py\n<<<<<<< SEARCH\n    data.setdefault(\"host\", 1)\n=======\n    data.setdefault(\"port\", 9090)\n>>>>>>> REPLACE\n";
    let good = "config.py\n<<<<<<< SEARCH\n    data.setdefault(\"port\", 8080)\n=======\n    data.setdefault(\"port\", 9090)\n>>>>>>> REPLACE\n";
    let model = ScriptedModel::new([bad, good], 4096);
    let mut s = Session::create(&sb.path("state/s"), &root, ContextSettings::default()).unwrap();
    let out = s
        .edit(
            &model,
            &idx,
            &guard,
            &root,
            "Change the default port in parse_config to 9090",
            &[],
            None,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(
        out.proposal.failures.is_empty(),
        "{:?}",
        out.proposal.failures
    );
    assert_eq!(out.proposal.changes.files[0].path, "config.py");
    assert_eq!(out.replies.len(), 2);
    assert!(out.advice.is_none());
    let reqs = model.requests();
    let feedback = &reqs[1].last().unwrap().content;
    assert!(
        feedback.contains("config.py: the SEARCH block at reply line 2 matches nothing"),
        "{feedback}"
    );
    assert!(
        feedback.contains("data.setdefault(\"port\", 8080)"),
        "the closest lines are shown: {feedback}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("config.py")).unwrap(),
        CONFIG_PY,
        "nothing is written by the loop"
    );

    let model = ScriptedModel::new([bad, bad], 4096);
    let out = s
        .edit(
            &model,
            &idx,
            &guard,
            &root,
            "Change the default port in parse_config to 9090",
            &[],
            None,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(out.replies.len(), 2);
    assert!(!out.proposal.failures.is_empty());
    assert_eq!(
        out.advice,
        Some(locus::route::Reason::EditsFailedTwice { cloud: false })
    );
    let said = locus::route::advice(out.advice.as_ref().unwrap());
    assert!(
        said.contains("local model's edits failed") && said.contains("--cloud"),
        "{said}"
    );
    let said = locus::route::advice_in(
        &locus::route::Reason::EditsFailedTwice { cloud: true },
        &locus::route::Surface::Tui {
            key: "Ctrl-E".into(),
        },
    );
    assert!(
        !said.contains("local model") && !said.contains("--cloud"),
        "{said}"
    );
    let said = locus::route::advice_in(
        &locus::route::Reason::MarkedHard,
        &locus::route::Surface::Tui {
            key: "Ctrl-X".into(),
        },
    );
    assert!(
        said.contains("press Ctrl-X") && !said.contains("--cloud"),
        "{said}"
    );
}

#[test]
fn long_conversations_are_summarised_and_the_summary_request_fits() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let long = "parse_config reads JSON and fills defaults. ".repeat(40);
    let window = 1600;
    let model = ScriptedModel::from_fn(
        move |msgs| {
            if msgs[0].content.starts_with("Summarise") {
                "SUMMARY: talked about parse_config defaults in config.py.".to_string()
            } else {
                long.clone()
            }
        },
        window,
    );
    let mut s = Session::create(
        &sb.path("state/s"),
        &root,
        ContextSettings {
            answer_tokens: 200,
            ..ContextSettings::default()
        },
    )
    .unwrap();
    for i in 0..6 {
        s.ask(
            &model,
            &idx,
            &root,
            &format!("Question {i} about parse_config?"),
            &[],
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    }
    assert!(
        s.summary.as_deref().unwrap().starts_with("SUMMARY:"),
        "{:?}",
        s.summary
    );
    for r in model.requests() {
        assert!(
            model.prompt_tokens(&r) <= window,
            "every request fits the window: {}",
            model.prompt_tokens(&r)
        );
    }
    let summary_req = model
        .requests()
        .into_iter()
        .find(|r| r[0].content.starts_with("Summarise"))
        .unwrap();
    assert!(
        summary_req[1].content.contains("Developer: Question 0"),
        "{}",
        summary_req[1].content
    );
    let last = model.requests().pop().unwrap();
    assert!(
        last.iter()
            .any(|m| m.content.contains("SUMMARY: talked about")),
        "the summary replaces the old turns"
    );
    let resumed = Session::open(&sb.path("state/s"), None, ContextSettings::default()).unwrap();
    assert_eq!(resumed.summary, s.summary);
    assert_eq!(resumed.summarized, s.summarized);
}

#[test]
fn follow_up_with_the_real_small_model_reuses_the_prefix_cache() {
    let path = test_model();
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let model = LocalChat::new(
        LocalModel::load(&path, &candle_core::Device::Cpu).unwrap(),
        2048,
    );
    let settings = ContextSettings {
        answer_tokens: 12,
        ..ContextSettings::default()
    };
    let mut s = Session::create(&sb.path("state/s"), &root, settings).unwrap();
    let a1 = s
        .ask(
            &model,
            &idx,
            &root,
            "What does parse_config return?",
            &[],
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(
        a1.stats.prompt_tokens > 100 && a1.stats.generated_tokens > 0,
        "{:?}",
        a1.stats
    );
    let a2 = s
        .ask(
            &model,
            &idx,
            &root,
            "And who calls it?",
            &[],
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(
        a2.stats.reused_prefix_tokens >= a1.stats.prompt_tokens,
        "the whole first prompt is reused: {} of {} (first prompt {})",
        a2.stats.reused_prefix_tokens,
        a2.stats.prompt_tokens,
        a1.stats.prompt_tokens
    );
    assert_eq!(
        a2.placement.to_string(),
        format!("local: {}", model.model.name)
    );
}

#[test]
fn cli_context_ask_and_sessions() {
    let model = test_model();
    let sb = Sandbox::new();
    let root = project(&sb);
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        "[context]\nanswer_tokens = 16\n\n[model]\ncontext = 2048\n",
    )
    .unwrap();
    let m = model.to_str().unwrap();
    let out = sb.locus(
        &root,
        &[
            "context",
            "How does parse_config work?",
            "--tokens",
            "1200",
            "--json",
            "--model",
            m,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["budget"], 1200);
    assert!(v["total_tokens"].as_u64().unwrap() <= 1200);
    let parts = v["parts"].as_array().unwrap();
    assert_eq!(parts[0]["kind"], "system");
    for p in parts {
        let kind = p["kind"].as_str().unwrap();
        assert!(
            [
                "system",
                "instructions",
                "repo_map",
                "file",
                "snippet",
                "outline",
                "signature",
                "history"
            ]
            .contains(&kind)
        );
        assert!(p["tokens"].as_u64().unwrap() > 0);
        if kind == "snippet" {
            assert!(
                p["path"].is_string() && p["lines"].as_array().unwrap().len() == 2,
                "{p}"
            );
        }
        if kind == "file" {
            assert!(p["path"].is_string() && p.get("lines").is_none(), "{p}");
        }
    }
    assert!(
        parts
            .iter()
            .any(|p| p["kind"] == "file" && p["path"] == "config.py")
    );
    let text = stdout(&sb.locus(
        &root,
        &[
            "context",
            "How does parse_config work?",
            "--tokens",
            "1200",
            "--model",
            m,
        ],
    ));
    assert!(
        text.contains("File config.py") && text.contains("total"),
        "{text}"
    );

    let out = sb.locus(
        &root,
        &[
            "ask",
            "What does parse_config return?",
            "--json",
            "--model",
            m,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(!v["answer"].as_str().unwrap().is_empty());
    assert_eq!(v["placement"]["where"], "local");
    assert!(
        v["context"]["total_tokens"].as_u64().unwrap() <= v["context"]["budget"].as_u64().unwrap()
    );
    let out = sb.locus(
        &root,
        &["ask", "And who calls it?", "--continue", "--model", m],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).trim().is_empty());
    assert!(
        stderr(&out).contains("reused from the cache"),
        "{}",
        stderr(&out)
    );
    let list: serde_json::Value =
        serde_json::from_str(&stdout(&sb.locus(&root, &["sessions", "--json"]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["turns"], 2);
    let out = sb.locus(&root, &["ask", "x", "--session", "nope", "--model", m]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no saved session nope"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_selection_is_shown_with_the_request() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let mut s = detached();
    s.selection = Some(locus::context::Selection {
        path: "config.py".into(),
        start: 7,
        end: 8,
    });
    let ctx = s.context(
        &idx,
        &root,
        ASK_SYSTEM,
        "Is this right?",
        &[],
        3000,
        &EstimateCounter,
    );
    let sel = ctx
        .parts
        .iter()
        .find(|p| p.kind == PartKind::Snippet && p.path.as_deref() == Some("config.py"))
        .unwrap();
    assert_eq!(sel.lines, Some([7, 8]));
    assert!(
        sel.text.contains("data = json.load(f)") && sel.text.contains("setdefault"),
        "{}",
        sel.text
    );
    assert!(
        ctx.messages()
            .last()
            .unwrap()
            .content
            .contains("# Selected: config.py:7-8")
    );
}

/// A file the user removed from the context is not chosen, even where the
/// question names what it defines; a pinned one always is.
#[test]
fn removed_files_stay_out_and_pinned_ones_come_in() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let idx = index(&root);
    let mut s = detached();
    let q = "How does parse_config handle missing keys?";
    let files = |s: &Session, pinned: &[String]| -> Vec<String> {
        s.context(&idx, &root, ASK_SYSTEM, q, pinned, 3000, &EstimateCounter)
            .parts
            .iter()
            .filter(|p| matches!(p.kind, PartKind::File | PartKind::Snippet))
            .filter_map(|p| p.path.clone())
            .collect()
    };
    assert!(files(&s, &[]).contains(&"config.py".to_string()));
    s.excluded = vec!["config.py".into()];
    let without = files(&s, &["util.py".into()]);
    assert!(!without.contains(&"config.py".to_string()), "{without:?}");
    assert!(without.contains(&"util.py".to_string()), "{without:?}");
}
