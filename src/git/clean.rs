//! Making a small model's commit message usable: no "Here is the commit
//! message:", no fences or quotes, no trailing period, a subject within 72
//! characters. What cannot be fixed is rejected with the reason, and a plain
//! summary of the changed files is offered instead of committing junk.

use super::diff::FileDiff;

/// Longest subject accepted.
pub const MAX_SUBJECT: usize = 72;

fn is_preamble(line: &str) -> bool {
    let l = line
        .trim()
        .trim_matches(|c| c == '*' || c == '#' || c == '_')
        .trim()
        .to_lowercase();
    let starts = [
        "here is",
        "here's",
        "sure",
        "okay",
        "ok,",
        "certainly",
        "below is",
        "the following",
        "i'd suggest",
        "i suggest",
        "a good commit message",
    ];
    let labels = [
        "commit message:",
        "commit message",
        "suggested commit message:",
        "message:",
        "subject:",
        "commit:",
        "body:",
        "title:",
    ];
    labels.contains(&l.as_str())
        || (starts.iter().any(|s| l.starts_with(s))
            && (l.ends_with(':')
                || l.ends_with('!')
                || l.len() < 60 && l.contains("commit message")))
}

fn is_closing_chatter(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    [
        "let me know",
        "i hope",
        "feel free",
        "this commit message",
        "this message",
        "note:",
    ]
    .iter()
    .any(|s| l.starts_with(s))
}

/// `Subject: x`, `**Commit message:** x` → `x`.
fn strip_label(s: &str) -> &str {
    let t = s.trim_start_matches(['*', '_']);
    for label in [
        "commit message:",
        "subject:",
        "title:",
        "commit:",
        "summary:",
    ] {
        if t.get(..label.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(label))
        {
            return t[label.len()..].trim_start_matches(['*', '_']).trim();
        }
    }
    s
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for (a, b) in [
        ("\"", "\""),
        ("'", "'"),
        ("`", "`"),
        ("**", "**"),
        ("“", "”"),
    ] {
        if s.len() >= a.len() + b.len() && s.starts_with(a) && s.ends_with(b) {
            return s[a.len()..s.len() - b.len()].trim();
        }
    }
    s
}

/// Whether `line` repeats a line of the prompt (small models echo their instructions).
fn echoes(line: &str, prompt: &str) -> bool {
    let l = line.trim().trim_end_matches('.').to_lowercase();
    l.len() >= 16 && prompt.to_lowercase().contains(&l)
        || l.len() >= 12
            && prompt.lines().any(|p| {
                let p = p.trim().trim_start_matches("- ").to_lowercase();
                p.len() >= 12 && l.starts_with(&p)
            })
}

fn is_diff_line(l: &str) -> bool {
    ["diff --git", "@@ ", "--- ", "+++ "]
        .iter()
        .any(|p| l.starts_with(p))
}

/// Clean a model's answer into a commit message, or say why it is unusable.
/// `prompt` is what the model was asked, to notice an answer that repeats it.
pub fn clean_message(raw: &str, prompt: &str) -> Result<String, String> {
    let text = raw.replace("\r\n", "\n");
    let mut lines: Vec<&str> = text.lines().collect();
    // A fenced block holds the message: take its inside.
    if let Some(open) = lines.iter().position(|l| l.trim_start().starts_with("```")) {
        let close = lines[open + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with("```"))
            .map(|c| c + open + 1);
        let inside = &lines[open + 1..close.unwrap_or(lines.len())];
        if inside.iter().any(|l| !l.trim().is_empty()) {
            lines = inside.to_vec();
        } else {
            lines.retain(|l| !l.trim_start().starts_with("```"));
        }
    }
    while lines
        .first()
        .is_some_and(|l| l.trim().is_empty() || is_preamble(l))
    {
        lines.remove(0);
    }
    while lines
        .last()
        .is_some_and(|l| l.trim().is_empty() || is_closing_chatter(l))
    {
        lines.pop();
    }
    let Some((first, rest)) = lines.split_first() else {
        return Err("the answer was empty".into());
    };
    let mut subject = unquote(strip_label(unquote(
        first.trim().trim_start_matches('#').trim(),
    )))
    .to_string();
    if is_diff_line(&subject) || rest.iter().any(|l| is_diff_line(l)) {
        return Err("the answer contains a diff, not just a message".into());
    }
    if echoes(&subject, prompt) || rest.iter().filter(|l| echoes(l, prompt)).count() >= 2 {
        return Err("the model repeated its instructions instead of answering".into());
    }
    if subject.len() > MAX_SUBJECT
        && let Some(i) = subject.find(". ")
    {
        subject.truncate(i);
    }
    let subject = subject.trim_end_matches(['.', ' ']).trim().to_string();
    if subject.is_empty() || !subject.chars().any(char::is_alphanumeric) {
        return Err("the subject line is empty".into());
    }
    if subject.ends_with(':')
        || subject
            .split_once(": ")
            .is_some_and(|(_, r)| r.trim().is_empty())
    {
        return Err(format!("the subject {subject:?} has no description"));
    }
    let width = subject.chars().count();
    if width > MAX_SUBJECT {
        return Err(format!(
            "the subject is {width} characters (at most {MAX_SUBJECT})"
        ));
    }
    let mut body: Vec<String> = Vec::new();
    for l in rest {
        let l = strip_body_label(l.trim_end());
        if l.is_empty() && body.last().is_none_or(|b: &String| b.is_empty()) {
            continue;
        }
        body.push(l.to_string());
    }
    while body.last().is_some_and(String::is_empty) {
        body.pop();
    }
    let mut msg = subject;
    if !body.is_empty() {
        msg.push_str("\n\n");
        msg.push_str(unquote_body(&body.join("\n")));
    }
    Ok(msg)
}

fn strip_body_label(l: &str) -> &str {
    let t = l.trim_start();
    if t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("body:")) {
        return t[5..].trim_start();
    }
    l
}

fn unquote_body(s: &str) -> &str {
    s.trim_end_matches(['"', '\'']).trim_end()
}

/// A plain message naming the changed files, for when the model's is unusable.
pub fn fallback_message(files: &[FileDiff]) -> String {
    let verb = if files.iter().all(|f| f.kind == "added") {
        "Add"
    } else if files.iter().all(|f| f.kind == "deleted") {
        "Remove"
    } else {
        "Update"
    };
    let names: Vec<&str> = files
        .iter()
        .map(|f| f.path.rsplit('/').next().unwrap_or(&f.path))
        .collect();
    let mut subject = match names.as_slice() {
        [] => "Update files".to_string(),
        [a] => format!("{verb} {a}"),
        [a, b] => format!("{verb} {a} and {b}"),
        [a, b, rest @ ..] => format!("{verb} {a}, {b} and {} more files", rest.len()),
    };
    if subject.chars().count() > MAX_SUBJECT {
        subject = format!("{verb} {} files", files.len());
    }
    if files.len() <= 1 {
        return subject;
    }
    let body: Vec<String> = files
        .iter()
        .map(|f| format!("- {} {}", f.kind, f.path))
        .collect();
    format!("{subject}\n\n{}", body.join("\n"))
}
