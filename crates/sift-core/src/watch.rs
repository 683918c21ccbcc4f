//! "Tell me when files under the roots change": a debounced filesystem watcher (notify +
//! notify-debouncer-full, which coalesces the burst of events an editor's save produces) that reports the
//! changed paths in batches, so the indexer re-indexes only those paths.
//!
//! Only events that can change what is indexed are reported: creations, writes, size/mtime/permission
//! changes, removals and renames (both names). Reads — the open/access/close-without-write events that
//! notify reports on Linux, including the ones Sift's own indexing causes — are dropped, so an idle index
//! stays idle.
//!
//! When the watcher itself loses events (the kernel's event queue overflowed: notify's `Flag::Rescan`), it
//! reports [`Change::Rescan`]: the caller must reconcile everything under the roots. When the operating
//! system's limit on watches is reached (inotify's `max_user_watches`, ENOSPC), some folders are not watched:
//! [`Watcher::problem`] then holds one sentence telling the user how to raise the limit (details are logged).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::event::{EventKind, MetadataKind, ModifyKind};
use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};

use crate::error::{Error, Result};

/// What the watcher saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These paths were created, written, removed or renamed (sorted, no duplicates). A path may be a folder
    /// (created, moved or removed with everything in it).
    Paths(Vec<PathBuf>),
    /// Events were lost (the event queue overflowed): everything under the roots must be re-checked.
    Rescan,
}

/// The one sentence shown to the user when the OS limit on watched folders is reached.
pub const WATCH_LIMIT_MESSAGE: &str =
    "Sift cannot watch all your folders for changes because the system \
limit on watched folders is reached: run `sudo sysctl fs.inotify.max_user_watches=524288` (and add \
`fs.inotify.max_user_watches=524288` to /etc/sysctl.conf to keep it), then restart Sift.";

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    rx: Receiver<Change>,
    roots: Vec<PathBuf>,
    problem: Arc<Mutex<Option<String>>>,
}

/// Whether an event of this kind can change what is indexed. Reads (open, access, close without writing)
/// and access-time or ownership changes cannot.
pub fn is_content_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Modify(ModifyKind::Metadata(m)) => matches!(
            m,
            MetadataKind::Any | MetadataKind::WriteTime | MetadataKind::Permissions
        ),
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

/// Turns one debounced batch of events into a [`Change`], or `None` when nothing in it matters.
pub fn classify<'a>(events: impl IntoIterator<Item = &'a notify::Event>) -> Option<Change> {
    let mut paths = BTreeSet::new();
    for event in events {
        if event.need_rescan() {
            return Some(Change::Rescan);
        }
        if is_content_change(&event.kind) {
            paths.extend(event.paths.iter().cloned());
        }
    }
    (!paths.is_empty()).then(|| Change::Paths(paths.into_iter().collect()))
}

/// Whether `err` means the OS limit on watches was reached (then the user must raise it).
pub fn is_watch_limit(err: &notify::Error) -> bool {
    match &err.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => io.raw_os_error() == Some(ENOSPC),
        _ => false,
    }
}

/// "No space left on device", which inotify_add_watch returns when `max_user_watches` is reached.
const ENOSPC: i32 = 28;

fn note_error(problem: &Mutex<Option<String>>, err: &notify::Error) {
    if is_watch_limit(err) {
        tracing::error!(error = %err, paths = ?err.paths, "the OS limit on watched folders is reached");
        let mut p = problem.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none() {
            *p = Some(WATCH_LIMIT_MESSAGE.to_string());
        }
    } else {
        tracing::warn!(error = %err, paths = ?err.paths, "file watcher error");
    }
}

