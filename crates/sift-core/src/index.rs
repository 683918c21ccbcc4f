//! "Which chunks are nearest to this vector?": an HNSW graph (hnsw_rs) over chunk vectors keyed by chunk id,
//! plus an exact brute-force index for small sets and as ground truth. The graph keeps each vector in its
//! 8-bit form ([`crate::quant`]): a quarter of the memory of f32, with the cosine computed in integers.
//!
//! The graph is a cache of what SQLite holds, owned by [`crate::catalog::Catalog`]: saved next to the
//! database with the list of chunk ids it contains and the id of the database it was built from, loaded at
//! start and reconciled with the database by set difference, and rebuilt when it is missing, unreadable, for
//! another model or database, or mostly dead. Deleted chunks stay in the graph as tombstones and are filtered
//! out of every search. A chunk id is inserted at most once (`present`), so racing catch-ups cannot
//! duplicate a point.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use hnsw_rs::prelude::{AnnT, Distance, Hnsw, HnswIo};
use serde::{Deserialize, Serialize};

use crate::embed::dot;
use crate::error::{Error, Result};
use crate::frozen::{self, FrozenGraph};
use crate::quant;

/// Cosine distance of two 8-bit vectors: `1 - cos`, clamped at 0 against rounding.
#[derive(Debug, Clone, Copy, Default)]
pub struct CosineI8;

impl Distance<i8> for CosineI8 {
    fn eval(&self, va: &[i8], vb: &[i8]) -> f32 {
        quant::distance(va, vb)
    }
}

/// HNSW build parameters.
#[derive(Debug, Clone, Copy)]
pub struct HnswParams {
    pub max_connections: usize,
    pub ef_construction: usize,
    /// Candidates a search keeps in a graph of up to [`LARGE_GRAPH`] points; twice as many beyond.
    pub ef_search: usize,
}

/// Above this many points a search keeps twice `ef_search` candidates. Measured (`sift bench query`,
/// docs/BENCHMARKS.md): at ef 128 recall@10 is 0.996 at 100 k points but 0.968 at a million, where ef 256
/// gives 0.983 at a p95 of 3.5 ms.
pub const LARGE_GRAPH: usize = 250_000;

/// Up to this many points a search compares the query with every vector rather than walking the graph:
/// exact, at a cost of a few tenths of a millisecond. HNSW can leave an outlier — the one passage on its
/// topic in a folder about something else, exactly what a person searches for — with no link pointing at
/// it, so no walk reaches it (`tests/robust.rs` met one at 553 points: the contract clause among notes).
pub const EXACT_SEARCH_LIMIT: usize = 10_000;

/// Search results' order: nearest first, then by id.
fn best_first(a: &(i64, f32), b: &(i64, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Up to how many points a new index scans rather than walks: [`EXACT_SEARCH_LIMIT`], or none in this
/// module's tests, which test the graph walk on a few thousand points (and set it where they test scans).
const EXACT_LIMIT_AT_START: usize = if cfg!(test) { 0 } else { EXACT_SEARCH_LIMIT };

impl HnswParams {
    /// The `ef` a search uses in a graph of `points` points.
    pub fn ef_for(&self, points: usize) -> usize {
        if points > LARGE_GRAPH {
            self.ef_search * 2
        } else {
            self.ef_search
        }
    }
}

/// M 16 (32 links on the base layer) and 100 candidates while building: measured (`sift bench query
/// --ef-construction`, docs/BENCHMARKS.md), 200 candidates built 2.3× slower for recall@10 0.9950 against
/// 0.9940 at 100 k points, and building is about half of what indexing spends outside the model.
impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            max_connections: 16,
            ef_construction: 100,
            ef_search: 128,
        }
    }
}

const MAX_LAYER: usize = 16;
const BASENAME: &str = "vectors";
/// The segment in its flat form ([`crate::frozen`]), next to hnsw_rs's files.
const FLAT_FILE: &str = "graph.flat";

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
    pub(crate) fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            (0..64)
                .filter(move |b| word & (1u64 << b) != 0)
                .map(move |b| (w * 64 + b) as i64)
        })
    }
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// What is saved next to the graph, to decide whether it can be reused, and which segment folders hold it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexMeta {
    pub format: u32,
    pub model: String,
    pub dim: usize,
    /// The `database_id` of the database the graph was built from.
    pub database: String,
    /// Points in the graph, dead ones included.
    pub points: usize,
    /// The folders (inside the graph's directory) of the segments, largest first.
    pub segments: Vec<String>,
}

/// 5: the flat file lists the points no graph walk reaches, searched every time ([`crate::frozen`]);
/// 4: each segment is also saved flat and searched in place after a load; 3: 8-bit vectors, saved as
/// segments. A graph saved as 3 or 4 is upgraded at load, not rebuilt ([`VectorIndex::load`]).
const FORMAT: u32 = 5;
/// The oldest saved format that is upgraded rather than rebuilt.
const UPGRADABLE_FROM: u32 = 3;
const META_FILE: &str = "meta.json";
/// The recent segment is merged into the base once it holds this many points, or an eighth of the base if
/// that is more: saves stay small, a search visits at most two graphs, and each point is rewritten a
/// bounded number of times as the collection grows.
#[cfg(not(test))]
const MERGE_AT_LEAST: usize = 20_000;
/// Small in unit tests, so that a merge is quick to reach.
#[cfg(test)]
const MERGE_AT_LEAST: usize = 3_000;

/// One HNSW graph, in up to two forms: hnsw_rs's, which takes inserts (`growing`: there while the segment is
/// new, or once it has been thawed to take more points), and the saved flat file searched in place
/// (`frozen`, [`crate::frozen`]: there after a load or a save). A search reads the frozen form while the
/// segment is unchanged since it was saved, else the growing one. Inserting takes `&self` (hnsw_rs locks
/// per point), so a segment can grow while it is searched.
struct Segment {
    params: HnswParams,
    growing: OnceLock<Hnsw<'static, i8, CosineI8>>,
    frozen: Option<FrozenGraph>,
    /// The folder this segment was saved to, while it is unchanged since.
    saved_at: Mutex<Option<PathBuf>>,
}

