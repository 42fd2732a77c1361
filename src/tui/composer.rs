//! Editing in the composer: a cursor in the text with the keys a shell or
//! an editor's input line has (arrows, Home/End, Ctrl-A/E/U/K/W, Delete),
//! and the text wrapped to the box with the cursor's place in it. The
//! cursor is kept as the number of characters after it, so text set from
//! outside (history, completion, a paste) leaves it at the end. Written
//! here because tui-textarea, the crate for this, targets an older ratatui.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_width::UnicodeWidthChar;

/// The byte offset of the cursor in `text`, `back` characters from the end.
pub fn at(text: &str, back: usize) -> usize {
    if back == 0 {
        return text.len();
    }
    text.char_indices()
        .rev()
        .nth(back - 1)
        .map_or(0, |(i, _)| i)
}

/// `back` for a cursor at byte offset `i`.
fn back_of(text: &str, i: usize) -> usize {
    text[i..].chars().count()
}

/// Insert `s` at the cursor.
pub fn insert(text: &mut String, back: usize, s: &str) {
    let i = at(text, back);
    text.insert_str(i, s);
}

/// Apply an editing key; `false` when `k` is not one (the caller's to use).
/// Up/Down move between the lines of a multi-line text and are `false` on
/// its first/last line (history recall).
pub fn edit(text: &mut String, back: &mut usize, k: &KeyEvent) -> bool {
    *back = (*back).min(text.chars().count());
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let i = at(text, *back);
    match k.code {
        KeyCode::Char('a') if ctrl => *back = back_of(text, line_start(text, i)),
        KeyCode::Char('e') if ctrl => *back = back_of(text, line_end(text, i)),
        KeyCode::Char('u') if ctrl => {
            let s = line_start(text, i);
            text.replace_range(s..i, "");
        }
        KeyCode::Char('k') if ctrl => {
            let e = line_end(text, i);
            text.replace_range(i..e, "");
            *back = back_of(text, i);
        }
        KeyCode::Char('w') if ctrl => {
            let head = &text[..i];
            let trimmed = head.trim_end_matches([' ', '\t']);
            let s = trimmed.rfind(char::is_whitespace).map_or(0, |j| {
                j + trimmed[j..].chars().next().map_or(1, char::len_utf8)
            });
            text.replace_range(s..i, "");
        }
        KeyCode::Char(_) if ctrl => return false,
        KeyCode::Char(c) => text.insert(i, c),
        KeyCode::Backspace => {
            if let Some((j, _)) = text[..i].char_indices().next_back() {
                text.replace_range(j..i, "");
            }
        }
        KeyCode::Delete => {
            if let Some(c) = text[i..].chars().next() {
                text.replace_range(i..i + c.len_utf8(), "");
                *back -= 1;
            }
        }
        KeyCode::Left => *back = (*back + 1).min(text.chars().count()),
        KeyCode::Right => *back = back.saturating_sub(1),
        KeyCode::Home => *back = back_of(text, line_start(text, i)),
        KeyCode::End => *back = back_of(text, line_end(text, i)),
        KeyCode::Up | KeyCode::Down => {
            let s = line_start(text, i);
            let col = text[s..i].chars().count();
            let target = if k.code == KeyCode::Up {
                if s == 0 {
                    return false;
                }
                line_start(text, s - 1)
            } else {
                let e = line_end(text, i);
                if e == text.len() {
                    return false;
                }
                e + 1
            };
            let end = line_end(text, target);
            let j = text[target..end]
                .char_indices()
                .nth(col)
                .map_or(end, |(o, _)| target + o);
            *back = back_of(text, j);
        }
        _ => return false,
    }
    true
}

fn line_start(text: &str, i: usize) -> usize {
    text[..i].rfind('\n').map_or(0, |j| j + 1)
}

fn line_end(text: &str, i: usize) -> usize {
    text[i..].find('\n').map_or(text.len(), |j| i + j)
}

