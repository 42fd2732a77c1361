//! Checks: the commands that tell whether the code works (tests, linters),
//! configured in `[checks]` (a trusted repository file or the user's own).
//! Each runs through `sh -c` in the repository root, in its own process
//! group (so a test runner's children die with it), with a timeout, killed
//! on cancel; its output is capped, keeping the failing part and the tail.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::CheckSettings;
use crate::model::Cancel;

/// Bytes of output kept from a check.
const KEEP_BYTES: usize = 12_000;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("no check named {name}; configured: {known} (`locus checks` lists them)")]
    Unknown { name: String, known: String },
    #[error("cannot start check {name} (`{command}`): {source}")]
    Start {
        name: String,
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub name: String,
    pub command: String,
    pub ok: bool,
    /// None when it was killed.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    pub duration_ms: u64,
    /// Its output (stdout and stderr as they came), capped.
    pub output: String,
}

impl CheckOutcome {
    /// One line: the name and how it ended.
    pub fn summary(&self) -> String {
        let how = if self.ok {
            "passed".to_string()
        } else if self.timed_out {
            "was killed at its timeout".to_string()
        } else if self.cancelled {
            "was cancelled".to_string()
        } else {
            format!("failed (exit {})", self.exit_code.unwrap_or(-1))
        };
        format!(
            "check {} {how} in {:.1} s",
            self.name,
            self.duration_ms as f64 / 1000.0
        )
    }
}

/// Run the check `name` of `checks` in `root`.
pub fn run(
    root: &Path,
    checks: &std::collections::BTreeMap<String, CheckSettings>,
    name: &str,
    cancel: &Cancel,
) -> Result<CheckOutcome, CheckError> {
    let Some(c) = checks.get(name) else {
        let known: Vec<&str> = checks.keys().map(String::as_str).collect();
        return Err(CheckError::Unknown {
            name: name.into(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    };
    run_command(root, name, c, cancel)
}

/// `command` through the platform's shell: `sh -c` (`cmd /C` on Windows).
pub fn shell(command: &str) -> Command {
    #[cfg(windows)]
    {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(command);
        c
    }
    #[cfg(not(windows))]
    {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command);
        c
    }
}

/// Run one check's command.
pub fn run_command(
    root: &Path,
    name: &str,
    c: &CheckSettings,
    cancel: &Cancel,
) -> Result<CheckOutcome, CheckError> {
    let start = Instant::now();
    let mut command = shell(&c.command);
    command
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group: a timeout or cancel kills its children too.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|source| CheckError::Start {
        name: name.into(),
        command: c.command.clone(),
        source,
    })?;
    let pgid = child.id() as i32;
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut r| {
        let out = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                o.extend_from_slice(&buf[..n]);
                // Bound memory: the head is dropped once it is far too long.
                if o.len() > 8 * KEEP_BYTES {
                    let cut = o.len() - 4 * KEEP_BYTES;
                    o.drain(..cut);
                }
            }
        })
    })
    .collect();
    let limit = Duration::from_secs(c.timeout_s.max(1));
    let (mut timed_out, mut cancelled) = (false, false);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) => {}
            Err(_) => break None,
        }
        if start.elapsed() >= limit {
            timed_out = true;
        } else if cancel.is_cancelled() {
            cancelled = true;
        }
        if timed_out || cancelled {
            kill_group(pgid);
            let _ = child.kill();
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever the shell left running in its group goes too.
    kill_group(pgid);
    for r in readers {
        let _ = r.join();
    }
    let bytes = out.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let exit_code = status.and_then(|s| s.code());
    Ok(CheckOutcome {
        name: name.into(),
        command: c.command.clone(),
        ok: !timed_out && !cancelled && exit_code == Some(0),
        exit_code,
        timed_out,
        cancelled,
        duration_ms: start.elapsed().as_millis() as u64,
        output: cap(&String::from_utf8_lossy(&bytes)),
    })
}

#[cfg(unix)]
fn kill_group(pgid: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; no
    // memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Elsewhere the child itself is killed (by the caller's `Child::kill`).
#[cfg(not(unix))]
fn kill_group(_: i32) {}

/// The output within `KEEP_BYTES`: the lines that say what failed, then
/// the tail.
pub fn cap(text: &str) -> String {
    if text.len() <= KEEP_BYTES {
        return text.to_string();
    }
    let failing: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            ["error", "fail", "panic", "assert", "traceback", "exception"]
                .iter()
                .any(|w| l.contains(w))
        })
        .take(40)
        .collect();
    let mut head = String::new();
    for l in failing {
        if head.len() + l.len() > KEEP_BYTES / 3 {
            break;
        }
        head.push_str(l);
        head.push('\n');
    }
    let room = KEEP_BYTES - head.len();
    let mut start = text.len().saturating_sub(room);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let tail = &text[start..];
    let tail = tail.split_once('\n').map_or(tail, |(_, t)| t);
    format!("[output cut to {KEEP_BYTES} bytes: the failing lines, then the end]\n{head}…\n{tail}")
}

