//! The library's error type. Every variant carries a message a user can act on.

use std::path::PathBuf;

/// Errors returned by `sift-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("ONNX Runtime is not available: {0}. Run `scripts/setup.sh`, or set ORT_DYLIB_PATH to libonnxruntime")]
    Runtime(String),

    /// Model files are missing and could not be downloaded.
    #[error("model `{model}` is not installed: {reason}. Run `scripts/setup.sh` (offline), or connect to the internet once so Sift can download it")]
    ModelMissing { model: String, reason: String },

    /// The model or tokenizer file exists but is unusable.
    #[error("model file {path} is invalid: {reason}")]
    ModelInvalid { path: PathBuf, reason: String },

    /// Unknown model id.
    #[error("unknown model `{0}`; see models/manifest.json for the supported ones")]
    UnknownModel(String),

    /// Inference failed.
    #[error("embedding failed: {0}")]
    Embed(String),

    /// The database could not be opened or written.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),

    /// The database was written by a newer Sift.
    #[error("the index at {path} was created by a newer version of Sift (schema {found}, this build knows {known}); upgrade Sift or choose another data directory")]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A path the user named is not usable (missing, not indexed, ...).
    #[error("{0}")]
    InvalidPath(String),

    /// The vector index file could not be written.
    #[error("vector index: {0}")]
    Index(String),

    /// Bad input to an evaluation run, a configuration file, ...
    #[error("{0}")]
    Invalid(String),

    /// No text-generation model is installed (asking is optional; search works without one).
    #[error("no text-generation model is installed ({0}); download one with `sift models download qwen2.5-0.5b-instruct` (or in the app's settings) and ask again")]
    GeneratorMissing(String),

    /// Text generation failed.
    #[error("text generation failed: {0}")]
    Generate(String),

    /// A prompt longer than the generator's context window.
    #[error("the prompt is {tokens} tokens, more than the model's context of {limit}; use fewer or shorter passages")]
    PromptTooLong { tokens: usize, limit: usize },

    /// A model would not fit in the memory available.
    #[error("model `{model}` needs about {needed_mb} MB of memory and only {available_mb} MB are available; close other programs or choose a smaller model")]
    NotEnoughMemory {
        model: String,
        needed_mb: u64,
        available_mb: u64,
    },

    /// The operation was cancelled (pause, shutdown).
    #[error("cancelled")]
    Cancelled,
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done, e.g. "reading /a/b".
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
