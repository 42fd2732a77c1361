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
use super::lexer::{Flavour, Kind, Lexer, Tok, keyword};
use super::tags::{RefKind, Reference};

/// A body's inside: the bytes between its brackets, and where its opening
/// bracket's next byte is (0-based row, byte column) and its closing
/// bracket (row, column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body {
    pub start: usize,
    pub end: usize,
    pub start_point: (usize, usize),
    pub end_point: (usize, usize),
}

/// The bodies of `src` the parser need not read (functions', Rust
/// structs', enums' and unions', constant initializers' and macro calls'
/// insides, C initializers') and the uses read from them; `None` for a
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
    // Rust: the depth at which `const NAME` or `static NAME` was seen,
    // until its `=` or `;`.
    let mut constant: Option<usize> = None;
    let mut depth = 0usize;
    let mut prev: Option<Tok> = None;
    while let Some(t) = lex.next() {
        let word = &src[t.start..t.end];
        let opened = match (flavour, t.kind) {
            // A function, or a struct, union or enum whose fields and
            // variants are no definitions (their types are read as uses).
            (Flavour::Rust, Kind::Ident)
                if matches!(word, b"fn" | b"struct" | b"union" | b"enum") =>
            {
                if peek(&lex).is_some_and(|n| n.kind == Kind::Ident) {
                    pending = Some(depth);
                }
                None
            }
            (Flavour::Rust, Kind::Ident) if matches!(word, b"const" | b"static") => {
                if peek(&lex).is_some_and(|n| {
                    n.kind == Kind::Ident
                        && !matches!(
                            &src[n.start..n.end],
                            b"fn" | b"unsafe" | b"async" | b"extern"
                        )
                }) {
                    constant = Some(depth);
                }
                None
            }
            (Flavour::Rust, Kind::Punct(b'=')) if constant == Some(depth) => {
                constant = None;
                initializer(&mut lex, &mut refs)
            }
            // A macro call or `macro_rules!` outside a function: its
            // tokens define nothing the parser would see.
            (Flavour::Rust, Kind::Punct(b'!')) if prev.is_some_and(|p| p.kind == Kind::Ident) => {
                macro_group(&mut lex).and_then(|open| read_group(&mut lex, open, &mut refs))
            }
            (_, Kind::Punct(b'(' | b'[')) => {
                depth += 1;
                None
            }
            (_, Kind::Punct(b')' | b']')) => {
                depth = depth.saturating_sub(1);
                None
            }
            (Flavour::Rust, Kind::Punct(b';')) => {
                if pending == Some(depth) {
                    pending = None;
                }
                if constant == Some(depth) {
                    constant = None;
                }
                None
            }
            (Flavour::Rust, Kind::Punct(b'{')) => {
                constant = None;
                if pending == Some(depth) {
                    pending = None;
                    read_group(&mut lex, t, &mut refs)
                } else {
                    None
                }
            }
            // A C function's body, or an initializer's braces.
            (_, Kind::Punct(b'{'))
                if prev.is_some_and(|p| {
                    opens_c_body(src, flavour, p) || p.kind == Kind::Punct(b'=')
                }) =>
            {
                read_group(&mut lex, t, &mut refs)
            }
            _ => None,
        };
        match opened {
            Some((open, close)) => {
                prev = None;
                bodies.push(Body {
                    start: open.end,
                    end: close.start,
                    start_point: (open.line, open.end - open.line_start),
                    end_point: (close.line, close.start - close.line_start),
                });
            }
            None => prev = Some(t),
        }
    }
    Some((bodies, refs))
}

/// The group opening at `open` (the lexer just after it) read to its
/// close, its uses added to `refs`: `(open, close)`; `None`, the lexer and
/// `refs` as they were, when it does not close.
fn read_group(lex: &mut Lexer, open: Tok, refs: &mut Vec<Reference>) -> Option<(Tok, Tok)> {
    let Kind::Punct(bracket) = open.kind else {
        return None;
    };
    let save = lex.clone();
    let had = refs.len();
    match group(lex, bracket, refs) {
        Some(close) => Some((open, close)),
        None => {
            *lex = save;
            refs.truncate(had);
            None
        }
    }
}

/// The token after the lexer's cursor, without moving it.
fn peek(lex: &Lexer) -> Option<Tok> {
    lex.clone().next()
}

