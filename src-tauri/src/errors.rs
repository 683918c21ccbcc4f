//! "What the user reads when something fails": every error the UI shows is one sentence that says what to do
//! ([`dto::AppError::message`]); the whole chain goes to the log and to [`dto::AppError::details`], which the
//! UI keeps behind a "Copy details" button. The engine's errors are mapped here, never shown as a raw chain.

use crate::dto::{AppError, ErrorKind};

/// The longest message sent to the UI (a path inside a sentence can be long; the UI cuts it further).
const MAX_MESSAGE_CHARS: usize = 300;

impl AppError {
    /// An error whose message is already one sentence for the user.
    pub fn new(kind: ErrorKind, message: impl AsRef<str>, details: impl Into<String>) -> AppError {
        AppError {
            kind,
            message: sentence(message.as_ref()),
            details: details.into(),
        }
    }

    /// The same error with another kind (e.g. the engine could not open).
    pub fn with_kind(self, kind: ErrorKind) -> AppError {
        AppError { kind, ..self }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

/// The kind of problem and the sentence for an engine error; `None` for errors whose own text is already a
/// sentence about the user's input (paths, settings, files).
fn core_sentence(e: &sift_core::Error) -> Option<(ErrorKind, String)> {
    use sift_core::Error as E;
    Some(match e {
        E::ModelMissing { .. } => (
            ErrorKind::ModelMissing,
            "The search model is not installed yet; download it to start searching.".into(),
        ),
        E::ModelInvalid { .. } => (
            ErrorKind::ModelMissing,
            "The search model's files are damaged; download the model again.".into(),
        ),
        E::Runtime(_) => (
            ErrorKind::RuntimeMissing,
            "A part Sift needs to understand text (ONNX Runtime) is missing; reinstall Sift to restore it."
                .into(),
        ),
        E::UnknownModel(id) => (
            ErrorKind::Other,
            format!("The model “{id}” is not one Sift knows; choose another one in Settings."),
        ),
        E::SchemaTooNew { .. } => (
            ErrorKind::Other,
            "This index was made by a newer version of Sift; update Sift to open it.".into(),
        ),
        E::Db(_) => (
            ErrorKind::Other,
            "Sift could not read or write its index; check that the disk has free space, then retry."
                .into(),
        ),
        E::Index(_) => (
            ErrorKind::Other,
            "Sift could not save its search index; check that the disk has free space.".into(),
        ),
        E::Embed(_) => (
            ErrorKind::Other,
            "Sift could not work out the meaning of a text; retry, and reinstall Sift if it keeps failing."
                .into(),
        ),
        E::Cancelled => (ErrorKind::Other, "Stopped before it finished.".into()),
        E::Generate(_) => (
            ErrorKind::Other,
            "The answer could not be written; search still works, and asking again may help.".into(),
        ),
        // The engine's text names a developer script; users get an answer model from the settings.
        E::GeneratorMissing(_) => (ErrorKind::Other, crate::ask::NO_MODEL_HINT.into()),
        // Their own text says what to do (shorten the question, free memory).
        E::PromptTooLong { .. } | E::NotEnoughMemory { .. } => return None,
        E::Io { .. } | E::InvalidPath(_) | E::Invalid(_) => return None,
    })
}

/// An engine error for the user.
pub fn from_core(e: &sift_core::Error) -> AppError {
    let details = chain(e);
    match core_sentence(e) {
        Some((kind, message)) => AppError::new(kind, message, details),
        None => AppError::new(ErrorKind::Other, e.to_string(), details),
    }
}

/// Any error for the user: an [`AppError`] in the chain is kept (with the whole chain as details), an engine
/// error is mapped, anything else shows its outermost message as one sentence.
pub fn from_anyhow(e: &anyhow::Error) -> AppError {
    let details = format!("{e:#}");
    let mut outer = Vec::new();
    for cause in e.chain() {
        if let Some(app) = cause.downcast_ref::<AppError>() {
            // Contexts added on top, then the error's own details.
            outer.push(app.details.clone());
            return AppError {
                details: outer.join(": "),
                ..app.clone()
            };
        }
        outer.push(cause.to_string());
        if let Some(core) = cause.downcast_ref::<sift_core::Error>() {
            if let Some((kind, message)) = core_sentence(core) {
                return AppError::new(kind, message, details);
            }
        }
    }
    AppError::new(ErrorKind::Other, e.to_string(), details)
}

/// The error and its sources, "outer: inner: innermost".
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// `text` as one sentence: its first line, whitespace collapsed, a capital first letter, a full stop, at
/// most [`MAX_MESSAGE_CHARS`] characters.
pub fn sentence(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut s: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return "Something went wrong; the details say what.".into();
    }
    if s.chars().count() > MAX_MESSAGE_CHARS {
        s = s.chars().take(MAX_MESSAGE_CHARS - 1).collect::<String>();
        s = s.trim_end().to_string();
        s.push('…');
    }
    let mut chars = s.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let mut s = first + chars.as_str();
    if !s.ends_with(['.', '!', '?', '…']) {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_become_one_sentence_with_the_chain_in_the_details() {
        let missing = sift_core::Error::ModelMissing {
            model: "all-MiniLM-L6-v2".into(),
            reason: format!("looked in {}", "/very/long/path/".repeat(60)),
        };
        let e = from_core(&missing);
        assert_eq!(e.kind, ErrorKind::ModelMissing);
        assert_eq!(
            e.message,
            "The search model is not installed yet; download it to start searching."
        );
        assert!(e.details.contains("/very/long/path/") && e.details.contains("all-MiniLM-L6-v2"));

        let runtime =
            sift_core::Error::Runtime("libonnxruntime.so: cannot open shared object file".into());
        let e = from_anyhow(&anyhow::Error::new(runtime).context("could not open the index"));
        assert_eq!(e.kind, ErrorKind::RuntimeMissing);
        assert!(!e.message.contains("setup.sh") && !e.message.contains("ORT_DYLIB_PATH"));
        assert!(e
            .details
            .starts_with("could not open the index: ONNX Runtime is not available"));
        assert!(e.details.contains("cannot open shared object file"));
    }

    #[test]
    fn a_missing_answer_model_points_at_the_settings() {
        let missing = sift_core::Error::GeneratorMissing("none was found in /cache/models".into());
        let e = from_anyhow(&anyhow::Error::new(missing).context("asking"));
        assert_eq!(e.message, crate::ask::NO_MODEL_HINT);
        assert!(!e.message.contains("setup.sh"));
        assert!(
            e.details.contains("none was found in /cache/models"),
            "{e:?}"
        );
    }

    #[test]
    fn an_app_error_in_a_chain_is_kept() {
        let inner = AppError::new(ErrorKind::EngineFailed, "the index is locked", "lock: busy");
        let e = from_anyhow(&anyhow::Error::new(inner.clone()));
        assert_eq!(
            e,
            AppError {
                message: "The index is locked.".into(),
                ..inner.clone()
            }
        );
        let e = from_anyhow(&anyhow::Error::new(inner).context("opening"));
        assert_eq!(
            (e.kind, e.details.as_str()),
            (ErrorKind::EngineFailed, "opening: lock: busy")
        );
    }

    #[test]
    fn other_errors_show_their_first_line_cut_to_a_sentence() {
        let e = from_anyhow(&anyhow::anyhow!("first line\nsecond line\nthird"));
        assert_eq!(e.message, "First line.");
        assert_eq!(e.details, "first line\nsecond line\nthird");
        let long = "x".repeat(5000);
        let e = from_anyhow(&anyhow::anyhow!("{long}"));
        assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(e.message.ends_with('…'));
        assert_eq!(e.details.len(), 5000);
        assert_eq!(sentence(""), "Something went wrong; the details say what.");
        assert_eq!(sentence("is it?"), "Is it?");
    }
}
