//! git2 wrapper. A leaf: anything may ask where the repository is and what
//! state it is in, stage, diff and commit; nothing here knows about models or
//! the UI (the commit-message prompt is text; the caller runs the model).

mod clean;
mod commit;
mod diff;
mod message;
mod open;
mod repo;
mod stage;
mod status;

pub use clean::{MAX_SUBJECT, clean_message, fallback_message};
pub use commit::Committed;
pub use diff::{DiffHunk, FileDiff, files, patch_text};
pub use message::{CommitPrompt, file_summary, uses_conventional_commits};
pub use open::Repo;
pub use repo::{GitError, RepoInfo, discover};
pub use status::{Change, Status};
