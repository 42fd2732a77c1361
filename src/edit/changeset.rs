//! A proposal the user reviews: per file, the text before and after, split
//! into hunks that are accepted or rejected one by one (or per file).

use serde::Serialize;
use similar::DiffTag;

use super::diff;
use super::hunk::{Decision, Hunk};
use super::text::encode_like;

/// Lines of context around a change; also what merges nearby changes into one hunk.
pub const CONTEXT: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FileOp {
    Modify,
    Create,
    Delete,
    /// Moved from `from` (and possibly changed).
    Rename {
        from: String,
    },
}

/// The file as it was on disk when the change was proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Base {
    /// Content hash of the bytes on disk; apply refuses if they differ by then.
    pub hash: String,
    pub crlf: bool,
    pub bom: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Repo-relative path, `/`-separated (the destination of a rename).
    pub path: String,
    #[serde(flatten)]
    pub op: FileOp,
    /// `None` for a new file: it must still not exist when applied.
    pub base: Option<Base>,
    /// Old and proposed text, LF, without BOM.
    #[serde(skip)]
    pub old: String,
    #[serde(skip)]
    pub new: String,
    pub hunks: Vec<Hunk>,
    /// The decision on the operation itself: creating, deleting or moving the file.
    pub decision: Decision,
}

/// What applying a file's accepted parts does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Nothing,
    /// Write this text (LF) at the path.
    Write(String),
    Remove,
    /// Remove `from`, write the text at the path.
    Move {
        from: String,
        text: String,
    },
}

impl FileChange {
    pub fn new(
        path: String,
        op: FileOp,
        base: Option<Base>,
        old: String,
        new: String,
    ) -> FileChange {
        let hunks = diff_hunks(&path, &old, &new);
        FileChange {
            path,
            op,
            base,
            old,
            new,
            hunks,
            decision: Decision::Pending,
        }
    }

    pub fn set_all(&mut self, d: Decision) {
        self.decision = d;
        for h in &mut self.hunks {
            h.decision = d;
        }
    }

    /// The old text with every accepted hunk applied.
    pub fn accepted_text(&self) -> String {
        let old: Vec<&str> = self.old.split_inclusive('\n').collect();
        let mut out = String::with_capacity(self.new.len().max(self.old.len()));
        let mut at = 0;
        for h in &self.hunks {
            out.extend(old[at..h.old_start].iter().copied());
            if h.decision == Decision::Accepted {
                out.extend(h.new_lines.iter().map(String::as_str));
            } else {
                out.extend(h.old_lines.iter().map(String::as_str));
            }
            at = h.old_start + h.old_lines.len();
        }
        out.extend(old[at..].iter().copied());
        out
    }

    fn any_accepted(&self) -> bool {
        self.hunks.iter().any(|h| h.decision == Decision::Accepted)
    }

    pub fn outcome(&self) -> Outcome {
        let accepted = self.decision == Decision::Accepted;
        match &self.op {
            FileOp::Modify if self.any_accepted() => Outcome::Write(self.accepted_text()),
            FileOp::Create if accepted || self.any_accepted() => {
                Outcome::Write(self.accepted_text())
            }
            FileOp::Delete if accepted => Outcome::Remove,
            FileOp::Rename { from } if accepted => Outcome::Move {
                from: from.clone(),
                text: self.accepted_text(),
            },
            _ => Outcome::Nothing,
        }
    }

    /// The bytes `text` becomes on disk, in the file's own line endings and BOM.
    pub fn encode(&self, text: &str) -> Vec<u8> {
        let (crlf, bom) = self
            .base
            .as_ref()
            .map(|b| (b.crlf, b.bom))
            .unwrap_or((false, false));
        encode_like(text, crlf, bom)
    }

    /// Lines added and removed by the whole proposal.
    pub fn stats(&self) -> (usize, usize) {
        let ops = diff::line_ops(&diff::lines(&self.old), &diff::lines(&self.new));
        let count = |tag| {
            ops.iter()
                .filter(|o| o.tag == tag)
                .map(|o| o.old.len() + o.new.len())
                .sum()
        };
        (count(DiffTag::Insert), count(DiffTag::Delete))
    }

