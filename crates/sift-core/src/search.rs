//! "Here is what the user typed, give me the best files": parses the query (quoted exact phrases, words),
//! runs a vector search and a BM25 keyword search, fuses their scores (convex fusion by default,
//! reciprocal-rank fusion on request), groups chunks by file and marks the matched words in each file's best
//! passage.
//!
//! Any user text is a valid query: words are quoted before they reach FTS5, so its syntax characters
//! (`"`, `*`, `NEAR(`, `-`, `:`, `^`...) are only ever searched for as text.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::confidence::{Confidence, Strength};
use crate::extract::Location;
use crate::fts_tokenizer::{self, is_cjk, Tokenizer};

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    /// The text to embed (the query without quote characters).
    pub semantic: String,
    /// Exact phrases (from double quotes), each a list of words.
    pub phrases: Vec<Vec<String>>,
    /// Keyword terms: lower-cased words outside and inside phrases, stop words removed (kept when all are
    /// stop words); a CJK word counts as its character bigrams (one character: itself), each a term of its
    /// own, as the keyword tokenizer cuts text (`fts_tokenizer.rs`).
    pub terms: Vec<String>,
}

/// Words too common to rank by. Negations ("no", "not", "nor", "never", "without") are never here: they
/// change what a query means.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "how",
    "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "such",
    "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "we", "were",
    "what", "when", "where", "which", "who", "why", "will", "with", "you", "your", "about", "did",
    "do", "does",
];

/// Splits text into words: runs of letters and digits (any script). A run of CJK characters ([`is_cjk`]) is
/// a word of its own, apart from letters of other scripts around it ("iPhone手机" is "iPhone" and "手机"), as
/// the keyword tokenizer cuts text.
pub fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    // Start of the current word, and whether it is a CJK run.
    let mut start: Option<(usize, bool)> = None;
    for (i, c) in text.char_indices() {
        let cjk = is_cjk(c);
        let kind = (cjk || c.is_alphanumeric()).then_some(cjk);
        match (start, kind) {
            (Some((_, a)), Some(b)) if a == b => {}
            (None, None) => {}
            (Some((s, _)), _) => {
                out.push((s, &text[s..i]));
                start = kind.map(|k| (i, k));
            }
            (None, Some(k)) => start = Some((i, k)),
        }
    }
    if let Some((s, _)) = start {
        out.push((s, &text[s..]));
    }
    out
}

fn is_cjk_word(word: &str) -> bool {
    word.chars().next().is_some_and(is_cjk)
}

/// A word's keyword terms: the word, or a CJK word's bigrams (one character: itself).
fn word_terms(word: &str) -> Vec<String> {
    if is_cjk_word(word) {
        fts_tokenizer::grams(word, 0, false)
            .into_iter()
            .map(|g| g.text.to_string())
            .collect()
    } else {
        vec![word.to_string()]
    }
}

