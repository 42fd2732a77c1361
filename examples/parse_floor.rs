//! The floor under a cold index: tree-sitter parsing alone (no queries, no
//! tags) and locus's tags extraction (bodies left out of the parse, then
//! the queries), single-threaded, over a list of files, per language, for
//! files whose head says they are generated and the rest, with the slowest
//! files. docs/benchmarks.md compares them with `ctags -R`.
//!
//! usage: cargo run --release --example parse_floor -- FILE_LIST
//! (FILE_LIST: one path per line, e.g. `find TREE -type f > list`)

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use locus::assets::Assets;
use locus::index::{Lang, Queries, file_tags, says_generated};
use tree_sitter::Parser;

#[derive(Default)]
struct Total {
    parse: f64,
    tags: f64,
    bytes: u64,
    files: usize,
}

fn main() {
    let list = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let queries = Queries::new(Assets::new(None));
    let mut total = BTreeMap::<(&str, bool), Total>::new();
    let mut per: Vec<(f64, f64, String)> = Vec::new();
    let mut parsers = HashMap::new();
    for p in list.lines() {
        let path = std::path::Path::new(p);
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if bytes.len() > 1 << 20 {
            continue;
        }
        let Some(lang) = Lang::detect(path, &bytes[..bytes.len().min(8192)]) else {
            continue;
        };
        let head = &bytes[..bytes.len().min(2048)];
        let generated = says_generated(head);
        let parser = parsers.entry(lang).or_insert_with(|| {
            let mut p = Parser::new();
            p.set_language(&lang.grammar()).unwrap();
            p
        });
        let t = Instant::now();
        let tree = parser.parse(&bytes, None).unwrap();
        let parse = t.elapsed().as_secs_f64();
        drop(tree);
        let t = Instant::now();
        let _ = file_tags(queries.get(lang).unwrap(), &bytes, generated);
        let tags = t.elapsed().as_secs_f64();
        let e = total.entry((lang.name(), generated)).or_default();
        e.parse += parse;
        e.tags += tags;
        e.bytes += bytes.len() as u64;
        e.files += 1;
        per.push((parse, tags, p.to_string()));
    }
    for ((lang, generated), v) in &total {
        println!(
            "{lang}{}: {} files, {} MB: parse {:.2}s ({:.1} MB/s), tags {:.2}s ({:.1} MB/s)",
            if *generated { " (generated)" } else { "" },
            v.files,
            v.bytes / 1_000_000,
            v.parse,
            v.bytes as f64 / 1e6 / v.parse,
            v.tags,
            v.bytes as f64 / 1e6 / v.tags
        );
    }
    per.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (parse, tags, p) in per.iter().take(25) {
        println!("parse {parse:.3}s tags {tags:.3}s {p}");
    }
    let top: f64 = per.iter().take(100).map(|x| x.1).sum();
    println!("slowest 100 files' tags: {top:.2}s");
}
