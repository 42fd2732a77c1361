//! Properties over generated inputs for what a crash or a careless reply
//! leaves: a log torn at any byte loses only the torn record; placeholder
//! comments in any comment style are refused wherever they stand, and code
//! is not; a symlink or a special file is never acted through.

use std::path::Path;

use locus::config::PrivacySettings;
use locus::edit::{PathGuard, parse_reply, propose};
use proptest::prelude::*;

fn guard(root: &Path) -> PathGuard {
    PathGuard::new(
        root,
        PrivacySettings::default().never_touch_rules().unwrap(),
    )
    .unwrap()
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Rec {
    n: u32,
    text: String,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Cut the file at any byte (mid-record, mid-character), append more:
    /// every whole record survives, the torn one alone is lost.
    #[test]
    fn a_log_torn_anywhere_loses_only_the_torn_record(
        texts in proptest::collection::vec("[a-zé€😀 ]{0,12}", 2..6),
        cut in 0.0f64..1.0,
        more in 1usize..3,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("log.jsonl");
        for (i, t) in texts.iter().enumerate() {
            locus::jsonl::append(&f, &Rec { n: i as u32, text: t.clone() }).unwrap();
        }
        let bytes = std::fs::read(&f).unwrap();
        let at = ((bytes.len() as f64) * cut) as usize;
        std::fs::write(&f, &bytes[..at]).unwrap();
        let whole_before: Vec<Rec> = locus::jsonl::read(&f).unwrap();
        for j in 0..more {
            locus::jsonl::append(&f, &Rec { n: 100 + j as u32, text: "after".into() }).unwrap();
        }
        let (all, damaged): (Vec<Rec>, usize) = locus::jsonl::read_counting(&f).unwrap();
        prop_assert!(damaged <= 1);
        let ns: Vec<u32> = all.iter().map(|r| r.n).collect();
        let expected: Vec<u32> = whole_before
            .iter()
            .map(|r| r.n)
            .chain((0..more).map(|j| 100 + j as u32))
            .collect();
        prop_assert_eq!(ns, expected);
    }

    /// A placeholder comment, in any comment style and wording, anywhere in
    /// a REPLACE block or a whole file, is refused and the file is untouched.
    #[test]
    fn placeholders_are_refused_wherever_they_stand(
        marker in prop::sample::select(vec!["#", "//", "/*", "--", "<!--", ";"]),
        phrase in prop::sample::select(vec![
            "... existing code ...", "… rest of the file", "rest of the class unchanged",
            "existing methods", "code omitted", "...",
        ]),
        at in 0usize..3,
        whole in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let old = "def a():\n    return 1\n\n\ndef b():\n    return 2\n";
        std::fs::write(root.join("m.py"), old).unwrap();
        let mut lines = vec!["def a():".to_string(), "    return 10".to_string()];
        lines.insert(at.min(lines.len()), format!("    {marker} {phrase}"));
        let body = lines.join("\n");
        let reply = if whole {
            format!("m.py\n```python\n{body}\n```\n")
        } else {
            format!("m.py\n<<<<<<< SEARCH\ndef a():\n    return 1\n=======\n{body}\n>>>>>>> REPLACE\n")
        };
        let p = propose(&parse_reply(&reply), &guard(root));
        prop_assert!(!p.failures.is_empty(), "{reply}");
        prop_assert!(p.failures.iter().any(|f| f.message.contains("in place of code")), "{:?}", p.failures);
    }

    /// Ordinary code and comments, whatever they say, go through.
    #[test]
    fn code_is_not_taken_for_a_placeholder(
        words in proptest::collection::vec("[a-z]{1,8}", 1..6),
        marker in prop::sample::select(vec!["#", "//"]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("m.py"), "def a():\n    return 1\n").unwrap();
        let comment = words.join(" ");
        prop_assume!(!["rest", "existing", "unchanged", "omitted", "remaining", "previous", "other", "original", "remainder", "code", "lines", "content", "implementation"]
            .iter()
            .any(|w| comment.contains(w)));
        let reply = format!(
            "m.py\n<<<<<<< SEARCH\ndef a():\n    return 1\n=======\ndef a():\n    {marker} {comment}\n    return 2\n>>>>>>> REPLACE\n"
        );
        let p = propose(&parse_reply(&reply), &guard(root));
        prop_assert!(p.failures.is_empty(), "{:?}", p.failures);
    }

    /// Deleting or renaming through a symlink never reaches its target;
    /// an edit of a special file is refused without reading it.
    #[test]
    fn links_and_special_files_are_never_acted_through(
        delete in any::<bool>(),
        depth in 0usize..3,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sub: String = (0..depth).map(|i| format!("d{i}/")).collect();
        std::fs::create_dir_all(root.join(&sub)).unwrap();
        std::fs::write(root.join("target.py"), "T = 1\n").unwrap();
        let up = "../".repeat(depth);
        std::os::unix::fs::symlink(format!("{up}target.py"), root.join(format!("{sub}link.py"))).unwrap();
        let reply = if delete {
            format!("DELETE {sub}link.py\n")
        } else {
            format!("RENAME {sub}link.py -> {sub}moved.py\n")
        };
        let p = propose(&parse_reply(&reply), &guard(root));
        prop_assert!(p.changes.files.is_empty(), "{reply}");
        prop_assert!(p.failures.iter().any(|f| f.message.contains("symbolic link")), "{:?}", p.failures);
        prop_assert_eq!(std::fs::read_to_string(root.join("target.py")).unwrap(), "T = 1\n");

        let fifo = root.join(format!("{sub}pipe.py"));
        let st = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        prop_assert!(st.success());
        let reply = format!("{sub}pipe.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n");
        let p = propose(&parse_reply(&reply), &guard(root));
        prop_assert!(p.failures.iter().any(|f| f.message.contains("not a regular file")), "{:?}", p.failures);
    }
}
