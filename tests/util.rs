//! Shared helpers for the integration tests: a sandbox with its own XDG dirs
//! (so tests never read or write the real user's config), and a way to run
//! the real `locus` binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for d in ["config", "state", "cache", "work"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Sandbox { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A plain directory to work in (not a git repository).
    pub fn work(&self) -> PathBuf {
        self.path("work")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Run `locus ARGS` in `cwd` with this sandbox's XDG dirs and no LOCUS_* from outside.
    pub fn locus(&self, cwd: &Path, args: &[&str]) -> Output {
        self.locus_env(cwd, args, &[])
    }

    pub fn locus_env(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(cwd, args, env).output().unwrap()
    }

    /// The command `locus_env` runs, to spawn it instead.
    pub fn command(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_locus"));
        cmd.args(args).current_dir(cwd);
        for (k, _) in std::env::vars() {
            if k.starts_with("LOCUS_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_GLOBAL", self.path("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// A JSON array of token ids (the reference scripts' output).
pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `git init` a directory with the git CLI (a real repository, as a user has).
pub fn git_init(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let st = Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(st.success());
}

/// The small real model (Gemma 3 270M Q4_K_M). `LOCUS_TEST_MODEL` names it, or
/// it is fetched into models/ by scripts/fetch-test-model on first use.
pub fn test_model() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("LOCUS_TEST_MODEL") {
            return PathBuf::from(p);
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let path = root.join("models/gemma-3-270m-q4_k_m.gguf");
        let st = Command::new(root.join("scripts/fetch-test-model"))
            .arg(&path)
            .status()
            .unwrap();
        assert!(
            st.success(),
            "scripts/fetch-test-model failed: the runtime tests need the small model"
        );
        path
    })
    .clone()
}

/// The Python of llama.cpp's build (llama-cpp-python with its server, mtmd
/// and gguf), built by scripts/build-llama-cpp on first use.
pub fn llama_python() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = root.join(".venv-llama/bin/python");
        let ok = python.exists()
            && Command::new(&python)
                .args(["-c", "import llama_cpp.server.app, gguf"])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            let st = Command::new(root.join("scripts/build-llama-cpp"))
                .status()
                .unwrap();
            assert!(st.success(), "scripts/build-llama-cpp failed");
        }
        python
    })
    .clone()
}

/// The index of `root` with default settings and no cache.
pub fn index_of(root: &Path) -> locus::index::Index {
    locus::index::Index::open(
        root,
        &locus::config::IndexSettings::default(),
        locus::assets::Assets::new(None),
        None,
        &locus::index::Progress::default(),
    )
    .unwrap()
    .0
}
