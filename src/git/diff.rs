//! Diffs of staged (HEAD → index) and unstaged (index → working tree)
//! changes, per file and per hunk, and the staged patch as text.

use git2::{Diff, DiffFindOptions, DiffFormat, DiffOptions, Index, Patch};
use serde::Serialize;

use super::open::Repo;
use super::repo::GitError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffHunk {
    /// The `@@ -a,b +c,d @@ …` line.
    pub header: String,
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    /// Lines with their origin (` `, `+`, `-`) in front.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `added`, `modified`, `deleted`, `renamed`, `typechange`, …
    pub kind: &'static str,
    pub binary: bool,
    pub added: usize,
    pub removed: usize,
    pub hunks: Vec<DiffHunk>,
}

fn kind(d: git2::Delta) -> &'static str {
    use git2::Delta as D;
    match d {
        D::Added | D::Untracked => "added",
        D::Deleted => "deleted",
        D::Renamed => "renamed",
        D::Copied => "copied",
        D::Typechange => "typechange",
        D::Conflicted => "conflicted",
        _ => "modified",
    }
}

fn path_of(f: &git2::DiffFile<'_>) -> Option<String> {
    f.path().map(|p| p.to_string_lossy().replace('\\', "/"))
}

impl Repo {
    /// HEAD (or the empty tree before the first commit) against `index`.
    pub(crate) fn diff_staged_with(
        &self,
        index: &Index,
        path: Option<&str>,
    ) -> Result<Diff<'_>, GitError> {
        let tree = self.head_commit()?.map(|c| c.tree()).transpose()?;
        let mut opts = DiffOptions::new();
        if let Some(p) = path {
            opts.pathspec(p).disable_pathspec_match(true);
        }
        let mut diff = self
            .repo
            .diff_tree_to_index(tree.as_ref(), Some(index), Some(&mut opts))?;
        if path.is_none() {
            diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
        }
        Ok(diff)
    }

    pub(crate) fn diff_unstaged_for(&self, path: Option<&str>) -> Result<Diff<'_>, GitError> {
        let mut opts = DiffOptions::new();
        if let Some(p) = path {
            opts.pathspec(p).disable_pathspec_match(true);
        }
        Ok(self.repo.diff_index_to_workdir(None, Some(&mut opts))?)
    }

    /// Staged changes, per file.
    pub fn staged(&self) -> Result<Vec<FileDiff>, GitError> {
        let index = self.repo.index()?;
        files(&self.diff_staged_with(&index, None)?)
    }

    /// Unstaged changes to tracked files, per file.
    pub fn unstaged(&self) -> Result<Vec<FileDiff>, GitError> {
        files(&self.diff_unstaged_for(None)?)
    }

    /// The unstaged changes to tracked files as one patch (`git diff [PATH]`).
    pub fn unstaged_patch(&self, path: Option<&str>) -> Result<String, GitError> {
        patch_text(&self.diff_unstaged_for(path)?)
    }

    /// The staged changes as one patch (`git diff --cached`).
    pub fn staged_patch(&self, index: &Index) -> Result<String, GitError> {
        patch_text(&self.diff_staged_with(index, None)?)
    }
}

/// The diff as patch text.
pub fn patch_text(diff: &Diff<'_>) -> Result<String, GitError> {
    let mut out = Vec::new();
    diff.print(DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            out.push(line.origin() as u8);
        }
        out.extend_from_slice(line.content());
        true
    })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Per-file diffs with hunks.
pub fn files(diff: &Diff<'_>) -> Result<Vec<FileDiff>, GitError> {
    let mut out = Vec::new();
    for i in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(i) else {
            continue;
        };
        let path = path_of(&delta.new_file())
            .or_else(|| path_of(&delta.old_file()))
            .unwrap_or_default();
        let from = (delta.status() == git2::Delta::Renamed)
            .then(|| path_of(&delta.old_file()))
            .flatten();
        let mut fd = FileDiff {
            path,
            from,
            kind: kind(delta.status()),
            binary: delta.flags().is_binary(),
            added: 0,
            removed: 0,
            hunks: Vec::new(),
        };
        if let Some(patch) = Patch::from_diff(diff, i)? {
            let (_, added, removed) = patch.line_stats()?;
            (fd.added, fd.removed) = (added, removed);
            for h in 0..patch.num_hunks() {
                let (hunk, n) = patch.hunk(h)?;
                let mut lines = Vec::with_capacity(n);
                for l in 0..n {
                    let line = patch.line_in_hunk(h, l)?;
                    let mut s = String::new();
                    if matches!(line.origin(), '+' | '-' | ' ') {
                        s.push(line.origin());
                    }
                    s.push_str(String::from_utf8_lossy(line.content()).trim_end_matches('\n'));
                    lines.push(s);
                }
                fd.hunks.push(DiffHunk {
                    header: String::from_utf8_lossy(hunk.header())
                        .trim_end()
                        .to_string(),
                    old_start: hunk.old_start(),
                    old_lines: hunk.old_lines(),
                    new_start: hunk.new_start(),
                    new_lines: hunk.new_lines(),
                    lines,
                });
            }
        }
        out.push(fd);
    }
    Ok(out)
}
