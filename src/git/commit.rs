//! Creating the commit. git2 does not run hooks, so when the repository has
//! any commit hook the commit goes through the git executable (which runs
//! them all and whose output is shown when one fails); otherwise git2 writes
//! it directly with the user's configured identity.

use std::path::PathBuf;
use std::process::Command;

use serde::Serialize;

use super::open::Repo;
use super::repo::GitError;

/// Hooks that take part in `git commit`.
const COMMIT_HOOKS: &[&str] = &[
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub id: String,
    pub subject: String,
    /// Went through the git executable because hooks exist.
    pub via_git: bool,
    /// The hooks that ran.
    pub hooks: Vec<String>,
    /// What git and the hooks printed.
    pub output: String,
    /// The message as committed (after `commit-msg` and cleanup).
    pub message: String,
}

impl Repo {
    /// The directory hooks live in (`core.hooksPath`, or the common git dir's hooks/).
    pub fn hooks_dir(&self) -> PathBuf {
        let configured = self
            .repo
            .config()
            .ok()
            .and_then(|c| c.get_path("core.hooksPath").ok());
        match configured {
            Some(p) if p.is_absolute() => p,
            Some(p) => self.workdir().join(p),
            None => self.repo.commondir().join("hooks"),
        }
    }

    /// The commit hooks present and executable.
    pub fn commit_hooks(&self) -> Vec<String> {
        let dir = self.hooks_dir();
        COMMIT_HOOKS
            .iter()
            .filter(|h| is_executable(&dir.join(h)))
            .map(|h| h.to_string())
            .collect()
    }

    /// Why a commit cannot be made now, if it cannot.
    pub fn check_can_commit(&self, index: &git2::Index) -> Result<(), GitError> {
        if let Some(op) = self.in_progress() {
            return Err(GitError::InProgress(op.into()));
        }
        if index.has_conflicts() {
            return Err(GitError::InProgress("merge with conflicts".into()));
        }
        if self.diff_staged_with(index, None)?.deltas().len() == 0 {
            return Err(GitError::NothingStaged);
        }
        Ok(())
    }

    /// Refuse while another git process holds the index (as git does).
    pub fn check_index_unlocked(&self) -> Result<(), GitError> {
        let lock = self.repo.path().join("index.lock");
        if lock.exists() {
            return Err(GitError::IndexLocked(lock.display().to_string()));
        }
        Ok(())
    }

    /// A signature as git makes it: `GIT_{who}_NAME`, `_EMAIL` and `_DATE`
    /// from the environment over the configured identity.
    fn signature_for(&self, who: &str) -> Result<git2::Signature<'static>, GitError> {
        let var = |k: &str| {
            std::env::var(format!("GIT_{who}_{k}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let config = self.repo.signature().ok();
        let name = var("NAME").or_else(|| {
            config
                .as_ref()
                .and_then(|s| s.name().ok().map(String::from))
        });
        let email = var("EMAIL").or_else(|| {
            config
                .as_ref()
                .and_then(|s| s.email().ok().map(String::from))
        });
        let (Some(name), Some(email)) = (name, email) else {
            return Err(GitError::NoIdentity);
        };
        match var("DATE").and_then(|d| parse_git_date(&d)) {
            Some(t) => Ok(git2::Signature::new(&name, &email, &t)?),
            None => Ok(git2::Signature::now(&name, &email)?),
        }
    }

    /// Commit what is staged with `message`.
    pub fn commit(&self, message: &str) -> Result<Committed, GitError> {
        self.check_index_unlocked()?;
        let mut index = self.repo.index()?;
        self.check_can_commit(&index)?;
        let hooks = self.commit_hooks();
        if !hooks.is_empty() {
            return self.commit_with_git(message, hooks);
        }
        let author = self.signature_for("AUTHOR")?;
        let committer = self.signature_for("COMMITTER")?;
        let tree = self.repo.find_tree(index.write_tree()?)?;
        let parent = self.head_commit()?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let id = self
            .repo
            .commit(Some("HEAD"), &author, &committer, message, &tree, &parents)?;
        Ok(Committed {
            id: id.to_string(),
            subject: message.lines().next().unwrap_or_default().to_string(),
            via_git: false,
            hooks,
            output: String::new(),
            message: message.to_string(),
        })
    }

    fn commit_with_git(&self, message: &str, hooks: Vec<String>) -> Result<Committed, GitError> {
        let mut file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut file, message.as_bytes())?;
        let out = Command::new("git")
            .args(["commit", "--quiet", "--cleanup=strip", "-F"])
            .arg(file.path())
            .current_dir(self.workdir())
            .output()
            .map_err(|e| {
                GitError::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot run git (needed to run the repository's hooks): {e}"),
                ))
            })?;
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_string();
        if !out.status.success() {
            if output.contains("Please tell me who you are")
                || output.contains("unable to auto-detect email")
            {
                return Err(GitError::NoIdentity);
            }
            return Err(GitError::Hook {
                hook: hooks.join("/"),
                output,
            });
        }
        let head = self.head_commit()?.ok_or(GitError::NothingStaged)?;
        Ok(Committed {
            id: head.id().to_string(),
            subject: head
                .summary()
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_string(),
            via_git: true,
            hooks,
            output,
            message: head.message().unwrap_or_default().to_string(),
        })
    }
}

/// `GIT_*_DATE` in git's internal form (`1700000000 +0100`) or as
/// `@1700000000`; other forms are left to the clock.
fn parse_git_date(d: &str) -> Option<git2::Time> {
    let d = d.trim().trim_start_matches('@');
    let mut it = d.split_whitespace();
    let secs: i64 = it.next()?.parse().ok()?;
    let offset = match it.next() {
        Some(z) if z.len() == 5 => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let h: i32 = z[1..3].parse().ok()?;
            let m: i32 = z[3..5].parse().ok()?;
            sign * (h * 60 + m)
        }
        Some(_) => return None,
        None => 0,
    };
    Some(git2::Time::new(secs, offset))
}

#[cfg(unix)]
fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &std::path::Path) -> bool {
    p.is_file()
}
