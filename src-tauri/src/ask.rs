//! "Ask your files": the text generator behind the UI's Ask mode, as a thin adapter over
//! [`sift_core::Engine::ask`].
//!
//! The generator is optional. It is loaded on a background thread at startup when one is installed (never
//! delaying the window or search), or on the first question otherwise; its state (absent, loading, ready with
//! model and provider, failed with the reason) is part of `status`. Which model: `SIFT_GENERATOR` (tests, e2e),
//! else the settings' `answer_model` when it is installed, else the largest installed one. [`Asker::reset`]
//! switches at run time (the settings' "Use", a finished download): the next model loads in the background,
//! and a question running meanwhile ends with the model it started with. Only one question runs at a time: a
//! new one sets the running one's cancel flag and waits for it to end (within one token), `stop_ask` sets it
//! too.

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
    /// The model chosen in the settings (`answer_model`) when it is installed, else the largest installed
    /// one (`sift_core::generate::locate`, the same choice as `sift ask`).
    #[default]
    Installed,
    /// A model id (a folder under the model cache with `generation.json`) or a folder path.
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

    /// The folder of the model to use; the settings are read from `data_dir`.
    pub fn find(&self, data_dir: &Path) -> sift_core::Result<PathBuf> {
        match self {
            GeneratorSource::Off => Err(sift_core::Error::GeneratorMissing(
                "asking is turned off".into(),
            )),
            GeneratorSource::Named(g) if Path::new(g).join(generate::CONFIG_FILE).is_file() => {
                Ok(PathBuf::from(g))
            }
            GeneratorSource::Named(g) => generate::locate(Some(g)),
            GeneratorSource::Installed => {
                let chosen = sift_core::Settings::load(data_dir)
                    .map_err(|e| tracing::warn!(error = %e, "settings unreadable; using the largest answer model"))
                    .ok()
                    .and_then(|s| s.answer_model);
                chosen
                    .and_then(|id| generate::locate(Some(&id)).ok())
                    .map_or_else(|| generate::locate(None), Ok)
            }
        }
    }
}

