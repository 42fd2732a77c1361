//! A hunk's lines paired for the side-by-side diff: context on both sides,
//! each run of removed lines beside the run of added lines that replaces it.

/// One row: the old side and the new side (`None` leaves that side blank).
pub type Row<'a> = (Option<(char, &'a str)>, Option<(char, &'a str)>);

/// `ops` are `(tag, text)` with tag `' '`, `'-'` or `'+'`, in unified order.
pub fn pair(ops: &[(char, String)]) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < ops.len() {
        if ops[i].0 != '-' && ops[i].0 != '+' {
            let t = ops[i].1.as_str();
            rows.push((Some((' ', t)), Some((' ', t))));
            i += 1;
            continue;
        }
        let run =
            |from: usize, tag: char| ops[from..].iter().take_while(|(t, _)| *t == tag).count();
        let minus = run(i, '-');
        let plus = run(i + minus, '+');
        for k in 0..minus.max(plus) {
            let side =
                |n: usize, at: usize, tag: char| (k < n).then(|| (tag, ops[at + k].1.as_str()));
            rows.push((side(minus, i, '-'), side(plus, i + minus, '+')));
        }
        i += minus + plus;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(v: &[(char, &str)]) -> Vec<(char, String)> {
        v.iter().map(|&(t, s)| (t, s.to_string())).collect()
    }

    #[test]
    fn removed_and_added_runs_sit_side_by_side() {
        let o = ops(&[
            (' ', "a"),
            ('-', "b"),
            ('-', "c"),
            ('+', "B"),
            (' ', "d"),
            ('+', "e"),
            ('-', "f"),
        ]);
        let rows = pair(&o);
        assert_eq!(
            rows,
            vec![
                (Some((' ', "a")), Some((' ', "a"))),
                (Some(('-', "b")), Some(('+', "B"))),
                (Some(('-', "c")), None),
                (Some((' ', "d")), Some((' ', "d"))),
                (None, Some(('+', "e"))),
                (Some(('-', "f")), None),
            ]
        );
        // Every line of the unified view appears once on its side.
        let left = rows
            .iter()
            .filter_map(|r| r.0)
            .filter(|l| l.0 == '-')
            .count();
        let right = rows
            .iter()
            .filter_map(|r| r.1)
            .filter(|l| l.0 == '+')
            .count();
        assert_eq!((left, right), (3, 2));
    }
}
