//! git2 wrapper. A leaf: anything may ask where the repository is and what state
//! it is in; nothing here knows about models or the UI.

mod repo;

pub use repo::{GitError, RepoInfo, discover};
