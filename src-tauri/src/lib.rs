//! # sift-app
//!
//! The Sift desktop app: a Tauri 2 shell over `sift-core`. The web UI (`ui/`, built to `ui/dist`) talks to
//! it through the commands below and two events; `ui/src/api.ts` is the contract, and [`dto`] mirrors it.
//!
//! | Command | Does |
//! |---|---|
//! | `about` | the version (the same as `sift --version`) and the data directory |
//! | `status` | engine status (model, precision, provider, counts incl. vectors, indexing/paused, last error, watch warning); an error (kind `modelMissing`, `runtimeMissing` or `engineFailed`) when the engine is unavailable |
//! | `list_folders` | roots with per-folder progress, state and ETA |
//! | `add_folders { paths }` | adds roots and queues an indexing pass |
//! | `remove_folder { path }` | removes a root and its index entries (files on disk are never touched) |
//! | `pause_indexing`, `resume_indexing` | pause / resume the background indexer |
//! | `search { query, limit, folder, kinds }` | hybrid search |
//! | `failed_files { folder }` | skipped or failed files with reasons and status (`skipped` / `failed`) |
//! | `indexed_kinds` | extensions of the searchable files with file counts, most common first (type filters) |
//! | `open_path { path }`, `reveal_path { path }` | open / show in folder, only for files in the index; open refuses programs and scripts |
//! | `get_settings`, `set_settings { settings }` | model, precision, threads, excluded patterns |
//! | `list_models` | every model with description, languages, dimension, download size, installed / active / bundled / downloadable |
//! | `download_model { id }` | downloads a model on the user's click (progress on `sift://model-download`); one at a time |
//! | `list_answer_models` | the answer models (manifest and installed) with parameters, quantization, download size, expected speed, licence, installed / active (the one Ask uses) / removable |
//! | `download_answer_model { id }` | downloads an answer model on the user's click, through the same one-at-a-time downloads and events; Ask switches to it when it is now the choice |
//! | `use_answer_model { id }` | saves it as the settings' `answer_model`; Ask loads it in the background (`status.generator`: loading → ready) |
//! | `remove_answer_model { id }` | deletes a downloaded answer model's folder in the model cache (nothing else) |
//! | `cancel_model_download` | stops the running download, keeping its partial file so the next try resumes |
//! | `retry_engine { download }` | opens the engine again after it failed (first-run screen); `download` fetches a missing model first |
//! | `get_desktop_settings`, `set_desktop_settings { settings }` | close to tray, quick-search shortcut, start at login (`desktop.rs`); set returns the settings now in effect, with a warning when the shortcut could not be registered |
//! | `tray_state` | the tray's model and its menu as rendered (`tray.rs`) |
//! | `show_quick_search`, `hide_quick_search` | the quick-search window (`quick`) |
//! | `ask { id, question, folder, kinds }` | Ask mode (`ask.rs`): the answer model drafts an answer from the top passages, text streaming on `sift://ask-progress`; resolves to the checked answer with its passages; a running question is stopped first |
//! | `stop_ask` | stops the running question (its answer ends within one token, as not found / stopped) |
//!
//! Every command fails with a [`dto::AppError`]: one sentence for the user, the chain as details (`errors.rs`).
//!
//! Events: `sift://progress` ([`dto::ProgressEvent`]), `sift://model-download` ([`dto::ModelDownloadEvent`]) and
//! `sift://ask-progress` ([`dto::AskProgressEvent`]).
//!
//! Commands are thin: they run [`core::Core`] methods on Tauri's blocking thread pool, so neither the UI thread
//! nor the async runtime ever waits for the engine.

pub mod ask;
pub mod core;
pub mod desktop;
pub mod dto;
pub mod errors;
pub mod models;
pub mod opener;
pub mod progress;
pub mod scheduler;
pub mod settings;
pub mod tray;
pub mod watching;

use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager, Runtime, State};

pub use crate::core::{AppConfig, AppEvent, AppState, Core, Emit};
use crate::dto::{AppError, ErrorKind};
use crate::opener::Action;

/// Event with indexing progress for one folder.
pub const PROGRESS_EVENT: &str = "sift://progress";
/// Event with model download progress.
pub const MODEL_DOWNLOAD_EVENT: &str = "sift://model-download";
/// Event with the text of an answer as it is written.
pub const ASK_PROGRESS_EVENT: &str = "sift://ask-progress";

