//! "When does an indexing pass run, and over what": the worker thread's queue and loop.
//!
//! Work is a [`Work`]: either a full reconcile of every root (`Engine::index`: at start, after a settings
//! change, a new folder, or a watcher overflow) or the set of changed paths the watcher reported
//! (`Engine::index_containing`). Work queued while a pass runs is merged into one pending [`Work`], so a
//! burst of 10,000 events becomes one or a few passes over the union of the paths; watcher work additionally
//! waits for a short quiet spell ([`Timing::settle`], at most [`Timing::settle_max`]) before it starts.
//!
//! - **Pause** sets the cancel flag: the engine stops after its current batch with `Error::Cancelled` and the
//!   pass's work is put back, so resuming continues it (unchanged files are skipped). The flag is cleared only
//!   when no pass runs (a new pass clears it as it starts): a resume right after a pause never un-cancels a
//!   pass that has already begun to stop, which could otherwise end as "done" with part of its work dropped.
//! - **Hold** ([`Scheduler::hold`]): operations that must not overlap a pass (switching the engine, removing
//!   or merging roots) cancel it, wait for it to stop, make their change and release.
//! - **Failure**: a pass that returns an error is retried with the same work after an exponential back-off
//!   (1 s doubling to 60 s; a user action such as adding a folder retries at once), never in a tight loop.
//! - **Panic**: a pass runs under `catch_unwind`. A panic is logged and reported as [`Scheduler::last_error`],
//!   the running state is reset (so holds, and with them remove-folder and settings changes, still return)
//!   and its work is dropped rather than retried into the same panic; the next change or user action runs a
//!   pass as usual.
//!
//! **Test hook**: when [`Scheduler::new`] gets a `fault_panic_path` (the app reads it from the environment
//! variable `SIFT_FAULT_PANIC_PATH`), a pass whose changed paths include one containing that string panics
//! inside the pass. Used by `tests/ipc.rs` to check that a panicking worker is survived; never set it
//! otherwise.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::dto::{AppError, ErrorKind};
use crate::errors;

/// Above this many changed paths a pass re-checks the roots instead (bounded memory).
const MAX_PATHS: usize = 200_000;

/// What a pass must bring up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Work {
    /// Reconcile every root with the disk.
    pub full: bool,
    /// Changed paths (files or folders), when not `full`.
    pub paths: BTreeSet<PathBuf>,
}

impl Work {
    pub fn is_empty(&self) -> bool {
        !self.full && self.paths.is_empty()
    }

    /// Adds `other` to this work (a full reconcile absorbs paths).
    pub fn merge(&mut self, other: Work) {
        self.full |= other.full;
        if self.full {
            self.paths.clear();
        } else {
            self.paths.extend(other.paths);
            if self.paths.len() > MAX_PATHS {
                self.full = true;
                self.paths.clear();
            }
        }
    }
}

/// Delays of the loop (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// First retry delay after a failed pass; doubles on each failure in a row.
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Watcher work starts once no new path arrived for this long...
    pub settle: Duration,
    /// ...or this long after the first one, whichever is first.
    pub settle_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            settle: Duration::from_millis(300),
            settle_max: Duration::from_secs(3),
        }
    }
}

/// How a pass ended, for the caller's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassEnd {
    Done,
    /// Cancelled by pause or a hold; the work is pending again.
    Cancelled,
    /// Returned an error; retried after the back-off.
    Failed,
    /// Panicked; reported, work dropped.
    Panicked,
}

/// The scheduler's state as the status line shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub running: bool,
    pub pending: bool,
    pub paused: bool,
    /// Waiting out a back-off after a failure.
    pub retrying: bool,
}

impl State {
    /// Whether indexing is in progress or about to start.
    pub fn indexing(&self) -> bool {
        self.running || (self.pending && !self.paused && !self.retrying)
    }
}

#[derive(Default)]
struct Ctl {
    pending: Work,
    /// When watcher work was first / last added to `pending` (for settling).
    first_queued: Option<Instant>,
    last_queued: Option<Instant>,
    /// Pending work was asked for by the user: start without settling.
    urgent: bool,
    running: bool,
    paused: bool,
    /// Number of operations holding the worker off.
    hold: usize,
    shutdown: bool,
    /// After a failure: not before this instant.
    retry_at: Option<Instant>,
    backoff: Duration,
}

