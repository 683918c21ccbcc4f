//! "How far along is each folder": per-folder progress of the current (or paused) pass, throttled progress
//! events for the UI, ETAs, and the folder rows `list_folders` returns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sift_core::FolderStatus;
use sift_core::{Phase, Progress};

use crate::dto::{self, FolderState};

/// Progress events for one folder are sent at most this often (phase changes and completion always are).
const EMIT_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackState {
    Queued,
    Scanning,
    Indexing,
    Done,
}

/// Progress of one folder in the current (or paused) pass.
#[derive(Debug, Clone)]
struct Track {
    state: TrackState,
    files_done: u64,
    files_total: u64,
    /// When the indexing phase started, for the ETA.
    started: Option<Instant>,
    last_emit: Option<Instant>,
}

impl Track {
    fn queued() -> Track {
        Track {
            state: TrackState::Queued,
            files_done: 0,
            files_total: 0,
            started: None,
            last_emit: None,
        }
    }

    fn eta_secs(&self, now: Instant) -> Option<u64> {
        let elapsed = now.duration_since(self.started?).as_secs_f64();
        if self.state != TrackState::Indexing || self.files_done == 0 || elapsed < 1.0 {
            return None;
        }
        let remaining = self.files_total.saturating_sub(self.files_done) as f64;
        Some((remaining * elapsed / self.files_done as f64).ceil() as u64)
    }

    fn info(&self, f: &FolderStatus, paused: bool, now: Instant) -> dto::FolderInfo {
        let idle = idle_info(f);
        let busy = |state| if paused { FolderState::Paused } else { state };
        match self.state {
            TrackState::Done => idle,
            TrackState::Queued => dto::FolderInfo {
                state: busy(FolderState::Queued),
                ..idle
            },
            TrackState::Scanning if paused => dto::FolderInfo {
                state: FolderState::Paused,
                ..idle
            },
            TrackState::Scanning => dto::FolderInfo {
                state: FolderState::Indexing,
                files_total: 0,
                files_done: 0,
                ..idle
            },
            TrackState::Indexing => dto::FolderInfo {
                state: busy(FolderState::Indexing),
                files_total: self.files_total,
                files_done: self.files_done,
                eta_secs: if paused { None } else { self.eta_secs(now) },
                ..idle
            },
        }
    }
}

fn idle_info(f: &FolderStatus) -> dto::FolderInfo {
    dto::FolderInfo {
        path: dto::path_string(&f.path),
        files_total: f.files,
        files_done: f.files,
        failed: f.problems,
        state: if f.offline {
            FolderState::Offline
        } else {
            FolderState::Idle
        },
        eta_secs: None,
    }
}

