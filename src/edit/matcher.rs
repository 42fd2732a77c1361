//! Finding a SEARCH block in its file. Tried in order, first unique hit wins:
//! the exact lines; the lines ignoring trailing whitespace; the lines ignoring
//! indentation (the replacement is re-indented to the file's); then a bounded
//! fuzzy match that accepts only a single clearly best window. Several hits at
//! the first tier that has any is an error, never a guess.

use std::time::Duration;

use rustc_hash::FxHashSet;
use similar::TextDiff;

/// How the block was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Exact,
    TrailingWhitespace,
    Indentation,
    Fuzzy,
}

/// Where a block goes: file lines `start..end` become `replacement`.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub tier: Tier,
    pub replacement: Vec<String>,
    /// Similarity of the matched lines to the block (1.0 unless fuzzy).
    pub score: f32,
}

/// The window of the file most like a block that matched nothing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// 0-based first line.
    pub start: usize,
    pub lines: Vec<String>,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MatchError {
    NotFound {
        closest: Option<Candidate>,
    },
    /// 0-based first lines of every match at the tier that had several.
    Ambiguous {
        starts: Vec<usize>,
        tier: Tier,
    },
}

/// Similarity a fuzzy match needs (similar's ratio on the trimmed text).
pub const FUZZY_THRESHOLD: f32 = 0.85;
/// A fuzzy match is unique when every rival window is at least this many
/// times as dissimilar to the block as the best one.
const FUZZY_CLEAR_FACTOR: f32 = 2.0;
/// Line-windows scored when no line of the block is in the file, at most.
const SCORE_ALL_LIMIT: usize = 4000;
/// Windows scored in full per block, after a cheap line-hit prefilter.
const FUZZY_CANDIDATES: usize = 24;

/// Whether two lines count as equal at a tier.
type LineEq = fn(&str, &str) -> bool;

/// Locate `search` in `file` and return what replaces the matched lines.
/// Blank lines around the block do not take part in matching.
pub fn locate(file: &[String], search: &[String], replace: &[String]) -> Result<Found, MatchError> {
    let (search, replace) = trim_blank_edges(search, replace);
    if search.is_empty() {
        return Err(MatchError::NotFound { closest: None });
    }
    let tiers: [(Tier, LineEq); 3] = [
        (Tier::Exact, |a, b| a == b),
        (Tier::TrailingWhitespace, |a, b| {
            a.trim_end() == b.trim_end()
        }),
        (Tier::Indentation, |a, b| a.trim() == b.trim()),
    ];
    for (tier, eq) in tiers {
        let starts = find_all(file, search, eq);
        match starts.len() {
            0 => continue,
            1 => {
                let start = starts[0];
                let replacement = if tier == Tier::Indentation {
                    reindent(&file[start..start + search.len()], search, replace)
                } else {
                    replace.to_vec()
                };
                return Ok(Found {
                    start,
                    end: start + search.len(),
                    tier,
                    replacement,
                    score: 1.0,
                });
            }
            _ => return Err(MatchError::Ambiguous { starts, tier }),
        }
    }
    fuzzy(file, search, replace)
}

fn trim_blank_edges<'a>(
    search: &'a [String],
    replace: &'a [String],
) -> (&'a [String], &'a [String]) {
    let blank = |l: &String| l.trim().is_empty();
    let lead = search.iter().take_while(|l| blank(l)).count();
    let (mut s, mut r) = (&search[lead..], replace);
    if r.iter().take_while(|l| blank(l)).count() >= lead {
        r = &r[lead..];
    }
    let trail = s.iter().rev().take_while(|l| blank(l)).count();
    s = &s[..s.len() - trail];
    if r.iter().rev().take_while(|l| blank(l)).count() >= trail {
        r = &r[..r.len() - trail];
    }
    (s, r)
}

fn find_all(file: &[String], search: &[String], eq: LineEq) -> Vec<usize> {
    if search.len() > file.len() {
        return Vec::new();
    }
    (0..=file.len() - search.len())
        .filter(|&i| search.iter().zip(&file[i..]).all(|(s, f)| eq(f, s)))
        .collect()
}

fn indent(s: &str) -> &str {
    &s[..s.len() - s.trim_start().len()]
}

/// Move the replacement from the block's indentation to the file's.
fn reindent(matched: &[String], search: &[String], replace: &[String]) -> Vec<String> {
    let Some(k) = search.iter().position(|l| !l.trim().is_empty()) else {
        return replace.to_vec();
    };
    let (from, to) = (indent(&search[k]), indent(&matched[k]));
    replace
        .iter()
        .map(|r| {
            if r.trim().is_empty() {
                String::new()
            } else if let Some(rest) = r.strip_prefix(from) {
                format!("{to}{rest}")
            } else {
                r.clone()
            }
        })
        .collect()
}

fn joined_trimmed(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join("\n")
}

fn similarity(a: &str, b: &str) -> f32 {
    TextDiff::configure()
        .timeout(Duration::from_millis(50))
        .diff_chars(a, b)
        .ratio()
}

