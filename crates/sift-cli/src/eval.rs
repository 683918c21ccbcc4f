//! `sift eval`: index a BEIR-style dataset with the real pipeline and report nDCG@10, Recall@100 and MRR@10
//! for each retrieval mode, and how often each confidence level is said.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use sift_core::eval::{self, Dataset, Missing, Run};
use sift_core::{Confidence, Engine, Fusion, Mode, SearchOptions};

#[derive(Args)]
pub struct EvalArgs {
    /// Dataset folder: docs/ (one file per document), queries.jsonl, qrels.tsv.
    dataset: PathBuf,
    /// Modes to evaluate, comma-separated.
    #[arg(long, default_value = "vector,keyword,hybrid")]
    modes: String,
    /// Where the evaluation index is kept (reused between runs; never the user's index).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The embedding model to evaluate, an id `sift models` lists (default: the engine's). Its files must be
    /// installed (`sift models download ID`) or given with --model-dir; keep one work dir per model.
    #[arg(long)]
    model: Option<String>,
    /// Only the first N queries.
    #[arg(long)]
    max_queries: Option<usize>,
    /// Chunk size in tokens (default: the engine's).
    #[arg(long)]
    chunk_tokens: Option<usize>,
    /// Chunk overlap in tokens (default: the engine's).
    #[arg(long)]
    overlap: Option<usize>,
    /// RRF constant k (default: the engine's).
    #[arg(long)]
    rrf_k: Option<f64>,
    /// Weight of the vector ranking in the fusion (keyword ranking has weight 1).
    #[arg(long)]
    vector_weight: Option<f64>,
    /// Drop vector hits below this z-score against the model's reference sentences.
    #[arg(long)]
    min_z: Option<f32>,
    /// Drop vector hits this many spreads (z units) below the best one.
    #[arg(long)]
    max_z_gap: Option<f32>,
    /// Sentence-window size in tokens for indexing (0: no windows; default: the engine's).
    #[arg(long)]
    window_tokens: Option<usize>,
    /// Search with passage vectors only, ignoring sentence windows.
    #[arg(long)]
    no_windows: bool,
    /// How many spreads (z units) less a window's similarity counts than a passage's own.
    #[arg(long)]
    window_discount: Option<f32>,
    /// How vector and keyword rankings are combined: rrf or convex (default: the engine's).
    #[arg(long)]
    fusion: Option<String>,
    /// Weight of the vector score in convex fusion.
    #[arg(long)]
    alpha: Option<f64>,
    /// The z-score at which a vector hit counts fully in convex fusion.
    #[arg(long)]
    z_full: Option<f32>,
    /// Queries (queries.jsonl format) about nothing in the dataset: reports how often Sift says so.
    #[arg(long)]
    unrelated: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// How often a response's confidence was strong / weak / none.
#[derive(Default)]
struct Tally {
    strong: usize,
    weak: usize,
    none: usize,
}

impl Tally {
    fn add(&mut self, c: Confidence) {
        match c {
            Confidence::Strong => self.strong += 1,
            Confidence::Weak => self.weak += 1,
            Confidence::None => self.none += 1,
        }
    }
    fn total(&self) -> usize {
        self.strong + self.weak + self.none
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({"strong": self.strong, "weak": self.weak, "none": self.none})
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |n: usize| 100.0 * n as f64 / self.total().max(1) as f64;
        write!(
            f,
            "strong {:.0}% / weak {:.0}% / none {:.0}% of {}",
            pct(self.strong),
            pct(self.weak),
            pct(self.none),
            self.total()
        )
    }
}

pub fn run(cli: &crate::Cli, args: &EvalArgs) -> Result<()> {
    let dataset = Dataset::open(&args.dataset)?;
    let work_dir = args.work_dir.clone().unwrap_or_else(|| {
        let name = args
            .dataset
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::env::temp_dir().join(format!("sift-eval-{name}"))
    });
    let mut config = crate::config(
        Some(&work_dir),
        cli.model_dir.as_deref(),
        cli.precision.as_deref(),
        cli.threads,
    )?;
    if let Some(id) = &args.model {
        config.settings.model = id.clone();
    }
    if let Some(n) = args.chunk_tokens {
        config.chunk.max_tokens = n;
    }
    if let Some(n) = args.overlap {
        config.chunk.overlap_tokens = n;
    }
    if let Some(k) = args.rrf_k {
        config.search.rrf_k = k;
    }
    if let Some(g) = args.max_z_gap {
        config.search.max_z_gap = g;
    }
    if let Some(m) = args.min_z {
        config.search.min_z = m;
    }
    if let Some(w) = args.vector_weight {
        config.search.vector_weight = w;
    }
    if let Some(n) = args.window_tokens {
        config.chunk.window_tokens = n;
    }
    if args.no_windows {
        config.search.windows = false;
    }
    if let Some(d) = args.window_discount {
        config.search.window_discount = d;
    }
    if let Some(f) = &args.fusion {
        config.search.fusion = match f.as_str() {
            "rrf" => Fusion::Rrf,
            "convex" => Fusion::Convex,
            other => anyhow::bail!("unknown fusion {other:?}; use rrf or convex"),
        };
    }
    if let Some(a) = args.alpha {
        config.search.alpha = a;
    }
    if let Some(z) = args.z_full {
        config.search.z_full = z;
    }
    let engine = Engine::open(config)
        .with_context(|| format!("opening the evaluation index in {}", work_dir.display()))?;
    engine.add_folder(&dataset.docs)?;
    let report = crate::index_with_progress(&engine)?;
    let mut queries: Vec<_> = dataset
        .queries
        .iter()
        .filter(|q| dataset.qrels.contains_key(&q.id))
        .collect();
    if let Some(n) = args.max_queries {
        queries.truncate(n);
    }
    let unrelated = match &args.unrelated {
        Some(path) => eval::read_queries(path)?,
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for mode in args
        .modes
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        let mode: Mode = mode.parse()?;
        let options = SearchOptions {
            limit: 100,
            mode,
            ..SearchOptions::default()
        };
        let mut run: Run = Run::new();
        let mut times = Vec::with_capacity(queries.len());
        // Confidence when the top result is relevant, when it is not, and for unrelated queries.
        let (mut hit, mut miss, mut off) = (Tally::default(), Tally::default(), Tally::default());
        for q in &queries {
            let started = Instant::now();
            let response = engine.search(&q.text, &options)?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            let top_relevant = response.results.first().is_some_and(|h| {
                dataset
                    .qrels
                    .get(&q.id)
                    .and_then(|j| j.get(&eval::doc_id(&h.path)))
                    .is_some_and(|&g| g > 0)
            });
            if top_relevant {
                hit.add(response.confidence);
            } else {
                miss.add(response.confidence);
            }
            run.insert(
                q.id.clone(),
                response
                    .results
                    .iter()
                    .map(|h| eval::doc_id(&h.path))
                    .collect(),
            );
        }
        let qrels = dataset
            .qrels
            .iter()
            .filter(|(k, _)| run.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let scores = eval::evaluate(&run, &qrels, 10, 100, Missing::Zero);
        let (ndcg, recall, mrr, n) = (scores.ndcg, scores.recall, scores.mrr, scores.queries);
        for q in &unrelated {
            off.add(engine.search(&q.text, &options)?.confidence);
        }
        times.sort_by(f64::total_cmp);
        let p50 = times.get(times.len() / 2).copied().unwrap_or(0.0);
        let p95 = times.get(times.len() * 95 / 100).copied().unwrap_or(0.0);
        rows.push(serde_json::json!({
            "mode": mode, "queries": n, "ndcg@10": ndcg, "recall@100": recall, "mrr@10": mrr, "query_ms_p50": p50, "query_ms_p95": p95,
            "confidence": {"top_relevant": hit.json(), "top_not_relevant": miss.json(), "unrelated_queries": off.json()}
        }));
        if !args.json {
            outln!("{:<8} nDCG@10 {ndcg:.4}  Recall@100 {recall:.4}  MRR@10 {mrr:.4}  ({n} queries, p50 {p50:.1} ms, p95 {p95:.1} ms)", format!("{mode:?}").to_lowercase());
            outln!("         confidence — top result relevant: {hit}; not relevant: {miss}");
            if off.total() > 0 {
                outln!("         confidence — unrelated queries: {off}");
            }
        }
    }
    if args.json {
        let status = engine.status()?;
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dataset": args.dataset, "model": status.model, "precision": status.precision,
                "passages": status.counts.passages, "chunks": status.counts.chunks, "index_seconds": report.seconds, "results": rows
            }))?
        );
    }
    Ok(())
}
