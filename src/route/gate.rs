//! The privacy gate, wrapped around every model that runs off this machine.
//! A cloud provider is only ever handed out as a `Gated` model, so no caller
//! can switch the gate off: each `chat()` — answers, edits, retries,
//! summaries, commit messages, whatever comes later — sends only files the
//! user approved for the task (never a never-send file or one they trimmed),
//! with every secret in every message redacted, and is written to the audit
//! log with the files whose content or signatures left.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::audit::{self, AuditEntry};
use super::preview::Preview;
use super::privacy::guard;
use super::secrets::redact;
use crate::config::{PathRules, ProviderSettings};
use crate::context::Context;
use crate::model::chat::{ChatModel, ChatRequest, Gate, ModelError, Placement};
use crate::model::cloud::CloudModel;
use crate::model::{Cancel, Event, Message};
use crate::tokens::TokenCounter;

/// Says why a path the user trimmed stays here, if it does.
pub type Trim = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Shown the preview of a task; `Ok` approves it, `Err` says why not.
pub type Approve = Box<dyn FnMut(&Preview) -> Result<(), String> + Send>;

/// What the user approved: this task, up to `requests` requests, with these files.
#[derive(Debug, Clone)]
struct Approval {
    requests: usize,
    files: BTreeSet<String>,
}

#[derive(Default)]
struct State {
    approval: Option<Approval>,
    /// US dollars spent through this gate.
    cost: f64,
}

/// A cloud model behind the gate.
pub struct Gated {
    model: CloudModel,
    never_send: PathRules,
    trim: Trim,
    approve: Mutex<Approve>,
    state: Mutex<State>,
    audit: Option<PathBuf>,
}

impl Gated {
    /// `model` behind the gate: `never_send` and `trim` say what stays here,
    /// `approve` sees each task's preview, `audit` is the log to write.
    pub fn new(
        model: CloudModel,
        never_send: PathRules,
        trim: Trim,
        approve: Approve,
        audit: Option<PathBuf>,
    ) -> Gated {
        Gated {
            model,
            never_send,
            trim,
            approve: Mutex::new(approve),
            state: Mutex::new(State::default()),
            audit,
        }
    }

    pub fn name(&self) -> &str {
        &self.model.name
    }

    pub fn provider(&self) -> &ProviderSettings {
        &self.model.settings
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// US dollars spent through this gate so far.
    pub fn cost(&self) -> f64 {
        self.state().cost
    }

    /// What the task would send, as it would leave (never-send parts out,
    /// secrets redacted, recounted), without asking for approval.
    pub fn preview(&self, ctx: &mut Context, extra_files: &[String], requests: usize) -> Preview {
        let mut report = guard(ctx, &self.never_send);
        ctx.parts.retain(|p| {
            p.path
                .as_deref()
                .and_then(|path| (self.trim)(path))
                .is_none()
        });
        for l in &ctx.left_out {
            if !report.left_out.iter().any(|(p, _)| p == &l.path) {
                report.left_out.push((l.path.clone(), l.reason.clone()));
            }
        }
        ctx.recount(self.model.counter());
        let mut files: BTreeSet<String> = ctx.files().into_iter().collect();
        files.extend(extra_files.iter().cloned());
        files.retain(|f| self.left_out(f).is_none());
        let max_out = self.model.window().saturating_sub(ctx.budget);
        let mut p = Preview::new(self.name(), self.provider(), ctx, &report, max_out);
        p.files = files.into_iter().collect();
        p.requests = requests;
        p
    }

    fn refuse(why: impl Into<String>) -> ModelError {
        ModelError::NotApproved(why.into())
    }

    /// Record one request in the audit log; its cost.
    fn record(
        &self,
        files: &[String],
        tokens_in: usize,
        stats: Option<&crate::model::GenStats>,
        outcome: String,
    ) -> f64 {
        let p = self.provider();
        let tokens_in = stats
            .map(|s| s.prompt_tokens)
            .filter(|&n| n > 0)
            .unwrap_or(tokens_in);
        let tokens_out = stats.map_or(0, |s| s.generated_tokens);
        let cost = tokens_in as f64 * p.price_in_per_mtok / 1e6
            + tokens_out as f64 * p.price_out_per_mtok / 1e6;
        if let Some(file) = &self.audit {
            let entry = AuditEntry {
                time: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                provider: self.name().to_string(),
                model: p.model.clone(),
                files: files.to_vec(),
                tokens_in,
                tokens_out,
                cost_usd: cost,
                outcome,
            };
            if let Err(e) = audit::append(file, &entry) {
                tracing::warn!(error = %e, "cannot write the audit log");
            }
        }
        cost
    }
}

impl Gate for Gated {
    fn left_out(&self, path: &str) -> Option<String> {
        if let Some(glob) = self.never_send.matching(Path::new(path)) {
            return Some(format!("matches never_send `{glob}`"));
        }
        (self.trim)(path)
    }

