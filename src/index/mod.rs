//! The repository index: every file the walk accepts, the tags of those in a
//! known language, a symbol table over them, and a ranking for the repo map.
//! Persisted per repository; a warm start re-stats files and reparses only
//! what changed.

mod around;
mod cache;
mod file;
mod items;
mod lang;
mod lexer;
mod map;
mod names;
mod queries;
mod rank;
mod scan;
mod search;
mod skeleton;
mod symbols;
mod tags;
mod terms;
mod walk;
mod watch;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

pub use cache::CacheError;
pub use file::{Def, FileEntry, FileStatus, Ref};
pub use lang::Lang;
pub use map::{MapDef, MapFile, RepoMap, render_text};
pub use names::{NameId, Names};
pub use queries::Queries;
pub use rank::{Focus, Ranking};
pub use scan::{file_tags, says_generated};
pub use search::Search;
pub use symbols::{DefLoc, RefLoc, SymbolTable};
pub use tags::{DefKind, Definition, RefKind, Reference, TagQuery, TagsError, extract};

pub use terms::{is_stop_word, pieces, terms};
pub use walk::{LOCUS_IGNORE, WalkError};
pub use watch::{WatchError, Watcher};

use crate::assets::Assets;
use crate::config::IndexSettings;
use crate::tokens::TokenCounter;

/// Files whose mtime is this close to the cache's save time are re-hashed:
/// a write in the same tick as the save would otherwise go unnoticed.
const RACY_NS: u64 = 2_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("cannot start index workers: {0}")]
    Threads(String),
}

/// Progress of a build, shared with whoever shows it (files done / total).
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicUsize,
    pub total: AtomicUsize,
}

impl Progress {
    pub fn get(&self) -> (usize, usize) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// What one build or update did.
#[derive(Debug, Default, Clone)]
pub struct BuildStats {
    pub files: usize,
    pub parsed: usize,
    pub reused: usize,
    /// Why the cache was not used, when it was not.
    pub cache: Option<String>,
    pub elapsed: Duration,
    pub walk_errors: Vec<(String, String)>,
}

pub struct Index {
    root: PathBuf,
    settings: IndexSettings,
    queries: Arc<Queries>,
    cache_dir: Option<PathBuf>,
    names: Names,
    files: Vec<FileEntry>,
    by_path: HashMap<String, u32>,
    dirs: BTreeSet<String>,
    symbols: SymbolTable,
    /// The unfocused ranking graph, built on first use after each change.
    graph: std::sync::OnceLock<rank::BaseGraph>,
    /// The lexical search index, built on first use after each change.
    search: std::sync::OnceLock<Search>,
    /// The ranking without focus (the repo map of a request that pins nothing).
    unfocused: std::sync::OnceLock<Ranking>,
    fingerprint: u64,
    threads: usize,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl Index {
    /// Index `root`, loading and refreshing the cache in `cache_dir` when given.
    pub fn open(
        root: &Path,
        settings: &IndexSettings,
        assets: Assets,
        cache_dir: Option<&Path>,
        progress: &Progress,
    ) -> Result<(Index, BuildStats), IndexError> {
        let start = Instant::now();
        let threads = if settings.threads == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            settings.threads
        };
        let queries = Arc::new(Queries::new(assets));
        let fingerprint = {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(env!("CARGO_PKG_VERSION").as_bytes());
            // How tags are read (skeleton.rs, items.rs): a change re-reads every file.
            h.update(b"skeleton bodies 3, generated and large Rust lexed");
            h.update(&queries.fingerprint().to_le_bytes());
            h.update(format!("{settings:?}").as_bytes());
            h.digest()
        };
        let root_str = root.to_string_lossy().into_owned();
        let mut stats = BuildStats::default();
        let cached = match cache_dir.map(|d| cache::load(d, &root_str, fingerprint)) {
            Some(Ok(data)) => Some(data),
            Some(Err(e)) => {
                if !matches!(e, CacheError::Missing) {
                    tracing::warn!("index cache not used: {e}");
                }
                stats.cache = Some(e.to_string());
                None
            }
            None => None,
        };
        let mut index = Index {
            root: root.to_path_buf(),
            settings: settings.clone(),
            queries,
            cache_dir: cache_dir.map(Path::to_path_buf),
            names: Names::default(),
            files: Vec::new(),
            by_path: HashMap::new(),
            dirs: BTreeSet::new(),
            symbols: SymbolTable::default(),
            graph: std::sync::OnceLock::new(),
            search: std::sync::OnceLock::new(),
            unfocused: std::sync::OnceLock::new(),
            fingerprint,
            threads,
        };
        let (old, saved_at) = match cached {
            Some(data) => {
                index.names = data.names;
                let old: HashMap<String, FileEntry> = data
                    .files
                    .into_iter()
                    .map(|f| (f.path.clone(), f))
                    .collect();
                (old, data.saved_at_ns)
            }
            None => (HashMap::new(), 0),
        };
        let walked = walk::walk(root, settings, threads)?;
        stats.walk_errors = walked.errors;
        index.dirs = walked.dirs;
        progress.total.store(walked.files.len(), Ordering::Relaxed);
        progress.done.store(0, Ordering::Relaxed);

        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| IndexError::Threads(e.to_string()))?;
        let queries = &index.queries;
        let settings = &index.settings;
        // Unchanged files take their cached entry as is (moved, not copied);
        // the rest are checked and parsed in parallel.
        let mut old = old;
        let old_count = old.len();
        let mut pending = Vec::new();
        for w in walked.files {
            let racy = w.mtime_ns == 0 || w.mtime_ns + RACY_NS >= saved_at;
            match old.remove(&w.rel) {
                Some(e) if !racy && e.size == w.size && e.mtime_ns == w.mtime_ns => {
                    stats.reused += 1;
                    progress.done.fetch_add(1, Ordering::Relaxed);
                    index.files.push(e);
                }
                prev => pending.push((w, prev)),
            }
        }
        let results: Vec<(walk::Walked, Result<FileEntry, scan::Scanned>)> = pool.install(|| {
            pending
                .into_par_iter()
                .map(|(w, prev)| {
                    let result = reuse_or_scan(root, &w, prev, settings, queries);
                    progress.done.fetch_add(1, Ordering::Relaxed);
                    (w, result)
                })
                .collect()
        });
        for (w, result) in results {
            match result {
                Ok(entry) => {
                    stats.reused += 1;
                    index.files.push(entry);
                }
                Err(scanned) => {
                    stats.parsed += 1;
                    let entry = index.entry_from(w, scanned);
                    index.files.push(entry);
                }
            }
        }
        stats.files = index.files.len();
        index.reindex();
        if stats.parsed > 0 || old_count != index.files.len() {
            index.save();
        }
        stats.elapsed = start.elapsed();
        Ok((index, stats))
    }

