//! A file's text as edits see it: lines without terminators, LF only, no BOM.
//! What the file had on disk (CRLF, a BOM, a missing final newline) is kept
//! beside the lines so the bytes written back look like the user's own.

/// A text file split for editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileText {
    pub lines: Vec<String>,
    /// The last line ended with a newline.
    pub final_newline: bool,
    pub crlf: bool,
    pub bom: bool,
}

const BOM: &str = "\u{feff}";

impl FileText {
    /// Decode bytes from disk; `None` when they are not UTF-8 text (binary files are not edited).
    pub fn decode(bytes: &[u8]) -> Option<FileText> {
        let s = std::str::from_utf8(bytes).ok()?;
        if s.contains('\0') {
            return None;
        }
        let (bom, s) = match s.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        // Only a file whose every newline is CRLF is treated as CRLF; a mixed file
        // keeps its `\r`s inside the lines so untouched lines are written back as they were.
        let newlines = s.matches('\n').count();
        let crlf = newlines > 0 && s.matches("\r\n").count() == newlines;
        let owned;
        let s = if crlf {
            owned = s.replace("\r\n", "\n");
            owned.as_str()
        } else {
            s
        };
        let mut t = FileText::from_normalized(s);
        t.crlf = crlf;
        t.bom = bom;
        Some(t)
    }

    /// Text that is already LF-only and BOM-free (a model's reply, a new file).
    pub fn from_normalized(s: &str) -> FileText {
        let final_newline = s.ends_with('\n');
        let body = s.strip_suffix('\n').unwrap_or(s);
        let lines = if s.is_empty() {
            Vec::new()
        } else {
            body.split('\n').map(String::from).collect()
        };
        FileText {
            lines,
            final_newline,
            crlf: false,
            bom: false,
        }
    }

    /// The normalized text (LF, no BOM).
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        if self.final_newline && !self.lines.is_empty() {
            s.push('\n');
        }
        s
    }

    /// The bytes to write: the text with the file's own line endings and BOM.
    pub fn encode(&self) -> Vec<u8> {
        encode_like(&self.text(), self.crlf, self.bom)
    }
}

/// `text` (LF) written with CRLF line endings and a BOM when the file had them.
pub fn encode_like(text: &str, crlf: bool, bom: bool) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + 8);
    if bom {
        out.push_str(BOM);
    }
    if crlf {
        out.push_str(&text.replace('\n', "\r\n"));
    } else {
        out.push_str(text);
    }
    out.into_bytes()
}

/// Content hash used to notice that a file changed on disk since a proposal.
pub fn hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_crlf_bom_and_missing_final_newline() {
        for bytes in [
            &b"a\nb\n"[..],
            b"a\nb",
            b"a\r\nb\r\n",
            b"\xef\xbb\xbfa\r\nb",
            b"",
            b"\n",
            b"mixed\r\nends\n",
        ] {
            let t = FileText::decode(bytes).unwrap();
            assert_eq!(t.encode(), bytes, "{:?}", String::from_utf8_lossy(bytes));
        }
        let t = FileText::decode(b"\xef\xbb\xbfa\r\nb\r\n").unwrap();
        assert!(t.crlf && t.bom && t.final_newline);
        assert_eq!(t.lines, ["a", "b"]);
        assert!(FileText::decode(b"\x00\x01bin").is_none());
        assert!(FileText::decode(b"\xff\xfe").is_none());
    }
}
