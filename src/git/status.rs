//! What the working tree looks like: branch, upstream distance, and files
//! staged, unstaged, untracked and conflicted — `git status`, as data.

use git2::{Status as S, StatusOptions};
use serde::Serialize;

use super::open::Repo;
use super::repo::GitError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    /// `added`, `modified`, `deleted`, `renamed`, `typechange`.
    pub kind: &'static str,
    /// The old path of a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Branch name; `None` when HEAD is detached.
    pub branch: Option<String>,
    pub detached: bool,
    /// No commit yet.
    pub unborn: bool,
    pub head: Option<String>,
    pub upstream: Option<String>,
    pub ahead: usize,
    pub behind: usize,
    /// "merge", "rebase", … when one is in progress.
    pub in_progress: Option<&'static str>,
    pub staged: Vec<Change>,
    pub unstaged: Vec<Change>,
    pub untracked: Vec<String>,
    pub conflicted: Vec<String>,
}

impl Status {
    pub fn is_clean(&self) -> bool {
        self.staged.is_empty()
            && self.unstaged.is_empty()
            && self.untracked.is_empty()
            && self.conflicted.is_empty()
    }
}

fn kind(s: S, staged: bool) -> Option<&'static str> {
    let (new, modified, deleted, renamed, typechange) = if staged {
        (
            S::INDEX_NEW,
            S::INDEX_MODIFIED,
            S::INDEX_DELETED,
            S::INDEX_RENAMED,
            S::INDEX_TYPECHANGE,
        )
    } else {
        (
            S::WT_NEW,
            S::WT_MODIFIED,
            S::WT_DELETED,
            S::WT_RENAMED,
            S::WT_TYPECHANGE,
        )
    };
    [
        (renamed, "renamed"),
        (new, "added"),
        (modified, "modified"),
        (deleted, "deleted"),
        (typechange, "typechange"),
    ]
    .into_iter()
    .find(|(flag, _)| s.contains(*flag))
    .map(|(_, k)| k)
}

impl Repo {
    pub fn status(&self) -> Result<Status, GitError> {
        let repo = &self.repo;
        let head = self.head_commit()?;
        let detached = repo.head_detached().unwrap_or(false);
        let (mut upstream, mut ahead, mut behind) = (None, 0, 0);
        if let (Some(h), false) = (&head, detached)
            && let Ok(href) = repo.head()
            && let Ok(name) = href.shorthand()
            && let Ok(branch) = repo.find_branch(name, git2::BranchType::Local)
            && let Ok(up) = branch.upstream()
        {
            upstream = up.name().ok().flatten().map(String::from);
            if let Some(oid) = up.get().target() {
                (ahead, behind) = repo.graph_ahead_behind(h.id(), oid).unwrap_or((0, 0));
            }
        }
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .renames_head_to_index(true)
            .include_ignored(false)
            .exclude_submodules(false);
        let statuses = repo.statuses(Some(&mut opts))?;
        let mut st = Status {
            branch: self.branch(),
            detached,
            unborn: head.is_none(),
            head: head.as_ref().map(|c| c.id().to_string()),
            upstream,
            ahead,
            behind,
            in_progress: self.in_progress(),
            staged: Vec::new(),
            unstaged: Vec::new(),
            untracked: Vec::new(),
            conflicted: Vec::new(),
        };
        for e in statuses.iter() {
            let s = e.status();
            let path = String::from_utf8_lossy(e.path_bytes()).into_owned();
            if s.contains(S::CONFLICTED) {
                st.conflicted.push(path);
                continue;
            }
            if s.contains(S::WT_NEW) {
                st.untracked.push(path.clone());
            }
            if let Some(k) = kind(s, true) {
                let delta = e.head_to_index();
                let from = delta.as_ref().filter(|_| k == "renamed").and_then(|d| {
                    d.old_file()
                        .path()
                        .map(|p| p.to_string_lossy().into_owned())
                });
                let path = delta
                    .as_ref()
                    .and_then(|d| {
                        d.new_file()
                            .path()
                            .map(|p| p.to_string_lossy().into_owned())
                    })
                    .unwrap_or_else(|| path.clone());
                st.staged.push(Change {
                    path,
                    kind: k,
                    from,
                });
            }
            if let Some(k) = kind(s, false).filter(|&k| k != "added") {
                st.unstaged.push(Change {
                    path,
                    kind: k,
                    from: None,
                });
            }
        }
        Ok(st)
    }
}