fn fuzzy(file: &[String], search: &[String], replace: &[String]) -> Result<Found, MatchError> {
    let wanted: FxHashSet<&str> = search
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let mut prefix = vec![0u32; file.len() + 1];
    for (i, l) in file.iter().enumerate() {
        prefix[i + 1] = prefix[i] + u32::from(wanted.contains(l.trim()));
    }
    let n = search.len();
    let sizes: Vec<usize> = if n >= 3 {
        vec![n, n - 1, n + 1]
    } else {
        vec![n]
    };
    let mut windows: Vec<(u32, usize, usize)> = Vec::new();
    for size in sizes {
        if size > file.len() {
            continue;
        }
        for start in 0..=file.len() - size {
            let hits = prefix[start + size] - prefix[start];
            if hits > 0 {
                windows.push((hits, start, size));
            }
        }
    }
    if windows.is_empty() && file.len() * n <= SCORE_ALL_LIMIT {
        // No line in common: in a small file every window is scored, so a
        // miss can still name the closest lines.
        windows.extend(
            (0..=file.len().saturating_sub(n))
                .filter(|_| n <= file.len())
                .map(|s| (0, s, n)),
        );
    }
    windows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    if windows.first().is_some_and(|w| w.0 > 0) {
        windows.truncate(FUZZY_CANDIDATES);
    }
    let target = joined_trimmed(search);
    let mut scored: Vec<(f32, usize, usize)> = windows
        .into_iter()
        .map(|(_, start, size)| {
            (
                similarity(&joined_trimmed(&file[start..start + size]), &target),
                start,
                size,
            )
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let Some(&(score, start, size)) = scored.first() else {
        return Err(MatchError::NotFound { closest: None });
    };
    if score < FUZZY_THRESHOLD {
        let closest = Candidate {
            start,
            lines: file[start..start + size].to_vec(),
            score,
        };
        return Err(MatchError::NotFound {
            closest: Some(closest),
        });
    }
    let mut rivals: Vec<usize> = scored
        .iter()
        .filter(|&&(s, st, sz)| {
            s >= FUZZY_THRESHOLD
                && (1.0 - s) < FUZZY_CLEAR_FACTOR * (1.0 - score) + 0.005
                && (st + sz <= start || st >= start + size)
        })
        .map(|&(_, st, _)| st)
        .collect();
    if !rivals.is_empty() {
        rivals.push(start);
        rivals.sort_unstable();
        rivals.dedup();
        return Err(MatchError::Ambiguous {
            starts: rivals,
            tier: Tier::Fuzzy,
        });
    }
    let matched = &file[start..start + size];
    let replacement = if size == n {
        reindent(matched, search, replace)
    } else {
        replace.to_vec()
    };
    Ok(Found {
        start,
        end: start + size,
        tier: Tier::Fuzzy,
        replacement,
        score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn tiers_in_order() {
        let file = v("fn a() {\n    let x = 1;   \n    x\n}\n");
        let f = locate(&file, &v("    let x = 1;   "), &v("    let x = 2;")).unwrap();
        assert_eq!((f.start, f.tier), (1, Tier::Exact));
        let f = locate(&file, &v("    let x = 1;"), &v("    let x = 2;")).unwrap();
        assert_eq!((f.start, f.tier), (1, Tier::TrailingWhitespace));
        let f = locate(
            &file,
            &v("let x = 1;\nx"),
            &v("let x = 2;\nif x > 1 {\n    x\n}"),
        )
        .unwrap();
        assert_eq!(f.tier, Tier::Indentation);
        assert_eq!(
            f.replacement,
            v("    let x = 2;\n    if x > 1 {\n        x\n    }")
        );
    }

    #[test]
    fn ambiguity_and_missing_are_errors_with_a_closest_candidate() {
        let file = v("x = 1\ny = 2\nx = 1\n");
        assert_eq!(
            locate(&file, &v("x = 1"), &v("x = 3")),
            Err(MatchError::Ambiguous {
                starts: vec![0, 2],
                tier: Tier::Exact
            })
        );
        let file = v(
            "def total(items):\n    s = 0\n    for i in items:\n        s += i.price\n    return s\n",
        );
        let err = locate(
            &file,
            &v("def total(items):\n    q = 99\n    while True:\n        pass"),
            &v(""),
        )
        .unwrap_err();
        let MatchError::NotFound { closest: Some(c) } = err else {
            panic!("{err:?}")
        };
        assert_eq!(c.start, 0);
        assert!(c.score < FUZZY_THRESHOLD);
    }

    #[test]
    fn fuzzy_accepts_a_small_typo_once() {
        let file = v(
            "def total(items):\n    s = 0\n    for item in items:\n        s += item.price\n    return s\n\ndef other():\n    pass\n",
        );
        let f = locate(
            &file,
            &v("    for item in itemz:\n        s += item.price"),
            &v("    for item in items:\n        s += item.cost"),
        )
        .unwrap();
        assert_eq!((f.start, f.end, f.tier), (2, 4, Tier::Fuzzy));
        assert_eq!(
            f.replacement,
            v("    for item in items:\n        s += item.cost")
        );
    }

    #[test]
    fn fuzzy_refuses_two_equally_close_windows() {
        let file = v(
            "fn one() {\n    let total = price * qty;\n}\nfn two() {\n    let total = price * qty;\n}\n",
        );
        let err = locate(
            &file,
            &v("    let totl = price * qty;\n}"),
            &v("    let total = 0;\n}"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            MatchError::Ambiguous {
                starts: vec![1, 4],
                tier: Tier::Fuzzy
            }
        );
    }

    #[test]
    fn blank_edges_do_not_count() {
        let file = v("a\nb\nc\n");
        let f = locate(&file, &v("\nb\n"), &v("\nB\n")).unwrap();
        assert_eq!((f.start, f.end, f.replacement.clone()), (1, 2, v("B")));
    }
}
