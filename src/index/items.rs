//! A Rust file's definitions and uses read by the lexer alone, without the
//! parser: for generated and large files (see `scan::file_tags`), which
//! (bindgen's bindings, Unicode and other tables, generated API crates)
//! were over half the bytes a cold index parsed. What the tags query finds
//! is read here from the tokens outside function bodies: each item's name,
//! kind, lines, first line, container (the `impl` or `trait` it is in) and
//! doc comment; calls, macro calls, capitalised type names and imports as
//! uses. The parser still reads every other file.

use super::around;
use super::lang::Lang;
use super::lexer::{Flavour, Kind, Lexer, Tok, keyword};
use super::skeleton::{self, Body};
use super::tags::{self, DefKind, Definition, RefKind, Reference};

/// A `{ … }` block the reader is inside: an impl's or trait's (named, a
/// container), a module's or an extern block's, or another.
struct Frame {
    container: Option<String>,
    /// The definition (a trait, a module) the block ends.
    def: Option<usize>,
}

/// A comment or an attribute since the last item: rows, and for a comment
/// its bytes.
struct Before {
    start_row: usize,
    end_row: usize,
    comment: Option<(usize, usize)>,
}

/// The definitions and uses of a Rust file, as [`tags::extract`] reads
/// them, sorted and deduplicated the same way.
pub fn rust(src: &[u8]) -> (Vec<Definition>, Vec<Reference>) {
    let (bodies, mut refs) = skeleton::bodies(Lang::Rust, src).unwrap_or_default();
    let mut r = Reader {
        src,
        lex: Lexer::new(src, Flavour::Rust),
        bodies,
        next_body: 0,
        frames: Vec::new(),
        defs: Vec::new(),
        open: None,
        item: None,
        modifiers: true,
        before: Vec::new(),
        depth: 0,
        in_use: false,
        frame_next: None,
    };
    r.read(&mut refs);
    tags::in_order(r.defs, refs)
}

struct Reader<'a> {
    src: &'a [u8],
    lex: Lexer<'a>,
    bodies: Vec<Body>,
    next_body: usize,
    frames: Vec<Frame>,
    defs: Vec<Definition>,
    /// The definition the current item's `;` or closing brace ends.
    open: Option<usize>,
    /// The current item's first token (after its attributes).
    item: Option<Tok>,
    /// Only modifiers (`pub(crate)`, `unsafe`, `extern "C"`, …) since the
    /// item's first token: a keyword now starts a definition.
    modifiers: bool,
    before: Vec<Before>,
    /// `(` and `[` nesting inside the current item.
    depth: usize,
    in_use: bool,
    /// The frame the item's next `{` opens (an impl's, a trait's, a module's).
    frame_next: Option<Frame>,
}

