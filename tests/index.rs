//! The repository index on real directories: what the walk takes and leaves,
//! bad input, ranking, the cache and its invalidation, incremental updates.

use std::path::Path;
use std::time::Duration;

use locus::assets::Assets;
use locus::config::IndexSettings;
use locus::index::{FileStatus, Index, Progress, Watcher};
use locus::tokens::EstimateCounter;

use crate::util::git_init;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn open(root: &Path, cache: Option<&Path>) -> (Index, locus::index::BuildStats) {
    Index::open(
        root,
        &IndexSettings::default(),
        Assets::new(None),
        cache,
        &Progress::default(),
    )
    .unwrap()
}

fn paths(index: &Index) -> Vec<&str> {
    index.files().iter().map(|f| f.path.as_str()).collect()
}

fn status<'a>(index: &'a Index, path: &str) -> &'a FileStatus {
    &index.files()[index
        .file_index(path)
        .unwrap_or_else(|| panic!("{path} not indexed")) as usize]
        .status
}

/// A small project: a core module, a user of it, and noise around them.
fn project(root: &Path) {
    write(
        root,
        "src/engine.rs",
        "pub struct Engine;\nimpl Engine {\n    pub fn start_engine(&self) {}\n}\npub fn build_engine() -> Engine { Engine }\n",
    );
    write(
        root,
        "src/car.rs",
        "use crate::engine::Engine;\npub fn drive() { let e = build_engine(); e.start_engine(); }\n",
    );
    write(
        root,
        "src/util.rs",
        "pub fn format_speed(v: u32) -> String { v.to_string() }\n",
    );
    write(
        root,
        "src/main.rs",
        "fn main() { drive(); drive(); println!(\"{}\", format_speed(1)); }\n",
    );
    write(
        root,
        "tools/report.py",
        "def report_speed():\n    return format_speed(3)\n",
    );
}

#[test]
fn walk_honours_ignore_files_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    git_init(&root);
    project(&root);
    write(&root, ".gitignore", "ignored_by_git.rs\n/generated/\n");
    write(&root, ".ignore", "ignored_by_ignore.rs\n");
    write(&root, ".locusignore", "secret_notes/\n");
    write(&root, "ignored_by_git.rs", "fn a() {}\n");
    write(&root, "ignored_by_ignore.rs", "fn b() {}\n");
    write(&root, "generated/x.rs", "fn c() {}\n");
    write(&root, "secret_notes/plan.rs", "fn d() {}\n");
    write(&root, "node_modules/pkg/index.js", "function e() {}\n");
    write(&root, "target/debug/build.rs", "fn f() {}\n");
    write(&root, "docs/readme.md", "# text\n");
    std::os::unix::fs::symlink("/etc", root.join("etc_link")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("src/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("src/util.rs"), root.join("util_link.rs")).unwrap();

    let (index, _) = open(&root, None);
    let p = paths(&index);
    for want in [
        "src/engine.rs",
        "src/car.rs",
        "tools/report.py",
        "docs/readme.md",
        ".gitignore",
    ] {
        assert!(p.contains(&want), "{want} missing from {p:?}");
    }
    for gone in [
        "ignored_by_git.rs",
        "ignored_by_ignore.rs",
        "generated/x.rs",
        "secret_notes/plan.rs",
        "node_modules/pkg/index.js",
        "target/debug/build.rs",
        "util_link.rs",
    ] {
        assert!(!p.contains(&gone), "{gone} should be skipped: {p:?}");
    }
    assert!(
        p.iter().all(|f| !f.starts_with("etc_link")
            && !f.starts_with("src/loop")
            && !f.starts_with(".git/")),
        "{p:?}"
    );
    assert_eq!(status(&index, "docs/readme.md"), &FileStatus::Unsupported);
    assert_eq!(status(&index, "src/engine.rs"), &FileStatus::Parsed);
}

#[test]
fn configured_excludes_and_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    project(&root);
    write(&root, "src/big.rs", &"// padding\n".repeat(2000));
    write(&root, "src/gen.pb.rs", "fn generated() {}\n");
    let settings = IndexSettings {
        exclude: vec!["*.pb.rs".into()],
        max_file_bytes: 10_000,
        ..IndexSettings::default()
    };
    let (index, _) = Index::open(
        &root,
        &settings,
        Assets::new(None),
        None,
        &Progress::default(),
    )
    .unwrap();
    assert!(!paths(&index).contains(&"src/gen.pb.rs"));
    assert_eq!(status(&index, "src/big.rs"), &FileStatus::TooLarge);
}

