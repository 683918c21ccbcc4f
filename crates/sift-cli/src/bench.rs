//! `sift bench embed`: embedding throughput at several batch sizes and single-query latency, each next to
//! the raw ONNX Runtime session on the same inputs (the limit), as a ratio measured in the same run.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use sift_core::embed::{EmbedOptions, Embedder};
use sift_core::model::{self, Precision};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Embedding throughput and latency.
    Embed {
        /// Folder of text files to embed (default: generated paragraphs).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Number of texts.
        #[arg(long, default_value_t = 256)]
        texts: usize,
        /// Single-query latency samples.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Repetitions (best is reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
}

fn corpus(dir: Option<&PathBuf>, n: usize) -> Result<Vec<String>> {
    if let Some(dir) = dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        return files
            .iter()
            .take(n)
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .collect();
    }
    // Deterministic generated paragraphs of varied length (20–250 words).
    let words = [
        "search",
        "index",
        "vector",
        "meaning",
        "passage",
        "folder",
        "document",
        "query",
        "model",
        "local",
        "privacy",
        "contract",
        "termination",
        "clause",
        "graph",
        "neighbour",
        "latency",
        "throughput",
        "token",
        "window",
    ];
    let mut seed = 12345u64;
    Ok((0..n)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = 20 + (seed >> 33) as usize % 230;
            (0..len)
                .map(|i| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let w = words[(seed >> 35) as usize % words.len()];
                    if i % 12 == 11 {
                        format!("{w}.")
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(cli: &crate::Cli, args: &BenchArgs) -> Result<()> {
    let BenchWhat::Embed {
        corpus: dir,
        texts,
        queries,
        repeat,
    } = &args.what;
    let texts = corpus(dir.as_ref(), *texts)?;
    let spec = model::spec(&model::default_model_id())?;
    let precision: Precision = match &cli.precision {
        Some(p) => p.parse()?,
        None => spec.default_precision,
    };
    let files = model::locate(&spec, precision, cli.model_dir.as_deref())?;
    let threads = cli
        .threads
        .unwrap_or_else(sift_core::runtime::default_threads);
    let mut embedder = Embedder::load(
        &spec,
        &files,
        &EmbedOptions {
            threads,
            batch_size: 32,
            accelerate: true,
        },
    )?;
    let tokens: usize = embedder
        .embed_documents(&texts)?
        .iter()
        .map(|e| e.tokens)
        .sum();
    println!(
        "model {} ({precision}), provider {}, {threads} thread(s); {} texts, {:.0} tokens/text",
        spec.id,
        embedder.provider(),
        texts.len(),
        tokens as f64 / texts.len().max(1) as f64
    );
    println!(
        "{:>6} {:>12} {:>12} {:>8}",
        "batch", "texts/s", "raw ORT/s", "ratio"
    );
    let mut rows = Vec::new();
    for batch in [1usize, 8, 32] {
        embedder.set_batch_size(batch);
        let prepared = embedder.prepare_documents(&texts)?;
        let (mut best_pipe, mut best_raw) = (f64::MAX, f64::MAX);
        for _ in 0..*repeat {
            let t = Instant::now();
            for b in &prepared {
                embedder.forward(b)?;
            }
            best_raw = best_raw.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            embedder.embed_documents(&texts)?;
            best_pipe = best_pipe.min(t.elapsed().as_secs_f64());
        }
        let (pipe, raw) = (
            texts.len() as f64 / best_pipe,
            texts.len() as f64 / best_raw,
        );
        println!("{batch:>6} {pipe:>12.1} {raw:>12.1} {:>8.3}", pipe / raw);
        rows.push((batch, pipe, raw));
    }
    // Single-query latency, like a search: one short text at a time.
    let mut lat = Vec::with_capacity(*queries);
    let mut raw_lat = Vec::with_capacity(*queries);
    for i in 0..*queries {
        let q: String = texts[i % texts.len()]
            .split_whitespace()
            .take(12)
            .collect::<Vec<_>>()
            .join(" ");
        let prepared = embedder.prepare_documents(&[q.as_str()])?;
        let t = Instant::now();
        embedder.forward(&prepared[0])?;
        raw_lat.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        embedder.embed_query(&q)?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    raw_lat.sort_by(f64::total_cmp);
    println!(
        "query latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}   (raw ORT p50 {:.2}, p95 {:.2}; ratio p50 {:.2})",
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        percentile(&raw_lat, 0.5),
        percentile(&raw_lat, 0.95),
        percentile(&raw_lat, 0.5) / percentile(&lat, 0.5).max(1e-9)
    );
    // Batch of 10 texts, the seed's reference workload.
    embedder.set_batch_size(32);
    let ten: Vec<&String> = texts.iter().take(10).collect();
    let mut best10 = f64::MAX;
    for _ in 0..*repeat {
        let t = Instant::now();
        embedder.embed_documents(&ten)?;
        best10 = best10.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("batch of 10 texts: {best10:.1} ms");
    if let Some(mb) = peak_rss_mb() {
        println!("peak memory (RSS): {mb:.0} MB");
    }
    Ok(())
}
