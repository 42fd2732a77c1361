//! What surrounds a definition: the class, impl, trait or module it is
//! written in, and the doc comment above it. Read in one walk down the
//! tree to the definitions' nodes, since tree-sitter's nodes do not know
//! their parent: `Node::parent` and `Node::prev_sibling` search from the
//! root, and called once per definition they made a flat file of ten
//! thousand items (bindings, tables) quadratic.

use std::collections::HashMap;

use tree_sitter::Node;

/// Node kinds whose definitions contain others (their name names the members' container).
const CONTAINERS: &[&str] = &[
    "class_definition",
    "class_declaration",
    "class_specifier",
    "struct_specifier",
    "class",
    "module",
    "impl_item",
    "trait_item",
    "interface_declaration",
    "enum_declaration",
    "record_declaration",
    "namespace_definition",
    "namespace_declaration",
    "abstract_class_declaration",
    "object_declaration",
];

/// Siblings a doc comment may be separated from its definition by.
const ATTRIBUTES: &[&str] = &["attribute_item", "decorator", "annotation"];

/// Per definition node (by id): `None` when it lies in a region the parser
/// could not read (an ERROR node above it, or itself), else its container
/// (`None` at the top level) and the first sentence of its doc comment or
/// Python docstring. `broken`: the tree has errors somewhere (else the
/// nearest container is all that is looked for).
pub type Around = HashMap<usize, Option<(Option<String>, String)>>;

pub fn read(source: &[u8], root: Node, broken: bool, defs: &[Node]) -> Around {
    let mut out = Around::with_capacity(defs.len());
    if defs.is_empty() {
        return out;
    }
    let mut starts: Vec<usize> = defs.iter().map(|n| n.start_byte()).collect();
    starts.sort_unstable();
    let wanted: std::collections::HashSet<usize> = defs.iter().map(|n| n.id()).collect();
    // Whether a definition starts inside `n` (so the walk goes down it).
    let holds = |n: &Node| {
        let i = starts.partition_point(|s| *s < n.start_byte());
        starts.get(i).is_some_and(|s| *s <= n.end_byte())
    };
    let mut cursor = root.walk();
    let mut ancestors = vec![root];
    // Per level: the comments and attributes just before the current node.
    let mut runs: Vec<Vec<Node>> = vec![Vec::new()];
    if !cursor.goto_first_child() {
        return out;
    }
    loop {
        let n = cursor.node();
        if wanted.contains(&n.id()) {
            let run = runs.last().map_or(&[][..], |r| r.as_slice());
            let info = container(source, &n, &ancestors, broken).map(|c| (c, doc(source, &n, run)));
            out.insert(n.id(), info);
        }
        let run = runs.last_mut().expect("a level");
        if n.kind().contains("comment") || ATTRIBUTES.contains(&n.kind()) {
            run.push(n);
        } else {
            run.clear();
        }
        if holds(&n) && cursor.goto_first_child() {
            ancestors.push(n);
            runs.push(Vec::new());
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return out;
            }
            ancestors.pop();
            runs.pop();
            if runs.is_empty() {
                return out;
            }
        }
    }
}

/// The container of `node`, whose ancestors (root first) are `ancestors`.
fn container(
    source: &[u8],
    node: &Node,
    ancestors: &[Node],
    broken: bool,
) -> Option<Option<String>> {
    if node.is_error() || node.is_missing() {
        return None;
    }
    let mut found = None;
    for n in ancestors.iter().rev() {
        if n.is_error() {
            return None;
        }
        if found.is_some() && !broken {
            break;
        }
        if found.is_none() && CONTAINERS.contains(&n.kind()) {
            let named = n
                .child_by_field_name("name")
                .or_else(|| n.child_by_field_name("type"));
            if let Some(c) = named {
                found = container_name(&source[c.byte_range()]);
            }
        }
    }
    Some(found)
}

/// The first sentence of the doc comment above `node` (contiguous comment
/// lines, attributes and decorators skipped; `before` are the comments and
/// attributes just before it) or of a Python docstring.
fn doc(source: &[u8], node: &Node, before: &[Node]) -> String {
    // Python: the first statement of the body, when it is a string.
    let def = if node.kind() == "decorated_definition" {
        node.child_by_field_name("definition")
    } else {
        Some(*node)
    };
    if let Some(body) = def.and_then(|d| d.child_by_field_name("body"))
        && let Some(first) = body.named_child(0)
        && first.kind() == "expression_statement"
        && let Some(s) = first.named_child(0)
        && s.kind() == "string"
    {
        return super::tags::clean_doc(&String::from_utf8_lossy(&source[s.byte_range()]));
    }
    doc_above(
        node.start_position().row,
        before.iter().map(|p| {
            let comment = p
                .kind()
                .contains("comment")
                .then(|| &source[p.byte_range()]);
            (p.start_position().row, p.end_position().row, comment)
        }),
    )
}

/// A container's name from its name's (or type's) text: up to the first
/// `<`, `(` or space (`Foo<T>` -> `Foo`).
pub(super) fn container_name(text: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(text);
    let name = text
        .split(|ch: char| ch == '<' || ch == '(' || ch.is_whitespace())
        .next()
        .unwrap_or("");
    (!name.is_empty()).then(|| name.to_string())
}

/// The doc comment of an item starting on `row`, from the comments and
/// attributes just before it, in file order: (first row, last row, the
/// comment's text or `None` for an attribute). Contiguous lines count.
pub(super) fn doc_above<'a>(
    mut row: usize,
    before: impl DoubleEndedIterator<Item = (usize, usize, Option<&'a [u8]>)>,
) -> String {
    let mut lines: Vec<String> = Vec::new();
    for (start, end, comment) in before.rev() {
        if end + 1 < row {
            break;
        }
        if let Some(text) = comment {
            lines.push(String::from_utf8_lossy(text).into_owned());
        }
        row = start;
    }
    lines.reverse();
    super::tags::clean_doc(&lines.join("\n"))
}