/// A fresh hnsw_rs graph.
fn new_hnsw(params: HnswParams, capacity: usize) -> Hnsw<'static, i8, CosineI8> {
    Hnsw::new(
        params.max_connections,
        capacity.max(1024),
        MAX_LAYER,
        params.ef_construction,
        CosineI8,
    )
}

/// Inserts `items` into `hnsw`, in parallel when there are enough of them.
fn insert_into(hnsw: &Hnsw<'static, i8, CosineI8>, items: &[(&Vec<i8>, usize)]) {
    if items.len() > 64 {
        hnsw.parallel_insert(items);
    } else {
        for (v, id) in items {
            hnsw.insert((v.as_slice(), *id));
        }
    }
}

/// Loads the hnsw_rs form saved in `folder`; `None` when it is missing or unreadable.
fn load_hnsw(folder: &Path) -> Option<Hnsw<'static, i8, CosineI8>> {
    let folder = folder.to_path_buf();
    let shown = folder.display().to_string();
    // hnsw_rs asserts on malformed files; a corrupt cache must lead to a rebuild, not a crash.
    let loaded = std::panic::catch_unwind(move || {
        // The loaded graph borrows its loader for its whole life; the loader is a few bytes and a segment
        // is loaded at most once per merge, so it is leaked to give the graph a 'static lifetime.
        let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&folder, BASENAME)));
        io.load_hnsw::<i8, CosineI8>()
    });
    match loaded {
        Ok(Ok(hnsw)) => Some(hnsw),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, segment = shown, "saved graph unreadable");
            None
        }
        Err(_) => {
            tracing::warn!(segment = shown, "saved graph corrupt");
            None
        }
    }
}

impl Segment {
    fn new(params: HnswParams, capacity: usize) -> Segment {
        Segment {
            params,
            growing: OnceLock::from(new_hnsw(params, capacity)),
            frozen: None,
            saved_at: Mutex::new(None),
        }
    }

    /// The segment saved in `dir/name`, searched in place; its hnsw_rs form is loaded only if it grows.
    fn load(dir: &Path, name: &str, dim: usize, params: HnswParams) -> Option<Segment> {
        let folder = dir.join(name);
        match FrozenGraph::open(&folder.join(FLAT_FILE), dim) {
            Ok(frozen) => Some(Segment {
                params,
                growing: OnceLock::new(),
                frozen: Some(frozen),
                saved_at: Mutex::new(Some(folder)),
            }),
            Err(e) => {
                tracing::warn!(error = %e, segment = name, "saved vector index unreadable; rebuilding");
                None
            }
        }
    }

    fn saved_at(&self) -> Option<PathBuf> {
        self.saved_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_saved_at(&self, folder: Option<PathBuf>) {
        *self.saved_at.lock().unwrap_or_else(|e| e.into_inner()) = folder;
    }

    fn points(&self) -> usize {
        match (self.growing.get(), &self.frozen) {
            (Some(hnsw), _) => hnsw.get_nb_point(),
            (None, Some(frozen)) => frozen.len(),
            (None, None) => 0,
        }
    }

    /// The frozen form, while it holds exactly what the segment holds.
    fn current_frozen(&self) -> Option<&FrozenGraph> {
        let frozen = self.frozen.as_ref()?;
        let saved = self.saved_at()?;
        (frozen.path() == saved.join(FLAT_FILE)).then_some(frozen)
    }

    /// The hnsw_rs form, thawed from the saved folder on first use after a load. If hnsw_rs's files are
    /// unreadable or disagree with the frozen form, the graph is rebuilt from the frozen form's vectors:
    /// slower, and nothing is lost.
    fn growing(&self) -> &Hnsw<'static, i8, CosineI8> {
        self.growing.get_or_init(|| {
            let frozen_points = self.frozen.as_ref().map_or(0, FrozenGraph::len);
            if let Some(folder) = self.saved_at() {
                match load_hnsw(&folder) {
                    Some(hnsw) if hnsw.get_nb_point() == frozen_points => return hnsw,
                    Some(_) => tracing::warn!(
                        segment = %folder.display(),
                        "saved graph forms disagree; rebuilding the segment from its vectors"
                    ),
                    None => tracing::warn!(
                        segment = %folder.display(),
                        "rebuilding the segment from its saved vectors"
                    ),
                }
            }
            let hnsw = new_hnsw(self.params, frozen_points);
            if let Some(frozen) = &self.frozen {
                let all = frozen.vectors();
                for batch in all.chunks(4096) {
                    let items: Vec<(&Vec<i8>, usize)> =
                        batch.iter().map(|(v, id)| (v, *id)).collect();
                    insert_into(&hnsw, &items);
                }
            }
            hnsw
        })
    }

    fn insert(&self, items: &[(&Vec<i8>, usize)]) {
        if items.is_empty() {
            return;
        }
        // Thawed before the saved form stops counting as current: searches never lack a form.
        let hnsw = self.growing();
        self.set_saved_at(None);
        insert_into(hnsw, items);
    }

    /// Calls `visit` with every point's vector and id, from the form searches read.
    fn visit(&self, visit: &mut dyn FnMut(&[i8], i64)) {
        if let Some(frozen) = self.current_frozen() {
            for (node, &id) in frozen.ids().iter().enumerate() {
                visit(frozen.vector(node), id);
            }
        } else if let Some(hnsw) = self.growing.get() {
            for p in hnsw.get_point_indexation() {
                visit(p.get_v(), p.get_origin_id() as i64);
            }
        } else if let Some(frozen) = &self.frozen {
            for (node, &id) in frozen.ids().iter().enumerate() {
                visit(frozen.vector(node), id);
            }
        }
    }

