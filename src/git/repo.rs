//! Finding the repository that contains a directory.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git: {}", .0.message())]
    Git(#[from] git2::Error),
    #[error("{} is not inside a git repository; run `git init` first, or start locus in a repository", .0.display())]
    NotARepo(PathBuf),
    #[error("{} is a bare repository (no working tree); locus works in a checkout", .0.display())]
    Bare(PathBuf),
    #[error("a {0} is in progress; finish or abort it with git first (locus will not commit now)")]
    InProgress(String),
    #[error(
        "nothing is staged; stage changes with `git add PATH` (or pass --all to stage every tracked change)"
    )]
    NothingStaged,
    #[error(
        "no commit identity: set it with `git config user.name \"Your Name\"` and `git config user.email you@example.com`"
    )]
    NoIdentity,
    #[error("the {hook} hook failed, nothing was committed:\n{output}")]
    Hook { hook: String, output: String },
    #[error("no hunk {0} in that file's diff")]
    NoHunk(usize),
    #[error(
        "{0} exists: another git process is running in this repository (if none is, remove the file); nothing was committed"
    )]
    IndexLocked(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What locus needs to know about the repository it was started in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// The working tree's root; `None` for a bare repository.
    pub workdir: Option<PathBuf>,
    pub git_dir: PathBuf,
    /// Current branch name; `None` when HEAD is detached or unborn-less.
    pub branch: Option<String>,
    pub detached: bool,
    /// No commit yet.
    pub unborn: bool,
}

/// The repository containing `start`, or `None` when there is none.
pub fn discover(start: &Path) -> Result<Option<RepoInfo>, GitError> {
    let repo = match git2::Repository::discover(start) {
        Ok(r) => r,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let detached = repo.head_detached().unwrap_or(false);
    let (branch, unborn) = match repo.head() {
        Ok(head) => (
            head.shorthand()
                .ok()
                .filter(|_| !detached)
                .map(String::from),
            false,
        ),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            let name = repo
                .find_reference("HEAD")
                .ok()
                .and_then(|r| r.symbolic_target().ok().flatten().map(String::from))
                .map(|t| t.trim_start_matches("refs/heads/").to_string());
            (name, true)
        }
        Err(e) => return Err(e.into()),
    };
    let workdir = repo
        .workdir()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()));
    Ok(Some(RepoInfo {
        workdir,
        git_dir: repo.path().to_path_buf(),
        branch,
        detached,
        unborn,
    }))
}
