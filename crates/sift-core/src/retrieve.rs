//! "Which passages answer this query?": the retrieval algorithm. Takes the parsed query and its vector,
//! restricts by filters and exact phrases, asks the vector graph (or an exact scan, for small filtered sets)
//! and FTS5 for their top chunks, cuts vector hits that are noise, fuses both (convex fusion by default),
//! groups by file, puts strong results first and attaches each file's best passage with highlights. Reads
//! only; the engine holds the locks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::catalog::Catalog;
use crate::confidence::{self, Scale};
use crate::error::Result;
use crate::extract::Location;
use crate::index::{ExactIndex, IdSet};
use crate::search::{
    self, Fusion, KeywordMatch, Keywords, Mode, ParsedQuery, Passage, SearchHit, SearchParams,
    Stages,
};
use crate::store::{ChunkRecord, Filter, Store};

/// Below this many allowed chunks, filtered searches scan vectors exactly instead of walking the graph.
const EXACT_FILTER_LIMIT: usize = 20_000;

/// Units (a passage and its windows) asked of the vector index per passage wanted.
const UNITS_PER_PASSAGE: usize = 3;

/// The chunks a filter allows, as of a database version: typing a query with a folder or type filter set
/// runs one search per keystroke, and listing every allowed chunk each time would cost in proportion to
/// the collection. Kept by the engine; recomputed when the filter changes or anything was committed.
#[derive(Default)]
pub(crate) struct FilterCache(Mutex<Option<(Filter, i64, Arc<IdSet>)>>);

impl FilterCache {
    fn allowed(&self, reader: &Store, filter: &Filter) -> Result<Arc<IdSet>> {
        let version = reader.data_version()?;
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((f, v, ids)) = cached.as_ref() {
            if f == filter && *v == version {
                return Ok(Arc::clone(ids));
            }
        }
        let mut ids = IdSet::default();
        for id in reader.filtered_chunk_ids(filter)? {
            ids.insert(id);
        }
        let ids = Arc::new(ids);
        *cached = Some((filter.clone(), version, Arc::clone(&ids)));
        Ok(ids)
    }
}

/// Passages taken from each retriever before fusion, for a search showing `limit` files.
pub(crate) fn depth(params: &SearchParams, limit: usize) -> usize {
    params.depth.max(limit * 3)
}

/// The keyword side of a retrieval: FTS5's best passages for the query's words, and what a passage holding
/// each term once would score (convex fusion's yardstick). It needs no query vector, so the engine runs it
/// on its own connection and thread while the query is embedded and the graph searched.
pub(crate) struct KeywordSide {
    hits: Vec<(i64, f64)>,
    ideal: f64,
    ms: f64,
}

