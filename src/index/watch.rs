//! Watching the tree while locus runs: file events are gathered for a short
//! quiet period and handed over as one batch of paths for `Index::update`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {path}: {message}")]
    Start { path: PathBuf, message: String },
}

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
    batches: mpsc::Receiver<Vec<PathBuf>>,
}

/// How long events must pause before a batch is handed over.
const QUIET: Duration = Duration::from_millis(100);

impl Watcher {
    /// Watch `root` recursively. Events inside `.git/` are dropped.
    pub fn start(root: &Path) -> Result<Watcher, WatchError> {
        let (raw_tx, raw_rx) = mpsc::channel::<PathBuf>();
        let git_dir = root.join(".git");
        let mut inner = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                for p in ev.paths {
                    if !p.starts_with(&git_dir) {
                        let _ = raw_tx.send(p);
                    }
                }
            }
        })
        .map_err(|e| WatchError::Start {
            path: root.into(),
            message: e.to_string(),
        })?;
        inner
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| WatchError::Start {
                path: root.into(),
                message: e.to_string(),
            })?;
        let (tx, batches) = mpsc::channel();
        std::thread::Builder::new()
            .name("locus-watch".into())
            .spawn(move || {
                while let Ok(first) = raw_rx.recv() {
                    let mut batch = vec![first];
                    while let Ok(p) = raw_rx.recv_timeout(QUIET) {
                        batch.push(p);
                    }
                    batch.sort();
                    batch.dedup();
                    if tx.send(batch).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| WatchError::Start {
                path: root.into(),
                message: e.to_string(),
            })?;
        Ok(Watcher {
            _inner: inner,
            batches,
        })
    }

    /// The next batch of changed paths, waiting at most `timeout`.
    pub fn next_batch(&self, timeout: Duration) -> Option<Vec<PathBuf>> {
        self.batches.recv_timeout(timeout).ok()
    }

    /// A batch that is ready now, without waiting.
    pub fn try_next(&self) -> Option<Vec<PathBuf>> {
        self.batches.try_recv().ok()
    }
}
