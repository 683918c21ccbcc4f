//! "Which chunks are nearest to this vector?": an HNSW graph (hnsw_rs) over chunk vectors keyed by chunk id,
//! plus an exact brute-force index for small sets and as ground truth.
//!
//! The graph is a cache of what SQLite holds, owned by [`crate::catalog::Catalog`]: saved next to the
//! database with the list of chunk ids it contains and the id of the database it was built from, loaded at
//! start and reconciled with the database by set difference, and rebuilt when it is missing, unreadable, for
//! another model or database, or mostly dead. Deleted chunks stay in the graph as tombstones and are filtered
//! out of every search. A chunk id is inserted at most once (`present`), so racing catch-ups cannot
//! duplicate a point.

use std::path::{Path, PathBuf};

use hnsw_rs::prelude::{AnnT, Distance, Hnsw, HnswIo};
use serde::{Deserialize, Serialize};

use crate::embed::dot;
use crate::error::{Error, Result};

/// Cosine distance for unit-length vectors: `1 - a·b`, clamped at 0 against rounding.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

/// HNSW build parameters.
#[derive(Debug, Clone, Copy)]
pub struct HnswParams {
    pub max_connections: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            max_connections: 16,
            ef_construction: 200,
            ef_search: 128,
        }
    }
}

const MAX_LAYER: usize = 16;
const BASENAME: &str = "vectors";
const IDS_FILE: &str = "ids.bin";

/// Set of chunk ids as a growable bitset (ids are dense, increasing integers).
#[derive(Debug, Clone, Default)]
pub(crate) struct IdSet {
    bits: Vec<u64>,
    count: usize,
}

impl IdSet {
    pub(crate) fn insert(&mut self, id: i64) -> bool {
        if id <= 0 {
            return false;
        }
        let id = id as usize;
        let (w, b) = (id / 64, id % 64);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        if self.bits[w] & (1 << b) == 0 {
            self.bits[w] |= 1 << b;
            self.count += 1;
            true
        } else {
            false
        }
    }
    fn remove(&mut self, id: i64) {
        if id <= 0 {
            return;
        }
        let id = id as usize;
        let (w, b) = (id / 64, id % 64);
        if w < self.bits.len() && self.bits[w] & (1 << b) != 0 {
            self.bits[w] &= !(1 << b);
            self.count -= 1;
        }
    }
    pub(crate) fn contains(&self, id: i64) -> bool {
        if id <= 0 {
            return false;
        }
        let id = id as usize;
        let (w, b) = (id / 64, id % 64);
        w < self.bits.len() && self.bits[w] & (1 << b) != 0
    }
    fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            (0..64)
                .filter(move |b| word & (1u64 << b) != 0)
                .map(move |b| (w * 64 + b) as i64)
        })
    }
    pub(crate) fn len(&self) -> usize {
        self.count
    }
}

/// What is saved next to the graph, to decide whether it can be reused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexMeta {
    pub format: u32,
    pub model: String,
    pub dim: usize,
    /// The `database_id` of the database the graph was built from.
    pub database: String,
    /// Points in the graph, dead ones included.
    pub points: usize,
}

const FORMAT: u32 = 2;

/// Approximate nearest-neighbour index over chunk vectors.
pub struct VectorIndex {
    model: String,
    dim: usize,
    database: String,
    params: HnswParams,
    hnsw: Hnsw<'static, f32, UnitCosine>,
    /// Every id that has a point in the graph (dead or alive).
    present: IdSet,
    live: IdSet,
}

impl VectorIndex {
    /// An empty index for vectors of `model` with `dim` dimensions, belonging to database `database`.
    pub fn new(
        model: &str,
        dim: usize,
        database: &str,
        capacity_hint: usize,
        params: HnswParams,
    ) -> Self {
        let hnsw = Hnsw::new(
            params.max_connections,
            capacity_hint.max(1024),
            MAX_LAYER,
            params.ef_construction,
            UnitCosine,
        );
        VectorIndex {
            model: model.to_string(),
            dim,
            database: database.to_string(),
            params,
            hnsw,
            present: IdSet::default(),
            live: IdSet::default(),
        }
    }

