//! A decode step allocates nothing: a counting global allocator around the
//! steps of the real small model and of the tiny Gemma 4, run the way
//! generation runs them (as one job on the compute pool), sampling
//! included. A binary of its own: the allocator counts the whole process,
//! so nothing else may run beside it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::Device;
use locus::model::local::draft::{DraftInput, Drafter};
use locus::model::local::gemma::Scratch;
use locus::model::local::gemma::mtp::{Assistant, Mtp};
use locus::model::local::kv::KvCache;
use locus::model::local::sampler::{Sampler, SamplerConfig};
use locus::model::local::{DraftConfig, LocalModel};

#[allow(dead_code)]
mod util;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

const WARM_UP: usize = 4;
const STEPS: usize = 40;

/// `text`'s tokens run through the model: the cache and the scratch holding
/// the logits after them.
fn prefilled(m: &LocalModel, text: &str) -> (Vec<u32>, KvCache, Scratch) {
    let prompt = m.encode_raw(text).unwrap();
    let mut cache = m.model.new_cache();
    let mut scratch = m.model.scratch();
    let first = m.model.forward(&prompt, &mut cache, false).unwrap();
    scratch
        .logits_row(0)
        .copy_from_slice(&first.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    (prompt, cache, scratch)
}

/// Allocations during each of `STEPS` decode-and-sample steps after a
/// warm-up, with the cache reserved as generation reserves it.
fn allocations_per_step(m: &LocalModel, sampler: SamplerConfig) -> Vec<usize> {
    let (prompt, mut cache, mut scratch) = prefilled(
        m,
        "fn main() {\n    let xs = vec![1, 2, 3];\n    println!(\"{}\", xs.len());\n}\n",
    );
    cache.reserve(WARM_UP + STEPS, 1);
    let mut history = Vec::with_capacity(prompt.len() + WARM_UP + STEPS);
    history.extend_from_slice(&prompt);
    let mut sampler = Sampler::new(sampler);
    let mut counts = Vec::with_capacity(STEPS);
    rayon::scope(|_| {
        for i in 0..WARM_UP + STEPS {
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            let next = sampler.sample(&mut scratch.logits, &history);
            history.push(next);
            m.model.decode(next, &mut cache, &mut scratch).unwrap();
            let n = ALLOCATIONS.load(Ordering::SeqCst) - before;
            if i >= WARM_UP {
                counts.push(n);
            }
        }
    });
    assert!(
        scratch.logits.iter().all(|l| l.is_finite()),
        "the steps computed logits"
    );
    counts
}

/// Allocations during each of `STEPS` drafted steps (a lookup draft, its
/// verification in one pass, the sampler's decisions and the rollback of
/// what was not kept), after a warm-up, with the cache and the scratch
/// reserved as generation reserves them.
fn allocations_per_drafted_step(
    m: &LocalModel,
    sampler: SamplerConfig,
    drafter: &mut dyn Drafter,
) -> Vec<usize> {
    let k = 6;
    let text = "let a = x + 1;\nlet b = y + 2;\nlet a = x + 1;\nlet b = y + 2;\nlet a = x + 1;\n";
    let (prompt, mut cache, mut scratch) = prefilled(m, text);
    let most = (WARM_UP + STEPS) * (k + 1);
    cache.reserve(most + k, k + 1);
    scratch.reserve_rows(k + 1);
    let mut history = Vec::with_capacity(prompt.len() + most + k);
    history.extend_from_slice(&prompt);
    let (mut draft, mut batch) = (Vec::with_capacity(k), Vec::with_capacity(k + 1));
    let mut sampler = Sampler::new(sampler);
    let (mut counts, mut drafted) = (Vec::with_capacity(STEPS), 0);
    let mut row = 0;
    rayon::scope(|_| {
        for i in 0..WARM_UP + STEPS {
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            let next = sampler.sample(scratch.logits_row(row), &history);
            history.push(next);
            draft.clear();
            let input = DraftInput {
                history: &history,
                cache: Some(&cache),
                // After the prefill, no step has left a hidden state yet.
                hidden: (i > 0).then(|| scratch.hidden_row(row)),
            };
            drafter.draft(&input, k, &mut draft);
            batch.clear();
            batch.push(next);
            batch.extend_from_slice(&draft);
            let base = cache.tokens.len();
            m.model
                .decode_many(&batch, &mut cache, &mut scratch)
                .unwrap();
            let mut kept = 0;
            for (j, &d) in draft.iter().enumerate() {
                if sampler.accept(scratch.logits_row(j), &history, d).is_err() {
                    break;
                }
                history.push(d);
                kept += 1;
            }
            assert_eq!(cache.rollback(base + 1 + kept), base + 1 + kept);
            row = kept;
            drafted += draft.len();
            let n = ALLOCATIONS.load(Ordering::SeqCst) - before;
            if i >= WARM_UP {
                counts.push(n);
            }
        }
    });
    assert!(drafted > 0, "the steps drafted");
    counts
}

#[test]
fn a_decode_step_allocates_nothing() {
    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf");
    let assistant = tiny.with_file_name("tiny-gemma4-assistant.gguf");
    let sampled = SamplerConfig {
        temperature: 0.8,
        top_k: 0,
        top_p: 0.9,
        repeat_penalty: 1.1,
        ..SamplerConfig::default()
    };
    for (path, name) in [(util::test_model(), "gemma3 270m"), (tiny, "tiny gemma4")] {
        let m = LocalModel::load(&path, &Device::Cpu).unwrap();
        for (sampler, how) in [
            (SamplerConfig::default(), "greedy"),
            (sampled.clone(), "sampled"),
        ] {
            let counts = allocations_per_step(&m, sampler.clone());
            assert!(
                counts.iter().all(|&n| n == 0),
                "{name}, {how}: allocations per decode step {counts:?}"
            );
            let mut lookup = DraftConfig {
                max: 6,
                ngram_min: 1,
                ..DraftConfig::lookup()
            }
            .drafter()
            .unwrap();
            let counts = allocations_per_drafted_step(&m, sampler.clone(), &mut *lookup);
            assert!(
                counts.iter().all(|&n| n == 0),
                "{name}, {how}: allocations per drafted step {counts:?}"
            );
            if name == "tiny gemma4" {
                let a = Assistant::load(&assistant, &m.model).unwrap();
                let mut mtp = Mtp::new(&a, &m.model);
                let counts = allocations_per_drafted_step(&m, sampler, &mut mtp);
                assert!(
                    counts.iter().all(|&n| n == 0),
                    "{name}, {how}: allocations per MTP-drafted step {counts:?}"
                );
            }
        }
    }
}
