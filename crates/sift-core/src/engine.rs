//! The engine facade: one open index (database + vector index + models) that the CLI and the desktop app
//! drive. Safe to share between threads: searches run while a background thread indexes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::chunk::ChunkOptions;
use crate::embed::{EmbedOptions, Embedder};
use crate::error::{Error, Result};
use crate::extract::ExtractOptions;
use crate::index::{ExactIndex, HnswParams, VectorIndex};
use crate::model::{self, ModelFiles, ModelSpec, Precision};
use crate::search::{self, Mode, Passage, SearchHit, SearchParams, SearchResponse};
use crate::store::{Counts, Filter, Folder, ProblemFile, Store};

/// User settings that persist in `settings.json` in the data directory (the app's settings screen edits them;
/// the CLI reads them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    pub model: String,
    pub precision: Option<Precision>,
    /// Threads for indexing; 0 = automatic (all cores but one).
    pub threads: usize,
    /// Excluded patterns, gitignore syntax.
    pub excludes: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: model::default_model_id(),
            precision: None,
            threads: 0,
            excludes: crate::scan::default_excludes(),
        }
    }
}

impl Settings {
    /// Reads `settings.json` from `data_dir`, or the defaults when there is none. A malformed file is an error
    /// (the user's choices are not silently thrown away).
    pub fn load(data_dir: &Path) -> Result<Settings> {
        let path = data_dir.join("settings.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Invalid(format!(
                    "{} is not valid settings JSON: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Writes `settings.json` atomically.
    pub fn save(&self, data_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::io(format!("creating {}", data_dir.display()), e))?;
        let tmp = data_dir.join("settings.json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Invalid(e.to_string()))?;
        std::fs::write(&tmp, json)
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, data_dir.join("settings.json"))
            .map_err(|e| Error::io("saving settings", e))
    }
}

/// Everything needed to open an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub settings: Settings,
    /// A folder holding `model.onnx` / `model_int8.onnx` + `tokenizer.json`, overriding the caches.
    pub model_dir: Option<PathBuf>,
    pub chunk: ChunkOptions,
    pub extract: ExtractOptions,
    pub hnsw: HnswParams,
    pub search: SearchParams,
    /// Chunks embedded per database transaction while indexing.
    pub batch_chunks: usize,
}

impl EngineConfig {
    /// Defaults for `data_dir`, with the settings saved there.
    pub fn new(data_dir: impl Into<PathBuf>) -> Result<Self> {
        let data_dir = data_dir.into();
        let settings = Settings::load(&data_dir)?;
        Ok(EngineConfig {
            data_dir,
            settings,
            model_dir: std::env::var_os("SIFT_MODEL_DIR").map(PathBuf::from),
            chunk: ChunkOptions::default(),
            extract: ExtractOptions::default(),
            hnsw: HnswParams::default(),
            search: SearchParams::default(),
            batch_chunks: 64,
        })
    }
}

/// A root folder with its indexing state.
#[derive(Debug, Clone, Serialize)]
pub struct FolderStatus {
    pub path: PathBuf,
    /// Files recorded under it.
    pub files: u64,
    /// Of those, skipped or failed.
    pub problems: u64,
}

/// Where the vector index came from when the engine opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexSource {
    /// Loaded from the saved file (then caught up with newer vectors).
    Loaded,
    /// Rebuilt from the database.
    Rebuilt,
}

/// Status of the engine, for `sift status` and the app's status line.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub data_dir: PathBuf,
    pub model: String,
    pub model_name: String,
    pub dim: usize,
    pub precision: Precision,
    pub provider: String,
    pub model_source: String,
    pub runtime_library: Option<PathBuf>,
    pub counts: Counts,
    pub index_vectors: usize,
    pub index_dead: usize,
    pub index_bytes: u64,
    pub index_source: IndexSource,
    pub indexing: bool,
}

/// Options of one search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub limit: usize,
    pub filter: Filter,
    pub mode: Mode,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 10,
            filter: Filter::default(),
            mode: Mode::Hybrid,
        }
    }
}

/// An open Sift index.
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) spec: ModelSpec,
    pub(crate) files: ModelFiles,
    /// Connection used by the indexer (writes).
    pub(crate) writer: Mutex<Store>,
    /// Connection used by searches, so they never wait for an indexing transaction.
    reader: Mutex<Store>,
    pub(crate) index: RwLock<VectorIndex>,
    index_source: IndexSource,
    query_embedder: Mutex<Option<Embedder>>,
    pub(crate) doc_embedder: Mutex<Option<Embedder>>,
    pub(crate) indexing: AtomicBool,
    pub(crate) embedded_total: AtomicU64,
    seen_data_version: Mutex<i64>,
}

