//! The workbench the TUI's worker and the commands share, driven without a
//! terminal: a scripted model injected, a real git repository, the real
//! index and journal.

use std::path::Path;
use std::sync::Arc;

use locus::config::Dirs;
use locus::model::Cancel;
use locus::model::chat::ScriptedModel;
use locus::session::{Task, Via, Workbench};
use locus::workspace::Workspace;

use crate::util::{Sandbox, git_init};

const CALC: &str = "def add(a, b):\n    return a + b\n";
const NOTES: &str = "# Notes: multiplication belongs next to add.\nNOTE = 1\n";
const MUL: &str = "calc.py\n<<<<<<< SEARCH\ndef add(a, b):\n    return a + b\n=======\ndef add(a, b):\n    return a + b\n\n\ndef multiply(a, b):\n    return a * b\n>>>>>>> REPLACE\n";

fn bench(sb: &Sandbox, root: &Path) -> Workbench {
    let mut ws = Workspace::detect(Some(root)).unwrap();
    ws.dirs = Dirs {
        config: sb.path("config/locus"),
        state: sb.path("state/locus"),
        cache: sb.path("cache/locus"),
    };
    Workbench::new(ws).unwrap()
}

fn repo(sb: &Sandbox) -> std::path::PathBuf {
    let root = sb.path("work/proj");
    git_init(&root);
    std::fs::write(root.join("calc.py"), CALC).unwrap();
    std::fs::write(root.join("notes.py"), NOTES).unwrap();
    root
}

fn defines(wb: &mut Workbench, name: &str) -> bool {
    let index = wb.index().unwrap();
    index
        .names()
        .get(name)
        .is_some_and(|id| !index.symbols().definitions(id).is_empty())
}

