//! Edits: from a model's reply to reviewed, applied, undoable file changes.
//!
//! The reply is parsed tolerantly (`parse`, `udiff`), each block is located in
//! its file (`matcher`) and the result becomes a change set of hunks the user
//! accepts or rejects (`plan`, `changeset`, `hunk`). Accepted hunks are
//! written atomically under the path rules (`apply`, `paths`) and journaled
//! so they can be undone after a restart (`journal`). Nothing is written that
//! the user did not accept, and a change set applies completely or not at all.

mod apply;
mod block;
mod changeset;
mod diff;
mod fsio;
mod hunk;
mod journal;
mod matcher;
mod parse;
mod paths;
mod placeholder;
mod plan;
mod prompt;
mod removal;
mod text;
mod udiff;

pub use apply::{ApplyError, Write, execute, writes_for};
pub use block::{Edit, ParseError, ParsedReply};
pub use changeset::{Base, ChangeSet, FileChange, FileOp, Outcome};
pub use hunk::{Decision, Hunk, hunk_lines};
pub use journal::{Entry, EntryFile, Journal, JournalError, Recovered};
pub use matcher::{Candidate, FUZZY_THRESHOLD, Found, MatchError, Tier, locate};
pub use parse::parse_reply;
pub use paths::{PathError, PathGuard, Resolved};
pub use placeholder::first_placeholder;
pub use plan::{Failure, FailureKind, Proposal, propose};
pub use prompt::{EDIT_FORMAT, edit_prompt};
pub use removal::{MassRemoval, asks_to_remove, mass_removals};
pub use text::{FileText, encode_like, hash};
