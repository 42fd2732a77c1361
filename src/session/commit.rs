//! A commit message for what is staged: the model's answer to the commit
//! prompt (the staged diff and the repository's own style), cleaned; an
//! unusable answer, or no model, gives a plain summary of the files instead,
//! said so. Shared by `locus commit` and the TUI's commit view.

use super::SessionError;
use crate::context::{Context, Part, PartKind, Slot};
use crate::git::{self, FileDiff, Repo};
use crate::model::chat::{ChatModel, ChatRequest};
use crate::model::{Cancel, Event, Message, Role};

/// The answer room for a commit message.
const MESSAGE_TOKENS: usize = 160;

#[derive(Debug, Clone)]
pub struct Draft {
    pub message: String,
    /// "model" or "fallback".
    pub source: &'static str,
    /// The model's answer as it came (empty without a model).
    pub raw: String,
    /// Why the model's answer was not used, when it was not.
    pub rejected: Option<String>,
    pub files: Vec<FileDiff>,
    /// The staged diff as a patch.
    pub patch: String,
}

/// Draft a message for the changes staged in `index`; `diff_chars` bounds
/// the diff in the prompt.
pub fn draft(
    repo: &Repo,
    index: &git2::Index,
    model: Option<&dyn ChatModel>,
    diff_chars: usize,
    cancel: &Cancel,
    on_prefill: &mut dyn FnMut(usize, usize),
) -> Result<Draft, SessionError> {
    repo.check_can_commit(index)?;
    let files = git::files(&repo.diff_staged_with(index, None)?)?;
    let patch = repo.staged_patch(index)?;
    let gate = model.and_then(|m| m.gate());
    let withhold = |p: &str| gate.is_some_and(|g| g.left_out(p).is_some());
    let prompt = repo.commit_prompt_withholding(index, diff_chars, &withhold)?;
    let paths: Vec<String> = files
        .iter()
        .map(|f| f.path.clone())
        .filter(|p| !withhold(p))
        .collect();
    if let Some(g) = gate {
        // The preview of what leaves: the prompt, and the files it shows.
        let part = |kind, text: &str, slot| Part {
            kind,
            path: None,
            lines: None,
            tokens: 0,
            text: text.to_string(),
            slot,
        };
        let m = model.expect("gated");
        let mut ctx = Context {
            budget: m.window().saturating_sub(MESSAGE_TOKENS),
            total_tokens: 0,
            parts: vec![
                part(PartKind::System, &prompt.system, Slot::Stable),
                part(PartKind::Snippet, &prompt.user, Slot::Current),
            ],
            question: String::new(),
            dropped_turns: 0,
            missing_tokens: 0,
            cut: Vec::new(),
            map_files: Vec::new(),
            left_out: Vec::new(),
            history_turns: 0,
            attachments: Vec::new(),
        };
        g.review(&mut ctx, &paths, 1)?;
    }
    let raw = match model {
        Some(m) => answer(m, &prompt, &paths, cancel, on_prefill)?,
        None => String::new(),
    };
    let (message, source, rejected) = match model
        .ok_or_else(|| "no model to write it".to_string())
        .and_then(|_| git::clean_message(&raw, &format!("{}\n{}", prompt.system, prompt.user)))
    {
        Ok(m) => (m, "model", None),
        Err(why) => (git::fallback_message(&files), "fallback", Some(why)),
    };
    Ok(Draft {
        message,
        source,
        raw,
        rejected,
        files,
        patch,
    })
}

fn answer(
    model: &dyn ChatModel,
    prompt: &git::CommitPrompt,
    files: &[String],
    cancel: &Cancel,
    on_prefill: &mut dyn FnMut(usize, usize),
) -> Result<String, SessionError> {
    let messages = [
        Message::new(Role::System, prompt.system.clone()),
        Message::new(Role::User, prompt.user.clone()),
    ];
    let req = ChatRequest {
        messages: &messages,
        max_tokens: MESSAGE_TOKENS,
        temperature: 0.0,
        files,
        tools: &[],
        kind: Default::default(),
    };
    let mut text = String::new();
    let mut failure = None;
    model.chat(&req, cancel, &mut |e| match e {
        Event::Text(t) => text.push_str(&t),
        Event::Error(e) => failure = Some(e),
        Event::Prefill { done, total } => on_prefill(done, total),
        Event::Thinking(_) | Event::Done(_) | Event::ToolCall(_) | Event::BadToolCall { .. } => {}
    })?;
    match failure {
        Some(e) => Err(SessionError::Generation(e)),
        None => Ok(text),
    }
}
