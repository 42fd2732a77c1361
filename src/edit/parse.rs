//! The tolerant reader of model replies. Small local models get the edit
//! format slightly wrong all the time: chatter around the blocks, fences that
//! open and never close, CRLF, trailing spaces on markers, a reply cut before
//! its last `>>>>>>> REPLACE`, a diff instead of blocks, a whole file instead
//! of a diff. Everything that can be read unambiguously is; everything else is
//! reported with the reply line where it failed, never silently dropped.

use super::block::{Edit, ParseError, ParsedReply};
use super::udiff;

/// Read every edit in a model's reply.
pub fn parse_reply(reply: &str) -> ParsedReply {
    let lines: Vec<&str> = reply
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut p = Parser {
        lines: &lines,
        out: ParsedReply::default(),
        last_path: None,
        block_end: 0,
    };
    p.run();
    p.out
}

struct Parser<'a> {
    lines: &'a [&'a str],
    out: ParsedReply,
    /// The path of the previous block, for a block the model wrote without one.
    last_path: Option<String>,
    /// Index just past the last line that belonged to an edit.
    block_end: usize,
}

impl Parser<'_> {
    fn run(&mut self) {
        let mut i = 0;
        while i < self.lines.len() {
            let line = self.lines[i];
            if is_search(line) {
                i = self.search_block(i);
            } else if let Some(edit) = directive(line, i + 1) {
                self.out.edits.push(edit);
                self.block_end = i + 1;
                i += 1;
            } else if udiff::starts_at(self.lines, i) {
                let (edits, errors, end) = udiff::parse(self.lines, i);
                self.out.edits.extend(edits);
                self.out.errors.extend(errors);
                self.block_end = end;
                i = end.max(i + 1);
            } else if let Some(info) = fence_open(line) {
                i = self.fence(i, info);
            } else {
                i += 1;
            }
        }
    }

    /// A fence: the wrapper of blocks or a diff (skip just the opener), the
    /// closer of one (skip it), a whole file under a path, or chatter.
    fn fence(&mut self, i: usize, info: &str) -> usize {
        let ticks = fence_ticks(self.lines[i]);
        if info.is_empty()
            && self.lines[self.block_end.min(i)..i]
                .iter()
                .all(|l| l.trim().is_empty())
            && self.block_end > 0
        {
            return i + 1; // closes the fence around the block just read
        }
        let close = (i + 1..self.lines.len()).find(|&j| is_fence_close(self.lines[j], ticks));
        let body_end = close.unwrap_or(self.lines.len());
        let wraps_edit = (i + 1..body_end).any(|j| {
            is_search(self.lines[j])
                || udiff::starts_at(self.lines, j)
                || directive(self.lines[j], 0).is_some()
        });
        if wraps_edit {
            return i + 1;
        }
        let path = path_from_info(info).or_else(|| {
            let prev = (self.block_end..i)
                .rev()
                .find(|&j| !self.lines[j].trim().is_empty())?;
            // The prompt's own header (`# File: PATH` over a fence), echoed
            // back by a model, is the file as shown, not an edit of it.
            if self.lines[prev].starts_with(crate::context::FILE_HEADER) {
                return None;
            }
            clean_path(self.lines[prev], true)
        });
        let Some(path) = path else {
            return body_end + 1; // an example or an explanation, not an edit
        };
        match close {
            Some(j) => {
                let content = self.lines[i + 1..j].iter().map(|s| s.to_string()).collect();
                self.out.edits.push(Edit::WholeFile {
                    path: path.clone(),
                    content,
                    line: i + 1,
                });
                self.last_path = Some(path);
                self.block_end = j + 1;
                j + 1
            }
            None => {
                self.error(
                    i,
                    format!("the whole-file block for {path} has no closing fence (the reply may have been cut); not applied"),
                );
                self.lines.len()
            }
        }
    }

    /// A SEARCH/REPLACE block starting at the marker on line `i`; returns the
    /// index to continue from.
    fn search_block(&mut self, i: usize) -> usize {
        let Some(path) = self.path_before(i) else {
            self.error(i, "SEARCH block without a file path: put the path on the line before `<<<<<<< SEARCH`".into());
            return self.skip_block(i);
        };
        let mut j = i + 1;
        let mut search = Vec::new();
        loop {
            let Some(&l) = self.lines.get(j) else {
                self.error(
                    i,
                    format!("SEARCH block for {path} has no `=======` (the reply ended)"),
                );
                return j;
            };
            if is_divider(l) {
                break;
            }
            if is_search(l) || is_replace(l) {
                self.error(
                    j,
                    format!(
                        "SEARCH block for {path} (line {}) has no `=======` before this marker",
                        i + 1
                    ),
                );
                return if is_search(l) { j } else { j + 1 };
            }
            search.push(l.to_string());
            j += 1;
        }
        j += 1;
        let mut replace: Vec<String> = Vec::new();
        let end;
        loop {
            match self.lines.get(j) {
                None => {
                    // Cut stream: the block is complete enough; drop a dangling fence.
                    trim_tail(&mut replace);
                    if replace
                        .last()
                        .is_some_and(|l| fence_open(l).is_some_and(str::is_empty))
                    {
                        replace.pop();
                        trim_tail(&mut replace);
                    }
                    end = j;
                    break;
                }
                Some(&l) if is_replace(l) => {
                    end = j + 1;
                    break;
                }
                Some(&l) if is_search(l) => {
                    // The model forgot `>>>>>>> REPLACE`: the next block's header is not content.
                    while replace.last().is_some_and(|l| {
                        l.trim().is_empty()
                            || fence_open(l).is_some()
                            || clean_path(l, false).is_some()
                    }) {
                        replace.pop();
                        if replace
                            .last()
                            .is_some_and(|l| !l.trim().is_empty() && fence_open(l).is_none())
                        {
                            break;
                        }
                    }
                    end = i + 2 + search.len() + replace.len();
                    break;
                }
                Some(&l) => replace.push(l.to_string()),
            }
            j += 1;
        }
        self.out.edits.push(Edit::Replace {
            path: path.clone(),
            search,
            replace,
            line: i + 1,
        });
        self.last_path = Some(path);
        self.block_end = end;
        end
    }

    /// The path a block at line `i` belongs to: the nearest non-blank line above
    /// it (past a fence opener, whose info may be the path), else the previous block's.
    fn path_before(&self, i: usize) -> Option<String> {
        let mut j = i;
        while j > self.block_end {
            j -= 1;
            let l = self.lines[j];
            if l.trim().is_empty() {
                continue;
            }
            if let Some(info) = fence_open(l) {
                if let Some(p) = path_from_info(info) {
                    return Some(p);
                }
                continue;
            }
            return clean_path(l, false).or_else(|| self.last_path.clone());
        }
        self.last_path.clone()
    }

    /// Skip a block that cannot be used, to its REPLACE marker (or the next SEARCH).
    fn skip_block(&mut self, i: usize) -> usize {
        let end = (i + 1..self.lines.len())
            .find(|&j| is_replace(self.lines[j]) || is_search(self.lines[j]))
            .map(|j| if is_replace(self.lines[j]) { j + 1 } else { j })
            .unwrap_or(self.lines.len());
        self.block_end = end;
        end
    }

    fn error(&mut self, i: usize, message: String) {
        self.out.errors.push(ParseError {
            line: i + 1,
            message,
        });
    }
}