/// Runs `f` on the blocking pool. An error reaches the UI as one sentence with the chain as details
/// (`errors.rs`), and the chain goes to the log.
async fn blocking<T, F>(
    command: &'static str,
    state: State<'_, AppState>,
    f: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&Core) -> anyhow::Result<T> + Send + 'static,
{
    let core = AppState::clone(&state);
    let error = match tauri::async_runtime::spawn_blocking(move || f(&core)).await {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(e)) => errors::from_anyhow(&e),
        Err(e) => AppError::new(
            ErrorKind::Other,
            "Sift hit an internal error; try again, or restart Sift if it keeps happening",
            format!("internal error: {e}"),
        ),
    };
    tracing::warn!(command, error = %error.details, "command failed");
    Err(error)
}

/// What the About line shows: the version (the same as `sift --version`: both crates take the workspace's) and
/// where the index lives.
#[tauri::command]
fn about(state: State<'_, AppState>) -> dto::About {
    dto::About {
        version: env!("CARGO_PKG_VERSION").to_string(),
        data_dir: state.data_dir().display().to_string(),
    }
}

#[tauri::command]
async fn status(state: State<'_, AppState>) -> Result<dto::Status, AppError> {
    blocking("status", state, |c| c.status()).await
}

#[tauri::command]
async fn list_folders(state: State<'_, AppState>) -> Result<Vec<dto::FolderInfo>, AppError> {
    blocking("list_folders", state, |c| c.list_folders()).await
}

#[tauri::command]
async fn add_folders(state: State<'_, AppState>, paths: Vec<String>) -> Result<(), AppError> {
    blocking("add_folders", state, move |c| c.add_folders(&paths)).await
}

#[tauri::command]
async fn remove_folder(state: State<'_, AppState>, path: String) -> Result<(), AppError> {
    blocking("remove_folder", state, move |c| c.remove_folder(&path)).await
}

#[tauri::command]
async fn pause_indexing<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), AppError> {
    state.pause();
    nudge_tray(&app);
    Ok(())
}

#[tauri::command]
async fn resume_indexing<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), AppError> {
    state.resume();
    nudge_tray(&app);
    Ok(())
}

fn nudge_tray<R: Runtime>(app: &AppHandle<R>) {
    if let Some(d) = app.try_state::<desktop::Desktop>() {
        d.nudge();
    }
}

/// A Tauri error from the desktop integration as one sentence for the user.
fn window_error(what: &str, e: tauri::Error) -> AppError {
    let error = AppError::new(
        ErrorKind::Other,
        format!("Sift could not {what}; try again, or restart Sift if it keeps happening"),
        format!("{what}: {e}"),
    );
    tracing::warn!(error = %error.details, "desktop command failed");
    error
}

#[tauri::command]
async fn get_desktop_settings<R: Runtime>(
    app: AppHandle<R>,
) -> Result<dto::DesktopSettings, AppError> {
    desktop::settings(&app)
}

#[tauri::command]
async fn set_desktop_settings<R: Runtime>(
    app: AppHandle<R>,
    settings: dto::DesktopSettings,
) -> Result<dto::DesktopSettings, AppError> {
    desktop::apply(&app, settings)
}

#[tauri::command]
async fn tray_state<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<desktop::TrayState, AppError> {
    let core = AppState::clone(&state);
    desktop::tray_state(&app, &core).map_err(|e| window_error("read the tray menu", e))
}

#[tauri::command]
async fn show_quick_search<R: Runtime>(app: AppHandle<R>) -> Result<(), AppError> {
    desktop::show_quick(&app).map_err(|e| window_error("show quick search", e))
}

#[tauri::command]
async fn hide_quick_search<R: Runtime>(app: AppHandle<R>) -> Result<(), AppError> {
    desktop::hide_quick(&app).map_err(|e| window_error("hide quick search", e))
}

#[tauri::command]
async fn search(
    state: State<'_, AppState>,
    query: String,
    limit: usize,
    folder: Option<String>,
    kinds: Vec<String>,
) -> Result<dto::SearchResponse, AppError> {
    blocking("search", state, move |c| {
        c.search(&query, limit, folder, kinds)
    })
    .await
}

#[tauri::command]
async fn ask(
    state: State<'_, AppState>,
    id: u64,
    question: String,
    folder: Option<String>,
    kinds: Vec<String>,
) -> Result<dto::AskAnswer, AppError> {
    blocking("ask", state, move |c| c.ask(id, &question, folder, kinds)).await
}

#[tauri::command]
async fn stop_ask(state: State<'_, AppState>) -> Result<bool, AppError> {
    Ok(state.stop_ask())
}

#[tauri::command]
async fn failed_files(
    state: State<'_, AppState>,
    folder: Option<String>,
) -> Result<Vec<dto::FailedFile>, AppError> {
    blocking("failed_files", state, move |c| c.failed_files(folder)).await
}

