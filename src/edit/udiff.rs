//! Unified diffs in a reply. Models fall back to them, and get the line
//! numbers wrong, so a hunk becomes a search/replace of its context and removed
//! lines: the matcher finds where it goes, the `@@` numbers are ignored.

use super::block::{Edit, ParseError};

/// Whether a diff starts at line `i` (`diff --git`, or `---` followed by `+++`).
pub(crate) fn starts_at(lines: &[&str], i: usize) -> bool {
    let l = lines[i];
    l.starts_with("diff --git ")
        || (l.starts_with("--- ") && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ ")))
}

/// Parse the diff starting at `i`: its edits, its errors, and the index of the
/// first line after it.
pub(crate) fn parse(lines: &[&str], mut i: usize) -> (Vec<Edit>, Vec<ParseError>, usize) {
    let mut edits = Vec::new();
    let mut errors = Vec::new();
    while i < lines.len() && starts_at(lines, i) {
        let start = i;
        let mut old_path = None;
        let mut new_path = None;
        let mut rename = (None, None);
        if let Some(rest) = lines[i].strip_prefix("diff --git ") {
            if let Some((a, b)) = rest.split_once(' ') {
                old_path = diff_path(a);
                new_path = diff_path(b);
            }
            i += 1;
            while let Some(l) = lines.get(i) {
                if let Some(p) = l.strip_prefix("rename from ") {
                    rename.0 = Some(p.trim().to_string());
                } else if let Some(p) = l.strip_prefix("rename to ") {
                    rename.1 = Some(p.trim().to_string());
                } else if ![
                    "index ",
                    "new file mode",
                    "deleted file mode",
                    "old mode",
                    "new mode",
                    "similarity index",
                    "dissimilarity index",
                    "copy ",
                ]
                .iter()
                .any(|h| l.starts_with(h))
                {
                    break;
                }
                i += 1;
            }
        }
        let mut old_dev_null = false;
        let mut new_dev_null = false;
        if lines.get(i).is_some_and(|l| l.starts_with("--- "))
            && lines.get(i + 1).is_some_and(|l| l.starts_with("+++ "))
        {
            let a = &lines[i][4..];
            let b = &lines[i + 1][4..];
            old_dev_null = a.trim().starts_with("/dev/null");
            new_dev_null = b.trim().starts_with("/dev/null");
            old_path = if old_dev_null {
                old_path
            } else {
                diff_path(a).or(old_path)
            };
            new_path = if new_dev_null {
                new_path
            } else {
                diff_path(b).or(new_path)
            };
            i += 2;
        }
        let path = if new_dev_null {
            old_path.clone()
        } else {
            new_path.clone().or(old_path.clone())
        };
        let Some(path) = path else {
            errors.push(ParseError {
                line: start + 1,
                message: "diff without a file path".into(),
            });
            i = i.max(start + 1);
            continue;
        };
        if let (Some(from), Some(to)) = rename {
            edits.push(Edit::Rename {
                from,
                to,
                line: start + 1,
            });
        }
        let mut hunks = Vec::new();
        while lines.get(i).is_some_and(|l| l.starts_with("@@")) {
            let at = i;
            i += 1;
            let mut old = Vec::new();
            let mut new = Vec::new();
            while let Some(&l) = lines.get(i) {
                match l.as_bytes().first() {
                    Some(b' ') => {
                        old.push(l[1..].to_string());
                        new.push(l[1..].to_string());
                    }
                    Some(b'-') if !starts_at(lines, i) => old.push(l[1..].to_string()),
                    Some(b'+') => new.push(l[1..].to_string()),
                    Some(b'\\') => {}
                    // Models drop the space of an empty context line.
                    None if continues_hunk(lines, i + 1) => {
                        old.push(String::new());
                        new.push(String::new());
                    }
                    _ => break,
                }
                i += 1;
            }
            hunks.push((at, old, new));
        }
        if old_dev_null {
            let content = hunks.into_iter().flat_map(|(_, _, new)| new).collect();
            edits.push(Edit::WholeFile {
                path,
                content,
                line: start + 1,
            });
        } else if new_dev_null {
            edits.push(Edit::Delete {
                path,
                line: start + 1,
            });
        } else {
            for (at, search, replace) in hunks {
                if search.is_empty() {
                    errors.push(ParseError {
                        line: at + 1,
                        message: format!("diff hunk for {path} has no context or removed lines, so it cannot be placed"),
                    });
                    continue;
                }
                edits.push(Edit::Replace {
                    path: path.clone(),
                    search,
                    replace,
                    line: at + 1,
                });
            }
        }
        i = i.max(start + 1);
    }
    (edits, errors, i)
}

fn continues_hunk(lines: &[&str], i: usize) -> bool {
    lines.get(i).is_some_and(|l| {
        l.starts_with(' ') || (l.starts_with('+') || l.starts_with('-')) && !starts_at(lines, i)
    })
}

/// `a/src/x.rs` → `src/x.rs`; drops a tab-separated timestamp and quotes.
fn diff_path(s: &str) -> Option<String> {
    let s = s.split('\t').next()?.trim().trim_matches('"');
    if s.is_empty() || s == "/dev/null" {
        return None;
    }
    let s = s
        .strip_prefix("a/")
        .or_else(|| s.strip_prefix("b/"))
        .unwrap_or(s);
    Some(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_reply;
    use super::*;

    #[test]
    fn hunks_become_replacements_with_wrong_numbers_ignored() {
        let reply = "```diff\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -99,3 +99,3 @@\n fn a() {\n-    1\n+    2\n\n }\n```\n";
        let r = parse_reply(reply);
        assert!(r.errors.is_empty(), "{r:?}");
        assert_eq!(
            r.edits,
            vec![Edit::Replace {
                path: "src/lib.rs".into(),
                search: vec!["fn a() {".into(), "    1".into(), "".into(), "}".into()],
                replace: vec!["fn a() {".into(), "    2".into(), "".into(), "}".into()],
                line: 4,
            }]
        );
    }

    #[test]
    fn new_deleted_and_renamed_files() {
        let reply = "diff --git a/n.txt b/n.txt\nnew file mode 100644\n--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,2 @@\n+one\n+two\ndiff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\ndiff --git a/x.c b/y.c\nsimilarity index 100%\nrename from x.c\nrename to y.c\n";
        let r = parse_reply(reply);
        assert!(r.errors.is_empty(), "{r:?}");
        assert_eq!(
            r.edits,
            vec![
                Edit::WholeFile {
                    path: "n.txt".into(),
                    content: vec!["one".into(), "two".into()],
                    line: 1
                },
                Edit::Delete {
                    path: "old.txt".into(),
                    line: 8
                },
                Edit::Rename {
                    from: "x.c".into(),
                    to: "y.c".into(),
                    line: 14
                },
            ]
        );
    }

    #[test]
    fn pure_insertion_without_context_is_an_error() {
        let r = parse_reply("--- a/x.py\n+++ b/x.py\n@@ -5,0 +6 @@\n+print(1)\n");
        assert_eq!(r.edits, vec![]);
        assert_eq!(r.errors[0].line, 3);
    }
}
