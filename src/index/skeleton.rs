//! Function bodies found by a small lexer instead of the parser, so that
//! tree-sitter parses only a file's skeleton (items, signatures, types,
//! impls, modules) and not the statements inside each function, which are
//! most of a C or Rust file's bytes and most of a cold index's time. A
//! body's uses of other names (calls, macro calls, types) are read here
//! lexically, as the tags queries would have read them from its tree.
//! Rust's struct, union and enum bodies (fields and variants, which are
//! not definitions) are left out the same way.
//!
//! What is lost: definitions written inside a function body (a nested
//! `fn`, a local `struct`), which the repo map rarely shows anyway. A body
//! this lexer cannot close (unbalanced braces) is left to the parser.

use super::lang::Lang;
use super::tags::{RefKind, Reference};

/// A function body's inside: the bytes between its braces, and where its
/// opening brace's next byte is (0-based row, byte column) and its closing
/// brace (row, column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body {
    pub start: usize,
    pub end: usize,
    pub start_point: (usize, usize),
    pub end_point: (usize, usize),
}

/// The function bodies of `src` and the uses read from them; `None` for a
/// language this module does not cover (the parser reads all of it).
pub fn bodies(lang: Lang, src: &[u8]) -> Option<(Vec<Body>, Vec<Reference>)> {
    let flavour = match lang {
        Lang::Rust => Flavour::Rust,
        Lang::C => Flavour::C,
        Lang::Cpp => Flavour::Cpp,
        _ => return None,
    };
    let mut lex = Lexer::new(src, flavour);
    let mut bodies = Vec::new();
    let mut refs = Vec::new();
    // Rust: the bracket depth at which `fn NAME` was seen, until its body
    // or its `;`.
    let mut pending: Option<usize> = None;
    let mut depth = 0usize;
    let mut prev: Option<Tok> = None;
    while let Some(t) = lex.next() {
        let body_opens = match (flavour, t.kind) {
            // A function, or a struct, union or enum whose fields and
            // variants are no definitions (their types are read as uses).
            (Flavour::Rust, Kind::Ident)
                if matches!(&src[t.start..t.end], b"fn" | b"struct" | b"union" | b"enum") =>
            {
                let save = lex.clone();
                if lex.next().is_some_and(|n| n.kind == Kind::Ident) {
                    pending = Some(depth);
                }
                lex = save;
                false
            }
            (_, Kind::Punct(b'(' | b'[')) => {
                depth += 1;
                false
            }
            (_, Kind::Punct(b')' | b']')) => {
                depth = depth.saturating_sub(1);
                false
            }
            (Flavour::Rust, Kind::Punct(b';')) => {
                if pending == Some(depth) {
                    pending = None;
                }
                false
            }
            (Flavour::Rust, Kind::Punct(b'{')) => pending == Some(depth),
            (_, Kind::Punct(b'{')) => prev.is_some_and(|p| opens_c_body(src, flavour, p)),
            _ => false,
        };
        if body_opens {
            pending = None;
            let save = lex.clone();
            match body(&mut lex, &mut refs) {
                Some(close) => bodies.push(Body {
                    start: t.end,
                    end: close.start,
                    start_point: (t.line, t.end - t.line_start),
                    end_point: (close.line, close.start - close.line_start),
                }),
                None => {
                    lex = save;
                }
            }
            prev = None;
            continue;
        }
        prev = Some(t);
    }
    bodies.retain(|b| b.end > b.start);
    Some((bodies, refs))
}

/// Whether a `{` after `prev` opens a C or C++ function's body: after the
/// parameter list's `)`, or (C++) after a trailing qualifier.
fn opens_c_body(src: &[u8], flavour: Flavour, prev: Tok) -> bool {
    match prev.kind {
        Kind::Punct(b')') => true,
        Kind::Ident if flavour == Flavour::Cpp => matches!(
            &src[prev.start..prev.end],
            b"const" | b"noexcept" | b"override" | b"final"
        ),
        _ => false,
    }
}

/// Reads a body from after its `{` to its matching `}` (returned), with
/// the uses in it; `None` when the file ends first.
fn body(lex: &mut Lexer, refs: &mut Vec<Reference>) -> Option<Tok> {
    let src = lex.src;
    let mut level = 1usize;
    let mut prev: Option<Tok> = None;
    loop {
        let t = lex.next()?;
        match t.kind {
            Kind::Punct(b'{') => level += 1,
            Kind::Punct(b'}') => {
                level -= 1;
                if level == 0 {
                    flush(src, lex.flavour, prev, None, refs);
                    return Some(t);
                }
            }
            _ => {}
        }
        flush(src, lex.flavour, prev, Some(t), refs);
        prev = Some(t);
    }
}