    /// The `k` points of this segment nearest to `query` that `accept` lets through, by comparing the query
    /// with every point; in no particular order.
    fn scan(&self, query: &[i8], k: usize, accept: &dyn Fn(i64) -> bool) -> Vec<(i64, f32)> {
        let mut found: Vec<(i64, f32)> = Vec::with_capacity(self.points());
        self.visit(&mut |v, id| {
            if accept(id) {
                found.push((id, 1.0 - quant::distance(query, v)));
            }
        });
        let keep = k.min(found.len());
        if keep == 0 {
            return Vec::new();
        }
        found.select_nth_unstable_by(keep - 1, best_first);
        found.truncate(keep);
        found
    }

    /// Every point's vector and id.
    fn vectors(&self) -> Vec<(Vec<i8>, usize)> {
        match (self.growing.get(), &self.frozen) {
            (Some(hnsw), _) => hnsw
                .get_point_indexation()
                .into_iter()
                .map(|p| (p.get_v().to_vec(), p.get_origin_id()))
                .collect(),
            (None, Some(frozen)) => frozen.vectors(),
            (None, None) => Vec::new(),
        }
    }

    /// hnsw_rs's search, for a segment that changed since it was saved.
    fn search_growing(
        &self,
        query: &[i8],
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(&usize) -> bool>,
    ) -> Vec<(i64, f32)> {
        let Some(hnsw) = self.growing.get() else {
            return Vec::new();
        };
        if hnsw.get_nb_point() == 0 {
            return Vec::new();
        }
        let found = match filter {
            None => hnsw.search(query, k, ef),
            Some(f) => hnsw.search_filter(query, k, ef, Some(&f)),
        };
        found
            .into_iter()
            .map(|n| (n.d_id as i64, 1.0 - n.distance))
            .collect()
    }

    /// After a save: searches switch to the saved file, mapped. Returns the hnsw_rs form when `release` is
    /// set and the file opened, for the caller to drop (outside any lock: freeing a large graph takes a while).
    fn settle(&mut self, dim: usize, release: bool) -> Option<Hnsw<'static, i8, CosineI8>> {
        let folder = self.saved_at()?;
        let file = folder.join(FLAT_FILE);
        if self.frozen.as_ref().is_none_or(|f| f.path() != file) {
            match FrozenGraph::open(&file, dim) {
                Ok(frozen) => self.frozen = Some(frozen),
                Err(e) => {
                    tracing::warn!(error = %e, "the graph just saved cannot be read back; searching it in memory");
                    self.frozen = None;
                    return None;
                }
            }
        }
        if release {
            self.growing.take()
        } else {
            None
        }
    }
}

