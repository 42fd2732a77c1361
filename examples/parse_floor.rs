//! The floor under a cold index: tree-sitter parsing alone (no queries, no
//! tags), single-threaded, over a list of files, per language, with the
//! slowest files. docs/benchmarks.md compares it with `ctags -R`.
//!
//! usage: cargo run --release --example parse_floor -- FILE_LIST
//! (FILE_LIST: one path per line, e.g. `find TREE -type f > list`)

use locus::index::Lang;
use std::time::Instant;
use tree_sitter::Parser;
fn main() {
    let list = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let mut total = std::collections::HashMap::<&str, (f64, u64, usize)>::new();
    let mut per: Vec<(f64, String, usize)> = Vec::new();
    let mut parsers = std::collections::HashMap::new();
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
        let parser = parsers.entry(lang).or_insert_with(|| {
            let mut p = Parser::new();
            p.set_language(&lang.grammar()).unwrap();
            p
        });
        let t = Instant::now();
        let tree = parser.parse(&bytes, None).unwrap();
        let dt = t.elapsed().as_secs_f64();
        let mut n = 0usize;
        let mut c = tree.walk();
        loop {
            n += 1;
            if c.goto_first_child() {
                continue;
            }
            while !c.goto_next_sibling() {
                if !c.goto_parent() {
                    break;
                }
            }
            if c.node() == tree.root_node() {
                break;
            }
        }
        let e = total.entry(lang.name()).or_default();
        e.0 += dt;
        e.1 += bytes.len() as u64;
        e.2 += 1;
        per.push((dt, p.to_string(), n));
    }
    for (k, v) in &total {
        println!(
            "{k}: {:.2}s {} MB {} files {:.1} MB/s",
            v.0,
            v.1 / 1_000_000,
            v.2,
            v.1 as f64 / 1e6 / v.0
        );
    }
    per.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    for (dt, p, n) in per.iter().take(25) {
        println!("{:.3}s {n} nodes {p}", dt);
    }
    let top: f64 = per.iter().take(100).map(|x| x.0).sum();
    println!("top100 {top:.2}s");
}