/// The use an identifier `t` makes, seen with the token after it.
fn flush(
    src: &[u8],
    flavour: Flavour,
    t: Option<Tok>,
    next: Option<Tok>,
    refs: &mut Vec<Reference>,
) {
    let Some(t) = t.filter(|t| t.kind == Kind::Ident) else {
        return;
    };
    let name = &src[t.start..t.end];
    if keyword(flavour, name) {
        return;
    }
    let next_kind = next.map(|n| n.kind);
    let kind = match (flavour, next_kind) {
        (_, Some(Kind::Punct(b'('))) => RefKind::Call,
        // A turbofish call: `name::<T>(…)`.
        (Flavour::Rust, Some(Kind::Punct(b':'))) if turbofish_call(&src[t.end..]) => RefKind::Call,
        // A macro call: `name!(…)`, `name![…]`, `name!{…}` (not `a != b`).
        (Flavour::Rust, Some(Kind::Punct(b'!')))
            if next.is_some_and(|n| matches!(src.get(n.end), Some(b'(' | b'[' | b'{'))) =>
        {
            RefKind::Call
        }
        (Flavour::Rust, _) if name[0].is_ascii_uppercase() => RefKind::Type,
        // C: a name followed by another is a declaration's type.
        (Flavour::C | Flavour::Cpp, Some(Kind::Ident)) => RefKind::Type,
        _ => return,
    };
    refs.push(Reference {
        name: String::from_utf8_lossy(name).into_owned(),
        kind,
        line: t.line as u32 + 1,
    });
}

/// Whether `rest` (after a name) is `::<…>` then `(`.
fn turbofish_call(rest: &[u8]) -> bool {
    let rest = rest.trim_ascii_start();
    let Some(args) = rest.strip_prefix(b"::") else {
        return false;
    };
    let args = args.trim_ascii_start();
    if args.first() != Some(&b'<') {
        return false;
    }
    let mut level = 0usize;
    for (i, b) in args.iter().enumerate().take(256) {
        match b {
            b'<' => level += 1,
            b'>' if i > 0 && args[i - 1] == b'-' => {}
            b'>' => {
                level -= 1;
                if level == 0 {
                    return args[i + 1..].trim_ascii_start().first() == Some(&b'(');
                }
            }
            b';' | b'{' | b'}' => return false,
            _ => {}
        }
    }
    false
}