    /// Adds vectors (all of this index's dimension, unit length). An id already in the graph is not added
    /// again (it is made live again if it was removed: a chunk's vector never changes).
    pub fn insert(&mut self, items: &[(i64, Vec<f32>)]) {
        let mut valid: Vec<(&Vec<f32>, usize)> = Vec::with_capacity(items.len());
        for (id, v) in items {
            if *id <= 0 || v.len() != self.dim {
                continue;
            }
            if self.present.insert(*id) {
                valid.push((v, *id as usize));
            }
            self.live.insert(*id);
        }
        if valid.len() > 64 {
            self.hnsw.parallel_insert(&valid);
        } else {
            for (v, id) in &valid {
                self.hnsw.insert((v.as_slice(), *id));
            }
        }
    }

    /// Marks chunks as deleted; they never appear in results again.
    pub fn remove(&mut self, ids: &[i64]) {
        for &id in ids {
            self.live.remove(id);
        }
    }

    /// Makes the live set equal `db_ids` (the ids the database holds vectors for, ascending): ids not in it
    /// are removed, ids in the graph are made live. Returns the ids that have no point yet (to insert).
    pub fn reconcile(&mut self, db_ids: &[i64]) -> Vec<i64> {
        let mut want = IdSet::default();
        let mut missing = Vec::new();
        for &id in db_ids {
            want.insert(id);
            if self.present.contains(id) {
                self.live.insert(id);
            } else {
                missing.push(id);
            }
        }
        let gone: Vec<i64> = self.live.iter().filter(|&id| !want.contains(id)).collect();
        self.remove(&gone);
        missing
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether there are no live vectors.
    pub fn is_empty(&self) -> bool {
        self.live.len() == 0
    }

    /// Points in the graph that are deleted.
    pub fn dead(&self) -> usize {
        self.present.len().saturating_sub(self.live.len())
    }

    /// Model whose vectors this holds.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether so much of the graph is dead that a rebuild pays off.
    pub fn needs_compaction(&self) -> bool {
        self.present.len() >= 1000 && self.dead() * 4 > self.present.len()
    }

    /// Whether `id` is a live chunk of this index.
    pub fn contains(&self, id: i64) -> bool {
        self.live.contains(id)
    }

    /// The `k` nearest live chunks to `query`, as (chunk id, cosine similarity), best first.
    /// `allow` restricts results further (folder / type filters, exact phrases).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(i64) -> bool>,
    ) -> Vec<(i64, f32)> {
        if self.live.len() == 0 || query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let ef = self.params.ef_search.max(k);
        if allow.is_none() && self.dead() == 0 {
            // Nothing to filter: the plain search avoids a filter call per visited node.
            return self
                .hnsw
                .search(query, k, ef)
                .into_iter()
                .map(|n| (n.d_id as i64, 1.0 - n.distance))
                .collect();
        }
        let live = &self.live;
        let filter = |id: &usize| live.contains(*id as i64) && allow.is_none_or(|f| f(*id as i64));
        self.hnsw
            .search_filter(query, k, ef, Some(&filter))
            .into_iter()
            .map(|n| (n.d_id as i64, 1.0 - n.distance))
            .collect()
    }

