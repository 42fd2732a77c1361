//! Properties of edits over generated inputs: the parser never panics on
//! anything; apply then undo restores the exact bytes (CRLF, BOM, missing
//! final newline included); a change set applies completely or writes nothing.

use std::path::Path;

use locus::config::PrivacySettings;
use locus::edit::{Journal, PathGuard, parse_reply, propose, writes_for};
use proptest::prelude::*;

fn guard(root: &Path) -> PathGuard {
    PathGuard::new(
        root,
        PrivacySettings::default().never_touch_rules().unwrap(),
    )
    .unwrap()
}

fn encode(lines: &[String], crlf: bool, bom: bool, final_newline: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut s = if bom {
        "\u{feff}".to_string()
    } else {
        String::new()
    };
    s.push_str(&lines.join(eol));
    if final_newline && !lines.is_empty() {
        s.push_str(eol);
    }
    s.into_bytes()
}

fn block(path: &str, search: &[String], replace: &[String]) -> String {
    let mut s = format!("{path}\n<<<<<<< SEARCH\n");
    for l in search {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str("=======\n");
    for l in replace {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(">>>>>>> REPLACE\n");
    s
}

fn line() -> impl Strategy<Value = String> {
    // A small alphabet so that lines repeat and some blocks are ambiguous.
    "[a-c]{1,3}( [x-z]{1,2})?"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics(reply in "(<<<<<<< SEARCH|=======|>>>>>>> REPLACE|```|```rust a.rs|diff --git a/x b/x|--- a/x|\\+\\+\\+ b/x|--- /dev/null|@@ -1 \\+1 @@|DELETE a.rs|RENAME a -> b|[ +\\-]?[a-z./ ]{0,12}|\r?\n){0,80}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "a\nb\n").unwrap();
        let parsed = parse_reply(&reply);
        let _ = propose(&parsed, &guard(dir.path()));
    }

    #[test]
    fn apply_then_undo_restores_the_bytes(
        lines in prop::collection::vec(line(), 1..30),
        crlf: bool, bom: bool, final_newline: bool,
        start in 0usize..30, len in 1usize..4,
        replace in prop::collection::vec(line(), 0..4),
    ) {
        let start = start % lines.len();
        let end = (start + len).min(lines.len());
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        let original = encode(&lines, crlf, bom, final_newline);
        std::fs::write(root.join("f.txt"), &original).unwrap();
        let g = guard(&root);
        let mut proposal = propose(&parse_reply(&block("f.txt", &lines[start..end], &replace)), &g);
        let journal = Journal::new(dir.path().join("journal"));
        if !proposal.failures.is_empty() || proposal.changes.is_empty() {
            prop_assert_eq!(std::fs::read(root.join("f.txt")).unwrap(), original);
            return Ok(());
        }
        proposal.changes.accept_all();
        journal.apply(&writes_for(&proposal.changes), "prop", &g).unwrap();
        let mut expected = lines.clone();
        expected.splice(start..end, replace.iter().cloned());
        let written = std::fs::read(root.join("f.txt")).unwrap();
        // A file without a line break has no line-ending style to keep.
        let crlf = crlf && original.windows(2).any(|w| w == b"\r\n");
        prop_assert_eq!(&proposal.tiers, &vec![locus::edit::Tier::Exact]);
        prop_assert_eq!(&written, &encode(&expected, crlf, bom, final_newline));
        journal.undo(&g).unwrap().unwrap();
        prop_assert_eq!(std::fs::read(root.join("f.txt")).unwrap(), original.clone());
        journal.redo(&g).unwrap().unwrap();
        prop_assert_eq!(std::fs::read(root.join("f.txt")).unwrap(), written);
        journal.undo(&g).unwrap().unwrap();
        prop_assert_eq!(std::fs::read(root.join("f.txt")).unwrap(), original);
    }

    #[test]
    fn a_change_set_applies_completely_or_writes_nothing(
        n in 2usize..6, broken in 0usize..6, conflict: bool,
    ) {
        let broken = broken % n;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        let mut reply = String::new();
        for i in 0..n {
            std::fs::create_dir_all(root.join(format!("d{i}"))).unwrap();
            std::fs::write(root.join(format!("d{i}/f.txt")), format!("file {i}\n")).unwrap();
            reply.push_str(&block(&format!("d{i}/f.txt"), &[format!("file {i}")], &[format!("changed {i}")]));
            reply.push_str(&block(&format!("d{i}/new/g.txt"), &[], &[format!("new {i}")]));
        }
        let g = guard(&root);
        let mut proposal = propose(&parse_reply(&reply), &g);
        prop_assert!(proposal.failures.is_empty());
        proposal.changes.accept_all();
        let writes = writes_for(&proposal.changes);
        // After the proposal, the world changes under one file.
        if conflict {
            std::fs::write(root.join(format!("d{broken}/f.txt")), "someone else\n").unwrap();
        } else {
            // The directory a new file goes in is now a file: that write fails midway.
            std::fs::write(root.join(format!("d{broken}/new")), "in the way\n").unwrap();
        }
        let snapshot: Vec<Option<Vec<u8>>> = (0..n)
            .flat_map(|i| [format!("d{i}/f.txt"), format!("d{i}/new/g.txt"), format!("d{i}/new")])
            .map(|p| std::fs::read(root.join(p)).ok())
            .collect();
        let journal = Journal::new(dir.path().join("journal"));
        prop_assert!(journal.apply(&writes, "prop", &g).is_err());
        let after: Vec<Option<Vec<u8>>> = (0..n)
            .flat_map(|i| [format!("d{i}/f.txt"), format!("d{i}/new/g.txt"), format!("d{i}/new")])
            .map(|p| std::fs::read(root.join(p)).ok())
            .collect();
        prop_assert_eq!(after, snapshot);
        prop_assert!(journal.undo(&g).unwrap().is_none(), "a failed apply leaves nothing to undo");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The unified diff locus prints is one `git apply` accepts and that
    /// produces exactly the proposed file (repeated lines included, where
    /// diff libraries get positions wrong).
    #[test]
    fn the_printed_diff_is_what_git_applies(
        old in prop::collection::vec("[ab]( x)?", 0..25),
        new in prop::collection::vec("[ab]( x)?", 0..25),
        old_nl: bool, new_nl: bool,
    ) {
        let enc = |l: &[String], nl: bool| {
            let mut s = l.join("\n");
            if nl && !l.is_empty() { s.push('\n'); }
            s
        };
        let (old_s, new_s) = (enc(&old, old_nl), enc(&new, new_nl));
        let change = locus::edit::FileChange::new("f.txt".into(), locus::edit::FileOp::Modify, None, old_s.clone(), new_s.clone());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.txt"), &old_s).unwrap();
        std::fs::write(dir.path().join("p.diff"), change.unified_diff(&new_s)).unwrap();
        let out = std::process::Command::new("git").args(["apply", "--unidiff-zero", "p.diff"]).current_dir(dir.path()).output().unwrap();
        if old_s == new_s {
            return Ok(());
        }
        prop_assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), change.unified_diff(&new_s));
        prop_assert_eq!(std::fs::read_to_string(dir.path().join("f.txt")).unwrap(), new_s);
    }
}
