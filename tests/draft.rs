//! Speculative decoding with prompt lookup: the reply is the one plain
//! decoding gives, token for token, on the real small model and on the tiny
//! Gemma 4 (whose 16-token window every run here crosses many times), with
//! drafts rejected and rolled back along the way, after the prefix cache
//! served part of the prompt, and through `locus generate --draft`.

use std::path::PathBuf;

use candle_core::Device;
use locus::model::local::{DraftConfig, DraftKind, GenerateRequest, LocalModel, SamplerConfig};
use locus::model::{Cancel, Event, GenStats};
use serde_json::Value;

use crate::util::{Sandbox, stderr, test_model};

/// Code that repeats itself with variations: what an edit's reply copies.
fn code() -> String {
    let mut s = String::new();
    for i in 0..12 {
        s.push_str(&format!(
            "def handler_{i}(request, retries={i}):\n    \"\"\"Serve request {i}.\"\"\"\n    for attempt in range(retries):\n        response = request.send(timeout={})\n        if response.ok:\n            return response.json()\n    raise TimeoutError(\"handler_{i} gave up\")\n\n",
            i * 5 + 3
        ));
    }
    s
}

fn run(m: &LocalModel, tokens: &[u32], max: usize, draft: DraftConfig) -> (String, GenStats) {
    let req = GenerateRequest {
        tokens: tokens.to_vec(),
        max_tokens: max,
        sampler: SamplerConfig::default(),
        split_thinking: false,
        draft,
        stable_prefix: 0,
        media: Default::default(),
    };
    let mut text = String::new();
    let mut stats = None;
    m.generate(&req, &Cancel::new(), &mut |e| match e {
        Event::Text(t) => text.push_str(&t),
        Event::Done(s) => stats = Some(s),
        _ => {}
    })
    .unwrap();
    (text, stats.unwrap())
}

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf")
}

#[test]
fn lookup_drafting_gives_the_plain_reply_token_for_token() {
    for (path, name, max) in [
        (test_model(), "gemma3 270m", 160),
        (tiny(), "tiny gemma4", 120),
    ] {
        let plain_model = LocalModel::load(&path, &Device::Cpu).unwrap();
        let drafting = LocalModel::load(&path, &Device::Cpu).unwrap();
        let prompt = plain_model.encode_raw(&code()).unwrap();
        let (want, plain) = run(&plain_model, &prompt, max, DraftConfig::default());
        assert_eq!(plain.drafted_tokens, 0);
        // Several draft lengths, including one so long most drafts fail.
        for k in [1, 4, 16] {
            // A fresh cache each time: the prefix cache is tried below.
            let fresh = LocalModel::load(&path, &Device::Cpu).unwrap();
            let cfg = DraftConfig {
                max: k,
                ngram_min: 1,
                ..DraftConfig::lookup()
            };
            let (got, s) = run(&fresh, &prompt, max, cfg.clone());
            assert_eq!(got, want, "{name}, drafts of {k}: the reply changed");
            assert_eq!(s.generated_tokens, plain.generated_tokens, "{name}");
            assert_eq!(s.finish, plain.finish, "{name}");
            assert!(s.drafted_tokens > 0, "{name}, k={k}: nothing was drafted");
            assert!(s.accepted_tokens <= s.drafted_tokens);
            if k == 16 {
                assert!(
                    s.accepted_tokens < s.drafted_tokens,
                    "{name}: no draft was ever rejected ({s:?}), so no rollback was tried"
                );
            }
        }
        // A follow-up on the same model: the prefix cache serves the prompt
        // (and what the drafts left in the cache is cut back first).
        let mut longer = prompt.clone();
        longer.extend(
            drafting
                .encode_raw("\n# and once more\n")
                .unwrap()
                .iter()
                .skip(1),
        );
        let (_, first) = run(&drafting, &prompt, max, DraftConfig::lookup());
        assert_eq!(first.reused_prefix_tokens, 0);
        let (got, s) = run(&drafting, &longer, max, DraftConfig::lookup());
        assert!(s.reused_prefix_tokens >= prompt.len() - 1, "{name}: {s:?}");
        let fresh = LocalModel::load(&path, &Device::Cpu).unwrap();
        let (want, _) = run(&fresh, &longer, max, DraftConfig::default());
        assert_eq!(got, want, "{name}: after the prefix cache");
    }
}

#[test]
fn sampled_drafting_runs_and_a_repetitive_reply_is_mostly_drafted() {
    let m = LocalModel::load(&test_model(), &Device::Cpu).unwrap();
    let prompt = m.encode_raw(&code()).unwrap();
    let req = GenerateRequest {
        tokens: prompt,
        max_tokens: 80,
        sampler: SamplerConfig {
            temperature: 0.7,
            ..SamplerConfig::default()
        },
        split_thinking: false,
        draft: DraftConfig::lookup(),
        stable_prefix: 0,
        media: Default::default(),
    };
    let mut stats = None;
    let mut text = String::new();
    m.generate(&req, &Cancel::new(), &mut |e| match e {
        Event::Text(t) => text.push_str(&t),
        Event::Done(s) => stats = Some(s),
        _ => {}
    })
    .unwrap();
    let s = stats.unwrap();
    assert!(s.generated_tokens > 0 && !text.is_empty());
    assert!(s.drafted_tokens > 0, "{s:?}");
    // Greedy on this prompt, the base model continues the pattern: most of
    // its reply is drafted and kept.
    let (_, g) = run(
        &m,
        &m.encode_raw(&code()).unwrap(),
        120,
        DraftConfig::lookup(),
    );
    assert!(
        g.accepted_tokens * 2 >= g.generated_tokens,
        "fewer than half the tokens came from drafts: {g:?}"
    );
}

