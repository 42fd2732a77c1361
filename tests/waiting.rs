//! What the user waits on, seen: the runtime reports how far it has read a
//! prompt (the TUI's status bar and headless stderr show it), a cancelled
//! request reports no made-up rate, and `generate` reports the model's load
//! apart from the time to the first token.

use std::path::PathBuf;

use candle_core::Device;
use locus::model::local::{GenerateRequest, LocalModel, SamplerConfig};
use locus::model::{Cancel, Event, GenStats};
use locus::tui::app::{App, Report};

use crate::util::{Sandbox, stderr, stdout};

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf")
}

fn run(m: &LocalModel, n: usize, cancel: &Cancel) -> (Vec<(usize, usize)>, GenStats) {
    let req = GenerateRequest {
        tokens: (0..n as u32).map(|i| 20 + i % 200).collect(),
        max_tokens: 4,
        sampler: SamplerConfig::default(),
        split_thinking: false,
        draft: Default::default(),
        stable_prefix: 0,
        media: Default::default(),
    };
    let (mut prefill, mut stats) = (Vec::new(), None);
    m.generate(&req, cancel, &mut |e| match e {
        Event::Prefill { done, total } => prefill.push((done, total)),
        Event::Done(s) => stats = Some(s),
        _ => {}
    })
    .unwrap();
    (prefill, stats.unwrap())
}

#[test]
fn the_runtime_says_how_far_it_has_read_and_a_cancel_makes_up_no_rate() {
    let m = LocalModel::load(&tiny(), &Device::Cpu).unwrap();
    let (prefill, stats) = run(&m, 700, &Cancel::new());
    assert_eq!(prefill.first(), Some(&(0, 700)));
    assert_eq!(prefill.last(), Some(&(700, 700)));
    assert!(prefill.len() >= 4, "one report per chunk: {prefill:?}");
    assert!(prefill.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(stats.prefill_tokens_per_s > 0.0);
    // A follow-up sharing the prefix starts from what is cached.
    let (again, _) = run(&m, 720, &Cancel::new());
    assert!(again[0].0 >= 690, "{again:?}");

    let cancel = Cancel::new();
    cancel.cancel();
    let fresh = LocalModel::load(&tiny(), &Device::Cpu).unwrap();
    let (_, stats) = run(&fresh, 700, &cancel);
    assert_eq!(stats.finish, "cancelled");
    assert_eq!(stats.prefill_tokens_per_s, 0.0, "nothing read, no rate");
}

#[test]
fn the_status_bar_shows_the_reading_until_the_answer_starts() {
    let mut app = App::new();
    app.report(Report::Prefill {
        done: 0,
        total: 4800,
    });
    app.report(Report::Prefill {
        done: 256,
        total: 4800,
    });
    let reading = app.status.reading.clone().unwrap();
    assert!(
        reading.starts_with("reading the prompt: 256/4800 tokens"),
        "{reading}"
    );
    app.report(Report::Token("Hi".into()));
    assert_eq!(app.status.reading, None);
}

#[test]
fn generate_reports_the_load_apart_from_the_first_token() {
    let sb = Sandbox::new();
    let out = sb.locus(
        &sb.path(""),
        &[
            "generate",
            "--model",
            tiny().to_str().unwrap(),
            "--prompt",
            "the fn",
            "--max-tokens",
            "4",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["load_ms"].as_f64().unwrap() > 0.0, "{v}");
    let out = sb.locus(
        &sb.path(""),
        &[
            "generate",
            "--model",
            tiny().to_str().unwrap(),
            "--prompt",
            "the fn",
            "--max-tokens",
            "4",
        ],
    );
    assert!(stderr(&out).contains("model loaded in"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ms with the load"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_meter_says_rate_and_what_is_left() {
    let mut m = locus::session::PrefillMeter::default();
    assert_eq!(
        m.line(100, 1000),
        "reading the prompt: 100/1000 tokens · 0 tok/s · 0 s"
    );
    std::thread::sleep(std::time::Duration::from_millis(120));
    let l = m.line(400, 1000);
    assert!(l.contains("400/1000") && l.contains("s left"), "{l}");
    // A new request starts the clock over.
    assert!(m.line(0, 50).contains("0 tok/s"));
}
