//! # sift-app
//!
//! The Sift desktop app: a Tauri 2 shell over `sift-core`. The web UI (`ui/`, built to `ui/dist`) talks to
//! it through the commands below and two events; `ui/src/api.ts` is the contract, and [`dto`] mirrors it.
//!
//! | Command | Does |
//! |---|---|
//! | `status` | engine status (model, precision, provider, counts incl. vectors, indexing/paused, last error, watch warning); an error when the engine is unavailable |
//! | `list_folders` | roots with per-folder progress, state and ETA |
//! | `add_folders { paths }` | adds roots and queues an indexing pass |
//! | `remove_folder { path }` | removes a root and its index entries (files on disk are never touched) |
//! | `pause_indexing`, `resume_indexing` | pause / resume the background indexer |
//! | `search { query, limit, folder, kinds }` | hybrid search |
//! | `failed_files { folder }` | skipped or failed files with reasons and status (`skipped` / `failed`) |
//! | `indexed_kinds` | extensions of the searchable files with file counts, most common first (type filters) |
//! | `open_path { path }`, `reveal_path { path }` | open / show in folder, only for files in the index; open refuses programs and scripts |
//! | `get_settings`, `set_settings { settings }` | model, precision, threads, excluded patterns |
//!
//! Events: `sift://progress` ([`dto::ProgressEvent`]) and `sift://model-download` ([`dto::ModelDownloadEvent`]).
//!
//! Commands are thin: they run [`core::Core`] methods on Tauri's blocking thread pool, so neither the UI thread
//! nor the async runtime ever waits for the engine.

pub mod core;
pub mod dto;
pub mod opener;
pub mod progress;
pub mod scheduler;
pub mod settings;
pub mod watching;

use std::time::Duration;

use tauri::{Emitter, Manager, Runtime, State};

pub use crate::core::{AppConfig, AppEvent, AppState, Core, Emit};
use crate::opener::Action;

/// Event with indexing progress for one folder.
pub const PROGRESS_EVENT: &str = "sift://progress";
/// Event with model download progress.
pub const MODEL_DOWNLOAD_EVENT: &str = "sift://model-download";

/// Runs `f` on the blocking pool; errors become the message string the UI shows.
async fn blocking<T, F>(state: State<'_, AppState>, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&Core) -> anyhow::Result<T> + Send + 'static,
{
    let core = AppState::clone(&state);
    match tauri::async_runtime::spawn_blocking(move || f(&core)).await {
        Ok(result) => result.map_err(|e| format!("{e:#}")),
        Err(e) => Err(format!("internal error: {e}")),
    }
}

#[tauri::command]
async fn status(state: State<'_, AppState>) -> Result<dto::Status, String> {
    blocking(state, |c| c.status()).await
}

#[tauri::command]
async fn list_folders(state: State<'_, AppState>) -> Result<Vec<dto::FolderInfo>, String> {
    blocking(state, |c| c.list_folders()).await
}

#[tauri::command]
async fn add_folders(state: State<'_, AppState>, paths: Vec<String>) -> Result<(), String> {
    blocking(state, move |c| c.add_folders(&paths)).await
}

#[tauri::command]
async fn remove_folder(state: State<'_, AppState>, path: String) -> Result<(), String> {
    blocking(state, move |c| c.remove_folder(&path)).await
}

#[tauri::command]
async fn pause_indexing(state: State<'_, AppState>) -> Result<(), String> {
    state.pause();
    Ok(())
}

#[tauri::command]
async fn resume_indexing(state: State<'_, AppState>) -> Result<(), String> {
    state.resume();
    Ok(())
}

#[tauri::command]
async fn search(
    state: State<'_, AppState>,
    query: String,
    limit: usize,
    folder: Option<String>,
    kinds: Vec<String>,
) -> Result<dto::SearchResponse, String> {
    blocking(state, move |c| c.search(&query, limit, folder, kinds)).await
}

#[tauri::command]
async fn failed_files(
    state: State<'_, AppState>,
    folder: Option<String>,
) -> Result<Vec<dto::FailedFile>, String> {
    blocking(state, move |c| c.failed_files(folder)).await
}

#[tauri::command]
async fn indexed_kinds(state: State<'_, AppState>) -> Result<Vec<dto::KindCount>, String> {
    blocking(state, |c| c.indexed_kinds()).await
}

#[tauri::command]
async fn open_path(state: State<'_, AppState>, path: String) -> Result<(), String> {
    blocking(state, move |c| c.open(Action::Open, &path)).await
}

#[tauri::command]
async fn reveal_path(state: State<'_, AppState>, path: String) -> Result<(), String> {
    blocking(state, move |c| c.open(Action::Reveal, &path)).await
}

#[tauri::command]
async fn get_settings(state: State<'_, AppState>) -> Result<dto::Settings, String> {
    blocking(state, |c| c.get_settings()).await
}

#[tauri::command]
async fn set_settings(state: State<'_, AppState>, settings: dto::Settings) -> Result<(), String> {
    blocking(state, move |c| c.set_settings(settings)).await
}

/// Registers the plugin, the commands and the (not yet started) state on `builder`. Generic over the
/// runtime so tests can pass `tauri::test::mock_builder()`; use [`build`] to get a running app.
pub fn setup<R: Runtime>(builder: tauri::Builder<R>, config: AppConfig) -> tauri::Builder<R> {
    tracing::info!(data_dir = %config.data_dir.display(), "starting Sift");
    builder
        .plugin(tauri_plugin_dialog::init())
        .manage(Core::new(config))
        .invoke_handler(tauri::generate_handler![
            status,
            list_folders,
            add_folders,
            remove_folder,
            pause_indexing,
            resume_indexing,
            search,
            failed_files,
            indexed_kinds,
            open_path,
            reveal_path,
            get_settings,
            set_settings,
        ])
}

/// Builds the app and starts the engine and the indexing worker, with events going to the app's webviews.
/// (Not done in a `Builder::setup` hook: that only runs once the event loop starts, which the mock runtime
/// in tests never does.)
pub fn build<R: Runtime>(
    builder: tauri::Builder<R>,
    config: AppConfig,
    context: tauri::Context<R>,
) -> tauri::Result<tauri::App<R>> {
    let app = setup(builder, config).build(context)?;
    let handle = app.handle().clone();
    let emit: Emit = std::sync::Arc::new(move |event| {
        let sent = match event {
            AppEvent::Progress(p) => handle.emit(PROGRESS_EVENT, p),
            AppEvent::ModelDownload(d) => handle.emit(MODEL_DOWNLOAD_EVENT, d),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not send an event to the UI");
        }
    });
    app.state::<AppState>().start(emit);
    Ok(app)
}

/// Entry point of the `sift-app` binary.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let app = match build(
        tauri::Builder::default(),
        AppConfig::from_env(),
        tauri::generate_context!(),
    ) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Sift could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Let a running indexing pass stop at a batch boundary and save the vector index.
            if let Some(state) = handle.try_state::<AppState>() {
                state.shutdown(Duration::from_secs(5));
            }
        }
    });
}