/// Approximate nearest-neighbour index over chunk vectors: a large base segment and a recent one that new
/// vectors go to (see [`VectorIndex::save`]); while the recent one is being merged into the base it is
/// `merging` and searched too.
pub struct VectorIndex {
    model: String,
    dim: usize,
    database: String,
    params: HnswParams,
    /// `ef` set by [`VectorIndex::set_ef_search`] (benchmarks), instead of the default for the size.
    fixed_ef: Option<usize>,
    /// Graphs (or growing segments) of up to this many points are scanned, not walked.
    exact_limit: usize,
    base: Segment,
    recent: Segment,
    merging: Option<Segment>,
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
        VectorIndex {
            model: model.to_string(),
            dim,
            database: database.to_string(),
            params,
            fixed_ef: None,
            exact_limit: EXACT_LIMIT_AT_START,
            base: Segment::new(params, capacity_hint),
            recent: Segment::new(params, 1024),
            merging: None,
            present: IdSet::default(),
            live: IdSet::default(),
        }
    }

    /// Adds vectors (all of this index's dimension). An id already in the graph is not added again (it is
    /// made live again if it was removed: a chunk's vector never changes). Into an empty index they go to
    /// the base segment, otherwise to the recent one.
    pub fn insert(&mut self, items: &[(i64, Vec<f32>)]) {
        let mut quantized: Vec<(Vec<i8>, usize)> = Vec::with_capacity(items.len());
        for (id, v) in items {
            if *id <= 0 || v.len() != self.dim {
                continue;
            }
            if self.present.insert(*id) {
                quantized.push((quant::quantize(v), *id as usize));
            }
            self.live.insert(*id);
        }
        let valid: Vec<(&Vec<i8>, usize)> = quantized.iter().map(|(v, id)| (v, *id)).collect();
        self.insert_target().insert(&valid);
    }

    /// The segment inserts go to: the base while a graph is being built (never saved yet: one segment),
    /// otherwise the recent one.
    fn insert_target(&self) -> &Segment {
        if self.base.saved_at().is_none() && self.recent.points() == 0 && self.merging.is_none() {
            &self.base
        } else {
            &self.recent
        }
    }

    /// Loads the hnsw_rs form of the segment the next insert grows, if it is not loaded yet (a saved
    /// segment is searched in its mapped flat form and thawed only to grow: up to a second for a recent
    /// segment of 125 k points). Takes `&self`, so callers run it under the read lock before taking the
    /// write lock to insert: searches go on meanwhile (they keep reading the saved form until the insert).
    pub fn thaw_for_insert(&self) {
        self.insert_target().growing();
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

    /// Fixes how many candidates a search keeps (HNSW's `ef`: more is slower and closer to exact), or with
    /// `None` goes back to the size-dependent default ([`HnswParams::ef_for`]).
    pub fn set_ef_search(&mut self, ef: Option<usize>) {
        self.fixed_ef = ef.map(|e| e.max(1));
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether there are no live vectors.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
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

    /// The segments searched: those that hold anything.
    fn segments(&self) -> impl Iterator<Item = &Segment> {
        [Some(&self.base), self.merging.as_ref(), Some(&self.recent)]
            .into_iter()
            .flatten()
            .filter(|s| s.points() > 0)
    }

    /// Whether a graph (or a growing segment) of `points` points is scanned rather than walked: up to
    /// [`EXACT_SEARCH_LIMIT`] points, unless a fixed `ef` asks to measure the walk (`sift bench query`).
    fn searched_exactly(&self, points: usize) -> bool {
        self.fixed_ef.is_none() && points <= self.exact_limit
    }

    /// Points of the saved segments that no walk of their graph reaches, which every search compares with
    /// the query (`frozen.rs`).
    pub fn unreachable_points(&self) -> usize {
        self.segments()
            .filter_map(Segment::current_frozen)
            .map(|f| f.orphans().len())
            .sum()
    }

    /// The `k` nearest live chunks to `query`, as (chunk id, cosine similarity), best first.
    /// `allow` restricts results further (folder / type filters, exact phrases).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(i64) -> bool>,
    ) -> Vec<(i64, f32)> {
        if self.live.is_empty() || query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let ef = self
            .fixed_ef
            .unwrap_or_else(|| self.params.ef_for(self.present.len()))
            .max(k);
        let query = quant::quantize(query);
        let live = &self.live;
        if self.searched_exactly(self.present.len()) {
            // (A fixed `ef` is a request to measure the graph walk: `sift bench query`.)
            return self.search_exact(&query, k, &|id| {
                live.contains(id) && allow.is_none_or(|f| f(id))
            });
        }
        let filter = |id: &usize| live.contains(*id as i64) && allow.is_none_or(|f| f(*id as i64));
        // Deleted points only (at most a quarter: then the graph is compacted): the plain search, asked for
        // enough more that `k` live ones remain, then filtered. hnsw_rs's filtered search keeps walking
        // until its queue empties, which made a search after any deletion 2–3× slower (BENCHMARKS.md).
        // The filtered walk remains for folder/type filters and when too few live points came back.
        let dead_share = self.dead() as f64 / self.present.len().max(1) as f64;
        let wide = ef.max((k as f64 / (1.0 - dead_share).max(0.5)).ceil() as usize + 16);
        let mut found: Vec<(i64, f32)> = Vec::new();
        for segment in self.segments() {
            if let Some(frozen) = segment.current_frozen() {
                // The saved form walks past rejected points itself.
                let accept = |id: i64| live.contains(id) && allow.is_none_or(|f| f(id));
                let filtering = allow.is_some() || self.dead() > 0;
                found.extend(frozen.search(&query, k, ef, filtering.then_some(&accept)));
                continue;
            }
            if self.searched_exactly(segment.points()) {
                // Changed since it was saved (a pass is adding to it): no list yet of the points its walk
                // cannot reach (`frozen.rs`), so while it is small it is scanned instead.
                let accept = |id: i64| live.contains(id) && allow.is_none_or(|f| f(id));
                found.extend(segment.scan(&query, k, &accept));
                continue;
            }
            if allow.is_none() && self.dead() == 0 {
                found.extend(segment.search_growing(&query, k, ef, None));
                continue;
            }
            if allow.is_none() {
                let before = found.len();
                found.extend(
                    segment
                        .search_growing(&query, wide, wide, None)
                        .into_iter()
                        .filter(|(id, _)| live.contains(*id))
                        .take(k),
                );
                if found.len() - before >= k {
                    continue;
                }
                found.truncate(before);
            }
            found.extend(segment.search_growing(&query, k, ef, Some(&filter)));
        }
        found.sort_by(best_first);
        // While a merge runs a point can be in two segments.
        found.dedup_by_key(|f| f.0);
        found.truncate(k);
        found
    }

    /// The `k` nearest accepted points, by comparing `query` with every point (see [`EXACT_SEARCH_LIMIT`]).
    fn search_exact(
        &self,
        query: &[i8],
        k: usize,
        accept: &dyn Fn(i64) -> bool,
    ) -> Vec<(i64, f32)> {
        let mut found: Vec<(i64, f32)> = self
            .segments()
            .flat_map(|s| s.scan(query, k, accept))
            .collect();
        // While a merge runs a point can be in two segments; each gave `k` distinct points, so `k` remain.
        found.sort_by(best_first);
        found.dedup_by_key(|f| f.0);
        found.truncate(k);
        found
    }

    /// Whether the recent segment has grown enough to be merged into the base: [`MERGE_AT_LEAST`] points,
    /// or an eighth of the base if that is more.
    pub fn merge_due(&self) -> bool {
        let recent = self.recent.points();
        self.merging.is_none() && recent > 0 && recent >= MERGE_AT_LEAST.max(self.base.points() / 8)
    }

    /// Merging, step 1 (brief, exclusive): the recent segment stops taking new points (they go to a fresh
    /// one) and becomes the one being merged.
    pub fn begin_merge(&mut self) {
        if self.merging.is_none() {
            let fresh = Segment::new(self.params, 1024);
            self.merging = Some(std::mem::replace(&mut self.recent, fresh));
        }
    }

    /// Merging, step 2 (long, shared: searches go on): the points being merged are inserted into the base.
    pub fn merge(&self) {
        if let Some(m) = &self.merging {
            tracing::info!(
                points = m.points(),
                base = self.base.points(),
                "merging recent vectors into the base graph"
            );
            let moved = m.vectors();
            for batch in moved.chunks(4096) {
                let items: Vec<(&Vec<i8>, usize)> = batch.iter().map(|(v, id)| (v, *id)).collect();
                self.base.insert(&items);
            }
        }
    }

    /// Merging, step 3 (brief, exclusive): the merged segment is dropped; the base holds its points.
    pub fn end_merge(&mut self) {
        if self.merging.is_none() {
            return;
        }
        if self.base.points() >= self.present.len() - self.recent.points() {
            self.merging = None;
        } else {
            // Never expected: the merge did not finish. The segment stays searched (nothing is lost) and
            // saves wait, so say so rather than let the saved graph silently fall behind.
            tracing::warn!(
                base = self.base.points(),
                points = self.present.len(),
                "merging the recent vectors into the base graph did not finish; the graph is not saved"
            );
        }
    }

    /// Saves the graph into `dir` without rewriting what is already there: a segment unchanged since it was
    /// saved keeps its folder, so after a pass only the recent segment (new vectors) is written, and
    /// deletions write nothing (they are derived from the database at load). The base is written again
    /// only after a merge ([`VectorIndex::merge_due`]), so each point is rewritten a bounded number of
    /// times as the collection grows. During a merge nothing is saved (the caller saves after it).
    ///
    /// A crash at any moment leaves the old graph or the new one, never a mix: segment folders are written
    /// under new names first, then `meta.json` (which names them) is replaced atomically, then folders it no
    /// longer names are deleted. An empty graph is saved as no graph.
    pub fn save(&self, dir: &Path) -> Result<()> {
        if self.merging.is_some() {
            return Ok(());
        }
        if self.present.is_empty() {
            let _ = std::fs::remove_dir_all(dir);
            return Ok(());
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let mut names = Vec::new();
        for segment in self.segments() {
            let saved_here = segment
                .saved_at()
                .filter(|p| p.parent() == Some(dir) && p.join(META_FILE).exists());
            if saved_here.is_none() {
                let name = fresh_segment_name(dir);
                let tmp = dir.join(format!("{name}.tmp"));
                let _ = std::fs::remove_dir_all(&tmp);
                std::fs::create_dir_all(&tmp)
                    .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
                let hnsw = segment.growing();
                hnsw.file_dump(&tmp, BASENAME)
                    .map_err(|e| Error::Index(format!("saving the vector index: {e}")))?;
                frozen::write(hnsw, self.dim, &tmp.join(FLAT_FILE))?;
                // Marks the folder complete; a folder without it is never loaded.
                std::fs::write(tmp.join(META_FILE), b"{}")
                    .map_err(|e| Error::io("writing index meta", e))?;
                std::fs::rename(&tmp, dir.join(&name))
                    .map_err(|e| Error::io(format!("saving {}", dir.display()), e))?;
                segment.set_saved_at(Some(dir.join(&name)));
                names.push(name);
            } else {
                names.extend(
                    saved_here
                        .as_deref()
                        .and_then(Path::file_name)
                        .map(|n| n.to_string_lossy().into_owned()),
                );
            }
        }
        let meta = IndexMeta {
            format: FORMAT,
            model: self.model.clone(),
            dim: self.dim,
            database: self.database.clone(),
            points: self.present.len(),
            segments: names.clone(),
        };
        if Self::saved_meta(dir).as_ref() == Some(&meta) {
            return Ok(());
        }
        let meta_json = serde_json::to_vec(&meta).map_err(|e| Error::Index(e.to_string()))?;
        let tmp_meta = dir.join("meta.json.tmp");
        std::fs::write(&tmp_meta, meta_json).map_err(|e| Error::io("writing index meta", e))?;
        std::fs::rename(&tmp_meta, dir.join(META_FILE))
            .map_err(|e| Error::io("writing index meta", e))?;
        // What meta.json no longer names (replaced segments, the files of an older format) goes.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name != META_FILE && !names.contains(&name) {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
        Ok(())
    }

    /// After a save: each saved segment is searched from its file, mapped ([`crate::frozen`]), and the
    /// base's hnsw_rs form is released — it is loaded again only when a merge inserts into the base. The
    /// recent segment keeps its hnsw_rs form, so the next pass inserts without reloading it. Returns what was
    /// released, for the caller to drop outside the graph's lock.
    pub(crate) fn settle(&mut self) -> Option<Hnsw<'static, i8, CosineI8>> {
        if self.merging.is_some() {
            return None;
        }
        let _ = self.recent.settle(self.dim, false);
        self.base.settle(self.dim, true)
    }

    /// Reads the meta file of a saved graph.
    pub fn saved_meta(dir: &Path) -> Option<IndexMeta> {
        let bytes = std::fs::read(dir.join(META_FILE)).ok()?;
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
        let upgrade = (UPGRADABLE_FROM..FORMAT).contains(&meta.format);
        if (!upgrade && meta.format != FORMAT) || meta.model != model || meta.dim != dim {
            tracing::info!(
                ?meta,
                "saved vector index is for another model or format; rebuilding"
            );
            return None;
        }
        if meta.database != database {
            tracing::warn!(
                "saved vector index belongs to another database (was index.sqlite replaced?); rebuilding"
            );
            return None;
        }
        if upgrade {
            // Saved before the flat file listed the points no walk reaches (4): each segment's file is
            // rewritten from itself (`frozen::upgrade`: seconds at a million points). Saved before segments
            // were saved flat (3), or that file unreadable: it is written from hnsw_rs's form (tens of
            // seconds at a million) — either way, no rebuild from the database (minutes).
            for name in &meta.segments {
                let folder = dir.join(name);
                let flat = folder.join(FLAT_FILE);
                if FrozenGraph::open(&flat, dim).is_ok() {
                    continue;
                }
                // Named for this process: two processes opening the index at once each write their own,
                // and either's rename leaves a whole file.
                let tmp = folder.join(format!("{FLAT_FILE}.{}.tmp", std::process::id()));
                let written = frozen::upgrade(&flat, &tmp, dim)
                    .or_else(|e| {
                        tracing::debug!(error = %e, segment = name, "no older flat file to upgrade");
                        let hnsw = load_hnsw(&folder)
                            .ok_or_else(|| Error::Index("the saved graph is unreadable".into()))?;
                        frozen::write(&hnsw, dim, &tmp)
                    })
                    .and_then(|()| {
                        std::fs::rename(&tmp, &flat).map_err(|e| Error::io("saving the graph", e))
                    });
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&tmp);
                    if FrozenGraph::open(&flat, dim).is_err() {
                        tracing::warn!(error = %e, "could not upgrade the saved vector index; rebuilding");
                        return None;
                    }
                }
            }
            tracing::info!(from = meta.format, "saved vector index upgraded");
        }
        if meta.segments.is_empty() || meta.segments.len() > 2 {
            tracing::warn!("saved vector index lists no or too many segments; rebuilding");
            return None;
        }
        let mut present = IdSet::default();
        let mut segments = Vec::new();
        for name in &meta.segments {
            let segment = Segment::load(dir, name, dim, params)?;
            let before = present.len();
            for &id in segment.frozen.as_ref().map_or(&[][..], FrozenGraph::ids) {
                present.insert(id);
            }
            if segment.points() != present.len() - before {
                tracing::warn!(
                    segment = name,
                    "saved vector index segment incomplete; rebuilding"
                );
                return None;
            }
            segments.push(segment);
        }
        if present.len() != meta.points {
            tracing::warn!("saved vector index ids do not match its meta; rebuilding");
            return None;
        }
        let mut segments = segments.into_iter();
        let base = segments.next()?;
        let recent = segments
            .next()
            .unwrap_or_else(|| Segment::new(params, 1024));
        let live = present.clone();
        Some(VectorIndex {
            model: model.to_string(),
            dim,
            database: database.to_string(),
            params,
            fixed_ef: None,
            exact_limit: EXACT_LIMIT_AT_START,
            base,
            recent,
            merging: None,
            present,
            live,
        })
    }
}

