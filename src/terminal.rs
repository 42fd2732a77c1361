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

/// Seconds since the epoch as a local date and time (`2026-12-02 09:58`).
#[cfg(not(unix))]
pub fn local_time(secs: u64) -> String {
    // Without localtime_r: UTC, said so.
    let days = secs / 86_400;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

/// Seconds since the epoch as a local date and time (`2026-12-02 09:58`).
#[cfg(unix)]
pub fn local_time(secs: u64) -> String {
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which outlives the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return secs.to_string();
        }
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min
    )
}

/// `n` and the noun, singular for one.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

    #[test]
    fn dates_and_counts_read_as_words() {
        let d = local_time(1_796_203_167);
        assert!(d.starts_with("2026-12-") && d.len() == 16, "{d}");
        assert_eq!(count(1, "turn", "turns"), "1 turn");
        assert_eq!(count(3, "turn", "turns"), "3 turns");
    }
}
