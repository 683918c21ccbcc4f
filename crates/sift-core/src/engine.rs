//! The engine facade: one open index (database + vector index + models) that the CLI and the desktop app
//! drive. Safe to share between threads: searches run while a background thread indexes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::answer::{self, Answer, Source};
use crate::catalog::{Catalog, IndexSource};
use crate::chunk::{ChunkOptions, Unit};
use crate::confidence::{self, Yardstick};
use crate::embed::{EmbedOptions, Embedder};
use crate::error::{Error, Result};
use crate::extract::{ExtractOptions, Location};
use crate::generate::{Finish, GenerateParams, Generator};
use crate::index::HnswParams;
use crate::indexer::{IndexReport, Indexer, Progress, Scope};
use crate::model::{self, ModelFiles, ModelSpec, Precision};
use crate::retrieve::{FilterCache, KeywordSide, Retrieval};
use crate::search::{self, MeaningSearch, Mode, SearchHit, SearchParams, SearchResponse, Stages};
use crate::store::{Counts, Filter, Folder, ProblemFile, Store};

/// User settings that persist in `settings.json` in the data directory (the app's settings screen edits them;
/// the CLI reads them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    pub model: String,
    pub precision: Option<Precision>,
    /// Threads for indexing; 0 = automatic (all cores, at low OS priority).
    pub threads: usize,
    /// Excluded patterns, gitignore syntax.
    pub excludes: Vec<String>,
    /// The answer model "Ask" uses (an id of [`crate::generate::installed`]); `None`: the largest one
    /// installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_model: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: model::default_model_id(),
            precision: None,
            threads: 0,
            excludes: crate::scan::default_excludes(),
            answer_model: None,
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
    /// Model tokens embedded (chunks and their sentence windows) per database transaction while indexing:
    /// groups are sized by the model's work, so each commit comes after about the same time whatever the
    /// documents (many short notes or long pages). Larger groups sort into batches of like length (less
    /// padding) and spread each commit's and graph insert's fixed cost: groups of 64 → 256 → 512 → ≈ 1,000
    /// texts (here ≈ 64 k tokens) took indexing from 0.69x to 0.80x to ≈ 0.9x to ≈ 0.93x of the raw session
    /// (docs/BENCHMARKS.md). The first group of a pass is a sixteenth of this, each next one twice the
    /// last, so the first results are committed within a second. Embedding checks the cancel flag per
    /// model batch, so a pause still waits for one batch of 8 texts, not the group; a kill loses at most
    /// the group in hand (≈ 5 s of work on two cores).
    pub batch_tokens: usize,
    /// How to start the extraction worker that reads documents (PDF, office, mail…) in a separate process;
    /// `None` reads them in this process (no protection against a parser that crashes or hangs). The CLI and
    /// the app always set it.
    pub worker: Option<crate::worker::WorkerCommand>,
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
            batch_tokens: 64 * 1024,
            worker: None,
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
    /// Unreachable at the last pass (unmounted drive, empty mount point): its index is kept and searchable.
    pub offline: bool,
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
    /// `counts.vectors` are the active model's.
    pub counts: Counts,
    /// Whether every passage can be found by meaning.
    pub meaning: MeaningSearch,
    pub index_vectors: usize,
    pub index_dead: usize,
    pub index_bytes: u64,
    pub index_source: IndexSource,
    pub indexing: bool,
    /// Roots that are offline (their index is kept).
    pub offline_folders: Vec<PathBuf>,
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

/// Options of one question to [`Engine::ask`].
#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Filters and mode of the search that finds the passages (`limit` is ignored: see `passages`).
    pub search: SearchOptions,
    /// Passages (the best one of each of the top files) given to the model at most.
    pub passages: usize,
    /// Sampling and the reply's token budget.
    pub generate: GenerateParams,
}

impl Default for AskOptions {
    fn default() -> Self {
        AskOptions {
            search: SearchOptions::default(),
            passages: 4,
            generate: GenerateParams {
                max_new_tokens: 192,
                ..GenerateParams::default()
            },
        }
    }
}

/// A passage given to the model, numbered as the model saw it.
#[derive(Debug, Clone, Serialize)]
pub struct AskPassage {
    /// `[number]` in the prompt and in the answer's citations (1-based).
    pub number: usize,
    pub path: PathBuf,
    pub page: Option<u32>,
    pub line: usize,
    pub location: Option<Location>,
    /// The text the model was given (the passage, cut to fit the context when `cut`).
    pub text: String,
    pub cut: bool,
    /// Whether the checked answer cites it.
    pub cited: bool,
}