#[test]
fn bad_input_is_skipped_or_reported_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    write(&root, "ok.rs", "pub fn fine() {}\n");
    std::fs::write(root.join("blob.rs"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    let mut latin1 = b"def caf".to_vec();
    latin1.extend_from_slice(&[0xe9]);
    latin1.extend_from_slice(b"():\n    pass\ndef plain():\n    pass\n");
    std::fs::write(root.join("latin1.py"), latin1).unwrap();
    write(
        &root,
        "app.min.js",
        &format!("function x(){{{}}}\n", "a=1;".repeat(5000)),
    );
    write(
        &root,
        "broken.go",
        "package p\nfunc ( {{{{ \nfunc Good() {}\n",
    );
    write(&root, "empty.rs", "");
    let fifo = root.join("pipe.rs");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );

    let (index, _) = open(&root, None);
    assert_eq!(status(&index, "blob.rs"), &FileStatus::Binary);
    assert_eq!(status(&index, "app.min.js"), &FileStatus::Minified);
    assert_eq!(status(&index, "latin1.py"), &FileStatus::Parsed);
    assert_eq!(status(&index, "broken.go"), &FileStatus::Parsed);
    assert_eq!(status(&index, "empty.rs"), &FileStatus::Parsed);
    assert!(
        index.file_index("pipe.rs").is_none(),
        "a FIFO is not read (it would block)"
    );
    let plain = index.names().get("plain").unwrap();
    assert_eq!(index.symbols().definitions(plain).len(), 1);
}

#[test]
fn empty_directory_and_empty_repository() {
    let dir = tempfile::tempdir().unwrap();
    let (index, stats) = open(dir.path(), None);
    assert_eq!(stats.files, 0);
    let map = index.repo_map(&Default::default(), 1000, &EstimateCounter);
    assert!(map.files.is_empty() && map.text.is_empty());
    git_init(&dir.path().join("repo"));
    let (index, _) = open(&dir.path().join("repo"), None);
    assert!(index.files().is_empty());
}

#[test]
fn symbol_lookup_by_name_and_prefix() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (index, _) = open(dir.path(), None);
    let names = index.names();
    let id = names.get("build_engine").unwrap();
    let defs = index.symbols().definitions(id);
    assert_eq!(defs.len(), 1);
    let f = &index.files()[defs[0].file as usize];
    assert_eq!(f.path, "src/engine.rs");
    let d = &f.defs[defs[0].def as usize];
    assert_eq!((d.start_line, d.end_line), (5, 5));
    assert_eq!(f.signature(d), "pub fn build_engine() -> Engine { Engine }");
    let users: Vec<_> = index
        .symbols()
        .references(id)
        .iter()
        .map(|r| index.files()[r.file as usize].path.as_str())
        .collect();
    assert_eq!(users, vec!["src/car.rs"]);
    let pre: Vec<_> = index
        .symbols()
        .with_prefix(names, "format_")
        .map(|i| names.name(i))
        .collect();
    assert_eq!(pre, vec!["format_speed"]);
    assert_eq!(index.symbols().with_prefix(names, "zzz").count(), 0);
}