impl KeywordSide {
    pub(crate) fn search(
        reader: &Store,
        parsed: &ParsedQuery,
        mode: Mode,
        filter: &Filter,
        params: &SearchParams,
        limit: usize,
    ) -> Result<KeywordSide> {
        let started = Instant::now();
        let hits = match (mode, search::fts_expression(parsed)) {
            (Mode::Vector, _) | (_, None) => return Ok(KeywordSide::none()),
            (_, Some(expr)) => reader.fts(&expr, depth(params, limit), filter)?,
        };
        let ideal = if hits.is_empty() || params.fusion != Fusion::Convex {
            0.0
        } else {
            // The expression lists the exact phrases, then the words (`search::fts_expression`): the
            // words' IDFs, as the search just counted them, sum to the ideal score.
            let idf = reader.last_keyword_idf();
            let phrases = parsed.phrases.len();
            if idf.len() == phrases + parsed.terms.len() {
                idf[phrases..].iter().sum()
            } else {
                reader.ideal_bm25(&parsed.terms)?
            }
        };
        Ok(KeywordSide {
            hits,
            ideal,
            ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// No keyword side: a meaning-only search, or a query with no words to look up.
    pub(crate) fn none() -> KeywordSide {
        KeywordSide {
            hits: Vec::new(),
            ideal: 0.0,
            ms: 0.0,
        }
    }
}

/// Milliseconds since `clock`, which restarts.
pub(crate) fn lap(clock: &mut Instant) -> f64 {
    let now = Instant::now();
    let ms = (now - *clock).as_secs_f64() * 1000.0;
    *clock = now;
    ms
}

/// One retrieval over a consistent view: the reader connection and the (synced) catalog.
pub(crate) struct Retrieval<'a> {
    pub reader: &'a Store,
    pub catalog: &'a Catalog,
    pub filters: &'a FilterCache,
    pub dim: usize,
    pub params: SearchParams,
    /// The query's embedding (`None` for keyword-only searches).
    pub query_vector: Option<&'a [f32]>,
    /// What the model gives unrelated text for this query (`None` without a query vector).
    pub scale: Option<Scale>,
}

impl Retrieval<'_> {
    /// Ranked distinct files with their best passage.
    pub(crate) fn run(
        &self,
        parsed: &ParsedQuery,
        mode: Mode,
        filter: &Filter,
        limit: usize,
        keyword: impl FnOnce() -> Result<KeywordSide>,
        stages: &mut Stages,
    ) -> Result<Vec<SearchHit>> {
        let mut clock = Instant::now();
        let params = self.params;
        let query_vector = self.query_vector;
        let depth = depth(&params, limit);
        // Chunks allowed by filters and exact phrases, when restricted.
        let mut allowed: Option<Arc<IdSet>> = None;
        if !filter.is_empty() {
            allowed = Some(self.filters.allowed(self.reader, filter)?);
        }
        if let Some(expr) = search::phrase_expression(parsed) {
            let mut both = IdSet::default();
            for id in self.reader.fts_ids(&expr)? {
                if allowed.as_ref().is_none_or(|a| a.contains(id)) {
                    both.insert(id);
                }
            }
            allowed = Some(Arc::new(both));
        }
        if allowed.as_ref().is_some_and(|a| a.is_empty()) {
            return Ok(Vec::new());
        }
        // Units (passages and their sentence windows) nearest to the query; a passage has a few windows, so
        // more units are asked for than passages are kept.
        let unit_depth = depth * UNITS_PER_PASSAGE;
        let nearest = |qv: &[f32]| -> Result<Vec<(i64, f32)>> {
            Ok(match &allowed {
                Some(a) if a.len() <= EXACT_FILTER_LIMIT => {
                    let ids: Vec<i64> = a.iter().collect();
                    let mut exact = ExactIndex::new(self.dim);
                    for (id, v) in self.reader.vectors(self.catalog.model_key(), &ids)? {
                        exact.insert(id, &v);
                    }
                    exact.search(qv, unit_depth)
                }
                Some(a) => {
                    let allow = |id: i64| a.contains(id);
                    self.catalog.graph().search(qv, unit_depth, Some(&allow))
                }
                None => self.catalog.graph().search(qv, unit_depth, None),
            })
        };
        let unit_hits: Vec<(i64, f32)> = match query_vector {
            None => Vec::new(),
            Some(qv) => nearest(qv)?,
        };
        // A window stands for its passage: a passage is as close to the query as its closest unit.
        let parents = self
            .reader
            .parents(&unit_hits.iter().map(|h| h.0).collect::<Vec<_>>())?;
        // Passages' own similarities (not their windows'), for how strong a shown passage is.
        let mut own: HashMap<i64, f32> = unit_hits
            .iter()
            .filter(|h| !parents.contains_key(&h.0))
            .copied()
            .collect();
        // A window's similarity counts `window_discount` spreads less than a passage's own.
        let window_evidence = |sim: f32| match self.scale {
            Some(scale) => scale.lower(sim, params.window_discount),
            None => sim,
        };
        let mut by_passage: Vec<(i64, f32)> = unit_hits
            .into_iter()
            .filter_map(|(id, sim)| match parents.get(&id) {
                Some(&passage) => params.windows.then(|| (passage, window_evidence(sim))),
                None => Some((id, sim)),
            })
            .collect();
        by_passage.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut seen = HashSet::new();
        let vector_hits: Vec<(i64, f32)> = by_passage
            .into_iter()
            .filter(|&(passage, _)| seen.insert(passage))
            .take(depth)
            .collect();
        // Passages barely related to the query are left out, unless the keyword side also finds them.
        // Hits far below the best one are noise next to it (another topic altogether). Both cuts are in the
        // model's own units (z-scores against its reference sentences), so they fit every model.
        let vector_kept: Vec<(i64, f32)> = match (self.scale, vector_hits.first()) {
            (Some(scale), Some(&(_, best))) => {
                let floor = params.min_z.max(scale.z(best) - params.max_z_gap);
                vector_hits
                    .into_iter()
                    .filter(|&(_, sim)| scale.z(sim) >= floor)
                    .collect()
            }
            _ => vector_hits,
        };
        stages.vector_ms = lap(&mut clock);
        // Usually finished by now: it ran alongside the query's embedding and the graph search.
        let KeywordSide {
            hits: keyword_hits,
            ideal,
            ms,
        } = keyword()?;
        stages.keyword_ms = ms;
        lap(&mut clock);
        let fused = match params.fusion {
            Fusion::Rrf => {
                let vector_ids: Vec<i64> = vector_kept.iter().map(|x| x.0).collect();
                let keyword_ids: Vec<i64> = keyword_hits.iter().map(|x| x.0).collect();
                search::rrf(
                    &[(&vector_ids, params.vector_weight), (&keyword_ids, 1.0)],
                    params.rrf_k,
                )
            }
            Fusion::Convex => {
                let alpha = match mode {
                    Mode::Hybrid => params.alpha,
                    Mode::Vector => 1.0,
                    Mode::Keyword => 0.0,
                };
                let z = self.scale.map(|s| move |sim: f32| s.z(sim));
                let vector = search::vector_scores(
                    &vector_kept,
                    z.as_ref().map(|f| f as &dyn Fn(f32) -> f32),
                    params.z_full,
                );
                search::convex(&vector, &keyword_hits, ideal, alpha)
            }
        };
        let ids: Vec<i64> = fused.iter().map(|x| x.0).collect();
        let records = self.reader.chunks(&ids)?;
        // One result per file, or per item for files made of separate items (mailbox messages).
        let file_of = records
            .iter()
            .map(|c| {
                let item = match &c.location {
                    Some(Location::Message { number, .. }) => Some(*number),
                    _ => None,
                };
                (c.id, (c.file_id, item))
            })
            .collect();
        let grouped = search::group_by_file(&fused, &file_of, limit);
        let by_id: HashMap<i64, &ChunkRecord> = records.iter().map(|c| (c.id, c)).collect();
        let shown: Vec<i64> = grouped.iter().map(|g| g.1).collect();
        // Where the query's keywords stand in the shown passages (marks, and whether each holds every word),
        // found by the index's own tokenizer.
        let tokenizer = self.reader.keyword_tokenizer()?;
        let keywords = Keywords::new(parsed, &tokenizer)?;
        let mut matched: HashMap<i64, KeywordMatch> = HashMap::new();
        if !keywords.is_empty() {
            for id in &shown {
                if let Some(c) = by_id.get(id) {
                    matched.insert(*id, keywords.find(&c.text, &tokenizer)?);
                }
            }
        }
        // The sentences that answer: each shown passage's closest window (by meaning), and how strong each
        // shown passage is: its own and its best window's similarity against the model's scale, and whether
        // it holds every word of the query.
        let mut answers: HashMap<i64, (usize, usize)> = HashMap::new();
        let mut window_sim: HashMap<i64, f32> = HashMap::new();
        if let Some(qv) = query_vector {
            let sim = |v: &[f32]| -> f32 { v.iter().zip(qv).map(|(a, b)| a * b).sum() };
            let unknown: Vec<i64> = shown
                .iter()
                .copied()
                .filter(|id| !own.contains_key(id))
                .collect();
            for (id, v) in self.reader.vectors(self.catalog.model_key(), &unknown)? {
                own.insert(id, sim(&v));
            }
            if params.windows {
                let windows = self.reader.windows_of(&shown)?;
                let ids: Vec<i64> = windows.iter().map(|w| w.id).collect();
                let vectors: HashMap<i64, Vec<f32>> = self
                    .reader
                    .vectors(self.catalog.model_key(), &ids)?
                    .into_iter()
                    .collect();
                for w in windows {
                    let Some(s) = vectors.get(&w.id).map(|v| sim(v)) else {
                        continue;
                    };
                    if window_sim.get(&w.passage).is_none_or(|&b| s > b) {
                        window_sim.insert(w.passage, s);
                        answers.insert(w.passage, (w.start, w.end));
                    }
                }
            }
        }
        let strength = |id: i64| {
            let z = self.scale.and_then(|s| {
                let own = own.get(&id).map(|&sim| s.z(sim));
                let window = window_sim
                    .get(&id)
                    .map(|&sim| s.z(sim) - params.window_discount);
                own.into_iter().chain(window).reduce(f32::max)
            });
            let all = matched.get(&id).is_some_and(|m| m.all);
            tracing::debug!(chunk = id, ?z, all_words = all, "result strength");
            confidence::strength(z, all)
        };
        let mut hits: Vec<SearchHit> = grouped
            .into_iter()
            .filter_map(|(_, chunk, score)| {
                let c = by_id.get(&chunk)?;
                Some(SearchHit {
                    path: c.path.clone(),
                    folder: c.folder.clone(),
                    score,
                    strength: strength(chunk),
                    passage: Passage {
                        highlights: matched
                            .get(&chunk)
                            .map(|m| m.ranges.clone())
                            .unwrap_or_default(),
                        answer: answers.get(&chunk).and_then(|&(start, end)| {
                            let at = |x: usize| x.checked_sub(c.start);
                            Some((at(start)?, at(end)?)).filter(|r| r.1 <= c.text.len())
                        }),
                        text: c.text.clone(),
                        start: c.start,
                        end: c.end,
                        line: c.line,
                        page: c.location.as_ref().and_then(Location::page),
                        location: c.location.clone(),
                    },
                })
            })
            .collect();
        search::strong_first(&mut hits, |h| h.strength);
        stages.passages_ms = lap(&mut clock);
        Ok(hits)
    }
}
