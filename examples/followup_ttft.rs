//! Two questions in one process, as the TUI asks them (one workbench, the
//! model loaded once): the first token's time and the reused prefix of
//! each, as rows of a Markdown table.
//! `scripts/bench-snapshot` runs it beside new processes.
//!
//! usage: followup_ttft REPO MODEL QUESTION1 QUESTION2

use locus::model::Cancel;
use locus::session::{Via, Workbench};
use locus::workspace::Workspace;

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [repo, model, q1, q2] = <[String; 4]>::try_from(a)
        .map_err(|_| anyhow::anyhow!("usage: followup_ttft REPO MODEL QUESTION1 QUESTION2"))?;
    let ws = Workspace::detect(Some(std::path::Path::new(&repo)))?;
    let mut wb = Workbench::new(ws)?;
    wb.load_model(Some(&model), false)?;
    for (q, name) in [(q1, "first question"), (q2, "warm follow-up")] {
        let s = wb
            .ask(Via::Local, &q, &[], &Cancel::new(), &mut |_| {})?
            .stats;
        // A row of the table scripts/bench-snapshot prints.
        println!(
            "| one process, {name} | {} | {} | {} | {:.1} | {:.0} |",
            s.prompt_tokens,
            s.reused_prefix_tokens,
            if s.reused_prefix_from.is_empty() {
                "-"
            } else {
                &s.reused_prefix_from
            },
            s.snapshot_load_ms,
            s.ttft_ms
        );
    }
    Ok(())
}