/// Parses user input. Text between double quotes is an exact phrase; an unbalanced quote runs to the end.
pub fn parse_query(input: &str) -> ParsedQuery {
    let mut phrases = Vec::new();
    let mut all_words = Vec::new();
    for (i, part) in input.split('"').enumerate() {
        let ws: Vec<String> = words(part)
            .into_iter()
            .map(|(_, w)| w.to_lowercase())
            .collect();
        if i % 2 == 1 && !ws.is_empty() {
            phrases.push(ws.clone());
        }
        all_words.extend(ws);
    }
    // CJK words rank by their bigrams, each a term (a passage holding more of them ranks higher, as in
    // Lucene's CJK analyzer); the phrases keep whole words, which FTS5 matches as bigrams in a row.
    let all_words: Vec<String> = all_words.iter().flat_map(|w| word_terms(w)).collect();
    let mut seen = HashSet::new();
    let mut terms: Vec<String> = all_words
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .filter(|w| seen.insert((*w).clone()))
        .cloned()
        .collect();
    if terms.is_empty() {
        terms = all_words
            .iter()
            .filter(|w| seen.insert((*w).clone()))
            .cloned()
            .collect();
    }
    ParsedQuery {
        semantic: input
            .replace('"', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        phrases,
        terms,
    }
}

fn quote(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// The FTS5 expression for ranking: any term (OR), restricted to the phrases when there are any.
/// `None` when the query has no words.
pub fn fts_expression(q: &ParsedQuery) -> Option<String> {
    if q.terms.is_empty() && q.phrases.is_empty() {
        return None;
    }
    let any = q
        .terms
        .iter()
        .map(|t| quote(t))
        .collect::<Vec<_>>()
        .join(" OR ");
    match phrase_expression(q) {
        Some(p) if any.is_empty() => Some(p),
        Some(p) => Some(format!("{p} AND ({any})")),
        None => Some(any),
    }
}

/// The FTS5 expression all exact phrases must match, if any.
pub fn phrase_expression(q: &ParsedQuery) -> Option<String> {
    if q.phrases.is_empty() {
        return None;
    }
    Some(
        q.phrases
            .iter()
            .map(|p| quote(&p.join(" ")))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// Reciprocal-rank fusion of ranked lists of ids: `Σ weight / (k + rank)`, rank from 1.
pub fn rrf(lists: &[(&[i64], f64)], k: f64) -> Vec<(i64, f64)> {
    let mut scores: HashMap<i64, f64> = HashMap::new();
    for (list, weight) in lists {
        for (rank, id) in list.iter().enumerate() {
            *scores.entry(*id).or_default() += weight / (k + rank as f64 + 1.0);
        }
    }
    let mut out: Vec<(i64, f64)> = scores.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// How the vector and the keyword rankings become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// Reciprocal-rank fusion: ranks only, so a passage sharing one common word with the query but first in
    /// a short keyword list counts as much as the best passage by meaning.
    Rrf,
    /// A convex combination of scores on absolute scales ([`convex`]).
    Convex,
}

/// Convex fusion: `alpha · vector + (1 − alpha) · bm25/ideal` for each passage, 0 for a list it is not in.
/// `vector` holds vector scores already on an absolute 0..1 scale ([`vector_scores`]), `keyword` FTS5 BM25
/// scores (negative, best first), and `ideal_bm25` what a passage holding each query word once scores (the
/// sum of the words' IDFs), so a passage matching one word of five counts for about a fifth, however short
/// the keyword list is.
pub fn convex(
    vector: &[(i64, f64)],
    keyword: &[(i64, f64)],
    ideal_bm25: f64,
    alpha: f64,
) -> Vec<(i64, f64)> {
    let mut scores: HashMap<i64, f64> = HashMap::new();
    for &(id, v) in vector {
        *scores.entry(id).or_default() += alpha * v.clamp(0.0, 1.0);
    }
    if ideal_bm25 > 0.0 {
        for &(id, bm25) in keyword {
            *scores.entry(id).or_default() += (1.0 - alpha) * (-bm25).max(0.0) / ideal_bm25;
        }
    }
    let mut out: Vec<(i64, f64)> = scores.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Vector scores on a 0..1 scale for [`convex`]: a similarity's z-score (against the model's reference
/// sentences) over the best hit's, or over `z_full` when the best is below it — so when nothing clearly
/// related was found, the nearest noise does not count as a full match. Without a scale, similarity over the
/// best one's.
pub fn vector_scores(
    hits: &[(i64, f32)],
    z: Option<&dyn Fn(f32) -> f32>,
    z_full: f32,
) -> Vec<(i64, f64)> {
    let best = hits.first().map_or(0.0, |h| h.1);
    let top = z.map(|z| z(best).max(z_full));
    hits.iter()
        .map(|&(id, sim)| {
            let v = match (z, top) {
                (Some(z), Some(top)) if top > 0.0 => z(sim) / top,
                _ if best > 0.0 => sim / best,
                _ => 0.0,
            };
            (id, f64::from(v.clamp(0.0, 1.0)))
        })
        .collect()
}

/// Where a query's keywords stand in one passage.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeywordMatch {
    /// Byte ranges of the matched terms and exact phrases, sorted and not overlapping; empty when the
    /// passage lacks an exact phrase (keyword search would not match it at all).
    pub ranges: Vec<(usize, usize)>,
    /// Whether the passage holds every term and every exact phrase of the query.
    pub all: bool,
}

/// A query's keywords as the index's tokens (stemmed, CJK as bigrams): each term and each exact phrase a
/// sequence of tokens that must stand in a row. Found in a passage by cutting its text with the same
/// tokenizer ([`fts_tokenizer::Tokenizer`]), so a passage matches here exactly where FTS5 would match it
/// ("contracts" for "contract", never "contrary"; a one-character CJK term inside a longer run), at the
/// cost of tokenizing the passages shown instead of one FTS5 lookup per passage and term.
pub(crate) struct Keywords {
    terms: Vec<Vec<String>>,
    phrases: Vec<Vec<String>>,
}

impl Keywords {
    pub(crate) fn new(q: &ParsedQuery, tokenizer: &Tokenizer<'_>) -> rusqlite::Result<Keywords> {
        let cut = |text: &str| -> rusqlite::Result<Vec<String>> {
            Ok(tokenizer.query(text)?.into_iter().map(|t| t.text).collect())
        };
        let mut terms = Vec::new();
        for t in &q.terms {
            terms.push(cut(t)?);
        }
        let mut phrases = Vec::new();
        for p in &q.phrases {
            phrases.push(cut(&p.join(" "))?);
        }
        // A term or phrase with no token (only characters the index drops) constrains nothing.
        terms.retain(|t| !t.is_empty());
        phrases.retain(|p| !p.is_empty());
        Ok(Keywords { terms, phrases })
    }

    /// Whether the query has any keyword.
    pub(crate) fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.phrases.is_empty()
    }

    /// Where the keywords are in `text`.
    pub(crate) fn find(
        &self,
        text: &str,
        tokenizer: &Tokenizer<'_>,
    ) -> rusqlite::Result<KeywordMatch> {
        if self.is_empty() {
            return Ok(KeywordMatch::default());
        }
        let tokens = tokenizer.document(text)?;
        // Tokens by position: a colocated token stands where the one before it does.
        let mut positions: Vec<Vec<&fts_tokenizer::Token>> = Vec::new();
        for t in &tokens {
            match positions.last_mut() {
                Some(last) if t.colocated => last.push(t),
                _ => positions.push(vec![t]),
            }
        }
        let occurrences = |needle: &[String]| -> Vec<(usize, usize)> {
            if needle.len() > positions.len() {
                return Vec::new();
            }
            (0..=positions.len() - needle.len())
                .filter_map(|p| {
                    let mut span: Option<(usize, usize)> = None;
                    for (i, want) in needle.iter().enumerate() {
                        let t = positions[p + i].iter().find(|t| t.text == *want)?;
                        span = Some(span.map_or((t.start, t.end), |(s, e)| (s, e.max(t.end))));
                    }
                    span
                })
                .collect()
        };
        let phrases: Vec<Vec<(usize, usize)>> =
            self.phrases.iter().map(|p| occurrences(p)).collect();
        let terms: Vec<Vec<(usize, usize)>> = self.terms.iter().map(|t| occurrences(t)).collect();
        let every_phrase = phrases.iter().all(|o| !o.is_empty());
        let all = every_phrase && terms.iter().all(|o| !o.is_empty());
        let ranges = if every_phrase {
            merge(phrases.into_iter().chain(terms).flatten().collect())
        } else {
            Vec::new()
        };
        Ok(KeywordMatch { ranges, all })
    }
}

fn merge(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// A passage shown for a result.
#[derive(Debug, Clone, Serialize)]
pub struct Passage {
    pub text: String,
    /// Byte range of the passage in the file's text.
    pub start: usize,
    pub end: usize,
    /// 1-based line of the passage start.
    pub line: usize,
    /// 1-based page for paged documents (the number in `location` when it is a page).
    pub page: Option<u32>,
    /// Page, slide, sheet, chapter or mailbox message the passage is in, for documents that have them.
    pub location: Option<Location>,
    /// Byte ranges inside `text` that match the query's words or phrases.
    pub highlights: Vec<(usize, usize)>,
    /// Byte range inside `text` of the sentences closest in meaning to the query (its best window), when
    /// the passage has windows and the search had a query vector.
    pub answer: Option<(usize, usize)>,
}

/// One file in the results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub path: PathBuf,
    /// The root folder the file was found under.
    pub folder: PathBuf,
    /// Fused relevance (higher is better); comparable within one response only.
    pub score: f64,
    /// How well it matches the query (see `confidence.rs`).
    pub strength: Strength,
    pub passage: Passage,
}

/// Results of one query.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub query: String,
    pub took_ms: f64,
    /// Where the time went.
    pub stages: Stages,
    /// True while files are still being indexed, so results may be incomplete.
    pub catching_up: bool,
    /// Whether every passage can be found by meaning (or some only by their words, for now).
    pub meaning: MeaningSearch,
    /// Whether anything clearly matches: `none` says nothing in the index is related to the query.
    pub confidence: Confidence,
    pub results: Vec<SearchHit>,
}

/// Milliseconds a search spent in each stage (`sift search --json` shows them; `docs/BENCHMARKS.md` uses
/// them to say where a query's time goes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stages {
    /// Embedding the query.
    pub embed_ms: f64,
    /// Nearest units in the graph (or the exact scan of a small filtered set) and their passages.
    pub vector_ms: f64,
    /// FTS5's BM25 ranking, on its own thread while the query is embedded and the graph searched.
    pub keyword_ms: f64,
    /// Fusion, grouping by file, and the shown passages: their text, keyword marks, best windows.
    pub passages_ms: f64,
}

/// How much of the index meaning search covers. Never silently partial: the CLI and the app show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum MeaningSearch {
    /// Every passage has a vector of the active model.
    Ready,
    /// Some passages have no vector of the active model yet (a model switch, a pass in progress): they are
    /// found by their words only until indexing catches up.
    Rebuilding { with_vectors: u64, passages: u64 },
}

