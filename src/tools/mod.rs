//! What a model may do besides writing text: the tools (read, search, list,
//! the repo map, git, propose an edit, run a check) and the checks
//! themselves. A tool reads or proposes; only an accepted change set
//! writes, and a check runs only when configured and approved.

pub mod check;
pub mod mcp;
pub mod registry;
pub mod toolbox;

pub use check::{CheckError, CheckOutcome};
pub use registry::{ToolCall, ToolResult, ToolSpec, builtin, shell, validate};
pub use toolbox::Toolbox;