impl Reader<'_> {
    fn read(&mut self, refs: &mut Vec<Reference>) {
        let src = self.src;
        let mut prev: Option<Tok> = None;
        while let Some(t) = self.lex.next_or_comment() {
            if t.kind == Kind::Comment {
                let end_row = self.lex.line;
                // The parser's doc comment (`///`, `//!`) holds its newline.
                let text = &src[t.start..t.end];
                let doc = (text.starts_with(b"///") && !text.starts_with(b"////"))
                    || text.starts_with(b"//!");
                let (end, end_row) = if doc && src.get(t.end) == Some(&b'\n') {
                    (t.end + 1, end_row + 1)
                } else {
                    (t.end, end_row)
                };
                self.before.push(Before {
                    start_row: t.line,
                    end_row,
                    comment: Some((t.start, end)),
                });
                continue;
            }
            if self.depth == 0 && t.kind == Kind::Punct(b'#') && self.attribute(t) {
                prev = None;
                continue;
            }
            if self.item.is_none() && !matches!(t.kind, Kind::Punct(b'}' | b';')) {
                self.item = Some(t);
            }
            let at_start = self.modifiers;
            self.modifiers = at_start && self.modifier(t);
            if self.in_use {
                self.import(prev, t, refs);
            } else {
                skeleton::flush(src, Flavour::Rust, prev, Some(t), refs);
            }
            prev = Some(t);
            match t.kind {
                Kind::Ident if self.depth == 0 && at_start => self.item_keyword(t),
                Kind::Punct(b'(' | b'[' | b'{') if self.body_at(t) => {
                    let close = self.skip_body();
                    prev = None;
                    if let Some(close) = close {
                        self.close_body(t, close);
                    }
                }
                Kind::Punct(b'(' | b'[') => self.depth += 1,
                Kind::Punct(b')' | b']') => self.depth = self.depth.saturating_sub(1),
                // A `use` item's braces are a list, not a block; a
                // constant's or a type's, an expression.
                Kind::Punct(b'{' | b'}') if self.in_use => {}
                Kind::Punct(b'{') if self.in_value() => self.depth += 1,
                Kind::Punct(b'}') if self.depth > 0 => self.depth -= 1,
                Kind::Punct(b'{') if self.depth == 0 => {
                    let frame = self.frame_next.take().unwrap_or(Frame {
                        container: None,
                        def: None,
                    });
                    self.frames.push(frame);
                    self.end_item();
                }
                Kind::Punct(b'}') if self.depth == 0 => {
                    if let Some(f) = self.frames.pop()
                        && let Some(d) = f.def
                    {
                        self.defs[d].end_line = t.line as u32 + 1;
                    }
                    self.end_item();
                }
                Kind::Punct(b';') if self.depth == 0 => {
                    if let Some(d) = self.open {
                        self.defs[d].end_line = t.line as u32 + 1;
                    }
                    self.end_item();
                }
                _ => {}
            }
        }
    }

    /// Whether the current item is a constant or a type, whose braces
    /// hold an expression.
    fn in_value(&self) -> bool {
        self.open
            .is_some_and(|d| matches!(self.defs[d].kind, DefKind::Constant | DefKind::Type))
    }

    /// Whether `t` may stand before an item's keyword (`pub(in a::b)`,
    /// `unsafe`, `extern "C"`, `const fn`, …).
    fn modifier(&self, t: Tok) -> bool {
        self.depth > 0
            || matches!(t.kind, Kind::Punct(b'(' | b')'))
            || (t.kind == Kind::Ident
                && matches!(
                    &self.src[t.start..t.end],
                    b"pub" | b"unsafe" | b"async" | b"extern" | b"const" | b"default" | b"safe"
                ))
    }

    fn end_item(&mut self) {
        self.item = None;
        self.modifiers = true;
        self.open = None;
        self.in_use = false;
        self.frame_next = None;
        self.before.clear();
    }

    /// `#[…]` or `#![…]` from its `#`: read over and remembered as a
    /// line a doc comment may stand above; false when `#` starts nothing.
    fn attribute(&mut self, hash: Tok) -> bool {
        let save = self.lex.clone();
        let mut t = self.lex.next();
        let inner = t.is_some_and(|t| t.kind == Kind::Punct(b'!'));
        if inner {
            t = self.lex.next();
        }
        if !t.is_some_and(|t| t.kind == Kind::Punct(b'[')) {
            self.lex = save;
            return false;
        }
        let mut level = 1usize;
        while level > 0 {
            match self.lex.next().map(|t| t.kind) {
                Some(Kind::Punct(b'[')) => level += 1,
                Some(Kind::Punct(b']')) => level -= 1,
                Some(_) => {}
                None => break,
            }
        }
        // An inner attribute (`#![…]`) parts a comment from what follows,
        // as the parser's tree has it.
        if inner {
            self.before.clear();
        } else {
            self.before.push(Before {
                start_row: hash.line,
                end_row: self.lex.line,
                comment: None,
            });
        }
        true
    }

    /// Whether `t` opens a body the skeleton found.
    fn body_at(&mut self, t: Tok) -> bool {
        while self
            .bodies
            .get(self.next_body)
            .is_some_and(|b| b.start < t.end)
        {
            self.next_body += 1;
        }
        self.bodies
            .get(self.next_body)
            .is_some_and(|b| b.start == t.end)
    }

    /// Steps over the body `body_at` found; its closing bracket.
    fn skip_body(&mut self) -> Option<Tok> {
        let b = self.bodies[self.next_body];
        self.next_body += 1;
        let (row, col) = b.end_point;
        self.lex.seek(b.end, row, b.end - col);
        self.lex.next()
    }

    /// A body closed at `close`: a function's, a struct's, a macro's or
    /// a constant's value. A brace body ends its item.
    fn close_body(&mut self, open: Tok, close: Tok) {
        if let Some(d) = self.open {
            self.defs[d].end_line = close.line as u32 + 1;
            // As the query has it: a function with a body in a block
            // (an impl's, a trait's, a module's) is a method.
            if self.defs[d].kind == DefKind::Function && !self.frames.is_empty() {
                self.defs[d].kind = DefKind::Method;
            }
        }
        if open.kind == Kind::Punct(b'{') {
            self.end_item();
        }
    }

    /// A keyword at the item's level: a definition, an impl, a `use`.
    fn item_keyword(&mut self, t: Tok) {
        let src = self.src;
        let word = &src[t.start..t.end];
        let kind = match word {
            b"fn" => DefKind::Function,
            b"struct" | b"union" => DefKind::Struct,
            b"enum" => DefKind::Enum,
            b"trait" => DefKind::Trait,
            b"type" => DefKind::Type,
            b"mod" => DefKind::Module,
            b"const" | b"static" => DefKind::Constant,
            b"macro_rules" => DefKind::Macro,
            b"impl" => return self.impl_header(),
            b"use" => {
                self.in_use = true;
                return;
            }
            _ => return,
        };
        let save = self.lex.clone();
        if kind == DefKind::Macro && !self.lex.next().is_some_and(|n| n.kind == Kind::Punct(b'!')) {
            self.lex = save;
            return;
        }
        let mut name = self.lex.next();
        if kind == DefKind::Constant
            && name.is_some_and(|n| matches!(&src[n.start..n.end], b"mut" | b"ref"))
        {
            name = self.lex.next();
        }
        let Some(name) = name.filter(|n| {
            n.kind == Kind::Ident
                && !keyword(Flavour::Rust, &src[n.start..n.end])
                && !matches!(&src[n.start..n.end], b"extern" | b"unsafe")
        }) else {
            self.lex = save;
            return;
        };
        // A trait's `type Item;` is an associated type, not an item.
        if kind == DefKind::Type
            && self
                .frames
                .last()
                .is_some_and(|f| f.def.is_some_and(|d| self.defs[d].kind == DefKind::Trait))
        {
            return;
        }
        let start = self.item.unwrap_or(t);
        let container = self.frames.iter().rev().find_map(|f| f.container.clone());
        self.defs.push(Definition {
            name: String::from_utf8_lossy(&src[name.start..name.end]).into_owned(),
            kind,
            start_line: start.line as u32 + 1,
            end_line: name.line as u32 + 1,
            signature: tags::signature_at(src, start.start),
            container,
            doc: self.doc(start.line),
        });
        let d = self.defs.len() - 1;
        self.open = Some(d);
        if matches!(kind, DefKind::Trait | DefKind::Module) {
            let container = (kind == DefKind::Trait).then(|| self.defs[d].name.clone());
            self.frame_next = Some(Frame {
                container,
                def: Some(d),
            });
        }
    }

    /// The doc comment above an item starting on `row`.
    fn doc(&self, row: usize) -> String {
        let src = self.src;
        around::doc_above(
            row,
            self.before
                .iter()
                .map(|b| (b.start_row, b.end_row, b.comment.map(|(s, e)| &src[s..e]))),
        )
    }

    /// After `impl`: the type it is for names the block's frame (its
    /// text up to `<`, `(` or a space, as the parser's container is).
    fn impl_header(&mut self) {
        let src = self.src;
        let mut look = self.lex.clone();
        let mut angle = 0usize;
        let mut first: Option<Tok> = None;
        let mut end = src.len();
        while let Some(t) = look.next() {
            let word = &src[t.start..t.end];
            if angle == 0 {
                // The header ends at the block, or at a `where` clause.
                if matches!(t.kind, Kind::Punct(b'{' | b';')) || word == b"where" {
                    end = t.start;
                    break;
                }
                if word == b"for" {
                    first = None;
                    continue;
                }
                // `impl<T>`'s parameters come before the type.
                if t.kind != Kind::Punct(b'<') {
                    first.get_or_insert(t);
                }
            }
            // `<…>`, `(…)` and `[…]` (`[T; N]`) nest alike here.
            match t.kind {
                Kind::Punct(b'<' | b'(' | b'[') => angle += 1,
                Kind::Punct(b')' | b']') => angle = angle.saturating_sub(1),
                Kind::Punct(b'>') if !src[..t.start].ends_with(b"-") => {
                    angle = angle.saturating_sub(1)
                }
                _ => {}
            }
        }
        let container = first.and_then(|f| around::container_name(&src[f.start..end.max(f.start)]));
        self.frame_next = Some(Frame {
            container,
            def: None,
        });
    }

    /// A name in a `use` item: imported when a list or the item ends after
    /// it (or `as` renames it).
    fn import(&self, prev: Option<Tok>, t: Tok, refs: &mut Vec<Reference>) {
        let src = self.src;
        let Some(p) = prev.filter(|p| p.kind == Kind::Ident) else {
            return;
        };
        let name = &src[p.start..p.end];
        if matches!(
            name,
            b"self" | b"super" | b"crate" | b"as" | b"use" | b"pub"
        ) {
            return;
        }
        let ends = match t.kind {
            Kind::Punct(b',' | b'}' | b';') => true,
            Kind::Ident => &src[t.start..t.end] == b"as",
            _ => false,
        };
        // The alias after `as` is no import.
        let renamed = src[..p.start].trim_ascii_end().ends_with(b" as");
        if ends && !renamed {
            refs.push(Reference {
                name: String::from_utf8_lossy(name).into_owned(),
                kind: RefKind::Import,
                line: p.line as u32 + 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::assets::Assets;
    use crate::index::{Queries, extract};

    #[test]
    fn the_lexer_reads_what_the_parser_reads() {
        let src = r#"//! Bindings.
#![allow(dead_code)]
use core::fmt::{self, Debug as D};
use crate::ctypes::c_uint;

/// A flag.
pub const A: u32 = 1;
pub static mut B: *const u8 = core::ptr::null();
pub(in crate::x) const fn c() -> u8 { 1 }
pub unsafe fn d(p: *const T, q: *mut U) -> *const T {}
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct E {
    pub a: c_uint,
}
pub union F { a: u8 }
pub struct G(u8);
pub type H = [u8; 4];
impl<T: Copy> ::core::fmt::Debug for Wrap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { Ok(()) }
    type Output = u8;
    const N: usize = 2;
}
impl fmt::Display for &'static E {}
pub trait I {
    type Item;
    const M: u8;
    /// Required.
    fn j(&self);
    fn k(&self) {}
}
extern "C" {
    pub fn l(x: c_uint) -> c_uint;
    pub static m: u8;
}
pub mod n {
    pub fn o() {}
    pub enum P { Q = 1, R }
}
mod s;
macro_rules! t { ($x:expr) => { $x }; }
const TABLE: &[(char, char)] = &[('a', 'b')];
"#;
        let queries = Queries::new(Assets::new(None));
        let q = queries.get(super::Lang::Rust).unwrap();
        let (want, _) = extract(q, src.as_bytes()).unwrap();
        let (got, refs) = super::rust(src.as_bytes());
        assert_eq!(got, want);
        let found: Vec<_> = want
            .iter()
            .map(|d| (d.name.as_str(), d.kind, d.container.as_deref()))
            .collect();
        use super::DefKind::*;
        assert_eq!(
            found,
            [
                ("A", Constant, None),
                ("B", Constant, None),
                ("c", Function, None),
                ("d", Function, None),
                ("E", Struct, None),
                ("F", Struct, None),
                ("G", Struct, None),
                ("H", Type, None),
                ("fmt", Method, Some("Wrap")),
                ("Output", Type, Some("Wrap")),
                ("N", Constant, Some("Wrap")),
                ("I", Trait, None),
                ("M", Constant, Some("I")),
                ("j", Function, Some("I")),
                ("k", Method, Some("I")),
                ("l", Function, None),
                ("m", Constant, None),
                ("n", Module, None),
                ("o", Method, None),
                ("P", Enum, None),
                ("s", Module, None),
                ("t", Macro, None),
                ("TABLE", Constant, None)
            ]
        );
        let imports: Vec<_> = refs
            .iter()
            .filter(|r| r.kind == super::RefKind::Import)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(imports, ["Debug", "c_uint"]);
    }
}