/// `text` broken into rows of at most `width` columns (at newlines and
/// where a row is full), and the cursor's (row, column).
pub fn layout(text: &str, back: usize, width: u16) -> (Vec<String>, (usize, u16)) {
    let width = usize::from(width.max(1));
    let cursor = at(text, back.min(text.chars().count()));
    let mut rows = vec![String::new()];
    let mut col = 0usize;
    let mut place = None;
    for (i, c) in text.char_indices() {
        if i == cursor {
            place = Some((rows.len() - 1, col));
        }
        if c == '\n' {
            rows.push(String::new());
            col = 0;
            continue;
        }
        let w = c.width().unwrap_or(0);
        if col + w > width {
            rows.push(String::new());
            col = 0;
            if i == cursor {
                place = Some((rows.len() - 1, 0));
            }
        }
        rows.last_mut().expect("one row").push(c);
        col += w;
    }
    let (row, mut col) = place.unwrap_or((rows.len() - 1, col));
    let mut row = row;
    if col >= width {
        // The cursor after a full last row goes to the start of the next.
        rows.push(String::new());
        row += 1;
        col = 0;
    }
    (rows, (row, col as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    /// The text with `|` at the cursor after `keys`.
    fn run(start: &str, keys: &[KeyEvent]) -> String {
        let mut t = start.to_string();
        let mut back = 0;
        for k in keys {
            edit(&mut t, &mut back, k);
        }
        let i = at(&t, back);
        format!("{}|{}", &t[..i], &t[i..])
    }

    #[test]
    fn typing_moves_deletes_and_inserts_at_the_cursor() {
        use KeyCode::*;
        assert_eq!(
            run("héllo", &[key(Left), key(Left), key(Char('X'))]),
            "hélX|lo"
        );
        assert_eq!(run("héllo", &[key(Home), key(Delete)]), "|éllo");
        assert_eq!(
            run("héllo", &[key(Home), key(Right), key(Backspace)]),
            "|éllo"
        );
        assert_eq!(run("ab", &[key(Left), key(Left), key(Left)]), "|ab");
        assert_eq!(run("ab", &[key(Right)]), "ab|");
        assert_eq!(run("ab", &[key(End), key(Delete)]), "ab|");
        assert_eq!(run("fix the bug  ", &[ctrl('w')]), "fix the |");
        assert_eq!(run("one two", &[ctrl('a'), ctrl('k')]), "|");
        assert_eq!(run("one two", &[key(Left), ctrl('u')]), "|o");
        assert_eq!(run("日本語", &[key(Left), key(Backspace)]), "日|語");
    }

    #[test]
    fn up_and_down_walk_the_lines_and_give_way_at_the_edges() {
        let mut t = "first line\nsecond\nthird one".to_string();
        let mut back = 0;
        assert!(edit(&mut t, &mut back, &key(KeyCode::Up)));
        assert_eq!(&t[at(&t, back)..], "\nthird one", "column kept, clamped");
        assert!(edit(&mut t, &mut back, &key(KeyCode::Up)));
        assert_eq!(&t[at(&t, back)..], "line\nsecond\nthird one");
        assert!(!edit(&mut t, &mut back, &key(KeyCode::Up)), "first line");
        assert!(edit(&mut t, &mut back, &key(KeyCode::Down)));
        assert!(edit(&mut t, &mut back, &key(KeyCode::Down)));
        assert!(!edit(&mut t, &mut back, &key(KeyCode::Down)), "last line");
        // Ctrl with other letters is not an edit.
        assert!(!edit(&mut t, &mut back, &ctrl('t')));
    }

    #[test]
    fn layout_wraps_rows_and_places_the_cursor() {
        let (rows, cur) = layout("abcdef", 0, 4);
        assert_eq!(rows, ["abcd", "ef"]);
        assert_eq!(cur, (1, 2));
        let (rows, cur) = layout("abcd", 0, 4);
        assert_eq!(rows, ["abcd", ""]);
        assert_eq!(cur, (1, 0));
        let (rows, cur) = layout("ab\ncd", 3, 10);
        assert_eq!(rows, ["ab", "cd"]);
        assert_eq!(cur, (0, 2));
        let (_, cur) = layout("日本語x", 1, 4);
        assert_eq!(cur, (1, 2), "wide characters take two columns");
        let (rows, cur) = layout("", 0, 10);
        assert_eq!((rows.len(), cur), (1, (0, 0)));
    }
}
