//! "Tell me when files under the roots change": a debounced filesystem watcher (notify +
//! notify-debouncer-full, which coalesces the burst of events an editor's save produces) that reports the
//! changed paths in batches. The engine re-indexes the roots that contain them.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};

use crate::error::{Error, Result};

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    rx: Receiver<Vec<PathBuf>>,
}

impl Watcher {
    /// Watches `roots` recursively; changes arrive in batches after `debounce` of quiet.
    pub fn new(roots: &[PathBuf], debounce: Duration) -> Result<Watcher> {
        let (tx, rx) = mpsc::channel();
        let mut debouncer =
            new_debouncer(
                debounce,
                None,
                move |result: DebounceEventResult| match result {
                    Ok(events) => {
                        let mut paths: Vec<PathBuf> =
                            events.into_iter().flat_map(|e| e.event.paths).collect();
                        paths.sort();
                        paths.dedup();
                        if !paths.is_empty() {
                            let _ = tx.send(paths);
                        }
                    }
                    Err(errors) => {
                        for e in errors {
                            tracing::warn!(error = %e, "file watcher error");
                        }
                    }
                },
            )
            .map_err(|e| Error::Invalid(format!("starting the file watcher: {e}")))?;
        for root in roots {
            let mode = if root.is_dir() {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            if let Err(e) = debouncer.watch(root, mode) {
                tracing::warn!(root = %root.display(), error = %e, "cannot watch folder");
            }
        }
        Ok(Watcher {
            _debouncer: debouncer,
            rx,
        })
    }

    /// Waits up to `timeout` for the next batch of changed paths.
    pub fn next_batch(&self, timeout: Duration) -> Option<Vec<PathBuf>> {
        self.rx.recv_timeout(timeout).ok()
    }
}

/// Whether `path` is inside one of `roots`.
pub fn under_roots(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}
