//! `locus ask`, `locus context`, `locus sessions`: the conversation core,
//! headless. The answer streams to stdout, the stats go to stderr.

use std::io::Write as _;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::{AskArgs, ContextArgs, SessionsArgs};
use crate::model::local::gguf::Gguf;
use crate::model::local::tokenizer::GgufTokenizer;
use crate::session::{self, ASK_SYSTEM, Piece, Session, Via};
use crate::tokens::{EstimateCounter, TokenCounter};
use crate::workspace::Workspace;

use super::models::resolve_model;

pub fn ask(ws: &Workspace, args: &AskArgs) -> anyhow::Result<ExitCode> {
    use std::io::{IsTerminal as _, Read as _};
    // `-` reads the question from stdin (the default, when stdin is a pipe).
    let question = if args.question == "-" {
        if std::io::stdin().is_terminal() {
            anyhow::bail!("no question: give it as an argument, or pipe it in with `-`");
        }
        let mut q = String::new();
        std::io::stdin().read_to_string(&mut q)?;
        if q.trim().is_empty() {
            anyhow::bail!("no question: stdin was empty");
        }
        q
    } else {
        args.question.clone()
    };
    let args = &AskArgs {
        question,
        ..args.clone()
    };
    let mut wb = super::bench(ws)?;
    let files = wb.resolve_paths(&args.files)?;
    let resume = (args.continue_ || args.session.is_some()).then_some(args.session.as_deref());
    wb.open_session(resume)?;
    if let Some(n) = args.max_tokens.filter(|&n| n > 0) {
        wb.session.settings.answer_tokens = n;
    }
    if wb.session.damaged > 0 {
        errln!(
            "note: skipped {} damaged line(s) of session {} (a write cut short)",
            wb.session.damaged,
            wb.session.id
        );
    }
    // Attached before a model is chosen: the model says later whether it
    // can take them.
    for p in &args.image {
        wb.attach(crate::model::attach::Attachment::image(p, &ws.root)?);
    }
    for p in &args.audio {
        wb.attach(crate::model::attach::Attachment::audio(p, &ws.root)?);
    }
    let cloud = super::cloud::gated(&wb, &args.route, args.yes, args.json || args.jsonl)?;
    if cloud.is_none() {
        wb.load_model(args.model.as_deref(), false)?;
    }
    let via = cloud.as_ref().map_or(Via::Local, Via::Cloud);
    let mut stdout = std::io::stdout().lock();
    let json_mode = args.json || args.jsonl;
    let jsonl = args.jsonl;
    // The answer streams to stdout; thinking is left out of it.
    let mut waiting = super::Waiting::default();
    let mut on_text = |p: Piece| match (json_mode, p) {
        (false, Piece::Prefill { done, total }) => waiting.prefill(done, total),
        (false, Piece::Text(t)) => {
            waiting.clear();
            let _ = stdout.write_all(crate::terminal::visible(t).as_bytes());
            let _ = stdout.flush();
        }
        (true, Piece::Text(t)) if jsonl => {
            let _ = writeln!(stdout, "{}", json!({"type": "text", "text": t}));
            let _ = stdout.flush();
        }
        _ => {}
    };
    let tools = args.agent.on(wb.settings.agent.tools);
    let mut steps = Vec::new();
    let mut stopped = None;
    let mut checks = Vec::new();
    let answer = if tools {
        let mut approve = super::approve_checks(args.agent.allow_checks);
        wb.approve_shell = Some(super::confirm_shell());
        let mut on_event = super::loop_events(json_mode, jsonl, &mut on_text);
        let (answer, end, _) = wb.ask_with_tools(
            via,
            &args.question,
            &files,
            &mut approve,
            &super::interrupt(),
            &mut on_event,
        )?;
        steps = end.steps;
        stopped = end.stopped;
        checks = end.checks;
        answer
    } else {
        wb.ask(
            via,
            &args.question,
            &files,
            &super::interrupt(),
            &mut on_text,
        )?
    };
    if let Some(why) = &stopped {
        errln!("note: {why}");
    }
    let s = &wb.session;
    for c in &answer.context.cut {
        match c.kept_lines {
            Some([a, b]) => errln!(
                "note: {} did not fit whole: lines {a}-{b} of {} sent ({})",
                c.path,
                c.total_lines,
                c.reason
            ),
            None => errln!("note: {} left out: {}", c.path, c.reason),
        }
    }
    let mut stdout = std::io::stdout().lock();
    if cloud.is_none() && answer.context.missing_tokens > 0 {
        let reason = crate::route::Reason::ContextTooLarge {
            needed: answer.context.total_tokens + answer.context.missing_tokens,
            window: answer.context.budget,
        };
        errln!("{}", crate::route::advice(&reason));
    }
    if answer.stats.finish == "cut" {
        errln!("\nwarning: the answer was cut off mid-stream; what arrived is kept in the session");
    }
    if args.json || args.jsonl {
        let mut v = json!({
            "answer": answer.text,
            "sources": answer.sources,
            "placement": answer.placement,
            "stats": answer.stats,
            // Also at the top: how much of the prompt was not computed again.
            "reused_prefix_tokens": answer.stats.reused_prefix_tokens,
            "reused_prefix_from": answer.stats.reused_prefix_from,
            "session": s.id,
            "context": answer.context,
            "tool_calls": steps,
            "checks": checks,
            "stopped": stopped,
        });
        if args.jsonl {
            // The last line: what --json prints, typed as the end.
            v["type"] = json!("done");
        }
        writeln!(stdout, "{v}")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(stdout)?;
    let st = &answer.stats;
    errln!(
        "[{}] prompt {} tokens ({} reused from the cache), prefill {:.1} tok/s, {} generated at {:.1} tok/s; session {}",
        answer.placement,
        st.prompt_tokens,
        st.reused_prefix_tokens,
        st.prefill_tokens_per_s,
        st.generated_tokens,
        st.decode_tokens_per_s,
        s.id
    );
    let known: Vec<String> = answer
        .sources
        .iter()
        .filter(|x| x.exists)
        .map(|x| format!("{}:{}", x.path, x.line))
        .collect();
    if !known.is_empty() {
        errln!("sources: {}", known.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn context(ws: &Workspace, args: &ContextArgs) -> anyhow::Result<ExitCode> {
    let settings = ws.settings()?.settings;
    let mut wb = super::bench(ws)?;
    let pinned = wb.resolve_paths(&args.files)?;
    let index = wb.index()?;
    // The active model's tokenizer when one is found (only the tokenizer is read).
    let tokenizer = resolve_model(ws, args.model.as_deref())
        .ok()
        .and_then(|p| Gguf::open(&p).ok())
        .and_then(|g| GgufTokenizer::from_gguf(&g).ok());
    let counter: &dyn TokenCounter = match &tokenizer {
        Some(t) => t,
        None => {
            errln!("note: no local model found; token counts are estimates");
            &EstimateCounter
        }
    };
    let s = Session::detached(settings.context.clone());
    let window = settings.model.context;
    let budget = args
        .tokens
        .unwrap_or_else(|| window - s.answer_tokens(window));
    let start = std::time::Instant::now();
    let ctx = s.context(
        index,
        &ws.cwd,
        ASK_SYSTEM,
        &args.question,
        &pinned,
        budget,
        counter,
    );
    let elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
    if args.json {
        let mut v = serde_json::to_value(&ctx)?;
        v["elapsed_ms"] = json!(elapsed_ms);
        outln!("{v}");
    } else {
        out!("{}", ctx.render_text());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn sessions(ws: &Workspace, args: &SessionsArgs) -> anyhow::Result<ExitCode> {
    let list = session::list(&session::sessions_dir(&ws.dirs, &ws.root))?;
    if args.json {
        outln!("{}", serde_json::to_string(&list)?);
    } else if list.is_empty() {
        outln!("no saved conversations in this repository yet (`locus ask` starts one)");
    } else {
        for s in list {
            outln!(
                "{}  {}  {:>9}  {}",
                s.id,
                crate::terminal::local_time(s.updated),
                crate::terminal::count(s.turns, "turn", "turns"),
                s.first
            );
            if s.damaged > 0 {
                errln!(
                    "note: skipped {} damaged line(s) of session {} (a write cut short)",
                    s.damaged,
                    s.id
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
