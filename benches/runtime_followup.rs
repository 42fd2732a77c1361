//! Time to first token of a follow-up request that shares its beginning with
//! the previous one (the prefix cache), against the same request from a cold
//! cache. Prints one JSON object; scripts/bench-runtime tabulates it.
//!
//! usage: cargo bench --bench runtime_followup -- MODEL.gguf THREADS

use locus::model::local::{GenerateRequest, LocalModel, SamplerConfig};
use locus::model::{Cancel, Event, GenStats};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn run(m: &LocalModel, text: &str) -> GenStats {
    let req = GenerateRequest {
        tokens: m.encode_raw(text).unwrap(),
        max_tokens: 8,
        sampler: SamplerConfig::default(),
        split_thinking: false,
        draft: Default::default(),
        stable_prefix: 0,
        media: Default::default(),
    };
    let mut stats = None;
    m.generate(&req, &Cancel::new(), &mut |e| {
        if let Event::Done(s) = e {
            stats = Some(s)
        }
    })
    .unwrap();
    stats.unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let model = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "models/gemma-3-270m-q4_k_m.gguf".into());
    let threads: usize = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(0);
    locus::model::local::threads::init(threads);
    let body: String = (0..14)
        .map(|i| {
            format!(
                "def handler_{i}(request, db):\n    record = db.fetch('items', request.params['id'])\n    \
                 if record is None:\n        raise KeyError('no item %s' % request.params['id'])\n    \
                 record.count += {i}\n    db.save(record)\n    return record\n\n"
            )
        })
        .collect();
    let first = format!("{body}def handler_summary(request, db):\n");
    let follow = format!("{body}def handler_cleanup(request, db):\n");
    let m = LocalModel::load(std::path::Path::new(&model), &candle_core::Device::Cpu).unwrap();
    run(&m, &first);
    let cached = run(&m, &follow);
    let cold_model =
        LocalModel::load(std::path::Path::new(&model), &candle_core::Device::Cpu).unwrap();
    let cold = run(&cold_model, &follow);
    println!(
        "{}",
        serde_json::json!({
            "prompt_tokens": cold.prompt_tokens,
            "reused_prefix_tokens": cached.reused_prefix_tokens,
            "ttft_ms_cached": cached.ttft_ms,
            "ttft_ms_cold": cold.ttft_ms,
            "speedup": cold.ttft_ms / cached.ttft_ms,
        })
    );
}
