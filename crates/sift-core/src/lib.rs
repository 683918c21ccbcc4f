//! # sift-core
//!
//! The engine behind Sift: it turns folders into a searchable index of passages and answers natural-language
//! queries against it, entirely on this machine. See `ARCHITECTURE.md` for the data flow and the invariants.
//! No GUI dependency: the desktop app and the `sift` CLI are both thin layers over this crate.
//!
//! The API is [`Engine`] and the types it takes and returns, re-exported here. A few modules are public as
//! sub-APIs of their own: [`model`] (the manifest, locating and downloading models), [`runtime`] (finding
//! ONNX Runtime), [`embed`] (the embedder, for benchmarks and tests), [`generate`] (the text generator: a
//! local LLM, for `sift ask` and benchmarks), [`answer`] (grounded prompts and citation checks), [`eval`] (retrieval quality),
//! [`watch`] (the filesystem watcher), [`worker`] (the extraction worker process: started by the CLI and the
//! app as `<exe> __sift-extract-worker`) and [`paths`] (where data lives). Everything else is private.

pub mod answer;
mod catalog;
mod chunk;
mod confidence;
pub mod download;
pub mod embed;
mod engine;
mod error;
pub mod eval;
mod extract;
mod fault;
mod frozen;
mod fts_rank;
mod fts_tokenizer;
pub mod generate;
mod index;
mod indexer;
pub mod model;
pub mod paths;
pub mod priority;
mod quant;
mod retrieve;
pub mod runtime;
mod scan;
mod search;
mod store;
pub mod watch;
pub mod worker;

pub use answer::Answer;
pub use catalog::IndexSource;
pub use chunk::{Chunk, ChunkOptions, Unit, Window};
pub use confidence::{Confidence, Strength};
pub use engine::{
    AskOptions, AskPassage, AskResponse, AskTimings, Engine, EngineConfig, FolderStatus,
    SearchOptions, Settings, Status,
};
pub use error::{Error, Result};
pub use extract::{ExtractError, ExtractOptions, Extracted, Location, Part};
pub use generate::{Generator, GeneratorOptions};
pub use index::{ExactIndex, HnswParams, VectorIndex};
pub use indexer::{IndexReport, Phase, Progress};
pub use scan::default_excludes;
pub use search::{
    Fusion, MeaningSearch, Mode, Passage, SearchHit, SearchParams, SearchResponse, Stages,
};
pub use store::{Counts, FileStatus, Filter, Folder, ProblemFile, Store};
