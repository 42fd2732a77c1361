//! Line diffs for hunks and unified output. similar 2.7's ops carry wrong
//! cross-side indices on some inputs with repeated lines (the old index of an
//! Insert, the new index of a Delete; mitsuhiko/similar#78), so positions are
//! recomputed here from the op lengths alone, which are always right.

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, DiffTag};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub tag: DiffTag,
    pub old: Range<usize>,
    pub new: Range<usize>,
}

/// Equal / Delete / Insert runs turning `old` into `new` (Replace is split).
pub fn line_ops(old: &[&str], new: &[&str]) -> Vec<Op> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let raw = similar::capture_diff_slices_deadline(Algorithm::Myers, old, new, Some(deadline));
    let (mut o, mut n) = (0, 0);
    let mut ops = Vec::with_capacity(raw.len());
    let mut push = |tag, ol: usize, nl: usize, o: &mut usize, n: &mut usize| {
        if ol + nl > 0 {
            ops.push(Op {
                tag,
                old: *o..*o + ol,
                new: *n..*n + nl,
            });
        }
        *o += ol;
        *n += nl;
    };
    for op in raw {
        match op {
            DiffOp::Equal { len, .. } => push(DiffTag::Equal, len, len, &mut o, &mut n),
            DiffOp::Delete { old_len, .. } => push(DiffTag::Delete, old_len, 0, &mut o, &mut n),
            DiffOp::Insert { new_len, .. } => push(DiffTag::Insert, 0, new_len, &mut o, &mut n),
            DiffOp::Replace {
                old_len, new_len, ..
            } => {
                push(DiffTag::Delete, old_len, 0, &mut o, &mut n);
                push(DiffTag::Insert, 0, new_len, &mut o, &mut n);
            }
        }
    }
    debug_assert_eq!((o, n), (old.len(), new.len()));
    ops
}

/// Changes with up to `context` equal lines around them; changes closer than
/// twice that share a group (one hunk).
pub fn groups(ops: &[Op], context: usize) -> Vec<Vec<Op>> {
    let equal = |old: Range<usize>, new: Range<usize>| Op {
        tag: DiffTag::Equal,
        old,
        new,
    };
    let mut out = Vec::new();
    let mut cur: Vec<Op> = Vec::new();
    let last = ops.len().saturating_sub(1);
    for (i, op) in ops.iter().enumerate() {
        if op.tag != DiffTag::Equal {
            cur.push(op.clone());
            continue;
        }
        let k = op.old.len().min(context);
        let has_change = cur.iter().any(|o| o.tag != DiffTag::Equal);
        if has_change && i != last && op.old.len() <= 2 * context {
            cur.push(op.clone());
            continue;
        }
        if has_change {
            if k > 0 {
                cur.push(equal(
                    op.old.start..op.old.start + k,
                    op.new.start..op.new.start + k,
                ));
            }
            out.push(std::mem::take(&mut cur));
        }
        cur.clear();
        if i != last && k > 0 {
            cur.push(equal(
                op.old.end - k..op.old.end,
                op.new.end - k..op.new.end,
            ));
        }
    }
    if cur.iter().any(|o| o.tag != DiffTag::Equal) {
        out.push(cur);
    }
    out
}

fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

/// A unified diff body (`@@` hunks) of `old` to `new`, lines with terminators.
pub fn unified(old: &[&str], new: &[&str], context: usize) -> String {
    let mut s = String::new();
    for g in groups(&line_ops(old, new), context) {
        let (o, n) = (
            g[0].old.start..g[g.len() - 1].old.end,
            g[0].new.start..g[g.len() - 1].new.end,
        );
        s.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(o.start, o.len()),
            range(n.start, n.len())
        ));
        for op in &g {
            let (mark, lines) = match op.tag {
                DiffTag::Equal => (' ', &old[op.old.clone()]),
                DiffTag::Delete => ('-', &old[op.old.clone()]),
                _ => ('+', &new[op.new.clone()]),
            };
            for l in lines {
                s.push(mark);
                s.push_str(l);
                if !l.ends_with('\n') {
                    s.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    s
}

/// Lines of `text`, each with its `\n`.
pub fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_right_where_similar_gets_them_wrong() {
        let old = "a\na\na\na\na\na\na\na\na\na\na\na x\nc z\n";
        let new = "a\na\na\na\na\na\na\na\na\nc z\na y\nb\nc z\n";
        let ops = line_ops(&lines(old), &lines(new));
        let rebuilt: String = ops
            .iter()
            .flat_map(|o| lines(new)[o.new.clone()].to_vec())
            .collect();
        assert_eq!(rebuilt, new);
        let u = unified(&lines(old), &lines(new), 1);
        assert!(u.starts_with("@@ -9,5 +9,5 @@\n a\n"), "{u}");
        assert_eq!(
            unified(&lines("x\n"), &lines("x\ny"), 3),
            "@@ -1 +1,2 @@\n x\n+y\n\\ No newline at end of file\n"
        );
        assert_eq!(unified(&lines(""), &lines("n\n"), 3), "@@ -0,0 +1 @@\n+n\n");
    }

    #[test]
    fn groups_split_on_long_equal_runs() {
        let old: String = (0..20).map(|i| format!("{i}\n")).collect();
        let new = old.replace("2\n", "two\n").replace("17\n", "seventeen\n");
        let g = groups(&line_ops(&lines(&old), &lines(&new)), 3);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].first().unwrap().old.start, 0);
        assert_eq!(g[1].last().unwrap().old.end, 20);
        let near = old.replace("2\n", "two\n").replace("6\n", "six\n");
        assert_eq!(groups(&line_ops(&lines(&old), &lines(&near)), 3).len(), 1);
        assert!(groups(&line_ops(&lines(&old), &lines(&old)), 3).is_empty());
    }
}