/// Per-folder progress; see the module docs.
#[derive(Default)]
pub struct Tracker {
    tracks: Mutex<HashMap<PathBuf, Track>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Marks these folders as queued for the next pass (a finished one starts over).
    pub fn queue<'a>(&self, folders: impl IntoIterator<Item = &'a Path>) {
        let mut tracks = lock(&self.tracks);
        for f in folders {
            let t = tracks.entry(f.to_path_buf()).or_insert_with(Track::queued);
            if t.state == TrackState::Done {
                *t = Track::queued();
            }
        }
    }

    /// Forgets folders that are no longer roots.
    pub fn retain(&self, roots: &[PathBuf]) {
        lock(&self.tracks).retain(|path, _| roots.contains(path));
    }

    pub fn remove(&self, folder: &Path) {
        lock(&self.tracks).remove(folder);
    }

    /// The pass ended (or failed): every folder is idle.
    pub fn clear(&self) {
        lock(&self.tracks).clear();
    }

    /// Records an engine progress report; returns the event to send to the UI, or `None` when one was sent
    /// for this folder less than [`EMIT_INTERVAL`] ago in the same phase. The event's `failed` count is the
    /// engine's running count; the caller may replace it with the database's.
    pub fn update(&self, p: &Progress, now: Instant) -> Option<dto::ProgressEvent> {
        let mut tracks = lock(&self.tracks);
        let t = tracks.entry(p.folder.clone()).or_insert_with(Track::queued);
        let before = t.state;
        t.state = match p.phase {
            Phase::Scanning => TrackState::Scanning,
            Phase::Indexing => TrackState::Indexing,
            Phase::Done | Phase::Offline => TrackState::Done,
        };
        if t.state == TrackState::Indexing && t.started.is_none() {
            t.started = Some(now);
        }
        t.files_done = p.files_done;
        t.files_total = p.files_total;
        let due = t
            .last_emit
            .is_none_or(|at| now.duration_since(at) >= EMIT_INTERVAL);
        if before == t.state && !due {
            return None;
        }
        t.last_emit = Some(now);
        Some(dto::ProgressEvent {
            folder: dto::path_string(&p.folder),
            files_done: p.files_done,
            files_total: p.files_total,
            failed: p.failed,
            current_file: p.current.as_deref().map(dto::path_string),
            done: matches!(p.phase, Phase::Done | Phase::Offline),
            offline: p.phase == Phase::Offline,
        })
    }

    /// The rows of `list_folders`: database counts, with the live progress of folders in a pass.
    pub fn folder_infos(
        &self,
        folders: &[FolderStatus],
        paused: bool,
        now: Instant,
    ) -> Vec<dto::FolderInfo> {
        let tracks = lock(&self.tracks);
        folders
            .iter()
            .map(|f| match tracks.get(&f.path) {
                Some(t) => t.info(f, paused, now),
                None => idle_info(f),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(files: u64, problems: u64) -> FolderStatus {
        FolderStatus {
            path: PathBuf::from("/r"),
            files,
            problems,
            offline: false,
        }
    }

    #[test]
    fn folder_states_follow_the_pass() {
        let now = Instant::now();
        let f = status(10, 2);
        let info = idle_info(&f);
        assert_eq!(
            (info.state, info.files_done, info.files_total, info.failed),
            (FolderState::Idle, 10, 10, 2)
        );
        let q = Track::queued();
        assert_eq!(q.info(&f, false, now).state, FolderState::Queued);
        assert_eq!(q.info(&f, true, now).state, FolderState::Paused);
        let scanning = Track {
            state: TrackState::Scanning,
            ..Track::queued()
        };
        let info = scanning.info(&f, false, now);
        assert_eq!((info.state, info.files_total), (FolderState::Indexing, 0));
        let indexing = Track {
            state: TrackState::Indexing,
            files_done: 5,
            files_total: 15,
            started: Some(now - Duration::from_secs(10)),
            ..Track::queued()
        };
        let info = indexing.info(&f, false, now);
        assert_eq!(
            (info.state, info.files_done, info.files_total),
            (FolderState::Indexing, 5, 15)
        );
        // 5 files in 10 s, 10 to go: 20 s.
        assert_eq!(info.eta_secs, Some(20));
        let info = indexing.info(&f, true, now);
        assert_eq!((info.state, info.eta_secs), (FolderState::Paused, None));
    }

    #[test]
    fn eta_waits_for_a_rate() {
        let now = Instant::now();
        let t = Track {
            state: TrackState::Indexing,
            files_total: 10,
            started: Some(now),
            ..Track::queued()
        };
        assert_eq!(t.eta_secs(now + Duration::from_secs(5)), None); // nothing done yet
        let t = Track { files_done: 1, ..t };
        assert_eq!(t.eta_secs(now + Duration::from_millis(200)), None); // too early to tell
        assert_eq!(t.eta_secs(now + Duration::from_secs(2)), Some(18));
    }

    #[test]
    fn events_are_throttled_per_folder_but_phases_always_go_out() {
        let tracker = Tracker::new();
        let now = Instant::now();
        let p = |phase, done| Progress {
            folder: PathBuf::from("/r"),
            phase,
            files_done: done,
            files_total: 10,
            failed: 0,
            chunks_done: 0,
            current: None,
        };
        assert!(tracker.update(&p(Phase::Scanning, 0), now).is_some());
        assert!(tracker.update(&p(Phase::Indexing, 1), now).is_some());
        assert!(tracker.update(&p(Phase::Indexing, 2), now).is_none());
        let later = now + EMIT_INTERVAL;
        assert!(tracker.update(&p(Phase::Indexing, 3), later).is_some());
        let done = tracker.update(&p(Phase::Done, 10), later).unwrap();
        assert!(done.done);
        let rows = tracker.folder_infos(&[status(10, 0)], false, later);
        assert_eq!(rows[0].state, FolderState::Idle);
    }
}
