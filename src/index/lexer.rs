//! The small lexer under skeleton.rs: identifiers and punctuation of Rust,
//! C and C++ source, with comments, strings, character literals,
//! lifetimes, numbers and (C) preprocessor lines stepped over, each token
//! with its line.

pub(super) fn keyword(flavour: Flavour, name: &[u8]) -> bool {
    match flavour {
        Flavour::Rust => matches!(
            name,
            b"as"
                | b"async"
                | b"await"
                | b"box"
                | b"break"
                | b"const"
                | b"continue"
                | b"crate"
                | b"dyn"
                | b"else"
                | b"enum"
                | b"false"
                | b"fn"
                | b"for"
                | b"if"
                | b"impl"
                | b"in"
                | b"let"
                | b"loop"
                | b"match"
                | b"mod"
                | b"move"
                | b"mut"
                | b"pub"
                | b"ref"
                | b"return"
                | b"self"
                | b"Self"
                | b"static"
                | b"struct"
                | b"super"
                | b"trait"
                | b"true"
                | b"type"
                | b"unsafe"
                | b"use"
                | b"where"
                | b"while"
                | b"yield"
        ),
        Flavour::C | Flavour::Cpp => matches!(
            name,
            b"alignof"
                | b"auto"
                | b"break"
                | b"case"
                | b"catch"
                | b"char"
                | b"class"
                | b"const"
                | b"const_cast"
                | b"continue"
                | b"decltype"
                | b"default"
                | b"delete"
                | b"do"
                | b"double"
                | b"dynamic_cast"
                | b"else"
                | b"enum"
                | b"extern"
                | b"false"
                | b"float"
                | b"for"
                | b"goto"
                | b"if"
                | b"inline"
                | b"int"
                | b"long"
                | b"namespace"
                | b"new"
                | b"noexcept"
                | b"nullptr"
                | b"operator"
                | b"private"
                | b"protected"
                | b"public"
                | b"register"
                | b"reinterpret_cast"
                | b"return"
                | b"short"
                | b"signed"
                | b"sizeof"
                | b"static"
                | b"static_assert"
                | b"static_cast"
                | b"struct"
                | b"switch"
                | b"template"
                | b"this"
                | b"throw"
                | b"true"
                | b"try"
                | b"typedef"
                | b"typename"
                | b"union"
                | b"unsigned"
                | b"using"
                | b"virtual"
                | b"void"
                | b"volatile"
                | b"while"
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    Rust,
    C,
    Cpp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Ident,
    Punct(u8),
    /// `// …` up to its line's end, or `/* … */`: only from
    /// [`Lexer::next_or_comment`].
    Comment,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Tok {
    pub(super) kind: Kind,
    pub(super) start: usize,
    pub(super) end: usize,
    /// 0-based row of `start`, and the byte where that row begins.
    pub(super) line: usize,
    pub(super) line_start: usize,
}

/// Identifiers and punctuation, with comments, strings, character
/// literals, lifetimes, numbers and (C) preprocessor lines skipped.
#[derive(Clone)]
pub(super) struct Lexer<'a> {
    pub(super) src: &'a [u8],
    pub(super) flavour: Flavour,
    i: usize,
    pub(super) line: usize,
    line_start: usize,
    /// Only whitespace since the line began (a `#` there is a directive).
    line_fresh: bool,
}

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'a> Lexer<'a> {
    pub(super) fn new(src: &'a [u8], flavour: Flavour) -> Lexer<'a> {
        Lexer {
            src,
            flavour,
            i: 0,
            line: 0,
            line_start: 0,
            line_fresh: true,
        }
    }

    fn at(&self, k: usize) -> u8 {
        self.src.get(self.i + k).copied().unwrap_or(0)
    }

    /// Steps over one byte, counting lines.
    fn bump(&mut self) {
        if self.src[self.i] == b'\n' {
            self.line += 1;
            self.line_start = self.i + 1;
            self.line_fresh = true;
        }
        self.i += 1;
    }

    /// Steps to just after the first `end` at or after the cursor (or EOF).
    fn skip_past(&mut self, end: &[u8]) {
        while self.i < self.src.len() {
            if self.src[self.i..].starts_with(end) {
                for _ in 0..end.len() {
                    self.bump();
                }
                return;
            }
            self.bump();
        }
    }

    /// A quoted literal from its opening `q`, with backslash escapes.
    fn quoted(&mut self, q: u8) {
        self.bump();
        while self.i < self.src.len() {
            match self.src[self.i] {
                b'\\' => {
                    self.bump();
                    if self.i < self.src.len() {
                        self.bump();
                    }
                }
                b if b == q => {
                    self.bump();
                    return;
                }
                // C strings and chars end at the line's end.
                b'\n' if self.flavour != Flavour::Rust => return,
                _ => self.bump(),
            }
        }
    }

    /// Rust's `/* … */`, which nests.
    fn block_comment(&mut self) {
        let mut level = 0usize;
        while self.i < self.src.len() {
            if self.src[self.i..].starts_with(b"/*") {
                level += 1;
                self.bump();
                self.bump();
            } else if self.src[self.i..].starts_with(b"*/") {
                self.bump();
                self.bump();
                level -= 1;
                if level == 0 || self.flavour != Flavour::Rust {
                    return;
                }
            } else {
                self.bump();
            }
        }
    }

    /// A raw string from the cursor at its `#`s or `"` (Rust `r#"…"#`).
    fn rust_raw(&mut self) {
        let mut hashes = 0;
        while self.at(0) == b'#' {
            hashes += 1;
            self.bump();
        }
        self.bump(); // the quote
        let mut end = vec![b'"'];
        end.extend(std::iter::repeat_n(b'#', hashes));
        self.skip_past(&end);
    }

    /// C++ `R"delim(…)delim"` from the cursor at its `"`.
    fn cpp_raw(&mut self) {
        self.bump();
        let start = self.i;
        while self.i < self.src.len() && !matches!(self.src[self.i], b'(' | b'\n' | b'"') {
            self.bump();
        }
        let mut end = vec![b')'];
        end.extend_from_slice(&self.src[start..self.i]);
        end.push(b'"');
        self.skip_past(&end);
    }

    /// A `'` in Rust: a character literal, or a lifetime or label.
    fn rust_quote(&mut self) {
        if self.at(1) == b'\\' {
            return self.quoted(b'\'');
        }
        // One (UTF-8) character, then `'`: a literal.
        let width = match self.at(1) {
            b if b < 0x80 => 1,
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            _ => 2,
        };
        if self.at(1 + width) == b'\'' {
            for _ in 0..width + 2 {
                self.bump();
            }
        } else {
            self.bump(); // a lifetime: its name is lexed as an identifier
        }
    }

    /// The next identifier or punctuation mark.
    pub(super) fn next(&mut self) -> Option<Tok> {
        loop {
            let t = self.next_or_comment()?;
            if t.kind != Kind::Comment {
                return Some(t);
            }
        }
    }

    /// Moves the cursor to byte `at`, the start of row `row` being at
    /// byte `line_start` (a point a token or body gave).
    pub(super) fn seek(&mut self, at: usize, row: usize, line_start: usize) {
        self.i = at;
        self.line = row;
        self.line_start = line_start;
        self.line_fresh = false;
    }

    /// The next identifier, punctuation mark or comment.
    pub(super) fn next_or_comment(&mut self) -> Option<Tok> {
        loop {
            let b = *self.src.get(self.i)?;
            let fresh = self.line_fresh;
            if !b.is_ascii_whitespace() {
                self.line_fresh = false;
            }
            match b {
                _ if b.is_ascii_whitespace() => self.bump(),
                b'/' if matches!(self.at(1), b'/' | b'*') => {
                    let (start, line, line_start) = (self.i, self.line, self.line_start);
                    if self.at(1) == b'/' {
                        while self.i < self.src.len() && self.src[self.i] != b'\n' {
                            self.i += 1;
                        }
                    } else {
                        self.block_comment();
                    }
                    return Some(Tok {
                        kind: Kind::Comment,
                        start,
                        end: self.i,
                        line,
                        line_start,
                    });
                }
                b'"' => self.quoted(b'"'),
                b'\'' if self.flavour == Flavour::Rust => self.rust_quote(),
                b'\'' => self.quoted(b'\''),
                b'#' if fresh && self.flavour != Flavour::Rust => self.directive(),
                b'0'..=b'9' => self.number(),
                _ if ident_start(b) => {
                    let (start, line, line_start) = (self.i, self.line, self.line_start);
                    while self.i < self.src.len() && ident_char(self.src[self.i]) {
                        self.i += 1;
                    }
                    let word = &self.src[start..self.i];
                    let next = self.at(0);
                    match self.flavour {
                        Flavour::Rust
                            if matches!(word, b"r" | b"br" | b"cr")
                                && matches!(next, b'"' | b'#') =>
                        {
                            if next == b'"' || self.raw_hashes_then_quote() {
                                self.rust_raw();
                                continue;
                            }
                            // `r#name`: a raw identifier.
                            self.i += 1;
                            while self.i < self.src.len() && ident_char(self.src[self.i]) {
                                self.i += 1;
                            }
                        }
                        Flavour::Rust if matches!(word, b"b" | b"c") && next == b'"' => {
                            self.quoted(b'"');
                            continue;
                        }
                        Flavour::Rust if word == b"b" && next == b'\'' => {
                            self.quoted(b'\'');
                            continue;
                        }
                        Flavour::Cpp
                            if matches!(word, b"R" | b"LR" | b"uR" | b"UR" | b"u8R")
                                && next == b'"' =>
                        {
                            self.cpp_raw();
                            continue;
                        }
                        _ => {}
                    }
                    return Some(Tok {
                        kind: Kind::Ident,
                        start,
                        end: self.i,
                        line,
                        line_start,
                    });
                }
                _ => {
                    let t = Tok {
                        kind: Kind::Punct(b),
                        start: self.i,
                        end: self.i + 1,
                        line: self.line,
                        line_start: self.line_start,
                    };
                    self.bump();
                    return Some(t);
                }
            }
        }
    }

    fn raw_hashes_then_quote(&self) -> bool {
        let rest = &self.src[self.i..];
        let n = rest.iter().take_while(|b| **b == b'#').count();
        rest.get(n) == Some(&b'"')
    }

    /// A number with its suffix (`0x1F`, `1e-3`, `10u32`, `1'000`).
    fn number(&mut self) {
        let start = self.i;
        while self.i < self.src.len() {
            let b = self.src[self.i];
            let sign = matches!(b, b'+' | b'-')
                && matches!(self.src[self.i - 1], b'e' | b'E' | b'p' | b'P')
                && !self.src[start..].starts_with(b"0x");
            let sep = b == b'\'' && self.flavour != Flavour::Rust && ident_char(self.at(1));
            if ident_char(b) || (b == b'.' && self.at(1).is_ascii_digit()) || sign || sep {
                self.i += 1;
            } else {
                return;
            }
        }
    }

    /// A preprocessor line and its backslash continuations.
    fn directive(&mut self) {
        while self.i < self.src.len() {
            match self.src[self.i] {
                b'\\' if self.at(1) == b'\n' => {
                    self.bump();
                    self.bump();
                }
                b'\\' if self.at(1) == b'\r' && self.at(2) == b'\n' => {
                    self.bump();
                    self.bump();
                    self.bump();
                }
                b'\n' => return,
                b'/' if self.at(1) == b'*' => self.block_comment(),
                b'/' if self.at(1) == b'/' => {
                    self.skip_past(b"\n");
                    return;
                }
                _ => self.bump(),
            }
        }
    }
}
