//! The built-in tools at work on one repository: reading (under the path
//! guard, never a file that stays on this machine when the model is off
//! it), searching with ripgrep's engine over the ignore-aware file list,
//! listing, the repo map, git, checks (approved first), and proposals that
//! go to the user's review — a tool never writes a file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use globset::GlobBuilder;
use grep_regex::RegexMatcherBuilder;
use grep_searcher::SearcherBuilder;
use grep_searcher::sinks::UTF8;
use serde_json::Value;

use super::check::{self, CheckOutcome};
use super::registry::{ToolCall, ToolResult, ToolSpec, builtin, validate};
use crate::config::CheckSettings;
use crate::edit::{PathGuard, Proposal, parse_reply, propose};
use crate::index::{FileStatus, Index};
use crate::model::Cancel;

/// Lines of a file one read returns at most.
const READ_LINES: usize = 400;
/// Matches one search returns at most.
const MATCHES: usize = 50;
/// Files one listing returns at most.
const LISTED: usize = 300;
/// Bytes of a diff returned at most.
const DIFF_BYTES: usize = 12_000;

/// Asks whether a command may run.
pub type Confirm<'a> = &'a mut dyn FnMut(&str) -> bool;

/// Says why a path stays on this machine, if it does.
pub type LeftOut<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

pub struct Toolbox<'a> {
    pub index: &'a Index,
    pub guard: &'a PathGuard,
    /// Set when the model runs off this machine.
    pub left_out: Option<LeftOut<'a>>,
    pub checks: &'a BTreeMap<String, CheckSettings>,
    /// Asked before a check runs (once per check and session is the
    /// caller's policy); `false` refuses it.
    pub approve_check: &'a mut dyn FnMut(&str) -> bool,
    /// What `propose_edit` produced, for the review.
    pub proposals: Vec<Proposal>,
    /// The checks run, in order.
    pub checks_run: Vec<CheckOutcome>,
    specs: Vec<ToolSpec>,
    /// With `[tools] shell = "ask"`: asked before each command; and its timeout.
    shell: Option<(Confirm<'a>, u64)>,
    /// MCP servers whose tools were added.
    mcp: Option<&'a super::mcp::McpServers>,
}

