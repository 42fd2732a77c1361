//! Edit speed: parse a model reply with 20 SEARCH/REPLACE blocks, locate each
//! in a 5,000-line file, and diff the result into hunks (`propose`), against
//! `git apply --check` of the equivalent unified diff on the same file (a
//! peer that parses and places a patch too, though it is given line numbers).
//! Also the fuzzy path: the same blocks with a typo in every one.

use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use locus::config::PrivacySettings;
use locus::edit::{PathGuard, parse_reply, propose};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A 5,000-line Rust-like source file: 500 functions of 10 lines.
fn source() -> String {
    (0..500)
        .map(|i| {
            format!(
                "/// Function number {i}.\npub fn f{i}(x: u64) -> u64 {{\n    let a = x + {i};\n    let b = a * 3;\n    if b > 100 {{\n        return b - 7;\n    }}\n    a + b\n}}\n\n"
            )
        })
        .collect()
}

/// 20 blocks spread over the file; `typo` misspells one line of each SEARCH.
fn reply(typo: bool) -> String {
    let mut s = String::from("Here are the changes:\n\n");
    for k in 0..20 {
        let i = k * 25 + 3;
        let let_a = if typo {
            format!("    let a = x +  {i};")
        } else {
            format!("    let a = x + {i};")
        };
        s.push_str(&format!(
            "src/big.rs\n```rust\n<<<<<<< SEARCH\npub fn f{i}(x: u64) -> u64 {{\n{let_a}\n    let b = a * 3;\n=======\npub fn f{i}(x: u64) -> u64 {{\n    let a = x.wrapping_add({i});\n    let b = a.wrapping_mul(3);\n>>>>>>> REPLACE\n```\n\n"
        ));
    }
    s
}

fn edit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/big.rs"), source()).unwrap();
    let guard = PathGuard::new(
        root,
        PrivacySettings::default().never_touch_rules().unwrap(),
    )
    .unwrap();
    let exact = reply(false);
    let fuzzy = reply(true);
    let p = propose(&parse_reply(&exact), &guard);
    assert!(
        p.failures.is_empty() && p.changes.files[0].hunks.len() == 20,
        "{:?}",
        p.failures
    );
    let p = propose(&parse_reply(&fuzzy), &guard);
    assert!(p.failures.is_empty(), "{:?}", p.failures);
    std::fs::write(root.join("patch.diff"), p.changes.unified_diff()).unwrap();

    let mut g = c.benchmark_group("edit_5k_lines_20_blocks");
    g.bench_function("locus_parse_match_diff", |b| {
        b.iter(|| propose(&parse_reply(&exact), &guard))
    });
    g.bench_function("locus_parse_match_diff_fuzzy", |b| {
        b.iter(|| propose(&parse_reply(&fuzzy), &guard))
    });
    g.bench_function("git_apply_check_peer", |b| {
        b.iter(|| {
            let st = Command::new("git")
                .args(["apply", "--check", "patch.diff"])
                .current_dir(root)
                .status()
                .unwrap();
            assert!(st.success());
        })
    });
    g.finish();
}

criterion_group!(benches, edit);
criterion_main!(benches);
