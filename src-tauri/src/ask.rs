//! "Ask your files": the text generator behind the UI's Ask mode, as a thin adapter over
//! [`sift_core::Engine::ask`].
//!
//! The generator is optional. It is loaded on a background thread at startup when one is installed (never
//! delaying the window or search), or on the first question otherwise; its state (absent, loading, ready with
//! model and provider, failed with the reason) is part of `status`. Only one question runs at a time: a new
//! one sets the running one's cancel flag and waits for it to end (within one token), `stop_ask` sets it too.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use anyhow::Result;
use sift_core::generate::{self, Generator, GeneratorOptions};

use crate::dto::GeneratorState;
use crate::errors;

/// Where the generator model comes from.
#[derive(Debug, Clone, Default)]
pub enum GeneratorSource {
    /// None: the app is the search app alone, and Ask explains how to get a model.
    Off,
    /// A model id (a folder under the model cache with `generation.json`) or a folder path; `None`: the
    /// largest installed model (`sift_core::generate::locate`, the same choice as `sift ask`).
    #[default]
    Installed,
    Named(String),
}

impl GeneratorSource {
    /// `SIFT_GENERATOR` (as `sift ask` reads it), else the installed models.
    pub fn from_env() -> GeneratorSource {
        match std::env::var("SIFT_GENERATOR") {
            Ok(g) if !g.trim().is_empty() => GeneratorSource::Named(g),
            _ => GeneratorSource::Installed,
        }
    }

    fn find(&self) -> sift_core::Result<PathBuf> {
        match self {
            GeneratorSource::Off => Err(sift_core::Error::GeneratorMissing(
                "asking is turned off".into(),
            )),
            GeneratorSource::Named(g) if Path::new(g).join(generate::CONFIG_FILE).is_file() => {
                Ok(PathBuf::from(g))
            }
            GeneratorSource::Named(g) => generate::locate(Some(g)),
            GeneratorSource::Installed => generate::locate(None),
        }
    }
}

/// What the Ask control says when no generator model is installed.
pub const NO_MODEL_HINT: &str = "Asking needs a local answer model, and none is installed: run \
scripts/setup.sh to build the small one (SmolLM2-135M-Instruct), then ask again. Search works without it.";

struct Slot {
    state: GeneratorState,
    generator: Option<Arc<Mutex<Generator>>>,
}

/// The generator and the one question at a time; see the module docs.
pub struct Asker {
    source: GeneratorSource,
    slot: Mutex<Slot>,
    slot_cv: Condvar,
    /// The cancel flag of the question running now (or waiting for the generator).
    running: Mutex<Option<Arc<AtomicBool>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn absent() -> GeneratorState {
    GeneratorState::Absent {
        hint: NO_MODEL_HINT.into(),
    }
}

impl Asker {
    pub fn new(source: GeneratorSource) -> Asker {
        Asker {
            source,
            slot: Mutex::new(Slot {
                state: absent(),
                generator: None,
            }),
            slot_cv: Condvar::new(),
            running: Mutex::new(None),
        }
    }

    /// The generator's state, for `status`.
    pub fn state(&self) -> GeneratorState {
        lock(&self.slot).state.clone()
    }

    /// Loads the generator when one is installed (the startup thread); without one, nothing happens.
    pub fn preload(&self) {
        if self.source.find().is_ok() {
            if let Err(e) = self.generator() {
                tracing::warn!(error = %format!("{e:#}"), "the answer model could not be loaded");
            }
        }
    }

    /// The loaded generator: waits for a load in progress, or loads it (again, after a failure). Without a
    /// model: [`sift_core::Error::GeneratorMissing`], whose text says how to get one.
    pub fn generator(&self) -> Result<Arc<Mutex<Generator>>> {
        let mut slot = lock(&self.slot);
        loop {
            match &slot.state {
                GeneratorState::Loading { .. } => {
                    slot = self.slot_cv.wait(slot).unwrap_or_else(|e| e.into_inner());
                }
                GeneratorState::Ready { .. } if slot.generator.is_some() => {
                    return Ok(Arc::clone(slot.generator.as_ref().expect("checked")));
                }
                _ => break,
            }
        }
        let dir = match self.source.find() {
            Ok(dir) => dir,
            Err(e) => {
                slot.state = absent();
                return Err(e.into());
            }
        };
        let model = generate::read_config(&dir)
            .map(|c| c.model_id)
            .unwrap_or_else(|_| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        slot.state = GeneratorState::Loading {
            model: model.clone(),
        };
        drop(slot);
        tracing::info!(%model, dir = %dir.display(), "loading the answer model");
        let loaded = Generator::load(&dir, &GeneratorOptions::default());
        let mut slot = lock(&self.slot);
        let result = match loaded {
            Ok(g) => {
                tracing::info!(model = %g.config().model_id, provider = %g.provider(), "answer model ready");
                slot.state = GeneratorState::Ready {
                    model: g.config().model_id.clone(),
                    provider: g.provider().to_string(),
                };
                let g = Arc::new(Mutex::new(g));
                slot.generator = Some(Arc::clone(&g));
                Ok(g)
            }
            Err(e) => {
                slot.state = GeneratorState::Failed {
                    model,
                    reason: errors::from_core(&e).message,
                };
                slot.generator = None;
                Err(anyhow::Error::new(e).context("loading the answer model"))
            }
        };
        self.slot_cv.notify_all();
        result
    }

    /// Runs one question: stops the running one, waits for the generator, and calls `f` with it and this
    /// question's cancel flag.
    pub fn ask<T>(&self, f: impl FnOnce(&mut Generator, &AtomicBool) -> Result<T>) -> Result<T> {
        let cancel = Arc::new(AtomicBool::new(false));
        if let Some(previous) = lock(&self.running).replace(Arc::clone(&cancel)) {
            previous.store(true, Ordering::SeqCst);
        }
        let out = self.generator().and_then(|generator| {
            // Waits for the previous question, which stops within one token.
            let mut g = lock(&generator);
            f(&mut g, &cancel)
        });
        let mut running = lock(&self.running);
        if running.as_ref().is_some_and(|r| Arc::ptr_eq(r, &cancel)) {
            *running = None;
        }
        out
    }

    /// Stops the running question (its answer ends as "stopped"); whether one was running.
    pub fn stop(&self) -> bool {
        match lock(&self.running).as_ref() {
            Some(cancel) => {
                cancel.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_model_asking_explains_how_to_get_one() {
        let asker = Asker::new(GeneratorSource::Off);
        assert!(matches!(asker.state(), GeneratorState::Absent { .. }));
        let err = asker.ask(|_, _| Ok(())).unwrap_err();
        let app = errors::from_anyhow(&err);
        assert!(app.message.contains("scripts/setup.sh"), "{app:?}");
        assert!(!asker.stop(), "nothing is running after a failed ask");
        asker.preload();
        assert!(matches!(asker.state(), GeneratorState::Absent { .. }));
    }

    #[test]
    fn a_named_model_that_is_not_installed_is_absent() {
        let asker = Asker::new(GeneratorSource::Named("no-such-model-here".into()));
        assert!(asker.generator().is_err());
        assert_eq!(
            serde_json::to_value(asker.state()).unwrap()["state"],
            serde_json::json!("absent")
        );
    }
}
