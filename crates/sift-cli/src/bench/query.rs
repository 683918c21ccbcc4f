//! `sift bench query`: the vector index at several sizes (10 k / 100 k / 1 M chunks), each measured in its own
//! processes so that memory is the index's own:
//!
//! 1. a *build* process generates the collection, builds the graph with the engine's parameters, saves it
//!    (kept in the work folder and reused by later runs), and computes the exact top 10 of every query by
//!    brute force over the f32 vectors (the baseline, timed);
//! 2. a *query* process loads the saved graph (cold start), then answers the queries at several `ef`
//!    (the recall/latency curve), then again after 1 % of the chunks are deleted (the filtered path).
//!
//! Collections are generated from real vectors (a Sift database's): up to its size the real vectors
//! themselves, beyond it perturbations of them (a real vector plus Gaussian noise, renormalised: cosine
//! 0.7–0.93 to its source), so the neighbourhood structure is that of real embeddings, not uniform noise.
//! Queries are real vectors held out of the collection.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sift_core::model;
use sift_core::{HnswParams, VectorIndex};

use super::{peak_rss_mb, percentile};

/// What the parent asks of a child process.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Stage {
    Build,
    Query,
}

const NAME: &str = "bench";
/// Every hundredth chunk is deleted for the filtered measurement.
const DELETE_EVERY: i64 = 100;

/// The vectors of the model the database holds most of, ascending by chunk id.
fn real_vectors(db: &Path) -> Result<Vec<Vec<f32>>> {
    let store = sift_core::Store::open(db)?;
    let mut best: Option<(u64, String)> = None;
    for m in model::models() {
        for p in [model::Precision::Int8, model::Precision::Fp32] {
            let key = format!("{}/{p}", m.id);
            let n = store.count_vectors(&key)?;
            if n > best.as_ref().map_or(0, |b| b.0) {
                best = Some((n, key));
            }
        }
    }
    let (_, key) = best.with_context(|| format!("{} holds no vectors", db.display()))?;
    let mut all = Vec::new();
    store.for_each_vector(&key, 0, |_, v| all.push(v))?;
    Ok(all)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn gaussian(&mut self) -> f32 {
        let (u, v) = (self.unit(), self.unit());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    }
}

/// Vectors with their chunk ids.
type Items = Vec<(i64, Vec<f32>)>;

/// The held-out queries and the collection of `n` vectors (ids 1..=n), the same in every process.
fn collection(real: &[Vec<f32>], n: usize, queries: usize) -> (Vec<Vec<f32>>, Items) {
    let queries = queries.min(real.len() / 2);
    let (held, rest) = real.split_at(queries);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let items = (0..n)
        .map(|i| {
            let v = if i < rest.len() {
                rest[i].clone()
            } else {
                let base = &rest[(rng.next() % rest.len() as u64) as usize];
                let sigma = 0.02 + 0.03 * rng.unit() as f32;
                let mut v: Vec<f32> = base.iter().map(|x| x + sigma * rng.gaussian()).collect();
                sift_core::embed::normalize(&mut v);
                v
            };
            (i as i64 + 1, v)
        })
        .collect();
    (held.to_vec(), items)
}

/// The exact 10 nearest of `query` among `items` that `keep` allows, by f32 cosine.
fn exact_top10(items: &[(i64, Vec<f32>)], query: &[f32], keep: impl Fn(i64) -> bool) -> Vec<i64> {
    let mut top: Vec<(f32, i64)> = Vec::with_capacity(11);
    for (id, v) in items {
        if !keep(*id) {
            continue;
        }
        let s = sift_core::embed::dot(query, v);
        if top.len() < 10 || s > top[top.len() - 1].0 {
            let at = top.partition_point(|(t, _)| *t >= s);
            top.insert(at, (s, *id));
            top.truncate(10);
        }
    }
    top.into_iter().map(|(_, id)| id).collect()
}

#[derive(Serialize, Deserialize)]
struct Truth {
    plain: Vec<Vec<i64>>,
    after_delete: Vec<Vec<i64>>,
}

#[derive(Serialize, Deserialize)]
struct Built {
    build_s: f64,
    save_s: f64,
    bytes: u64,
    peak_rss_mb: f64,
    exact_p50_ms: f64,
    exact_p95_ms: f64,
}

#[derive(Serialize, Deserialize)]
struct Curve {
    ef: usize,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    recall: f64,
}

#[derive(Serialize, Deserialize)]
struct Queried {
    cold_start_ms: f64,
    /// Points no walk of the saved graph reaches (each search compares the query with them).
    #[serde(default)]
    unreachable: usize,
    rss_before_mb: f64,
    rss_after_load_mb: f64,
    peak_rss_mb: f64,
    curve: Vec<Curve>,
    /// At the engine's default `ef` for this size.
    default: Curve,
    deleted: Curve,
}

/// The engine's graph parameters, building with `ef_construction` candidates when given.
pub fn build_params(ef_construction: Option<usize>) -> HnswParams {
    let default = HnswParams::default();
    HnswParams {
        ef_construction: ef_construction.unwrap_or(default.ef_construction).max(1),
        ..default
    }
}