/// Retrieval modes, for evaluation and for users who want only one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Vector and keyword search fused (default).
    #[default]
    Hybrid,
    /// Vector search only.
    Vector,
    /// BM25 keyword search only.
    Keyword,
}

impl std::str::FromStr for Mode {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "hybrid" => Ok(Mode::Hybrid),
            "vector" => Ok(Mode::Vector),
            "keyword" | "bm25" => Ok(Mode::Keyword),
            o => Err(crate::Error::Invalid(format!(
                "unknown search mode `{o}` (hybrid, vector, keyword)"
            ))),
        }
    }
}

/// Search tuning.
#[derive(Debug, Clone, Copy)]
pub struct SearchParams {
    /// Chunks taken from each retriever before fusion.
    pub depth: usize,
    /// RRF constant.
    pub rrf_k: f64,
    /// Weight of the vector list in the fusion (keyword list has weight 1).
    pub vector_weight: f64,
    /// Vector hits fewer than this many spreads above what the model gives unrelated text (a z-score, see
    /// `confidence.rs`) are dropped: they would only pad the list with noise. In z units, so one value fits
    /// every model's similarity range (MiniLM: z 1.5 ≈ cosine 0.09; BGE's baseline is near 0.45).
    pub min_z: f32,
    /// Vector hits more than this many spreads below the best hit are dropped (another topic altogether).
    pub max_z_gap: f32,
    /// Whether sentence windows count: a passage is as close as its closest unit (off: its own vector only).
    pub windows: bool,
    /// A window's similarity counts this many spreads (z units, `confidence.rs`) less than a passage's own:
    /// the best of a passage's several short windows stands out further by chance, and whole passages are
    /// what document-level questions match (docs/BENCHMARKS.md, "Sentence windows").
    pub window_discount: f32,
    /// How the two rankings are combined.
    pub fusion: Fusion,
    /// Weight of the vector score in convex fusion (the keyword score has `1 − alpha`).
    pub alpha: f64,
    /// The z-score at which a vector hit counts fully in convex fusion.
    pub z_full: f32,
    pub mode: Mode,
}

