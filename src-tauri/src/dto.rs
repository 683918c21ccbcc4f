//! The JSON shapes of the UI contract (`ui/src/api.ts`), field for field. Only conversions live here: the
//! commands in `lib.rs` build these from `sift_core` types.

use std::path::Path;

use serde::{Deserialize, Serialize};
pub use sift_core::model::Precision;

/// `Status` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub model: String,
    /// "int8" or "fp32".
    pub precision: Precision,
    pub dim: usize,
    /// "CPU", "CoreML" or "CUDA".
    pub provider: String,
    pub folders: u64,
    /// Indexed files.
    pub files: u64,
    /// Passages (what results show).
    pub passages: u64,
    /// Units with a vector each: passages and their sentence windows.
    pub chunks: u64,
    /// Vectors in the index that meaning search uses (equals `chunks` when it is complete).
    pub vectors: u64,
    /// Skipped or failed files.
    pub failed: u64,
    pub indexing: bool,
    pub paused: bool,
    /// Why the last indexing pass failed (one sentence), until one succeeds.
    pub last_error: Option<String>,
    /// The whole error chain behind `last_error` ("Copy details").
    #[serde(default)]
    pub last_error_details: Option<String>,
    /// A problem the user should fix (e.g. the OS limit on watched folders), as one sentence.
    pub warning: Option<String>,
    /// The answer model behind Ask (absent, loading, ready with model and provider, failed).
    #[serde(default)]
    pub generator: GeneratorState,
}

/// `GeneratorState` in api.ts: the answer model behind Ask mode (`ask.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum GeneratorState {
    /// None is installed: `hint` says how to get one.
    Absent {
        hint: String,
    },
    /// Loading in the background.
    Loading {
        model: String,
    },
    Ready {
        model: String,
        provider: String,
    },
    /// It could not be loaded (one sentence); the next question tries again.
    Failed {
        model: String,
        reason: String,
    },
}

impl Default for GeneratorState {
    fn default() -> Self {
        GeneratorState::Absent {
            hint: String::new(),
        }
    }
}

/// `ErrorKind` in api.ts: what the UI can offer to fix.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The model is not installed (or damaged): offer to download it.
    ModelMissing,
    /// ONNX Runtime cannot be loaded: reinstalling fixes it.
    RuntimeMissing,
    /// The engine could not open for another reason: offer to retry.
    EngineFailed,
    Other,
}

/// `AppError` in api.ts: how every command fails. `message` is one sentence saying what to do; `details` is
/// the whole chain (logged, and copied by "Copy details"). Built in `errors.rs`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
    pub details: String,
}

/// `FolderState` in api.ts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FolderState {
    Queued,
    Indexing,
    Idle,
    Paused,
    /// Unreachable (unmounted drive, empty mount point): its index is kept and searchable.
    Offline,
}

/// `FolderInfo` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FolderInfo {
    pub path: String,
    pub files_total: u64,
    pub files_done: u64,
    pub failed: u64,
    pub state: FolderState,
    pub eta_secs: Option<u64>,
}

/// `About` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct About {
    pub version: String,
    pub data_dir: String,
}

/// `Passage` in api.ts. `highlights` are `[start, end)` UTF-8 byte offsets into `text`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Passage {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub page: Option<u32>,
    /// Page, slide, sheet, chapter or mailbox message (`{"unit": "slide", "number": 4}`), when the document
    /// has them.
    pub location: Option<sift_core::Location>,
    pub highlights: Vec<(usize, usize)>,
    /// `[start, end)` UTF-8 byte offsets into `text` of the sentences closest in meaning to the query.
    pub answer: Option<(usize, usize)>,
}

/// `SearchResult` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub path: String,
    pub file_name: String,
    pub folder: String,
    pub score: f64,
    /// `strong`, `weak` or `unrelated` (only the nearest passage there is).
    pub strength: sift_core::Strength,
    pub passage: Passage,
}

/// `SearchResponse` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    pub query: String,
    pub took_ms: f64,
    pub catching_up: bool,
    /// `strong`, `weak`, or `none` when nothing in the index is related to the query.
    pub confidence: sift_core::Confidence,
    pub results: Vec<SearchResult>,
}

