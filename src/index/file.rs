//! One indexed file: its identity on disk (for the cache), what kind of file it
//! is, and its tags in a compact form (interned names, one signature buffer).

use serde::{Deserialize, Serialize};

use super::lang::Lang;
use super::names::{NameId, Names};
use super::tags::{DefKind, Definition, RefKind, Reference};

/// Why a file has (or has no) tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileStatus {
    /// Parsed with its language's grammar.
    Parsed,
    /// A text file in a language locus does not parse; listed, not tagged.
    Unsupported,
    /// Contains NUL bytes in its first 8 KiB.
    Binary,
    /// Larger than `index.max_file_bytes`.
    TooLarge,
    /// A line longer than `index.max_line_bytes`: minified or generated.
    Minified,
    /// Could not be read or parsed; the reason.
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Def {
    pub name: NameId,
    pub kind: DefKind,
    pub start_line: u32,
    pub end_line: u32,
    /// The class, impl, trait or module it is written inside.
    pub container: Option<NameId>,
    sig_start: u32,
    sig_len: u32,
    /// The doc line follows the signature in the buffer.
    doc_len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    pub name: NameId,
    pub kind: RefKind,
    pub line: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub size: u64,
    pub mtime_ns: u64,
    /// xxh3 of the contents (0 when not read).
    pub hash: u64,
    pub lang: Option<Lang>,
    pub status: FileStatus,
    pub lines: u32,
    /// Says it is generated (`@generated`, `DO NOT EDIT`, ...) or lies in a
    /// vendored tree: ranked low.
    pub generated: bool,
    pub defs: Vec<Def>,
    pub refs: Vec<Ref>,
    signatures: String,
}

impl FileEntry {
    pub fn new(
        path: String,
        size: u64,
        mtime_ns: u64,
        hash: u64,
        lang: Option<Lang>,
        status: FileStatus,
    ) -> Self {
        FileEntry {
            path,
            size,
            mtime_ns,
            hash,
            lang,
            status,
            lines: 0,
            generated: false,
            defs: Vec::new(),
            refs: Vec::new(),
            signatures: String::new(),
        }
    }

    /// Store extracted tags, interning their names.
    pub fn set_tags(&mut self, names: &mut Names, defs: Vec<Definition>, refs: Vec<Reference>) {
        self.signatures.clear();
        self.defs = defs
            .into_iter()
            .map(|d| {
                let sig_start = self.signatures.len() as u32;
                self.signatures.push_str(&d.signature);
                self.signatures.push_str(&d.doc);
                Def {
                    name: names.intern(&d.name),
                    kind: d.kind,
                    start_line: d.start_line,
                    end_line: d.end_line,
                    container: d.container.as_deref().map(|c| names.intern(c)),
                    sig_start,
                    sig_len: d.signature.len() as u32,
                    doc_len: d.doc.len() as u32,
                }
            })
            .collect();
        self.refs = refs
            .into_iter()
            .map(|r| Ref {
                name: names.intern(&r.name),
                kind: r.kind,
                line: r.line,
            })
            .collect();
    }

    pub fn signature(&self, def: &Def) -> &str {
        let s = def.sig_start as usize;
        &self.signatures[s..s + def.sig_len as usize]
    }

    /// The first sentence of its doc comment (empty when it has none).
    pub fn doc(&self, def: &Def) -> &str {
        let s = (def.sig_start + def.sig_len) as usize;
        &self.signatures[s..s + def.doc_len as usize]
    }

    /// The innermost definition whose lines hold `line`, other than `except`.
    pub fn enclosing(&self, line: u32, except: Option<NameId>) -> Option<(usize, &Def)> {
        self.defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.start_line <= line && line <= d.end_line && Some(d.name) != except)
            .min_by_key(|(_, d)| d.end_line - d.start_line)
    }
}
