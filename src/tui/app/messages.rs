//! What passes between the UI and its worker thread, and the plain state
//! the views draw: requests out, reports in, transcript entries, the views,
//! the status bar's figures.

use crate::edit::ChangeSet;
use crate::model::GenStats;
use crate::route::Preview;
use crate::session::Task;

use crate::tui::commit::CommitView;
use crate::tui::complete;
use crate::tui::context_panel::ContextPanel;
use crate::tui::setup::SetupView;

/// What the worker is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Ask(String),
    Edit(String),
    Apply(ChangeSet),
    /// Load this model.
    UseModel(std::path::PathBuf),
    /// Use the model a spec names (a GGUF name or path, `provider:NAME`).
    UseSpec(String),
    /// Open the model picker.
    Models,
    /// Download the default model, then load it.
    Download,
    /// Apply what is accepted and stage it.
    ApplyAndStage(ChangeSet),
    /// Draft a commit message for what is staged.
    CommitDraft,
    /// What the next prompt for `question` would hold.
    Context {
        question: String,
    },
    /// Pin a file (always in the prompt) or unpin it.
    Pin {
        path: String,
        on: bool,
    },
    /// Remove a file from the context, or restore it.
    Exclude {
        path: String,
        on: bool,
    },
    /// Commit what is staged with this message.
    Commit(String),
    Undo,
    /// Drop the last journal entry without writing (`/undo skip`).
    UndoSkip,
    /// Undo although the files changed since (`/undo force`).
    UndoForce,
    Redo,
    /// Show what escalating the task to the cloud model would send.
    Escalate {
        task: Task,
        text: String,
    },
    /// Send it, without the trimmed paths.
    Send {
        task: Task,
        text: String,
        exclude: Vec<String>,
    },
    /// Attach the image at this path to the next question.
    Attach(String),
    /// Attach the image on the clipboard.
    AttachClipboard,
    /// Remove attachment N (1-based), or all.
    Detach(Option<usize>),
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum Report {
    Progress(String),
    /// What goes with the next question (one line each).
    Attached(Vec<String>),
    IndexReady {
        files: usize,
    },
    ModelReady {
        name: String,
        window: usize,
    },
    /// No local model: the first-run screen.
    NoModel(Box<SetupView>),
    /// The model picker (`/model`).
    Picker(Box<SetupView>),
    /// Download progress (bytes done, total).
    Download(u64, u64),
    Token(String),
    /// The prompt is being read: `done` of `total` tokens.
    Prefill {
        done: usize,
        total: usize,
    },
    /// Part of the model's thinking, shown folded.
    Thinking(String),
    /// The index's files and symbols, for `@` completion.
    Names(complete::Names),
    Answered {
        placement: String,
        stats: GenStats,
        sources: Vec<String>,
        context_tokens: usize,
        budget: usize,
        /// US dollars, when it went to a cloud model.
        cost: f64,
    },
    /// A commit message drafted for what is staged.
    CommitDraft(Box<CommitView>),
    /// What the next prompt holds.
    Context(ContextPanel),
    /// The commit was made (its summary line).
    Committed(String),
    /// What an escalation would send, for the user to confirm.
    Preview {
        task: Task,
        text: String,
        preview: Box<Preview>,
    },
    Proposed {
        changes: ChangeSet,
        failures: Vec<String>,
        advice: Option<String>,
        placement: String,
        cost: f64,
    },
    /// The tool loop called a tool (its result follows).
    ToolCall {
        name: String,
        arguments: String,
    },
    ToolResult {
        name: String,
        ok: bool,
        summary: String,
        content: String,
    },
    /// A question only the user can answer (run this check? this command?):
    /// the worker waits for the answer on `reply`.
    Confirm {
        prompt: String,
        reply: std::sync::mpsc::Sender<bool>,
    },
    /// A resumed conversation, replayed.
    Resumed(Vec<Entry>),
    Info(String),
    /// The repository's config file sets what needs trust and is not
    /// trusted: the line that says what was ignored.
    Untrusted(String),
    Error(String),
    Git {
        branch: Option<String>,
        dirty: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    User(String),
    Assistant {
        placement: String,
        text: String,
        /// What the model thought before answering (Gemma's thinking mode).
        thinking: String,
        done: bool,
    },
    /// One tool call of the loop: a folded line (Ctrl-T shows what it gave).
    Tool {
        name: String,
        arguments: String,
        /// None while it runs.
        ok: Option<bool>,
        summary: String,
        content: String,
    },
    Info(String),
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Chat,
    Review,
    Escalate,
    Commit,
    Setup,
    Help,
}

#[derive(Debug, Clone, Default)]
pub struct Status {
    pub model: Option<String>,
    pub placement: String,
    pub window: usize,
    pub context_used: usize,
    pub prefill: f64,
    pub decode: f64,
    pub reused: usize,
    pub index: String,
    pub branch: Option<String>,
    pub dirty: bool,
    pub cost: f64,
    /// No local model could be loaded.
    pub no_model: bool,
    /// Settings of the repository's config file were ignored (not trusted).
    pub untrusted: bool,
    /// While a prompt is read: how far, how fast, what is left.
    pub reading: Option<String>,
}