    fn review(
        &self,
        ctx: &mut Context,
        extra_files: &[String],
        requests: usize,
    ) -> Result<(), ModelError> {
        let preview = self.preview(ctx, extra_files, requests);
        {
            let mut approve = self.approve.lock().unwrap_or_else(|e| e.into_inner());
            (approve)(&preview).map_err(Self::refuse)?;
        }
        let mut st = self.state();
        st.approval = Some(Approval {
            requests,
            files: preview.files.iter().cloned().collect(),
        });
        Ok(())
    }

    fn approved(&self, path: &str) -> bool {
        self.left_out(path).is_none()
            && self
                .state()
                .approval
                .as_ref()
                .is_some_and(|a| a.files.contains(path))
    }
}

impl ChatModel for Gated {
    fn placement(&self) -> Placement {
        self.model.placement()
    }

    fn window(&self) -> usize {
        self.model.window()
    }

    fn max_output(&self) -> Option<usize> {
        self.model.max_output()
    }

    fn counter(&self) -> &dyn TokenCounter {
        self.model.counter()
    }

    fn gate(&self) -> Option<&dyn Gate> {
        Some(self)
    }

    fn native_tools(&self) -> bool {
        self.model.native_tools()
    }

    fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), ModelError> {
        if let Some((f, why)) = req
            .files
            .iter()
            .find_map(|f| self.left_out(f).map(|w| (f, w)))
        {
            return Err(Self::refuse(format!("{f} stays on this machine ({why})")));
        }
        {
            let mut st = self.state();
            let Some(a) = st.approval.as_mut() else {
                return Err(Self::refuse("the request was not previewed and approved"));
            };
            if a.requests == 0 {
                return Err(Self::refuse(
                    "the approval for this task is used up; review it again",
                ));
            }
            if let Some(f) = req.files.iter().find(|f| !a.files.contains(*f)) {
                return Err(Self::refuse(format!(
                    "{f} was not among the files you approved; review it again"
                )));
            }
            a.requests -= 1;
        }
        if let Some(a) = req
            .messages
            .iter()
            .flat_map(|m| &m.attachments)
            .find(|a| !self.approved(&a.name))
        {
            return Err(Self::refuse(format!(
                "{} was not among the files you approved; review it again",
                a.name
            )));
        }
        let messages: Vec<Message> = req
            .messages
            .iter()
            .map(|m| Message {
                content: redact(&m.content).0,
                ..m.clone()
            })
            .collect();
        let estimate = self.model.prompt_tokens(&messages);
        let mut stats = None;
        let r = self.model.chat(
            &ChatRequest {
                messages: &messages,
                max_tokens: req.max_tokens,
                temperature: req.temperature,
                files: req.files,
                tools: req.tools,
                kind: req.kind,
            },
            cancel,
            &mut |e| {
                if let Event::Done(s) = &e {
                    stats = Some(s.clone());
                }
                emit(e);
            },
        );
        let outcome = match (&r, &stats) {
            (Err(e), _) => e.to_string(),
            (Ok(()), Some(s)) if s.finish == "stop" => "ok".to_string(),
            (Ok(()), Some(s)) => s.finish.clone(),
            (Ok(()), None) => "ok".to_string(),
        };
        let cost = self.record(req.files, estimate, stats.as_ref(), outcome);
        self.state().cost += cost;
        r
    }
}
