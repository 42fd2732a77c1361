//! Definitions and references read out of one file with its language's tags
//! query. Capture names follow the tree-sitter tags convention:
//! `@name` marks the identifier, `@definition.KIND` / `@reference.KIND` the node.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use streaming_iterator::StreamingIterator;
use tree_sitter::{ParseOptions, Parser, Query, QueryCursor};

use super::around;
use super::lang::Lang;
use super::skeleton::{self, Body};

/// A file that takes longer than this to parse is given up on (and reported).
const PARSE_DEADLINE: Duration = Duration::from_secs(3);
/// Signature lines are cut to this many characters.
const MAX_SIGNATURE: usize = 160;
/// Doc comments are kept up to this many characters (their first sentence).
const MAX_DOC: usize = 100;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DefKind {
    Function,
    Method,
    Class,
    Struct,
    Enum,
    Interface,
    Trait,
    Module,
    Constant,
    Type,
    Macro,
}

impl DefKind {
    pub fn name(self) -> &'static str {
        match self {
            DefKind::Function => "function",
            DefKind::Method => "method",
            DefKind::Class => "class",
            DefKind::Struct => "struct",
            DefKind::Enum => "enum",
            DefKind::Interface => "interface",
            DefKind::Trait => "trait",
            DefKind::Module => "module",
            DefKind::Constant => "constant",
            DefKind::Type => "type",
            DefKind::Macro => "macro",
        }
    }

    fn parse(s: &str) -> Option<DefKind> {
        Some(match s {
            "function" => DefKind::Function,
            "method" => DefKind::Method,
            "class" => DefKind::Class,
            "struct" => DefKind::Struct,
            "enum" => DefKind::Enum,
            "interface" => DefKind::Interface,
            "trait" => DefKind::Trait,
            "module" => DefKind::Module,
            "constant" => DefKind::Constant,
            "type" => DefKind::Type,
            "macro" => DefKind::Macro,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RefKind {
    Call,
    Type,
    Import,
    Implementation,
}

impl RefKind {
    pub fn name(self) -> &'static str {
        match self {
            RefKind::Call => "call",
            RefKind::Type => "type",
            RefKind::Import => "import",
            RefKind::Implementation => "implementation",
        }
    }

    fn parse(s: &str) -> Option<RefKind> {
        Some(match s {
            "call" => RefKind::Call,
            "type" => RefKind::Type,
            "import" => RefKind::Import,
            "implementation" => RefKind::Implementation,
            _ => return None,
        })
    }
}

/// A definition: what it is, where, and its first line as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub kind: DefKind,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub signature: String,
    /// The class, impl, trait or module it is written inside, if any.
    pub container: Option<String>,
    /// The start of its doc comment or docstring (one line, cut), or empty.
    pub doc: String,
}

/// A use of a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    pub kind: RefKind,
    /// 1-based.
    pub line: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TagsError {
    #[error("tags query for {lang} does not compile at row {row}, column {column}: {message}")]
    Query {
        lang: &'static str,
        row: usize,
        column: usize,
        message: String,
    },
    #[error("tags query for {lang} has unknown capture `@{capture}`")]
    Capture { lang: &'static str, capture: String },
    #[error("the {0} grammar cannot be loaded: {1}")]
    Grammar(&'static str, String),
    #[error("parse gave up after {0:?}")]
    Timeout(Duration),
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Name,
    Def(DefKind),
    Ref(RefKind),
    Ignore,
}

/// A compiled tags query and what each of its captures means.
#[derive(Debug)]
pub struct TagQuery {
    lang: Lang,
    query: Query,
    roles: Vec<Role>,
}

impl TagQuery {
    pub fn new(lang: Lang, source: &str) -> Result<TagQuery, TagsError> {
        let query = Query::new(&lang.grammar(), source).map_err(|e| TagsError::Query {
            lang: lang.name(),
            row: e.row + 1,
            column: e.column + 1,
            message: e.message.clone(),
        })?;
        let roles = query
            .capture_names()
            .iter()
            .map(|c| {
                let role = if *c == "name" {
                    Some(Role::Name)
                } else if c.starts_with('_') {
                    Some(Role::Ignore)
                } else if let Some(k) = c.strip_prefix("definition.") {
                    DefKind::parse(k).map(Role::Def)
                } else if let Some(k) = c.strip_prefix("reference.") {
                    RefKind::parse(k).map(Role::Ref)
                } else {
                    None
                };
                role.ok_or_else(|| TagsError::Capture {
                    lang: lang.name(),
                    capture: c.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(TagQuery { lang, query, roles })
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }
}

thread_local! {
    static PARSERS: RefCell<HashMap<Lang, Parser>> = RefCell::new(HashMap::new());
}

/// The tags of one file's contents.
pub fn extract(
    q: &TagQuery,
    source: &[u8],
) -> Result<(Vec<Definition>, Vec<Reference>), TagsError> {
    let skeleton = skeleton::bodies(q.lang, source);
    let tree = PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let parser = match parsers.entry(q.lang) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let mut p = Parser::new();
                p.set_language(&q.lang.grammar())
                    .map_err(|e| TagsError::Grammar(q.lang.name(), e.to_string()))?;
                v.insert(p)
            }
        };
        let start = Instant::now();
        let mut give_up = |_: &tree_sitter::ParseState| {
            if start.elapsed() > PARSE_DEADLINE {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let options = ParseOptions::new().progress_callback(&mut give_up);
        // The parser reads the file but for its function bodies' insides.
        let ranges = skeleton.as_ref().map_or_else(Vec::new, |(b, _)| outside(b));
        parser
            .set_included_ranges(&ranges)
            .map_err(|e| TagsError::Grammar(q.lang.name(), format!("included ranges: {e:?}")))?;
        let len = source.len();
        let tree = parser.parse_with_options(
            &mut |offset, _| {
                if offset < len {
                    &source[offset..]
                } else {
                    &[][..]
                }
            },
            None,
            Some(options),
        );
        parser.reset();
        tree.ok_or(TagsError::Timeout(PARSE_DEADLINE))
    })?;

    let mut defs = Vec::new();
    let mut refs = skeleton.map_or_else(Vec::new, |(_, r)| r);
    let mut cursor = QueryCursor::new();
    cursor.set_match_limit(256);
    let broken = tree.root_node().has_error();
    let mut matches = cursor.matches(&q.query, tree.root_node(), source);
    // Definitions' nodes, whose surroundings one walk reads after the matches.
    let mut found: Vec<(DefKind, String, tree_sitter::Node)> = Vec::new();
    while let Some(m) = matches.next() {
        let mut name = None;
        let mut tag = None;
        for c in m.captures() {
            match q.roles[c.index as usize] {
                Role::Name => name = Some(c.node),
                Role::Def(k) => tag = Some((Role::Def(k), c.node)),
                Role::Ref(k) => tag = Some((Role::Ref(k), c.node)),
                Role::Ignore => {}
            }
        }
        let (Some(name_node), Some((role, node))) = (name, tag) else {
            continue;
        };
        let raw = String::from_utf8_lossy(&source[name_node.byte_range()]);
        match role {
            Role::Def(kind) => {
                let name = raw.trim().to_string();
                if name.is_empty() || name_node.is_missing() {
                    continue;
                }
                found.push((kind, name, node));
            }
            Role::Ref(kind) => {
                let name = if kind == RefKind::Import {
                    import_name(&raw)
                } else {
                    raw.trim().to_string()
                };
                if name.is_empty() {
                    continue;
                }
                refs.push(Reference {
                    name,
                    kind,
                    line: name_node.start_position().row as u32 + 1,
                });
            }
            Role::Name | Role::Ignore => {}
        }
    }
    let nodes: Vec<tree_sitter::Node> = found.iter().map(|(_, _, n)| *n).collect();
    let around = around::read(source, tree.root_node(), broken, &nodes);
    for (kind, name, node) in found {
        // Error recovery invents definitions out of unparsable text
        // (`struct impl` in a broken file): those are not kept.
        let Some(Some((container, doc))) = around.get(&node.id()).cloned() else {
            continue;
        };
        defs.push(Definition {
            name,
            kind,
            start_line: node.start_position().row as u32 + 1,
            end_line: node.end_position().row as u32 + 1,
            signature: signature(source, &node),
            container,
            doc,
        });
    }
    Ok(in_order(defs, refs))
}

/// Definitions and uses in line order, one per line and name (the first
/// found: two patterns can tag one node).
pub(super) fn in_order(
    mut defs: Vec<Definition>,
    mut refs: Vec<Reference>,
) -> (Vec<Definition>, Vec<Reference>) {
    defs.sort_by(|a, b| (a.start_line, &a.name).cmp(&(b.start_line, &b.name)));
    defs.dedup_by(|a, b| a.start_line == b.start_line && a.name == b.name);
    refs.sort_by(|a, b| (a.line, &a.name, a.kind).cmp(&(b.line, &b.name, b.kind)));
    refs.dedup_by(|a, b| a.line == b.line && a.name == b.name);
    (defs, refs)
}

/// The parts of a file outside `bodies` (sorted, apart), as the parser's
/// included ranges; none: the whole file.
fn outside(bodies: &[Body]) -> Vec<tree_sitter::Range> {
    if bodies.is_empty() {
        return Vec::new();
    }
    let point = |(row, column): (usize, usize)| tree_sitter::Point { row, column };
    let mut ranges = Vec::with_capacity(bodies.len() + 1);
    let (mut byte, mut at) = (0, point((0, 0)));
    for b in bodies.iter().filter(|b| b.end > b.start) {
        ranges.push(tree_sitter::Range {
            start_byte: byte,
            end_byte: b.start,
            start_point: at,
            end_point: point(b.start_point),
        });
        (byte, at) = (b.end, point(b.end_point));
    }
    let end = u32::MAX as usize;
    ranges.push(tree_sitter::Range {
        start_byte: byte,
        end_byte: end,
        start_point: at,
        end_point: point((end, end)),
    });
    ranges
}

/// The definition's first line (after decorators/attributes are skipped,
/// the line where the node starts), trimmed and cut.
fn signature(source: &[u8], node: &tree_sitter::Node) -> String {
    signature_at(source, node.start_byte())
}

/// The line holding byte `start`, trimmed and cut.
pub(super) fn signature_at(source: &[u8], start: usize) -> String {
    let line_start = source[..start]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = source[start..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(source.len(), |i| start + i);
    let line = String::from_utf8_lossy(&source[line_start..line_end]);
    let line = line.trim();
    match line.char_indices().nth(MAX_SIGNATURE) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// Comment markers and quotes off, whitespace folded, cut after the first
/// sentence or `MAX_DOC` characters.
pub(super) fn clean_doc(raw: &str) -> String {
    let mut out = String::new();
    for line in raw.lines() {
        let l = line
            .trim()
            .trim_start_matches(['/', '*', '#', '!', '-', ';'])
            .trim_start_matches("\"\"\"")
            .trim_start_matches("'''")
            .trim_end_matches("*/")
            .trim_end_matches("\"\"\"")
            .trim_end_matches("'''")
            .trim();
        let l = l
            .strip_prefix('r')
            .filter(|r| r.starts_with('"'))
            .unwrap_or(l);
        let l = l.trim_matches('"').trim();
        if l.is_empty() {
            if out.is_empty() {
                continue;
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(l);
        if out.len() >= MAX_DOC {
            break;
        }
    }
    if let Some(i) = out.find(". ") {
        out.truncate(i + 1);
    }
    match out.char_indices().nth(MAX_DOC) {
        Some((i, _)) => {
            out.truncate(i);
            out.push('…');
            out
        }
        None => out,
    }
}

/// `"github.com/x/y"` -> `y`, `<stdio.h>` -> `stdio.h`, `a.b.C` stays (languages
/// capture the last segment themselves where it is a name).
fn import_name(raw: &str) -> String {
    let s = raw
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '<' | '>' | '`'));
    s.rsplit('/').next().unwrap_or(s).to_string()
}
