//! Where a cold index's tags time goes: `extract` (parse + queries) per
//! file, single-threaded, by language, for files whose head says they are
//! generated and the rest, with the slowest files.
//!
//! usage: cargo run --release --example extract_cost -- FILE_LIST

use locus::assets::Assets;
use locus::index::{Lang, Queries, extract};
use std::time::Instant;

fn main() {
    let list = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let queries = Queries::new(Assets::new(None));
    let mut total = std::collections::BTreeMap::<(String, bool), (f64, u64, usize)>::new();
    let mut per: Vec<(f64, String)> = Vec::new();
    for p in list.lines() {
        let path = std::path::Path::new(p);
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if bytes.len() > 1 << 20 {
            continue;
        }
        let head = &bytes[..bytes.len().min(2048)];
        let generated = [&b"enerated"[..], b"DO NOT EDIT"]
            .iter()
            .any(|m| head.windows(m.len()).any(|w| w == *m));
        let Some(lang) = Lang::detect(path, &bytes[..bytes.len().min(8192)]) else {
            continue;
        };
        let q = queries.get(lang).unwrap();
        let t = Instant::now();
        let _ = extract(q, &bytes);
        let dt = t.elapsed().as_secs_f64();
        let e = total
            .entry((lang.name().to_string(), generated))
            .or_default();
        e.0 += dt;
        e.1 += bytes.len() as u64;
        e.2 += 1;
        per.push((dt, p.to_string()));
    }
    for ((lang, generated), v) in &total {
        println!(
            "{lang}{}: {:.2}s {} MB {} files {:.1} MB/s",
            if *generated { " (generated)" } else { "" },
            v.0,
            v.1 / 1_000_000,
            v.2,
            v.1 as f64 / 1e6 / v.0
        );
    }
    per.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (dt, p) in per.iter().take(15) {
        println!("{dt:.3}s {p}");
    }
}
