//! "Which models can the user pick, and fetch one when they click": the settings screen's search-model list
//! (`list_models`) and answer-model list (`list_answer_models`), and the one download at a time behind
//! their "Download" buttons (`download_model`, `download_answer_model`, `cancel_model_download`), with the
//! first-run screen's download (`retry_engine { download: true }`) and a settings switch to a model not yet
//! installed going through the same [`Downloads`]. `remove_answer_model` deletes a downloaded answer model.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use sift_core::download::{self, DownloadError, DownloadProgress};
use sift_core::generate::{self, GenerationConfig};
use sift_core::model::{self, GeneratorSpec, HubOptions, ModelSpec, Precision};
use sift_core::EngineConfig;

use crate::dto::{self, AppError, ErrorKind};

/// The settings screen's list: every model in the manifest with its facts and state.
pub fn list(data_dir: &Path) -> anyhow::Result<Vec<dto::ModelEntry>> {
    let settings = sift_core::Settings::load(data_dir)?;
    let model_dir = EngineConfig::new(data_dir).ok().and_then(|c| c.model_dir);
    Ok(model::models()
        .into_iter()
        .map(|spec| {
            let active = spec.id == settings.model;
            let precision = if active {
                settings.precision.unwrap_or(spec.default_precision)
            } else {
                spec.default_precision
            };
            dto::ModelEntry {
                installed: model::locate(&spec, precision, model_dir.as_deref()).is_ok(),
                downloadable: spec.downloadable(precision),
                size: spec.download_size(precision),
                active,
                bundled: spec.bundled,
                dim: spec.dim,
                languages: spec.languages,
                description: spec.description,
                name: spec.name,
                id: spec.id,
            }
        })
        .collect())
}

/// The settings' "Answer models" list: the manifest's answer models, then installed models it does not list
/// (the setup's test model, a folder the user put in the cache), then the model Ask uses (`chosen`, e.g. a
/// folder `SIFT_GENERATOR` names) if it is neither. `active` marks `chosen`.
pub fn list_answer_models(chosen: Option<&Path>) -> Vec<dto::AnswerModelEntry> {
    let installed = generate::installed();
    let active = chosen.map(crate::ask::model_id);
    let is_active = |id: &str| active.as_deref() == Some(id);
    let mut out: Vec<dto::AnswerModelEntry> = model::generators()
        .into_iter()
        .map(|spec| {
            let dir = installed
                .iter()
                .find(|(c, _)| c.model_id == spec.id)
                .map(|(_, d)| d);
            dto::AnswerModelEntry {
                installed: dir.is_some(),
                removable: dir
                    .is_some_and(|d| downloaded_dir(&spec.id).as_deref() == Some(d.as_path())),
                active: is_active(&spec.id),
                downloadable: true,
                size: Some(spec.download_size()),
                parameters_b: Some(spec.parameters_b),
                quantization: Some(spec.quantization),
                approx_tokens_per_s: Some(spec.approx_tokens_per_s),
                license: Some(spec.license),
                languages: spec.languages,
                description: spec.description,
                name: spec.name,
                id: spec.id,
            }
        })
        .collect();
    let local = |config: &GenerationConfig, dir: &Path| dto::AnswerModelEntry {
        id: config.model_id.clone(),
        name: if config.name.trim().is_empty() {
            config.model_id.clone()
        } else {
            config.name.clone()
        },
        description: String::new(),
        languages: String::new(),
        license: config.license.clone(),
        parameters_b: None,
        quantization: None,
        size: Some(generate::model_bytes(&dir.join(&config.files.model))).filter(|&b| b > 0),
        approx_tokens_per_s: None,
        installed: true,
        active: is_active(&config.model_id),
        downloadable: false,
        removable: false,
    };
    for (config, dir) in &installed {
        if !out.iter().any(|e| e.id == config.model_id) {
            out.push(local(config, dir));
        }
    }
    if let (Some(dir), Some(id)) = (chosen, active.as_deref()) {
        if !out.iter().any(|e| e.id == id) {
            if let Ok(config) = generate::read_config(dir) {
                out.push(local(&config, dir));
            }
        }
    }
    out
}

