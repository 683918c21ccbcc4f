//! "Keep the chunks, their vectors and the graph in step": the [`Catalog`] is the only writer of chunks,
//! vectors and the vector graph, so it owns the invariant
//!
//! > the in-memory graph holds exactly the live vectors of this database, for this model.
//!
//! - Every write (a document's chunks with their vectors, a problem file, a deletion, a move) is one SQLite
//!   transaction on the catalog's writer connection, and the graph is updated under its write lock right
//!   after the commit.
//! - The saved graph records the database's id and the chunk ids it holds; at open it is loaded only if it
//!   belongs to this database and model, then reconciled with the database by set difference (ids the
//!   database lacks become tombstones, ids the graph lacks are inserted) — never by a watermark, so ids that
//!   another process interleaved are not missed.
//! - [`Catalog::sync`] repeats that reconciliation whenever another connection (another process, or this
//!   engine's writer) committed, holding the graph's write lock while it reads the database, so a concurrent
//!   batch can neither be lost nor inserted twice (the graph adds an id at most once).
//! - Graph files are written under `index.lock` in the data directory: the app and the CLI may share it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::index::{HnswParams, IdSet, VectorIndex};
use crate::search::MeaningSearch;
use crate::store::{DocPart, FileStatus, Folder, Store};

/// Where the vector graph came from when the catalog opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexSource {
    /// Loaded from the saved file (then reconciled with the database).
    Loaded,
    /// Rebuilt from the database.
    Rebuilt,
}

/// See the module docs.
pub(crate) struct Catalog {
    data_dir: PathBuf,
    model_key: String,
    dim: usize,
    params: HnswParams,
    database: String,
    writer: Mutex<Store>,
    graph: RwLock<VectorIndex>,
    /// The reader's `data_version` at the last reconciliation.
    seen_version: Mutex<Option<i64>>,
    /// (live vectors, chunks) at the last reconciliation.
    coverage: Mutex<(u64, u64)>,
    source: IndexSource,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Vectors of `ids` (ascending) for `model`: one lookup each for a few, one scan for many.
fn load_vectors(store: &Store, model: &str, ids: &[i64]) -> Result<Vec<(i64, Vec<f32>)>> {
    if ids.len() < 2048 {
        return store.vectors(model, ids);
    }
    let mut wanted = IdSet::default();
    for &id in ids {
        wanted.insert(id);
    }
    let mut out = Vec::with_capacity(ids.len());
    store.for_each_vector(model, 0, |id, v| {
        if wanted.contains(id) {
            out.push((id, v));
        }
    })?;
    Ok(out)
}

impl Catalog {
    /// Opens the database in `data_dir` and loads (or rebuilds) the graph of `model_key`'s vectors.
    /// The graph is reconciled with `reader`'s view of the database, which counts as the first
    /// [`Catalog::sync`] (so opening reads the vector ids once).
    pub(crate) fn open(
        data_dir: &Path,
        reader: &Store,
        model_key: &str,
        dim: usize,
        params: HnswParams,
    ) -> Result<Catalog> {
        let writer = Store::open(&data_dir.join("index.sqlite"))?;
        let database = writer.database_id()?;
        let dir = graph_dir(data_dir, model_key);
        let (mut graph, source) = match VectorIndex::load(&dir, model_key, dim, &database, params) {
            Some(g) => (g, IndexSource::Loaded),
            None => (
                VectorIndex::new(model_key, dim, &database, 1024, params),
                IndexSource::Rebuilt,
            ),
        };
        let version = reader.data_version()?;
        let db_ids = reader.vector_ids(model_key)?;
        let missing = graph.reconcile(&db_ids);
        if !missing.is_empty() {
            tracing::info!(
                vectors = missing.len(),
                ?source,
                "adding vectors to the graph"
            );
            for batch in load_vectors(reader, model_key, &missing)?.chunks(4096) {
                graph.insert(batch);
            }
        }
        let catalog = Catalog {
            data_dir: data_dir.to_path_buf(),
            model_key: model_key.to_string(),
            dim,
            params,
            database,
            writer: Mutex::new(writer),
            graph: RwLock::new(graph),
            seen_version: Mutex::new(None),
            coverage: Mutex::new((0, 0)),
            source,
        };
        *lock(&catalog.coverage) = (catalog.graph().len() as u64, reader.count_chunks()?);
        *lock(&catalog.seen_version) = Some(version);
        if (source == IndexSource::Rebuilt && !missing.is_empty()) || missing.len() > 1000 {
            if let Err(e) = catalog.save() {
                tracing::warn!(error = %e, "could not save the vector index");
            }
        }
        Ok(catalog)
    }

