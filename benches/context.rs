//! Context building: choose and render the prompt for a question under a
//! 4k-token budget on a large tree (the repo map, the named definitions'
//! files and callers, instructions), with the estimate counter and with the
//! small model's real tokenizer when it has been fetched.
//!
//! A first turn starts from a prepared index (`Index::prepare`, which the
//! TUI runs while the model loads; its time is printed once).
//! The tree is `LOCUS_BENCH_REPO` (scripts/bench-index prepares one);
//! without it, this crate's own sources are used.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use locus::assets::Assets;
use locus::config::{ContextSettings, IndexSettings};
use locus::index::{Index, Progress};
use locus::model::local::gguf::Gguf;
use locus::model::local::tokenizer::GgufTokenizer;
use locus::session::{ASK_SYSTEM, Session};
use locus::tokens::{EstimateCounter, TokenCounter};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn context(c: &mut Criterion) {
    let root = std::env::var_os("LOCUS_BENCH_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let cache = tempfile::tempdir().unwrap();
    let index = Index::open(
        &root,
        &IndexSettings::default(),
        Assets::new(None),
        Some(cache.path()),
        &Progress::default(),
    )
    .unwrap()
    .0;
    // A question naming the most referenced defined name, as a user would ask about central code.
    let name = index
        .symbols()
        .defined()
        .map(|(id, _)| {
            (
                index.symbols().references(id).len(),
                index.names().name(id).to_string(),
            )
        })
        .filter(|(_, n)| n.len() > 4)
        .max()
        .map(|(_, n)| n)
        .unwrap();
    let question = format!("How is {name} used, and what would break if it changed?");
    let session = Session::detached(ContextSettings::default());
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/gemma-3-270m-q4_k_m.gguf");
    let tokenizer = Gguf::open(&model)
        .ok()
        .and_then(|g| GgufTokenizer::from_gguf(&g).ok());
    let mut counters: Vec<(&str, &dyn TokenCounter)> = vec![("estimate", &EstimateCounter)];
    if let Some(t) = &tokenizer {
        counters.push(("gemma_tokenizer", t));
    }
    // What a front end builds while the model loads (the ranking graph, the
    // lexical index, the unfocused map ranking), timed once.
    let start = std::time::Instant::now();
    index.prepare();
    eprintln!(
        "index prepared (graph, lexical index, unfocused ranking) in {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let _ = session.context(
        &index,
        &root,
        ASK_SYSTEM,
        &question,
        &[],
        4096,
        &EstimateCounter,
    );
    let mut g = c.benchmark_group("context_4k");
    for (label, counter) in counters {
        // A first turn: nothing kept from before (the repo map is ranked).
        g.bench_function(format!("first_turn_{label}"), |b| {
            b.iter(|| {
                let fresh = Session::detached(ContextSettings::default());
                let ctx = fresh.context(&index, &root, ASK_SYSTEM, &question, &[], 4096, counter);
                assert!(ctx.total_tokens <= 4096);
                ctx
            })
        });
        // A later turn in the same session: the stable repo map is reused.
        g.bench_function(format!("next_turn_{label}"), |b| {
            b.iter(|| {
                let ctx = session.context(&index, &root, ASK_SYSTEM, &question, &[], 4096, counter);
                assert!(ctx.total_tokens <= 4096);
                ctx
            })
        });
    }
    g.finish();
}

criterion_group!(benches, context);
criterion_main!(benches);
