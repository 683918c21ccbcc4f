//! "Which models can the user pick, and fetch one when they click": the settings screen's model list
//! (`list_models`) and the one download at a time behind its "Download" button (`download_model`,
//! `cancel_model_download`), with the first-run screen's download (`retry_engine { download: true }`) and a
//! settings switch to a model not yet installed going through the same [`fetch`].

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use sift_core::download::{self, DownloadError, DownloadProgress};
use sift_core::model::{self, HubOptions, ModelSpec, Precision};
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

impl Downloads {
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
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(other) = running.as_ref() {
                return Err(AppError::new(
                    ErrorKind::Other,
                    "Another model is downloading; wait for it to finish or cancel it first.",
                    format!("{other} is downloading; {} was asked for", spec.id),
                ));
            }
            *running = Some(spec.id.clone());
            self.cancel.store(false, Ordering::SeqCst);
        }
        let result = download::download(
            spec,
            precision,
            &HubOptions::default(),
            &self.cancel,
            report,
        );
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
        result.map(|_| ()).map_err(|e| download_error(&e))
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
