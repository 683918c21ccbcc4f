//! The app's state behind the commands: the engine slot, composed with the indexing [`Scheduler`], the
//! per-folder progress [`Tracker`], the folder watcher ([`Watching`]), the settings plan ([`settings`]) and
//! the [`Opener`]. Runtime-agnostic (no Tauri types): events leave through an [`Emit`] callback, so the same
//! code runs under the real webview and under the mock runtime in tests.
//!
//! Threads:
//! - The **worker** thread opens the engine at startup (the window shows meanwhile; commands that need the
//!   engine wait for it), runs a full reconcile when there are folders, and then runs the passes the
//!   scheduler hands it (see `scheduler.rs` for queueing, pause, hold, back-off and panics).
//! - The **watcher** thread follows the roots and queues the changed paths that matter (`watching.rs`); a
//!   lost-events notice queues a full reconcile.
//! - **Commands** run on Tauri's blocking pool (never the UI thread). Searches run while the worker indexes;
//!   the engine is built for that (separate reader connection, vector index behind a RwLock).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use sift_core::model;
use sift_core::worker::WorkerCommand;
use sift_core::{AskOptions, Engine, EngineConfig, FileStatus, Progress, SearchOptions};

use crate::ask::{Asker, GeneratorSource};

use crate::dto::{self, AppError, ErrorKind};
use crate::errors;
use crate::models::Downloads;
use crate::opener::{self, Action, Opener};
use crate::progress::Tracker;
use crate::scheduler::{PassEnd, Scheduler, Timing, Work};
use crate::settings;
use crate::tray::TrayInput;
use crate::watching::{Wanted, Watching};

/// An event for the UI.
#[derive(Debug, Clone)]
pub enum AppEvent {
    /// `sift://progress`
    Progress(dto::ProgressEvent),
    /// `sift://model-download`
    ModelDownload(dto::ModelDownloadEvent),
    /// `sift://ask-progress`
    AskProgress(dto::AskProgressEvent),
}

/// Where events go (the Tauri app handle in the app; a recorder in tests).
pub type Emit = Arc<dyn Fn(AppEvent) + Send + Sync>;

/// How the app is set up.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Data directory (index, settings), shared with the CLI.
    pub data_dir: PathBuf,
    pub opener: Opener,
    /// Test hook: a pass over a changed path containing this string panics (see `scheduler.rs`).
    pub fault_panic_path: Option<String>,
    /// How to start the extraction worker (this executable); `None` reads documents in process.
    pub worker: Option<WorkerCommand>,
    /// The answer model behind Ask (`ask.rs`).
    pub generator: GeneratorSource,
}

impl AppConfig {
    /// The CLI's data directory (`SIFT_DATA_DIR` or the platform default), the opener from `SIFT_OPEN_LOG`
    /// and the test hook `SIFT_FAULT_PANIC_PATH`.
    pub fn from_env() -> AppConfig {
        AppConfig {
            data_dir: sift_core::paths::default_data_dir(),
            opener: Opener::from_env(),
            fault_panic_path: std::env::var("SIFT_FAULT_PANIC_PATH")
                .ok()
                .filter(|v| !v.is_empty()),
            worker: WorkerCommand::current_exe()
                .map_err(|e| tracing::error!(error = %e, "cannot locate this executable to start the document reader"))
                .ok(),
            generator: GeneratorSource::from_env(),
        }
    }
}

enum Slot {
    Opening,
    Ready(Arc<Engine>),
    Failed(AppError),
}

/// Shared app state. Cheap to clone (`Arc`).
pub type AppState = Arc<Core>;

/// See the module docs.
pub struct Core {
    data_dir: PathBuf,
    opener: Opener,
    worker: Option<WorkerCommand>,
    emit: OnceLock<Emit>,
    slot: Mutex<Slot>,
    slot_cv: Condvar,
    scheduler: Scheduler,
    progress: Tracker,
    /// Serialises settings changes.
    settings_lock: Mutex<()>,
    /// The watcher's sentence for the user (the OS watch limit), if any.
    watch_problem: Mutex<Option<String>>,
    /// Paths shown to the UI that are not valid UTF-8, by the (lossy) string the UI got: the UI hands that
    /// string back to open or reveal the file, and it must reach the real path.
    shown_paths: Mutex<HashMap<String, PathBuf>>,
    /// Bumped whenever the roots or the excluded patterns change; the watcher follows it.
    roots_version: AtomicU64,
    /// The `roots_version` the watcher watches now.
    watched_version: Mutex<u64>,
    watched_cv: Condvar,
    /// The one model download at a time (settings list, first-run screen, settings switch).
    downloads: Downloads,
    /// The answer model and the one question at a time (Ask mode).
    asker: Arc<Asker>,
}