/// Below this many allowed chunks, filtered searches scan vectors exactly instead of walking the graph.
const EXACT_FILTER_LIMIT: usize = 20_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Opens (creating if needed) the index in `config.data_dir` and loads or rebuilds the vector index.
    /// Fails with a clear error when the model files are not installed.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let spec = model::spec(&config.settings.model)?;
        let precision = config.settings.precision.unwrap_or(spec.default_precision);
        let files = model::locate(&spec, precision, config.model_dir.as_deref())?;
        let db_path = config.data_dir.join("index.sqlite");
        let writer = Store::open(&db_path)?;
        let reader = Store::open(&db_path)?;
        let model_key = model_key(&spec, precision);
        let live = writer.vector_ids(&model_key)?;
        let dir = hnsw_dir(&config.data_dir, &model_key);
        let (mut index, index_source) =
            match VectorIndex::load(&dir, &model_key, spec.dim, &live, config.hnsw) {
                Some(idx) => (idx, IndexSource::Loaded),
                None => (
                    VectorIndex::new(&model_key, spec.dim, live.len(), config.hnsw),
                    IndexSource::Rebuilt,
                ),
            };
        let watermark = index.watermark();
        let mut pending = Vec::new();
        writer.for_each_vector(&model_key, watermark, |id, v| pending.push((id, v)))?;
        if !pending.is_empty() {
            tracing::info!(
                vectors = pending.len(),
                ?index_source,
                "adding vectors to the index"
            );
            for batch in pending.chunks(4096) {
                index.insert(batch);
            }
            if index_source == IndexSource::Rebuilt || pending.len() > 1000 {
                if let Err(e) = save_locked(&config.data_dir, &dir, &index) {
                    tracing::warn!(error = %e, "could not save the vector index");
                }
            }
        }
        let version = reader.data_version()?;
        Ok(Engine {
            config,
            spec,
            files,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            index: RwLock::new(index),
            index_source,
            query_embedder: Mutex::new(None),
            doc_embedder: Mutex::new(None),
            indexing: AtomicBool::new(false),
            embedded_total: AtomicU64::new(0),
            seen_data_version: Mutex::new(version),
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The model in use.
    pub fn model(&self) -> &ModelSpec {
        &self.spec
    }

    /// Key under which this model's vectors are stored ("all-MiniLM-L6-v2/int8").
    pub fn model_key(&self) -> String {
        model_key(&self.spec, self.files.precision)
    }

    /// Chunks embedded by this engine since it opened (for tests and benchmarks).
    pub fn embedded_chunks(&self) -> u64 {
        self.embedded_total.load(Ordering::Relaxed)
    }

    /// Whether an indexing run is in progress.
    pub fn is_indexing(&self) -> bool {
        self.indexing.load(Ordering::Relaxed)
    }

    pub(crate) fn with_doc_embedder<T>(
        &self,
        f: impl FnOnce(&mut Embedder) -> Result<T>,
    ) -> Result<T> {
        let mut guard = lock(&self.doc_embedder);
        if guard.is_none() {
            let threads = match self.config.settings.threads {
                0 => crate::runtime::default_threads(),
                n => n,
            };
            let options = EmbedOptions {
                threads,
                ..EmbedOptions::default()
            };
            *guard = Some(Embedder::load(&self.spec, &self.files, &options)?);
        }
        match guard.as_mut() {
            Some(e) => f(e),
            None => Err(Error::Embed("embedder unavailable".into())),
        }
    }

    fn with_query_embedder<T>(&self, f: impl FnOnce(&mut Embedder) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.query_embedder);
        if guard.is_none() {
            let options = EmbedOptions {
                threads: 1,
                batch_size: 1,
                ..EmbedOptions::default()
            };
            *guard = Some(Embedder::load(&self.spec, &self.files, &options)?);
        }
        match guard.as_mut() {
            Some(e) => f(e),
            None => Err(Error::Embed("embedder unavailable".into())),
        }
    }

    /// Adds a folder (or a single file) to the indexed set. It must exist; it is stored canonicalised.
    pub fn add_folder(&self, path: &Path) -> Result<Folder> {
        let canonical = std::fs::canonicalize(path)
            .map_err(|e| Error::InvalidPath(format!("cannot add {}: {e}", path.display())))?;
        lock(&self.writer).add_folder(&canonical)
    }

    /// Removes a folder and everything indexed under it.
    pub fn remove_folder(&self, path: &Path) -> Result<()> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let removed = {
            let mut w = lock(&self.writer);
            match w.remove_folder(&canonical) {
                Err(Error::InvalidPath(_)) if canonical != path => w.remove_folder(path)?,
                other => other?,
            }
        };
        self.index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&removed);
        self.save_index()
    }

    /// The indexed roots with counts.
    pub fn folders(&self) -> Result<Vec<FolderStatus>> {
        let r = lock(&self.reader);
        r.folders()?
            .into_iter()
            .map(|f| {
                let (files, problems) = r.folder_counts(f.id)?;
                Ok(FolderStatus {
                    path: f.path,
                    files,
                    problems,
                })
            })
            .collect()
    }

    /// Files that were skipped or failed, with reasons.
    pub fn problem_files(&self, folder: Option<&Path>) -> Result<Vec<ProblemFile>> {
        lock(&self.reader).problem_files(folder)
    }

    /// Whether `path` is a file in the index — the only files the app will open or reveal.
    pub fn is_indexed_file(&self, path: &Path) -> Result<bool> {
        lock(&self.reader).is_known_file(path)
    }

    /// Saves the vector index next to the database.
    pub fn save_index(&self) -> Result<()> {
        let dir = hnsw_dir(&self.config.data_dir, &self.model_key());
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        save_locked(&self.config.data_dir, &dir, &index)
    }

    /// Rebuilds the vector index from the database (drops tombstones).
    pub fn rebuild_index(&self) -> Result<()> {
        let key = self.model_key();
        let mut fresh = {
            let w = lock(&self.writer);
            let count = w.vector_ids(&key)?.len();
            let mut idx = VectorIndex::new(&key, self.spec.dim, count, self.config.hnsw);
            let mut batch = Vec::with_capacity(4096);
            let mut err = None;
            w.for_each_vector(&key, 0, |id, v| {
                batch.push((id, v));
                if batch.len() == 4096 {
                    idx.insert(&batch);
                    batch.clear();
                }
            })
            .unwrap_or_else(|e| err = Some(e));
            if let Some(e) = err {
                return Err(e);
            }
            idx.insert(&batch);
            idx
        };
        std::mem::swap(
            &mut *self.index.write().unwrap_or_else(|e| e.into_inner()),
            &mut fresh,
        );
        self.save_index()
    }

    /// Picks up vectors written by another process (e.g. `sift index` while the app runs).
    fn catch_up(&self, reader: &Store) -> Result<()> {
        let version = reader.data_version()?;
        let mut seen = lock(&self.seen_data_version);
        if *seen == version {
            return Ok(());
        }
        *seen = version;
        let watermark = self
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .watermark();
        let mut pending = Vec::new();
        reader.for_each_vector(&self.model_key(), watermark, |id, v| pending.push((id, v)))?;
        if !pending.is_empty() {
            self.index
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(&pending);
        }
        Ok(())
    }

    /// Answers a query: ranked distinct files with their best passage.
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<SearchResponse> {
        let started = Instant::now();
        let parsed = search::parse_query(query);
        let catching_up = self.is_indexing();
        let empty = |took: f64| SearchResponse {
            query: query.to_string(),
            took_ms: took,
            catching_up,
            results: Vec::new(),
        };
        if parsed.semantic.trim().is_empty() || options.limit == 0 {
            return Ok(empty(started.elapsed().as_secs_f64() * 1000.0));
        }
        let params = self.config.search;
        let depth = params.depth.max(options.limit * 3);
        let query_vector = if options.mode == Mode::Keyword {
            None
        } else {
            Some(self.with_query_embedder(|e| e.embed_query(&parsed.semantic))?)
        };
        let reader = lock(&self.reader);
        self.catch_up(&reader)?;
        // Chunks allowed by filters and exact phrases, when restricted.
        let mut allowed: Option<HashSet<i64>> = None;
        if !options.filter.is_empty() {
            allowed = Some(
                reader
                    .filtered_chunk_ids(&options.filter)?
                    .into_iter()
                    .collect(),
            );
        }
        if let Some(expr) = search::phrase_expression(&parsed) {
            let ids: HashSet<i64> = reader.fts_ids(&expr)?.into_iter().collect();
            allowed = Some(match allowed {
                Some(a) => a.intersection(&ids).copied().collect(),
                None => ids,
            });
        }
        if allowed.as_ref().is_some_and(|a| a.is_empty()) {
            return Ok(empty(started.elapsed().as_secs_f64() * 1000.0));
        }
        let model_key = self.model_key();
        let vector_hits: Vec<(i64, f32)> = match &query_vector {
            None => Vec::new(),
            Some(qv) => match &allowed {
                Some(a) if a.len() <= EXACT_FILTER_LIMIT => {
                    let ids: Vec<i64> = a.iter().copied().collect();
                    let mut exact = ExactIndex::new(self.spec.dim);
                    for (id, v) in reader.vectors(&model_key, &ids)? {
                        exact.insert(id, &v);
                    }
                    exact.search(qv, depth)
                }
                Some(a) => {
                    let allow = |id: i64| a.contains(&id);
                    let idx = self.index.read().unwrap_or_else(|e| e.into_inner());
                    idx.search(qv, depth, Some(&allow))
                }
                None => {
                    let idx = self.index.read().unwrap_or_else(|e| e.into_inner());
                    idx.search(qv, depth, None)
                }
            },
        };
        // Passages barely related to the query are left out, unless the keyword side also finds them.
        // Hits far below the best one are noise next to it (another topic altogether).
        let best = vector_hits.first().map_or(0.0, |h| h.1);
        let floor = params.min_similarity.max(best - params.max_similarity_gap);
        let vector_ids: Vec<i64> = vector_hits
            .into_iter()
            .filter(|&(_, sim)| sim >= floor)
            .map(|x| x.0)
            .collect();
        let keyword_ids: Vec<i64> = match (options.mode, search::fts_expression(&parsed)) {
            (Mode::Vector, _) | (_, None) => Vec::new(),
            (_, Some(expr)) => reader
                .fts(&expr, depth, &options.filter)?
                .into_iter()
                .map(|x| x.0)
                .collect(),
        };
        let fused = search::rrf(
            &[(&vector_ids, params.vector_weight), (&keyword_ids, 1.0)],
            params.rrf_k,
        );
        let ids: Vec<i64> = fused.iter().map(|x| x.0).collect();
        let records = reader.chunks(&ids)?;
        drop(reader);
        let file_of = records.iter().map(|c| (c.id, c.file_id)).collect();
        let grouped = search::group_by_file(&fused, &file_of, options.limit);
        let by_id: std::collections::HashMap<i64, &crate::store::ChunkRecord> =
            records.iter().map(|c| (c.id, c)).collect();
        let results = grouped
            .into_iter()
            .filter_map(|(_, chunk, score)| {
                let c = by_id.get(&chunk)?;
                Some(SearchHit {
                    path: c.path.clone(),
                    folder: c.folder.clone(),
                    score,
                    passage: Passage {
                        highlights: search::highlights(&c.text, &parsed),
                        text: c.text.clone(),
                        start: c.start,
                        end: c.end,
                        line: c.line,
                        page: c.page,
                    },
                })
            })
            .collect();
        Ok(SearchResponse {
            query: query.to_string(),
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            catching_up,
            results,
        })
    }

    /// Engine status. Loads the query model if needed, to report the execution provider actually in use.
    pub fn status(&self) -> Result<Status> {
        let provider = self.with_query_embedder(|e| Ok(e.provider().to_string()))?;
        let counts = lock(&self.reader).counts()?;
        let idx = self.index.read().unwrap_or_else(|e| e.into_inner());
        let dir = hnsw_dir(&self.config.data_dir, &self.model_key());
        let index_bytes = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        Ok(Status {
            data_dir: self.config.data_dir.clone(),
            model: self.spec.id.clone(),
            model_name: self.spec.name.clone(),
            dim: self.spec.dim,
            precision: self.files.precision,
            provider,
            model_source: self.files.source.to_string(),
            runtime_library: crate::runtime::info().map(|i| i.library),
            counts,
            index_vectors: idx.len(),
            index_dead: idx.dead(),
            index_bytes,
            index_source: self.index_source,
            indexing: self.is_indexing(),
        })
    }
}

/// Saves the graph while holding `index.lock` in the data directory: the app and the CLI may share a data
/// directory, and only one of them may write the graph files at a time.
fn save_locked(data_dir: &Path, dir: &Path, index: &VectorIndex) -> Result<()> {
    let lock_path = data_dir.join("index.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
    lock.lock()
        .map_err(|e| Error::io(format!("locking {}", lock_path.display()), e))?;
    let saved = index.save(dir);
    let _ = lock.unlock();
    saved
}

fn model_key(spec: &ModelSpec, precision: Precision) -> String {
    format!("{}/{}", spec.id, precision)
}

fn hnsw_dir(data_dir: &Path, model_key: &str) -> PathBuf {
    data_dir.join(format!("hnsw-{}", model_key.replace('/', "-")))
}