#[test]
fn a_mentioned_identifier_pulls_its_defining_file_to_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    project(&root);
    let (index, _) = open(&root, None);
    for (word, file) in [
        ("format_speed", "src/util.rs"),
        ("build_engine", "src/engine.rs"),
        ("report_speed", "tools/report.py"),
    ] {
        let focus = index.focus(&[word.to_string()], &root);
        assert_eq!(focus.names.len(), 1, "{word}");
        let map = index.repo_map(&focus, 4000, &EstimateCounter);
        assert_eq!(
            map.files[0].path,
            file,
            "{word}: {:?}",
            map.files.iter().map(|f| &f.path).collect::<Vec<_>>()
        );
    }
    // A file named in the request is in focus, found by path or by unique file name.
    let focus = index.focus(&Index::words("what does car.rs do?"), &root);
    assert_eq!(focus.files, vec![index.file_index("src/car.rs").unwrap()]);
    let map = index.repo_map(&focus, 4000, &EstimateCounter);
    assert_eq!(map.files[0].path, "src/car.rs");
    // Without focus, the most used definitions come first: the engine is used by car.rs.
    let map = index.repo_map(&Default::default(), 4000, &EstimateCounter);
    let pos = |p: &str| map.files.iter().position(|f| f.path == p).unwrap();
    assert!(
        pos("src/engine.rs") < pos("tools/report.py"),
        "{:?}",
        map.files
    );
}

#[test]
fn repo_map_fits_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let body: String = (0..10)
            .map(|j| format!("pub fn function_{i}_{j}(x: u32) -> u32 {{ helper_{j}(x) }}\n"))
            .collect();
        write(dir.path(), &format!("src/m{i}.rs"), &body);
    }
    let (index, _) = open(dir.path(), None);
    let counter = EstimateCounter;
    let mut last = 0;
    for budget in [50, 200, 800, 3000, 100_000] {
        let map = index.repo_map(&Default::default(), budget, &counter);
        use locus::tokens::TokenCounter;
        assert!(
            counter.count(&map.text) <= budget,
            "budget {budget}: {} tokens",
            map.tokens
        );
        assert_eq!(map.tokens, counter.count(&map.text));
        let defs: usize = map.files.iter().map(|f| f.definitions.len()).sum();
        assert!(defs >= last, "a larger budget never shows less");
        last = defs;
    }
    assert_eq!(last, 400, "a huge budget shows every definition");
}

#[test]
fn warm_start_reuses_the_cache_and_notices_changes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    project(&root);
    let (_, cold) = open(&root, Some(cache.path()));
    assert_eq!(cold.parsed, 5);
    assert!(cache.path().join("index.bin").exists());

    // Files written just before the save are re-hashed (racy), but not reparsed.
    let (_, warm) = open(&root, Some(cache.path()));
    assert_eq!((warm.parsed, warm.reused), (0, 5), "{warm:?}");

    // A changed file is reparsed, the rest reused; content decides, not just mtime.
    write(
        &root,
        "src/util.rs",
        "pub fn format_speed_kmh(v: u32) -> String { v.to_string() }\n",
    );
    let (index, s) = open(&root, Some(cache.path()));
    assert_eq!((s.parsed, s.reused), (1, 4), "{s:?}");
    assert!(
        index
            .names()
            .get("format_speed_kmh")
            .is_some_and(|id| !index.symbols().definitions(id).is_empty())
    );
    let old = index.names().get("format_speed").unwrap();
    assert!(
        index.symbols().definitions(old).is_empty(),
        "the old definition is gone"
    );

    // A same-size edit with the mtime restored is still caught by the hash (racy window).
    let before = std::fs::metadata(root.join("src/car.rs"))
        .unwrap()
        .modified()
        .unwrap();
    let text = std::fs::read_to_string(root.join("src/car.rs"))
        .unwrap()
        .replace("drive", "steer");
    std::fs::write(root.join("src/car.rs"), text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(root.join("src/car.rs"))
        .unwrap()
        .set_modified(before)
        .unwrap();
    let (index, _) = open(&root, Some(cache.path()));
    assert!(
        index
            .names()
            .get("steer")
            .is_some_and(|id| !index.symbols().definitions(id).is_empty())
    );

    // Removed files leave the index.
    std::fs::remove_file(root.join("tools/report.py")).unwrap();
    let (index, _) = open(&root, Some(cache.path()));
    assert!(index.file_index("tools/report.py").is_none());
}

