//! Layered config: defaults, user file, repo file, environment; and the
//! precision of its errors.

use locus::config::{ConfigError, Settings, SourceKind, load};

use crate::util::Sandbox;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_when_no_files_exist() {
    let sb = Sandbox::new();
    let loaded = load(
        &sb.path("none/user.toml"),
        Some(&sb.path("none/repo.toml")),
        env(&[]),
    )
    .unwrap();
    assert_eq!(loaded.settings, Settings::default());
    assert!(loaded.sources.iter().all(|s| !s.present));
}

#[test]
fn user_then_repo_then_env_patch_in_order() {
    let sb = Sandbox::new();
    let user = sb.write(
        "u.toml",
        "[ui]\ntheme = \"light\"\n[index]\nmax_file_bytes = 10\nexclude = [\"a\", \"b\"]\n",
    );
    let repo = sb.write(
        "r.toml",
        "[index]\nmax_file_bytes = 20\nexclude = [\"c\"]\n",
    );
    let loaded = load(
        &user,
        Some(&repo),
        env(&[
            ("LOCUS_INDEX__WATCH", "false"),
            ("LOCUS_THEME", "high-contrast"),
        ]),
    )
    .unwrap();
    let s = loaded.settings;
    assert_eq!(s.index.max_file_bytes, 20, "repo file wins over user file");
    assert_eq!(
        s.index.exclude,
        vec!["c".to_string()],
        "arrays are replaced, not appended"
    );
    assert!(!s.index.watch, "environment overrides files");
    assert_eq!(
        s.ui.theme, "high-contrast",
        "LOCUS_THEME alias overrides the user file"
    );
    assert_eq!(
        s.index.max_line_bytes,
        Settings::default().index.max_line_bytes,
        "untouched keys keep defaults"
    );
    let kinds: Vec<_> = loaded.sources.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        vec![
            SourceKind::User,
            SourceKind::Repo,
            SourceKind::Env,
            SourceKind::Env
        ]
    );
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let sb = Sandbox::new();
    let repo = sb.write(
        "r.toml",
        "# comment\n[index]\nmax_file_bytes = 5\nmax_fle_bytes = 7\n",
    );
    let err = load(&sb.path("u.toml"), Some(&repo), env(&[])).unwrap_err();
    let msg = err.to_string();
    match &err {
        ConfigError::Invalid {
            path, line, key, ..
        } => {
            assert_eq!(path, &repo);
            assert_eq!(*line, 4);
            assert_eq!(key.as_deref(), Some("index.max_fle_bytes"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(msg.contains("r.toml:4"), "{msg}");
    assert!(msg.contains("unknown field `max_fle_bytes`"), "{msg}");
}

#[test]
fn wrong_type_names_file_line_and_key() {
    let sb = Sandbox::new();
    let user = sb.write("u.toml", "[ui]\ntheme = 3\n");
    let err = load(&user, None, env(&[])).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("u.toml:2"), "{msg}");
    assert!(msg.contains("key `ui.theme`"), "{msg}");
    assert!(
        msg.contains("invalid type: integer `3`, expected a string"),
        "{msg}"
    );
}

#[test]
fn unknown_section_and_bad_syntax_are_located() {
    let sb = Sandbox::new();
    let user = sb.write(
        "u.toml",
        "[ui]\ntheme = \"dark\"\n\n[modle]\npath = \"x\"\n",
    );
    let msg = load(&user, None, env(&[])).unwrap_err().to_string();
    assert!(msg.contains("u.toml:4"), "{msg}");
    assert!(msg.contains("modle"), "{msg}");

    let broken = sb.write("b.toml", "[ui\ntheme = \"dark\"\n");
    let msg = load(&broken, None, env(&[])).unwrap_err().to_string();
    assert!(msg.contains("b.toml:1"), "{msg}");
}

#[test]
fn env_errors_name_the_variable() {
    let sb = Sandbox::new();
    let err = load(
        &sb.path("u.toml"),
        None,
        env(&[("LOCUS_INDEX__MAX_FILE_BYTES", "lots")]),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("environment variable LOCUS_INDEX__MAX_FILE_BYTES"),
        "{msg}"
    );
    assert!(msg.contains("index.max_file_bytes"), "{msg}");

    let msg = load(&sb.path("u.toml"), None, env(&[("LOCUS_INDEX__NOPE", "1")]))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("LOCUS_INDEX__NOPE") && msg.contains("unknown field `nope`"),
        "{msg}"
    );
}

#[test]
fn env_values_are_typed_when_they_parse_as_toml() {
    let sb = Sandbox::new();
    let loaded = load(
        &sb.path("u.toml"),
        None,
        env(&[
            ("LOCUS_INDEX__MAX_FILE_BYTES", "42"),
            ("LOCUS_INDEX__EXCLUDE", "[\"*.min.js\"]"),
            ("LOCUS_UI__THEME", "light"),
        ]),
    )
    .unwrap();
    assert_eq!(loaded.settings.index.max_file_bytes, 42);
    assert_eq!(loaded.settings.index.exclude, vec!["*.min.js".to_string()]);
    assert_eq!(loaded.settings.ui.theme, "light");
}

#[test]
fn unreadable_config_is_an_error_not_a_default() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("dir.toml")).unwrap();
    let err = load(&sb.path("dir.toml"), None, env(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("dir.toml"));
}
