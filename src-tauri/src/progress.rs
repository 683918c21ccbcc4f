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

/// The indexing rate is sampled at most this often.
const RATE_SAMPLE: Duration = Duration::from_secs(1);
/// Time constant of the rate's moving average (seconds): a burst of small files or one large file moves it
/// only part of the way.
const RATE_TAU: f64 = 20.0;
/// Time constant (seconds) with which the ETA shown follows a new estimate; between estimates it counts down.
const ETA_TAU: f64 = 8.0;
/// No ETA before the pass has run this long, and done [`ETA_MIN_SHARE`] of its files or run
/// [`ETA_WARMUP_MAX`] (too little work done to tell: one large file first would promise hours).
const ETA_WARMUP: Duration = Duration::from_secs(3);
const ETA_MIN_SHARE: f64 = 0.05;
const ETA_WARMUP_MAX: Duration = Duration::from_secs(20);

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
    /// The last rate sample: when, and files done then.
    sample: Option<(Instant, u64)>,
    /// Files per second, an exponential moving average of the samples.
    rate: Option<f64>,
    /// The ETA shown (seconds) and when it was computed; it counts down from there.
    eta: Option<(Instant, f64)>,
}

impl Track {
    fn queued() -> Track {
        Track {
            state: TrackState::Queued,
            files_done: 0,
            files_total: 0,
            started: None,
            last_emit: None,
            sample: None,
            rate: None,
            eta: None,
        }
    }

    /// Updates the rate and the ETA from the work done so far (files done; the engine reports no bytes). The
    /// rate is a moving average over samples at least [`RATE_SAMPLE`] apart, started from the pass's average;
    /// the ETA shown counts down and follows a new estimate with [`ETA_TAU`], so it does not swing when a large
    /// file holds up the count or a run of small ones rushes it.
    fn observe(&mut self, now: Instant) {
        let Some(started) = self.started else {
            return;
        };
        let Some((at, done_then)) = self.sample else {
            self.sample = Some((now, self.files_done));
            return;
        };
        let dt = now.duration_since(at).as_secs_f64();
        let running = now.duration_since(started);
        let share = self.files_done as f64 / self.files_total.max(1) as f64;
        if dt < RATE_SAMPLE.as_secs_f64()
            || running < ETA_WARMUP
            || (self.rate.is_none() && share < ETA_MIN_SHARE && running < ETA_WARMUP_MAX)
        {
            return;
        }
        // The first sample spans the pass so far: its average starts the moving average.
        let instant = self.files_done.saturating_sub(done_then) as f64 / dt;
        let rate = match self.rate {
            None => instant,
            Some(r) => r + (1.0 - (-dt / RATE_TAU).exp()) * (instant - r),
        };
        self.rate = Some(rate);
        self.sample = Some((now, self.files_done));
        if rate <= 0.0 {
            return;
        }
        let estimate = self.files_total.saturating_sub(self.files_done) as f64 / rate;
        self.eta = Some(match self.eta {
            None => (now, estimate),
            Some((then, shown)) => {
                let since = now.duration_since(then).as_secs_f64();
                let counted = (shown - since).max(0.0);
                // One update moves it at most as far as two seconds of following would: after a large
                // file held up the count, the ETA is corrected over the next seconds, not at once.
                let follow = 1.0 - (-since.min(2.0) / ETA_TAU).exp();
                (now, counted + follow * (estimate - counted))
            }
        });
    }

    fn eta_secs(&self, now: Instant) -> Option<u64> {
        if self.state != TrackState::Indexing || self.files_done >= self.files_total {
            return None;
        }
        let (then, shown) = self.eta?;
        let left = shown - now.duration_since(then).as_secs_f64();
        Some(left.max(1.0).ceil() as u64)
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
            t.sample = Some((now, p.files_done));
        }
        t.files_done = p.files_done;
        t.files_total = p.files_total;
        if t.state == TrackState::Indexing {
            t.observe(now);
        }
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
            eta: Some((now, 20.0)),
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

