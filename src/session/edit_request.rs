//! An edit request in a conversation: SEARCH/REPLACE blocks from the model
//! (with its tools, or in one reply), one retry with the matcher's
//! feedback, then advice.

use std::path::Path;

use crate::edit::{self, PathGuard, Proposal};
use crate::index::Index;
use crate::model::chat::{ChatModel, Placement, ReplyKind};
use crate::model::{Cancel, Message, Role};

use super::stream::run;
use super::{EditOutcome, Piece, Session, SessionError, Task, agent};

impl Session {
    /// Ask for a change: SEARCH/REPLACE blocks become a proposal; blocks that
    /// fail get one automatic retry with the matcher's feedback, then advice.
    #[allow(clippy::too_many_arguments)]
    pub fn edit(
        &mut self,
        model: &dyn ChatModel,
        index: &Index,
        guard: &PathGuard,
        cwd: &Path,
        instruction: &str,
        pinned: &[String],
        tools: Option<agent::ToolLoop<'_, '_>>,
        cancel: &Cancel,
        on_text: &mut dyn FnMut(Piece),
    ) -> Result<EditOutcome, SessionError> {
        let window = model.window();
        let (system, question, answer_room) = self.shape(model, Task::Edit, instruction);
        let with_tools;
        let (system, requests, declared) = match &tools {
            Some(t) => {
                with_tools = format!(
                    "{system}\n\n{}\nWhen you know the change, reply with SEARCH/REPLACE blocks.",
                    agent::instructions(model, t.toolbox.specs())
                );
                let declared = agent::declared_tokens(model, t.toolbox.specs());
                (with_tools.as_str(), t.max_steps + 2, declared)
            }
            None => (system, 2, 0),
        };
        let budget = window.saturating_sub(answer_room + declared);
        let ctx = self.prepare(
            model, index, cwd, system, &question, pinned, budget, requests, cancel,
        )?;
        let mut messages = ctx.messages();
        let files = self.files_of(&ctx, model.gate());
        let mut replies = Vec::new();
        let (reply, mut stats, steps, stopped, proposed) = match tools {
            Some(t) => {
                let end = agent::run_loop(
                    model,
                    messages.clone(),
                    &files,
                    t.toolbox,
                    t.max_steps,
                    answer_room,
                    ReplyKind::Edit,
                    cancel,
                    t.on_event,
                )?;
                let proposed = t.toolbox.proposals.pop();
                (end.text, end.stats, end.steps, end.stopped, proposed)
            }
            None => {
                let (r, s) = run(
                    model,
                    &messages,
                    &files,
                    answer_room,
                    ReplyKind::Edit,
                    cancel,
                    on_text,
                )?;
                (r, s, Vec::new(), None, None)
            }
        };
        let mut proposal = edit::propose(&edit::parse_reply(&reply), guard);
        // A reply without blocks after a `propose_edit` call: that proposal.
        if let Some(p) =
            proposed.filter(|_| proposal.changes.is_empty() && proposal.failures.is_empty())
        {
            proposal = p;
        }
        replies.push(reply);
        let failed = |p: &Proposal| !p.failures.is_empty() || p.changes.is_empty();
        if failed(&proposal) && !cancel.is_cancelled() {
            let feedback = if proposal.failures.is_empty() {
                "Your reply had no SEARCH/REPLACE blocks. Reply with SEARCH/REPLACE blocks only."
                    .to_string()
            } else {
                // A cloud model is quoted only the files approved for it.
                let gate = model.gate();
                proposal.feedback_quoting(&|p| gate.is_none_or(|g| g.approved(p)))
            };
            let mut retry_files = files.clone();
            retry_files.extend(
                proposal
                    .failures
                    .iter()
                    .filter_map(|f| f.path.clone())
                    .filter(|p| model.gate().is_none_or(|g| g.approved(p))),
            );
            retry_files.sort();
            retry_files.dedup();
            messages.push(Message::new(Role::Assistant, replies[0].clone()));
            messages.push(Message::new(Role::User, feedback));
            // The retry must fit too: without room, it is not attempted.
            let room = window.saturating_sub(model.prompt_tokens(&messages));
            if room >= 128 {
                on_text(Piece::Text("\n"));
                let (retry, s) = run(
                    model,
                    &messages,
                    &retry_files,
                    answer_room.min(room),
                    ReplyKind::Edit,
                    cancel,
                    on_text,
                )?;
                stats = s;
                proposal = edit::propose(&edit::parse_reply(&retry), guard);
                replies.push(retry);
            }
        }
        let advice = failed(&proposal).then(|| crate::route::Reason::EditsFailedTwice {
            cloud: matches!(model.placement(), Placement::Cloud { .. }),
        });
        let placement = model.placement();
        let last = replies.last().cloned().unwrap_or_default();
        let first_messages = ctx.messages();
        self.record(
            "edit",
            instruction,
            &first_messages,
            &last,
            &placement,
            &stats,
            &[],
            files,
        )?;
        Ok(EditOutcome {
            proposal,
            replies,
            advice,
            stats,
            placement,
            context: ctx,
            steps,
            stopped,
        })
    }
}
