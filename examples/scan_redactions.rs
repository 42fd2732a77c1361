//! What the privacy guard and the placeholder check would flag in real code
//! no one here wrote: redactions by kind and placeholder-like comment lines,
//! with samples. Every hit in ordinary source is a false positive (code sent
//! to a cloud model mangled, or an edit refused). Run by scripts/eval-redaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn main() {
    for dir in std::env::args().skip(1) {
        let (mut files, mut lines, mut placeholders) = (0usize, 0usize, 0usize);
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        let mut samples = Vec::new();
        for path in walk(Path::new(&dir)) {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            files += 1;
            for line in text.lines() {
                lines += 1;
                let (redacted, kinds) = locus::route::redact(line);
                for k in &kinds {
                    *by_kind.entry(k).or_default() += 1;
                }
                if !kinds.is_empty() && samples.len() < 10 {
                    samples.push(format!("R {}: {}", path.display(), redacted.trim()));
                }
                let one = [line.to_string()];
                if locus::edit::first_placeholder(&one, &[]).is_some() {
                    placeholders += 1;
                    if samples.len() < 20 {
                        samples.push(format!("P {}: {}", path.display(), line.trim()));
                    }
                }
            }
        }
        println!(
            "{dir}: {files} files, {lines} lines; redactions {by_kind:?}; placeholder-like lines {placeholders}"
        );
        for s in samples {
            println!("  {s}");
        }
    }
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with(".git") {
                    out.extend(walk(&p));
                }
            } else {
                out.push(p);
            }
        }
    }
    out
}
