//! The app's state behind the commands: the open engine, the background indexing worker, per-folder progress
//! and the opener. Runtime-agnostic (no Tauri types): events leave through an [`Emit`] callback, so the same
//! code runs under the real webview and under the mock runtime in tests.
//!
//! Threads:
//! - The **worker** thread opens the engine at startup (the window shows meanwhile; commands that need the
//!   engine wait for it) and then runs indexing passes one after another, whenever one is pending.
//! - **Commands** run on Tauri's blocking pool (never the UI thread). Searches run while the worker indexes;
//!   the engine is built for that (separate reader connection, vector index behind a RwLock).
//!
//! Pause sets the cancel flag: the engine stops after its current batch with `Error::Cancelled`, and the pass
//! is marked pending again so resuming continues it (unchanged files are skipped, so nothing is redone).
//! Operations that must not overlap a pass (switching the engine, removing or merging roots) "hold" the
//! worker: cancel, wait for it to stop, do the change, release.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use sift_core::model::{self, HubOptions};
use sift_core::watch::Watcher;
use sift_core::FolderStatus;
use sift_core::{Engine, EngineConfig, Phase, Progress, SearchOptions};

/// Quiet time after the last change before the watcher reports a batch.
const WATCH_DEBOUNCE: Duration = Duration::from_millis(500);

use crate::dto::{self, FolderState};
use crate::opener::{Action, Opener};

/// An event for the UI.
#[derive(Debug, Clone)]
pub enum AppEvent {
    /// `sift://progress`
    Progress(dto::ProgressEvent),
    /// `sift://model-download`
    ModelDownload(dto::ModelDownloadEvent),
}

/// Where events go (the Tauri app handle in the app; a recorder in tests).
pub type Emit = Arc<dyn Fn(AppEvent) + Send + Sync>;

/// How the app is set up.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Data directory (index, settings), shared with the CLI.
    pub data_dir: PathBuf,
    pub opener: Opener,
}

impl AppConfig {
    /// The CLI's data directory (`SIFT_DATA_DIR` or the platform default) and the opener from `SIFT_OPEN_LOG`.
    pub fn from_env() -> AppConfig {
        AppConfig {
            data_dir: sift_core::paths::default_data_dir(),
            opener: Opener::from_env(),
        }
    }
}

/// Progress events for one folder are sent at most this often (phase changes and completion always are).
const EMIT_INTERVAL: Duration = Duration::from_millis(100);

enum Slot {
    Opening,
    Ready(Arc<Engine>),
    Failed(String),
}

#[derive(Default)]
struct Ctl {
    /// An indexing pass should run.
    pending: bool,
    /// A pass is running.
    running: bool,
    /// The user paused indexing.
    paused: bool,
    /// Number of operations holding the worker off.
    hold: usize,
    shutdown: bool,
}

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
    current: Option<PathBuf>,
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
            current: None,
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
}

/// Shared app state. Cheap to clone (`Arc`).
pub type AppState = Arc<Core>;

/// See the module docs.
pub struct Core {
    data_dir: PathBuf,
    opener: Opener,
    emit: OnceLock<Emit>,
    slot: Mutex<Slot>,
    slot_cv: Condvar,
    ctl: Mutex<Ctl>,
    ctl_cv: Condvar,
    cancel: AtomicBool,
    tracks: Mutex<HashMap<PathBuf, Track>>,
    /// Serialises settings changes.
    settings_lock: Mutex<()>,
    last_error: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps the worker from running while alive; see [`Core::hold`].
struct Hold<'a>(&'a Core);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let mut ctl = lock(&self.0.ctl);
        ctl.hold -= 1;
        if ctl.hold == 0 && !ctl.paused && !ctl.shutdown {
            self.0.cancel.store(false, Ordering::SeqCst);
        }
        self.0.ctl_cv.notify_all();
    }
}

