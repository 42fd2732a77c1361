//! A proposal that would remove most of a file: the review warns about it,
//! and `--yes` refuses it unless the request asked for a removal (a model
//! that echoes a prompt, or is cut off, must not empty a file unseen).

use super::changeset::{ChangeSet, FileOp};

/// A file the change would leave with less than half its lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MassRemoval {
    pub path: String,
    /// Lines now, and after the change.
    pub lines: usize,
    pub after: usize,
}

impl std::fmt::Display for MassRemoval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the change removes {} of the {} lines of {}",
            self.lines - self.after,
            self.lines,
            self.path
        )
    }
}

/// Files of at least this many lines are watched.
const MIN_LINES: usize = 10;

/// The modified files left with less than half their lines.
pub fn mass_removals(changes: &ChangeSet) -> Vec<MassRemoval> {
    changes
        .files
        .iter()
        .filter(|fc| matches!(fc.op, FileOp::Modify | FileOp::Rename { .. }))
        .filter_map(|fc| {
            let lines = fc.old.lines().count();
            let after = fc.new.lines().count();
            (lines >= MIN_LINES && after * 2 < lines).then(|| MassRemoval {
                path: fc.path.clone(),
                lines,
                after,
            })
        })
        .collect()
}

/// Whether the request asked for code to go (then a large removal is expected).
pub fn asks_to_remove(request: &str) -> bool {
    const WORDS: &[&str] = &[
        "delete",
        "remove",
        "drop",
        "empty",
        "clear",
        "truncate",
        "strip",
        "rewrite",
        "replace",
        "shorten",
        "trim",
        "prune",
        "cut",
        "purge",
        "wipe",
        "eliminate",
        "get rid",
    ];
    let r = request.to_lowercase();
    WORDS.iter().any(|w| r.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_words() {
        assert!(asks_to_remove("Remove the unused helpers"));
        assert!(asks_to_remove("please DELETE old code"));
        assert!(!asks_to_remove("Add a sub function to calc.py"));
    }
}
