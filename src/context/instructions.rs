//! The project's own instructions for assistants, read from the files such
//! projects keep them in.

use std::path::Path;

/// Files read, in order, when present at the repository root.
pub const INSTRUCTION_FILES: &[&str] = &["AGENTS.md", "CONVENTIONS.md", ".locus/instructions.md"];

/// `(path, text)` of each instruction file present.
pub fn project_instructions(root: &Path) -> Vec<(String, String)> {
    INSTRUCTION_FILES
        .iter()
        .filter_map(|name| {
            let text = std::fs::read_to_string(root.join(name)).ok()?;
            let text = text.trim();
            (!text.is_empty()).then(|| (name.to_string(), text.to_string()))
        })
        .collect()
}
