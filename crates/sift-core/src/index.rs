//! "Which chunks are nearest to this vector?": an HNSW graph (hnsw_rs) over chunk vectors keyed by chunk id,
//! plus an exact brute-force index for small sets and as ground truth.
//!
//! The HNSW file is a cache of what SQLite holds: it is saved next to the database with the highest chunk id it
//! contains (ids are never reused), loaded at start, caught up with newer vectors from SQLite, and rebuilt when
//! it is missing, unreadable, for another model, or mostly dead. Deleted chunks stay in the graph as tombstones
//! and are filtered out of every search.

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

/// Set of live chunk ids as a growable bitset (ids are dense, increasing integers).
#[derive(Debug, Clone, Default)]
struct LiveSet {
    bits: Vec<u64>,
    count: usize,
}

impl LiveSet {
    fn insert(&mut self, id: i64) {
        let id = id as usize;
        let (w, b) = (id / 64, id % 64);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        if self.bits[w] & (1 << b) == 0 {
            self.bits[w] |= 1 << b;
            self.count += 1;
        }
    }
    fn remove(&mut self, id: i64) {
        let id = id as usize;
        let (w, b) = (id / 64, id % 64);
        if w < self.bits.len() && self.bits[w] & (1 << b) != 0 {
            self.bits[w] &= !(1 << b);
            self.count -= 1;
        }
    }
    fn contains(&self, id: usize) -> bool {
        let (w, b) = (id / 64, id % 64);
        w < self.bits.len() && self.bits[w] & (1 << b) != 0
    }
}

/// What is saved next to the graph, to decide whether it can be reused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexMeta {
    pub format: u32,
    pub model: String,
    pub dim: usize,
    /// Highest chunk id in the graph.
    pub watermark: i64,
    /// Points in the graph, dead ones included.
    pub points: usize,
}

const FORMAT: u32 = 1;

/// Approximate nearest-neighbour index over chunk vectors.
pub struct VectorIndex {
    model: String,
    dim: usize,
    params: HnswParams,
    hnsw: Hnsw<'static, f32, UnitCosine>,
    live: LiveSet,
    watermark: i64,
    points: usize,
}