impl Default for SearchParams {
    fn default() -> Self {
        // Tuned on the SciFact dev split (docs/BENCHMARKS.md).
        SearchParams {
            // 150 = 3 × the app's 50 results: every window (quick search shows 8) asks the graph for the same
            // depth, so a short list never misses what the full one finds (near-duplicate windows crowd a
            // shallower graph search: an installed-app run lost the contract among 300 meeting notes).
            depth: 150,
            rrf_k: 20.0,
            vector_weight: 0.8,
            min_z: 1.5,
            max_z_gap: 3.3,
            windows: true,
            window_discount: 1.0,
            fusion: Fusion::Convex,
            alpha: 0.5,
            z_full: 6.0,
            mode: Mode::Hybrid,
        }
    }
}

/// Puts strong results first, each group in its order: the "less related" divider (CLI and app) stands before
/// the first result that is not strong, so no strong one may follow it. Measured: SciFact dev 0.7313 →
/// 0.7321, Python FAQ 0.6554 → 0.6593 nDCG@10 (docs/BENCHMARKS.md).
pub fn strong_first<T>(results: &mut [T], strength: impl Fn(&T) -> Strength) {
    results.sort_by_key(|r| strength(r) != Strength::Strong);
}

/// Groups fused chunk scores by file: a file's score is its best chunk's, its passage that chunk.
/// Returns (file id, best chunk id, score) in rank order.
/// (Adding a share of a file's other passages' scores was measured and hurt: longer files win unfairly.)
pub fn group_by_file<K: Copy + Eq + std::hash::Hash>(
    fused: &[(i64, f64)],
    file_of: &HashMap<i64, K>,
    limit: usize,
) -> Vec<(K, i64, f64)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for &(chunk, score) in fused {
        let Some(&file) = file_of.get(&chunk) else {
            continue;
        };
        if seen.insert(file) {
            out.push((file, chunk, score));
            if out.len() == limit {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_phrases_and_terms() {
        let q = parse_query(r#"the "early termination" clause"#);
        assert_eq!(
            q.phrases,
            vec![vec!["early".to_string(), "termination".to_string()]]
        );
        assert_eq!(q.terms, vec!["early", "termination", "clause"]);
        assert_eq!(q.semantic, "the early termination clause");
        assert_eq!(
            fts_expression(&q).unwrap(),
            r#""early termination" AND ("early" OR "termination" OR "clause")"#
        );
    }

    #[test]
    fn hostile_input_never_produces_raw_syntax() {
        for input in [
            "",
            "\"",
            "\"\"",
            "*",
            "NEAR(a b)",
            "-x",
            "a:b",
            "^start",
            "(",
            "foo AND",
            "ünïcödé 日本語",
            "'; DROP TABLE",
        ] {
            let q = parse_query(input);
            if let Some(expr) = fts_expression(&q) {
                // Every token is a quoted string joined by OR/AND.
                assert!(
                    !expr.contains('*') && !expr.contains('(') || expr.contains("AND ("),
                    "{expr}"
                );
            }
        }
        assert_eq!(fts_expression(&parse_query("")), None);
        assert_eq!(fts_expression(&parse_query("  \" ")), None);
        // Only stop words: they are kept so the query still means something.
        assert_eq!(parse_query("the of").terms, vec!["the", "of"]);
    }

    #[test]
    fn convex_fusion_weighs_keyword_matches_by_how_much_of_the_query_they_hold() {
        // Passage 1: best by meaning, no keyword. Passage 2: weaker by meaning, the only keyword hit but
        // holding one word of a query whose words' IDFs sum to 10 (its BM25 is 2).
        let vector = vector_scores(&[(1, 0.42f32), (2, 0.30)], None, 10.0);
        let keyword = [(2, -2.0)];
        let fused = convex(&vector, &keyword, 10.0, 0.7);
        assert_eq!(fused[0].0, 1, "{fused:?}");
        assert!((fused[0].1 - 0.7).abs() < 1e-9);
        assert!((fused[1].1 - (0.7 * 0.30 / 0.42 + 0.3 * 0.2)).abs() < 1e-6);
        // Holding every word (BM25 near the ideal) outweighs a small lead by meaning.
        let fused = convex(&vector, &[(2, -10.0)], 10.0, 0.7);
        assert_eq!(fused[0].0, 2, "{fused:?}");
        // One list only: its order, scaled.
        assert_eq!(convex(&vector, &[], 0.0, 0.7).len(), 2);
        let kw = convex(&[], &[(5, -3.0), (6, -1.0)], 6.0, 0.0);
        assert_eq!(kw, vec![(5, 0.5), (6, 1.0 / 6.0)]);
    }

    #[test]
    fn vector_scores_are_absolute_when_the_model_scale_is_known() {
        // z = sim / 0.05. Only noise found (best z 3): it stays low, z over z_full.
        let z = |sim: f32| sim / 0.05;
        let percent = |v: Vec<(i64, f64)>| -> Vec<(i64, i64)> {
            v.iter()
                .map(|&(id, v)| (id, (v * 100.0).round() as i64))
                .collect()
        };
        let noise = vector_scores(&[(1, 0.15), (2, 0.10), (4, -0.2)], Some(&z), 10.0);
        assert_eq!(percent(noise), vec![(1, 30), (2, 20), (4, 0)]);
        // A clear match (z 18): scores relative to it.
        let clear = vector_scores(&[(3, 0.9), (1, 0.45)], Some(&z), 10.0);
        assert_eq!(percent(clear), vec![(3, 100), (1, 50)]);
        // Without a scale: relative to the best, negatives count as nothing.
        let rel = vector_scores(&[(1, 0.5), (2, -0.2)], None, 10.0);
        assert_eq!(rel, vec![(1, 1.0), (2, 0.0)]);
    }

    #[test]
    fn rrf_rewards_agreement() {
        let a = [1, 2, 3];
        let b = [3, 4];
        let fused = rrf(&[(&a, 1.0), (&b, 1.0)], 60.0);
        assert_eq!(fused[0].0, 3);
        assert_eq!(fused.len(), 4);
    }

    #[test]
    fn cjk_runs_are_words_of_their_own() {
        let text = "iPhone手机, 東京都に住んでいます。서울에서 2024年";
        let ws: Vec<&str> = words(text).into_iter().map(|(_, w)| w).collect();
        assert_eq!(
            ws,
            vec![
                "iPhone",
                "手机",
                "東京都に住んでいます",
                "서울에서",
                "2024",
                "年"
            ]
        );
        for (s, w) in words(text) {
            assert_eq!(&text[s..s + w.len()], w);
        }
    }

    #[test]
    fn cjk_queries_rank_by_bigrams_and_phrases_stay_phrases() {
        let q = parse_query("合同 提前终止 iPhone手机 京");
        assert_eq!(
            q.terms,
            vec!["合同", "提前", "前终", "终止", "iphone", "手机", "京"]
        );
        assert!(q.phrases.is_empty());
        assert_eq!(q.semantic, "合同 提前终止 iPhone手机 京");
        assert_eq!(
            fts_expression(&q).unwrap(),
            r#""合同" OR "提前" OR "前终" OR "终止" OR "iphone" OR "手机" OR "京""#
        );
        // Quoted: a phrase of the whole word (FTS5 cuts it into bigrams in a row); its bigrams rank.
        let q = parse_query(r#""提前终止" 条款"#);
        assert_eq!(q.phrases, vec![vec!["提前终止".to_string()]]);
        assert_eq!(q.terms, vec!["提前", "前终", "终止", "条款"]);
        assert_eq!(
            fts_expression(&q).unwrap(),
            r#""提前终止" AND ("提前" OR "前终" OR "终止" OR "条款")"#
        );
        // A bigram repeated in the query is one term; CJK never counts as stop words.
        assert_eq!(parse_query("合同合同 the").terms, vec!["合同", "同合"]);
    }

    #[test]
    fn keywords_mark_the_matched_tokens_and_need_every_phrase() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        fts_tokenizer::register(&conn).unwrap();
        let tokenizer = Tokenizer::new(&conn).unwrap();
        let find = |text: &str, query: &str| -> (Vec<String>, bool) {
            let found = Keywords::new(&parse_query(query), &tokenizer)
                .unwrap()
                .find(text, &tokenizer)
                .unwrap();
            let marked = found.ranges.iter().map(|&(s, e)| text[s..e].to_string());
            (marked.collect(), found.all)
        };
        let text = "本合同的提前终止条款。東京都に住んでいます";
        assert_eq!(find(text, "合同"), (vec!["合同".into()], true));
        assert_eq!(find(text, "提前终止"), (vec!["提前终止".into()], true));
        // One character: that character, not the bigram the index holds it beside.
        assert_eq!(find(text, "京"), (vec!["京".into()], true));
        assert_eq!(find(text, "東京 大阪"), (vec!["東京".into()], false));
        assert_eq!(find(text, "大阪"), (vec![], false));
        // Stems as the index cuts them; a look-alike is not a match.
        let text = "Contrary to rumour, the contracts were signed.";
        assert_eq!(
            find(text, "contract sign"),
            (vec!["contracts".into(), "signed".into()], true)
        );
        // An exact phrase must stand in a row, and without it nothing is marked.
        assert_eq!(
            find(text, r#""contracts were" rumour"#),
            (vec!["rumour".into(), "contracts were".into()], true)
        );
        assert_eq!(find(text, r#""were contracts" rumour"#), (vec![], false));
        // Diacritics are folded on both sides, byte offsets stay the text's.
        assert_eq!(
            find("a naïve notice", "naive"),
            (vec!["naïve".into()], true)
        );
    }

    #[test]
    fn negations_are_not_stop_words() {
        let q = parse_query("contracts with no termination clause that do not renew");
        assert!(q.terms.contains(&"no".to_string()), "{:?}", q.terms);
        assert!(q.terms.contains(&"not".to_string()), "{:?}", q.terms);
        assert!(!q.terms.contains(&"with".to_string()), "{:?}", q.terms);
    }

    #[test]
    fn strong_results_come_first_in_their_order() {
        use Strength::*;
        let mut r = vec![
            (1, Strong),
            (2, Weak),
            (3, Unrelated),
            (4, Strong),
            (5, Weak),
            (6, Strong),
        ];
        strong_first(&mut r, |x| x.1);
        assert_eq!(
            r,
            vec![
                (1, Strong),
                (4, Strong),
                (6, Strong),
                (2, Weak),
                (3, Unrelated),
                (5, Weak)
            ]
        );
    }

    #[test]
    fn grouping_keeps_best_chunk_per_file() {
        let fused = vec![(10, 0.9), (11, 0.8), (20, 0.7), (30, 0.6)];
        let file_of: HashMap<i64, i64> = [(10, 1), (11, 1), (20, 2), (30, 3)].into_iter().collect();
        assert_eq!(
            group_by_file(&fused, &file_of, 2),
            vec![(1, 10, 0.9), (2, 20, 0.7)]
        );
    }
}
