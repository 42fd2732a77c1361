//! How the model is taught to write edits: SEARCH/REPLACE blocks, the format
//! aider made common and small models follow best, with one short example.

/// The system prompt part that teaches the edit format.
pub const EDIT_FORMAT: &str = "\
You are an expert programmer editing files in the user's repository.
Describe each change as a SEARCH/REPLACE block:
- the file's path alone on a line,
- a line `<<<<<<< SEARCH`, then the exact current lines to change (copied \
character for character, with enough lines to be unique),
- a line `=======`, then the new lines,
- a line `>>>>>>> REPLACE`.
To create a file, leave the SEARCH part empty. To delete a file, write a line \
`DELETE path`. To rename one, write `RENAME old/path -> new/path`.
Keep blocks small: only the lines that change plus a little context. \
Write nothing else but one short sentence before the blocks.

Example: change the greeting in src/hello.py.

src/hello.py
```python
<<<<<<< SEARCH
def greet(name):
    print(\"Hello \" + name)
=======
def greet(name):
    print(f\"Hello, {name}!\")
>>>>>>> REPLACE
```
";

/// The user message asking for an edit: the files as they are, then the instruction.
pub fn edit_prompt(instruction: &str, files: &[(String, String)]) -> String {
    let mut s = String::new();
    for (path, content) in files {
        let fence = if content.contains("```") {
            "````"
        } else {
            "```"
        };
        s.push_str(&format!("{path}\n{fence}\n{content}"));
        if !content.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(fence);
        s.push_str("\n\n");
    }
    s.push_str("Task: ");
    s.push_str(instruction.trim());
    s.push_str("\nReply with SEARCH/REPLACE blocks.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::parse_reply;

    #[test]
    fn the_example_in_the_prompt_parses() {
        let r = parse_reply(EDIT_FORMAT);
        assert!(r.errors.is_empty(), "{r:?}");
        assert_eq!(r.edits.len(), 1);
        assert_eq!(r.edits[0].path(), "src/hello.py");
    }
}