    pub(crate) fn model_key(&self) -> &str {
        &self.model_key
    }

    pub(crate) fn source(&self) -> IndexSource {
        self.source
    }

    /// The graph, for searching.
    pub(crate) fn graph(&self) -> RwLockReadGuard<'_, VectorIndex> {
        self.graph.read().unwrap_or_else(|e| e.into_inner())
    }

    fn graph_mut(&self) -> RwLockWriteGuard<'_, VectorIndex> {
        self.graph.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads through the writer connection (sees this engine's latest commits at once).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        f(&lock(&self.writer))
    }

    /// Reconciles the graph with the database if anything was committed since the last time.
    pub(crate) fn sync(&self, reader: &Store) -> Result<()> {
        let version = reader.data_version()?;
        let mut seen = lock(&self.seen_version);
        if *seen == Some(version) {
            return Ok(());
        }
        // The graph's write lock is taken before the database is read: a batch committed after this snapshot
        // waits for the lock and then inserts its own ids, so nothing is removed or added wrongly.
        let mut graph = self.graph_mut();
        let db_ids = reader.vector_ids(&self.model_key)?;
        let missing = graph.reconcile(&db_ids);
        if !missing.is_empty() {
            graph.insert(&load_vectors(reader, &self.model_key, &missing)?);
        }
        *lock(&self.coverage) = (graph.len() as u64, reader.count_chunks()?);
        *seen = Some(version);
        Ok(())
    }

    /// How much of the index meaning search covers, as of the last [`Catalog::sync`].
    pub(crate) fn coverage(&self) -> MeaningSearch {
        let (with_vectors, passages) = *lock(&self.coverage);
        if with_vectors >= passages {
            MeaningSearch::Ready
        } else {
            MeaningSearch::Rebuilding {
                with_vectors,
                passages,
            }
        }
    }

    pub(crate) fn add_folder(&self, path: &Path) -> Result<Folder> {
        lock(&self.writer).add_folder(path)
    }

    /// Removes a root and everything indexed under it.
    pub(crate) fn remove_folder(&self, path: &Path) -> Result<()> {
        let removed = lock(&self.writer).remove_folder(path)?;
        self.graph_mut().remove(&removed);
        Ok(())
    }

    pub(crate) fn set_folder_state(
        &self,
        id: i64,
        device: Option<u64>,
        offline: bool,
    ) -> Result<()> {
        lock(&self.writer).set_folder_state(id, device, offline)
    }

    pub(crate) fn touch_file(&self, id: i64, size: u64, mtime_ns: i64) -> Result<()> {
        lock(&self.writer).touch_file(id, size, mtime_ns)
    }

    /// Writes document parts (chunks with vectors of this catalog's model) in one transaction.
    pub(crate) fn write_parts(&self, parts: &[DocPart]) -> Result<()> {
        if parts.iter().any(|p| !p.vectors.is_empty()) {
            // Under the read lock, so a saved segment's first growth after a load does not stop searches.
            self.graph().thaw_for_insert();
        }
        let mut w = lock(&self.writer);
        let (removed, added) = w.write_parts(parts, &self.model_key)?;
        let items: Vec<(i64, Vec<f32>)> = parts
            .iter()
            .zip(&added)
            .flat_map(|(part, ids)| ids.iter().copied().zip(part.vectors.iter().cloned()))
            .collect();
        let mut graph = self.graph_mut();
        drop(w);
        graph.remove(&removed);
        graph.insert(&items);
        Ok(())
    }

    /// Adds this model's vectors to chunks that lack them.
    pub(crate) fn add_vectors(&self, items: &[(i64, Vec<f32>)]) -> Result<u64> {
        if !items.is_empty() {
            self.graph().thaw_for_insert();
        }
        let mut w = lock(&self.writer);
        let stored = w.add_vectors(&self.model_key, items)?;
        let mut graph = self.graph_mut();
        drop(w);
        let stored_items: Vec<(i64, Vec<f32>)> = items
            .iter()
            .filter(|(id, _)| stored.binary_search(id).is_ok())
            .cloned()
            .collect();
        graph.insert(&stored_items);
        Ok(stored.len() as u64)
    }

