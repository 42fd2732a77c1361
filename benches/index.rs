//! Index speed on a real tree: warm start from the cache, an incremental
//! update after one file changes, and a 4k-token repo map.
//!
//! The tree is `LOCUS_BENCH_REPO` (scripts/bench-index prepares a copy of the
//! cargo registry sources and Python's standard library); without it, this
//! crate's own sources are used.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use locus::assets::Assets;
use locus::config::IndexSettings;
use locus::index::{Index, Progress};
use locus::tokens::EstimateCounter;

fn tree() -> PathBuf {
    std::env::var_os("LOCUS_BENCH_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn open(root: &std::path::Path, cache: &std::path::Path) -> Index {
    Index::open(
        root,
        &IndexSettings::default(),
        Assets::new(None),
        Some(cache),
        &Progress::default(),
    )
    .unwrap()
    .0
}

fn index(c: &mut Criterion) {
    let root = tree();
    let cache = tempfile::tempdir().unwrap();
    let mut index = open(&root, cache.path());
    eprintln!(
        "tree {}: {} files, {} definitions",
        root.display(),
        index.files().len(),
        index.definition_count()
    );
    // Let the racy window pass so warm starts measure the normal path.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    index.save();

    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.bench_function("warm_start", |b| b.iter(|| open(&root, cache.path())));

    // A typical file: the median-sized parsed source file.
    let mut sources: Vec<_> = index
        .files()
        .iter()
        .filter(|f| !f.defs.is_empty())
        .collect();
    sources.sort_by_key(|f| f.size);
    let target = root.join(
        &sources
            .get(sources.len() / 2)
            .expect("a source file to touch")
            .path,
    );
    let original = std::fs::read_to_string(&target).unwrap();
    let mut flip = false;
    g.bench_function("incremental_update_one_file", |b| {
        b.iter(|| {
            flip = !flip;
            let text = if flip {
                format!("{original}\n// touched\n")
            } else {
                original.clone()
            };
            std::fs::write(&target, text).unwrap();
            index.update(std::slice::from_ref(&target)).unwrap()
        })
    });
    std::fs::write(&target, &original).unwrap();

    let words = Index::words("how does the parser handle errors");
    g.bench_function("repo_map_4k_tokens", |b| {
        b.iter(|| {
            let focus = index.focus(&words, &root);
            index.repo_map(&focus, 4096, &EstimateCounter)
        })
    });
    g.finish();
}

criterion_group!(benches, index);
criterion_main!(benches);