impl From<sift_core::SearchResponse> for SearchResponse {
    fn from(r: sift_core::SearchResponse) -> Self {
        SearchResponse {
            query: r.query,
            took_ms: r.took_ms,
            catching_up: r.catching_up,
            confidence: r.confidence,
            results: r.results.into_iter().map(SearchResult::from).collect(),
        }
    }
}

impl From<sift_core::SearchHit> for SearchResult {
    fn from(hit: sift_core::SearchHit) -> Self {
        SearchResult {
            file_name: file_name(&hit.path),
            path: path_string(&hit.path),
            folder: path_string(&hit.folder),
            score: hit.score,
            strength: hit.strength,
            passage: Passage {
                text: hit.passage.text,
                start: hit.passage.start,
                end: hit.passage.end,
                line: hit.passage.line,
                page: hit.passage.page,
                location: hit.passage.location,
                highlights: hit.passage.highlights,
                answer: hit.passage.answer,
            },
        }
    }
}

/// `AskStatus` in api.ts: whether the checked answer is shown (`not_found`: "Not found in your files").
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AskStatus {
    Answered,
    NotFound,
}

/// `AskTimings` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AskTimings {
    pub search_ms: f64,
    pub first_token_ms: f64,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub total_ms: f64,
}

/// `AskAnswer` in api.ts: the result of `ask`, after its text streamed as `sift://ask-progress` events.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AskAnswer {
    /// The UI's id of the question (as in its progress events).
    pub id: u64,
    pub question: String,
    pub status: AskStatus,
    /// The checked answer, or "Not found in your files".
    pub answer: String,
    /// Why there is no answer (`not_found`).
    pub reason: Option<String>,
    /// What the model wrote, shown or not.
    pub draft: String,
    /// Passage numbers the answer cites: `[n]` is `passages[n - 1]`.
    pub citations: Vec<usize>,
    /// The passages given to the model, in prompt order (the search result each came from).
    pub passages: Vec<SearchResult>,
    /// The whole search behind the question (shown when no passage was given to the model).
    pub results: Vec<SearchResult>,
    /// The question was stopped (Stop, or a newer question).
    pub stopped: bool,
    /// Why generation ended: `stop`, `max_tokens`, `context_full`, `cancelled`; `None`: the model did not run.
    pub finish: Option<String>,
    pub timings: AskTimings,
    pub model: String,
    pub provider: String,
}

impl AskAnswer {
    pub fn new(id: u64, r: sift_core::AskResponse) -> AskAnswer {
        // The passages given to the model are the related hits, in order (unrelated ones are never given).
        let related: Vec<SearchResult> = r
            .search
            .results
            .iter()
            .filter(|h| h.strength != sift_core::Strength::Unrelated)
            .take(r.passages.len())
            .cloned()
            .map(SearchResult::from)
            .collect();
        let (status, reason, draft) = match &r.answer {
            sift_core::Answer::Answered { text, .. } => (AskStatus::Answered, None, text.clone()),
            sift_core::Answer::NotFound { reason, draft } => {
                (AskStatus::NotFound, Some(reason.clone()), draft.clone())
            }
        };
        let t = r.timings;
        AskAnswer {
            id,
            question: r.question,
            status,
            answer: r.answer.display().to_string(),
            reason,
            draft,
            citations: r.answer.citations().to_vec(),
            passages: related,
            results: r
                .search
                .results
                .into_iter()
                .map(SearchResult::from)
                .collect(),
            stopped: r.finish == Some(sift_core::generate::Finish::Cancelled),
            finish: r.finish.map(|f| {
                use sift_core::generate::Finish;
                match f {
                    Finish::Stop => "stop",
                    Finish::MaxTokens => "max_tokens",
                    Finish::ContextFull => "context_full",
                    Finish::Cancelled => "cancelled",
                }
                .to_string()
            }),
            timings: AskTimings {
                search_ms: t.search_ms,
                first_token_ms: t.first_token_ms,
                prefill_tok_s: t.prefill_tok_s,
                decode_tok_s: t.decode_tok_s,
                prompt_tokens: t.prompt_tokens,
                generated_tokens: t.generated_tokens,
                total_ms: t.total_ms,
            },
            model: r.model,
            provider: r.provider,
        }
    }
}

/// `AskProgressEvent` in api.ts (event `sift://ask-progress`): text the model just wrote for question `id`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AskProgressEvent {
    pub id: u64,
    pub text: String,
}

