//! The command line: clap definitions only. Behaviour lives in `cmd/`.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

/// locus — a local-first coding assistant for the terminal.
///
/// Indexes the repository with tree-sitter, runs a local Gemma model
/// in-process, and hands a task to a cloud model only when you say so.
#[derive(Debug, Parser)]
#[command(name = "locus", version, propagate_version = true)]
pub struct Cli {
    /// More detail in the log file (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Run as if started in DIR.
    #[arg(short = 'C', long = "directory", value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// Open the TUI on a saved conversation (the latest, or ID from `locus sessions`).
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,

    /// The model for the TUI: a GGUF file, a name `locus models` lists, or
    /// provider:NAME (a server of your own); remembered for this repository.
    #[arg(long, value_name = "PATH|NAME|provider:NAME")]
    pub model: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report what locus finds: repository, config files, directories, settings.
    Doctor,
    /// Print the repo map: the most relevant files and their key definitions.
    Map(MapArgs),
    /// Print where a symbol is defined and used.
    Symbols(SymbolsArgs),
    /// Build or refresh the index and report on it.
    Index(IndexArgs),
    /// Run the local model on one prompt: completion to stdout, stats to stderr.
    Generate(GenerateArgs),
    /// List the local models locus can find, with their memory needs.
    Models(ModelsArgs),
    /// Apply the edits in a model's reply (a file, or - for stdin) after showing the diff.
    Apply(ApplyArgs),
    /// Ask the local model for a change, then show or apply it.
    Edit(EditArgs),
    /// Undo the last change locus applied in this repository.
    Undo(UndoArgs),
    /// Redo the last change undone.
    Redo(JournalArgs),
    /// Write a commit message for what is staged (with --yes, commit it).
    Commit(CommitArgs),
    /// Print what locus knows of the repository: branch, upstream, changes.
    Status(StatusArgs),
    /// Ask the local model a question about the code: the answer streams to stdout.
    Ask(AskArgs),
    /// Print exactly what would be sent to the model for a question, part by part.
    Context(ContextArgs),
    /// List the saved conversations of this repository.
    Sessions(SessionsArgs),
    /// Print the log of requests sent to cloud models (never their content).
    Audit(SessionsArgs),
    /// Show what this repository's .locus/config.toml would send or run, and trust it.
    Trust(TrustArgs),
    /// List the checks (tests, linters) configured here, run one, or save the one proposed.
    Checks(ChecksArgs),
    /// The MCP servers of `[mcp.servers.NAME]` and their tools.
    Mcp(McpArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), e.g. `locus man | man -l -`.
    Man,
}

#[derive(Debug, clap::Args)]
pub struct McpArgs {
    #[command(subcommand)]
    pub action: McpAction,
}

