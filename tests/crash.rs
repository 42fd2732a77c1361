//! A real `locus` killed (SIGKILL) at many points of an apply and of an
//! undo: afterwards every file is either all old or all new, nothing of a
//! write is left behind, and undo/redo go on working. Two processes at once
//! never lose a change.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use locus::config::{DEFAULT_NEVER_TOUCH, Dirs, PathRules};
use locus::edit::{Journal, PathGuard};

use crate::util::{Sandbox, git_init, stderr};

const FILES: usize = 300;

fn repo(sb: &Sandbox) -> PathBuf {
    let root = sb.path("work/repo");
    git_init(&root);
    for i in 0..FILES {
        let dir = root.join(format!("pkg{}", i % 10));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("m{i}.py")), format!("V{i} = 'old'\n")).unwrap();
    }
    root
}

fn reply(sb: &Sandbox) -> PathBuf {
    let mut r = String::new();
    for i in 0..FILES {
        r.push_str(&format!(
            "pkg{}/m{i}.py\n<<<<<<< SEARCH\nV{i} = 'old'\n=======\nV{i} = 'new'\n>>>>>>> REPLACE\n\n",
            i % 10
        ));
    }
    sb.write("reply.md", &r)
}

fn locus(sb: &Sandbox, root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_locus"));
    cmd.args(args)
        .current_dir(root)
        .env_remove("LOCUS_MODEL")
        .env("XDG_CONFIG_HOME", sb.path("config"))
        .env("XDG_STATE_HOME", sb.path("state"))
        .env("XDG_CACHE_HOME", sb.path("cache"))
        .env("HOME", sb.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// "old", "new", or "mixed: N new" over every file; and temp files left.
fn state(root: &Path) -> (String, usize) {
    let mut new = 0;
    let mut temps = 0;
    for d in 0..10 {
        for e in std::fs::read_dir(root.join(format!("pkg{d}")))
            .unwrap()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                temps += 1;
            } else if std::fs::read_to_string(e.path()).unwrap().contains("'new'") {
                new += 1;
            }
        }
    }
    let s = match new {
        0 => "old".to_string(),
        n if n == FILES => "new".to_string(),
        n => format!("mixed: {n} new"),
    };
    (s, temps)
}

/// What the next start of locus does first: finish or roll back.
fn recover(sb: &Sandbox, root: &Path) {
    let dirs = Dirs {
        config: sb.path("config/locus"),
        state: sb.path("state/locus"),
        cache: sb.path("cache/locus"),
    };
    let root = root.canonicalize().unwrap();
    let guard = PathGuard::new(
        &root,
        PathRules::new(DEFAULT_NEVER_TOUCH.iter().copied()).unwrap(),
    )
    .unwrap();
    Journal::for_repo(&dirs, &root).recover(&guard).unwrap();
}

fn run_ok(sb: &Sandbox, root: &Path, args: &[&str]) -> bool {
    let out = locus(sb, root, args).output().unwrap();
    out.status.success()
}

/// Kill `args` after `delay`; whether it was still running.
fn kill_after(sb: &Sandbox, root: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = locus(sb, root, args).spawn().unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    running
}

