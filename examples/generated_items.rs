//! Generated Rust files' tags read by the lexer (what a cold index does)
//! against the parser and tags query (what it did): per field, how many
//! definitions differ, the first differences, and the time of each.
//!
//! usage: cargo run --release --example generated_items -- FILE_LIST [--all]
//! (FILE_LIST: one path per line; only the files whose head says they are
//! generated, unless --all)

use std::collections::BTreeMap;
use std::time::Instant;

use locus::assets::Assets;
use locus::index::{Definition, Lang, Queries, extract, file_tags, says_generated};

fn key(d: &Definition) -> (u32, String) {
    (d.start_line, d.name.clone())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let list = std::fs::read_to_string(args.next().expect("FILE_LIST")).unwrap();
    let all = args.next().as_deref() == Some("--all");
    let queries = Queries::new(Assets::new(None));
    let q = queries.get(Lang::Rust).unwrap();
    let (mut parsed_s, mut lexed_s, mut files, mut defs) = (0.0, 0.0, 0, 0);
    let mut diffs = BTreeMap::<&str, usize>::new();
    let mut shown = 0;
    let (mut refs_want, mut refs_only_parser, mut refs_only_lexer) = (0, 0, 0);
    for p in list.lines() {
        let path = std::path::Path::new(p);
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if bytes.len() > 1 << 20
            || Lang::detect(path, &bytes[..bytes.len().min(8192)]) != Some(Lang::Rust)
        {
            continue;
        }
        if !all && !says_generated(&bytes[..bytes.len().min(2048)]) {
            continue;
        }
        files += 1;
        let t = Instant::now();
        let Ok((want, want_refs)) = extract(q, &bytes) else {
            continue;
        };
        parsed_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (got, got_refs) = file_tags(q, &bytes, true).unwrap();
        let key_ref = |r: &locus::index::Reference| (r.line, r.name.clone());
        let wr: std::collections::HashSet<_> = want_refs.iter().map(key_ref).collect();
        let gr: std::collections::HashSet<_> = got_refs.iter().map(key_ref).collect();
        refs_want += wr.len();
        refs_only_parser += wr.difference(&gr).count();
        refs_only_lexer += gr.difference(&wr).count();
        lexed_s += t.elapsed().as_secs_f64();
        defs += want.len();
        let got: BTreeMap<_, _> = got.iter().map(|d| (key(d), d)).collect();
        let want: BTreeMap<_, _> = want.iter().map(|d| (key(d), d)).collect();
        let mut note = |field: &'static str, what: String| {
            *diffs.entry(field).or_default() += 1;
            if shown < 40 {
                shown += 1;
                println!("{p}: {field}: {what}");
            }
        };
        for (k, w) in &want {
            let Some(g) = got.get(k) else {
                note("missing", format!("{k:?} {:?}", w.kind));
                continue;
            };
            let fields = [
                ("kind", format!("{:?}", g.kind), format!("{:?}", w.kind)),
                ("end_line", g.end_line.to_string(), w.end_line.to_string()),
                (
                    "container",
                    format!("{:?}", g.container),
                    format!("{:?}", w.container),
                ),
                ("doc", format!("{:?}", g.doc), format!("{:?}", w.doc)),
                (
                    "signature",
                    format!("{:?}", g.signature),
                    format!("{:?}", w.signature),
                ),
            ];
            for (field, lexed, parsed) in fields {
                if lexed != parsed {
                    note(field, format!("{k:?} {lexed} vs {parsed}"));
                }
            }
        }
        for k in got.keys().filter(|k| !want.contains_key(*k)) {
            note("extra", format!("{k:?} {:?}", got[k].kind));
        }
    }
    println!("{files} files, {defs} definitions by the parser; differences: {diffs:?}");
    println!(
        "uses (name, line): {refs_want} by the parser, {refs_only_parser} of them not by the lexer, {refs_only_lexer} by the lexer alone"
    );
    println!("parser and query {parsed_s:.2}s, lexer {lexed_s:.2}s");
}