/// Where the graph of `n` vectors built with `params` is kept (the default parameters' in `n{n}`).
fn size_dir(work: &Path, n: usize, params: HnswParams) -> PathBuf {
    if params.ef_construction == HnswParams::default().ef_construction {
        work.join(format!("n{n}"))
    } else {
        work.join(format!("n{n}-efc{}", params.ef_construction))
    }
}

fn recall(got: &[(i64, f32)], truth: &[i64]) -> usize {
    got.iter().filter(|(id, _)| truth.contains(id)).count()
}

/// One child process's work; prints its result as one JSON line.
pub fn child(
    stage: Stage,
    db: &Path,
    work: &Path,
    n: usize,
    queries: usize,
    ef: &[usize],
    params: HnswParams,
) -> Result<()> {
    let dir = size_dir(work, n, params);
    let line = match stage {
        Stage::Build => {
            let real = real_vectors(db)?;
            let (qs, items) = collection(&real, n, queries);
            drop(real);
            let dim = items[0].1.len();
            let t = Instant::now();
            let mut graph = VectorIndex::new(NAME, dim, NAME, n, params);
            for batch in items.chunks(4096) {
                graph.insert(batch);
            }
            let build_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            graph.save(&dir.join("graph"))?;
            let save_s = t.elapsed().as_secs_f64();
            let bytes = sift_core::paths::bytes_under(&dir.join("graph"));
            std::fs::write(dir.join("queries.json"), serde_json::to_vec(&qs)?)?;
            drop(graph);
            let mut exact_ms = Vec::new();
            let mut truth = Truth {
                plain: Vec::new(),
                after_delete: Vec::new(),
            };
            for q in &qs {
                let t = Instant::now();
                truth.plain.push(exact_top10(&items, q, |_| true));
                exact_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                truth
                    .after_delete
                    .push(exact_top10(&items, q, |id| id % DELETE_EVERY != 0));
            }
            std::fs::write(dir.join("truth.json"), serde_json::to_vec(&truth)?)?;
            exact_ms.sort_by(f64::total_cmp);
            serde_json::to_string(&Built {
                build_s,
                save_s,
                bytes,
                peak_rss_mb: peak_rss_mb().unwrap_or(0.0),
                exact_p50_ms: percentile(&exact_ms, 0.5),
                exact_p95_ms: percentile(&exact_ms, 0.95),
            })?
        }
        Stage::Query => {
            let truth: Truth = serde_json::from_slice(&std::fs::read(dir.join("truth.json"))?)?;
            // Read from the build's file, not the database: memory freed after loading all the real
            // vectors would be reused by the graph and hide its size.
            let qs: Vec<Vec<f32>> =
                serde_json::from_slice(&std::fs::read(dir.join("queries.json"))?)?;
            let _ = (db, queries);
            let dim = qs[0].len();
            let rss_before_mb = super::current_rss_mb().unwrap_or(0.0);
            let t = Instant::now();
            let mut graph = VectorIndex::load(&dir.join("graph"), NAME, dim, NAME, params)
                .context("the saved graph could not be loaded")?;
            let cold_start_ms = t.elapsed().as_secs_f64() * 1000.0;
            let rss_after_load_mb = super::current_rss_mb().unwrap_or(0.0);
            let unreachable = graph.unreachable_points();
            let measure = |graph: &VectorIndex, truth: &[Vec<i64>], ef: usize| {
                let (mut ms, mut hits) = (Vec::new(), 0);
                for (q, want) in qs.iter().zip(truth) {
                    let t = Instant::now();
                    let got = graph.search(q, 10, None);
                    ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    hits += recall(&got, want);
                }
                ms.sort_by(f64::total_cmp);
                Curve {
                    ef,
                    p50_ms: percentile(&ms, 0.5),
                    p95_ms: percentile(&ms, 0.95),
                    p99_ms: percentile(&ms, 0.99),
                    recall: hits as f64 / (10 * qs.len()) as f64,
                }
            };
            // One untimed pass: the first touches of a freshly loaded graph are page faults, not search.
            let _ = measure(&graph, &truth.plain, 0);
            let mut curve = Vec::new();
            for &e in ef {
                graph.set_ef_search(Some(e));
                curve.push(measure(&graph, &truth.plain, e));
            }
            // The graph at its default width, set explicitly: left unset, a graph of up to
            // `EXACT_SEARCH_LIMIT` points is scanned exactly, and this bench measures the walk.
            let default_ef = params.ef_for(n);
            graph.set_ef_search(Some(default_ef));
            let default = measure(&graph, &truth.plain, default_ef);
            let gone: Vec<i64> = (1..=n as i64).filter(|id| id % DELETE_EVERY == 0).collect();
            graph.remove(&gone);
            let deleted = measure(&graph, &truth.after_delete, default_ef);
            serde_json::to_string(&Queried {
                cold_start_ms,
                unreachable,
                rss_before_mb,
                rss_after_load_mb,
                peak_rss_mb: peak_rss_mb().unwrap_or(0.0),
                curve,
                default,
                deleted,
            })?
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    Ok(())
}

/// Runs this program as a child stage and parses the JSON line it prints last.
fn run_child<T: for<'de> Deserialize<'de>>(
    stage: &str,
    db: &Path,
    work: &Path,
    n: usize,
    queries: usize,
    ef: &[usize],
    params: HnswParams,
) -> Result<T> {
    let exe = std::env::current_exe()?;
    let ef: Vec<String> = ef.iter().map(|e| e.to_string()).collect();
    let out = Command::new(exe)
        .args(["bench", "query-child", "--stage", stage, "--db"])
        .arg(db)
        .arg("--work")
        .arg(work)
        .args(["--size", &n.to_string(), "--queries", &queries.to_string()])
        .args(["--ef", &ef.join(",")])
        .args(["--ef-construction", &params.ef_construction.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "the {stage} stage for {n} vectors failed"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .with_context(|| format!("reading the {stage} stage's result: {last}"))
}

/// Drops the OS page cache (root on Linux) so that a load reads from disk; whether it could is reported.
fn drop_page_cache() -> bool {
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// The parent: one build (unless the work folder holds it) and one query process per size.
#[allow(clippy::too_many_arguments)]
pub fn run(
    db: &Path,
    sizes: &[usize],
    queries: usize,
    ef: &[usize],
    params: HnswParams,
    work: &Path,
    rebuild: bool,
    plot: Option<&Path>,
) -> Result<()> {
    std::fs::create_dir_all(work)?;
    let real = real_vectors(db)?.len();
    outln!("machine: {}", super::cpu_model());
    outln!(
        "real vectors: {real} from {} ({queries} held out as queries); HNSW {:?}",
        db.display(),
        params
    );
    let mut series = Vec::new();
    for &n in sizes {
        let dir = size_dir(work, n, params);
        let have = dir.join("truth.json").exists()
            && dir.join("queries.json").exists()
            && dir.join("graph/meta.json").exists();
        if rebuild || !have {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            let b: Built = run_child("build", db, work, n, queries, ef, params)?;
            outln!(
                "{n} vectors: built in {:.1} s ({:.0}/s), saved in {:.2} s ({:.0} MB), build peak RSS {:.0} MB; exact search p50 {:.2} ms, p95 {:.2} ms",
                b.build_s,
                n as f64 / b.build_s,
                b.save_s,
                b.bytes as f64 / 1e6,
                b.peak_rss_mb,
                b.exact_p50_ms,
                b.exact_p95_ms
            );
            std::fs::write(dir.join("built.json"), serde_json::to_vec(&b)?)?;
        } else if let Ok(b) = std::fs::read(dir.join("built.json"))
            .map_err(anyhow::Error::from)
            .and_then(|b| Ok(serde_json::from_slice::<Built>(&b)?))
        {
            outln!(
                "{n} vectors: reusing the graph in {} (built earlier in {:.1} s; exact search p50 {:.2} ms, p95 {:.2} ms then)",
                dir.display(),
                b.build_s,
                b.exact_p50_ms,
                b.exact_p95_ms
            );
        }
        let cold = drop_page_cache();
        let q: Queried = run_child("query", db, work, n, queries, ef, params)?;
        outln!(
            "{n} vectors: loaded in {:.0} ms ({}), RSS {:.0} MB before → {:.0} MB after loading (peak {:.0} MB)",
            q.cold_start_ms,
            if cold { "page cache dropped first" } else { "page cache warm" },
            q.rss_before_mb,
            q.rss_after_load_mb,
            q.peak_rss_mb
        );
        outln!(
            "{n} vectors: {} unreachable by a walk of the saved graph (compared with every query)",
            q.unreachable
        );
        for c in &q.curve {
            outln!(
                "  ef {:>4}: p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  recall@10 {:.4}",
                c.ef,
                c.p50_ms,
                c.p95_ms,
                c.p99_ms,
                c.recall
            );
        }
        let d = &q.default;
        outln!(
            "  default (ef {:>4}): p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  recall@10 {:.4}",
            d.ef,
            d.p50_ms,
            d.p95_ms,
            d.p99_ms,
            d.recall
        );
        let d = &q.deleted;
        outln!(
            "  after deleting 1%, ef {:>4}: p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  recall@10 {:.4}",
            d.ef,
            d.p50_ms,
            d.p95_ms,
            d.p99_ms,
            d.recall
        );
        series.push((
            format!("{n} vectors"),
            q.curve
                .iter()
                .map(|c| (c.p95_ms, c.recall))
                .collect::<Vec<_>>(),
        ));
    }
    if let Some(path) = plot {
        std::fs::write(
            path,
            super::plot::svg(
                "Vector search: recall@10 against p95 latency (one point per ef)",
                "p95 latency (ms)",
                "recall@10",
                &series,
            ),
        )?;
        outln!("plot written to {}", path.display());
    }
    Ok(())
}