fn trim_tail(v: &mut Vec<String>) {
    while v.last().is_some_and(|l| l.trim().is_empty()) {
        v.pop();
    }
}

fn marker(line: &str, ch: char, word: &[&str]) -> bool {
    let t = line.trim();
    let n = t.chars().take_while(|&c| c == ch).count();
    if !(5..=9).contains(&n) {
        return false;
    }
    let rest = t[n..].trim();
    word.iter().any(|w| rest.eq_ignore_ascii_case(w))
}

pub(crate) fn is_search(line: &str) -> bool {
    marker(line, '<', &["SEARCH", "ORIGINAL"])
}

fn is_divider(line: &str) -> bool {
    marker(line, '=', &[""])
}

fn is_replace(line: &str) -> bool {
    marker(line, '>', &["REPLACE", "UPDATED"])
}

fn fence_ticks(line: &str) -> usize {
    let t = line.trim_start();
    t.chars()
        .take_while(|&c| c == '`')
        .count()
        .max(t.chars().take_while(|&c| c == '~').count())
}

/// The info string of a fence opener (```` ```rust ````), or `None` when the line is not one.
pub(crate) fn fence_open(line: &str) -> Option<&str> {
    let t = line.trim();
    let n = fence_ticks(t);
    if n < 3 {
        return None;
    }
    let info = t[n..].trim();
    (!info.contains('`')).then_some(info)
}