    /// A git-style unified diff from the old text to `new` (what `git apply` reads).
    pub fn unified_diff(&self, new: &str) -> String {
        let old_path = match &self.op {
            FileOp::Rename { from } => from.as_str(),
            _ => self.path.as_str(),
        };
        let mut out = format!("diff --git a/{old_path} b/{}\n", self.path);
        let (a, b) = match &self.op {
            FileOp::Create => {
                out.push_str("new file mode 100644\n");
                ("/dev/null".to_string(), format!("b/{}", self.path))
            }
            FileOp::Delete => {
                out.push_str("deleted file mode 100644\n");
                (format!("a/{old_path}"), "/dev/null".to_string())
            }
            FileOp::Rename { from } => {
                out.push_str(&format!("rename from {from}\nrename to {}\n", self.path));
                (format!("a/{old_path}"), format!("b/{}", self.path))
            }
            FileOp::Modify => (format!("a/{old_path}"), format!("b/{}", self.path)),
        };
        if self.old != new {
            out.push_str(&format!("--- {a}\n+++ {b}\n"));
            out.push_str(&diff::unified(
                &diff::lines(&self.old),
                &diff::lines(new),
                CONTEXT,
            ));
        }
        out
    }
}

/// The hunks that turn `old` into `new`.
fn diff_hunks(path: &str, old: &str, new: &str) -> Vec<Hunk> {
    let (olds, news) = (diff::lines(old), diff::lines(new));
    diff::groups(&diff::line_ops(&olds, &news), CONTEXT)
        .iter()
        .map(|g| {
            let o = g[0].old.start..g[g.len() - 1].old.end;
            let n = g[0].new.start..g[g.len() - 1].new.end;
            let lines = |s: &[&str], r: std::ops::Range<usize>| {
                s[r].iter().map(|l| l.to_string()).collect()
            };
            Hunk::new(
                path,
                o.start,
                lines(&olds, o.clone()),
                n.start,
                lines(&news, n),
            )
        })
        .collect()
}