/// How long `add_folders` waits for the watcher to watch a new root before its first pass starts (so no
/// change made after the scan is missed).
const WATCH_START_WAIT: Duration = Duration::from_secs(5);
/// The watcher re-reads the roots this often even without a local change (another process may add some).
const ROOTS_REFRESH: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The engine's configuration: the data directory's settings (or `settings`) and the extraction worker.
/// Why a path cannot be read, as the end of a sentence.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "Sift is not allowed to read it".into(),
        _ => format!("it cannot be read ({e})"),
    }
}

/// Why the engine did not open, for the first-run screen: a missing model or runtime as such, anything else
/// as "could not open".
fn open_error(e: &sift_core::Error) -> AppError {
    let err = errors::from_core(e);
    match err.kind {
        ErrorKind::ModelMissing | ErrorKind::RuntimeMissing => err,
        _ => err.with_kind(ErrorKind::EngineFailed),
    }
}

/// A search's filters from the UI's: one folder (or all), and file extensions.
fn search_options(folder: Option<String>, kinds: &[String]) -> SearchOptions {
    let mut options = SearchOptions::default();
    options.filter.folders = folder
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    // "" stands for files without an extension (`indexed_kinds` lists them so); a "." alone means the same.
    let mut kinds: Vec<String> = kinds
        .iter()
        .map(|k| k.trim().trim_start_matches('.').to_ascii_lowercase())
        .collect();
    kinds.sort();
    kinds.dedup();
    options.filter.kinds = kinds;
    options
}

fn engine_config(
    data_dir: &Path,
    settings: Option<sift_core::Settings>,
    worker: Option<&WorkerCommand>,
) -> sift_core::Result<EngineConfig> {
    let mut config = EngineConfig::new(data_dir)?;
    if let Some(s) = settings {
        config.settings = s;
    }
    config.worker = worker.cloned();
    Ok(config)
}

impl Core {
    /// Creates the state. Nothing runs until [`Core::start`].
    pub fn new(config: AppConfig) -> AppState {
        let asker = Arc::new(Asker::new(config.generator, &config.data_dir));
        Arc::new(Core {
            data_dir: config.data_dir,
            worker: config.worker,
            opener: config.opener,
            emit: OnceLock::new(),
            slot: Mutex::new(Slot::Opening),
            slot_cv: Condvar::new(),
            scheduler: Scheduler::new(Timing::default(), config.fault_panic_path),
            progress: Tracker::new(),
            settings_lock: Mutex::new(()),
            watch_problem: Mutex::new(None),
            shown_paths: Mutex::new(HashMap::new()),
            roots_version: AtomicU64::new(1),
            watched_version: Mutex::new(0),
            watched_cv: Condvar::new(),
            downloads: Downloads::default(),
            asker,
        })
    }

    /// Connects the event sink and starts the worker, which opens the engine and, if there are folders, runs a
    /// catch-up pass, and the watcher. Commands that need the engine wait until it is open. Only the first
    /// call has an effect.
    pub fn start(self: &Arc<Self>, emit: Emit) {
        if self.emit.set(emit).is_err() {
            return;
        }
        let worker = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("sift-indexer".into())
            .spawn(move || worker.worker_main());
        if let Err(e) = spawned {
            self.set_slot(Slot::Failed(AppError::new(
                ErrorKind::EngineFailed,
                "Sift could not start indexing; restart Sift.",
                format!("could not start the indexing thread: {e}"),
            )));
        }
        // The answer model loads in the background, after the engine (search comes first).
        let asker = Arc::clone(self);
        if let Err(e) = std::thread::Builder::new()
            .name("sift-generator".into())
            .spawn(move || {
                let _ = asker.engine();
                asker.asker.preload();
            })
        {
            tracing::warn!(error = %e, "could not start loading the answer model; it loads at the first question");
        }
        let watcher = Arc::clone(self);
        if let Err(e) = std::thread::Builder::new()
            .name("sift-watcher".into())
            .spawn(move || watcher.watch_main())
        {
            tracing::error!(error = %e, "could not start the file watcher; folders are indexed on demand only");
        }
    }