fn is_fence_close(line: &str, ticks: usize) -> bool {
    let t = line.trim();
    fence_ticks(t) >= ticks && t.chars().all(|c| c == '`' || c == '~')
}

/// A path in a fence's info string: ```` ```src/app.py ```` or ```` ```python src/app.py ````
/// or ```` ```rust:src/lib.rs ````.
fn path_from_info(info: &str) -> Option<String> {
    let last = info.split_whitespace().last()?;
    let last = last.rsplit(':').next().unwrap_or(last);
    clean_path(last, true).filter(|p| p.contains('/') || p.contains('.'))
}

const EXTENSIONLESS: &[&str] = &[
    "Makefile",
    "makefile",
    "GNUmakefile",
    "Dockerfile",
    "Containerfile",
    "Rakefile",
    "Gemfile",
    "Justfile",
    "justfile",
    "Procfile",
    "Jenkinsfile",
    "Vagrantfile",
    "LICENSE",
    "README",
    "CODEOWNERS",
    "BUILD",
    "WORKSPACE",
];

/// The path a header line names, with markdown decoration removed
/// (`**src/a.rs**`, `` `src/a.rs`: ``, `### File: src/a.rs`). `strict` asks for
/// something that clearly is a file name (it decides whether a fenced block is a
/// whole file or just an example).
pub(crate) fn clean_path(line: &str, strict: bool) -> Option<String> {
    let mut s = line.trim().trim_start_matches('#').trim();
    for prefix in ["file:", "filename:", "path:", "filepath:", "in "] {
        if s.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        {
            s = s[prefix.len()..].trim();
        }
    }
    let s = s
        .trim_end_matches(':')
        .trim_matches(|c| matches!(c, '*' | '`' | '"' | '\''))
        .trim_end_matches(':');
    let s = s.strip_prefix("./").unwrap_or(s);
    if s.is_empty()
        || s.len() > 1024
        || s.ends_with('.')
        || s.starts_with("//")
        || s.contains("://")
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || "._-/+@~\\$".contains(c))
        || !s.chars().any(|c| c.is_alphanumeric())
    {
        return None;
    }
    let file_like = s.contains('/')
        || s.contains('.')
        || EXTENSIONLESS.contains(&s.rsplit('/').next().unwrap_or(s));
    if strict && !file_like {
        return None;
    }
    if !strict
        && !file_like
        && s.chars().any(|c| c.is_lowercase())
        && s.chars().next().is_some_and(char::is_lowercase)
    {
        // a lone lowercase word ("python", "diff") is a language tag, not a path
        return None;
    }
    Some(s.replace('\\', "/"))
}

fn strip_any<'a>(t: &'a str, words: &[&str]) -> Option<&'a str> {
    words.iter().find_map(|w| t.strip_prefix(w)).map(str::trim)
}