/// `ProblemStatus` in api.ts: skipped on purpose (not a document Sift reads) or failed (it should have been
/// readable).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProblemStatus {
    Skipped,
    Failed,
}

/// `FailedFile` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailedFile {
    pub path: String,
    pub reason: String,
    pub status: ProblemStatus,
}

/// `KindCount` in api.ts: a file extension present among the searchable files (lower case, without the dot;
/// "" for files without one) and how many files have it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KindCount {
    pub ext: String,
    pub files: u64,
}

/// `ModelInfo` in api.ts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub id: String,
    pub name: String,
    pub dim: usize,
    pub installed: bool,
}

/// `Settings` in api.ts. `threads` is never 0 here: "automatic" is shown as the number it stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub model: String,
    /// "int8" or "fp32": the precision in effect for `model` (sent back to change it; absent = unchanged).
    #[serde(default)]
    pub precision: Option<Precision>,
    #[serde(default)]
    pub models: Vec<ModelInfo>,
    pub threads: usize,
    #[serde(default)]
    pub max_threads: usize,
    #[serde(default)]
    pub excludes: Vec<String>,
}

/// `ProgressEvent` in api.ts (event `sift://progress`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    pub folder: String,
    pub files_done: u64,
    pub files_total: u64,
    pub failed: u64,
    pub current_file: Option<String>,
    pub done: bool,
    /// The pass found the folder offline (its index is kept).
    pub offline: bool,
}

/// `ModelDownloadEvent` in api.ts (event `sift://model-download`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelDownloadEvent {
    /// The model's id.
    pub model: String,
    pub file: String,
    pub bytes: u64,
    pub total: Option<u64>,
}

impl From<&sift_core::download::DownloadProgress> for ModelDownloadEvent {
    fn from(p: &sift_core::download::DownloadProgress) -> Self {
        ModelDownloadEvent {
            model: p.model.clone(),
            file: p.file.clone(),
            bytes: p.bytes,
            total: p.total,
        }
    }
}

/// `ModelEntry` in api.ts: one model in the settings screen's list (`list_models`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelEntry {
    pub id: String,
    pub name: String,
    /// What it is good at, one line.
    pub description: String,
    pub languages: String,
    pub dim: usize,
    /// Download size in bytes, when the manifest lists it.
    pub size: Option<u64>,
    pub installed: bool,
    pub active: bool,
    pub bundled: bool,
    /// The manifest pins it (revision and checksums), so it can be downloaded.
    pub downloadable: bool,
}

/// `AnswerModelEntry` in api.ts: one model in the settings' "Answer models" list (`list_answer_models`): the
/// manifest's answer models, and installed ones it does not list (their facts unknown: `None`, "").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnswerModelEntry {
    pub id: String,
    pub name: String,
    /// What it is good for, one line.
    pub description: String,
    pub languages: String,
    /// The licence of the weights (SPDX id).
    pub license: Option<String>,
    /// Parameters, in billions.
    pub parameters_b: Option<f64>,
    /// How the weights are stored ("4-bit weights").
    pub quantization: Option<String>,
    /// Bytes: the download for a manifest model, the graph on disk for another installed one.
    pub size: Option<u64>,
    /// About how many reply tokens per second it writes on a 2-core laptop (the manifest's figure).
    pub approx_tokens_per_s: Option<f64>,
    pub installed: bool,
    /// The one Ask uses now.
    pub active: bool,
    /// In the manifest: Sift can download it.
    pub downloadable: bool,
    /// Downloaded into the model cache, so `remove_answer_model` can delete it.
    pub removable: bool,
}

/// A path as the UI sees it (lossy on non-UTF-8 names, which the engine stores the same way).
pub fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path_string(p))
}