/// A check proposed from the repository's layout, for when none is
/// configured: (name, settings, where it came from).
pub fn propose(root: &Path) -> Option<(String, CheckSettings, String)> {
    let check = |command: &str| CheckSettings {
        command: command.into(),
        after_edit: true,
        timeout_s: 600,
    };
    if root.join("Cargo.toml").is_file() {
        return Some(("test".into(), check("cargo test -q"), "Cargo.toml".into()));
    }
    if let Ok(text) = std::fs::read_to_string(root.join("package.json"))
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && v["scripts"]["test"].is_string()
    {
        let runner = if root.join("pnpm-lock.yaml").is_file() {
            "pnpm test"
        } else if root.join("yarn.lock").is_file() {
            "yarn test"
        } else {
            "npm test"
        };
        return Some((
            "test".into(),
            check(runner),
            "package.json scripts.test".into(),
        ));
    }
    if root.join("go.mod").is_file() {
        return Some(("test".into(), check("go test ./..."), "go.mod".into()));
    }
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap_or_default();
    if root.join("pytest.ini").is_file()
        || root.join("conftest.py").is_file()
        || pyproject.contains("[tool.pytest")
    {
        return Some((
            "test".into(),
            check("python3 -m pytest -q"),
            "pytest configuration".into(),
        ));
    }
    if root.join("tests").is_dir() && (root.join("setup.py").is_file() || !pyproject.is_empty()) {
        return Some((
            "test".into(),
            check("python3 -m unittest discover -s tests -q"),
            "a Python package with tests/".into(),
        ));
    }
    if let Ok(text) = std::fs::read_to_string(root.join("Makefile"))
        && text.lines().any(|l| l.starts_with("test:"))
    {
        return Some(("test".into(), check("make test"), "Makefile".into()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(command: &str, timeout_s: u64) -> CheckSettings {
        CheckSettings {
            command: command.into(),
            after_edit: true,
            timeout_s,
        }
    }

    #[test]
    fn a_check_passes_fails_and_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let ok = run_command(dir.path(), "ok", &c("echo fine; pwd", 10), &Cancel::new()).unwrap();
        assert!(ok.ok && ok.output.contains("fine"), "{ok:?}");
        assert!(
            ok.output
                .contains(dir.path().file_name().unwrap().to_str().unwrap())
        );
        let bad = run_command(
            dir.path(),
            "bad",
            &c("echo broken >&2; exit 3", 10),
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!((bad.ok, bad.exit_code), (false, Some(3)));
        assert!(bad.output.contains("broken") && bad.summary().contains("exit 3"));
        // A hanging check and the child it started are killed at the timeout.
        let marker = dir.path().join("child-alive");
        let cmd = format!("(sleep 3; touch {}) & sleep 30", marker.display());
        let t = Instant::now();
        let hung = run_command(dir.path(), "hang", &c(&cmd, 1), &Cancel::new()).unwrap();
        assert!(hung.timed_out && !hung.ok, "{hung:?}");
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(3500));
        assert!(!marker.exists(), "the check's child outlived it");
        // Cancel.
        let cancel = Cancel::new();
        let c2 = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            c2.cancel();
        });
        let t = Instant::now();
        let stopped = run_command(dir.path(), "hang", &c("sleep 30", 60), &cancel).unwrap();
        assert!(stopped.cancelled && t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn long_output_keeps_the_failure_and_the_end() {
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!("line {i} ok\n"));
            if i == 100 {
                text.push_str("test parse::x FAILED: assertion failed\n");
            }
        }
        let c = cap(&text);
        assert!(c.len() < KEEP_BYTES + 200);
        assert!(c.contains("FAILED: assertion failed") && c.contains("line 4999 ok"));
    }

    #[test]
    fn a_check_is_proposed_from_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        assert!(propose(dir.path()).is_none());
        std::fs::write(dir.path().join("Makefile"), "all:\n\ttrue\ntest:\n\ttrue\n").unwrap();
        assert_eq!(propose(dir.path()).unwrap().1.command, "make test");
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"scripts": {"test": "jest"}}"#,
        )
        .unwrap();
        assert_eq!(propose(dir.path()).unwrap().1.command, "npm test");
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(propose(dir.path()).unwrap().1.command, "cargo test -q");
    }
}
