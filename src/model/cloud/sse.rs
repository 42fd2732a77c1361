//! Server-sent events, parsed incrementally: bytes arrive in arbitrary
//! pieces (an event split across reads, a UTF-8 character split in two), lines
//! end in LF, CRLF or CR, `:` lines are comments, `data:` lines join with LF.

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    /// The last byte seen was a CR (a following LF belongs to it).
    after_cr: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feed bytes; returns the events they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
                    if let Some(e) = self.line(&line) {
                        out.push(e);
                    }
                }
                _ => self.buf.push(b),
            }
        }
        out
    }

    /// The event still pending when the stream ends without a blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            self.line(&line);
        }
        self.dispatch()
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        if self.data.is_empty() && self.event.is_none() {
            return None;
        }
        let e = SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data).join("\n"),
        };
        Some(e)
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => self.data.push(value.to_string()),
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = ": keep-alive\r\n\r\nevent: delta\r\ndata: {\"t\":\"héllo\"}\r\n\r\ndata: line one\ndata: line two\n\ndata:[DONE]\r\rdata: tail";

    #[test]
    fn any_split_gives_the_same_events() {
        let whole = {
            let mut p = SseParser::new();
            let mut v = p.feed(STREAM.as_bytes());
            v.extend(p.finish());
            v
        };
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    event: Some("delta".into()),
                    data: "{\"t\":\"héllo\"}".into()
                },
                SseEvent {
                    event: None,
                    data: "line one\nline two".into()
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into()
                },
                SseEvent {
                    event: None,
                    data: "tail".into()
                },
            ]
        );
        let bytes = STREAM.as_bytes();
        for cut in 0..bytes.len() {
            for cut2 in cut..bytes.len() {
                let mut p = SseParser::new();
                let mut v = p.feed(&bytes[..cut]);
                v.extend(p.feed(&bytes[cut..cut2]));
                v.extend(p.feed(&bytes[cut2..]));
                v.extend(p.finish());
                assert_eq!(v, whole, "split at {cut}/{cut2}");
            }
        }
    }
}