/// See the module docs.
pub struct Scheduler {
    ctl: Mutex<Ctl>,
    cv: Condvar,
    cancel: AtomicBool,
    passes: AtomicU64,
    last_error: Mutex<Option<AppError>>,
    timing: Timing,
    fault_panic_path: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps the worker from running while alive; see [`Scheduler::hold`].
pub struct Hold<'a>(&'a Scheduler);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let mut ctl = lock(&self.0.ctl);
        ctl.hold = ctl.hold.saturating_sub(1);
        if ctl.hold == 0 && !ctl.paused && !ctl.shutdown {
            self.0.cancel.store(false, Ordering::SeqCst);
        }
        self.0.cv.notify_all();
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Scheduler {
    pub fn new(timing: Timing, fault_panic_path: Option<String>) -> Scheduler {
        Scheduler {
            ctl: Mutex::new(Ctl {
                backoff: timing.backoff_min,
                ..Ctl::default()
            }),
            cv: Condvar::new(),
            cancel: AtomicBool::new(false),
            passes: AtomicU64::new(0),
            last_error: Mutex::new(None),
            timing,
            fault_panic_path: fault_panic_path.filter(|s| !s.is_empty()),
        }
    }

    /// The flag the engine checks between batches.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// Queues a full reconcile, asked for by the user or the app: runs as soon as possible, even during a
    /// back-off.
    pub fn queue_full(&self) {
        let mut ctl = lock(&self.ctl);
        ctl.pending.merge(Work {
            full: true,
            paths: BTreeSet::new(),
        });
        ctl.urgent = true;
        ctl.retry_at = None;
        self.cv.notify_all();
    }

    /// Queues changed paths reported by the watcher (merged with what is pending; settles first).
    pub fn queue_paths(&self, paths: impl IntoIterator<Item = PathBuf>) {
        let work = Work {
            full: false,
            paths: paths.into_iter().collect(),
        };
        if work.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut ctl = lock(&self.ctl);
        ctl.pending.merge(work);
        ctl.first_queued.get_or_insert(now);
        ctl.last_queued = Some(now);
        self.cv.notify_all();
    }

    /// Cancels a running pass and keeps the worker idle until the returned guard drops.
    pub fn hold(&self) -> Hold<'_> {
        let mut ctl = lock(&self.ctl);
        ctl.hold += 1;
        self.cancel.store(true, Ordering::SeqCst);
        while ctl.running {
            ctl = self.cv.wait(ctl).unwrap_or_else(|e| e.into_inner());
        }
        Hold(self)
    }

    pub fn pause(&self) {
        let mut ctl = lock(&self.ctl);
        ctl.paused = true;
        self.cancel.store(true, Ordering::SeqCst);
        self.cv.notify_all();
    }

    pub fn resume(&self) {
        let mut ctl = lock(&self.ctl);
        ctl.paused = false;
        ctl.urgent = true;
        // A pass still running was told to stop: it must see that through (clearing the flag under it could
        // let it return as if finished with part of its work done, and drop the rest). It ends as cancelled,
        // its work is pending again, and `next_work` clears the flag as the next pass starts.
        if ctl.hold == 0 && !ctl.shutdown && !ctl.running {
            self.cancel.store(false, Ordering::SeqCst);
        }
        self.cv.notify_all();
    }

    pub fn is_shut_down(&self) -> bool {
        lock(&self.ctl).shutdown
    }

    pub fn is_paused(&self) -> bool {
        lock(&self.ctl).paused
    }

    pub fn state(&self) -> State {
        let ctl = lock(&self.ctl);
        State {
            running: ctl.running,
            pending: !ctl.pending.is_empty(),
            paused: ctl.paused,
            retrying: ctl.retry_at.is_some(),
        }
    }

    /// Passes started since the app started (tests count them: an idle app runs none).
    pub fn passes(&self) -> u64 {
        self.passes.load(Ordering::SeqCst)
    }

    /// Why the last pass failed or panicked; `None` once a pass succeeds.
    pub fn last_error(&self) -> Option<AppError> {
        lock(&self.last_error).clone()
    }

    /// Stops the worker: cancels a running pass and waits up to `timeout` for it to stop.
    pub fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut ctl = lock(&self.ctl);
        ctl.shutdown = true;
        self.cancel.store(true, Ordering::SeqCst);
        self.cv.notify_all();
        while ctl.running {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            ctl = self
                .cv
                .wait_timeout(ctl, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for work that may start now and takes it; `None` on shutdown.
    fn next_work(&self) -> Option<Work> {
        let mut ctl = lock(&self.ctl);
        loop {
            if ctl.shutdown {
                return None;
            }
            if ctl.pending.is_empty() || ctl.paused || ctl.hold > 0 {
                ctl = self.cv.wait(ctl).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let now = Instant::now();
            let mut start_at = ctl.retry_at.unwrap_or(now);
            if !ctl.pending.full && !ctl.urgent {
                if let (Some(first), Some(last)) = (ctl.first_queued, ctl.last_queued) {
                    let settled = (last + self.timing.settle).min(first + self.timing.settle_max);
                    start_at = start_at.max(settled);
                }
            }
            if start_at > now {
                ctl = self
                    .cv
                    .wait_timeout(ctl, start_at - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                continue;
            }
            ctl.running = true;
            // Not paused, held or shutting down (checked above): the new pass starts uncancelled.
            self.cancel.store(false, Ordering::SeqCst);
            ctl.urgent = false;
            ctl.first_queued = None;
            ctl.last_queued = None;
            return Some(std::mem::take(&mut ctl.pending));
        }
    }

    /// The worker loop: runs `pass` over pending work until shutdown, then returns. `ended` is told how each
    /// pass ended (after the running state is reset).
    pub fn run(
        &self,
        mut pass: impl FnMut(&Work) -> sift_core::Result<()>,
        mut ended: impl FnMut(PassEnd),
    ) {
        while let Some(work) = self.next_work() {
            self.passes.fetch_add(1, Ordering::SeqCst);
            let result = catch_unwind(AssertUnwindSafe(|| {
                self.fault_hook(&work);
                pass(&work)
            }));
            let end = {
                let mut ctl = lock(&self.ctl);
                ctl.running = false;
                let end = match result {
                    Ok(Ok(())) => {
                        ctl.retry_at = None;
                        ctl.backoff = self.timing.backoff_min;
                        *lock(&self.last_error) = None;
                        PassEnd::Done
                    }
                    Ok(Err(sift_core::Error::Cancelled)) => {
                        tracing::info!("indexing paused");
                        ctl.pending.merge(work);
                        PassEnd::Cancelled
                    }
                    Ok(Err(e)) => {
                        let delay = ctl.backoff;
                        tracing::error!(error = %e, retry_in_secs = delay.as_secs_f64(), "indexing failed");
                        *lock(&self.last_error) = Some(errors::from_core(&e));
                        ctl.pending.merge(work);
                        ctl.retry_at = Some(Instant::now() + delay);
                        ctl.backoff = (delay * 2).min(self.timing.backoff_max);
                        PassEnd::Failed
                    }
                    Err(payload) => {
                        let msg = panic_message(payload.as_ref());
                        tracing::error!(panic = %msg, work = ?work, "indexing pass panicked; its work is dropped");
                        *lock(&self.last_error) = Some(AppError::new(
                            ErrorKind::Other,
                            "Indexing stopped on an internal error; add the folder again or restart Sift to retry.",
                            format!("indexing pass panicked: {msg}"),
                        ));
                        PassEnd::Panicked
                    }
                };
                self.cv.notify_all();
                end
            };
            ended(end);
        }
    }

    fn fault_hook(&self, work: &Work) {
        if let Some(needle) = &self.fault_panic_path {
            if let Some(p) = work
                .paths
                .iter()
                .find(|p| p.to_string_lossy().contains(needle.as_str()))
            {
                panic!("SIFT_FAULT_PANIC_PATH test hook: {}", p.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn fast() -> Timing {
        Timing {
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_millis(400),
            settle: Duration::from_millis(100),
            settle_max: Duration::from_millis(400),
        }
    }

    fn spawn(
        s: &Arc<Scheduler>,
        pass: impl FnMut(&Work) -> sift_core::Result<()> + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        let s = Arc::clone(s);
        std::thread::spawn(move || s.run(pass, |_| {}))
    }

    #[test]
    fn a_failing_pass_backs_off() {
        let s = Arc::new(Scheduler::new(fast(), None));
        let calls = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&calls);
        let worker = spawn(&s, move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            Err(sift_core::Error::Invalid("ONNX Runtime is missing".into()))
        });
        s.queue_full();
        std::thread::sleep(Duration::from_millis(1200));
        // Retries at 0, 50, 150, 350, 750 ms (then every 400 ms): about 6, never thousands.
        let n = calls.load(Ordering::SeqCst);
        assert!((3..=8).contains(&n), "{n} passes in 1.2 s");
        assert!(s.last_error().unwrap().message.contains("ONNX Runtime"));
        assert!(
            !s.state().indexing(),
            "waiting out a back-off is not indexing"
        );
        s.shutdown(Duration::from_secs(1));
        worker.join().unwrap();
    }

    #[test]
    fn a_panicking_pass_is_survived() {
        let s = Arc::new(Scheduler::new(fast(), Some("boom".into())));
        let done = Arc::new(Mutex::new(Vec::new()));
        let d = Arc::clone(&done);
        let worker = spawn(&s, move |w| {
            lock(&d).push(w.clone());
            Ok(())
        });
        s.queue_paths([PathBuf::from("/r/boom.txt")]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while s.last_error().is_none() {
            assert!(Instant::now() < deadline, "the panic was not reported");
            std::thread::sleep(Duration::from_millis(10));
        }
        let e = s.last_error().unwrap();
        assert!(e.message.contains("internal error") && e.details.contains("panicked"));
        // The worker is not stuck "running": a hold returns, and later work runs.
        drop(s.hold());
        s.queue_paths([PathBuf::from("/r/fine.txt")]);
        while lock(&done).is_empty() {
            assert!(Instant::now() < deadline, "no pass after the panic");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            lock(&done)[0].paths,
            BTreeSet::from([PathBuf::from("/r/fine.txt")])
        );
        assert_eq!(s.passes(), 2);
        assert_eq!(s.last_error(), None);
        s.shutdown(Duration::from_secs(1));
        worker.join().unwrap();
    }

    #[test]
    fn bursts_are_coalesced_into_few_passes() {
        let s = Arc::new(Scheduler::new(fast(), None));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let d = Arc::clone(&seen);
        let worker = spawn(&s, move |w| {
            lock(&d).push(w.paths.len());
            std::thread::sleep(Duration::from_millis(50));
            Ok(())
        });
        for i in 0..10_000 {
            s.queue_paths([PathBuf::from(format!("/r/f{i}"))]);
            if i % 1000 == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock(&seen).iter().sum::<usize>() < 10_000 {
            assert!(Instant::now() < deadline, "{:?}", lock(&seen));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(lock(&seen).len() <= 3, "{:?}", lock(&seen));
        s.shutdown(Duration::from_secs(1));
        worker.join().unwrap();
    }

    /// A pass that has seen the pause and is stopping must end as cancelled even when the user resumes at
    /// once; otherwise it could look at the flag again, find it cleared, return as finished with part of its
    /// work done, and the rest would never be indexed (the indexer checks the flag at several points).
    #[test]
    fn a_resume_right_after_a_pause_never_un_cancels_a_stopping_pass() {
        let s = Arc::new(Scheduler::new(fast(), None));
        let (saw_tx, saw_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let runs = Arc::new(AtomicU64::new(0));
        let finished = Arc::new(AtomicU64::new(0));
        let (r, f, s2) = (Arc::clone(&runs), Arc::clone(&finished), Arc::clone(&s));
        let worker = spawn(&s, move |_| {
            if r.fetch_add(1, Ordering::SeqCst) == 0 {
                // Part of the work, until the pause is seen (as the indexer's reader does)…
                while !s2.cancel_flag().load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                saw_tx.send(()).unwrap();
                // …then, before returning, the flag is read again (as the indexer does at the end).
                go_rx.recv().unwrap();
                return if s2.cancel_flag().load(Ordering::SeqCst) {
                    Err(sift_core::Error::Cancelled)
                } else {
                    Ok(())
                };
            }
            f.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        s.queue_full();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !s.state().running {
            assert!(Instant::now() < deadline, "the pass did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        s.pause();
        saw_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        s.resume();
        go_tx.send(()).unwrap();
        while finished.load(Ordering::SeqCst) == 0 {
            assert!(
                Instant::now() < deadline,
                "the paused work was dropped instead of run again ({} passes)",
                runs.load(Ordering::SeqCst)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        s.shutdown(Duration::from_secs(1));
        worker.join().unwrap();
    }

    #[test]
    fn work_merges() {
        let mut w = Work::default();
        assert!(w.is_empty());
        w.merge(Work {
            full: false,
            paths: BTreeSet::from([PathBuf::from("/a")]),
        });
        w.merge(Work {
            full: false,
            paths: BTreeSet::from([PathBuf::from("/a"), PathBuf::from("/b")]),
        });
        assert_eq!(w.paths.len(), 2);
        w.merge(Work {
            full: true,
            paths: BTreeSet::new(),
        });
        assert!(w.full && w.paths.is_empty());
    }
}