#[tauri::command]
async fn indexed_kinds(state: State<'_, AppState>) -> Result<Vec<dto::KindCount>, AppError> {
    blocking("indexed_kinds", state, |c| c.indexed_kinds()).await
}

#[tauri::command]
async fn open_path(state: State<'_, AppState>, path: String) -> Result<(), AppError> {
    blocking("open_path", state, move |c| c.open(Action::Open, &path)).await
}

#[tauri::command]
async fn reveal_path(state: State<'_, AppState>, path: String) -> Result<(), AppError> {
    blocking("reveal_path", state, move |c| c.open(Action::Reveal, &path)).await
}

#[tauri::command]
async fn retry_engine(state: State<'_, AppState>, download: bool) -> Result<(), AppError> {
    blocking("retry_engine", state, move |c| c.retry_engine(download)).await
}

#[tauri::command]
async fn list_models(state: State<'_, AppState>) -> Result<Vec<dto::ModelEntry>, AppError> {
    blocking("list_models", state, |c| c.list_models()).await
}

#[tauri::command]
async fn download_model(state: State<'_, AppState>, id: String) -> Result<(), AppError> {
    blocking("download_model", state, move |c| c.download_model(&id)).await
}

#[tauri::command]
async fn list_answer_models(
    state: State<'_, AppState>,
) -> Result<Vec<dto::AnswerModelEntry>, AppError> {
    blocking("list_answer_models", state, |c| c.list_answer_models()).await
}

#[tauri::command]
async fn download_answer_model(state: State<'_, AppState>, id: String) -> Result<(), AppError> {
    blocking("download_answer_model", state, move |c| {
        c.download_answer_model(&id)
    })
    .await
}

#[tauri::command]
async fn use_answer_model(state: State<'_, AppState>, id: String) -> Result<(), AppError> {
    blocking("use_answer_model", state, move |c| c.use_answer_model(&id)).await
}

#[tauri::command]
async fn remove_answer_model(state: State<'_, AppState>, id: String) -> Result<(), AppError> {
    blocking("remove_answer_model", state, move |c| {
        c.remove_answer_model(&id)
    })
    .await
}

#[tauri::command]
async fn cancel_model_download(state: State<'_, AppState>) -> Result<bool, AppError> {
    Ok(state.cancel_model_download())
}

#[tauri::command]
async fn get_settings(state: State<'_, AppState>) -> Result<dto::Settings, AppError> {
    blocking("get_settings", state, |c| c.get_settings()).await
}

#[tauri::command]
async fn set_settings(state: State<'_, AppState>, settings: dto::Settings) -> Result<(), AppError> {
    blocking("set_settings", state, move |c| c.set_settings(settings)).await
}

/// Registers the plugin, the commands and the (not yet started) state on `builder`. Generic over the
/// runtime so tests can pass `tauri::test::mock_builder()`; use [`build`] to get a running app.
pub fn setup<R: Runtime>(builder: tauri::Builder<R>, config: AppConfig) -> tauri::Builder<R> {
    tracing::info!(data_dir = %config.data_dir.display(), "starting Sift");
    builder
        .plugin(tauri_plugin_dialog::init())
        .manage(desktop::Desktop::new(&config.data_dir))
        .manage(Core::new(config))
        .invoke_handler(tauri::generate_handler![
            about,
            status,
            list_folders,
            add_folders,
            remove_folder,
            pause_indexing,
            resume_indexing,
            search,
            ask,
            stop_ask,
            failed_files,
            indexed_kinds,
            open_path,
            reveal_path,
            get_settings,
            set_settings,
            retry_engine,
            list_models,
            download_model,
            list_answer_models,
            download_answer_model,
            use_answer_model,
            remove_answer_model,
            cancel_model_download,
            get_desktop_settings,
            set_desktop_settings,
            tray_state,
            show_quick_search,
            hide_quick_search,
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
            AppEvent::Progress(p) => {
                nudge_tray(&handle);
                handle.emit(PROGRESS_EVENT, p)
            }
            AppEvent::ModelDownload(d) => handle.emit(MODEL_DOWNLOAD_EVENT, d),
            AppEvent::AskProgress(a) => handle.emit(ASK_PROGRESS_EVENT, a),
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
        desktop::wire(tauri::Builder::default()),
        AppConfig::from_env(),
        tauri::generate_context!(),
    ) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Sift could not start: {e}");
            std::process::exit(1);
        }
    };
    let core = AppState::clone(&app.state::<AppState>());
    desktop::start(app.handle(), core);
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Let a running indexing pass stop at a batch boundary and save the vector index.
            if let Some(state) = handle.try_state::<AppState>() {
                state.shutdown(Duration::from_secs(5));
            }
        }
    });
}
