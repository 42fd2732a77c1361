//! The binary's contract: --help, --version, doctor, exit codes and one-line errors.

use crate::util::{Sandbox, git_init, stderr, stdout};

#[test]
fn help_and_version() {
    let sb = Sandbox::new();
    let out = sb.locus(&sb.work(), &["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("doctor") && text.contains("local-first"),
        "{text}"
    );
    let out = sb.locus(&sb.work(), &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("locus {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_usage_exits_2() {
    let sb = Sandbox::new();
    let out = sb.locus(&sb.work(), &["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sb.locus(&sb.work(), &["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn doctor_outside_a_repository() {
    let sb = Sandbox::new();
    let out = sb.locus(&sb.work(), &["doctor"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("is not inside a git repository"), "{text}");
    assert!(
        text.contains(&sb.path("state").join("locus").display().to_string()),
        "{text}"
    );
    assert!(
        text.contains(&sb.path("cache").join("locus").display().to_string()),
        "{text}"
    );
    assert!(text.contains("config.toml (not present)"), "{text}");
    assert!(
        text.contains("theme = \"dark\""),
        "shows the merged settings: {text}"
    );
}

#[test]
fn doctor_inside_a_repository_subdirectory_shows_root_branch_and_files() {
    let sb = Sandbox::new();
    let repo = sb.path("work/proj");
    git_init(&repo);
    std::fs::create_dir_all(repo.join("src/deep")).unwrap();
    sb.write("work/proj/.locus/config.toml", "[ui]\ntheme = \"light\"\n");
    sb.write(
        "config/locus/config.toml",
        "[index]\nmax_file_bytes = 12345\n",
    );
    let out = sb.locus(&repo.join("src/deep"), &["doctor"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let root = repo.canonicalize().unwrap();
    assert!(
        text.contains(&format!("root      {}", root.display())),
        "{text}"
    );
    assert!(text.contains("main (no commits yet)"), "{text}");
    assert!(text.contains(".locus/config.toml (read)"), "{text}");
    assert!(text.contains("theme = \"light\""), "{text}");
    assert!(text.contains("max_file_bytes = 12345"), "{text}");
}

#[test]
fn doctor_reports_config_errors_and_exits_1() {
    let sb = Sandbox::new();
    sb.write(
        "config/locus/config.toml",
        "[ui]\ntheme = \"dark\"\ncolour = \"red\"\n",
    );
    let out = sb.locus(&sb.work(), &["doctor"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("config.toml:3: key `ui.colour`: unknown field `colour`"),
        "{text}"
    );
    assert!(text.contains("1 problem found"), "{text}");
}

#[test]
fn doctor_says_which_device_runs_the_model_and_why() {
    let sb = Sandbox::new();
    let out = sb.locus(&sb.work(), &["doctor"]);
    let text = stdout(&out);
    if !cfg!(any(feature = "cuda", feature = "metal")) {
        // A fall back to the CPU is said, never silent.
        assert!(
            text.contains(
                "  device    cpu (this build has no GPU support: --features cuda or metal)"
            ),
            "{text}"
        );
        sb.write("config/locus/config.toml", "[model]\ndevice = \"cuda:0\"\n");
        let out = sb.locus(&sb.work(), &["doctor"]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains("[model] device = \"cuda:0\": this build of locus has no CUDA support; rebuild with `--features cuda`"),
            "{text}"
        );
    }
    let out = sb.locus_env(&sb.work(), &["doctor"], &[("LOCUS_DEVICE", "cpu")]);
    let text = stdout(&out);
    assert!(text.contains("  device    cpu\n"), "{text}");
    sb.write("config/locus/config.toml", "[model]\ndevice = \"gpu\"\n");
    let out = sb.locus(&sb.work(), &["doctor"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("[model] device = \"gpu\": expected \"auto\", \"cpu\", \"cuda\""),
        "{text}"
    );
}

#[test]
fn doctor_reports_a_missing_theme() {
    let sb = Sandbox::new();
    let out = sb.locus_env(&sb.work(), &["doctor"], &[("LOCUS_THEME", "nope")]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no asset `themes/nope.toml`"), "{text}");
    assert!(
        text.contains("available: dark, high-contrast, light"),
        "{text}"
    );
}

#[test]
fn a_command_with_bad_config_fails_with_one_line() {
    let sb = Sandbox::new();
    sb.write(
        "work/.locus/config.toml",
        "[index]\nmax_file_bytes = \"big\"\n",
    );
    let out = sb.locus(&sb.work(), &["index"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("config.toml:2: key `index.max_file_bytes`"),
        "{err}"
    );
}

#[test]
fn logs_go_to_the_state_dir_not_the_terminal() {
    let sb = Sandbox::new();
    let out = sb.locus(&sb.work(), &["-v", "doctor"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).is_empty(),
        "nothing on stderr: {}",
        stderr(&out)
    );
    let log = std::fs::read_to_string(sb.path("state/locus/locus.log")).unwrap();
    assert!(log.contains("start"), "{log}");
}

#[test]
fn missing_directory_is_a_clear_error() {
    let sb = Sandbox::new();
    let out = sb.locus(&sb.work(), &["-C", "/definitely/not/here", "doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot use directory /definitely/not/here"),
        "{}",
        stderr(&out)
    );
}

fn small_project(sb: &Sandbox) -> std::path::PathBuf {
    let repo = sb.path("work/proj");
    git_init(&repo);
    sb.write(
        "work/proj/src/engine.rs",
        "pub struct Engine;\npub fn build_engine() -> Engine { Engine }\n",
    );
    sb.write(
        "work/proj/src/car.rs",
        "pub fn drive() { let e = build_engine(); }\n",
    );
    sb.write("work/proj/app/main.py", "def run():\n    return drive()\n");
    repo
}

#[test]
fn map_json_lists_files_most_relevant_first() {
    let sb = Sandbox::new();
    let repo = small_project(&sb);
    let out = sb.locus(
        &repo,
        &[
            "map",
            "--json",
            "--tokens",
            "500",
            "--focus",
            "build_engine",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!(files[0]["path"], "src/engine.rs");
    assert!(files[0]["rank"].as_f64().unwrap() > 0.0);
    let defs = files[0]["definitions"].as_array().unwrap();
    assert!(
        defs.iter()
            .any(|d| d["name"] == "build_engine" && d["kind"] == "function" && d["line"] == 2),
        "{defs:?}"
    );

    let out = sb.locus(&repo, &["map", "--tokens", "500"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("src/engine.rs\n"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2│ pub fn build_engine() -> Engine { Engine }"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn symbols_prints_definitions_and_uses() {
    let sb = Sandbox::new();
    let repo = small_project(&sb);
    let out = sb.locus(&repo, &["symbols", "build_engine", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let s = &v["symbols"][0];
    assert_eq!(s["definitions"][0]["path"], "src/engine.rs");
    assert_eq!(s["references"][0]["path"], "src/car.rs");
    assert_eq!(s["references"][0]["kind"], "call");

    let out = sb.locus(&repo, &["symbols", "nothing_like_this"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no symbol named `nothing_like_this`"));

    let out = sb.locus(&repo, &["symbols", "--prefix", "dri"]);
    assert!(
        stdout(&out).contains("defined  src/car.rs:1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn index_stats_reports_files_symbols_languages_and_uses_the_cache() {
    let sb = Sandbox::new();
    let repo = small_project(&sb);
    let out = sb.locus(&repo, &["index", "--stats"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("files        3 (3 with tags, 3 parsed now, 0 from cache)"),
        "{text}"
    );
    assert!(text.contains("languages    python 1, rust 2"), "{text}");
    let out = sb.locus(&repo, &["index", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["reparsed"], 0);
    assert_eq!(v["reused"], 3);
    assert_eq!(v["definitions"], 4);
    let out = sb.locus(&repo, &["index", "--rebuild", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["reparsed"], 3);
}

#[test]
fn index_works_on_a_plain_directory() {
    let sb = Sandbox::new();
    sb.write("work/plain/lib.rs", "pub fn alone() {}\n");
    let out = sb.locus(&sb.path("work/plain"), &["symbols", "alone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("defined  lib.rs:1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn doctor_lists_the_models_it_finds_and_which_runs() {
    let sb = Sandbox::new();
    let tiny =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf");
    let out = sb.locus_env(
        &sb.work(),
        &["doctor"],
        &[("LOCUS_MODEL", tiny.to_str().unwrap())],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("env       tiny-gemma4"), "{text}");
    assert!(
        text.contains(&format!("runs      {}", tiny.display())),
        "{text}"
    );
    let out = sb.locus(&sb.work(), &["doctor"]);
    assert!(
        stdout(&out).contains("no GGUF model found"),
        "{}",
        stdout(&out)
    );
}