impl VectorIndex {
    /// An empty index for vectors of `model` with `dim` dimensions.
    pub fn new(model: &str, dim: usize, capacity_hint: usize, params: HnswParams) -> Self {
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
            params,
            hnsw,
            live: LiveSet::default(),
            watermark: 0,
            points: 0,
        }
    }

    /// Adds vectors (all of this index's dimension, unit length). Ids must be new.
    pub fn insert(&mut self, items: &[(i64, Vec<f32>)]) {
        let valid: Vec<(&Vec<f32>, usize)> = items
            .iter()
            .filter(|(id, v)| *id > 0 && v.len() == self.dim)
            .map(|(id, v)| (v, *id as usize))
            .collect();
        if valid.len() > 64 {
            self.hnsw.parallel_insert(&valid);
        } else {
            for (v, id) in &valid {
                self.hnsw.insert((v.as_slice(), *id));
            }
        }
        for (_, id) in &valid {
            self.live.insert(*id as i64);
            self.watermark = self.watermark.max(*id as i64);
        }
        self.points += valid.len();
    }

    /// Marks chunks as deleted; they never appear in results again.
    pub fn remove(&mut self, ids: &[i64]) {
        for &id in ids {
            self.live.remove(id);
        }
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.live.count
    }

    /// Whether there are no live vectors.
    pub fn is_empty(&self) -> bool {
        self.live.count == 0
    }

    /// Points in the graph that are deleted.
    pub fn dead(&self) -> usize {
        self.points.saturating_sub(self.live.count)
    }

    /// Highest chunk id inserted.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Model whose vectors this holds.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether so much of the graph is dead that a rebuild pays off.
    pub fn needs_compaction(&self) -> bool {
        self.points >= 1000 && self.dead() * 4 > self.points
    }

    /// Whether `id` is a live chunk of this index.
    pub fn contains(&self, id: i64) -> bool {
        id > 0 && self.live.contains(id as usize)
    }

    /// The `k` nearest live chunks to `query`, as (chunk id, cosine similarity), best first.
    /// `allow` restricts results further (folder / type filters, exact phrases).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(i64) -> bool>,
    ) -> Vec<(i64, f32)> {
        if self.live.count == 0 || query.len() != self.dim || k == 0 {
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
        let filter = |id: &usize| live.contains(*id) && allow.is_none_or(|f| f(*id as i64));
        self.hnsw
            .search_filter(query, k, ef, Some(&filter))
            .into_iter()
            .map(|n| (n.d_id as i64, 1.0 - n.distance))
            .collect()
    }

    /// Saves the graph into `dir` (replacing what was there) atomically enough that a crash leaves either the
    /// old graph, the new one, or none — never a mix (the meta file is written last, and checked on load).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let tmp = dir.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        self.hnsw
            .file_dump(&tmp, BASENAME)
            .map_err(|e| Error::Index(format!("saving the vector index: {e}")))?;
        let meta = IndexMeta {
            format: FORMAT,
            model: self.model.clone(),
            dim: self.dim,
            watermark: self.watermark,
            points: self.points,
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

    /// Loads a saved graph if it is for `model`/`dim`. `live_ids` are the chunk ids the database holds vectors
    /// for (ids at or below the saved watermark that are missing from it become tombstones). Returns `None` when
    /// the saved graph is missing, unreadable or for something else — the caller then rebuilds.
    pub fn load(
        dir: &Path,
        model: &str,
        dim: usize,
        live_ids: &[i64],
        params: HnswParams,
    ) -> Option<Self> {
        let meta = Self::saved_meta(dir)?;
        if meta.format != FORMAT || meta.model != model || meta.dim != dim {
            tracing::info!(?meta, "saved vector index is for another model; rebuilding");
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
        let mut live = LiveSet::default();
        for &id in live_ids.iter().filter(|&&id| id <= meta.watermark) {
            live.insert(id);
        }
        Some(VectorIndex {
            model: model.to_string(),
            dim,
            params,
            hnsw,
            live,
            watermark: meta.watermark,
            points: meta.points,
        })
    }
}

/// Exact nearest neighbours by scanning every vector. Used for small collections, filtered searches over few
/// chunks, and as ground truth when measuring HNSW recall.
#[derive(Debug, Clone, Default)]
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
        let mut hnsw = VectorIndex::new("m", dim, 3000, HnswParams::default());
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
        let loaded = VectorIndex::load(&path, "m", dim, &live, HnswParams::default()).unwrap();
        assert_eq!(loaded.len(), 2999);
        assert_eq!(loaded.watermark(), 3000);
        for q in queries.iter().take(10) {
            assert_eq!(loaded.search(q, 5, None), hnsw.search(q, 5, None));
        }
        assert!(
            VectorIndex::load(&path, "other-model", dim, &live, HnswParams::default()).is_none()
        );
    }

    #[test]
    fn corrupt_saved_index_is_rejected_not_a_crash() {
        let dim = 8;
        let mut seed = 7u64;
        let items: Vec<(i64, Vec<f32>)> = (1..=50)
            .map(|id| (id, random_unit(&mut seed, dim)))
            .collect();
        let mut idx = VectorIndex::new("m", dim, 50, HnswParams::default());
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
        let ids: Vec<i64> = (1..=50).collect();
        assert!(VectorIndex::load(&path, "m", dim, &ids, HnswParams::default()).is_none());
    }

    #[test]
    fn filter_restricts_results() {
        let dim = 16;
        let mut seed = 3u64;
        let items: Vec<(i64, Vec<f32>)> = (1..=200)
            .map(|id| (id, random_unit(&mut seed, dim)))
            .collect();
        let mut idx = VectorIndex::new("m", dim, 200, HnswParams::default());
        idx.insert(&items);
        let even = |id: i64| id % 2 == 0;
        let res = idx.search(&items[0].1, 10, Some(&even));
        assert!(!res.is_empty() && res.iter().all(|(id, _)| id % 2 == 0));
    }
}
