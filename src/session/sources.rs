//! The `path:line` references an answer names, checked against the index so
//! the UI can open them and a wrong one is visible as such.

use serde::Serialize;

use crate::index::Index;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Source {
    /// Repo-relative path as the index knows it (or as written, when unknown).
    pub path: String,
    pub line: usize,
    /// The file is indexed and has that line.
    pub exists: bool,
}

/// Every distinct `path:line` in `text`, in order of appearance.
pub fn sources(text: &str, index: &Index) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    let is_path_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-');
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        if c != ':' {
            continue;
        }
        let start = chars[..k]
            .iter()
            .rev()
            .take_while(|(_, c)| is_path_char(*c))
            .count();
        let path = text[chars[k - start].0.min(i)..i].trim_start_matches("./");
        let digits: String = text[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if path.is_empty()
            || digits.is_empty()
            || !(path.contains('.') || path.contains('/'))
            || path.ends_with('.')
        {
            continue;
        }
        let Ok(line) = digits.parse::<usize>() else {
            continue;
        };
        let known = index.resolve_file(path, index.root());
        let src = match known {
            Some(f) => {
                let e = &index.files()[f as usize];
                Source {
                    path: e.path.clone(),
                    line,
                    exists: line >= 1 && line <= e.lines.max(1) as usize,
                }
            }
            None => Source {
                path: path.to_string(),
                line,
                exists: false,
            },
        };
        if !out.contains(&src) {
            out.push(src);
        }
    }
    out
}
