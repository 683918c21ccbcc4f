//! "How good are the results?": nDCG@k and Recall@k with trec_eval's definitions (gain = relevance,
//! log2(rank + 1) discount, ideal DCG over judged documents; queries without a relevant document are
//! skipped; queries absent from the run count as zero), and a BEIR-style dataset loader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Relevance judgments: query id → document id → grade.
pub type Qrels = HashMap<String, HashMap<String, u32>>;

/// A ranked run: query id → document ids, best first.
pub type Run = HashMap<String, Vec<String>>;

/// Reads a BEIR `qrels.tsv` (header `query-id  corpus-id  score`).
pub fn read_qrels(path: &Path) -> Result<Qrels> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut qrels: Qrels = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let Ok(grade) = cols[2].trim().parse::<i64>() else {
            if n == 0 {
                continue; // header
            }
            return Err(Error::Invalid(format!(
                "{}:{}: bad score `{}`",
                path.display(),
                n + 1,
                cols[2]
            )));
        };
        qrels
            .entry(cols[0].to_string())
            .or_default()
            .insert(cols[1].to_string(), grade.max(0) as u32);
    }
    Ok(qrels)
}

/// A BEIR-style query.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: String,
    pub text: String,
}

/// Reads `queries.jsonl` (`{"_id": ..., "text": ...}` per line).
pub fn read_queries(path: &Path) -> Result<Vec<Query>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
            let id = match &v["_id"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Ok(Query {
                id,
                text: v["text"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// A BEIR folder: `docs/` (one file per document, stem = id), `queries.jsonl`, `qrels.tsv`.
pub struct Dataset {
    pub docs: PathBuf,
    pub queries: Vec<Query>,
    pub qrels: Qrels,
}

impl Dataset {
    pub fn open(dir: &Path) -> Result<Dataset> {
        let docs = dir.join("docs");
        if !docs.is_dir() {
            return Err(Error::Invalid(format!(
                "{} has no docs/ folder",
                dir.display()
            )));
        }
        Ok(Dataset {
            docs,
            queries: read_queries(&dir.join("queries.jsonl"))?,
            qrels: read_qrels(&dir.join("qrels.tsv"))?,
        })
    }
}

/// The document id of a result path: its file stem.
pub fn doc_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// nDCG@k of one ranked list.
pub fn ndcg_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| judged.get(d).copied().unwrap_or(0) as f64 / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| g as f64 / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Recall@k of one ranked list (fraction of relevant documents retrieved in the top k).
pub fn recall_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let relevant = judged.values().filter(|&&g| g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| judged.get(*d).is_some_and(|&g| g > 0))
        .count();
    found as f64 / relevant as f64
}

/// Reciprocal rank of the first relevant document in the top k (0 when none is there).
pub fn reciprocal_rank_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|d| judged.get(d).is_some_and(|&g| g > 0))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// How queries missing from the run are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Count them as zero (trec_eval `-c`).
    Zero,
    /// Leave them out (BEIR / pytrec_eval).
    Skip,
}

/// Mean scores over the judged queries that have a relevant document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// nDCG@k.
    pub ndcg: f64,
    /// Recall@r.
    pub recall: f64,
    /// MRR@k: the reciprocal rank of the first relevant document in the top k.
    pub mrr: f64,
    /// Queries counted.
    pub queries: usize,
}

/// nDCG@k, Recall@r and MRR@k over the judged queries that have a relevant document.
pub fn evaluate(run: &Run, qrels: &Qrels, k: usize, r: usize, missing: Missing) -> Scores {
    let (mut ndcg, mut recall, mut mrr, mut n) = (0.0, 0.0, 0.0, 0usize);
    let mut ids: Vec<&String> = qrels.keys().collect();
    ids.sort();
    for qid in ids {
        let judged = &qrels[qid];
        if !judged.values().any(|&g| g > 0) {
            continue;
        }
        match run.get(qid) {
            Some(ranked) => {
                ndcg += ndcg_at(ranked, judged, k);
                recall += recall_at(ranked, judged, r);
                mrr += reciprocal_rank_at(ranked, judged, k);
                n += 1;
            }
            None if missing == Missing::Zero => n += 1,
            None => {}
        }
    }
    let mean = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
    Scores {
        ndcg: mean(ndcg),
        recall: mean(recall),
        mrr: mean(mrr),
        queries: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/ndcg-check")
    }

    fn run_from_jsonl(path: &Path) -> Run {
        let mut scored: HashMap<String, Vec<(String, f64)>> = HashMap::new();
        for line in std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            scored
                .entry(v["qid"].as_str().unwrap().into())
                .or_default()
                .push((
                    v["docid"].as_str().unwrap().into(),
                    v["score"].as_f64().unwrap(),
                ));
        }
        scored
            .into_iter()
            .map(|(q, mut docs)| {
                docs.sort_by(|a, b| b.1.total_cmp(&a.1));
                (q, docs.into_iter().map(|d| d.0).collect())
            })
            .collect()
    }

    #[test]
    fn matches_hand_computed_values() {
        let dir = check_dir();
        if !dir.exists() {
            panic!("the shared ndcg-check data is missing at {}", dir.display());
        }
        let run = run_from_jsonl(&dir.join("run.jsonl"));
        let qrels = read_qrels(&dir.join("qrels.tsv")).unwrap();
        let all = evaluate(&run, &qrels, 10, 100, Missing::Zero);
        assert_eq!(all.queries, 2);
        assert!((all.ndcg - 0.59907).abs() < 1e-5, "{all:?}");
        assert!((all.recall - 1.0).abs() < 1e-9);
        // q1 ranks d3 (not relevant) above d2, q2 ranks d6 above d5: both first relevant at rank 2.
        assert!((all.mrr - 0.5).abs() < 1e-9, "{all:?}");
        assert!((reciprocal_rank_at(&run["q1"], &qrels["q1"], 1)).abs() < 1e-9);
        let top2 = evaluate(&run, &qrels, 10, 2, Missing::Zero);
        assert!((top2.recall - 0.75).abs() < 1e-9);
        assert!((ndcg_at(&run["q1"], &qrels["q1"], 10) - 0.56721).abs() < 1e-5);

        let missing = read_qrels(&dir.join("qrels_missing.tsv")).unwrap();
        let zero = evaluate(&run, &missing, 10, 100, Missing::Zero);
        assert!(
            (zero.ndcg - 0.39938).abs() < 1e-5 && (zero.recall - 0.66667).abs() < 1e-5,
            "{zero:?}"
        );
        assert!((zero.mrr - 1.0 / 3.0).abs() < 1e-9, "{zero:?}");
        let skip = evaluate(&run, &missing, 10, 100, Missing::Skip);
        assert!((skip.ndcg - 0.59907).abs() < 1e-5 && (skip.recall - 1.0).abs() < 1e-9);
        assert!((skip.mrr - 0.5).abs() < 1e-9);
    }
}
