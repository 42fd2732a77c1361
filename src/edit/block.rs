//! What a model's reply asks for, before any file is looked at.

use serde::Serialize;

/// One requested change, as parsed from a reply. `line` is the 1-based line of
/// the reply where it starts, for error messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edit {
    /// Replace `search` (whole lines) with `replace`. An empty `search` creates
    /// the file, or appends to it when it exists.
    Replace {
        path: String,
        search: Vec<String>,
        replace: Vec<String>,
        line: usize,
    },
    /// The file's complete new content.
    WholeFile {
        path: String,
        content: Vec<String>,
        line: usize,
    },
    Delete {
        path: String,
        line: usize,
    },
    Rename {
        from: String,
        to: String,
        line: usize,
    },
}

impl Edit {
    pub fn line(&self) -> usize {
        match self {
            Edit::Replace { line, .. }
            | Edit::WholeFile { line, .. }
            | Edit::Delete { line, .. }
            | Edit::Rename { line, .. } => *line,
        }
    }

    /// The file the edit changes (the destination for a rename).
    pub fn path(&self) -> &str {
        match self {
            Edit::Replace { path, .. }
            | Edit::WholeFile { path, .. }
            | Edit::Delete { path, .. } => path,
            Edit::Rename { to, .. } => to,
        }
    }
}

/// A part of the reply that looked like an edit but could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    /// 1-based line of the reply.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reply line {}: {}", self.line, self.message)
    }
}

/// Everything read from one reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedReply {
    pub edits: Vec<Edit>,
    pub errors: Vec<ParseError>,
}