#[derive(Debug, Subcommand)]
pub enum McpAction {
    /// Start each configured server, list its tools (as `NAME.tool`, read-only
    /// or acting), and stop it.
    List {
        /// Print JSON: [{"name", "command", "error", "tools": [{"name", "description", "read_only"}]}].
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ChecksArgs {
    #[command(subcommand)]
    pub action: Option<ChecksAction>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ChecksAction {
    /// Run the check NAME in the repository root; exits 1 when it fails.
    Run { name: String },
    /// Save the check proposed from the repository's layout to .locus/config.toml.
    Save {
        /// Save without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Remove the trust recorded for this repository.
    #[arg(long)]
    pub revoke: bool,
    /// Only show the settings that need trust; record nothing.
    #[arg(long, conflicts_with = "revoke")]
    pub show: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where a chat command runs: the local model, or the cloud with --cloud.
#[derive(Debug, Clone, clap::Args)]
pub struct RouteArgs {
    /// Send the request to the cloud provider (after a preview of what leaves; needs --yes).
    #[arg(long)]
    pub cloud: bool,
    /// The provider for --cloud (default: route.escalate_to, or the only one configured).
    #[arg(long, value_name = "NAME", requires = "cloud")]
    pub provider: Option<String>,
    /// Leave this file (or glob) out of what is sent to the cloud (repeatable).
    #[arg(long, value_name = "PATH|GLOB", requires = "cloud")]
    pub exclude: Vec<String>,
    /// Mark the task as hard: locus says whether escalating would help.
    #[arg(long)]
    pub hard: bool,
}

/// The tool loop's switches, on `ask` and `edit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// Let the model search, read files and run checks first (the tool
    /// loop; on unless `[agent] tools = false`).
    #[arg(long, conflicts_with = "no_tools")]
    pub tools: bool,
    /// Work from the assembled context alone, without the tool loop.
    #[arg(long)]
    pub no_tools: bool,
    /// Let the model run configured checks (and acting MCP tools) without asking.
    #[arg(long)]
    pub allow_checks: bool,
}

impl AgentArgs {
    /// Whether the loop runs, given `[agent] tools`.
    pub fn on(&self, configured: bool) -> bool {
        !self.no_tools && (self.tools || configured)
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct AskArgs {
    /// The question; `-` (or none, with a pipe on stdin) reads it from stdin.
    #[arg(default_value = "-")]
    pub question: String,
    /// A file to put in front of the model whole (repeatable); one that does
    /// not fit is cut, and said so.
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<String>,
    /// Continue the latest conversation (or the one --session names).
    #[arg(long = "continue", short = 'c')]
    pub continue_: bool,
    /// The saved conversation to continue (see `locus sessions`).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    #[command(flatten)]
    pub route: RouteArgs,
    /// Send to the cloud without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// A GGUF file, or a name `locus models` lists (default: the configured model).
    #[arg(long, value_name = "PATH|NAME")]
    pub model: Option<String>,
    /// Most tokens the answer may take (default: context.answer_tokens).
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<usize>,
    #[command(flatten)]
    pub agent: AgentArgs,
    /// An image to show the model with the question (PNG, JPEG, WebP, GIF;
    /// repeatable): the local model needs its vision projector (mmproj).
    #[arg(long, value_name = "PATH")]
    pub image: Vec<std::path::PathBuf>,
    /// A WAV recording to send with the question (repeatable): the local
    /// model needs a projector with an audio part.
    #[arg(long, value_name = "PATH")]
    pub audio: Vec<std::path::PathBuf>,
    /// Print one JSON object: answer, sources, stats, the context's parts.
    #[arg(long)]
    pub json: bool,
    /// Print one JSON object per line as things happen (text, tool_call,
    /// tool_result, then done); see docs/tools.md.
    #[arg(long, conflicts_with = "json")]
    pub jsonl: bool,
}

#[derive(Debug, clap::Args)]
pub struct ContextArgs {
    /// The question the context is for.
    pub question: String,
    /// Token budget for the prompt (default: the model's window less the answer's room).
    #[arg(long, value_name = "N")]
    pub tokens: Option<usize>,
    /// A file to pin (repeatable).
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<String>,
    /// Count with this model's tokenizer (default: the configured model).
    #[arg(long, value_name = "PATH|NAME")]
    pub model: Option<String>,
    /// Print JSON: {"budget", "total_tokens", "parts": [{"kind", "path", "lines", "tokens"}], "cut": [{"path", "tokens", "kept_lines", "total_lines", "reason"}], "elapsed_ms"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// Stage every change to tracked files first (as `git commit -a`).
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Only print the message; stage and commit nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Commit without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print one JSON object: the message, where it came from, the commit.
    #[arg(long)]
    pub json: bool,
    /// A GGUF file, or a name `locus models` lists (default: the configured model).
    #[arg(long, value_name = "PATH|NAME")]
    pub model: Option<String>,
    /// Characters of diff the model sees at most.
    #[arg(long, default_value_t = 12_000)]
    pub diff_chars: usize,
    #[command(flatten)]
    pub route: RouteArgs,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The reply: SEARCH/REPLACE blocks, a unified diff or whole files; `-` reads stdin.
    #[arg(value_name = "RESPONSE_FILE")]
    pub response: String,
    /// Only print the unified diff; write nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Stage the files written (each with no other unstaged change), as the TUI's `S` does.
    #[arg(long, conflicts_with = "dry_run")]
    pub stage: bool,
    /// Do not run the checks marked after_edit once the change is written.
    #[arg(long)]
    pub no_check: bool,
    /// Print one JSON object: files, hunks, failures, whether it applied.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct EditArgs {
    /// What to change.
    pub instruction: String,
    /// A file the model should see and may change (repeatable).
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<String>,
    /// Only print the unified diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking (with --cloud: also send without asking).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Stage the files written (each with no other unstaged change), as the TUI's `S` does.
    #[arg(long, conflicts_with = "dry_run")]
    pub stage: bool,
    /// Do not run the checks marked after_edit (nor ask for fixes) once the change is written.
    #[arg(long)]
    pub no_check: bool,
    #[command(flatten)]
    pub agent: AgentArgs,
    /// A GGUF file, or a name `locus models` lists (default: the configured model).
    #[arg(long, value_name = "PATH|NAME")]
    pub model: Option<String>,
    /// Most tokens the model may write.
    #[arg(long, default_value_t = 1024)]
    pub max_tokens: usize,
    #[command(flatten)]
    pub route: RouteArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print one JSON object per line as things happen (text, edit_proposed,
    /// check, then done); see docs/tools.md.
    #[arg(long, conflicts_with = "json")]
    pub jsonl: bool,
}

#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// Drop the last entry from the journal without writing anything (when
    /// its files changed since and undo cannot go through).
    #[arg(long, conflicts_with = "force")]
    pub skip: bool,
    /// Restore the files to before the change even though they changed
    /// since; your version is kept, so `locus redo` brings it back.
    #[arg(long)]
    pub force: bool,
    /// With --force: without asking.
    #[arg(long, short = 'y', requires = "force")]
    pub yes: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct JournalArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// A GGUF file, or a name `locus models` lists (default: the configured model).
    #[arg(long, value_name = "PATH|NAME")]
    pub model: Option<String>,
    /// The prompt (a user message, unless --raw).
    #[arg(long)]
    pub prompt: String,
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Compute threads (default: physical cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Skip the chat template: tokenize the text as is, with BOS, as llama.cpp does.
    /// With --image, `<__media__>` in the prompt says where each image goes.
    #[arg(long)]
    pub raw: bool,
    /// An image to show the model (PNG, JPEG, WebP, GIF; repeatable): it
    /// needs the model's vision projector.
    #[arg(long, value_name = "PATH")]
    pub image: Vec<std::path::PathBuf>,
    /// A WAV recording for the model to hear (repeatable; after the
    /// images in the order of `<__media__>` markers): it needs a projector
    /// with an audio part (gemma4ua).
    #[arg(long, value_name = "PATH")]
    pub audio: Vec<std::path::PathBuf>,
    /// The vision projector (mmproj GGUF) for --image and --audio (default:
    /// [model] mmproj, else one beside the model).
    #[arg(long, value_name = "PATH")]
    pub mmproj: Option<std::path::PathBuf>,
    /// Soft tokens an image may take at most (70 to 1120; Gemma 4's default 280).
    #[arg(long, default_value_t = 280, value_name = "N",
          value_parser = clap::value_parser!(u16).range(70..=1120))]
    pub image_tokens: u16,
    /// Print one JSON object with the text and the stats instead.
    #[arg(long)]
    pub json: bool,
    /// Speculative decoding: draft tokens from the prompt (lookup) or with a
    /// Gemma 4 assistant model (mtp); the output is the same, only sooner
    /// (on a GPU, up to near-ties that its other batch shapes can tip).
    #[arg(long, value_enum, default_value_t = DraftArg::None)]
    pub draft: DraftArg,
    /// Tokens drafted per pass at most.
    #[arg(long, default_value_t = 8, value_name = "K")]
    pub draft_max: usize,
    /// The Gemma 4 MTP assistant GGUF for --draft mtp (default: [model]
    /// drafter, else one named *assistant*.gguf beside the model).
    #[arg(long, value_name = "PATH")]
    pub drafter: Option<std::path::PathBuf>,
}

/// `locus generate --draft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DraftArg {
    None,
    Lookup,
    Mtp,
}

#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub action: Option<ModelsAction>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Download a GGUF from Hugging Face (resumable, checksum-verified) into its cache.
    Pull {
        /// ORG/REPO or ORG/REPO:FILE.gguf (default: Gemma 4 12B instruction-tuned, Q4_K_M).
        spec: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct MapArgs {
    /// Token budget for the map.
    #[arg(long, default_value_t = 4096)]
    pub tokens: usize,
    /// A file path or identifier the map should centre on (repeatable).
    #[arg(long, value_name = "PATH|IDENT")]
    pub focus: Vec<String>,
    /// Print JSON: {"files": [{"path", "rank", "definitions": [{"name", "kind", "line"}]}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SymbolsArgs {
    /// The symbol's name.
    pub name: String,
    /// Match every symbol whose name starts with NAME.
    #[arg(long)]
    pub prefix: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// Print files, symbols, languages and the time taken.
    #[arg(long)]
    pub stats: bool,
    /// Ignore the cache and parse every file again.
    #[arg(long)]
    pub rebuild: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}
