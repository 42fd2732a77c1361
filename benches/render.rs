//! TUI frame time: a 5,000-line transcript and a 2,000-line diff under
//! review, drawn on a 160x50 TestBackend (the terminal I/O itself is not in
//! the figure). Goal (#7): under 4 ms a frame.
//!
//! `cargo bench --bench render`

use criterion::{Criterion, criterion_group, criterion_main};
use locus::edit::{ChangeSet, FileChange, FileOp};
use locus::tui::app::{App, Entry, Report};
use locus::tui::style::Styles;
use locus::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn transcript(lines: usize) -> App {
    let mut app = App::new();
    let mut n = 0;
    let mut turn = 0;
    while n < lines {
        app.entries.push(Entry::User(format!(
            "question {turn}: what does handler_{turn} do?"
        )));
        let mut text = String::new();
        for i in 0..20 {
            text.push_str(&format!(
                "Line {i} of the answer about handler_{turn}, which validates the request, \
                 loads the record and saves it (src/handlers.py:{}).\n",
                10 * i + 1
            ));
        }
        text.push_str("```python\n");
        for i in 0..20 {
            text.push_str(&format!("    record.count += {i}  # step {i}\n"));
        }
        text.push_str("```\n");
        app.entries.push(Entry::Assistant {
            placement: "local: Gemma 3 270m".into(),
            text,
            thinking: "Look at the handler first.\nThen its callers.".into(),
            done: true,
        });
        n += 47;
        turn += 1;
    }
    app
}

fn reviewing(lines: usize) -> App {
    let old: String = (0..lines)
        .map(|i| format!("    value_{i} = compute({i})\n"))
        .collect();
    let new: String = (0..lines)
        .map(|i| {
            if i % 10 == 0 {
                format!("    value_{i} = compute_fast({i}, cache)\n")
            } else {
                format!("    value_{i} = compute({i})\n")
            }
        })
        .collect();
    let mut app = transcript(200);
    app.report(Report::Proposed {
        changes: ChangeSet {
            files: vec![FileChange::new(
                "src/values.py".into(),
                FileOp::Modify,
                None,
                old,
                new,
            )],
        },
        failures: vec![],
        advice: None,
        placement: "local: Gemma 3 270m".into(),
        cost: 0.0,
    });
    app
}

fn bench(c: &mut Criterion) {
    let styles = Styles::new(None, 0);
    let mut term = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let chat = transcript(5_000);
    c.bench_function("frame: chat, 5k-line transcript, 160x50", |b| {
        b.iter(|| {
            term.draw(|f| view::draw(f, &chat, &styles)).unwrap();
        });
    });
    let review = reviewing(2_000);
    c.bench_function("frame: review, 2k-line diff, 160x50", |b| {
        b.iter(|| {
            term.draw(|f| view::draw(f, &review, &styles)).unwrap();
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