/// `DesktopSettings` in api.ts: the desktop integration's settings (`desktop.rs`), apart from the engine's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DesktopSettings {
    /// Closing the window keeps Sift indexing in the tray (when there is one).
    pub close_to_tray: bool,
    /// The global shortcut that toggles quick search, e.g. "CommandOrControl+Shift+Space".
    pub shortcut: String,
    /// Sift starts (in the tray) at login; read from the system, not from a file.
    pub start_at_login: bool,
    /// Read only: a tray icon could be created.
    #[serde(default)]
    pub tray_available: bool,
    /// Read only: starting at login can be set on this system.
    #[serde(default)]
    pub start_at_login_available: bool,
    /// Read only: why the shortcut is not active (held by another app, not supported), as one sentence.
    #[serde(default)]
    pub shortcut_warning: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_api_ts() {
        let f = FolderInfo {
            path: "/a".into(),
            files_total: 3,
            files_done: 1,
            failed: 0,
            state: FolderState::Indexing,
            eta_secs: Some(4),
        };
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"path": "/a", "filesTotal": 3, "filesDone": 1, "failed": 0, "state": "indexing", "etaSecs": 4})
        );
        let p = Passage {
            text: "t".into(),
            start: 0,
            end: 1,
            line: 1,
            page: None,
            location: None,
            highlights: vec![(0, 1)],
            answer: Some((0, 1)),
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"text": "t", "start": 0, "end": 1, "line": 1, "page": null, "location": null, "highlights": [[0, 1]], "answer": [0, 1]})
        );
        let failed = FailedFile {
            path: "/a/x.png".into(),
            reason: "unsupported type (.png)".into(),
            status: ProblemStatus::Skipped,
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"path": "/a/x.png", "reason": "unsupported type (.png)", "status": "skipped"})
        );
        let kind = KindCount {
            ext: "pdf".into(),
            files: 2,
        };
        assert_eq!(
            serde_json::to_value(&kind).unwrap(),
            serde_json::json!({"ext": "pdf", "files": 2})
        );
        let e = ProgressEvent {
            folder: "/a".into(),
            files_done: 1,
            files_total: 2,
            failed: 0,
            current_file: None,
            done: false,
            offline: false,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert!(v.get("currentFile").is_some() && v.get("filesTotal").is_some());
        let s: Settings = serde_json::from_value(serde_json::json!({
            "model": "m", "precision": "fp32", "models": [], "threads": 2, "maxThreads": 4, "excludes": ["*.log"]
        }))
        .unwrap();
        assert_eq!(s.max_threads, 4);
        assert_eq!(s.precision, Some(Precision::Fp32));
        assert_eq!(
            serde_json::to_value(&s).unwrap()["precision"],
            serde_json::json!("fp32")
        );
        let st = Status {
            model: "m".into(),
            precision: Precision::Int8,
            dim: 3,
            provider: "CPU".into(),
            folders: 1,
            files: 2,
            passages: 1,
            chunks: 3,
            vectors: 3,
            failed: 0,
            indexing: false,
            paused: false,
            last_error: None,
            last_error_details: None,
            warning: Some("w".into()),
            generator: GeneratorState::Ready {
                model: "g".into(),
                provider: "CPU".into(),
            },
        };
        let v = serde_json::to_value(&st).unwrap();
        assert!(v.get("lastErrorDetails").is_some());
        assert_eq!(
            v["generator"],
            serde_json::json!({"state": "ready", "model": "g", "provider": "CPU"})
        );
        let answer_model = AnswerModelEntry {
            id: "q".into(),
            name: "Q".into(),
            description: "d".into(),
            languages: "l".into(),
            license: Some("Apache-2.0".into()),
            parameters_b: Some(0.5),
            quantization: Some("4-bit weights".into()),
            size: Some(9),
            approx_tokens_per_s: Some(20.0),
            installed: false,
            active: false,
            downloadable: true,
            removable: false,
        };
        assert_eq!(
            serde_json::to_value(&answer_model).unwrap(),
            serde_json::json!({"id": "q", "name": "Q", "description": "d", "languages": "l", "license": "Apache-2.0",
                "parametersB": 0.5, "quantization": "4-bit weights", "size": 9, "approxTokensPerS": 20.0,
                "installed": false, "active": false, "downloadable": true, "removable": false})
        );
        assert_eq!(
            serde_json::to_value(AskStatus::NotFound).unwrap(),
            serde_json::json!("not_found")
        );
        let err = AppError {
            kind: ErrorKind::ModelMissing,
            message: "m".into(),
            details: "d".into(),
        };
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            serde_json::json!({"kind": "modelMissing", "message": "m", "details": "d"})
        );
        assert_eq!(
            (
                &v["precision"],
                &v["vectors"],
                &v["lastError"],
                &v["warning"]
            ),
            (
                &serde_json::json!("int8"),
                &serde_json::json!(3),
                &serde_json::Value::Null,
                &serde_json::json!("w")
            )
        );
    }
}
