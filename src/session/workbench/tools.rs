//! The workbench's jobs that run the tool loop: ask and edit with tools,
//! the toolbox they share (checks approved once per session, the shell,
//! MCP servers, the gate's limits on what tool results carry).

use super::{Via, Workbench, WorkbenchError, pick};
use crate::edit::{self, PathGuard};
use crate::index::Index;
use crate::model::Cancel;
use crate::model::chat::ChatModel;
use crate::session::{Answer, EditOutcome, Piece, Session, SessionError, agent};

impl Workbench {
    /// Answer with the tool loop on the workbench's own model: it may
    /// search, read, run checks (`approve_check` asked first unless
    /// `[agent] approve = "checks"`) and propose edits before it answers.
    /// The answer, the loop's steps and why it stopped early, and the edits
    /// it proposed.
    pub fn ask_with_tools(
        &mut self,
        via: Via<'_>,
        question: &str,
        files: &[String],
        approve_check: &mut dyn FnMut(&str) -> bool,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(agent::LoopEvent<'_>),
    ) -> Result<(Answer, agent::LoopEnd, Vec<edit::Proposal>), WorkbenchError> {
        self.index()?;
        let pinned = self.with_pins(files);
        let max_steps = self.settings.agent.max_steps;
        let cwd = self.ws.cwd.clone();
        self.with_toolbox(via, approve_check, |session, model, index, _, toolbox| {
            let (answer, end) = session.ask_with_tools(
                model, index, &cwd, question, &pinned, toolbox, max_steps, cancel, on_event,
            )?;
            let mut end = end;
            end.checks = std::mem::take(&mut toolbox.checks_run);
            Ok((answer, end, std::mem::take(&mut toolbox.proposals)))
        })
    }

    /// Run `f` with the model `via` picks and a toolbox over the index:
    /// checks asked for with `approve_check` the first time per check and
    /// session (unless `[agent] approve = "checks"`); behind the gate, tool
    /// results carry only the files the user approved for the task (and
    /// never one that stays on this machine).
    fn with_toolbox<R>(
        &mut self,
        via: Via<'_>,
        approve_check: &mut dyn FnMut(&str) -> bool,
        f: impl FnOnce(
            &mut Session,
            &dyn ChatModel,
            &Index,
            &PathGuard,
            &mut crate::tools::Toolbox<'_>,
        ) -> Result<R, SessionError>,
    ) -> Result<R, WorkbenchError> {
        if !self.settings.mcp.servers.is_empty() {
            self.mcp_servers().start();
        }
        let model = pick(&self.model, via)?;
        let index = self.index.as_ref().expect("opened");
        let auto = self.settings.agent.approve == "checks";
        let gate = model.gate();
        let stays = move |path: &str| {
            let g = gate?;
            g.left_out(path).or_else(|| {
                (!g.approved(path)).then(|| {
                    "it was not among the files you approved for the cloud (pin it with --file to send it)"
                        .to_string()
                })
            })
        };
        let approved = &mut self.approved_checks;
        let mut approve = |name: &str| {
            if auto || approved.contains(name) {
                return true;
            }
            let yes = approve_check(name);
            if yes {
                approved.insert(name.to_string());
            }
            yes
        };
        let mut toolbox = crate::tools::Toolbox::new(
            index,
            &self.guard,
            gate.is_some().then_some(&stays as _),
            &self.settings.checks,
            &mut approve,
        );
        let mut refuse = |_: &str| false;
        if self.settings.tools.shell == "ask" {
            let ask: &mut dyn FnMut(&str) -> bool = match self.approve_shell.as_deref_mut() {
                Some(a) => a,
                None => &mut refuse,
            };
            toolbox = toolbox.with_shell(ask, self.settings.tools.shell_timeout_s);
        }
        if let Some(servers) = &self.mcp {
            toolbox = toolbox.with_mcp(servers);
        }
        Ok(f(
            &mut self.session,
            model,
            index,
            &self.guard,
            &mut toolbox,
        )?)
    }

    fn mcp_servers(&mut self) -> &mut crate::tools::mcp::McpServers {
        let (servers, root) = (&self.settings.mcp.servers, &self.ws.root);
        self.mcp
            .get_or_insert_with(|| crate::tools::mcp::McpServers::new(servers, root))
    }

    /// Start the configured MCP servers (those not running yet) and say
    /// what each offers, or why it could not start.
    pub fn mcp_status(&mut self) -> Vec<crate::tools::mcp::McpStatus> {
        let servers = self.mcp_servers();
        servers.start();
        servers.status()
    }

    /// Ask for a change with the tool loop first: the model may search,
    /// read and run checks before it replies with the change (or calls
    /// `propose_edit`); the proposal goes to review like any other.
    pub fn edit_with_tools(
        &mut self,
        via: Via<'_>,
        instruction: &str,
        files: &[String],
        approve_check: &mut dyn FnMut(&str) -> bool,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(agent::LoopEvent<'_>),
    ) -> Result<EditOutcome, WorkbenchError> {
        self.index()?;
        let pinned = self.with_pins(files);
        let max_steps = self.settings.agent.max_steps;
        let cwd = self.ws.cwd.clone();
        self.with_toolbox(
            via,
            approve_check,
            |session, model, index, guard, toolbox| {
                let mut on_text = |_: Piece| {};
                session.edit(
                    model,
                    index,
                    guard,
                    &cwd,
                    instruction,
                    &pinned,
                    Some(agent::ToolLoop {
                        toolbox,
                        max_steps,
                        on_event,
                    }),
                    cancel,
                    &mut on_text,
                )
            },
        )
    }
}