fn open_engine(data_dir: &Path, settings: Option<sift_core::Settings>) -> Result<Engine, String> {
    let mut config = EngineConfig::new(data_dir).map_err(|e| e.to_string())?;
    if let Some(s) = settings {
        config.settings = s;
    }
    Engine::open(config).map_err(|e| e.to_string())
}

impl Core {
    /// Creates the state. Nothing runs until [`Core::start`].
    pub fn new(config: AppConfig) -> AppState {
        Arc::new(Core {
            data_dir: config.data_dir,
            opener: config.opener,
            emit: OnceLock::new(),
            slot: Mutex::new(Slot::Opening),
            slot_cv: Condvar::new(),
            ctl: Mutex::new(Ctl::default()),
            ctl_cv: Condvar::new(),
            cancel: AtomicBool::new(false),
            tracks: Mutex::new(HashMap::new()),
            settings_lock: Mutex::new(()),
            last_error: Mutex::new(None),
        })
    }

    /// Connects the event sink and starts the worker, which opens the engine and, if there are folders, runs a
    /// catch-up pass. Commands that need the engine wait until it is open. Only the first call has an effect.
    pub fn start(self: &Arc<Self>, emit: Emit) {
        if self.emit.set(emit).is_err() {
            return;
        }
        let worker = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("sift-indexer".into())
            .spawn(move || worker.worker_main());
        if let Err(e) = spawned {
            self.set_slot(Slot::Failed(format!(
                "could not start the indexing thread: {e}"
            )));
        }
        let watcher = Arc::clone(self);
        if let Err(e) = std::thread::Builder::new()
            .name("sift-watcher".into())
            .spawn(move || watcher.watch_main())
        {
            tracing::error!(error = %e, "could not start the file watcher; folders are indexed on demand only");
        }
    }

    /// Keeps the index live: watches every root and queues an indexing pass when something under a root
    /// changes (the pass skips unchanged files, so this is cheap). Follows folders being added and removed.
    fn watch_main(self: Arc<Self>) {
        let mut roots: Vec<PathBuf> = Vec::new();
        let mut watcher: Option<Watcher> = None;
        loop {
            if lock(&self.ctl).shutdown {
                return;
            }
            let current: Vec<PathBuf> = match self.engine() {
                Ok(engine) => engine
                    .folders()
                    .map(|f| f.into_iter().map(|f| f.path).collect())
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            if current != roots {
                watcher = match Watcher::new(&current, WATCH_DEBOUNCE) {
                    Ok(w) if !current.is_empty() => Some(w),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot watch folders");
                        None
                    }
                };
                roots = current;
            }
            match &watcher {
                Some(w) => {
                    if let Some(paths) = w.next_batch(Duration::from_secs(1)) {
                        if paths.iter().any(|p| self.is_content_change(p, &roots)) {
                            self.queue_pass();
                        }
                    }
                }
                None => std::thread::sleep(Duration::from_secs(1)),
            }
        }
    }

    /// Whether a watcher event is about the user's files, not Sift's own database (a root may contain the data
    /// directory) or hidden files, which indexing skips anyway.
    fn is_content_change(&self, path: &Path, roots: &[PathBuf]) -> bool {
        if path.starts_with(&self.data_dir) {
            return false;
        }
        let inside = roots
            .iter()
            .find_map(|r| path.strip_prefix(r).ok())
            .unwrap_or(path);
        !inside
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    }

    fn emit(&self, event: AppEvent) {
        if let Some(emit) = self.emit.get() {
            emit(event);
        }
    }