impl Watcher {
    /// Watches `roots` recursively; changes arrive in batches after `debounce` of quiet.
    pub fn new(roots: &[PathBuf], debounce: Duration) -> Result<Watcher> {
        let (tx, rx) = mpsc::channel();
        let problem = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&problem);
        let mut debouncer =
            new_debouncer(
                debounce,
                None,
                move |result: DebounceEventResult| match result {
                    Ok(events) => {
                        if let Some(change) = classify(events.iter().map(|e| &e.event)) {
                            let _ = tx.send(change);
                        }
                    }
                    Err(errors) => {
                        for e in &errors {
                            note_error(&sink, e);
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
                if is_watch_limit(&e) {
                    note_error(&problem, &e);
                } else {
                    tracing::warn!(root = %root.display(), error = %e, "cannot watch folder");
                }
            }
        }
        Ok(Watcher {
            _debouncer: debouncer,
            rx,
            roots: roots.to_vec(),
            problem,
        })
    }

    /// Waits up to `timeout` for the next change, then takes every change already queued with it (a rescan
    /// absorbs path changes).
    pub fn next_change(&self, timeout: Duration) -> Option<Change> {
        let first = match self.rx.recv_timeout(timeout) {
            Ok(c) => c,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        };
        let mut paths = BTreeSet::new();
        let mut rescan = false;
        for change in std::iter::once(first).chain(self.rx.try_iter()) {
            match change {
                Change::Rescan => rescan = true,
                Change::Paths(p) => paths.extend(p),
            }
        }
        Some(if rescan {
            Change::Rescan
        } else {
            Change::Paths(paths.into_iter().collect())
        })
    }

    /// Waits up to `timeout` for changed paths. A rescan is reported as the roots themselves (re-index them
    /// all).
    pub fn next_batch(&self, timeout: Duration) -> Option<Vec<PathBuf>> {
        let deadline = Instant::now() + timeout;
        match self.next_change(deadline.saturating_duration_since(Instant::now()))? {
            Change::Paths(p) => Some(p),
            Change::Rescan => Some(self.roots.clone()),
        }
    }

    /// A sentence for the user when some folders cannot be watched (the OS watch limit), else `None`.
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Whether `path` is inside one of `roots`.
pub fn under_roots(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{
        AccessKind, AccessMode, CreateKind, DataChange, Flag, RemoveKind, RenameMode,
    };
    use notify::Event;

    fn ev(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn reads_are_not_changes() {
        let reads = [
            ev(EventKind::Access(AccessKind::Open(AccessMode::Any)), "/r/a"),
            ev(EventKind::Access(AccessKind::Read), "/r/a"),
            ev(
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                "/r/a",
            ),
            ev(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                "/r/a",
            ),
            ev(
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
                "/r/a",
            ),
            ev(
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Ownership)),
                "/r/a",
            ),
            ev(EventKind::Other, "/r/a"),
        ];
        assert_eq!(classify(&reads), None);
    }

    #[test]
    fn writes_removes_and_renames_are_changes() {
        let events = [
            ev(EventKind::Create(CreateKind::File), "/r/new"),
            ev(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/r/a"),
            ev(
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
                "/r/touched",
            ),
            ev(EventKind::Remove(RemoveKind::File), "/r/gone"),
            Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Both)))
                .add_path(PathBuf::from("/r/old"))
                .add_path(PathBuf::from("/r/renamed")),
            ev(EventKind::Access(AccessKind::Open(AccessMode::Any)), "/r/a"),
            ev(EventKind::Access(AccessKind::Read), "/r/only-read"),
        ];
        let expected: Vec<PathBuf> = [
            "/r/a",
            "/r/gone",
            "/r/new",
            "/r/old",
            "/r/renamed",
            "/r/touched",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(classify(&events), Some(Change::Paths(expected)));
    }

    #[test]
    fn an_overflow_asks_for_a_rescan() {
        let events = [
            ev(EventKind::Create(CreateKind::File), "/r/new"),
            Event::new(EventKind::Other).set_flag(Flag::Rescan),
        ];
        assert_eq!(classify(&events), Some(Change::Rescan));
    }

    #[test]
    fn the_watch_limit_is_recognised() {
        assert!(is_watch_limit(&notify::Error::new(
            notify::ErrorKind::MaxFilesWatch
        )));
        assert!(is_watch_limit(&notify::Error::io(
            std::io::Error::from_raw_os_error(ENOSPC)
        )));
        assert!(!is_watch_limit(&notify::Error::path_not_found()));
        let problem = Mutex::new(None);
        note_error(&problem, &notify::Error::path_not_found());
        assert_eq!(*problem.lock().unwrap(), None);
        note_error(
            &problem,
            &notify::Error::new(notify::ErrorKind::MaxFilesWatch),
        );
        let msg = problem.lock().unwrap().clone().unwrap();
        assert!(
            msg.contains("sysctl fs.inotify.max_user_watches=524288"),
            "{msg}"
        );
        assert_eq!(msg.matches(". ").count(), 0, "one sentence: {msg}");
    }
}