#[test]
fn an_edit_sends_the_pins_and_apply_and_undo_keep_the_index_current() {
    let sb = Sandbox::new();
    let root = repo(&sb);
    let mut wb = bench(&sb, &root);
    wb.open_session(None).unwrap();
    let model = Arc::new(ScriptedModel::new([MUL], 4096));
    wb.set_model(Box::new(model.clone()));
    wb.pin("notes.py", true);
    let out = wb
        .edit(
            Via::Local,
            "add multiply to calc.py",
            &["calc.py".to_string()],
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    let sent = model.requests();
    let prompt: String = sent[0].iter().map(|m| m.content.as_str()).collect();
    assert!(
        prompt.contains("multiplication belongs next to add"),
        "the pinned file is sent with an edit: {prompt}"
    );
    assert!(!defines(&mut wb, "multiply"));
    let mut changes = out.proposal.changes;
    changes.accept_all();
    let applied = wb.apply(&changes, "test edit", false).unwrap().unwrap();
    assert_eq!(applied.entry.files.len(), 1);
    assert!(
        defines(&mut wb, "multiply"),
        "the index follows an apply at once"
    );
    let undone = wb.undo(false).unwrap().unwrap();
    assert_eq!(undone.summary, "test edit");
    assert!(!defines(&mut wb, "multiply"), "and an undo");
    assert_eq!(std::fs::read_to_string(root.join("calc.py")).unwrap(), CALC);
    wb.undo(true).unwrap().unwrap();
    assert!(defines(&mut wb, "multiply"), "and a redo");
}

#[test]
fn apply_and_stage_stages_only_files_without_other_changes() {
    let sb = Sandbox::new();
    let root = repo(&sb);
    // The identity comes from the helper's environment, not the machine's.
    crate::git::git(&root, &["add", "."]);
    crate::git::git(&root, &["commit", "-qm", "init"]);
    let mut wb = bench(&sb, &root);
    wb.open_session(None).unwrap();
    wb.set_model(Box::new(ScriptedModel::new([MUL], 4096)));
    let out = wb
        .edit(
            Via::Local,
            "add multiply to calc.py",
            &[],
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    let mut changes = out.proposal.changes;
    changes.accept_all();
    let applied = wb.apply(&changes, "staged edit", true).unwrap().unwrap();
    assert_eq!(applied.staged, ["calc.py"]);
    let staged = crate::git::git(&root, &["diff", "--cached", "--name-only"]);
    assert_eq!(staged.trim(), "calc.py");
}

#[test]
fn the_watcher_keeps_the_index_current() {
    let sb = Sandbox::new();
    let root = repo(&sb);
    let mut wb = bench(&sb, &root);
    wb.index().unwrap();
    assert!(!defines(&mut wb, "divide"));
    std::fs::write(
        root.join("more.py"),
        "def divide(a, b):\n    return a / b\n",
    )
    .unwrap();
    let mut seen = false;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if defines(&mut wb, "divide") {
            seen = true;
            break;
        }
    }
    assert!(seen, "a file written outside locus reaches the index");
}

#[test]
fn jobs_without_a_model_say_what_to_do() {
    let sb = Sandbox::new();
    let root = repo(&sb);
    let mut wb = bench(&sb, &root);
    let err = wb
        .ask(
            Via::Local,
            "What does add do?",
            &[],
            &Cancel::new(),
            &mut |_| {},
        )
        .err()
        .unwrap();
    assert!(err.to_string().contains("no model is loaded"), "{err}");
    assert!(wb.context_draft(Task::Ask, "add").unwrap().is_none());
    wb.set_model(Box::new(ScriptedModel::new(["It adds."], 4096)));
    let ctx = wb
        .context_draft(Task::Ask, "What does add do?")
        .unwrap()
        .unwrap();
    assert!(
        ctx.files().contains(&"calc.py".to_string()),
        "{:?}",
        ctx.files()
    );
    let a = wb
        .ask(
            Via::Local,
            "What does add do?",
            &[],
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(a.text.trim(), "It adds.");
}

/// The tool loop with a scripted model on a repository whose test fails:
/// it runs the check, reads the file, proposes the fix (into the review),
/// and answers; the fix applied, the check passes. A model that only ever
/// calls tools is stopped at max_steps; a malformed call is a result it sees.
#[test]
fn the_tool_loop_runs_the_check_reads_proposes_and_stops_at_max_steps() {
    let sb = Sandbox::new();
    let root = sb.path("work/calc");
    git_init(&root);
    std::fs::write(root.join("calc.py"), "def add(a, b):\n    return a - b\n").unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(
        root.join("tests/test_calc.py"),
        "import unittest\nfrom calc import add\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n",
    )
    .unwrap();
    sb.write(
        "config/locus/config.toml",
        "[checks.test]\ncommand = \"PYTHONPATH=. python3 -m unittest discover -s tests -q\"\nafter_edit = true\ntimeout_s = 120\n",
    );
    let mut wb = bench(&sb, &root);
    wb.open_session(None).unwrap();
    let script = [
        "I will run the tests.\n<tool_call>{\"name\": \"run_check\", \"arguments\": {\"name\": \"test\"}}</tool_call>",
        "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"calc.py\"}}</tool_call>",
        "<tool_call>{\"name\": \"propose_edit\", \"arguments\": {\"edits\": \"calc.py\\n<<<<<<< SEARCH\\n    return a - b\\n=======\\n    return a + b\\n>>>>>>> REPLACE\\n\"}}</tool_call>",
        "add subtracted; the fix makes it add (calc.py:2).",
    ];
    let model = Arc::new(ScriptedModel::new(script, 8192));
    wb.set_model(Box::new(model.clone()));
    let mut asked = Vec::new();
    let mut approve = |name: &str| {
        asked.push(name.to_string());
        true
    };
    let (answer, end, proposals) = wb
        .ask_with_tools(
            Via::Local,
            "Why does the test fail?",
            &[],
            &mut approve,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(asked, ["test"], "the check was approved before it ran");
    assert_eq!(
        answer.text,
        "add subtracted; the fix makes it add (calc.py:2)."
    );
    let names: Vec<&str> = end
        .steps
        .iter()
        .map(|s| s.call.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["run_check", "read_file", "propose_edit"]);
    assert!(
        end.steps[0].result.ok && end.steps[0].result.content.contains("FAIL"),
        "the check ran and failed: {:?}",
        end.steps[0].result
    );
    let sent = model.requests();
    let last = &sent[3];
    let convo: String = last.iter().map(|m| m.content.as_str()).collect();
    assert!(
        convo.contains("<tool_result name=\"run_check\">") && convo.contains("AssertionError"),
        "the check's failure reached the model: {convo}"
    );
    assert!(convo.contains("    2│     return a - b"), "{convo}");
    assert!(
        sent[0][0].content.contains("<tool_call>") && sent[0][0].content.contains("read_file"),
        "the tools are declared in the system prompt"
    );
    assert_eq!(proposals.len(), 1);
    let mut changes = proposals[0].changes.clone();
    changes.accept_all();
    wb.apply(&changes, "fix", false).unwrap().unwrap();
    let outcomes = wb.after_edit_checks(&Cancel::new());
    assert!(outcomes.iter().all(|o| o.ok), "{outcomes:?}");

    // The check was approved once for the session: not asked again.
    wb.set_model(Box::new(ScriptedModel::new(
        [
            "<tool_call>{\"name\": \"run_check\", \"arguments\": {\"name\": \"test\"}}</tool_call>",
            "It passes now.",
        ],
        8192,
    )));
    let mut asked_again = Vec::new();
    let (_, end, _) = wb
        .ask_with_tools(
            Via::Local,
            "Does it pass?",
            &[],
            &mut |n: &str| {
                asked_again.push(n.to_string());
                false
            },
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(asked_again.is_empty(), "{asked_again:?}");
    assert!(end.steps[0].result.ok, "{:?}", end.steps[0].result);

    // A model that never answers: stopped at max_steps; a malformed call is seen.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let looping = Arc::new(ScriptedModel::from_fn(
        move |_| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                "<tool_call>{not json</tool_call>".to_string()
            } else {
                "<tool_call>{\"name\": \"search\", \"arguments\": {\"query\": \"add\"}}</tool_call>"
                    .to_string()
            }
        },
        8192,
    ));
    wb.set_model(Box::new(looping.clone()));
    let (_, end, _) = wb
        .ask_with_tools(
            Via::Local,
            "Loop forever",
            &[],
            &mut |_| true,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(
        end.stopped.as_deref().unwrap().contains("max_steps"),
        "{:?}",
        end.stopped
    );
    assert_eq!(end.steps.len(), 12);
    assert!(!end.steps[0].result.ok && end.steps[0].result.content.contains("not JSON"));
    let second: String = looping.requests()[1]
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert!(
        second.contains("not JSON"),
        "the error went back to the model"
    );
}

/// `[tools] shell = "ask"` in the user's config offers the model a shell:
/// each command is put to the user first and runs in the repository root
/// only when confirmed. A repository's own file cannot turn it on untrusted.
#[test]
fn the_shell_tool_runs_only_confirmed_commands_and_only_when_configured() {
    let sb = Sandbox::new();
    let root = repo(&sb);
    sb.write(
        "config/locus/config.toml",
        "[tools]\nshell = \"ask\"\nshell_timeout_s = 5\n",
    );
    let mut wb = bench(&sb, &root);
    wb.open_session(None).unwrap();
    let script = [
        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"echo ran > ok.txt; echo done\"}}</tool_call>",
        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"touch refused.txt\"}}</tool_call>",
        "Finished.",
    ];
    let model = Arc::new(ScriptedModel::new(script, 8192));
    wb.set_model(Box::new(model.clone()));
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    wb.approve_shell = Some(Box::new(move |cmd: &str| {
        seen.lock().unwrap().push(cmd.to_string());
        cmd.starts_with("echo")
    }));
    let (_, end, _) = wb
        .ask_with_tools(
            Via::Local,
            "Run it",
            &[],
            &mut |_| false,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        asked.lock().unwrap().len(),
        2,
        "each command was shown: {:?}",
        end.steps
    );
    assert_eq!(
        std::fs::read_to_string(root.join("ok.txt")).unwrap(),
        "ran\n"
    );
    assert!(!root.join("refused.txt").exists());
    assert!(end.steps[0].result.ok && end.steps[0].result.content.contains("done"));
    assert!(!end.steps[1].result.ok && end.steps[1].result.content.contains("did not approve"));
    assert!(model.requests()[0][0].content.contains("shell"), "declared");

    // The repository's file asks for it: ignored until trusted.
    let sb = Sandbox::new();
    let root = repo(&sb);
    std::fs::create_dir_all(root.join(".locus")).unwrap();
    std::fs::write(
        root.join(".locus/config.toml"),
        "[tools]\nshell = \"ask\"\n",
    )
    .unwrap();
    let mut wb = bench(&sb, &root);
    wb.open_session(None).unwrap();
    let model = Arc::new(ScriptedModel::new(
        [
            "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"touch x\"}}</tool_call>",
            "ok",
        ],
        8192,
    ));
    wb.set_model(Box::new(model.clone()));
    wb.approve_shell = Some(Box::new(|_: &str| true));
    let (_, end, _) = wb
        .ask_with_tools(
            Via::Local,
            "Run it",
            &[],
            &mut |_| false,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(
        end.steps[0].result.content.contains("no tool `shell`"),
        "{:?}",
        end.steps[0].result
    );
    assert!(!root.join("x").exists());
}
