//! # sift-core
//!
//! The engine behind Sift: it turns folders into a searchable index of passages and answers natural-language
//! queries against it, entirely on this machine. See `ARCHITECTURE.md` for the data flow and the invariants.
//! No GUI dependency: the desktop app and the `sift` CLI are both thin layers over this crate.

pub mod chunk;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod extract;
pub mod index;
pub mod indexer;
pub mod model;
pub mod paths;
pub mod runtime;
pub mod scan;
pub mod search;
pub mod store;
pub mod watch;

pub use engine::{Engine, EngineConfig, SearchOptions, Settings, Status};
pub use error::{Error, Result};
pub use indexer::{IndexReport, Phase, Progress};
pub use search::{Mode, SearchHit, SearchResponse};
pub use store::Filter;