    /// Saves the graph into `dir` (replacing what was there) atomically enough that a crash leaves either the
    /// old graph, the new one, or none — never a mix (the meta file is written last, and checked on load).
    /// An empty graph is saved as no graph.
    pub fn save(&self, dir: &Path) -> Result<()> {
        if self.present.len() == 0 {
            let _ = std::fs::remove_dir_all(dir);
            return Ok(());
        }
        let tmp = dir.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        self.hnsw
            .file_dump(&tmp, BASENAME)
            .map_err(|e| Error::Index(format!("saving the vector index: {e}")))?;
        let ids: Vec<u8> = self
            .present
            .iter()
            .flat_map(|id| id.to_le_bytes())
            .collect();
        std::fs::write(tmp.join(IDS_FILE), ids).map_err(|e| Error::io("writing index ids", e))?;
        let meta = IndexMeta {
            format: FORMAT,
            model: self.model.clone(),
            dim: self.dim,
            database: self.database.clone(),
            points: self.present.len(),
        };
        let meta_json = serde_json::to_vec(&meta).map_err(|e| Error::Index(e.to_string()))?;
        std::fs::write(tmp.join("meta.json"), meta_json)
            .map_err(|e| Error::io("writing index meta", e))?;
        let old = dir.with_extension("old");
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(dir, &old)
                .map_err(|e| Error::io(format!("replacing {}", dir.display()), e))?;
        }
        std::fs::rename(&tmp, dir)
            .map_err(|e| Error::io(format!("replacing {}", dir.display()), e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Reads the meta file of a saved graph.
    pub fn saved_meta(dir: &Path) -> Option<IndexMeta> {
        let bytes = std::fs::read(dir.join("meta.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Loads a saved graph if it is for `model`/`dim` and was built from database `database`; every point
    /// starts live (the caller reconciles with the database). Returns `None` when the saved graph is missing,
    /// unreadable or for something else — the caller then rebuilds.
    pub fn load(
        dir: &Path,
        model: &str,
        dim: usize,
        database: &str,
        params: HnswParams,
    ) -> Option<Self> {
        let meta = Self::saved_meta(dir)?;
        if meta.format != FORMAT || meta.model != model || meta.dim != dim {
            tracing::info!(?meta, "saved vector index is for another model; rebuilding");
            return None;
        }
        if meta.database != database {
            tracing::warn!(
                "saved vector index belongs to another database (was index.sqlite replaced?); rebuilding"
            );
            return None;
        }
        let ids_bytes = std::fs::read(dir.join(IDS_FILE)).ok()?;
        let mut present = IdSet::default();
        for c in ids_bytes.chunks_exact(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            present.insert(i64::from_le_bytes(b));
        }
        if present.len() != meta.points {
            tracing::warn!("saved vector index ids do not match its meta; rebuilding");
            return None;
        }
        let dir_owned: PathBuf = dir.to_path_buf();
        // hnsw_rs asserts on malformed files; a corrupt cache must lead to a rebuild, not a crash.
        let loaded = std::panic::catch_unwind(move || {
            // The loaded graph borrows its loader for its whole life; the loader is a few bytes and there is one
            // load per process start or rebuild, so it is leaked to give the graph a 'static lifetime.
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir_owned, BASENAME)));
            io.load_hnsw::<f32, UnitCosine>()
        });
        let hnsw = match loaded {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "saved vector index unreadable; rebuilding");
                return None;
            }
            Err(_) => {
                tracing::warn!("saved vector index corrupt; rebuilding");
                return None;
            }
        };
        if hnsw.get_nb_point() != meta.points {
            tracing::warn!("saved vector index incomplete; rebuilding");
            return None;
        }
        let live = present.clone();
        Some(VectorIndex {
            model: model.to_string(),
            dim,
            database: database.to_string(),
            params,
            hnsw,
            present,
            live,
        })
    }
}

pub struct ExactIndex {
    dim: usize,
    ids: Vec<i64>,
    data: Vec<f32>,
}

impl ExactIndex {
    pub fn new(dim: usize) -> Self {
        ExactIndex {
            dim,
            ids: Vec::new(),
            data: Vec::new(),
        }
    }

