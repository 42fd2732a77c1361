//! git awareness on real repositories made with the git CLI: status in every
//! state a user's repo can be in, staging files and single hunks, commits with
//! and without hooks, the commit-message prompt and cleaner, and `locus
//! commit` end to end with the real small model.

use std::path::{Path, PathBuf};
use std::process::Command;

use locus::git::{GitError, Repo, clean_message, fallback_message};

use crate::util::{Sandbox, git_init, stderr, stdout, test_model};

/// Run git in `dir` with a fixed identity and no user or system config.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository with one commit of `a.txt` and a local identity.
fn repo(sb: &Sandbox) -> PathBuf {
    let dir = sb.path("work/repo");
    git_init(&dir);
    git(&dir, &["config", "user.name", "Test"]);
    git(&dir, &["config", "user.email", "test@example.com"]);
    std::fs::write(dir.join("a.txt"), "one\ntwo\nthree\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "Add a.txt"]);
    dir
}

#[test]
fn status_in_an_ordinary_repo_with_upstream() {
    let sb = Sandbox::new();
    let origin = repo(&sb);
    let clone = sb.path("work/clone");
    git(
        sb.dir.path(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    git(&clone, &["config", "user.name", "Test"]);
    git(&clone, &["config", "user.email", "test@example.com"]);
    std::fs::write(clone.join("b.txt"), "b\n").unwrap();
    git(&clone, &["add", "b.txt"]);
    git(&clone, &["commit", "-qm", "Add b"]);
    std::fs::write(clone.join("a.txt"), "one\n2\nthree\n").unwrap();
    std::fs::write(clone.join("new.txt"), "n\n").unwrap();
    std::fs::create_dir_all(clone.join("sub/deep")).unwrap();
    std::fs::write(clone.join("sub/deep/s.txt"), "s\n").unwrap();
    git(&clone, &["mv", "b.txt", "c.txt"]);
    let st = Repo::open(&clone.join("sub")).unwrap().status().unwrap();
    assert_eq!(st.branch.as_deref(), Some("main"));
    assert_eq!(st.upstream.as_deref(), Some("origin/main"));
    assert_eq!((st.ahead, st.behind), (1, 0));
    assert_eq!(st.staged.len(), 1);
    assert_eq!(
        (
            st.staged[0].kind,
            st.staged[0].path.as_str(),
            st.staged[0].from.as_deref()
        ),
        ("renamed", "c.txt", Some("b.txt"))
    );
    assert_eq!(
        st.unstaged
            .iter()
            .map(|c| (c.kind, c.path.as_str()))
            .collect::<Vec<_>>(),
        [("modified", "a.txt")]
    );
    assert_eq!(st.untracked, ["new.txt", "sub/deep/s.txt"]);
    let out = sb.locus(&clone.join("sub"), &["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("upstream: origin/main (ahead 1, behind 0)")
            && text.contains("renamed   b.txt -> c.txt"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&sb.locus(&clone, &["status", "--json"]))).unwrap();
    assert_eq!(json["unstaged"][0]["path"], "a.txt");
}

#[test]
fn unborn_detached_worktree_bare_and_no_repo() {
    let sb = Sandbox::new();
    let fresh = sb.path("work/fresh");
    git_init(&fresh);
    std::fs::write(fresh.join("x.rs"), "fn main() {}\n").unwrap();
    let r = Repo::open(&fresh).unwrap();
    let st = r.status().unwrap();
    assert!(st.unborn && !st.detached);
    assert_eq!(st.branch.as_deref(), Some("main"));
    assert_eq!(st.untracked, ["x.rs"]);
    assert!(matches!(r.commit("Add x"), Err(GitError::NothingStaged)));
    git(&fresh, &["config", "user.name", "Test"]);
    git(&fresh, &["config", "user.email", "test@example.com"]);
    r.stage_file("x.rs").unwrap();
    assert_eq!(r.staged().unwrap()[0].kind, "added");
    let first = r.commit("Add x").unwrap();
    assert!(!first.via_git);
    assert_eq!(git(&fresh, &["log", "--format=%s%n%an"]), "Add x\nTest\n");

    let dir = repo(&sb);
    let head = git(&dir, &["rev-parse", "HEAD"]).trim().to_string();
    git(&dir, &["checkout", "-q", "--detach"]);
    let r = Repo::open(&dir).unwrap();
    let st = r.status().unwrap();
    assert!(st.detached && st.branch.is_none());
    assert_eq!(st.head.as_deref(), Some(head.as_str()));
    assert!(
        stdout(&sb.locus(&dir, &["status"])).contains(&format!("detached HEAD at {}", &head[..10]))
    );
    std::fs::write(dir.join("a.txt"), "changed\n").unwrap();
    r.stage_file("a.txt").unwrap();
    let c = r.commit("Change a on a detached head").unwrap();
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]).trim(), c.id);

    git(&dir, &["checkout", "-q", "main"]);
    let wt = sb.path("work/wt");
    git(
        &dir,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            wt.to_str().unwrap(),
        ],
    );
    let st = Repo::open(&wt).unwrap().status().unwrap();
    assert_eq!(st.branch.as_deref(), Some("feature"));
    assert_eq!(
        Repo::open(&wt).unwrap().workdir(),
        wt.canonicalize().unwrap()
    );

    let bare = sb.path("work/bare.git");
    git(
        sb.dir.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    assert!(matches!(Repo::open(&bare), Err(GitError::Bare(_))));
    let out = sb.locus(&bare, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bare repository"), "{}", stderr(&out));
    let out = sb.locus(&sb.work(), &["commit", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not inside a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn merge_and_rebase_in_progress_refuse_to_commit() {
    let sb = Sandbox::new();
    let dir = repo(&sb);
    git(&dir, &["checkout", "-q", "-b", "other"]);
    std::fs::write(dir.join("a.txt"), "one\nOTHER\nthree\n").unwrap();
    git(&dir, &["commit", "-qam", "Other"]);
    git(&dir, &["checkout", "-q", "main"]);
    std::fs::write(dir.join("a.txt"), "one\nMAIN\nthree\n").unwrap();
    git(&dir, &["commit", "-qam", "Main"]);
    let merge = Command::new("git")
        .args(["merge", "other"])
        .current_dir(&dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(!merge.status.success(), "the merge conflicts");
    let r = Repo::open(&dir).unwrap();
    let st = r.status().unwrap();
    assert_eq!(st.in_progress, Some("merge"));
    assert_eq!(st.conflicted, ["a.txt"]);
    assert!(matches!(r.commit("x"), Err(GitError::InProgress(_))));
    let out = sb.locus(&dir, &["commit", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("a merge is in progress"),
        "{}",
        stderr(&out)
    );
    git(&dir, &["merge", "--abort"]);

    std::fs::write(dir.join("b.txt"), "b\n").unwrap();
    git(&dir, &["add", "b.txt"]);
    git(&dir, &["commit", "-qm", "Add b"]);
    let rebase = Command::new("git")
        .args(["rebase", "-i", "HEAD~1"])
        .current_dir(&dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_SEQUENCE_EDITOR", "sed -i '1i break'")
        .output()
        .unwrap();
    assert!(
        rebase.status.success(),
        "{}",
        String::from_utf8_lossy(&rebase.stderr)
    );
    let r = Repo::open(&dir).unwrap();
    assert_eq!(r.status().unwrap().in_progress, Some("rebase"));
    let out = sb.locus(&dir, &["commit", "--dry-run"]);
    assert!(
        stderr(&out).contains("a rebase is in progress"),
        "{}",
        stderr(&out)
    );
    let out = sb.locus(&dir, &["commit", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    git(&dir, &["rebase", "--abort"]);
    let out = sb.locus(&dir, &["commit", "--yes"]);
    assert!(
        stderr(&out).contains("nothing is staged"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn stage_and_unstage_single_hunks() {
    let sb = Sandbox::new();
    let dir = sb.path("work/repo");
    git_init(&dir);
    let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dir.join("f.txt"), &text).unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "Add f"]);
    std::fs::write(
        dir.join("f.txt"),
        text.replace("line 2\n", "line two\n")
            .replace("line 28\n", "line twenty-eight\n"),
    )
    .unwrap();
    let r = Repo::open(&dir).unwrap();
    let unstaged = r.unstaged().unwrap();
    assert_eq!(unstaged[0].hunks.len(), 2);
    r.stage_hunk("f.txt", 1).unwrap();
    let staged = r.staged().unwrap();
    assert_eq!(staged[0].hunks.len(), 1);
    assert!(
        staged[0].hunks[0]
            .lines
            .contains(&"+line twenty-eight".to_string()),
        "{:?}",
        staged[0].hunks
    );
    assert_eq!(r.unstaged().unwrap()[0].hunks.len(), 1);
    assert_eq!(
        git(&dir, &["diff", "--cached", "--stat"]).trim(),
        "f.txt | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)"
    );
    r.stage_hunk("f.txt", 0).unwrap();
    assert_eq!(r.staged().unwrap()[0].hunks.len(), 2);
    r.unstage_hunk("f.txt", 0).unwrap();
    let staged = r.staged().unwrap();
    assert_eq!(staged[0].hunks.len(), 1);
    assert!(
        staged[0].hunks[0]
            .lines
            .contains(&"+line twenty-eight".to_string())
    );
    assert!(matches!(r.stage_hunk("f.txt", 5), Err(GitError::NoHunk(5))));
    r.unstage_file("f.txt").unwrap();
    assert!(r.staged().unwrap().is_empty());
    std::fs::remove_file(dir.join("f.txt")).unwrap();
    r.stage_file("f.txt").unwrap();
    assert_eq!(r.staged().unwrap()[0].kind, "deleted");
}

fn install_hook(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let p = dir.join(".git/hooks").join(name);
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn hooks_run_and_a_failing_hook_stops_the_commit() {
    let sb = Sandbox::new();
    let dir = repo(&sb);
    install_hook(
        &dir,
        "pre-commit",
        "#!/bin/sh\necho 'lint: trailing whitespace in a.txt' >&2\nexit 1\n",
    );
    std::fs::write(dir.join("a.txt"), "one \n").unwrap();
    let r = Repo::open(&dir).unwrap();
    r.stage_file("a.txt").unwrap();
    let before = git(&dir, &["rev-parse", "HEAD"]);
    match r.commit("Change a") {
        Err(GitError::Hook { hook, output }) => {
            assert!(hook.contains("pre-commit"));
            assert!(
                output.contains("lint: trailing whitespace in a.txt"),
                "{output}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]), before);

    install_hook(&dir, "pre-commit", "#!/bin/sh\nexit 0\n");
    install_hook(
        &dir,
        "commit-msg",
        "#!/bin/sh\nprintf '\\nReviewed-by: hook\\n' >> \"$1\"\n",
    );
    let c = r.commit("Change a\n\nWhy it changed.").unwrap();
    assert!(c.via_git);
    assert_eq!(c.hooks, ["pre-commit", "commit-msg"]);
    assert_eq!(
        git(&dir, &["log", "-1", "--format=%B"]).trim(),
        "Change a\n\nWhy it changed.\n\nReviewed-by: hook"
    );
    // core.hooksPath is honoured.
    std::fs::create_dir_all(dir.join("githooks")).unwrap();
    git(&dir, &["config", "core.hooksPath", "githooks"]);
    assert!(r.commit_hooks().is_empty());
}

#[derive(serde::Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    raw: String,
    expect: Option<String>,
    reject: Option<String>,
}

#[test]
fn cleaner_on_a_corpus_of_messy_answers() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/commit_messages.toml"),
    )
    .unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 15);
    let prompt = "You write git commit messages. Reply with the commit message only, no preamble, no quotes, no code fences.";
    for c in cases.case {
        let got = clean_message(&c.raw, prompt);
        match (&c.expect, &c.reject) {
            (Some(e), _) => assert_eq!(got.as_deref(), Ok(e.as_str()), "{:?}", c.raw),
            (_, Some(r)) => assert!(
                got.as_ref().is_err_and(|why| why.contains(r.as_str())),
                "{:?} -> {got:?}",
                c.raw
            ),
            _ => panic!("case without expect or reject"),
        }
    }
    let files = vec![
        locus::git::FileDiff {
            path: "src/a.rs".into(),
            from: None,
            kind: "modified",
            binary: false,
            added: 1,
            removed: 0,
            hunks: vec![],
        },
        locus::git::FileDiff {
            path: "docs/b.md".into(),
            from: None,
            kind: "added",
            binary: false,
            added: 1,
            removed: 0,
            hunks: vec![],
        },
        locus::git::FileDiff {
            path: "c.txt".into(),
            from: None,
            kind: "deleted",
            binary: false,
            added: 0,
            removed: 1,
            hunks: vec![],
        },
    ];
    assert_eq!(
        fallback_message(&files),
        "Update a.rs, b.md and 1 more files\n\n- modified src/a.rs\n- added docs/b.md\n- deleted c.txt"
    );
    assert_eq!(fallback_message(&files[1..2]), "Add b.md");
}

#[test]
fn commit_prompt_follows_the_repo_style_and_fits_the_budget() {
    let sb = Sandbox::new();
    let dir = repo(&sb);
    for (i, s) in [
        "feat: add parser",
        "fix(parser): empty input",
        "docs: readme",
        "chore: bump deps",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(dir.join(format!("f{i}.txt")), "x\n").unwrap();
        git(&dir, &["add", "."]);
        git(&dir, &["commit", "-qm", s]);
    }
    std::fs::write(dir.join("CONTRIBUTING.md"), "# Contributing\n\nRun the tests.\n\nCommit messages: use the imperative, reference the issue number.\n").unwrap();
    for i in 0..30 {
        let body: String = (0..200)
            .map(|k| format!("generated line {i} {k}\n"))
            .collect();
        std::fs::write(dir.join(format!("gen{i}.txt")), body).unwrap();
    }
    git(&dir, &["add", "."]);
    let r = Repo::open(&dir).unwrap();
    let index = r.git2().index().unwrap();
    let p = r.commit_prompt(&index, 6000).unwrap();
    assert!(p.conventional && p.trimmed);
    assert!(p.system.contains("Conventional Commits"));
    assert!(p.user.contains("Branch: main") && p.user.contains("- fix(parser): empty input"));
    assert!(p.user.contains("reference the issue number"));
    for i in 0..30 {
        assert!(
            p.user.contains(&format!("added gen{i}.txt (+200 -0)")),
            "every file is in the summary"
        );
    }
    assert!(
        p.user.len() + p.system.len() < 6000 + 2500,
        "{}",
        p.user.len()
    );
}

#[test]
fn commit_end_to_end_with_the_real_small_model() {
    let model = test_model();
    let sb = Sandbox::new();
    let dir = repo(&sb);
    std::fs::write(
        dir.join("calc.py"),
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    )
    .unwrap();
    git(&dir, &["add", "calc.py"]);
    std::fs::write(dir.join("a.txt"), "one\n2\nthree\n").unwrap();
    // --all --dry-run sees the tracked change but stages nothing.
    let m = model.to_str().unwrap();
    let out = sb.locus(
        &dir,
        &["commit", "--all", "--dry-run", "--json", "--model", m],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let paths: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["a.txt", "calc.py"]);
    assert_eq!(json["committed"], false);
    assert_eq!(
        git(&dir, &["status", "--porcelain"]),
        " M a.txt\nA  calc.py\n"
    );
    let out = sb.locus(
        &dir,
        &[
            "commit",
            "--yes",
            "--json",
            "--model",
            model.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["committed"], true);
    let subject = git(&dir, &["log", "-1", "--format=%s"]);
    let subject = subject.trim_end_matches('\n');
    assert!(
        !subject.is_empty() && subject.chars().count() <= 72 && !subject.ends_with('.'),
        "{subject:?}"
    );
    assert!(
        !subject.contains('\n')
            && !subject.contains("```")
            && !subject.to_lowercase().starts_with("here"),
        "{subject:?}"
    );
    assert_eq!(
        json["message"].as_str().unwrap().lines().next().unwrap(),
        subject
    );
    assert_eq!(
        git(&dir, &["status", "--porcelain"]),
        " M a.txt\n",
        "only what was staged is committed"
    );
    assert!(["model", "fallback"].contains(&json["source"].as_str().unwrap()));
}