/// The id of the model in `dir` (its `generation.json`, else the folder's name).
pub fn model_id(dir: &Path) -> String {
    generate::read_config(dir)
        .map(|c| c.model_id)
        .unwrap_or_else(|_| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

/// What the Ask control says when no generator model is installed (and the error of a question asked then).
pub const NO_MODEL_HINT: &str =
    "Asking needs an answer model: download one in Settings → Answer models, \
then ask again; search works without it.";

struct Slot {
    state: GeneratorState,
    generator: Option<Arc<Mutex<Generator>>>,
    /// The folder `generator` was loaded from.
    loaded: Option<PathBuf>,
    /// Bumped by [`Asker::reset`]: a load that started under an older value loads the current choice instead.
    epoch: u64,
}

/// A model picked for loading (and marked as loading), under the slot's lock.
struct Claim {
    epoch: u64,
    dir: PathBuf,
}

/// The generator and the one question at a time; see the module docs.
pub struct Asker {
    source: GeneratorSource,
    /// Where the settings (`answer_model`) live.
    data_dir: PathBuf,
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
    pub fn new(source: GeneratorSource, data_dir: &Path) -> Asker {
        Asker {
            source,
            data_dir: data_dir.to_path_buf(),
            slot: Mutex::new(Slot {
                state: absent(),
                generator: None,
                loaded: None,
                epoch: 0,
            }),
            slot_cv: Condvar::new(),
            running: Mutex::new(None),
        }
    }

    /// The generator's state, for `status`.
    pub fn state(&self) -> GeneratorState {
        lock(&self.slot).state.clone()
    }

    /// The folder of the model Ask uses now (or will load next); `None` without one.
    pub fn chosen(&self) -> Option<PathBuf> {
        self.source.find(&self.data_dir).ok()
    }

    /// Loads the generator when one is installed (the startup thread); without one, nothing happens.
    pub fn preload(&self) {
        if self.chosen().is_some() {
            if let Err(e) = self.generator() {
                tracing::warn!(error = %format!("{e:#}"), "the answer model could not be loaded");
            }
        }
    }

    /// Picks the model to load and marks it loading; without one, the state becomes absent (waiters are
    /// woken).
    fn claim(&self, slot: &mut Slot) -> sift_core::Result<Claim> {
        match self.source.find(&self.data_dir) {
            Ok(dir) => {
                slot.state = GeneratorState::Loading {
                    model: model_id(&dir),
                };
                Ok(Claim {
                    epoch: slot.epoch,
                    dir,
                })
            }
            Err(e) => {
                slot.state = absent();
                slot.generator = None;
                slot.loaded = None;
                self.slot_cv.notify_all();
                Err(e)
            }
        }
    }

    /// Loads a claimed model (without holding the lock). When [`Asker::reset`] changed the choice meanwhile,
    /// the model chosen now is loaded instead.
    fn load(&self, mut claim: Claim) -> Result<Arc<Mutex<Generator>>> {
        loop {
            tracing::info!(dir = %claim.dir.display(), "loading the answer model");
            let loaded = Generator::load(&claim.dir, &GeneratorOptions::default());
            let mut slot = lock(&self.slot);
            if slot.epoch != claim.epoch {
                drop(loaded);
                claim = self.claim(&mut slot)?;
                continue;
            }
            let result = match loaded {
                Ok(g) => {
                    tracing::info!(model = %g.config().model_id, provider = %g.provider(), "answer model ready");
                    slot.state = GeneratorState::Ready {
                        model: g.config().model_id.clone(),
                        provider: g.provider().to_string(),
                    };
                    let g = Arc::new(Mutex::new(g));
                    slot.generator = Some(Arc::clone(&g));
                    slot.loaded = Some(claim.dir);
                    Ok(g)
                }
                Err(e) => {
                    slot.state = GeneratorState::Failed {
                        model: model_id(&claim.dir),
                        reason: errors::from_core(&e).message,
                    };
                    slot.generator = None;
                    slot.loaded = None;
                    Err(anyhow::Error::new(e).context("loading the answer model"))
                }
            };
            self.slot_cv.notify_all();
            return result;
        }
    }

    /// The loaded generator: waits for a load in progress, or loads it (again, after a failure). Without a
    /// model: [`sift_core::Error::GeneratorMissing`], which `errors.rs` turns into [`NO_MODEL_HINT`].
    pub fn generator(&self) -> Result<Arc<Mutex<Generator>>> {
        let mut slot = lock(&self.slot);
        loop {
            match (&slot.state, &slot.generator) {
                (GeneratorState::Loading { .. }, _) => {
                    slot = self.slot_cv.wait(slot).unwrap_or_else(|e| e.into_inner());
                }
                (GeneratorState::Ready { .. }, Some(g)) => return Ok(Arc::clone(g)),
                _ => break,
            }
        }
        let claim = self.claim(&mut slot)?;
        drop(slot);
        self.load(claim)
    }

    /// The choice of model may have changed (settings, a download, a removal): unless the model chosen now is
    /// the one loaded, the loaded one is let go (a running question keeps it until it ends) and the chosen one
    /// loads on a background thread (`loading` → `ready` in `status`). Returns at once.
    pub fn reset(self: &Arc<Self>) {
        let claim = {
            let mut slot = lock(&self.slot);
            let chosen = self.source.find(&self.data_dir).ok();
            let ready =
                matches!(slot.state, GeneratorState::Ready { .. }) && slot.generator.is_some();
            if ready && chosen.is_some() && slot.loaded == chosen {
                return;
            }
            slot.epoch += 1;
            slot.generator = None;
            slot.loaded = None;
            if matches!(slot.state, GeneratorState::Loading { .. }) {
                // The load in progress sees the new epoch and loads the model chosen now.
                return;
            }
            match self.claim(&mut slot) {
                Ok(claim) => claim,
                Err(_) => return,
            }
        };
        let model = model_id(&claim.dir);
        let asker = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("sift-generator".into())
            .spawn(move || {
                if let Err(e) = asker.load(claim) {
                    tracing::warn!(error = %format!("{e:#}"), "the answer model could not be loaded");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start loading the answer model");
            let mut slot = lock(&self.slot);
            slot.state = GeneratorState::Failed {
                model,
                reason: "Sift could not start loading it; ask a question to try again.".into(),
            };
            self.slot_cv.notify_all();
        }
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
        let dir = tempfile::tempdir().unwrap();
        let asker = Arc::new(Asker::new(GeneratorSource::Off, dir.path()));
        assert_eq!(asker.state(), absent());
        let err = asker.ask(|_, _| Ok(())).unwrap_err();
        let app = errors::from_anyhow(&err);
        assert_eq!(app.message, NO_MODEL_HINT, "{app:?}");
        assert!(!app.message.contains("setup.sh"));
        assert!(app.details.contains("asking is turned off"), "{app:?}");
        assert!(!asker.stop(), "nothing is running after a failed ask");
        asker.preload();
        assert!(matches!(asker.state(), GeneratorState::Absent { .. }));
        // Switching with nothing to switch to stays absent, and starts nothing.
        asker.reset();
        assert_eq!(asker.state(), absent());
        assert_eq!(asker.chosen(), None);
    }

    #[test]
    fn a_named_model_that_is_not_installed_is_absent() {
        let dir = tempfile::tempdir().unwrap();
        let asker = Asker::new(
            GeneratorSource::Named("no-such-model-here".into()),
            dir.path(),
        );
        assert!(asker.generator().is_err());
        assert_eq!(
            serde_json::to_value(asker.state()).unwrap()["state"],
            serde_json::json!("absent")
        );
    }
}
