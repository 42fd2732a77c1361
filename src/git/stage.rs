//! Staging and unstaging whole files or single hunks, as `git add -p` does.

use git2::{ApplyLocation, ApplyOptions, DiffOptions};

use super::open::Repo;
use super::repo::GitError;

impl Repo {
    /// Stage a file's working-tree state (a deleted file stages its deletion).
    pub fn stage_file(&self, path: &str) -> Result<(), GitError> {
        let mut index = self.repo.index()?;
        if self.workdir().join(path).symlink_metadata().is_ok() {
            index.add_path(std::path::Path::new(path))?;
        } else {
            index.remove_path(std::path::Path::new(path))?;
        }
        index.write()?;
        Ok(())
    }

    /// Whether the working tree's `path` differs from the index's (a file
    /// in neither has no unstaged change).
    pub fn has_unstaged(&self, path: &str) -> Result<bool, GitError> {
        use git2::Status as S;
        match self.repo.status_file(std::path::Path::new(path)) {
            Ok(st) => Ok(st.intersects(
                S::WT_NEW | S::WT_MODIFIED | S::WT_DELETED | S::WT_TYPECHANGE | S::WT_RENAMED,
            )),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Put a file's staged state back to HEAD's (or drop it before the first commit).
    pub fn unstage_file(&self, path: &str) -> Result<(), GitError> {
        match self.head_commit()? {
            Some(head) => self.repo.reset_default(Some(head.as_object()), [path])?,
            None => {
                let mut index = self.repo.index()?;
                index.remove_path(std::path::Path::new(path))?;
                index.write()?;
            }
        }
        Ok(())
    }

    /// Stage every change to tracked files (`git add -u`) in `index`.
    pub fn stage_tracked(&self, index: &mut git2::Index) -> Result<(), GitError> {
        index.update_all(["*"], None)?;
        Ok(())
    }

    /// Stage hunk number `n` (0-based, as `unstaged()` lists them) of `path`.
    pub fn stage_hunk(&self, path: &str, n: usize) -> Result<(), GitError> {
        let diff = self.diff_unstaged_for(Some(path))?;
        self.apply_one_hunk(&diff, n)
    }

    /// Unstage hunk number `n` (0-based, as `staged()` lists them) of `path`.
    pub fn unstage_hunk(&self, path: &str, n: usize) -> Result<(), GitError> {
        let tree = self.head_commit()?.map(|c| c.tree()).transpose()?;
        let index = self.repo.index()?;
        let mut opts = DiffOptions::new();
        opts.pathspec(path)
            .disable_pathspec_match(true)
            .reverse(true);
        let diff = self
            .repo
            .diff_tree_to_index(tree.as_ref(), Some(&index), Some(&mut opts))?;
        self.apply_one_hunk(&diff, n)
    }

    fn apply_one_hunk(&self, diff: &git2::Diff<'_>, n: usize) -> Result<(), GitError> {
        let total: usize = (0..diff.deltas().len())
            .filter_map(|i| git2::Patch::from_diff(diff, i).ok().flatten())
            .map(|p| p.num_hunks())
            .sum();
        if n >= total {
            return Err(GitError::NoHunk(n));
        }
        let mut seen = 0usize;
        let mut opts = ApplyOptions::new();
        opts.hunk_callback(|h| {
            let take = h.is_some() && seen == n;
            seen += 1;
            take
        });
        self.repo
            .apply(diff, ApplyLocation::Index, Some(&mut opts))?;
        Ok(())
    }
}
