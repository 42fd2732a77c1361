//! A repository with a working tree, opened for status, staging and commits.

use std::path::{Path, PathBuf};

use git2::{Repository, RepositoryState};

use super::repo::GitError;

pub struct Repo {
    pub(crate) repo: Repository,
    workdir: PathBuf,
}

impl Repo {
    /// The repository containing `start` (a subdirectory or a worktree is fine).
    pub fn open(start: &Path) -> Result<Repo, GitError> {
        let repo = match Repository::discover(start) {
            Ok(r) => r,
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                return Err(GitError::NotARepo(start.to_path_buf()));
            }
            Err(e) => return Err(e.into()),
        };
        let Some(workdir) = repo.workdir() else {
            return Err(GitError::Bare(repo.path().to_path_buf()));
        };
        let workdir = workdir
            .canonicalize()
            .unwrap_or_else(|_| workdir.to_path_buf());
        Ok(Repo { repo, workdir })
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn git2(&self) -> &Repository {
        &self.repo
    }

    /// The operation in progress, if any ("merge", "rebase", …).
    pub fn in_progress(&self) -> Option<&'static str> {
        match self.repo.state() {
            RepositoryState::Clean => None,
            RepositoryState::Merge => Some("merge"),
            RepositoryState::Revert | RepositoryState::RevertSequence => Some("revert"),
            RepositoryState::CherryPick | RepositoryState::CherryPickSequence => {
                Some("cherry-pick")
            }
            RepositoryState::Bisect => Some("bisect"),
            RepositoryState::Rebase
            | RepositoryState::RebaseInteractive
            | RepositoryState::RebaseMerge => Some("rebase"),
            RepositoryState::ApplyMailbox | RepositoryState::ApplyMailboxOrRebase => Some("git am"),
        }
    }

    /// The HEAD commit, `None` before the first commit.
    pub fn head_commit(&self) -> Result<Option<git2::Commit<'_>>, GitError> {
        match self.repo.head() {
            Ok(h) => Ok(Some(h.peel_to_commit()?)),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The current branch's short name (`None` when detached); the unborn branch's name too.
    pub fn branch(&self) -> Option<String> {
        if self.repo.head_detached().unwrap_or(false) {
            return None;
        }
        match self.repo.head() {
            Ok(h) => h.shorthand().ok().map(String::from),
            Err(_) => self.repo.find_reference("HEAD").ok().and_then(|r| {
                r.symbolic_target()
                    .ok()
                    .flatten()
                    .map(|t| t.trim_start_matches("refs/heads/").to_string())
            }),
        }
    }

    /// Subjects of the last `n` commits on HEAD, newest first.
    pub fn recent_subjects(&self, n: usize) -> Result<Vec<String>, GitError> {
        let Some(head) = self.head_commit()? else {
            return Ok(Vec::new());
        };
        let mut walk = self.repo.revwalk()?;
        walk.push(head.id())?;
        let mut out = Vec::new();
        for oid in walk.take(n) {
            let c = self.repo.find_commit(oid?)?;
            if let Some(s) = c.summary().ok().flatten() {
                out.push(s.to_string());
            }
        }
        Ok(out)
    }
}