    pub fn insert(&mut self, id: i64, v: &[f32]) {
        if v.len() == self.dim {
            self.ids.push(id);
            self.data.extend_from_slice(v);
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The `k` most similar vectors as (id, cosine similarity), best first.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(i64, f32)> {
        if query.len() != self.dim || self.dim == 0 {
            return Vec::new();
        }
        let mut scored: Vec<(i64, f32)> = self
            .ids
            .iter()
            .zip(self.data.chunks_exact(self.dim))
            .map(|(&id, v)| (id, dot(query, v)))
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_unit(seed: &mut u64, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                ((*seed >> 11) as f64 / (1u64 << 53) as f64) as f32 - 0.5
            })
            .collect();
        crate::embed::normalize(&mut v);
        v
    }

    #[test]
    fn hnsw_recall_against_exact_and_tombstones() {
        let dim = 64;
        let mut seed = 42u64;
        let items: Vec<(i64, Vec<f32>)> = (1..=3000)
            .map(|id| (id, random_unit(&mut seed, dim)))
            .collect();
        let mut hnsw = VectorIndex::new("m", dim, "db", 3000, HnswParams::default());
        hnsw.insert(&items);
        let mut exact = ExactIndex::new(dim);
        for (id, v) in &items {
            exact.insert(*id, v);
        }
        let queries: Vec<Vec<f32>> = (0..100).map(|_| random_unit(&mut seed, dim)).collect();
        let mut hits = 0;
        for q in &queries {
            let truth: Vec<i64> = exact.search(q, 10).into_iter().map(|x| x.0).collect();
            let got: Vec<i64> = hnsw.search(q, 10, None).into_iter().map(|x| x.0).collect();
            hits += got.iter().filter(|id| truth.contains(id)).count();
        }
        let recall = hits as f64 / 1000.0;
        assert!(recall >= 0.95, "recall@10 {recall}");

        // Deleted ids never come back.
        let q = &items[5].1;
        assert_eq!(hnsw.search(q, 1, None)[0].0, 6);
        hnsw.remove(&[6]);
        assert!(hnsw.search(q, 50, None).iter().all(|(id, _)| *id != 6));
        assert_eq!(hnsw.len(), 2999);
        assert_eq!(hnsw.dead(), 1);

        // Save, load, and the graph answers the same.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hnsw");
        hnsw.save(&path).unwrap();
        let live: Vec<i64> = (1..=3000).filter(|&id| id != 6).collect();
        let mut loaded = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        assert!(loaded.reconcile(&live).is_empty());
        assert_eq!(loaded.len(), 2999);
        // A graph is never matched to another database.
        assert!(VectorIndex::load(&path, "m", dim, "other-db", HnswParams::default()).is_none());
        for q in queries.iter().take(10) {
            assert_eq!(loaded.search(q, 5, None), hnsw.search(q, 5, None));
        }
        assert!(
            VectorIndex::load(&path, "other-model", dim, "db", HnswParams::default()).is_none()
        );
    }

    #[test]
    fn corrupt_saved_index_is_rejected_not_a_crash() {
        let dim = 8;
        let mut seed = 7u64;
        let items: Vec<(i64, Vec<f32>)> = (1..=50)
            .map(|id| (id, random_unit(&mut seed, dim)))
            .collect();
        let mut idx = VectorIndex::new("m", dim, "db", 50, HnswParams::default());
        idx.insert(&items);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hnsw");
        idx.save(&path).unwrap();
        for entry in std::fs::read_dir(&path).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "data" || e == "graph") {
                std::fs::write(&p, b"garbage").unwrap();
            }
        }
        assert!(VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).is_none());
    }

    #[test]
    fn filter_restricts_results() {
        let dim = 16;
        let mut seed = 3u64;
        let items: Vec<(i64, Vec<f32>)> = (1..=200)
            .map(|id| (id, random_unit(&mut seed, dim)))
            .collect();
        let mut idx = VectorIndex::new("m", dim, "db", 200, HnswParams::default());
        idx.insert(&items);
        let even = |id: i64| id % 2 == 0;
        let res = idx.search(&items[0].1, 10, Some(&even));
        assert!(!res.is_empty() && res.iter().all(|(id, _)| id % 2 == 0));
    }

    #[test]
    fn ids_are_inserted_once_and_reconciled_by_set_difference() {
        let dim = 8;
        let mut seed = 11u64;
        let items: Vec<(i64, Vec<f32>)> = (1..=20)
            .map(|id| (id, random_unit(&mut seed, dim)))
            .collect();
        let mut idx = VectorIndex::new("m", dim, "db", 20, HnswParams::default());
        idx.insert(&items[..10]);
        // A racing catch-up inserting the same ids again adds nothing.
        idx.insert(&items[..10]);
        assert_eq!((idx.len(), idx.dead()), (10, 0));
        let res = idx.search(&items[3].1, 20, None);
        let mut ids: Vec<i64> = res.iter().map(|x| x.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), res.len(), "no id twice in results");
        // The database now holds 2..=5 and 15 (interleaved ids from another process): 1 and 6..=10 go, 15 is missing.
        let missing = idx.reconcile(&[2, 3, 4, 5, 15]);
        assert_eq!(missing, vec![15]);
        assert_eq!(idx.len(), 4);
        assert!(!idx.contains(1) && idx.contains(2));
        // A removed id that the database has again is revived, not re-inserted.
        let missing = idx.reconcile(&[1, 2]);
        assert!(missing.is_empty());
        assert!(idx.contains(1));
    }
}