    fn entry_from(&mut self, w: walk::Walked, s: scan::Scanned) -> FileEntry {
        let generated = s.generated || scan::vendored(&w.rel);
        let mut e = FileEntry::new(w.rel, w.size, w.mtime_ns, s.hash, s.lang, s.status);
        e.lines = s.lines;
        e.generated = generated;
        e.set_tags(&mut self.names, s.defs, s.refs);
        e
    }

    /// Add a new file at the end (files stay sorted only as of the last full reindex).
    fn append(&mut self, entry: FileEntry) {
        let i = self.files.len() as u32;
        self.symbols.add_file(i, &entry, &self.names);
        self.by_path.insert(entry.path.clone(), i);
        self.files.push(entry);
    }

    /// Rebuild the path lookup and the symbol table after files changed.
    fn reindex(&mut self) {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.by_path = self
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i as u32))
            .collect();
        self.symbols = SymbolTable::build(&self.files, &self.names);
        self.graph = std::sync::OnceLock::new();
        self.search = std::sync::OnceLock::new();
        self.unfocused = std::sync::OnceLock::new();
    }

    /// Write the cache (when this index has a cache dir); failures are logged, not fatal.
    pub fn save(&self) {
        let Some(dir) = &self.cache_dir else { return };
        let data = cache::CacheData {
            root: self.root.to_string_lossy().into_owned(),
            fingerprint: self.fingerprint,
            saved_at_ns: now_ns(),
            names: self.names.clone(),
            files: self.files.clone(),
            dirs: self.dirs.clone(),
        };
        if let Err(e) = cache::save(dir, &data) {
            tracing::warn!("cannot save index cache in {}: {e}", dir.display());
        }
    }

    /// Bring the index up to date for paths that changed on disk (created,
    /// modified or removed). Returns how many files were reparsed or dropped.
    /// A change to an ignore file rescans the whole tree. The cache is not
    /// written here (that would cost more than the update): call `save` when
    /// the work settles or before exiting.
    pub fn update(&mut self, paths: &[PathBuf]) -> Result<usize, IndexError> {
        let ignore_changed = paths.iter().any(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            matches!(name, ".gitignore" | ".ignore" | LOCUS_IGNORE | "exclude")
        });
        if ignore_changed {
            let (fresh, stats) = Index::open(
                &self.root,
                &self.settings,
                self.queries_assets(),
                self.cache_dir.as_deref(),
                &Progress::default(),
            )?;
            *self = fresh;
            return Ok(stats.parsed);
        }
        let mut changed = 0;
        let mut structural = false;
        for p in paths {
            let Some(rel) = walk::relative(&self.root, p) else {
                continue;
            };
            if rel.is_empty() {
                continue;
            }
            let meta = std::fs::symlink_metadata(p).ok();
            let existing = self.by_path.get(&rel).copied();
            match (meta, existing) {
                (Some(m), Some(i)) if m.is_file() => {
                    let e = &self.files[i as usize];
                    if e.size == m.len() && e.mtime_ns == walk::mtime_ns(&m) {
                        continue;
                    }
                    let w = walk::Walked {
                        rel,
                        size: m.len(),
                        mtime_ns: walk::mtime_ns(&m),
                    };
                    let s = scan::scan(p, w.size, &self.settings, &self.queries);
                    let entry = self.entry_from(w, s);
                    self.symbols.remove_file(i, &self.files[i as usize]);
                    self.symbols.add_file(i, &entry, &self.names);
                    self.files[i as usize] = entry;
                    changed += 1;
                }
                (Some(m), None) if m.is_file() => {
                    if !self.accepts_new(p, &rel)? {
                        continue;
                    }
                    let w = walk::Walked {
                        rel,
                        size: m.len(),
                        mtime_ns: walk::mtime_ns(&m),
                    };
                    let s = scan::scan(p, w.size, &self.settings, &self.queries);
                    let e = self.entry_from(w, s);
                    self.append(e);
                    changed += 1;
                }
                (Some(m), None) if m.is_dir() => {
                    // A new directory: walk it like a fresh tree (its files arrive as events too,
                    // but not always on every platform).
                    if !self.accepts_new(p, &rel)? {
                        continue;
                    }
                    let found = walk::walk_from(&self.root, p, &self.settings, self.threads, None)?;
                    self.dirs.extend(found.dirs);
                    for w in found.files {
                        if self.by_path.contains_key(&w.rel) {
                            continue;
                        }
                        let s = scan::scan(
                            &self.root.join(&w.rel),
                            w.size,
                            &self.settings,
                            &self.queries,
                        );
                        let e = self.entry_from(w, s);
                        self.append(e);
                        changed += 1;
                    }
                }
                (None, Some(_)) | (Some(_), Some(_)) => {
                    self.files.retain(|f| f.path != rel);
                    changed += 1;
                    structural = true;
                }
                (None, None) => {
                    let prefix = format!("{rel}/");
                    let before = self.files.len();
                    self.files.retain(|f| !f.path.starts_with(&prefix));
                    if self.files.len() != before {
                        changed += before - self.files.len();
                        structural = true;
                        self.dirs.retain(|d| d != &rel && !d.starts_with(&prefix));
                    }
                }
                (Some(_), None) => {}
            }
        }
        if structural {
            self.reindex();
        } else if changed > 0 {
            self.graph = std::sync::OnceLock::new();
            self.search = std::sync::OnceLock::new();
            self.unfocused = std::sync::OnceLock::new();
        }
        Ok(changed)
    }

    /// Whether a path not yet indexed belongs in the index: its directory was
    /// walked, and a walk of that directory (one level) accepts it.
    fn accepts_new(&mut self, abs: &Path, rel: &str) -> Result<bool, IndexError> {
        let parent_rel = rel.rsplit_once('/').map_or("", |(d, _)| d);
        if !self.dirs.contains(parent_rel) {
            return Ok(false);
        }
        let parent = abs.parent().unwrap_or(&self.root);
        let listing = walk::walk_from(&self.root, parent, &self.settings, 1, Some(1))?;
        let accepted = listing.files.iter().any(|w| w.rel == rel) || listing.dirs.contains(rel);
        if accepted && abs.is_dir() {
            self.dirs.insert(rel.to_string());
        }
        Ok(accepted)
    }

    fn queries_assets(&self) -> Assets {
        self.queries.assets().clone()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    pub fn symbols(&self) -> &SymbolTable {
        &self.symbols
    }

    pub fn file_index(&self, path: &str) -> Option<u32> {
        self.by_path.get(path).copied()
    }

    /// Number of definitions across all files.
    pub fn definition_count(&self) -> usize {
        self.files.iter().map(|f| f.defs.len()).sum()
    }

    pub fn reference_count(&self) -> usize {
        self.files.iter().map(|f| f.refs.len()).sum()
    }

    /// Files per language (parsed files only), by language name.
    pub fn languages(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for f in &self.files {
            if let (Some(l), FileStatus::Parsed) = (f.lang, &f.status) {
                *out.entry(l.name()).or_default() += 1;
            }
        }
        out
    }

    /// Resolve what a request mentions: each word that names an indexed file
    /// (by path from the root, from `cwd`, or by unique file name) is a file;
    /// every other word that names a defined symbol is a name.
    pub fn focus(&self, words: &[String], cwd: &Path) -> Focus {
        let mut focus = Focus::default();
        for word in words {
            let w = word.trim_matches(|c: char| {
                matches!(
                    c,
                    '`' | '\'' | '"' | ',' | '.' | '(' | ')' | '@' | ':' | '?'
                )
            });
            if w.is_empty() {
                continue;
            }
            if let Some(f) = self.resolve_file(w, cwd) {
                if !focus.files.contains(&f) {
                    focus.files.push(f);
                }
                continue;
            }
            if let Some(id) = self.names.get(w)
                && !self.symbols.definitions(id).is_empty()
                && !focus.names.contains(&id)
            {
                focus.names.push(id);
            }
        }
        focus
    }

    /// Split free text into candidate words for `focus`.
    pub fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-')))
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    }

    /// The file a word names: a path from the root, from `cwd`, or a unique file name / path suffix.
    pub fn resolve_file(&self, word: &str, cwd: &Path) -> Option<u32> {
        let word = word.trim_start_matches("./");
        if let Some(i) = self.by_path.get(word) {
            return Some(*i);
        }
        if let Some(rel) = walk::relative(&self.root, &cwd.join(word))
            && let Some(i) = self.by_path.get(&rel)
        {
            return Some(*i);
        }
        if !word.contains('.') {
            return None;
        }
        let suffix = format!("/{word}");
        let mut hits = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.path.ends_with(&suffix));
        match (hits.next(), hits.next()) {
            (Some((i, _)), None) => Some(i as u32),
            _ => None,
        }
    }

    /// The lexical search index over the definitions.
    pub fn search(&self) -> &Search {
        self.search
            .get_or_init(|| Search::build(&self.files, &self.names))
    }

    /// Rank files and definitions for `focus`.
    pub fn rank(&self, focus: &Focus) -> Ranking {
        self.rank_within(focus, rank::ITERATIONS, rank::TOP_FILES)
    }

    /// Rank with at most `iterations` PageRank steps (0: by forward push from
    /// the focus, touching its neighbourhood only), definitions ranked in
    /// the `top_files` best files (and the focused ones): a query that fuses
    /// the ranking with others needs its order near the top, not its last digits.
    pub fn rank_within(&self, focus: &Focus, iterations: usize, top_files: usize) -> Ranking {
        rank::rank(
            &self.files,
            &self.names,
            &self.symbols,
            self.graph(),
            focus,
            iterations,
            top_files,
        )
    }

    fn graph(&self) -> &rank::BaseGraph {
        self.graph
            .get_or_init(|| rank::BaseGraph::build(self.files.len(), &self.names, &self.symbols))
    }

    /// Build what the first question needs and later ones reuse (the
    /// ranking graph, the lexical index, the unfocused map ranking), on the
    /// calling thread and the pool: a front end calls this while the user
    /// types, so the first answer does not wait for it.
    pub fn prepare(&self) {
        rayon::join(
            || {
                self.graph();
                self.unfocused.get_or_init(|| self.rank(&Focus::default()));
            },
            || {
                self.search();
            },
        );
    }

    /// The repo map for `focus` within `budget` tokens.
    pub fn repo_map(&self, focus: &Focus, budget: usize, counter: &dyn TokenCounter) -> RepoMap {
        self.repo_map_hiding(focus, &[], budget, counter)
    }

    /// The repo map without the `hidden` files (neither named nor their
    /// definitions shown): what stays on the machine is absent from it.
    pub fn repo_map_hiding(
        &self,
        focus: &Focus,
        hidden: &[u32],
        budget: usize,
        counter: &dyn TokenCounter,
    ) -> RepoMap {
        if focus.files.is_empty() && focus.names.is_empty() {
            let ranking = self.unfocused.get_or_init(|| self.rank(focus));
            return map::build(self, ranking, &focus.files, hidden, budget, counter);
        }
        let ranking = self.rank(focus);
        map::build(self, &ranking, &focus.files, hidden, budget, counter)
    }
}

/// Reuse a cached entry whose size matches and whose content hash is the
/// same (mtime moved, or was too close to the cache's save time to trust);
/// otherwise scan the file.
fn reuse_or_scan(
    root: &Path,
    w: &walk::Walked,
    old: Option<FileEntry>,
    settings: &IndexSettings,
    queries: &Queries,
) -> Result<FileEntry, scan::Scanned> {
    let abs = root.join(&w.rel);
    if let Some(mut old) = old
        && old.size == w.size
        && old.hash != 0
        && w.size <= settings.max_file_bytes
        && let Ok(bytes) = std::fs::read(&abs)
    {
        if scan::content_hash(&bytes) == old.hash {
            old.mtime_ns = w.mtime_ns;
            return Ok(old);
        }
        return Err(scan::scan_bytes(&abs, &bytes, settings, queries));
    }
    Err(scan::scan(&abs, w.size, settings, queries))
}
