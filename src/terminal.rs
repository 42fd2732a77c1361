//! What reaches the terminal from the CLI: text from files, file names,
//! model replies and servers is untrusted, so control and escape sequences
//! in it are made visible instead of being obeyed (a reply must not hide a
//! line of the diff shown before `[y/N]`, a file name must not retitle the
//! terminal). The TUI draws through ratatui, which does the same.

use std::borrow::Cow;

fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// `s` with every control character except newline and tab shown as
/// `^X` (C0, DEL) or `<U+XXXX>` (C1, bidirectional overrides).
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !hidden(c) {
            out.push(c);
        } else if (c as u32) < 0x20 {
            out.push('^');
            out.push(char::from(b'@' + c as u8));
        } else if c == '\u{7f}' {
            out.push_str("^?");
        } else {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(visible("\x1b]0;pwned\x07"), "^[]0;pwned^G");
        assert_eq!(visible("ok\rhidden"), "ok^Mhidden");
        assert_eq!(visible("a\u{9b}31m\u{7f}"), "a<U+009B>31m^?");
        assert_eq!(visible("x\u{202E}gnp.exe"), "x<U+202E>gnp.exe");
    }
}