    pub(crate) fn record_problem(
        &self,
        folder_id: i64,
        path: &Path,
        size: u64,
        mtime_ns: i64,
        status: FileStatus,
        reason: &str,
    ) -> Result<()> {
        let mut w = lock(&self.writer);
        let removed = w.record_problem(folder_id, path, size, mtime_ns, status, reason)?;
        let mut graph = self.graph_mut();
        drop(w);
        graph.remove(&removed);
        Ok(())
    }

    pub(crate) fn delete_files(&self, ids: &[i64]) -> Result<()> {
        let mut w = lock(&self.writer);
        let removed = w.delete_files(ids)?;
        let mut graph = self.graph_mut();
        drop(w);
        graph.remove(&removed);
        Ok(())
    }

    pub(crate) fn move_file(
        &self,
        id: i64,
        folder_id: i64,
        path: &Path,
        size: u64,
        mtime_ns: i64,
    ) -> Result<()> {
        let mut w = lock(&self.writer);
        let removed = w.move_file(id, folder_id, path, size, mtime_ns)?;
        let mut graph = self.graph_mut();
        drop(w);
        graph.remove(&removed);
        Ok(())
    }

    /// After a pass: merges the keyword index's segments when writes have left many
    /// (`Store::compact_keywords`; a failure is logged, searches work either way), and compacts the graph
    /// when it is mostly dead, else saves it.
    pub(crate) fn maintain(&self) -> Result<()> {
        match lock(&self.writer).compact_keywords() {
            Ok(true) => tracing::info!("merged the keyword index into one segment"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not merge the keyword index's segments"),
        }
        if self.graph().needs_compaction() {
            self.rebuild()
        } else {
            self.save()
        }
    }

    /// Saves the graph next to the database, holding `index.lock` (only one process, and one thread,
    /// writes graph files). When the recent segment is due, it is merged into the base first: the long
    /// part under the graph's read lock, so searches go on (writers wait), the two switches under the
    /// write lock.
    pub(crate) fn save(&self) -> Result<()> {
        let lock_path = self.data_dir.join("index.lock");
        let file = crate::paths::open_lock_file(&lock_path)?;
        file.lock()
            .map_err(|e| Error::io(format!("locking {}", lock_path.display()), e))?;
        if self.graph().merge_due() {
            self.graph_mut().begin_merge();
            self.graph().merge();
            self.graph_mut().end_merge();
        }
        let saved = self
            .graph()
            .save(&graph_dir(&self.data_dir, &self.model_key));
        if saved.is_ok() {
            // Dropped after the write lock is released: freeing a large graph takes a while.
            let released = self.graph_mut().settle();
            drop(released);
        }
        let _ = file.unlock();
        saved
    }

    /// Rebuilds the graph from the database (drops tombstones) and saves it.
    pub(crate) fn rebuild(&self) -> Result<()> {
        let fresh = {
            let w = lock(&self.writer);
            let ids = w.vector_ids(&self.model_key)?;
            let mut g = VectorIndex::new(
                &self.model_key,
                self.dim,
                &self.database,
                ids.len(),
                self.params,
            );
            let mut batch = Vec::with_capacity(4096);
            let mut err = None;
            w.for_each_vector(&self.model_key, 0, |id, v| {
                batch.push((id, v));
                if batch.len() == 4096 {
                    g.insert(&batch);
                    batch.clear();
                }
            })
            .unwrap_or_else(|e| err = Some(e));
            if let Some(e) = err {
                return Err(e);
            }
            g.insert(&batch);
            g
        };
        *self.graph_mut() = fresh;
        self.save()
    }

    /// Bytes of the saved graph on disk.
    pub(crate) fn saved_bytes(&self) -> u64 {
        crate::paths::bytes_under(&graph_dir(&self.data_dir, &self.model_key))
    }
}

/// Where the graph of one model's vectors is saved.
fn graph_dir(data_dir: &Path, model_key: &str) -> PathBuf {
    data_dir.join(format!("hnsw-{}", model_key.replace('/', "-")))
}