/// Every file a reply changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSet {
    pub files: Vec<FileChange>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn accept_all(&mut self) {
        self.set_all(Decision::Accepted);
    }

    pub fn set_all(&mut self, d: Decision) {
        for f in &mut self.files {
            f.set_all(d);
        }
    }

    /// Accept or reject every hunk of one file, and the file's operation.
    pub fn set_file(&mut self, path: &str, d: Decision) -> bool {
        self.files
            .iter_mut()
            .filter(|f| f.path == path)
            .map(|f| f.set_all(d))
            .count()
            > 0
    }

    pub fn hunk_mut(&mut self, id: &str) -> Option<(&mut FileChange, usize)> {
        let f = self
            .files
            .iter_mut()
            .find(|f| f.hunks.iter().any(|h| h.id == id))?;
        let i = f.hunks.iter().position(|h| h.id == id)?;
        Some((f, i))
    }

    /// Accept or reject one hunk. A new or deleted file is one hunk: its
    /// decision is the file's.
    pub fn set_hunk(&mut self, id: &str, d: Decision) -> bool {
        let Some((f, i)) = self.hunk_mut(id) else {
            return false;
        };
        f.hunks[i].decision = d;
        if matches!(f.op, FileOp::Create | FileOp::Delete) {
            f.decision = d;
        }
        true
    }

    /// Replace a hunk's proposed text with the user's version of it.
    pub fn edit_hunk(&mut self, id: &str, text: &str) -> bool {
        let Some((f, i)) = self.hunk_mut(id) else {
            return false;
        };
        f.hunks[i].set_text(text);
        true
    }

    /// The unified diff of the whole proposal.
    pub fn unified_diff(&self) -> String {
        self.files.iter().map(|f| f.unified_diff(&f.new)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(old: &str, new: &str) -> FileChange {
        FileChange::new("a.txt".into(), FileOp::Modify, None, old.into(), new.into())
    }

    #[test]
    fn hunks_apply_one_by_one_and_ids_are_stable() {
        let old: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 25\n", "line 25\nline 25.5\n");
        let mut c = change(&old, &new);
        assert_eq!(c.hunks.len(), 2);
        assert_eq!(change(&old, &new).hunks[1].id, c.hunks[1].id);
        assert_eq!(c.outcome(), Outcome::Nothing);
        c.hunks[1].decision = Decision::Accepted;
        assert_eq!(
            c.accepted_text(),
            old.replace("line 25\n", "line 25\nline 25.5\n")
        );
        c.hunks[0].decision = Decision::Accepted;
        assert_eq!(c.outcome(), Outcome::Write(new.clone()));
        let id = c.hunks[0].id.clone();
        let mut set = ChangeSet { files: vec![c] };
        assert!(set.edit_hunk(&id, "line 1\nLINE TWO\nline 3\nline 4\nline 5\n"));
        assert!(set.files[0].accepted_text().contains("LINE TWO\n"));
        assert_eq!(set.files[0].stats(), (2, 1));
    }

    #[test]
    fn all_accepted_is_new_and_all_rejected_is_old() {
        let mut rng = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for _ in 0..2000 {
            let mut text = || -> String {
                let n = next() % 20;
                let mut t: String = (0..n)
                    .map(|_| ["a\n", "b\n", "a x\n"][(next() % 3) as usize])
                    .collect();
                if next() % 3 == 0 {
                    t.pop();
                }
                t
            };
            let (old, new) = (text(), text());
            let mut c = change(&old, &new);
            c.set_all(Decision::Accepted);
            assert_eq!(c.accepted_text(), new, "{old:?} -> {new:?}");
            c.set_all(Decision::Rejected);
            assert_eq!(c.accepted_text(), old);
        }
    }

    #[test]
    fn file_and_hunk_decisions_drive_the_outcome() {
        let create = FileChange::new(
            "n.txt".into(),
            FileOp::Create,
            None,
            String::new(),
            "x\n".into(),
        );
        let delete = FileChange::new(
            "d.txt".into(),
            FileOp::Delete,
            None,
            "gone\n".into(),
            String::new(),
        );
        let rename = FileChange::new(
            "b.txt".into(),
            FileOp::Rename {
                from: "a.txt".into(),
            },
            None,
            "k\n".into(),
            "k\n".into(),
        );
        let mut set = ChangeSet {
            files: vec![create, delete, rename],
        };
        assert!(set.files.iter().all(|f| f.outcome() == Outcome::Nothing));
        let id = set.files[0].hunks[0].id.clone();
        assert!(set.set_hunk(&id, Decision::Accepted));
        assert_eq!(set.files[0].outcome(), Outcome::Write("x\n".into()));
        assert!(set.set_file("d.txt", Decision::Accepted));
        assert_eq!(set.files[1].outcome(), Outcome::Remove);
        assert!(set.set_file("b.txt", Decision::Accepted));
        assert_eq!(
            set.files[2].outcome(),
            Outcome::Move {
                from: "a.txt".into(),
                text: "k\n".into()
            }
        );
        set.set_all(Decision::Rejected);
        assert!(set.files.iter().all(|f| f.outcome() == Outcome::Nothing));
        assert!(!set.set_hunk("nope", Decision::Accepted));
    }

    #[test]
    fn unified_diff_is_git_style() {
        let c = change("a\nb\n", "a\nc\n");
        let d = c.unified_diff(&c.new);
        assert!(d.starts_with("diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"), "{d}");
        let c = FileChange::new(
            "n.txt".into(),
            FileOp::Create,
            None,
            String::new(),
            "x\n".into(),
        );
        assert!(
            c.unified_diff(&c.new)
                .contains("--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+x\n"),
            "{}",
            c.unified_diff(&c.new)
        );
    }
}
