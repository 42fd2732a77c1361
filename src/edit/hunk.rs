//! One reviewable piece of a file change. The id is derived from the hunk's
//! content and place, so it stays the same when the same proposal is
//! computed again (a TUI redraw, a `--json` consumer, a retry).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    #[default]
    Pending,
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    pub id: String,
    /// 0-based first line in the old text.
    pub old_start: usize,
    /// Old lines, each with its `\n` (the last may lack one at end of file).
    pub old_lines: Vec<String>,
    /// 0-based first line in the proposed text.
    pub new_start: usize,
    /// The lines that replace `old_lines` if the hunk is accepted (the user may edit them).
    pub new_lines: Vec<String>,
    pub decision: Decision,
    /// The user changed `new_lines` after the proposal.
    pub edited: bool,
}

impl Hunk {
    /// Its unified-diff header, line counts included (`@@ -7,3 +7,4 @@`).
    pub fn header(&self) -> String {
        let range = |start: usize, len: usize| match len {
            0 => format!("{start},0"),
            1 => format!("{}", start + 1),
            n => format!("{},{n}", start + 1),
        };
        format!(
            "@@ -{} +{} @@",
            range(self.old_start, self.old_lines.len()),
            range(self.new_start, self.new_lines.len())
        )
    }

    pub fn new(
        path: &str,
        old_start: usize,
        old_lines: Vec<String>,
        new_start: usize,
        new_lines: Vec<String>,
    ) -> Hunk {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for part in [path.as_bytes(), &old_start.to_le_bytes()] {
            h.update(part);
            h.update(&[0]);
        }
        for l in old_lines
            .iter()
            .chain([&String::from("\0")])
            .chain(&new_lines)
        {
            h.update(l.as_bytes());
        }
        Hunk {
            id: format!("{:08x}", h.digest() as u32),
            old_start,
            old_lines,
            new_start,
            new_lines,
            decision: Decision::Pending,
            edited: false,
        }
    }

    /// Replace the proposed lines with `text` (as the user edited it).
    pub fn set_text(&mut self, text: &str) {
        let keep_unterminated = self.new_lines.last().is_some_and(|l| !l.ends_with('\n'));
        let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
        if let Some(last) = lines.last_mut()
            && !last.ends_with('\n')
            && !keep_unterminated
        {
            last.push('\n');
        }
        self.new_lines = lines;
        self.edited = true;
    }
}

/// A hunk's lines for display: `' '` context, `'-'` removed, `'+'` added.
pub fn hunk_lines(h: &Hunk) -> Vec<(char, String)> {
    let old: Vec<&str> = h.old_lines.iter().map(String::as_str).collect();
    let new: Vec<&str> = h.new_lines.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for op in super::diff::line_ops(&old, &new) {
        match op.tag {
            similar::DiffTag::Equal => out.extend(old[op.old].iter().map(|l| (' ', l.to_string()))),
            similar::DiffTag::Delete => {
                out.extend(old[op.old].iter().map(|l| ('-', l.to_string())))
            }
            _ => out.extend(new[op.new].iter().map(|l| ('+', l.to_string()))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_count_lines() {
        let h = |old_start, old: usize, new_start, new: usize| Hunk {
            id: String::new(),
            old_start,
            old_lines: vec!["x\n".to_string(); old],
            new_start,
            new_lines: vec!["y\n".to_string(); new],
            decision: Decision::Pending,
            edited: false,
        };
        assert_eq!(h(6, 3, 6, 4).header(), "@@ -7,3 +7,4 @@");
        assert_eq!(h(0, 0, 0, 1).header(), "@@ -0,0 +1 @@");
        assert_eq!(h(9, 1, 9, 0).header(), "@@ -10 +9,0 @@");
    }
}