    /// The data directory in use.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn set_slot(&self, slot: Slot) {
        *lock(&self.slot) = slot;
        self.slot_cv.notify_all();
    }

    /// The open engine; waits while it is still opening. The error says why it could not be opened.
    pub fn engine(&self) -> Result<Arc<Engine>> {
        let mut slot = lock(&self.slot);
        loop {
            match &*slot {
                Slot::Opening => slot = self.slot_cv.wait(slot).unwrap_or_else(|e| e.into_inner()),
                Slot::Ready(e) => return Ok(Arc::clone(e)),
                Slot::Failed(msg) => return Err(anyhow!("{msg}")),
            }
        }
    }

    // ---------- worker ----------

    /// Opens the engine; on a first run without the model installed, downloads it from the Hugging Face Hub
    /// (with `sift://model-download` progress) and tries again.
    fn open_or_download(&self) -> Result<Engine, String> {
        let first = EngineConfig::new(&self.data_dir).and_then(Engine::open);
        let Err(missing @ sift_core::Error::ModelMissing { .. }) = first else {
            return first.map_err(|e| e.to_string());
        };
        let settings = sift_core::Settings::load(&self.data_dir).map_err(|e| e.to_string())?;
        let spec = model::spec(&settings.model).map_err(|e| e.to_string())?;
        let precision = settings.precision.unwrap_or(spec.default_precision);
        tracing::info!(model = %spec.id, "first run: downloading the model");
        model::download(&spec, precision, &HubOptions::default(), &mut |p| {
            self.emit(AppEvent::ModelDownload(p.into()))
        })
        .map_err(|e| format!("{missing} ({e})"))?;
        open_engine(&self.data_dir, None)
    }

    fn worker_main(self: Arc<Self>) {
        let slot = match self.open_or_download() {
            Ok(engine) => {
                let has_folders = engine.folders().map(|f| !f.is_empty()).unwrap_or(false);
                if has_folders {
                    lock(&self.ctl).pending = true;
                }
                Slot::Ready(Arc::new(engine))
            }
            Err(msg) => {
                tracing::error!(error = %msg, "could not open the index");
                Slot::Failed(msg)
            }
        };
        self.set_slot(slot);
        loop {
            {
                let mut ctl = lock(&self.ctl);
                while !(ctl.shutdown || (ctl.pending && !ctl.paused && ctl.hold == 0)) {
                    ctl = self.ctl_cv.wait(ctl).unwrap_or_else(|e| e.into_inner());
                }
                if ctl.shutdown {
                    return;
                }
                ctl.pending = false;
                ctl.running = true;
            }
            let result = match self.engine() {
                Ok(engine) => self.run_pass(&engine),
                Err(_) => Ok(()),
            };
            let mut ctl = lock(&self.ctl);
            ctl.running = false;
            match result {
                Ok(()) => *lock(&self.last_error) = None,
                Err(sift_core::Error::Cancelled) => {
                    tracing::info!("indexing paused");
                    ctl.pending = true;
                }
                Err(e) => {
                    tracing::error!(error = %e, "indexing failed");
                    *lock(&self.last_error) = Some(e.to_string());
                    lock(&self.tracks).clear();
                }
            }
            self.ctl_cv.notify_all();
        }
    }

    fn run_pass(&self, engine: &Engine) -> sift_core::Result<()> {
        {
            let folders = engine.folders()?;
            let mut tracks = lock(&self.tracks);
            tracks.retain(|path, _| folders.iter().any(|f| &f.path == path));
            for f in &folders {
                let t = tracks.entry(f.path.clone()).or_insert_with(Track::queued);
                if t.state == TrackState::Done {
                    *t = Track::queued();
                }
            }
        }
        let mut on_progress = |p: &Progress| self.on_progress(engine, p);
        let report = engine.index(&mut on_progress, &self.cancel)?;
        tracing::info!(
            indexed = report.files_indexed,
            unchanged = report.files_unchanged,
            removed = report.files_removed,
            problems = report.files_skipped + report.files_failed,
            seconds = report.seconds,
            "indexing pass finished"
        );
        lock(&self.tracks).clear();
        Ok(())
    }

    fn on_progress(&self, engine: &Engine, p: &Progress) {
        let now = Instant::now();
        let mut event = {
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
            t.current = p.current.clone();
            let due = t
                .last_emit
                .is_none_or(|at| now.duration_since(at) >= EMIT_INTERVAL);
            if before == t.state && !due {
                return;
            }
            t.last_emit = Some(now);
            dto::ProgressEvent {
                folder: dto::path_string(&p.folder),
                files_done: p.files_done,
                files_total: p.files_total,
                failed: p.failed,
                current_file: p.current.as_deref().map(dto::path_string),
                done: matches!(p.phase, Phase::Done | Phase::Offline),
            }
        };
        // The database's counts are the ones list_folders reports; use them so the two agree.
        if let Some(f) = engine
            .folders()
            .ok()
            .and_then(|all| all.into_iter().find(|f| f.path == p.folder))
        {
            event.failed = f.problems;
            if event.done {
                event.files_done = f.files;
                event.files_total = f.files;
            }
        }
        self.emit(AppEvent::Progress(event));
    }

    /// Cancels a running pass and keeps the worker idle until the returned guard drops.
    fn hold(&self) -> Hold<'_> {
        let mut ctl = lock(&self.ctl);
        ctl.hold += 1;
        self.cancel.store(true, Ordering::SeqCst);
        while ctl.running {
            ctl = self.ctl_cv.wait(ctl).unwrap_or_else(|e| e.into_inner());
        }
        Hold(self)
    }

    fn queue_pass(&self) {
        lock(&self.ctl).pending = true;
        self.ctl_cv.notify_all();
    }

    /// Stops the worker (app exit): cancels a running pass and waits up to `timeout` for it to stop, so the
    /// vector index is saved.
    pub fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut ctl = lock(&self.ctl);
        ctl.shutdown = true;
        self.cancel.store(true, Ordering::SeqCst);
        self.ctl_cv.notify_all();
        while ctl.running {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            ctl = self
                .ctl_cv
                .wait_timeout(ctl, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    // ---------- commands ----------

    pub fn status(&self) -> Result<dto::Status> {
        let engine = self.engine()?;
        let s = engine.status()?;
        let ctl = lock(&self.ctl);
        Ok(dto::Status {
            model: s.model,
            dim: s.dim,
            provider: s.provider,
            folders: s.counts.folders,
            files: s.counts.indexed_files,
            chunks: s.counts.chunks,
            failed: s.counts.skipped_files + s.counts.failed_files,
            indexing: ctl.running || (ctl.pending && !ctl.paused),
            paused: ctl.paused,
        })
    }

    pub fn list_folders(&self) -> Result<Vec<dto::FolderInfo>> {
        // Without an engine there is nothing to list; `status` carries the error for the UI.
        let Ok(engine) = self.engine() else {
            return Ok(Vec::new());
        };
        let folders = engine.folders()?;
        let paused = lock(&self.ctl).paused;
        let tracks = lock(&self.tracks);
        let now = Instant::now();
        Ok(folders
            .iter()
            .map(|f| folder_info(f, tracks.get(&f.path), paused, now))
            .collect())
    }

    pub fn add_folders(&self, paths: &[String]) -> Result<()> {
        let engine = self.engine()?;
        let mut errors = Vec::new();
        for raw in paths {
            let path = PathBuf::from(raw);
            if !path.is_absolute() {
                errors.push(format!("{raw} is not an absolute path"));
                continue;
            }
            let added = match std::fs::canonicalize(&path) {
                Err(e) => Err(anyhow!("cannot add {raw}: {e}")),
                Ok(canonical) => {
                    // A new root that contains existing ones absorbs them: that must not race a pass over them.
                    let absorbs = engine
                        .folders()?
                        .iter()
                        .any(|f| f.path.starts_with(&canonical));
                    let _hold = absorbs.then(|| self.hold());
                    engine.add_folder(&canonical).map_err(anyhow::Error::from)
                }
            };
            match added {
                Ok(folder) => {
                    let mut tracks = lock(&self.tracks);
                    let t = tracks.entry(folder.path).or_insert_with(Track::queued);
                    if t.state == TrackState::Done {
                        *t = Track::queued();
                    }
                }
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        if errors.len() < paths.len() {
            self.queue_pass();
        }
        if !errors.is_empty() {
            bail!("{}", errors.join("; "));
        }
        Ok(())
    }

    pub fn remove_folder(&self, path: &str) -> Result<()> {
        let engine = self.engine()?;
        let _hold = self.hold();
        engine.remove_folder(Path::new(path))?;
        lock(&self.tracks).remove(Path::new(path));
        Ok(())
    }

    pub fn pause(&self) {
        let mut ctl = lock(&self.ctl);
        ctl.paused = true;
        self.cancel.store(true, Ordering::SeqCst);
        self.ctl_cv.notify_all();
    }

    pub fn resume(&self) {
        let mut ctl = lock(&self.ctl);
        ctl.paused = false;
        if ctl.hold == 0 && !ctl.shutdown {
            self.cancel.store(false, Ordering::SeqCst);
        }
        self.ctl_cv.notify_all();
    }

    pub fn search(
        &self,
        query: &str,
        limit: usize,
        folder: Option<String>,
        kinds: Vec<String>,
    ) -> Result<dto::SearchResponse> {
        let engine = self.engine()?;
        let mut options = SearchOptions {
            limit: limit.min(200),
            ..SearchOptions::default()
        };
        options.filter.folders = folder
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .into_iter()
            .collect();
        options.filter.kinds = kinds
            .iter()
            .map(|k| k.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        Ok(engine.search(query, &options)?.into())
    }

    pub fn failed_files(&self, folder: Option<String>) -> Result<Vec<dto::FailedFile>> {
        let engine = self.engine()?;
        let files = engine.problem_files(folder.as_deref().map(Path::new))?;
        Ok(files
            .into_iter()
            .map(|f| dto::FailedFile {
                path: dto::path_string(&f.path),
                reason: if f.reason.is_empty() {
                    f.status.to_string()
                } else {
                    f.reason
                },
            })
            .collect())
    }

    /// Opens or reveals `path`, which must be a file in the index (anything else is refused).
    pub fn open(&self, action: Action, path: &str) -> Result<()> {
        let engine = self.engine()?;
        let p = PathBuf::from(path);
        if !p.is_absolute() || !engine.is_indexed_file(&p)? {
            bail!("Sift only opens files it has indexed, and {path} is not one of them");
        }
        if !p.is_file() {
            bail!("{path} no longer exists");
        }
        self.opener.run(action, &p)
    }

    pub fn get_settings(&self) -> Result<dto::Settings> {
        let settings = sift_core::Settings::load(&self.data_dir)?;
        let model_dir = EngineConfig::new(&self.data_dir)
            .ok()
            .and_then(|c| c.model_dir);
        let models = model::models()
            .into_iter()
            .map(|spec| {
                let precision = if spec.id == settings.model {
                    settings.precision.unwrap_or(spec.default_precision)
                } else {
                    spec.default_precision
                };
                let installed = model::locate(&spec, precision, model_dir.as_deref()).is_ok();
                dto::ModelInfo {
                    installed,
                    id: spec.id,
                    name: spec.name,
                    dim: spec.dim,
                }
            })
            .collect();
        let auto = sift_core::runtime::default_threads();
        Ok(dto::Settings {
            model: settings.model,
            models,
            threads: if settings.threads == 0 {
                auto
            } else {
                settings.threads
            },
            max_threads: max_threads(),
            excludes: settings.excludes,
        })
    }

    /// Saves settings. A change of model (downloaded first if it is not installed), threads or excluded
    /// patterns reopens the engine with them; model and exclude changes then re-index.
    pub fn set_settings(&self, new: dto::Settings) -> Result<()> {
        let _serial = lock(&self.settings_lock);
        let old = sift_core::Settings::load(&self.data_dir)?;
        let spec = model::spec(&new.model)?;
        let model_changed = new.model != old.model;
        let precision = if model_changed { None } else { old.precision };
        let auto = sift_core::runtime::default_threads();
        let threads = match new.threads.min(max_threads()) {
            // The UI shows "automatic" as its value; keep it automatic when that value comes back.
            n if old.threads == 0 && n == auto => 0,
            n => n,
        };
        let mut excludes: Vec<String> = Vec::new();
        for e in new
            .excludes
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
        {
            if !excludes.iter().any(|x| x == e) {
                excludes.push(e.to_string());
            }
        }
        let next = sift_core::Settings {
            model: new.model.clone(),
            precision,
            threads,
            excludes,
        };
        let engine_ok = self.engine().is_ok();
        if next == old && engine_ok {
            return Ok(());
        }
        // Fetch a missing model before touching the running engine (this can take a while).
        let precision = precision.unwrap_or(spec.default_precision);
        let model_dir = EngineConfig::new(&self.data_dir)?.model_dir;
        if let Err(missing @ sift_core::Error::ModelMissing { .. }) =
            model::locate(&spec, precision, model_dir.as_deref())
        {
            tracing::info!(model = %spec.id, "model not installed; downloading it");
            model::download(&spec, precision, &HubOptions::default(), &mut |p| {
                self.emit(AppEvent::ModelDownload(p.into()))
            })
            .with_context(|| format!("{missing}"))
            .with_context(|| format!("could not switch to {}", spec.name))?;
        }
        let reindex = model_changed || next.excludes != old.excludes || !engine_ok;
        let _hold = self.hold();
        let engine = open_engine(&self.data_dir, Some(next.clone()))
            .map_err(|msg| anyhow!("could not switch to {}: {msg}", spec.name))?;
        next.save(&self.data_dir)?;
        let has_folders = engine.folders().map(|f| !f.is_empty()).unwrap_or(false);
        self.set_slot(Slot::Ready(Arc::new(engine)));
        if reindex && has_folders {
            self.queue_pass();
        }
        Ok(())
    }

    /// The last indexing error, if the last pass failed.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }
}

fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn folder_info(
    f: &FolderStatus,
    track: Option<&Track>,
    paused: bool,
    now: Instant,
) -> dto::FolderInfo {
    let idle = dto::FolderInfo {
        path: dto::path_string(&f.path),
        files_total: f.files,
        files_done: f.files,
        failed: f.problems,
        state: FolderState::Idle,
        eta_secs: None,
    };
    let busy = |state| if paused { FolderState::Paused } else { state };
    match track {
        None => idle,
        Some(t) => match t.state {
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
                files_total: t.files_total,
                files_done: t.files_done,
                eta_secs: if paused { None } else { t.eta_secs(now) },
                ..idle
            },
        },
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
        let info = folder_info(&f, None, false, now);
        assert_eq!(
            (info.state, info.files_done, info.files_total, info.failed),
            (FolderState::Idle, 10, 10, 2)
        );
        let q = Track::queued();
        assert_eq!(
            folder_info(&f, Some(&q), false, now).state,
            FolderState::Queued
        );
        assert_eq!(
            folder_info(&f, Some(&q), true, now).state,
            FolderState::Paused
        );
        let scanning = Track {
            state: TrackState::Scanning,
            ..Track::queued()
        };
        let info = folder_info(&f, Some(&scanning), false, now);
        assert_eq!((info.state, info.files_total), (FolderState::Indexing, 0));
        let indexing = Track {
            state: TrackState::Indexing,
            files_done: 5,
            files_total: 15,
            started: Some(now - Duration::from_secs(10)),
            ..Track::queued()
        };
        let info = folder_info(&f, Some(&indexing), false, now);
        assert_eq!(
            (info.state, info.files_done, info.files_total),
            (FolderState::Indexing, 5, 15)
        );
        // 5 files in 10 s, 10 to go: 20 s.
        assert_eq!(info.eta_secs, Some(20));
        let info = folder_info(&f, Some(&indexing), true, now);
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
}
