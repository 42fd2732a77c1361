//! What the worker reports, taken into the state: streamed text, answers
//! and their figures, proposals to review, previews, drafts, errors.

use crate::tui::escalation::Escalation;

use super::{App, Entry, Report, Review, View};

impl App {
    /// Take in what the worker reports.
    pub fn report(&mut self, r: Report) {
        if matches!(
            r,
            Report::Answered { .. }
                | Report::Proposed { .. }
                | Report::Error(_)
                | Report::CommitDraft(_)
                | Report::ToolCall { .. }
        ) {
            self.status.reading = None;
        }
        match r {
            Report::Progress(s) => self.status.index = s,
            Report::IndexReady { files } => self.status.index = format!("{files} files"),
            Report::ModelReady { name, window } => {
                self.status.placement = format!("local: {name}");
                self.status.model = Some(name);
                self.status.window = window;
                self.status.no_model = false;
                if self.setup.take().is_some() {
                    self.cancel = None;
                    if self.view == View::Setup {
                        self.view = View::Chat;
                    }
                }
            }
            Report::Picker(setup) => {
                self.setup = Some(*setup);
                self.view = View::Setup;
            }
            Report::NoModel(setup) => {
                self.status.no_model = true;
                self.entries.push(Entry::Error(format!(
                    "No local model yet: {}.\nChoose one on the screen above, or download the default Gemma 4 12B \
                     there ({}); a cloud provider can be set up too (docs/configuration.md), and Ctrl-E sends a task to it.",
                    setup.why, setup.download.1
                )));
                self.setup = Some(*setup);
                self.view = View::Setup;
            }
            Report::Download(done, total) => {
                if let Some(s) = &mut self.setup {
                    s.progress = Some((done, total));
                }
            }
            Report::Prefill { done, total } => {
                self.status.reading = (done < total).then(|| self.prefill.line(done, total));
            }
            Report::Token(t) => {
                self.status.reading = None;
                if let Some(Entry::Assistant { text, .. }) = self.entries.last_mut() {
                    text.push_str(&t);
                }
            }
            Report::Names(n) => self.names = n,
            Report::Resumed(entries) => self.entries.extend(entries),
            Report::ToolCall { name, arguments } => self.entries.push(Entry::Tool {
                name,
                arguments,
                ok: None,
                summary: String::new(),
                content: String::new(),
            }),
            Report::ToolResult {
                ok,
                summary,
                content,
                ..
            } => {
                if let Some(Entry::Tool {
                    ok: o,
                    summary: s,
                    content: c,
                    ..
                }) = self
                    .entries
                    .iter_mut()
                    .rev()
                    .find(|e| matches!(e, Entry::Tool { ok: None, .. }))
                {
                    (*o, *s, *c) = (Some(ok), summary, content);
                }
                // What the model writes next goes below the call.
                let placement = self
                    .entries
                    .iter()
                    .rev()
                    .find_map(|e| match e {
                        Entry::Assistant { placement, .. } => Some(placement.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                self.entries.push(Entry::Assistant {
                    placement,
                    text: String::new(),
                    thinking: String::new(),
                    done: false,
                });
            }
            Report::Confirm { prompt, reply } => {
                self.entries
                    .push(Entry::Info(format!("{prompt} — y runs it, n refuses")));
                self.confirm = Some(reply);
            }
            Report::Thinking(t) => {
                if let Some(Entry::Assistant { thinking, .. }) = self.entries.last_mut() {
                    thinking.push_str(&t);
                }
            }
            Report::Answered {
                placement,
                stats,
                sources,
                context_tokens,
                budget,
                cost,
            } => {
                self.finish(&placement);
                self.status.cost += cost;
                self.status.prefill = stats.prefill_tokens_per_s;
                self.status.decode = stats.decode_tokens_per_s;
                self.status.reused = stats.reused_prefix_tokens;
                self.status.context_used = context_tokens;
                if budget > 0 {
                    self.status.window = self.status.window.max(budget);
                }
                if !sources.is_empty() {
                    self.entries
                        .push(Entry::Info(format!("sources: {}", sources.join(", "))));
                }
            }
            Report::Proposed {
                changes,
                failures,
                advice,
                placement,
                cost,
            } => {
                self.finish(&placement);
                self.status.cost += cost;
                for f in &failures {
                    self.entries.push(Entry::Error(f.clone()));
                }
                if let Some(a) = advice {
                    self.entries.push(Entry::Info(a));
                }
                if !changes.is_empty() {
                    self.entries.push(Entry::Info(format!(
                        "{} file(s) changed: review with j/k, a/r, Enter applies",
                        changes.files.len()
                    )));
                    self.review = Some(Review {
                        changes,
                        failures,
                        at: (0, 0),
                    });
                    self.view = View::Review;
                }
            }
            Report::Preview {
                task,
                text,
                preview,
            } => {
                self.escalation = Some(Escalation::new(task, text, *preview));
                self.view = View::Escalate;
            }
            Report::Context(mut p) => {
                // Keep the selection when the panel is refreshed.
                let at = self.panel.as_ref().map_or(0, |old| old.at);
                p.at = at.min((p.parts.len() + p.excluded.len()).saturating_sub(1));
                if self.panel.is_some() {
                    self.panel = Some(p);
                }
            }
            Report::CommitDraft(c) => {
                self.commit = Some(*c);
                self.view = View::Commit;
            }
            Report::Committed(summary) => {
                self.commit = None;
                self.commit_running = false;
                self.entries.push(Entry::Info(summary));
            }
            Report::Info(s) => self.entries.push(Entry::Info(s)),
            Report::Attached(lines) => self.attachments = lines,
            Report::Untrusted(s) => {
                self.status.untrusted = true;
                self.entries.push(Entry::Info(s));
            }
            Report::Error(e) if self.commit_running => {
                // Back to the message as it was edited, with the reason.
                self.commit_running = false;
                if let Some(c) = &mut self.commit {
                    c.note = Some(e.clone());
                    self.view = View::Commit;
                }
                self.entries.push(Entry::Error(e));
            }
            Report::Error(e) if self.view == View::Setup => {
                if let Some(s) = &mut self.setup {
                    s.progress = None;
                    s.error = Some(e.clone());
                }
                self.cancel = None;
                self.entries.push(Entry::Error(e));
            }
            Report::Error(e) => {
                self.finish("");
                self.entries.push(Entry::Error(e));
            }
            Report::Git { branch, dirty } => {
                self.status.branch = branch;
                self.status.dirty = dirty;
            }
        }
    }

    pub(super) fn finish(&mut self, placement: &str) {
        self.busy = false;
        self.cancel = None;
        if let Some(Entry::Assistant {
            done, placement: p, ..
        }) = self
            .entries
            .iter_mut()
            .rev()
            .find(|e| matches!(e, Entry::Assistant { .. }))
        {
            *done = true;
            if !placement.is_empty() {
                *p = placement.to_string();
            }
        }
    }
}