impl<'a> Toolbox<'a> {
    pub fn new(
        index: &'a Index,
        guard: &'a PathGuard,
        left_out: Option<LeftOut<'a>>,
        checks: &'a BTreeMap<String, CheckSettings>,
        approve_check: &'a mut dyn FnMut(&str) -> bool,
    ) -> Toolbox<'a> {
        Toolbox {
            index,
            guard,
            left_out,
            checks,
            approve_check,
            proposals: Vec::new(),
            checks_run: Vec::new(),
            specs: builtin(),
            shell: None,
            mcp: None,
        }
    }

    /// Offer the running MCP servers' tools (`SERVER.tool`); an acting one
    /// is put to the same approval as a check, the first time per session.
    pub fn with_mcp(mut self, servers: &'a super::mcp::McpServers) -> Self {
        self.specs.extend(servers.specs());
        self.mcp = Some(servers);
        self
    }

    /// Offer the `shell` tool: every command is put to `approve` first and
    /// killed (with its process group) after `timeout_s`.
    pub fn with_shell(mut self, approve: Confirm<'a>, timeout_s: u64) -> Self {
        self.specs.push(super::registry::shell());
        self.shell = Some((approve, timeout_s));
        self
    }

    /// The tools, as the model is told of them.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn stays(&self, path: &str) -> Option<String> {
        self.left_out.and_then(|f| f(path))
    }

    /// Run `call`; a malformed call or a refusal is an error result the
    /// model sees, never a failure of the loop.
    pub fn call(&mut self, call: &ToolCall, cancel: &Cancel) -> ToolResult {
        let Some(spec) = self.specs.iter().find(|s| s.name == call.name) else {
            let known: Vec<&str> = self.specs.iter().map(|s| s.name.as_str()).collect();
            return ToolResult::error(
                &call.name,
                format!(
                    "no tool `{}`; the tools are {}",
                    call.name,
                    known.join(", ")
                ),
            );
        };
        if let Some(servers) = self.mcp.filter(|_| call.name.contains('.')) {
            // The server checks its own schema; an acting tool is approved first.
            if !call.arguments.is_object() {
                return ToolResult::error(&call.name, "the arguments must be a JSON object");
            }
            if !spec.read_only && !(self.approve_check)(&call.name) {
                return ToolResult::error(
                    &call.name,
                    format!("the user did not approve running {}", call.name),
                );
            }
            return match servers.call(&call.name, &call.arguments) {
                Ok(text) => {
                    let summary = format!("{}: {} lines", call.name, text.lines().count());
                    ToolResult::ok(&call.name, text, summary)
                }
                Err(e) => ToolResult::error(&call.name, e),
            };
        }
        if let Err(e) = validate(spec, &call.arguments) {
            return ToolResult::error(&call.name, e);
        }
        let a = &call.arguments;
        let s = |k: &str| a[k].as_str().map(str::to_string);
        let n = |k: &str| a[k].as_u64().map(|v| v as usize);
        let r = match call.name.as_str() {
            "read_file" => self.read_file(
                &s("path").unwrap_or_default(),
                n("start_line"),
                n("end_line"),
            ),
            "search" => self.search(
                &s("query").unwrap_or_default(),
                s("kind").as_deref(),
                s("path_glob").as_deref(),
            ),
            "list_files" => self.list_files(s("dir").as_deref(), s("glob").as_deref()),
            "repo_map" => Ok(self.repo_map(s("focus").as_deref())),
            "propose_edit" => self.propose_edit(&s("edits").unwrap_or_default()),
            "run_check" => self.run_check(&s("name").unwrap_or_default(), cancel),
            "git_status" => self.git_status(),
            "git_diff" => self.git_diff(s("path").as_deref()),
            "shell" => self.shell(&s("command").unwrap_or_default(), cancel),
            _ => Err("not implemented".to_string()),
        };
        match r {
            Ok((content, summary)) => ToolResult::ok(&call.name, content, summary),
            Err(e) => ToolResult::error(&call.name, e),
        }
    }

    fn shell(&mut self, command: &str, cancel: &Cancel) -> Result<(String, String), String> {
        let Some((approve, timeout_s)) = self.shell.as_mut() else {
            return Err("there is no shell tool".into());
        };
        if command.trim().is_empty() {
            return Err("the command is empty".into());
        }
        if !approve(command) {
            return Err(format!("the user did not approve running `{command}`"));
        }
        let c = CheckSettings {
            command: command.into(),
            after_edit: false,
            timeout_s: *timeout_s,
        };
        let o = super::check::run_command(self.guard.root(), "shell", &c, cancel)
            .map_err(|e| e.to_string())?;
        let how = match (o.timed_out, o.cancelled, o.exit_code) {
            (true, _, _) => format!("killed after {timeout_s} s"),
            (_, true, _) => "cancelled".into(),
            (_, _, Some(code)) => format!("exit {code}"),
            _ => "killed".into(),
        };
        Ok((
            format!("$ {command}\n({how})\n{}", o.output),
            format!("shell: {command} ({how})"),
        ))
    }

    fn read_file(
        &self,
        path: &str,
        start: Option<usize>,
        end: Option<usize>,
    ) -> Result<(String, String), String> {
        let r = self.guard.check(path).map_err(|e| e.to_string())?;
        if let Some(why) = self.stays(&r.rel) {
            return Err(format!("{} stays on this machine ({why})", r.rel));
        }
        let bytes = std::fs::read(&r.abs).map_err(|e| format!("cannot read {}: {e}", r.rel))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", r.rel))?;
        let lines: Vec<&str> = text.lines().collect();
        let total = lines.len();
        let a = start.unwrap_or(1).max(1);
        let b = end.unwrap_or(total).min(total);
        if a > b.max(1) || (total > 0 && a > total) {
            return Err(format!(
                "{} has {total} lines; lines {a}-{b} are not in it",
                r.rel
            ));
        }
        let shown_end = b.min(a + READ_LINES - 1);
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate().take(shown_end).skip(a - 1) {
            let _ = writeln!(out, "{:>5}│ {l}", i + 1);
        }
        if shown_end < b {
            let _ = writeln!(
                out,
                "… lines {}-{b} not shown ({READ_LINES} lines a read); ask again with start_line = {}",
                shown_end + 1,
                shown_end + 1
            );
        }
        Ok((
            out,
            format!("read {}:{a}-{shown_end} of {total} lines", r.rel),
        ))
    }

    /// The indexed, readable files (matching `glob`), left-out ones aside.
    fn files(&self, glob: Option<&str>) -> Result<Vec<&str>, String> {
        let matcher = match glob {
            Some(g) => Some(
                GlobBuilder::new(g)
                    .literal_separator(false)
                    .build()
                    .map_err(|e| format!("bad glob {g}: {e}"))?
                    .compile_matcher(),
            ),
            None => None,
        };
        Ok(self
            .index
            .files()
            .iter()
            .filter(|f| !matches!(f.status, FileStatus::Binary | FileStatus::TooLarge))
            .map(|f| f.path.as_str())
            .filter(|p| matcher.as_ref().is_none_or(|m| m.is_match(p)))
            .filter(|p| self.stays(p).is_none())
            .collect())
    }

    fn search(
        &self,
        query: &str,
        kind: Option<&str>,
        glob: Option<&str>,
    ) -> Result<(String, String), String> {
        if query.trim().is_empty() {
            return Err("an empty query".into());
        }
        let allowed: std::collections::HashSet<&str> = self.files(glob)?.into_iter().collect();
        let mut hits: Vec<String> = Vec::new();
        let mut total = 0usize;
        if matches!(kind, None | Some("symbol")) {
            let names = self.index.names();
            let symbols = self.index.symbols();
            if let Some(id) = names.get(query.trim()) {
                for d in symbols.definitions(id) {
                    let f = &self.index.files()[d.file as usize];
                    if !allowed.contains(f.path.as_str()) {
                        continue;
                    }
                    let def = &f.defs[d.def as usize];
                    total += 1;
                    hits.push(format!(
                        "{}:{}: {}  (definition)",
                        f.path,
                        def.start_line,
                        f.signature(def).trim()
                    ));
                }
                for r in symbols.references(id) {
                    let f = &self.index.files()[r.file as usize];
                    if !allowed.contains(f.path.as_str()) {
                        continue;
                    }
                    total += 1;
                    hits.push(format!(
                        "{}:{}: {query}  (use)",
                        f.path, f.refs[r.reference as usize].line
                    ));
                }
            }
        }
        if total == 0 && kind != Some("symbol") {
            let regex = kind == Some("regex");
            let matcher = RegexMatcherBuilder::new()
                .fixed_strings(!regex)
                .case_smart(true)
                .build(query)
                .map_err(|e| format!("bad regular expression: {e}"))?;
            let mut searcher = SearcherBuilder::new().line_number(true).build();
            let mut paths: Vec<&str> = allowed.iter().copied().collect();
            paths.sort_unstable();
            for p in paths {
                let abs = self.index.root().join(p);
                let _ = searcher.search_path(
                    &matcher,
                    &abs,
                    UTF8(|line, text| {
                        total += 1;
                        if hits.len() < MATCHES {
                            hits.push(format!("{p}:{line}: {}", text.trim_end()));
                        }
                        Ok(true)
                    }),
                );
            }
        }
        let shown = hits.len().min(MATCHES);
        let mut out = hits[..shown].join("\n");
        if total > shown {
            let _ = write!(
                out,
                "\n… {} more matches not shown; narrow the query or path_glob",
                total - shown
            );
        }
        if total == 0 {
            out = format!("no matches for {query:?}");
        }
        Ok((out, format!("search {query:?}: {total} match(es)")))
    }

    fn list_files(
        &self,
        dir: Option<&str>,
        glob: Option<&str>,
    ) -> Result<(String, String), String> {
        let dir = dir
            .map(|d| d.trim_matches('/').to_string())
            .filter(|d| !d.is_empty() && d != ".");
        let files: Vec<&str> = self
            .files(glob)?
            .into_iter()
            .filter(|p| dir.as_ref().is_none_or(|d| p.starts_with(&format!("{d}/"))))
            .collect();
        let mut out = files
            .iter()
            .take(LISTED)
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        if files.len() > LISTED {
            let _ = write!(
                out,
                "\n… {} more files not shown; narrow with dir or glob",
                files.len() - LISTED
            );
        }
        Ok((out, format!("{} file(s)", files.len())))
    }

    fn repo_map(&self, focus: Option<&str>) -> (String, String) {
        let words = focus.map(Index::words).unwrap_or_default();
        let focus = self.index.focus(&words, self.index.root());
        let hidden: Vec<u32> = self
            .index
            .files()
            .iter()
            .enumerate()
            .filter(|(_, f)| self.stays(&f.path).is_some())
            .map(|(i, _)| i as u32)
            .collect();
        let map =
            self.index
                .repo_map_hiding(&focus, &hidden, 1500, &crate::tokens::EstimateCounter);
        let n = map.files.len();
        (map.text, format!("repo map: {n} file(s)"))
    }

    fn propose_edit(&mut self, edits: &str) -> Result<(String, String), String> {
        let parsed = parse_reply(edits);
        if parsed.edits.is_empty() && parsed.errors.is_empty() {
            return Err("no SEARCH/REPLACE blocks in `edits`".into());
        }
        if let Some(path) = parsed
            .edits
            .iter()
            .map(|e| e.path())
            .find(|p| self.stays(p).is_some())
        {
            return Err(format!(
                "{path} stays on this machine; it cannot be edited from here"
            ));
        }
        let p = propose(&parsed, self.guard);
        if !p.failures.is_empty() {
            let left_out = self.left_out;
            return Err(p.feedback_quoting(&|path| left_out.is_none_or(|f| f(path).is_none())));
        }
        let files: Vec<String> = p.changes.files.iter().map(|f| f.path.clone()).collect();
        self.proposals.push(p);
        let summary = format!("proposed changes to {}", files.join(", "));
        Ok((
            format!("{summary}; they go to the user's review (nothing is written until accepted)"),
            summary,
        ))
    }

    fn run_check(&mut self, name: &str, cancel: &Cancel) -> Result<(String, String), String> {
        if !self.checks.contains_key(name) {
            let known: Vec<&str> = self.checks.keys().map(String::as_str).collect();
            return Err(format!(
                "no check named {name}; configured: {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
        if !(self.approve_check)(name) {
            return Err(format!("the user did not approve running check {name}"));
        }
        let o =
            check::run(self.index.root(), self.checks, name, cancel).map_err(|e| e.to_string())?;
        let content = format!("{}\n{}", o.summary(), o.output);
        let summary = o.summary();
        self.checks_run.push(o);
        Ok((content, summary))
    }

    fn repo(&self) -> Result<crate::git::Repo, String> {
        crate::git::Repo::open(self.index.root()).map_err(|e| e.to_string())
    }

    fn git_status(&self) -> Result<(String, String), String> {
        let st = self.repo()?.status().map_err(|e| e.to_string())?;
        let mut out = format!(
            "branch: {}\n",
            st.branch.clone().unwrap_or_else(|| "(detached)".into())
        );
        for (title, items) in [
            (
                "staged",
                st.staged.iter().map(|c| c.path.clone()).collect::<Vec<_>>(),
            ),
            (
                "unstaged",
                st.unstaged.iter().map(|c| c.path.clone()).collect(),
            ),
            ("untracked", st.untracked.clone()),
        ] {
            let items: Vec<String> = items
                .into_iter()
                .filter(|p| self.stays(p).is_none())
                .collect();
            if !items.is_empty() {
                let _ = writeln!(out, "{title}: {}", items.join(", "));
            }
        }
        let n = st.staged.len() + st.unstaged.len() + st.untracked.len();
        Ok((out, format!("git status: {n} changed file(s)")))
    }

    fn git_diff(&self, path: Option<&str>) -> Result<(String, String), String> {
        if let Some(p) = path
            && let Some(why) = self.stays(p)
        {
            return Err(format!("{p} stays on this machine ({why})"));
        }
        let patch = self
            .repo()?
            .unstaged_patch(path)
            .map_err(|e| e.to_string())?;
        // Per-file sections of files that stay here are left out.
        let mut out = String::new();
        for section in patch.split_inclusive_sections() {
            let file = section
                .lines()
                .next()
                .and_then(|l| l.rsplit(" b/").next())
                .unwrap_or_default();
            if self.stays(file).is_none() {
                out.push_str(section);
            }
        }
        let lines = out.lines().count();
        if out.len() > DIFF_BYTES {
            let mut cut = DIFF_BYTES;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("\n… the rest of the diff is not shown; ask for one path");
        }
        Ok((out, format!("git diff: {lines} line(s)")))
    }
}

/// A patch split before each `diff --git` header.
trait Sections {
    fn split_inclusive_sections(&self) -> Vec<&str>;
}

impl Sections for String {
    fn split_inclusive_sections(&self) -> Vec<&str> {
        let mut starts: Vec<usize> = self.match_indices("diff --git ").map(|(i, _)| i).collect();
        if starts.first() != Some(&0) {
            starts.insert(0, 0);
        }
        starts
            .iter()
            .enumerate()
            .map(|(k, &a)| &self[a..starts.get(k + 1).copied().unwrap_or(self.len())])
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Arguments as JSON, for tests and callers building calls by hand.
pub fn call(name: &str, arguments: Value) -> ToolCall {
    ToolCall {
        name: name.into(),
        arguments,
    }
}