/// Where an answer's time went.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AskTimings {
    pub search_ms: f64,
    /// From the start of generation to its first token.
    pub first_token_ms: f64,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub total_ms: f64,
}

/// A checked answer with the passages it was drafted from.
#[derive(Debug, Clone, Serialize)]
pub struct AskResponse {
    pub question: String,
    /// The checked answer: shown only when `Answered`; otherwise "Not found in your files".
    pub answer: Answer,
    /// The passages given to the model, in prompt order.
    pub passages: Vec<AskPassage>,
    /// The search the passages came from (every hit, for the list under the answer).
    pub search: SearchResponse,
    /// Why generation ended (`None`: the model did not run, e.g. nothing matched).
    pub finish: Option<Finish>,
    pub timings: AskTimings,
    /// The generator model's id and the execution provider it ran on.
    pub model: String,
    pub provider: String,
}

/// An open Sift index.
pub struct Engine {
    config: EngineConfig,
    spec: ModelSpec,
    files: ModelFiles,
    /// The only writer of chunks, vectors and the graph.
    catalog: Catalog,
    /// Connection used by searches, so they never wait for an indexing transaction.
    reader: Mutex<Store>,
    /// A search's keyword side runs on this one, on its own thread, alongside the query's embedding and
    /// the graph search on `reader` (`retrieve::KeywordSide`).
    keyword_reader: Mutex<Store>,
    /// The chunks the last search's filter allowed (see `FilterCache`).
    filters: FilterCache,
    query_embedder: Mutex<Option<Embedder>>,
    /// The model's yardstick for "unrelated" (`confidence.rs`), made at the first search.
    yardstick: Mutex<Option<Arc<Yardstick>>>,
    doc_embedder: Mutex<Option<Embedder>>,
    indexing: AtomicBool,
    embedded_total: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Opens (creating if needed) the index in `config.data_dir` and loads or rebuilds the vector graph.
    /// Fails with a clear error when the model files are not installed.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let spec = model::spec(&config.settings.model)?;
        let precision = config.settings.precision.unwrap_or(spec.default_precision);
        let files = model::locate(&spec, precision, config.model_dir.as_deref())?;
        let model_key = model_key(&spec, precision);
        let reader = Store::open(&config.data_dir.join("index.sqlite"))?;
        let keyword_reader = Store::open(&config.data_dir.join("index.sqlite"))?;
        let catalog = Catalog::open(&config.data_dir, &reader, &model_key, spec.dim, config.hnsw)?;
        Ok(Engine {
            config,
            spec,
            files,
            catalog,
            reader: Mutex::new(reader),
            keyword_reader: Mutex::new(keyword_reader),
            filters: FilterCache::default(),
            query_embedder: Mutex::new(None),
            yardstick: Mutex::new(None),
            doc_embedder: Mutex::new(None),
            indexing: AtomicBool::new(false),
            embedded_total: AtomicU64::new(0),
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

    fn with_doc_embedder<T>(&self, f: impl FnOnce(&mut Embedder) -> Result<T>) -> Result<T> {
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

    /// The reference sentences embedded with the active model (see `confidence.rs`), computed at the first
    /// search.
    fn yardstick(&self) -> Result<Arc<Yardstick>> {
        let mut guard = lock(&self.yardstick);
        if let Some(y) = guard.as_ref() {
            return Ok(Arc::clone(y));
        }
        let vectors =
            self.with_query_embedder(|e| e.embed_documents(confidence::REFERENCE_TEXTS))?;
        let vectors: Vec<Vec<f32>> = vectors.into_iter().map(|e| e.vector).collect();
        let y = Arc::new(Yardstick::new(self.spec.dim, &vectors));
        *guard = Some(Arc::clone(&y));
        Ok(y)
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
        self.catalog.add_folder(&canonical)
    }

    /// Removes a folder and everything indexed under it.
    pub fn remove_folder(&self, path: &Path) -> Result<()> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        match self.catalog.remove_folder(&canonical) {
            Err(Error::InvalidPath(_)) if canonical != path => self.catalog.remove_folder(path)?,
            other => other?,
        }
        self.catalog.save()
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
                    offline: f.offline,
                })
            })
            .collect()
    }

    /// Extensions of the searchable files with their file counts, most common first (for type filters).
    pub fn indexed_extensions(&self) -> Result<Vec<(String, u64)>> {
        lock(&self.reader).indexed_extensions()
    }

    /// Files that were skipped or failed, with reasons.
    pub fn problem_files(&self, folder: Option<&Path>) -> Result<Vec<ProblemFile>> {
        lock(&self.reader).problem_files(folder)
    }

    /// Whether `path` is a document in the index (indexed, not skipped or failed) — the only files the app
    /// will open.
    pub fn is_indexed_file(&self, path: &Path) -> Result<bool> {
        lock(&self.reader).is_indexed_file(path)
    }

    /// What the index knows about the file at `path`: `None` when it has no record of it.
    pub fn file_status(&self, path: &Path) -> Result<Option<crate::store::FileStatus>> {
        Ok(lock(&self.reader).file(path)?.map(|f| f.status))
    }

    /// Saves the vector graph next to the database.
    pub fn save_index(&self) -> Result<()> {
        self.catalog.save()
    }

    /// Rebuilds the vector graph from the database (drops tombstones).
    pub fn rebuild_index(&self) -> Result<()> {
        self.catalog.rebuild()
    }

    /// Indexes every root until caught up. `cancel` stops it after the current batch (pause); the next run
    /// resumes. Progress events go to `progress`.
    pub fn index(
        &self,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        let folders = self.catalog.read(|s| s.folders())?;
        let work: Vec<(Folder, Scope)> = folders.into_iter().map(|f| (f, Scope::Root)).collect();
        self.run_indexer(work, progress, cancel)
    }

    /// Re-indexes only `paths` (changed files or folders, existing or deleted, as a watcher reports them).
    /// Paths outside every root are ignored; a root itself among them is reconciled whole.
    pub fn index_containing(
        &self,
        paths: &[PathBuf],
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        let folders = self.catalog.read(|s| s.folders())?;
        let mut work = Vec::new();
        for f in folders {
            let mine: Vec<PathBuf> = paths
                .iter()
                .filter(|p| p.starts_with(&f.path))
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            let scope = if mine.iter().any(|p| p == &f.path) {
                Scope::Root
            } else {
                Scope::Paths(mine)
            };
            work.push((f, scope));
        }
        self.run_indexer(work, progress, cancel)
    }

    /// Runs the pass on a thread of its own at background priority (`priority.rs`): that thread, the
    /// indexer's reader thread it starts and ONNX Runtime's intra-op threads (the indexing session is built
    /// on it, and threads inherit their creator's priority) run low, while the caller's thread, and with it
    /// a query's single-thread session, keeps its priority. Progress events come back to `progress` on the
    /// caller's thread, in order, before this returns.
    fn run_indexer(
        &self,
        work: Vec<(Folder, Scope)>,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel::<Progress>();
            let pass = std::thread::Builder::new()
                .name("sift-index".into())
                .spawn_scoped(scope, move || {
                    if let Err(e) = crate::priority::lower_current_thread() {
                        tracing::debug!(error = %e, "could not lower the indexing thread's priority");
                    }
                    let mut forward = |p: &Progress| {
                        let _ = tx.send(p.clone());
                    };
                    self.run_indexer_here(work, &mut forward, cancel)
                })
                .map_err(|e| Error::io("starting the indexing thread".to_string(), e))?;
            // Ends when the pass drops its sender (returned or panicked).
            for p in rx {
                progress(&p);
            }
            match pass.join() {
                Ok(result) => result,
                // A panic in the pass reaches the caller as it would have without the thread.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    fn run_indexer_here(
        &self,
        work: Vec<(Folder, Scope)>,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        struct Flag<'a>(&'a AtomicBool);
        impl Drop for Flag<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Relaxed);
            }
        }
        self.indexing.store(true, Ordering::Relaxed);
        let _flag = Flag(&self.indexing);
        let started = Instant::now();
        let mut report = IndexReport::default();
        if work.is_empty() {
            return Ok(report);
        }
        let tokenizer = self.with_doc_embedder(|e| Ok(e.tokenizer().clone()))?;
        let embed = |units: &[Unit<'_>], cancel: &AtomicBool| -> Result<Vec<Vec<f32>>> {
            self.with_doc_embedder(|e| {
                Ok(e.embed_units_until(units, cancel)?
                    .into_iter()
                    .map(|x| x.vector)
                    .collect())
            })
        };
        let indexer = Indexer {
            catalog: &self.catalog,
            embed: &embed,
            tokenizer: &tokenizer,
            chunk: self.config.chunk,
            chunker_key: self.config.chunk.key(&self.spec.id),
            extract: self.config.extract,
            worker: self.config.worker.as_ref(),
            excludes: &self.config.settings.excludes,
            batch_tokens: self.config.batch_tokens.max(1),
            lock_dir: self.config.data_dir.join("locks"),
            embedded_total: &self.embedded_total,
        };
        let mut changed = false;
        let mut outcome = Ok(());
        for (folder, scope) in work {
            if cancel.load(Ordering::Relaxed) {
                outcome = Err(Error::Cancelled);
                break;
            }
            match indexer.run(&folder, scope, progress, cancel, &mut report) {
                Ok(c) => changed |= c,
                Err(e) => {
                    changed = true;
                    outcome = Err(e);
                    break;
                }
            }
        }
        if changed {
            // Saved even when paused or failed, so the next start loads instead of rebuilding.
            let saved = if outcome.is_ok() {
                self.catalog.maintain()
            } else {
                self.catalog.save()
            };
            if let Err(e) = saved {
                tracing::warn!(error = %e, "could not save the vector index; it will be rebuilt at the next start");
            }
        }
        outcome?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Answers a query: ranked distinct files with their best passage.
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<SearchResponse> {
        let started = Instant::now();
        let mut stages = Stages::default();
        let parsed = search::parse_query(query);
        let catching_up = self.is_indexing();
        let wanted = !parsed.semantic.trim().is_empty() && options.limit > 0;
        let results = std::thread::scope(|scope| -> Result<Vec<SearchHit>> {
            // The keyword side needs no query vector: it runs on its own connection while the query is
            // embedded and the graph searched, so a query costs the longer of the two, not their sum. A
            // meaning-only search has none.
            let keyword = wanted.then(|| {
                (options.mode != Mode::Vector).then(|| {
                    scope.spawn(|| {
                        KeywordSide::search(
                            &lock(&self.keyword_reader),
                            &parsed,
                            options.mode,
                            &options.filter,
                            &self.config.search,
                            options.limit,
                        )
                    })
                })
            });
            let query_vector = if options.mode == Mode::Keyword || !wanted {
                None
            } else {
                Some(self.with_query_embedder(|e| e.embed_query(&parsed.semantic))?)
            };
            stages.embed_ms = started.elapsed().as_secs_f64() * 1000.0;
            let Some(keyword) = keyword else {
                return Ok(Vec::new());
            };
            let scale = match &query_vector {
                Some(qv) => self.yardstick()?.scale(qv),
                None => None,
            };
            let reader = lock(&self.reader);
            self.catalog.sync(&reader)?;
            Retrieval {
                reader: &reader,
                catalog: &self.catalog,
                filters: &self.filters,
                dim: self.spec.dim,
                params: self.config.search,
                query_vector: query_vector.as_deref(),
                scale,
            }
            .run(
                &parsed,
                options.mode,
                &options.filter,
                options.limit,
                || match keyword {
                    Some(side) => side
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    None => Ok(KeywordSide::none()),
                },
                &mut stages,
            )
        })?;
        Ok(SearchResponse {
            query: query.to_string(),
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            stages,
            catching_up,
            meaning: self.catalog.coverage(),
            confidence: confidence::overall(results.iter().map(|r| r.strength)),
            results,
        })
    }

    /// Answers a question from the indexed files: searches with `options.search`'s filters, gives the top
    /// passages (numbered) to `generator`, streams the draft's text to `on_text`, then checks it
    /// (`answer::check`: citations name given passages, quotes are in them). Nothing matching, no room for a
    /// passage, a stop via `cancel` or a draft that fails a check give [`Answer::NotFound`] with the passages.
    pub fn ask(
        &self,
        question: &str,
        options: &AskOptions,
        generator: &mut Generator,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<AskResponse> {
        let started = Instant::now();
        let question = question.trim();
        if question.is_empty() {
            return Err(Error::Invalid("ask a question".into()));
        }
        let search = self.search(
            question,
            &SearchOptions {
                limit: options.passages.max(1),
                ..options.search.clone()
            },
        )?;
        let mut timings = AskTimings {
            search_ms: search.took_ms,
            ..AskTimings::default()
        };
        let mut response = AskResponse {
            question: question.to_string(),
            answer: Answer::NotFound {
                reason: "nothing in your files matches the question".into(),
                draft: String::new(),
            },
            passages: Vec::new(),
            search,
            finish: None,
            timings,
            model: generator.config().model_id.clone(),
            provider: generator.provider().to_string(),
        };
        // Unrelated hits are only the nearest passages there are: they cannot answer anything.
        let hits: Vec<&SearchHit> = response
            .search
            .results
            .iter()
            .filter(|h| h.strength != crate::Strength::Unrelated)
            .collect();
        if hits.is_empty() {
            response.timings.total_ms = started.elapsed().as_secs_f64() * 1000.0;
            return Ok(response);
        }
        let sources: Vec<Source> = hits
            .iter()
            .map(|h| Source {
                label: h
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| h.path.display().to_string()),
                text: h.passage.text.clone(),
            })
            .collect();
        let budget = generator
            .context_length()
            .saturating_sub(options.generate.max_new_tokens);
        let prompt = {
            let g: &Generator = generator;
            let count = |t: &str| g.count_tokens(t).unwrap_or(t.len());
            answer::build_prompt(question, &sources, budget, &count)
        };
        if prompt.sources.is_empty() {
            response.answer = Answer::NotFound {
                reason: "no passage fits the model's context".into(),
                draft: String::new(),
            };
            response.timings.total_ms = started.elapsed().as_secs_f64() * 1000.0;
            return Ok(response);
        }
        let generation = generator.chat(&prompt.messages, &options.generate, cancel, on_text)?;
        let given: Vec<&str> = prompt.sources.iter().map(|s| s.text.as_str()).collect();
        let answer = if generation.finish == Finish::Cancelled {
            Answer::NotFound {
                reason: "stopped before the answer was complete".into(),
                draft: generation.text.clone(),
            }
        } else {
            answer::check(&generation.text, &given)
        };
        if let Answer::NotFound { reason, .. } = &answer {
            tracing::info!(%reason, "draft answer not shown");
        }
        response.passages = prompt
            .sources
            .iter()
            .zip(&hits)
            .enumerate()
            .map(|(i, (s, h))| AskPassage {
                number: i + 1,
                path: h.path.clone(),
                page: h.passage.page,
                line: h.passage.line,
                location: h.passage.location.clone(),
                text: s.text.clone(),
                cut: s.text != answer_source_text(&h.passage.text),
                cited: answer.citations().contains(&(i + 1)),
            })
            .collect();
        let t = &generation.timings;
        timings.first_token_ms = t.first_token_ms;
        timings.prefill_tok_s = t.prefill_tok_s();
        timings.decode_tok_s = t.decode_tok_s();
        timings.prompt_tokens = t.prompt_tokens;
        timings.generated_tokens = t.generated_tokens;
        timings.total_ms = started.elapsed().as_secs_f64() * 1000.0;
        response.timings = timings;
        response.finish = Some(generation.finish);
        response.answer = answer;
        Ok(response)
    }

    /// Engine status. Loads the query model if needed, to report the execution provider actually in use.
    pub fn status(&self) -> Result<Status> {
        let provider = self.with_query_embedder(|e| Ok(e.provider().to_string()))?;
        let model_key = self.model_key();
        let (counts, offline_folders) = {
            let reader = lock(&self.reader);
            self.catalog.sync(&reader)?;
            let mut counts = reader.counts()?;
            counts.vectors = reader.count_vectors(&model_key)?;
            let offline: Vec<PathBuf> = reader
                .folders()?
                .into_iter()
                .filter(|f| f.offline)
                .map(|f| f.path)
                .collect();
            (counts, offline)
        };
        let graph = self.catalog.graph();
        Ok(Status {
            data_dir: self.config.data_dir.clone(),
            model: self.spec.id.clone(),
            model_name: self.spec.name.clone(),
            dim: self.spec.dim,
            precision: self.files.precision,
            provider,
            model_source: self.files.source.to_string(),
            runtime_library: crate::runtime::info().map(|i| i.library),
            meaning: if counts.vectors >= counts.chunks {
                MeaningSearch::Ready
            } else {
                MeaningSearch::Rebuilding {
                    with_vectors: counts.vectors,
                    passages: counts.chunks,
                }
            },
            counts,
            index_vectors: graph.len(),
            index_dead: graph.dead(),
            index_bytes: self.catalog.saved_bytes(),
            index_source: self.catalog.source(),
            indexing: self.is_indexing(),
            offline_folders,
        })
    }
}

/// A passage's text as the prompt gives it uncut (whitespace runs as one space), to tell whether it was cut.
fn answer_source_text(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn model_key(spec: &ModelSpec, precision: Precision) -> String {
    format!("{}/{}", spec.id, precision)
}