/// `<cache>/models/<id>/`, where a download puts an answer model, when `id` is one plain folder name.
fn downloaded_dir(id: &str) -> Option<PathBuf> {
    let mut parts = Path::new(id).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Some(model::setup_dir(id)),
        _ => None,
    }
}

/// Deletes a downloaded answer model: only a manifest model's folder in the model cache, never anything
/// else (a bundled model, the setup's test model, a user's folder). Nothing to do when it is not there.
pub fn remove_answer_model(spec: &GeneratorSpec) -> Result<(), AppError> {
    let Some(dir) = downloaded_dir(&spec.id) else {
        return Err(AppError::new(
            ErrorKind::Other,
            format!("{} cannot be removed by Sift.", spec.name),
            format!("{:?} is not a plain folder name", spec.id),
        ));
    };
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {
            tracing::info!(model = %spec.id, dir = %dir.display(), "answer model removed");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AppError::new(
            ErrorKind::Other,
            format!(
                "{} could not be removed; check that Sift may change {}, then try again.",
                spec.name,
                dir.display()
            ),
            format!("removing {}: {e}", dir.display()),
        )),
    }
}

/// A download failure for the user: the downloader's sentence, its details for the log and "Copy details".
pub fn download_error(e: &DownloadError) -> AppError {
    tracing::warn!(error = %e.details(), "model download failed");
    AppError::new(ErrorKind::Other, e.to_string(), e.details())
}

/// One model download at a time, cancellable.
#[derive(Default)]
pub struct Downloads {
    running: Mutex<Option<String>>,
    cancel: AtomicBool,
}

/// Clears [`Downloads::running`] when the download ends, however it ends.
struct Running<'a>(&'a Mutex<Option<String>>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Downloads {
    /// Runs `download` as the one download (model `id`), with the cancel flag; refuses while another runs.
    fn one<T>(
        &self,
        id: &str,
        download: impl FnOnce(&AtomicBool) -> Result<T, DownloadError>,
    ) -> Result<T, AppError> {
        let _running = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(other) = running.as_ref() {
                return Err(AppError::new(
                    ErrorKind::Other,
                    "Another model is downloading; wait for it to finish or cancel it first.",
                    format!("{other} is downloading; {id} was asked for"),
                ));
            }
            *running = Some(id.to_string());
            self.cancel.store(false, Ordering::SeqCst);
            Running(&self.running)
        };
        download(&self.cancel).map_err(|e| download_error(&e))
    }

    /// Downloads `spec` at `precision` unless it is installed, reporting progress; refuses a second download
    /// while one runs.
    pub fn fetch(
        &self,
        data_dir: &Path,
        spec: &ModelSpec,
        precision: Precision,
        report: &mut dyn FnMut(&DownloadProgress),
    ) -> Result<(), AppError> {
        let model_dir = EngineConfig::new(data_dir).ok().and_then(|c| c.model_dir);
        if model::locate(spec, precision, model_dir.as_deref()).is_ok() {
            return Ok(());
        }
        self.one(&spec.id, |cancel| {
            download::download(spec, precision, &HubOptions::default(), cancel, report)
        })
        .map(|_| ())
    }

    /// Downloads the answer model `spec` into the model cache unless it is installed, reporting progress;
    /// refuses while another download runs.
    pub fn fetch_answer_model(
        &self,
        spec: &GeneratorSpec,
        report: &mut dyn FnMut(&DownloadProgress),
    ) -> Result<(), AppError> {
        if generate::locate(Some(&spec.id)).is_ok() {
            return Ok(());
        }
        self.one(&spec.id, |cancel| {
            download::download_generator(spec, &HubOptions::default(), cancel, report)
        })
        .map(|_| ())
    }

    /// Whether model `id` is downloading now.
    pub fn is_running(&self, id: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
            == Some(id)
    }

    /// Asks the running download (if any) to stop; its partial file is kept for the next try.
    pub fn cancel(&self) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.is_some() {
            self.cancel.store(true, Ordering::SeqCst);
        }
        running.is_some()
    }
}