    /// Keeps the index live: follows the roots and excluded patterns, and queues the changes that matter.
    fn watch_main(self: Arc<Self>) {
        // Watcher paths are canonical; compare the data directory the same way (it exists once the engine
        // has opened).
        let _ = self.engine();
        let data_dir =
            std::fs::canonicalize(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        let mut watching = Watching::new(&data_dir);
        let mut seen = 0;
        let mut refreshed = Instant::now();
        while !self.scheduler.is_shut_down() {
            let version = self.roots_version.load(Ordering::SeqCst);
            if version != seen || refreshed.elapsed() >= ROOTS_REFRESH {
                let (roots, excludes) = match self.engine() {
                    Ok(engine) => (
                        engine
                            .folders()
                            .map(|f| f.into_iter().map(|f| f.path).collect())
                            .unwrap_or_default(),
                        engine.config().settings.excludes.clone(),
                    ),
                    Err(_) => (Vec::new(), Vec::new()),
                };
                watching.update(roots, &excludes);
                *lock(&self.watch_problem) = watching.problem();
                seen = version;
                refreshed = Instant::now();
                *lock(&self.watched_version) = version;
                self.watched_cv.notify_all();
            }
            match watching.next(Duration::from_millis(200)) {
                Some(Wanted::Paths(paths)) => self.scheduler.queue_paths(paths),
                Some(Wanted::Rescan) => self.scheduler.queue_full(),
                None => {}
            }
        }
    }

    /// Tells the watcher that the roots or excludes changed, and waits (briefly) until it watches them.
    fn rewatch(&self) {
        let version = self.roots_version.fetch_add(1, Ordering::SeqCst) + 1;
        let deadline = Instant::now() + WATCH_START_WAIT;
        let mut watched = lock(&self.watched_version);
        while *watched < version && !self.scheduler.is_shut_down() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!("the file watcher is slow to start; changes made now may wait for the next check");
                break;
            }
            watched = self
                .watched_cv
                .wait_timeout(watched, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
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
                Slot::Failed(e) => return Err(anyhow::Error::new(e.clone())),
            }
        }
    }

    // ---------- worker ----------

    /// Opens the engine. A missing model is downloaded from the Hugging Face Hub (with `sift://model-download`
    /// progress) only when `download` is set: that is the user's click on the first-run screen, never a start.
    fn open_engine(&self, download: bool) -> Result<Engine, AppError> {
        let opened =
            engine_config(&self.data_dir, None, self.worker.as_ref()).and_then(Engine::open);
        let missing = match opened {
            Ok(engine) => return Ok(engine),
            Err(e @ sift_core::Error::ModelMissing { .. }) if download => e,
            Err(e) => return Err(open_error(&e)),
        };
        let settings = sift_core::Settings::load(&self.data_dir).map_err(|e| open_error(&e))?;
        let spec = model::spec(&settings.model).map_err(|e| open_error(&e))?;
        let precision = settings.precision.unwrap_or(spec.default_precision);
        tracing::info!(model = %spec.id, "downloading the model");
        self.downloads
            .fetch(&self.data_dir, &spec, precision, &mut |p| {
                self.emit(AppEvent::ModelDownload(p.into()))
            })
            .map_err(|e| {
                AppError::new(
                    ErrorKind::ModelMissing,
                    &e.message,
                    format!("{}: {}", errors::chain(&missing), e.details),
                )
            })?;
        engine_config(&self.data_dir, None, self.worker.as_ref())
            .and_then(Engine::open)
            .map_err(|e| open_error(&e))
    }

    /// Tries again to open the engine after it failed (the first-run screen's "Retry", or "Download the
    /// model" with `download`). Nothing to do when it is open.
    pub fn retry_engine(&self, download: bool) -> Result<()> {
        let _serial = lock(&self.settings_lock);
        if self.engine().is_ok() {
            return Ok(());
        }
        match self.open_engine(download) {
            Ok(engine) => {
                let has_folders = engine.folders().map(|f| !f.is_empty()).unwrap_or(false);
                self.set_slot(Slot::Ready(Arc::new(engine)));
                self.roots_version.fetch_add(1, Ordering::SeqCst);
                if has_folders {
                    self.scheduler.queue_full();
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e.details, "could not open the index");
                self.set_slot(Slot::Failed(e.clone()));
                Err(e.into())
            }
        }
    }

    fn worker_main(self: Arc<Self>) {
        let slot = match self.open_engine(false) {
            Ok(engine) => {
                if engine.folders().map(|f| !f.is_empty()).unwrap_or(false) {
                    self.scheduler.queue_full();
                }
                Slot::Ready(Arc::new(engine))
            }
            Err(e) => {
                tracing::error!(error = %e.details, "could not open the index");
                Slot::Failed(e)
            }
        };
        self.set_slot(slot);
        self.scheduler.run(
            |work| match self.engine() {
                Ok(engine) => self.run_pass(&engine, work),
                Err(_) => Ok(()),
            },
            |end| {
                if end != PassEnd::Cancelled {
                    self.progress.clear();
                }
            },
        );
    }

    fn run_pass(&self, engine: &Engine, work: &Work) -> sift_core::Result<()> {
        let roots: Vec<PathBuf> = engine.folders()?.into_iter().map(|f| f.path).collect();
        self.progress.retain(&roots);
        let touched = roots
            .iter()
            .filter(|r| work.full || work.paths.iter().any(|p| p.starts_with(r)));
        self.progress.queue(touched.map(PathBuf::as_path));
        let mut on_progress = |p: &Progress| self.on_progress(engine, p);
        let cancel = self.scheduler.cancel_flag();
        let report = if work.full {
            engine.index(&mut on_progress, cancel)?
        } else {
            let paths: Vec<PathBuf> = work.paths.iter().cloned().collect();
            engine.index_containing(&paths, &mut on_progress, cancel)?
        };
        tracing::info!(
            full = work.full,
            changed_paths = work.paths.len(),
            indexed = report.files_indexed,
            unchanged = report.files_unchanged,
            removed = report.files_removed,
            problems = report.files_skipped + report.files_failed,
            seconds = report.seconds,
            "indexing pass finished"
        );
        Ok(())
    }

    fn on_progress(&self, engine: &Engine, p: &Progress) {
        let Some(mut event) = self.progress.update(p, Instant::now()) else {
            return;
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

    /// Stops the worker (app exit): cancels a running pass and waits up to `timeout` for it to stop, so the
    /// vector index is saved.
    pub fn shutdown(&self, timeout: Duration) {
        self.scheduler.shutdown(timeout);
    }

    /// Indexing passes started since the app started (for tests and diagnostics: an idle app runs none).
    pub fn passes(&self) -> u64 {
        self.scheduler.passes()
    }

    // ---------- commands ----------

    pub fn status(&self) -> Result<dto::Status> {
        let engine = self.engine()?;
        let s = engine.status()?;
        let state = self.scheduler.state();
        let last_error = self.scheduler.last_error();
        Ok(dto::Status {
            model: s.model,
            precision: s.precision,
            dim: s.dim,
            provider: s.provider,
            folders: s.counts.folders,
            files: s.counts.indexed_files,
            passages: s.counts.passages,
            chunks: s.counts.chunks,
            vectors: s.index_vectors as u64,
            failed: s.counts.skipped_files + s.counts.failed_files,
            indexing: state.indexing(),
            paused: state.paused,
            last_error: last_error.as_ref().map(|e| e.message.clone()),
            last_error_details: last_error.map(|e| e.details),
            warning: lock(&self.watch_problem).clone(),
            generator: self.asker.state(),
        })
    }

    pub fn list_folders(&self) -> Result<Vec<dto::FolderInfo>> {
        // Without an engine there is nothing to list; `status` carries the error for the UI.
        let Ok(engine) = self.engine() else {
            return Ok(Vec::new());
        };
        let folders = engine.folders()?;
        Ok(self
            .progress
            .folder_infos(&folders, self.scheduler.is_paused(), Instant::now()))
    }

    pub fn add_folders(&self, paths: &[String]) -> Result<()> {
        let engine = self.engine()?;
        let mut failed: Vec<AppError> = Vec::new();
        for raw in paths {
            let path = PathBuf::from(raw);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| raw.clone());
            if !path.is_absolute() {
                failed.push(AppError::new(
                    ErrorKind::Other,
                    format!("“{name}” cannot be added: it is not a full path"),
                    format!("{raw} is not an absolute path"),
                ));
                continue;
            }
            let added = match std::fs::canonicalize(&path) {
                Err(e) => Err(AppError::new(
                    ErrorKind::Other,
                    format!("“{name}” cannot be added: {}", io_reason(&e)),
                    format!("cannot add {raw}: {e}"),
                )),
                Ok(canonical) => {
                    // A new root that contains existing ones absorbs them: that must not race a pass over them.
                    let absorbs = engine
                        .folders()?
                        .iter()
                        .any(|f| f.path.starts_with(&canonical));
                    let _hold = absorbs.then(|| self.scheduler.hold());
                    engine
                        .add_folder(&canonical)
                        .map_err(|e| errors::from_core(&e))
                }
            };
            match added {
                Ok(folder) => self.progress.queue([folder.path.as_path()]),
                Err(e) => failed.push(e),
            }
        }
        if failed.len() < paths.len() {
            // Watch first, then scan: a change made after the scan is then always seen.
            self.rewatch();
            self.scheduler.queue_full();
        }
        match failed.len() {
            0 => Ok(()),
            1 => Err(failed.remove(0).into()),
            n => Err(AppError::new(
                ErrorKind::Other,
                format!(
                    "{n} of {} items could not be added; the details say why",
                    paths.len()
                ),
                failed
                    .iter()
                    .map(|e| e.details.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .into()),
        }
    }

    pub fn remove_folder(&self, path: &str) -> Result<()> {
        let engine = self.engine()?;
        let _hold = self.scheduler.hold();
        engine.remove_folder(Path::new(path))?;
        self.progress.remove(Path::new(path));
        self.roots_version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    pub fn pause(&self) {
        self.scheduler.pause();
    }

    pub fn is_paused(&self) -> bool {
        self.scheduler.is_paused()
    }

    /// The app is exiting (see [`Core::shutdown`]).
    pub fn is_shut_down(&self) -> bool {
        self.scheduler.is_shut_down()
    }

    pub fn resume(&self) {
        self.scheduler.resume();
    }

    pub fn search(
        &self,
        query: &str,
        limit: usize,
        folder: Option<String>,
        kinds: Vec<String>,
    ) -> Result<dto::SearchResponse> {
        let engine = self.engine()?;
        let options = SearchOptions {
            limit: limit.min(200),
            ..search_options(folder, &kinds)
        };
        let response = engine.search(query, &options)?;
        self.remember_shown(response.results.iter().map(|h| h.path.as_path()));
        Ok(response.into())
    }

    /// Ask mode: the answer model drafts an answer from the top passages of a search with these filters; its
    /// text streams as `sift://ask-progress` events tagged with the UI's `id`, and the checked answer is the
    /// result. A running question is stopped first (one at a time); [`Core::stop_ask`] stops this one.
    pub fn ask(
        &self,
        id: u64,
        question: &str,
        folder: Option<String>,
        kinds: Vec<String>,
    ) -> Result<dto::AskAnswer> {
        let engine = self.engine()?;
        let options = AskOptions {
            search: search_options(folder, &kinds),
            ..AskOptions::default()
        };
        let response = self.asker.ask(|generator, cancel| {
            let mut on_text = |text: &str| {
                self.emit(AppEvent::AskProgress(dto::AskProgressEvent {
                    id,
                    text: text.to_string(),
                }))
            };
            Ok(engine.ask(question, &options, generator, Some(cancel), &mut on_text)?)
        })?;
        self.remember_shown(response.search.results.iter().map(|h| h.path.as_path()));
        Ok(dto::AskAnswer::new(id, response))
    }

    /// Stops the running question; whether one was running.
    pub fn stop_ask(&self) -> bool {
        self.asker.stop()
    }

    /// The answer model's state (also in `status`).
    pub fn generator_state(&self) -> dto::GeneratorState {
        self.asker.state()
    }

    /// Remembers the real paths behind the strings the UI shows, for names that are not UTF-8.
    fn remember_shown<'a>(&self, paths: impl Iterator<Item = &'a Path>) {
        let mut shown = lock(&self.shown_paths);
        for p in paths.filter(|p| p.to_str().is_none()) {
            if shown.len() >= 4096 {
                shown.clear();
            }
            shown.insert(dto::path_string(p), p.to_path_buf());
        }
    }

    /// The real path behind a path string from the UI.
    fn real_path(&self, shown: &str) -> PathBuf {
        lock(&self.shown_paths)
            .get(shown)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(shown))
    }

    pub fn failed_files(&self, folder: Option<String>) -> Result<Vec<dto::FailedFile>> {
        let engine = self.engine()?;
        let files = engine.problem_files(folder.as_deref().map(Path::new))?;
        self.remember_shown(files.iter().map(|f| f.path.as_path()));
        Ok(files
            .into_iter()
            .map(|f| dto::FailedFile {
                path: dto::path_string(&f.path),
                status: match f.status {
                    FileStatus::Skipped => dto::ProblemStatus::Skipped,
                    _ => dto::ProblemStatus::Failed,
                },
                reason: if f.reason.is_empty() {
                    f.status.to_string()
                } else {
                    f.reason
                },
            })
            .collect())
    }

    /// File types among the searchable files, with counts (the UI's type filters). Empty without an engine,
    /// like `list_folders`.
    pub fn indexed_kinds(&self) -> Result<Vec<dto::KindCount>> {
        let Ok(engine) = self.engine() else {
            return Ok(Vec::new());
        };
        Ok(engine
            .indexed_extensions()?
            .into_iter()
            .map(|(ext, files)| dto::KindCount { ext, files })
            .collect())
    }

    /// Opens or reveals `path`, which must be a file in the index (anything else is refused). Open also
    /// refuses files that are not indexed documents (skipped or failed ones) and anything that could run as a
    /// program (see [`opener::refuse_to_open`]); reveal only shows the file in its folder.
    pub fn open(&self, action: Action, path: &str) -> Result<()> {
        let engine = self.engine()?;
        let p = self.real_path(path);
        // Any file Sift recorded may be shown in its folder; only indexed documents are opened.
        let status = if p.is_absolute() {
            engine.file_status(&p)?
        } else {
            None
        };
        let Some(status) = status else {
            bail!("Sift only opens files it has indexed, and {path} is not one of them");
        };
        if !p.is_file() {
            bail!("{path} no longer exists");
        }
        if action == Action::Open {
            if let Some(reason) = opener::refuse_to_open(&p) {
                bail!("{reason}");
            }
            if status.is_problem() {
                bail!(
                    "Sift did not index {path}, so it will not open it; use \"Show in folder\" instead."
                );
            }
        }
        self.opener.run(action, &p)
    }

    /// The models the settings screen lists, with their state.
    pub fn list_models(&self) -> Result<Vec<dto::ModelEntry>> {
        crate::models::list(&self.data_dir)
    }

    /// Downloads a model (the user's click in the settings list), with `sift://model-download` progress.
    /// It is not switched to: choosing it is a settings change.
    pub fn download_model(&self, id: &str) -> Result<()> {
        let spec = model::spec(id)?;
        let settings = sift_core::Settings::load(&self.data_dir)?;
        let precision = if settings.model == spec.id {
            settings.precision.unwrap_or(spec.default_precision)
        } else {
            spec.default_precision
        };
        self.downloads
            .fetch(&self.data_dir, &spec, precision, &mut |p| {
                self.emit(AppEvent::ModelDownload(p.into()))
            })
            .map_err(anyhow::Error::new)
    }

    /// The settings' "Answer models" list, the one Ask uses marked.
    pub fn list_answer_models(&self) -> Result<Vec<dto::AnswerModelEntry>> {
        Ok(crate::models::list_answer_models(
            self.asker.chosen().as_deref(),
        ))
    }

    /// Downloads an answer model (the user's click in the settings list), with `sift://model-download`
    /// progress, through the same one-at-a-time downloads. Ask switches to it at once when it is the model
    /// Ask should now use (none was chosen and it is the largest, or it is the chosen one).
    pub fn download_answer_model(&self, id: &str) -> Result<()> {
        let spec = model::generator_spec(id)?;
        self.downloads
            .fetch_answer_model(&spec, &mut |p| self.emit(AppEvent::ModelDownload(p.into())))?;
        self.asker.reset();
        Ok(())
    }

    /// Makes `id` the model Ask uses (saved in the settings) and loads it in the background.
    pub fn use_answer_model(&self, id: &str) -> Result<()> {
        let _serial = lock(&self.settings_lock);
        if let Err(e) = sift_core::generate::locate(Some(id)) {
            let name = model::generator_spec(id).map_or_else(|_| id.to_string(), |s| s.name);
            return Err(AppError::new(
                ErrorKind::Other,
                format!("{name} is not installed; download it first."),
                errors::chain(&e),
            )
            .into());
        }
        let mut settings = sift_core::Settings::load(&self.data_dir)?;
        settings.answer_model = Some(id.to_string());
        settings.save(&self.data_dir)?;
        self.asker.reset();
        Ok(())
    }

    /// Deletes a downloaded answer model (not while it downloads); Ask moves to the next choice.
    pub fn remove_answer_model(&self, id: &str) -> Result<()> {
        let spec = model::generator_spec(id)?;
        if self.downloads.is_running(&spec.id) {
            return Err(AppError::new(
                ErrorKind::Other,
                format!("{} is downloading; cancel the download first.", spec.name),
                format!("{} is downloading", spec.id),
            )
            .into());
        }
        crate::models::remove_answer_model(&spec)?;
        self.asker.reset();
        Ok(())
    }

    /// Stops the running model download, keeping its partial file; whether one was running.
    pub fn cancel_model_download(&self) -> bool {
        self.downloads.cancel()
    }

    pub fn get_settings(&self) -> Result<dto::Settings> {
        settings::load(&self.data_dir)
    }

    /// Saves settings. A change of model or precision (downloaded first if not installed), threads or
    /// excluded patterns reopens the engine with them; model, precision and exclude changes then re-index.
    pub fn set_settings(&self, new: dto::Settings) -> Result<()> {
        let _serial = lock(&self.settings_lock);
        let old = sift_core::Settings::load(&self.data_dir)?;
        let engine_ok = self.engine().is_ok();
        let Some(plan) = settings::plan(&old, &new, engine_ok)? else {
            return Ok(());
        };
        self.downloads
            .fetch(&self.data_dir, &plan.spec, plan.precision, &mut |p| {
                self.emit(AppEvent::ModelDownload(p.into()))
            })?;
        let _hold = self.scheduler.hold();
        let engine = engine_config(
            &self.data_dir,
            Some(plan.next.clone()),
            self.worker.as_ref(),
        )
        .and_then(Engine::open)
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("could not switch to {}", plan.spec.name))
        })?;
        plan.next.save(&self.data_dir)?;
        let has_folders = engine.folders().map(|f| !f.is_empty()).unwrap_or(false);
        self.set_slot(Slot::Ready(Arc::new(engine)));
        self.roots_version.fetch_add(1, Ordering::SeqCst);
        if plan.reindex && has_folders {
            self.scheduler.queue_full();
        }
        Ok(())
    }

    /// What the tray shows (`tray.rs`). Never waits for the engine to open.
    pub fn tray_input(&self) -> TrayInput {
        let engine = match &*lock(&self.slot) {
            Slot::Opening => return TrayInput::Starting,
            Slot::Failed(_) => return TrayInput::Failed,
            Slot::Ready(e) => Arc::clone(e),
        };
        let state = self.scheduler.state();
        match engine.folders() {
            Ok(folders) => TrayInput::Ready {
                folders: self
                    .progress
                    .folder_infos(&folders, state.paused, Instant::now()),
                indexing: state.indexing(),
                paused: state.paused,
            },
            Err(e) => {
                tracing::warn!(error = %e, "could not read the folders for the tray");
                TrayInput::Failed
            }
        }
    }

    /// The last indexing error, if the last pass failed.
    pub fn last_error(&self) -> Option<AppError> {
        self.scheduler.last_error()
    }
}
