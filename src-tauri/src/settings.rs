//! "What the settings screen shows and what saving it changes": the settings DTO from `settings.json` and
//! the installed models, and the plan for applying an edited one (normalised settings, whether the engine
//! must be reopened and the folders re-indexed; the model files are fetched first by `models.rs`).

use std::path::Path;

use anyhow::Result;
use sift_core::model::{self, ModelSpec, Precision};
use sift_core::EngineConfig;

use crate::dto;

/// Threads the slider may go up to.
pub fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The settings as the UI shows them ("automatic" threads as the number they stand for, the precision in
/// effect).
pub fn load(data_dir: &Path) -> Result<dto::Settings> {
    let settings = sift_core::Settings::load(data_dir)?;
    let model_dir = EngineConfig::new(data_dir).ok().and_then(|c| c.model_dir);
    let mut precision = settings.precision;
    let models = model::models()
        .into_iter()
        .map(|spec| {
            let p = if spec.id == settings.model {
                let p = settings.precision.unwrap_or(spec.default_precision);
                precision = Some(p);
                p
            } else {
                spec.default_precision
            };
            let installed = model::locate(&spec, p, model_dir.as_deref()).is_ok();
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
        precision,
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

/// What saving edited settings takes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The settings to save and open the engine with.
    pub next: sift_core::Settings,
    pub spec: ModelSpec,
    /// The precision the engine will run at.
    pub precision: Precision,
    /// The folders must be indexed again (model, precision or excludes changed, or no engine was open).
    pub reindex: bool,
}

/// Normalises `new` against the saved settings `old`. `None` when nothing changes and the engine is open.
///
/// A new model starts at its default precision (not every model ships every precision); a precision change
/// applies to the current model. The precision is stored only when it differs from the model's default.
pub fn plan(
    old: &sift_core::Settings,
    new: &dto::Settings,
    engine_ok: bool,
) -> Result<Option<Plan>> {
    let spec = model::spec(&new.model)?;
    let model_changed = new.model != old.model;
    let precision = if model_changed {
        spec.default_precision
    } else {
        new.precision
            .or(old.precision)
            .unwrap_or(spec.default_precision)
    };
    let stored_precision = (precision != spec.default_precision).then_some(precision);
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
        precision: stored_precision,
        threads,
        excludes,
        // Chosen in the answer-model list, not by this form.
        answer_model: old.answer_model.clone(),
    };
    if next == *old && engine_ok {
        return Ok(None);
    }
    let old_precision = model::spec(&old.model)
        .ok()
        .map(|s| old.precision.unwrap_or(s.default_precision));
    let reindex = model_changed
        || old_precision != Some(precision)
        || next.excludes != old.excludes
        || !engine_ok;
    Ok(Some(Plan {
        next,
        spec,
        precision,
        reindex,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dto_from(s: &sift_core::Settings, precision: Option<Precision>) -> dto::Settings {
        dto::Settings {
            model: s.model.clone(),
            precision,
            models: Vec::new(),
            threads: if s.threads == 0 {
                sift_core::runtime::default_threads()
            } else {
                s.threads
            },
            max_threads: max_threads(),
            excludes: s.excludes.clone(),
        }
    }

    #[test]
    fn unchanged_settings_are_a_no_op() {
        let old = sift_core::Settings::default();
        assert!(plan(&old, &dto_from(&old, Some(Precision::Int8)), true)
            .unwrap()
            .is_none());
        assert!(plan(&old, &dto_from(&old, None), true).unwrap().is_none());
        // No engine open: saving the same settings retries opening it.
        assert!(
            plan(&old, &dto_from(&old, None), false)
                .unwrap()
                .unwrap()
                .reindex
        );
    }

    #[test]
    fn a_precision_change_reindexes_and_is_stored_only_off_default() {
        let old = sift_core::Settings::default();
        let p = plan(&old, &dto_from(&old, Some(Precision::Fp32)), true)
            .unwrap()
            .unwrap();
        assert!(p.reindex);
        assert_eq!(p.precision, Precision::Fp32);
        assert_eq!(p.next.precision, Some(Precision::Fp32));
        let back = plan(&p.next, &dto_from(&p.next, Some(Precision::Int8)), true)
            .unwrap()
            .unwrap();
        assert!(back.reindex);
        assert_eq!(back.next.precision, None, "int8 is MiniLM's default");
    }

    #[test]
    fn threads_alone_reopen_without_reindexing() {
        let old = sift_core::Settings::default();
        let mut new = dto_from(&old, None);
        new.threads = if new.threads == 1 { 2 } else { 1 };
        if new.threads > max_threads() {
            return; // a one-core machine cannot express a change
        }
        let p = plan(&old, &new, true).unwrap().unwrap();
        assert!(!p.reindex);
    }
}