#[test]
fn a_killed_apply_or_undo_leaves_all_old_or_all_new_and_undo_works() {
    let mut killed_mid = 0;
    for ms in [0u64, 15, 30, 60, 90, 130, 180, 250, 350, 500, 700] {
        // Apply, killed.
        let sb = Sandbox::new();
        let root = repo(&sb);
        let r = reply(&sb);
        let args = ["apply", r.to_str().unwrap(), "--yes"];
        let running = kill_after(&sb, &root, &args, Duration::from_millis(ms));
        let (before, _) = state(&root);
        if before.starts_with("mixed") {
            killed_mid += 1;
        }
        recover(&sb, &root);
        let (s, temps) = state(&root);
        assert!(
            s == "old" || s == "new",
            "after {ms} ms ({before}, running {running}): {s}"
        );
        assert_eq!(temps, 0, "temporary files left after {ms} ms");
        // Undo brings back the old tree either way (nothing to undo when it was rolled back).
        run_ok(&sb, &root, &["undo"]);
        assert_eq!(state(&root).0, "old", "undo after a kill at {ms} ms");
        if s == "new" {
            assert!(run_ok(&sb, &root, &["redo"]));
            assert_eq!(state(&root).0, "new");
        }

        // Undo, killed.
        let sb = Sandbox::new();
        let root = repo(&sb);
        let r = reply(&sb);
        assert!(run_ok(&sb, &root, &["apply", r.to_str().unwrap(), "--yes"]));
        assert_eq!(state(&root).0, "new");
        kill_after(&sb, &root, &["undo"], Duration::from_millis(ms));
        let (before, _) = state(&root);
        if before.starts_with("mixed") {
            killed_mid += 1;
        }
        recover(&sb, &root);
        let (s, temps) = state(&root);
        assert!(
            s == "old" || s == "new",
            "undo killed after {ms} ms ({before}): {s}"
        );
        assert_eq!(temps, 0);
        if s == "new" {
            assert!(run_ok(&sb, &root, &["undo"]), "the undo can be done again");
            assert_eq!(state(&root).0, "old");
        } else {
            assert!(
                run_ok(&sb, &root, &["redo"]),
                "the undone entry can be redone"
            );
            assert_eq!(state(&root).0, "new");
        }
    }
    // The delays must have caught some runs in the middle of their writes.
    assert!(killed_mid > 0, "no kill landed mid-write; widen the delays");
}

#[test]
fn two_processes_never_lose_a_change() {
    for round in 0..8 {
        let sb = Sandbox::new();
        let root = sb.path("work/repo");
        git_init(&root);
        std::fs::write(root.join("a.py"), "X = 1\n").unwrap();
        std::fs::write(root.join("b.py"), "Y = 1\n").unwrap();
        let one = sb.write(
            "one.md",
            "a.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n",
        );
        let two = sb.write(
            "two.md",
            "a.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 3\n>>>>>>> REPLACE\n",
        );
        let other = sb.write(
            "b.md",
            "b.py\n<<<<<<< SEARCH\nY = 1\n=======\nY = 2\n>>>>>>> REPLACE\n",
        );
        let spawn = |r: &Path| {
            locus(&sb, &root, &["apply", r.to_str().unwrap(), "--yes"])
                .spawn()
                .unwrap()
        };
        let (c1, c2, c3) = (spawn(&one), spawn(&two), spawn(&other));
        let (o1, o2, o3) = (
            c1.wait_with_output().unwrap(),
            c2.wait_with_output().unwrap(),
            c3.wait_with_output().unwrap(),
        );
        assert!(o3.status.success(), "round {round}: {}", stderr(&o3));
        let a = std::fs::read_to_string(root.join("a.py")).unwrap();
        let ok: Vec<bool> = [&o1, &o2].iter().map(|o| o.status.success()).collect();
        assert_eq!(
            ok.iter().filter(|&&b| b).count(),
            1,
            "round {round}: exactly one edit of a.py succeeds, the other sees the conflict: {} / {}",
            stderr(&o1),
            stderr(&o2)
        );
        // The loser either saw the file change under it, or (started late)
        // found its SEARCH text gone: never a silent overwrite.
        let loser = if ok[0] { &o2 } else { &o1 };
        let why = stderr(loser);
        assert!(
            why.contains("changed on disk") || why.contains("nothing was written"),
            "{why}"
        );
        assert_eq!(a, if ok[0] { "X = 2\n" } else { "X = 3\n" });
        // Both entries are in the journal: two undos restore both files.
        assert!(run_ok(&sb, &root, &["undo"]));
        assert!(run_ok(&sb, &root, &["undo"]));
        assert_eq!(
            std::fs::read_to_string(root.join("a.py")).unwrap(),
            "X = 1\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("b.py")).unwrap(),
            "Y = 1\n"
        );
        assert!(!run_ok(&sb, &root, &["undo"]), "nothing more to undo");
    }
}