#[test]
fn corrupt_or_old_cache_is_rebuilt_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    project(dir.path());
    open(dir.path(), Some(cache.path()));
    let file = cache.path().join("index.bin");
    let mut bytes = std::fs::read(&file).unwrap();

    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let (index, s) = open(dir.path(), Some(cache.path()));
    assert!(
        s.cache.as_deref().unwrap_or("").contains("corrupt"),
        "{s:?}"
    );
    assert_eq!(s.parsed, 5);
    assert!(index.names().get("build_engine").is_some());

    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8] = 99; // format version
    std::fs::write(&file, &bytes).unwrap();
    let (_, s) = open(dir.path(), Some(cache.path()));
    assert!(
        s.cache.as_deref().unwrap_or("").contains("another format"),
        "{s:?}"
    );

    std::fs::write(&file, b"LOCUS").unwrap();
    let (_, s) = open(dir.path(), Some(cache.path()));
    assert!(
        s.cache.as_deref().unwrap_or("").contains("corrupt"),
        "{s:?}"
    );

    // Other settings make the cache stale.
    let other = IndexSettings {
        max_line_bytes: 100,
        ..IndexSettings::default()
    };
    let (_, s) = Index::open(
        dir.path(),
        &other,
        Assets::new(None),
        Some(cache.path()),
        &Progress::default(),
    )
    .unwrap();
    assert!(
        s.cache.as_deref().unwrap_or("").contains("other settings"),
        "{s:?}"
    );
}

#[test]
fn incremental_update_after_edits_creates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    project(&root);
    write(&root, ".gitignore", "*.tmp.rs\n");
    let (mut index, _) = open(&root, None);
    std::thread::sleep(Duration::from_millis(20));
    write(
        &root,
        "src/util.rs",
        "pub fn parse_speed(s: &str) -> u32 { s.len() as u32 }\n",
    );
    write(&root, "src/new_mod.rs", "pub fn brand_new() {}\n");
    write(&root, "src/scratch.tmp.rs", "pub fn ignored_fn() {}\n");
    write(&root, "lib/fresh/a.rs", "pub fn in_new_dir() {}\n");
    std::fs::remove_file(root.join("src/car.rs")).unwrap();
    let changed = index
        .update(&[
            root.join("src/util.rs"),
            root.join("src/new_mod.rs"),
            root.join("src/scratch.tmp.rs"),
            root.join("lib"),
            root.join("src/car.rs"),
        ])
        .unwrap();
    assert_eq!(changed, 4);
    let has_def = |n: &str| {
        index
            .names()
            .get(n)
            .is_some_and(|id| !index.symbols().definitions(id).is_empty())
    };
    assert!(has_def("parse_speed") && has_def("brand_new") && has_def("in_new_dir"));
    assert!(!has_def("format_speed") && !has_def("ignored_fn") && !has_def("drive"));
    assert!(index.file_index("src/car.rs").is_none());
}

#[test]
fn watcher_reports_changes_for_update() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    project(&root);
    let (mut index, _) = open(&root, None);
    let watcher = Watcher::start(&root).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    write(&root, "src/engine.rs", "pub fn rev_engine() {}\n");
    let mut seen = Vec::new();
    while let Some(batch) = watcher.next_batch(Duration::from_secs(5)) {
        seen.extend(batch);
        if seen.iter().any(|p| p.ends_with("src/engine.rs")) {
            break;
        }
    }
    assert!(
        seen.iter().any(|p| p.ends_with("src/engine.rs")),
        "{seen:?}"
    );
    index.update(&seen).unwrap();
    assert!(
        index
            .names()
            .get("rev_engine")
            .is_some_and(|id| !index.symbols().definitions(id).is_empty())
    );
}