/// A segment folder name not used in `dir`.
fn fresh_segment_name(dir: &Path) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut n = nanos;
    loop {
        let name = format!("segment-{n:x}");
        if !dir.join(&name).exists() && !dir.join(format!("{name}.tmp")).exists() {
            return name;
        }
        n += 1;
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

    /// Random unit vectors for the ids in `ids`.
    fn random_items(
        seed: &mut u64,
        ids: std::ops::RangeInclusive<i64>,
        dim: usize,
    ) -> Vec<(i64, Vec<f32>)> {
        ids.map(|id| (id, random_unit(seed, dim))).collect()
    }

    #[test]
    fn hnsw_recall_against_exact_and_tombstones() {
        let dim = 64;
        let mut seed = 42u64;
        let items = random_items(&mut seed, 1..=3000, dim);
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
        // With a fifth of the points deleted, a deep search still returns as many live points as asked.
        let mut gone: Vec<i64> = (1..=3000).filter(|id| id % 5 == 0).collect();
        hnsw.remove(&gone);
        let deep = hnsw.search(&queries[0], 300, None);
        assert_eq!(deep.len(), 300);
        assert!(deep.iter().all(|(id, _)| id % 5 != 0 && *id != 6));
        let mut ids: Vec<i64> = deep.iter().map(|d| d.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 300);
        // The best live point is found as exact search finds it.
        let best_live = exact
            .search(&queries[0], 700)
            .into_iter()
            .find(|(id, _)| id % 5 != 0 && *id != 6)
            .unwrap();
        assert_eq!(deep[0].0, best_live.0);
        gone.retain(|&id| id != 6);
        let ids: Vec<(i64, Vec<f32>)> = items
            .iter()
            .filter(|(id, _)| gone.contains(id))
            .cloned()
            .collect();
        hnsw.insert(&ids);
        assert_eq!(
            hnsw.len(),
            2999,
            "re-inserting a removed id makes it live again"
        );

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

    /// Folder name → modification time of every entry of a saved graph.
    fn saved_files(dir: &Path) -> std::collections::BTreeMap<String, std::time::SystemTime> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().modified().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn saves_write_only_new_segments_and_merges_keep_every_point() {
        let dim = 16;
        let mut seed = 7u64;
        let mut vectors = |range| random_items(&mut seed, range, dim);
        let first = vectors(1..=2000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hnsw");
        let mut g = VectorIndex::new("m", dim, "db", 2000, HnswParams::default());
        g.insert(&first);
        g.save(&path).unwrap();
        let meta = VectorIndex::saved_meta(&path).unwrap();
        assert_eq!(meta.segments.len(), 1, "a fresh build is one segment");
        let base = meta.segments[0].clone();
        let base_written = saved_files(&path)[&base];
        // Settled, the base is searched from its file and its hnsw_rs form is let go.
        assert!(g.settle().is_some(), "the base's hnsw_rs form is released");
        assert!(g.base.growing.get().is_none() && g.base.current_frozen().is_some());
        assert_eq!(g.base.points(), 2000);
        assert_eq!(g.search(&first[17].1, 1, None)[0].0, first[17].0);

        // New vectors go to a second segment; saving writes it and leaves the base alone.
        let second = vectors(2001..=2100);
        g.insert(&second);
        g.save(&path).unwrap();
        let meta = VectorIndex::saved_meta(&path).unwrap();
        assert_eq!(meta.segments.len(), 2);
        assert_eq!(meta.segments[0], base);
        assert_eq!(
            saved_files(&path)[&base],
            base_written,
            "the base was not rewritten"
        );
        assert_eq!(meta.points, 2100);

        // Deletions write nothing: the live set comes from the database at load.
        let before = saved_files(&path);
        g.remove(&[1, 2050]);
        g.save(&path).unwrap();
        assert_eq!(saved_files(&path), before);

        // Loaded, both segments answer: each vector finds itself, from either segment.
        let mut loaded = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        let live: Vec<i64> = (1..=2100).filter(|id| ![1, 2050].contains(id)).collect();
        assert!(loaded.reconcile(&live).is_empty());
        for (id, v) in [&first[10], &second[10]] {
            assert_eq!(loaded.search(v, 1, None)[0].0, *id);
        }
        assert!(loaded
            .search(&second[49].1, 20, None)
            .iter()
            .all(|(id, _)| *id != 2050));

        // Past the threshold the recent segment is merged into the base: one segment again, saved once,
        // and every point still found.
        let third = vectors(2101..=2100 + MERGE_AT_LEAST as i64);
        loaded.insert(&third);
        assert!(loaded.merge_due());
        loaded.begin_merge();
        // Mid-merge, searches see every point once, and nothing is saved.
        let mid = loaded.search(&third[5].1, 10, None);
        assert_eq!(mid[0].0, third[5].0);
        let mut ids: Vec<i64> = mid.iter().map(|m| m.0).collect();
        ids.dedup();
        assert_eq!(ids.len(), mid.len());
        loaded.merge();
        let during = loaded.search(&third[6].1, 10, None);
        assert_eq!(during[0].0, third[6].0);
        let mut ids: Vec<i64> = during.iter().map(|m| m.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            during.len(),
            "a point in two segments is returned once"
        );
        let late = vectors(90_001..=90_010);
        loaded.insert(&late);
        loaded.end_merge();
        assert!(!loaded.merge_due());
        loaded.save(&path).unwrap();
        let meta = VectorIndex::saved_meta(&path).unwrap();
        assert_eq!(
            meta.segments.len(),
            2,
            "the merged base and the vectors added during the merge"
        );
        assert_ne!(meta.segments[0], base, "the merged base was written anew");
        assert_eq!(meta.points, 2100 + MERGE_AT_LEAST + 10);
        assert!(
            !path.join(&base).exists(),
            "the replaced base folder is gone"
        );
        let reloaded = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        for (id, v) in [
            &first[3],
            &second[3],
            &third[3],
            &third[MERGE_AT_LEAST - 1],
            &late[3],
        ] {
            assert_eq!(reloaded.search(v, 1, None)[0].0, *id);
        }
    }

    #[test]
    fn a_save_cut_short_leaves_the_previous_graph_loadable() {
        let dim = 16;
        let mut seed = 9u64;
        let items = random_items(&mut seed, 1..=500, dim);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hnsw");
        let mut g = VectorIndex::new("m", dim, "db", 500, HnswParams::default());
        g.insert(&items[..400]);
        g.save(&path).unwrap();
        // A crash while the next segment was written: its folder exists, meta.json does not name it.
        std::fs::create_dir_all(path.join("segment-dead.tmp")).unwrap();
        std::fs::write(path.join("segment-dead.tmp/vectors.hnsw.graph"), b"partial").unwrap();
        std::fs::create_dir_all(path.join("segment-orphan")).unwrap();
        let loaded = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        assert_eq!(loaded.len(), 400);
        // The next save clears what no meta names.
        g.insert(&items[400..]);
        g.save(&path).unwrap();
        assert!(!path.join("segment-dead.tmp").exists());
        assert!(!path.join("segment-orphan").exists());
        assert_eq!(
            VectorIndex::load(&path, "m", dim, "db", HnswParams::default())
                .unwrap()
                .len(),
            500
        );
    }

    #[test]
    fn large_graphs_search_wider() {
        let p = HnswParams::default();
        assert_eq!(p.ef_for(100_000), p.ef_search);
        assert_eq!(p.ef_for(LARGE_GRAPH + 1), 2 * p.ef_search);
    }

    /// `items` built into a graph saved in a new temporary folder: (the folder, the graph's directory, its
    /// one segment's folder).
    fn saved(items: &[(i64, Vec<f32>)]) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dim = items[0].1.len();
        let mut idx = VectorIndex::new("m", dim, "db", items.len(), HnswParams::default());
        idx.insert(items);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hnsw");
        idx.save(&path).unwrap();
        let segment = path.join(&VectorIndex::saved_meta(&path).unwrap().segments[0]);
        (dir, path, segment)
    }

    #[test]
    fn corrupt_saved_index_is_rejected_not_a_crash() {
        let dim = 8;
        let mut seed = 7u64;
        let items = random_items(&mut seed, 1..=300, dim);
        // The searched form damaged: the graph is rebuilt (load says no), nothing crashes.
        let (_keep, path, segment) = saved(&items[..200]);
        std::fs::write(segment.join(FLAT_FILE), b"garbage").unwrap();
        assert!(VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).is_none());

        // hnsw_rs's form damaged: loading and searching do not read it; the first insert, which needs it,
        // rebuilds the segment from the saved vectors, and every point is still found.
        let (_keep, path, segment) = saved(&items[..200]);
        for entry in std::fs::read_dir(&segment).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "data" || e == "graph") {
                std::fs::write(&p, b"garbage").unwrap();
            }
        }
        let mut loaded = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        assert_eq!(loaded.search(&items[7].1, 1, None)[0].0, 8);
        // Into the base, as a merge would.
        loaded
            .base
            .insert(&[(&quant::quantize(&items[250].1), 251)]);
        loaded.present.insert(251);
        loaded.live.insert(251);
        for (id, v) in [&items[0], &items[199], &items[250]] {
            assert_eq!(loaded.search(v, 1, None)[0].0, *id);
        }
        assert_eq!(loaded.base.points(), 201);
    }

    #[test]
    fn the_segment_an_insert_grows_is_thawed_beforehand_while_searches_read_the_saved_form() {
        let dim = 8;
        let mut seed = 17u64;
        let items = random_items(&mut seed, 1..=300, dim);
        let (_keep, path, _) = saved(&items[..200]);
        let mut idx = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        idx.insert(&items[200..250]);
        idx.save(&path).unwrap();
        assert_eq!(VectorIndex::saved_meta(&path).unwrap().segments.len(), 2);
        // Both segments saved, neither thawed: searches read the mapped files.
        let mut idx = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        assert!(idx.base.growing.get().is_none() && idx.recent.growing.get().is_none());
        assert!(idx.recent.current_frozen().is_some());
        idx.thaw_for_insert();
        // The recent segment (where inserts go) is ready to grow; the base stays mapped only; searches
        // still read the saved form.
        assert_eq!(idx.recent.growing.get().map(|h| h.get_nb_point()), Some(50));
        assert!(idx.base.growing.get().is_none());
        assert!(idx.recent.current_frozen().is_some());
        assert_eq!(idx.search(&items[220].1, 1, None)[0].0, 221);
        idx.insert(&items[250..]);
        assert!(idx.recent.current_frozen().is_none());
        for (id, v) in [&items[0], &items[220], &items[299]] {
            assert_eq!(idx.search(v, 1, None)[0].0, *id);
        }
    }

    #[test]
    fn a_graph_saved_in_an_older_format_is_upgraded_not_rebuilt() {
        let dim = 8;
        let mut seed = 13u64;
        let items = random_items(&mut seed, 1..=300, dim);
        let (_keep, path, segment) = saved(&items);
        // As format 3 left it: no flat file, meta says 3.
        let mut meta = VectorIndex::saved_meta(&path).unwrap();
        std::fs::remove_file(segment.join(FLAT_FILE)).unwrap();
        meta.format = 3;
        std::fs::write(path.join(META_FILE), serde_json::to_vec(&meta).unwrap()).unwrap();
        let loaded = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        assert!(segment.join(FLAT_FILE).exists());
        assert_eq!(loaded.len(), 300);
        assert_eq!(loaded.search(&items[41].1, 1, None)[0].0, 42);
        loaded.save(&path).unwrap();
        let meta = VectorIndex::saved_meta(&path).unwrap();
        assert_eq!(meta.format, FORMAT);
        assert_eq!(
            meta.segments,
            vec![segment.file_name().unwrap().to_string_lossy().into_owned()]
        );
        // As format 4 left it: a flat file without the orphan list (version 1), meta says 4. It is
        // upgraded from itself: hnsw_rs's files are not needed (here, gone).
        let flat = segment.join(FLAT_FILE);
        frozen::downgrade_to_version_1(&flat, dim);
        assert!(FrozenGraph::open(&flat, dim).is_err());
        let mut removed = 0;
        for entry in std::fs::read_dir(&segment).unwrap() {
            let entry = entry.unwrap().path();
            if entry.to_string_lossy().contains(BASENAME) {
                std::fs::remove_file(entry).unwrap();
                removed += 1;
            }
        }
        assert_eq!(removed, 2, "hnsw_rs's graph and data files");
        let mut meta = VectorIndex::saved_meta(&path).unwrap();
        meta.format = 4;
        std::fs::write(path.join(META_FILE), serde_json::to_vec(&meta).unwrap()).unwrap();
        let loaded = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        assert!(FrozenGraph::open(&flat, dim).is_ok());
        assert_eq!(loaded.len(), 300);
        assert_eq!(loaded.search(&items[41].1, 1, None)[0].0, 42);
        loaded.save(&path).unwrap();
        assert_eq!(VectorIndex::saved_meta(&path).unwrap().format, FORMAT);
        // Another format (or a damaged old one) is rebuilt.
        std::fs::remove_file(segment.join(FLAT_FILE)).unwrap();
        assert!(VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).is_none());
    }

    #[test]
    fn a_small_growing_segment_is_scanned_so_a_point_no_link_leads_to_is_found() {
        // A tight cluster, then one point half-way off it (as in `frozen.rs`'s test): hnsw_rs's walk never
        // reaches it (30 runs of 30 when this test was written), and before a save there is no list of such
        // points.
        let dim = 32;
        let mut seed = 7u64;
        // A saved base of 1,000 other points, searched in its saved form.
        let base = random_items(&mut seed, 1..=1000, dim);
        let (_keep, path, _) = saved(&base);
        let mut idx = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        let cluster: Vec<(i64, Vec<f32>)> = (1001..=3000)
            .map(|id| {
                let noise = random_unit(&mut seed, dim);
                let mut v: Vec<f32> = noise.iter().map(|x| x * 0.05).collect();
                v[0] += 1.0;
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                (id, v.iter().map(|x| x / norm).collect())
            })
            .collect();
        let mut outlier = vec![0.0f32; dim];
        (outlier[0], outlier[1]) = (0.5, 0.75f32.sqrt());
        idx.insert(&cluster);
        idx.insert(&[(3001, outlier.clone())]);
        assert!(idx.base.current_frozen().is_some() && idx.recent.current_frozen().is_none());
        assert_eq!(idx.recent.points(), 2001);
        let first = |idx: &VectorIndex, q: &[f32]| idx.search(q, 5, None)[0].0;
        assert_ne!(first(&idx, &outlier), 3001, "the walk alone misses it");
        // The whole index is too large to scan, the growing segment is not.
        idx.exact_limit = 2500;
        let got = idx.search(&outlier, 5, None);
        assert_eq!(got[0].0, 3001);
        assert!(got[0].1 > 0.99, "{got:?}");
        // Filters still apply to the scan; the saved base is still searched.
        let not_it = |id: i64| id != 3001;
        let got = idx.search(&outlier, 5, Some(&not_it));
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(id, _)| *id != 3001));
        assert_eq!(first(&idx, &base[499].1), 500);
    }

    #[test]
    fn exact_search_finds_every_point_in_every_form_with_filters_and_deletions() {
        let dim = 16;
        let mut seed = 23u64;
        let items = random_items(&mut seed, 1..=600, dim);
        let (_keep, path, _) = saved(&items[..400]);
        let mut idx = VectorIndex::load(&path, "m", dim, "db", HnswParams::default()).unwrap();
        // The base searched in its saved form, the recent segment growing in memory.
        idx.insert(&items[400..]);
        idx.remove(&[3, 450]);
        let mut exact = ExactIndex::new(dim);
        for (id, v) in &items {
            exact.insert(*id, v);
        }
        let live = |id: i64| id != 3 && id != 450;
        let odd = |id: i64| id % 2 == 1;
        for q in items.iter().step_by(37).map(|x| &x.1) {
            for (allow, keep) in [
                (None, &live as &dyn Fn(i64) -> bool),
                (Some(&odd as &dyn Fn(i64) -> bool), &|id| {
                    live(id) && odd(id)
                }),
            ] {
                let accept = |id: i64| idx.live.contains(id) && allow.is_none_or(|f| f(id));
                let got: Vec<i64> = idx
                    .search_exact(&quant::quantize(q), 10, &accept)
                    .into_iter()
                    .map(|x| x.0)
                    .collect();
                let want: Vec<i64> = exact
                    .search(q, 600)
                    .into_iter()
                    .map(|x| x.0)
                    .filter(|&id| keep(id))
                    .take(10)
                    .collect();
                // 8-bit vectors: the same points, ties aside.
                let same = got.iter().filter(|id| want.contains(id)).count();
                assert!(same >= 9, "{got:?} vs {want:?}");
                assert!(got.iter().all(|&id| keep(id)));
            }
        }
        // A point whose vector is the query is first, whichever segment holds it.
        for id in [1, 399, 401, 600] {
            let q = quant::quantize(&items[id as usize - 1].1);
            assert_eq!(idx.search_exact(&q, 1, &|_| true)[0].0, id);
        }
    }

    #[test]
    fn filter_restricts_results() {
        let dim = 16;
        let mut seed = 3u64;
        let items = random_items(&mut seed, 1..=200, dim);
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
        let items = random_items(&mut seed, 1..=20, dim);
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