fn keyword(flavour: Flavour, name: &[u8]) -> bool {
    const RUST: &[&[u8]] = &[
        b"as",
        b"async",
        b"await",
        b"box",
        b"break",
        b"const",
        b"continue",
        b"crate",
        b"dyn",
        b"else",
        b"enum",
        b"false",
        b"fn",
        b"for",
        b"if",
        b"impl",
        b"in",
        b"let",
        b"loop",
        b"match",
        b"mod",
        b"move",
        b"mut",
        b"pub",
        b"ref",
        b"return",
        b"self",
        b"Self",
        b"static",
        b"struct",
        b"super",
        b"trait",
        b"true",
        b"type",
        b"unsafe",
        b"use",
        b"where",
        b"while",
        b"yield",
    ];
    const C: &[&[u8]] = &[
        b"alignof",
        b"auto",
        b"break",
        b"case",
        b"catch",
        b"char",
        b"class",
        b"const",
        b"const_cast",
        b"continue",
        b"decltype",
        b"default",
        b"delete",
        b"do",
        b"double",
        b"dynamic_cast",
        b"else",
        b"enum",
        b"extern",
        b"false",
        b"float",
        b"for",
        b"goto",
        b"if",
        b"inline",
        b"int",
        b"long",
        b"namespace",
        b"new",
        b"noexcept",
        b"nullptr",
        b"operator",
        b"private",
        b"protected",
        b"public",
        b"register",
        b"reinterpret_cast",
        b"return",
        b"short",
        b"signed",
        b"sizeof",
        b"static",
        b"static_assert",
        b"static_cast",
        b"struct",
        b"switch",
        b"template",
        b"this",
        b"throw",
        b"true",
        b"try",
        b"typedef",
        b"typename",
        b"union",
        b"unsigned",
        b"using",
        b"virtual",
        b"void",
        b"volatile",
        b"while",
    ];
    match flavour {
        Flavour::Rust => RUST.contains(&name),
        Flavour::C | Flavour::Cpp => C.contains(&name),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Rust,
    C,
    Cpp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
    /// 0-based row of `start`, and the byte where that row begins.
    line: usize,
    line_start: usize,
}

/// Identifiers and punctuation, with comments, strings, character
/// literals, lifetimes, numbers and (C) preprocessor lines skipped.
#[derive(Clone)]
struct Lexer<'a> {
    src: &'a [u8],
    flavour: Flavour,
    i: usize,
    line: usize,
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
    fn new(src: &'a [u8], flavour: Flavour) -> Lexer<'a> {
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

    fn next(&mut self) -> Option<Tok> {
        loop {
            let b = *self.src.get(self.i)?;
            let fresh = self.line_fresh;
            if !b.is_ascii_whitespace() {
                self.line_fresh = false;
            }
            match b {
                _ if b.is_ascii_whitespace() => self.bump(),
                b'/' if self.at(1) == b'/' => self.skip_past(b"\n"),
                b'/' if self.at(1) == b'*' => self.block_comment(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(lang: Lang, src: &str) -> Vec<String> {
        let (b, _) = bodies(lang, src.as_bytes()).unwrap();
        b.iter()
            .map(|b| src[b.start..b.end].trim().to_string())
            .collect()
    }

    #[test]
    fn rust_bodies_but_not_items_around_them() {
        let src = r##"
impl Foo {
    fn new() -> Self { Self { a: "}" } }
    fn decl(&self);
    pub fn raw<'a>(x: &'a str) -> Option<char> where T: Fn(u8) { let s = r#"{"#; '{' }
}
struct S { f: fn(u8) -> u8 }
struct T(u8);
enum E { A = 1 }
fn main() { /* { nested /* } */ */ go!(1); let c = b'}'; }
"##;
        assert_eq!(
            inside(Lang::Rust, src),
            [
                r#"Self { a: "}" }"#,
                r##"let s = r#"{"#; '{'"##,
                "f: fn(u8) -> u8",
                "A = 1",
                "/* { nested /* } */ */ go!(1); let c = b'}';"
            ]
        );
    }

    #[test]
    fn c_bodies_skip_strings_directives_and_initialisers() {
        let src = "#define OPEN {\nstatic int t[] = { 1, 2 };\nint f(int a)\n{\n  if (a) { return '}'; }\n  return g(\"{\");\n}\nstruct s { int x; };\n";
        assert_eq!(
            inside(Lang::C, src),
            ["if (a) { return '}'; }\n  return g(\"{\");"]
        );
        let cpp = "namespace n { int A::get() const { return x; } auto s = R\"x({)x\"; }";
        assert_eq!(inside(Lang::Cpp, cpp), ["return x;"]);
    }

    #[test]
    fn uses_in_bodies_are_calls_macros_and_types() {
        let src = "fn f() {\n    let v: Vec<Item> = make(1);\n    v.push(x); ok!(2); if a != b {}\n    n::<Vec<u8>>(); m::<F>;\n}\n";
        let (_, refs) = bodies(Lang::Rust, src.as_bytes()).unwrap();
        let got: Vec<_> = refs
            .iter()
            .map(|r| (r.name.as_str(), r.kind, r.line))
            .collect();
        assert_eq!(
            got,
            [
                ("Vec", RefKind::Type, 2),
                ("Item", RefKind::Type, 2),
                ("make", RefKind::Call, 2),
                ("push", RefKind::Call, 3),
                ("ok", RefKind::Call, 3),
                ("n", RefKind::Call, 4),
                ("Vec", RefKind::Type, 4),
                ("F", RefKind::Type, 4),
            ]
        );
    }

    #[test]
    fn unbalanced_bodies_are_left_to_the_parser_and_points_are_right() {
        assert!(inside(Lang::Rust, "fn f() { {").is_empty());
        let src = "fn a() {}\n  fn b() {\n x }";
        let (b, _) = bodies(Lang::Rust, src.as_bytes()).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].start_point, b[0].end_point), ((1, 10), (2, 3)));
    }
}