/// After a Rust constant's `=`: when its value is a bracketed group (`[…]`,
/// `&[…]`, `Path {…}`, `Path::<T> {…}`, `f(…)`) ended by the item's `;`, that group read
/// (as [`read_group`]); otherwise `None`, the lexer and `refs` as they
/// were.
fn initializer(lex: &mut Lexer, refs: &mut Vec<Reference>) -> Option<(Tok, Tok)> {
    let save = lex.clone();
    let had = refs.len();
    let found = (|| loop {
        let t = lex.next()?;
        match t.kind {
            Kind::Ident | Kind::Punct(b'&' | b':' | b'<' | b'>' | b',') => {}
            Kind::Punct(b'(' | b'[' | b'{') => {
                let read = read_group(lex, t, refs)?;
                return (peek(lex)?.kind == Kind::Punct(b';')).then_some(read);
            }
            _ => return None,
        }
    })();
    if found.is_none() {
        *lex = save;
        refs.truncate(had);
    }
    found
}

/// After a Rust `name!` (or `macro_rules! name`): the group's opening
/// bracket, the lexer left just after it; otherwise `None`, the lexer
/// where it was.
fn macro_group(lex: &mut Lexer) -> Option<Tok> {
    let save = lex.clone();
    let mut t = lex.next();
    if t.is_some_and(|t| t.kind == Kind::Ident) {
        t = lex.next();
    }
    match t {
        Some(t) if matches!(t.kind, Kind::Punct(b'(' | b'[' | b'{')) => Some(t),
        _ => {
            *lex = save;
            None
        }
    }
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

/// Reads a group from after its opening bracket `open` to the matching
/// closing one (returned), with the uses in it; `None` when the file ends
/// first. Only brackets of `open`'s kind count: C's preprocessor branches
/// can leave parentheses unbalanced in a function, but not its braces.
fn group(lex: &mut Lexer, open: u8, refs: &mut Vec<Reference>) -> Option<Tok> {
    let src = lex.src;
    let close = match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    };
    let mut level = 1usize;
    let mut prev: Option<Tok> = None;
    loop {
        let t = lex.next()?;
        match t.kind {
            Kind::Punct(b) if b == open => level += 1,
            Kind::Punct(b) if b == close => {
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
pub(super) fn flush(
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
    fn c_bodies_and_initialisers_skip_strings_and_directives() {
        let src = "#define OPEN {\nstatic int t[] = { 1, {2} };\nint f(int a)\n{\n  if (a) { return '}'; }\n  return g(\"{\");\n}\nstruct s { int x; };\n";
        assert_eq!(
            inside(Lang::C, src),
            ["1, {2}", "if (a) { return '}'; }\n  return g(\"{\");"]
        );
        let cpp = "namespace n { int A::get() const { return x; } auto s = R\"x({)x\"; }";
        assert_eq!(inside(Lang::Cpp, cpp), ["return x;"]);
    }

    #[test]
    fn rust_constant_tables_and_macro_calls_are_bodies() {
        let src = r#"
pub const T: &'static [(char, char)] = &[('a', 'b'), ('{', '}')];
static S: Lazy<Map> = Lazy::new(|| make(1));
const N: usize = 3;
const M: [u8; 2] = [1, 2] ;
const X: u8 = f(1) + 1;
const fn g() -> u8 { 1 }
impl !Send for A {}
struct B<const K: usize = 2> { k: [u8; K] }
macro_rules! m { ($x:expr) => { $x } }
thread_local! { static L: u8 = 0; }
fn h() -> ! { loop {} }
"#;
        assert_eq!(
            inside(Lang::Rust, src),
            [
                "('a', 'b'), ('{', '}')",
                "|| make(1)",
                "1, 2",
                "1",
                "k: [u8; K]",
                "($x:expr) => { $x }",
                "static L: u8 = 0;",
                "loop {}"
            ]
        );
        let (_, refs) = bodies(Lang::Rust, src.as_bytes()).unwrap();
        assert!(
            refs.iter()
                .any(|r| r.name == "make" && r.kind == RefKind::Call && r.line == 3)
        );
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
        // `a`'s body is empty, which the parser's ranges leave alone.
        assert_eq!(b.len(), 2);
        assert_eq!((b[1].start_point, b[1].end_point), ((1, 10), (2, 3)));
    }
}