/// `DELETE path`, `RENAME old -> new` and their apply_patch spellings.
fn directive(line: &str, line_no: usize) -> Option<Edit> {
    let t = line.trim();
    if let Some(rest) = strip_any(t, &["*** Delete File:", "DELETE FILE ", "DELETE "]) {
        let path = clean_path(rest, true)?;
        return Some(Edit::Delete {
            path,
            line: line_no,
        });
    }
    if let Some(rest) = strip_any(
        t,
        &[
            "*** Rename File:",
            "*** Move File:",
            "RENAME FILE ",
            "RENAME ",
        ],
    ) {
        let (from, to) = rest.split_once("->")?;
        return Some(Edit::Rename {
            from: clean_path(from, true)?,
            to: clean_path(to, true)?,
            line: line_no,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(
        path: &str,
        search: &[&str],
        replace: &[&str],
    ) -> (String, Vec<String>, Vec<String>) {
        (
            path.into(),
            search.iter().map(|s| s.to_string()).collect(),
            replace.iter().map(|s| s.to_string()).collect(),
        )
    }

    fn replaces(r: &ParsedReply) -> Vec<(String, Vec<String>, Vec<String>)> {
        r.edits
            .iter()
            .filter_map(|e| match e {
                Edit::Replace {
                    path,
                    search,
                    replace,
                    ..
                } => Some((path.clone(), search.clone(), replace.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_fenced_blocks_with_chatter_and_crlf() {
        let reply = "Here is the change:\r\n\r\nsrc/a.rs\r\n```rust\r\n<<<<<<< SEARCH  \r\nfn a() {}\r\n=======\r\nfn b() {}\r\n>>>>>>> REPLACE\r\n```\r\n\r\nThat's it!\r\n";
        let r = parse_reply(reply);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            replaces(&r),
            vec![replace("src/a.rs", &["fn a() {}"], &["fn b() {}"])]
        );
    }

    #[test]
    fn path_styles_and_path_reuse() {
        for header in [
            "**src/a.rs**",
            "`src/a.rs`:",
            "### File: src/a.rs",
            "```rust src/a.rs",
            "./src/a.rs",
        ] {
            let reply = format!(
                "{header}\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n<<<<<<< SEARCH\np\n=======\nq\n>>>>>>> REPLACE\n"
            );
            let r = parse_reply(&reply);
            assert_eq!(r.edits.len(), 2, "{header}: {r:?}");
            assert!(
                r.edits.iter().all(|e| e.path() == "src/a.rs"),
                "{header}: {r:?}"
            );
        }
    }

    #[test]
    fn cut_stream_and_missing_replace_marker() {
        let r = parse_reply("a.py\n```python\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n```\n");
        assert_eq!(replaces(&r), vec![replace("a.py", &["x = 1"], &["x = 2"])]);
        let r = parse_reply(
            "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n\nb.py\n<<<<<<< SEARCH\ny\n=======\nz\n>>>>>>> REPLACE\n",
        );
        assert_eq!(
            replaces(&r),
            vec![
                replace("a.py", &["x = 1"], &["x = 2"]),
                replace("b.py", &["y"], &["z"])
            ]
        );
    }

    #[test]
    fn broken_blocks_are_reported_with_their_line() {
        let r = parse_reply("chat\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n");
        assert_eq!(r.errors[0].line, 2);
        assert!(r.errors[0].message.contains("without a file path"));
        let r = parse_reply("a.rs\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n");
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].line, 4);
        let r = parse_reply("a.rs\n<<<<<<< SEARCH\nx\n");
        assert!(r.errors[0].message.contains("no `=======`"));
        let r = parse_reply("src/a.rs\n```rust\nfn a() {}\n");
        assert!(r.errors[0].message.contains("no closing fence"), "{r:?}");
    }

    #[test]
    fn the_prompts_own_file_header_echoed_is_no_edit() {
        let r = parse_reply("# File: calc.py\n```py\n\n```\nThat is the file.\n");
        assert!(r.edits.is_empty() && r.errors.is_empty(), "{r:?}");
        let r = parse_reply("### File: calc.py\n```py\nx = 1\n```\n");
        assert_eq!(r.edits.len(), 1, "other headers still name a whole file");
    }

    #[test]
    fn whole_files_directives_and_examples() {
        let r = parse_reply(
            "Update `src/util.py`:\n\nsrc/util.py\n```python\ndef f():\n    return 1\n```\n\nRun it like:\n```sh\ncargo test\n```\nDELETE old/legacy.py\nRENAME `a.txt` -> `docs/a.txt`\n",
        );
        assert!(r.errors.is_empty(), "{r:?}");
        assert_eq!(
            r.edits,
            vec![
                Edit::WholeFile {
                    path: "src/util.py".into(),
                    content: vec!["def f():".into(), "    return 1".into()],
                    line: 4
                },
                Edit::Delete {
                    path: "old/legacy.py".into(),
                    line: 13
                },
                Edit::Rename {
                    from: "a.txt".into(),
                    to: "docs/a.txt".into(),
                    line: 14
                },
            ]
        );
    }

    #[test]
    fn empty_search_is_a_new_file() {
        let r = parse_reply("new/mod.go\n<<<<<<< SEARCH\n=======\npackage mod\n>>>>>>> REPLACE");
        assert_eq!(
            replaces(&r),
            vec![replace("new/mod.go", &[], &["package mod"])]
        );
    }
}