#[test]
fn generate_draft_flags_and_json_stats() {
    let sb = Sandbox::new();
    let model = test_model();
    let m = model.to_str().unwrap();
    let prompt = code();
    let out = |draft: &str| -> Value {
        let o = sb.locus(
            &sb.work(),
            &[
                "generate",
                "--model",
                m,
                "--raw",
                "--prompt",
                &prompt,
                "--max-tokens",
                "40",
                "--json",
                "--draft",
                draft,
                "--draft-max",
                "6",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let plain = out("none");
    let drafted = out("lookup");
    assert_eq!(plain["text"], drafted["text"]);
    assert_eq!(plain["drafted_tokens"], 0);
    assert!(drafted["drafted_tokens"].as_u64().unwrap() > 0, "{drafted}");
    assert!(
        drafted["accepted_tokens"].as_u64().unwrap() > 0,
        "{drafted}"
    );
    // No assistant for the 270M: drafting is off, and said.
    let o = sb.locus(
        &sb.work(),
        &[
            "generate",
            "--model",
            m,
            "--prompt",
            "hi",
            "--max-tokens",
            "4",
            "--draft",
            "mtp",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no Gemma 4 assistant"),
        "{}",
        stderr(&o)
    );
    let o = sb.locus(
        &sb.work(),
        &[
            "generate", "--model", m, "--prompt", "hi", "--draft", "bogus",
        ],
    );
    assert!(!o.status.success());
}

fn assistant() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4-assistant.gguf")
}

/// The tiny random assistant (scripts/make-tiny-gemma4-assistant.py) drafts
/// for the tiny Gemma 4: the reply is the plain one, token for token, across
/// the window and after rejections; an assistant that does not pair with
/// the model is refused with a reason.
#[test]
fn mtp_drafting_gives_the_plain_reply_token_for_token() {
    let plain = LocalModel::load(&tiny(), &Device::Cpu).unwrap();
    let prompt = plain.encode_raw(&code()).unwrap();
    let (want, p) = run(&plain, &prompt, 100, DraftConfig::default());
    for k in [1, 3, 8] {
        let mut m = LocalModel::load(&tiny(), &Device::Cpu).unwrap();
        m.load_assistant(&assistant()).unwrap();
        assert!(m.has_assistant());
        let cfg = DraftConfig {
            kind: DraftKind::Mtp,
            max: k,
            ..DraftConfig::default()
        };
        let (got, s) = run(&m, &prompt, 100, cfg.clone());
        assert_eq!(got, want, "drafts of {k}: the reply changed");
        assert_eq!(s.generated_tokens, p.generated_tokens);
        assert!(
            s.drafted_tokens > 0,
            "k={k}: the assistant drafted nothing: {s:?}"
        );
        // A follow-up through the prefix cache drafts too, and still agrees.
        let (again, s2) = run(&m, &prompt, 100, cfg);
        assert_eq!(again, want);
        assert!(
            s2.reused_prefix_tokens > 0 && s2.drafted_tokens > 0,
            "{s2:?}"
        );
    }
    // Without an assistant, --draft mtp drafts nothing (and changes nothing).
    let (got, s) = run(
        &plain,
        &prompt,
        40,
        DraftConfig {
            kind: DraftKind::Mtp,
            ..DraftConfig::default()
        },
    );
    assert!(want.starts_with(&got) && s.drafted_tokens == 0);
    // The Gemma 3 270M is 640 wide: this assistant drafts for 64.
    let mut other = LocalModel::load(&test_model(), &Device::Cpu).unwrap();
    let err = other.load_assistant(&assistant()).unwrap_err().to_string();
    assert!(err.contains("drafts for a model 64 wide"), "{err}");
    // Nor is a model an assistant.
    let err = other.load_assistant(&test_model()).unwrap_err().to_string();
    assert!(err.contains("not a Gemma 4 MTP assistant"), "{err}");
}

#[test]
fn generate_drafts_with_the_assistant_it_finds_or_is_given() {
    let sb = Sandbox::new();
    // The tiny model alone in a folder, then with its assistant beside it.
    let dir = sb.path("models");
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("tiny-gemma4.gguf");
    std::fs::copy(tiny(), &model).unwrap();
    let m = model.to_str().unwrap();
    let generate = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--model",
            m,
            "--raw",
            "--prompt",
            "def f(x):\n    return x",
            "--max-tokens",
            "30",
            "--json",
        ];
        args.extend_from_slice(extra);
        sb.locus(&sb.work(), &args)
    };
    // Without one, MTP drafting is off: said, and the plain reply.
    let plain: Value = serde_json::from_slice(&generate(&[]).stdout).unwrap();
    let o = generate(&["--draft", "mtp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no Gemma 4 assistant"),
        "{}",
        stderr(&o)
    );
    let off: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(off["text"], plain["text"]);
    assert_eq!(off["drafted_tokens"], 0);
    let a = assistant();
    let o = generate(&["--draft", "mtp", "--drafter", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let given: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(given["text"], plain["text"]);
    assert!(given["drafted_tokens"].as_u64().unwrap() > 0, "{given}");
    std::fs::copy(&a, dir.join("tiny-gemma4-assistant.gguf")).unwrap();
    let o = generate(&["--draft", "mtp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let found: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(found["text"], plain["text"]);
    assert_eq!(found["drafted_tokens"], given["drafted_tokens"]);
    // Not an assistant: refused with a reason.
    let o = generate(&["--draft", "mtp", "--drafter", m]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a Gemma 4 MTP assistant"),
        "{}",
        stderr(&o)
    );
}