    /// Drives a tracker through a pass whose files take `secs[i]` seconds each, and reads the folder's ETA
    /// every second, as the UI's polling does: (time, ETA shown, true time left).
    fn eta_readings(secs: &[f64]) -> Vec<(f64, Option<u64>, f64)> {
        let tracker = Tracker::new();
        let start = Instant::now();
        let total = secs.len() as u64;
        let at = |t: f64| start + Duration::from_secs_f64(t);
        let p = |phase, done| Progress {
            folder: PathBuf::from("/r"),
            phase,
            files_done: done,
            files_total: total,
            failed: 0,
            chunks_done: 0,
            current: None,
        };
        tracker.update(&p(Phase::Indexing, 0), at(0.0));
        let mut finished = Vec::new();
        let mut t = 0.0;
        for s in secs {
            t += s;
            finished.push(t);
        }
        let end = t;
        let mut readings = Vec::new();
        let mut done = 0;
        let mut now = 0.0;
        while now < end {
            now += 1.0;
            // Every file finished by now reports (each file is one progress event).
            while done < finished.len() && finished[done] <= now {
                tracker.update(&p(Phase::Indexing, done as u64 + 1), at(finished[done]));
                done += 1;
            }
            let rows = tracker.folder_infos(&[status(0, 0)], false, at(now));
            readings.push((now, rows[0].eta_secs, end - now));
        }
        readings
    }

    /// A 55 s pass as a person's folder has it: three large PDFs first, then a run of small notes, medium
    /// documents, and two large files at the end.
    fn mixed_pass() -> Vec<f64> {
        let mut secs = vec![4.0; 3];
        secs.extend([0.1; 60]);
        secs.extend([1.2; 20]);
        secs.extend([0.3; 15]);
        secs.extend([6.0; 2]);
        secs
    }

    /// The same files in a shuffled order (a folder's order has nothing to do with file sizes).
    fn shuffled(mut secs: Vec<f64>) -> Vec<f64> {
        let mut seed: u64 = 0x5eed;
        for i in (1..secs.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            secs.swap(i, (seed >> 33) as usize % (i + 1));
        }
        secs
    }

    #[test]
    fn eta_waits_for_a_rate() {
        let readings = eta_readings(&mixed_pass());
        // Three large files first: 1 % of the files after 4 s. No ETA until 5 % are done (or 20 s passed),
        // rather than "~7 min left" for a 55 s pass.
        let first = readings.iter().position(|r| r.1.is_some()).unwrap();
        assert_eq!(readings[first].0, 13.0, "{readings:?}");
        assert!(
            readings[first..].iter().all(|r| r.1.is_some() || r.2 < 1.0),
            "{readings:?}"
        );
    }

    #[test]
    fn eta_is_smoothed_and_counts_down() {
        check_smooth(&eta_readings(&mixed_pass()), None);
        check_smooth(&eta_readings(&shuffled(mixed_pass())), Some(2.0));
    }

    /// From one second to the next the ETA counts down by about a second, and a correction is gradual; with
    /// `range`, it also stays within `range` times (plus 10 s) the real time left.
    fn check_smooth(readings: &[(f64, Option<u64>, f64)], range: Option<f64>) {
        let shown: Vec<(f64, f64, f64)> = readings
            .iter()
            .filter_map(|&(t, eta, left)| eta.map(|e| (t, e as f64, left)))
            .collect();
        assert!(shown.len() > 25, "{readings:?}");
        for w in shown.windows(2) {
            let ((t, a, _), (_, b, _)) = (w[0], w[1]);
            // Never the 2 → 6 → 3 min swing of a plain "remaining × elapsed / done".
            let expected = (a - 1.0).max(1.0);
            assert!(
                (b - expected).abs() <= 6.0_f64.max(0.25 * a),
                "at {t} s the ETA went {a} → {b}: {shown:?}"
            );
        }
        if let Some(range) = range {
            for &(t, eta, left) in &shown {
                assert!(
                    eta <= range * left + 10.0 && left <= range * eta + 10.0,
                    "at {t} s: ETA {eta} s, {left} s left: {shown:?}"
                );
            }
        }
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
