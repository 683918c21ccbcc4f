//! `sift bench embed`: embedding throughput at several batch sizes and single-query latency, each next to
//! the raw ONNX Runtime session on the same inputs (the limit), as a ratio measured in the same run; with
//! `--plot`, a chart of both against batch size, a line per thread count (`--threads-list`).
//! `sift bench query`: vector search at 10 k–1 M chunks against exact search (see `query`). `sift bench large-file`: memory and pause latency while
//! indexing one large text file, next to a small one in the same run. `sift bench extract DIR`: text
//! extraction throughput per format, in process (the baseline) and through the isolated worker process.
//! `sift bench generate`: the text generator's first-token time, prefill and decode speed and memory, next to
//! a bare loop over the same session, per graph of a model. `sift bench indexing DIR`: files → searchable
//! against the raw session and a Python onnxruntime + tokenizers pipeline on the same units. `sift bench
//! watch`: edit → searchable through the watcher, next to re-indexing the file directly.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use sift_core::embed::{EmbedOptions, Embedder};
use sift_core::model::{self, Precision};

mod plot;
mod query;

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
        /// Batch sizes (texts per inference call) to measure throughput at.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        batches: Vec<usize>,
        /// Thread counts to measure throughput at as well, each with its own session (default: only the
        /// default threads; with --plot, 1 and the default).
        #[arg(long, value_delimiter = ',')]
        threads_list: Option<Vec<usize>>,
        /// Write a chart of throughput against batch size, a line per thread count for the pipeline and
        /// for the raw session, here (SVG).
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Vector search at several collection sizes generated from a database's real vectors: build and
    /// save time, cold start (loading the saved graph), RSS, p50/p95/p99 and recall@10 against exact
    /// search at several `ef`, and after deleting 1 % of the chunks; each size in its own processes.
    Query {
        /// A Sift database whose vectors seed the collections (e.g. an `sift eval` work dir's index.sqlite).
        #[arg(long)]
        db: PathBuf,
        /// Collection sizes.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        sizes: Vec<usize>,
        /// Queries (real vectors held out of the collection).
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Search widths to measure (the recall/latency curve).
        #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256")]
        ef: Vec<usize>,
        /// Candidates kept while building the graph (default: the engine's); graphs built otherwise are
        /// kept in their own folders under `--work`.
        #[arg(long)]
        ef_construction: Option<usize>,
        /// Where graphs are kept between runs (building a million takes a while).
        #[arg(long, default_value = "sift-bench-query")]
        work: PathBuf,
        /// Build the graphs again even if the work folder holds them.
        #[arg(long)]
        rebuild: bool,
        /// Write the recall/latency chart here (SVG).
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// One stage of `bench query` in its own process (used by it).
    #[command(hide = true)]
    QueryChild {
        #[arg(long, value_enum)]
        stage: query::Stage,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        work: PathBuf,
        #[arg(long)]
        size: usize,
        #[arg(long)]
        queries: usize,
        #[arg(long, value_delimiter = ',')]
        ef: Vec<usize>,
        #[arg(long)]
        ef_construction: Option<usize>,
    },
    /// Text generation: load time, time to first token, prefill and decode tokens/s and peak RSS of the
    /// generator on a grounded prompt, next to a bare loop over the same session (prefill, then one run per
    /// token, argmax; no template, streaming or checks) in the same run.
    Generate {
        /// The generator model's id or folder (default: the largest installed).
        #[arg(long)]
        generator: Option<String>,
        /// ONNX graphs of the model to compare, one after another in this run (file names in its folder
        /// or paths, e.g. `--graph model.onnx --graph model_q8.onnx`: float32 vs 8-bit); default: the one
        /// generation.json names.
        #[arg(long)]
        graph: Vec<PathBuf>,
        /// Tokens to generate per run.
        #[arg(long, default_value_t = 48)]
        tokens: usize,
        /// Runs (best is reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Files → searchable: `sift index DIR` from scratch (default settings, a fresh data folder), next to the
    /// raw ONNX Runtime session on the same units (every passage and window the index then holds, tokenized
    /// beforehand, same batch size and threads) in the same run: how close indexing comes to the model alone
    /// (each `--runs` times, alternating, best of each); and a plain Python pipeline (onnxruntime + tokenizers + numpy, scripts/bench_python_embed.py) on the
    /// same units, model file, batch size and threads.
    Indexing {
        /// Folder of documents.
        dir: PathBuf,
        /// Model tokens to embed per committed group (default: the engine's).
        #[arg(long)]
        batch_tokens: Option<usize>,
        /// Runs of each side, alternating (index, raw, index, raw, …); the best of each is compared.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Python with onnxruntime and tokenizers for the Python row (default: the venv scripts/setup.sh
        /// makes, `<cache>/venv`); the row is left out, with a note, when it is missing.
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Edit → searchable: a watched folder (the same watcher and re-indexing as `sift watch` and the app),
    /// a file rewritten with a new sentence, the time until a keyword search and a meaning search find it;
    /// next to the parts in the same run (the watcher's debounce, re-indexing the file directly).
    Watch {
        /// Edits to time.
        #[arg(long, default_value_t = 10)]
        edits: usize,
        /// Other files in the watched folder (generated paragraphs).
        #[arg(long, default_value_t = 200)]
        files: usize,
        /// The watcher's debounce in ms (`sift watch` and the app use 500).
        #[arg(long, default_value_t = 500)]
        debounce_ms: u64,
    },
    /// Extraction throughput per file type over a folder: in process (baseline) and through the worker.
    Extract {
        /// Folder of documents (read recursively).
        dir: PathBuf,
        /// Passes over the folder (best is reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Peak memory and pause latency while indexing one large generated text file, for each size given
    /// (the smallest is the baseline).
    LargeFile {
        /// File sizes in MB.
        #[arg(long, value_delimiter = ',', default_value = "5,50")]
        mb: Vec<usize>,
        /// Seconds of embedding after the first committed batch, before pausing.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
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
        let texts = files
            .iter()
            .take(n)
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .collect::<Result<Vec<String>>>()?;
        anyhow::ensure!(
            !texts.is_empty(),
            "Nothing to embed: give --corpus a folder with text files in it and --texts above 0."
        );
        return Ok(texts);
    }
    anyhow::ensure!(n > 0, "Nothing to embed: give --texts above 0.");
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
    match &args.what {
        BenchWhat::Embed {
            corpus,
            texts,
            queries,
            repeat,
            batches,
            threads_list,
            plot,
        } => embed(
            cli,
            corpus.as_ref(),
            *texts,
            *queries,
            *repeat,
            batches,
            threads_list.as_deref(),
            plot.as_deref(),
        ),
        BenchWhat::Query {
            db,
            sizes,
            queries,
            ef,
            ef_construction,
            work,
            rebuild,
            plot,
        } => query::run(
            db,
            sizes,
            *queries,
            ef,
            query::build_params(*ef_construction),
            work,
            *rebuild,
            plot.as_deref(),
        ),
        BenchWhat::QueryChild {
            stage,
            db,
            work,
            size,
            queries,
            ef,
            ef_construction,
        } => query::child(
            *stage,
            db,
            work,
            *size,
            *queries,
            ef,
            query::build_params(*ef_construction),
        ),
        BenchWhat::LargeFile { mb, seconds } => large_file(cli, mb, *seconds),
        BenchWhat::Extract { dir, repeat } => extract(dir, *repeat),
        BenchWhat::Indexing {
            dir,
            batch_tokens,
            runs,
            python,
        } => indexing(cli, dir, *batch_tokens, *runs, python.as_deref()),
        BenchWhat::Watch {
            edits,
            files,
            debounce_ms,
        } => watch(cli, *edits, *files, *debounce_ms),
        BenchWhat::Generate {
            generator,
            graph,
            tokens,
            repeat,
        } => generate(cli, generator.as_deref(), graph, *tokens, *repeat),
    }
}

/// The engine configuration of a benchmark's fresh data folder: the command line's model, precision and
/// threads, the default excludes (not the user's saved settings).
fn bench_config(cli: &crate::Cli, data: &std::path::Path) -> Result<sift_core::EngineConfig> {
    let mut config = crate::config(
        Some(data),
        cli.model_dir.as_deref(),
        cli.precision.as_deref(),
        cli.threads,
    )?;
    config.settings.excludes = sift_core::default_excludes();
    Ok(config)
}

/// `sift bench indexing`: see [`BenchWhat::Indexing`].
fn indexing(
    cli: &crate::Cli,
    dir: &std::path::Path,
    batch_tokens: Option<usize>,
    runs: usize,
    python: Option<&std::path::Path>,
) -> Result<()> {
    use std::sync::atomic::AtomicBool;
    let work = tempfile_dir("sift-bench-indexing")?;
    // One whole `sift index` of `dir` into a fresh data directory: its wall time and what it indexed.
    let index_once = |data: &std::path::Path| -> Result<_> {
        let mut config = bench_config(cli, data)?;
        if let Some(n) = batch_tokens {
            config.batch_tokens = n.max(1);
        }
        let threads = match config.settings.threads {
            0 => sift_core::runtime::default_threads(),
            n => n,
        };
        let tokens_per_group = config.batch_tokens;
        let engine = sift_core::Engine::open(config)?;
        engine.add_folder(dir)?;
        let started = Instant::now();
        let report = engine.index(&mut |_| {}, &AtomicBool::new(false))?;
        let wall = started.elapsed().as_secs_f64();
        let facts = (
            engine.model().clone(),
            engine.model_key(),
            engine.status()?.precision,
            threads,
            tokens_per_group,
        );
        Ok((wall, report, facts))
    };
    let data = work.join("data");
    let (first_wall, report, (spec, key, precision, threads, tokens_per_group)) =
        index_once(&data)?;
    // The process's high-water mark so far: the first index run's (later runs add the raw session's).
    let index_rss = peak_rss_mb().unwrap_or(0.0);

    // The units the index holds, as the indexer embedded them.
    let store = sift_core::Store::open(&data.join("index.sqlite"))?;
    let ids = store.vector_ids(&key)?;
    let mut texts = Vec::with_capacity(ids.len());
    let mut passages = 0usize;
    for part in ids.chunks(10_000) {
        for r in store.chunks(part)? {
            passages += usize::from(r.parent.is_none());
            texts.push(r.text);
        }
    }
    drop(store);
    let files = model::locate(&spec, precision, cli.model_dir.as_deref())?;
    let options = EmbedOptions {
        threads,
        ..EmbedOptions::default()
    };
    let mut embedder = Embedder::load(&spec, &files, &options)?;
    let batches = embedder.prepare_documents(&texts)?;
    let tokens: usize = batches.iter().map(|b| b.tokens()).sum();
    // Each measured `runs` times, alternating (index, raw, index, raw, …), and the best of each kept: this
    // machine's speed drifts (a shared VM), and a slow spell during one side's only run would decide the
    // ratio.
    let mut raw_loop = || -> Result<f64> {
        let t = Instant::now();
        for b in &batches {
            embedder.forward(b)?;
        }
        Ok(t.elapsed().as_secs_f64())
    };
    let mut walls = vec![first_wall];
    let mut raws = vec![raw_loop()?];
    for run in 1..runs.max(1) {
        walls.push(index_once(&work.join(format!("data-{run}")))?.0);
        raws.push(raw_loop()?);
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (wall, raw) = (best(&walls), best(&raws));
    let in_order: Vec<String> = walls
        .iter()
        .zip(&raws)
        .map(|(w, r)| format!("sift index {w:.2} s, raw {r:.2} s"))
        .collect();
    drop((embedder, batches));

    // The same units, model file, batch size and threads through a plain Python pipeline.
    let python = python
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(default_python);
    let config = serde_json::json!({
        "model": files.onnx.to_string_lossy(),
        "tokenizer": files.tokenizer.to_string_lossy(),
        "texts": texts
            .iter()
            .map(|t| format!("{}{t}", spec.document_prefix))
            .collect::<Vec<_>>(),
        "batch": options.batch_size,
        "threads": threads,
        "max_tokens": spec.max_tokens,
        "pooling": match spec.pooling {
            model::Pooling::Mean => "mean",
            model::Pooling::Cls => "cls",
        },
        "normalize": spec.normalize,
        "output": spec.output,
    });
    let py = python_embed(&python, &work, &config)?;
    outln!(
        "machine: {}, {} cores; model {} ({precision}), {threads} threads, {tokens_per_group} tokens per committed group",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        spec.id
    );
    outln!(
        "{}: {} files indexed ({} skipped/failed), {} units = {passages} passages + {} windows, {tokens} tokens",
        dir.display(),
        report.files_indexed,
        report.files_skipped + report.files_failed,
        texts.len(),
        texts.len() - passages
    );
    outln!(
        "{:<44} {:>9} {:>10} {:>11}",
        "",
        "seconds",
        "units/s",
        "tokens/s"
    );
    let mut rows = vec![
        ("sift index (files -> searchable, best)", wall, tokens),
        ("raw ORT session, same units (best)", raw, tokens),
    ];
    if let PythonRun::Done {
        seconds, tokens, ..
    } = &py
    {
        rows.push((
            "Python onnxruntime + tokenizers, same units",
            *seconds,
            *tokens,
        ));
    }
    for (name, secs, tokens) in rows {
        outln!(
            "{name:<44} {secs:>9.1} {:>10.1} {:>11.0}",
            texts.len() as f64 / secs,
            tokens as f64 / secs
        );
    }
    outln!("each run, in order: {}", in_order.join(", "));
    outln!(
        "indexing / raw ORT: {:.2}x; peak RSS of the first index run {index_rss:.0} MB",
        raw / wall
    );
    match py {
        PythonRun::Done {
            seconds,
            tokens: py_tokens,
            versions,
        } => {
            if py_tokens != tokens {
                outln!(
                    "note: the Python pipeline fed the model {py_tokens} tokens, sift {tokens}: \
                     their tokenization differs"
                );
            }
            outln!(
                "sift / Python: {:.2}x (sift index units/s over the Python pipeline's; \
                 raw ORT / Python {:.2}x; {versions})",
                seconds / wall,
                seconds / raw
            );
        }
        PythonRun::Missing(why) => outln!(
            "Python row left out: {why}; `bash scripts/setup.sh` makes the venv with onnxruntime \
             and tokenizers (or pass --python PATH)"
        ),
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// The Python pipeline `sift bench indexing` compares against; written to the work folder and run there.
const PYTHON_EMBED_SCRIPT: &str = include_str!("../../../scripts/bench_python_embed.py");

/// The venv scripts/setup.sh makes: `<cache>/venv`'s interpreter.
fn default_python() -> PathBuf {
    let venv = sift_core::paths::cache_dir().join("venv");
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// What running the Python pipeline gave.
enum PythonRun {
    Done {
        seconds: f64,
        tokens: usize,
        /// "onnxruntime X, tokenizers Y".
        versions: String,
    },
    /// No interpreter, or one without the packages: why, in words.
    Missing(String),
}

/// Runs scripts/bench_python_embed.py with `python` on `config` (see the script's docstring). A missing
/// interpreter or package is [`PythonRun::Missing`]; any other failure is an error.
fn python_embed(
    python: &std::path::Path,
    work: &std::path::Path,
    config: &serde_json::Value,
) -> Result<PythonRun> {
    let script = work.join("bench_python_embed.py");
    let input = work.join("bench_python_embed.json");
    std::fs::write(&script, PYTHON_EMBED_SCRIPT)
        .with_context(|| format!("writing {}", script.display()))?;
    std::fs::write(&input, serde_json::to_vec(config)?)
        .with_context(|| format!("writing {}", input.display()))?;
    let out = match std::process::Command::new(python)
        .arg(&script)
        .arg(&input)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(PythonRun::Missing(format!(
                "no Python at {}",
                python.display()
            )))
        }
        Err(e) => return Err(e).with_context(|| format!("running {}", python.display())),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if let Some(line) = stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("ModuleNotFoundError") || l.starts_with("ImportError"))
        {
            return Ok(PythonRun::Missing(format!("{}: {line}", python.display())));
        }
        anyhow::bail!(
            "{} {} failed ({}): {}",
            python.display(),
            script.display(),
            out.status,
            stderr.trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line)
        .with_context(|| format!("reading the Python pipeline's result {line:?}"))?;
    let seconds = v["seconds"]
        .as_f64()
        .context("the Python pipeline's result has no seconds")?;
    Ok(PythonRun::Done {
        seconds,
        tokens: v["tokens"].as_u64().unwrap_or(0) as usize,
        versions: format!(
            "onnxruntime {}, tokenizers {}",
            v["onnxruntime"].as_str().unwrap_or("?"),
            v["tokenizers"].as_str().unwrap_or("?")
        ),
    })
}

/// `sift bench watch`: see [`BenchWhat::Watch`].
fn watch(cli: &crate::Cli, edits: usize, files: usize, debounce_ms: u64) -> Result<()> {
    use sift_core::{Mode, SearchOptions};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile_dir("sift-bench-watch")?;
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs)?;
    for (i, text) in corpus(None, files)?.iter().enumerate() {
        std::fs::write(docs.join(format!("note-{i:04}.txt")), text)?;
    }
    let engine = sift_core::Engine::open(bench_config(cli, &dir.join("data"))?)?;
    engine.add_folder(&docs)?;
    let never = AtomicBool::new(false);
    let started = Instant::now();
    engine.index(&mut |_| {}, &never)?;
    outln!(
        "machine: {}, {} cores; {files} files indexed in {:.1} s; debounce {debounce_ms} ms; {edits} edits",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        started.elapsed().as_secs_f64()
    );
    // Distinct sentences (a made-up word each, so keyword search finds exactly the edit).
    let sentence = |i: usize| {
        let word: String = format!("{i:04}")
            .bytes()
            .map(|b| char::from(b'k' + (b - b'0')))
            .collect();
        format!(
            "The orchard ledger {word}qua records that the pear harvest number {i} was stored in the cold cellar \
             beside the apple crates until the frost ended."
        )
    };
    // Found: the file is the top result and shows the new text (not its previous, similar version).
    let found = |query: &str, mode: Mode, path: &std::path::Path| -> Result<bool> {
        let r = engine.search(
            query,
            &SearchOptions {
                limit: 1,
                mode,
                ..SearchOptions::default()
            },
        )?;
        let marker = query.split_whitespace().nth(3).unwrap_or(query);
        Ok(r.results
            .first()
            .is_some_and(|h| h.path == path && h.passage.text.contains(marker)))
    };
    let target = docs.join("edited.txt");

    // Baseline in the same run: re-indexing the changed file directly (no watcher), then searching.
    let mut direct = Vec::new();
    for i in 0..edits.max(1) {
        let text = sentence(10_000 + i);
        std::fs::write(&target, &text)?;
        let t0 = Instant::now();
        let report = engine.index_containing(std::slice::from_ref(&target), &mut |_| {}, &never)?;
        let keyword = text.split_whitespace().nth(3).unwrap_or("").to_string();
        anyhow::ensure!(
            found(&keyword, Mode::Keyword, &target)?,
            "the directly re-indexed edit was not found by `{keyword}` ({report:?})"
        );
        anyhow::ensure!(
            found(&text, Mode::Vector, &target)?,
            "the directly re-indexed edit was not found by meaning"
        );
        direct.push(t0.elapsed().as_secs_f64() * 1000.0);
    }

    let watcher = sift_core::watch::Watcher::new(
        std::slice::from_ref(&docs),
        std::time::Duration::from_millis(debounce_ms),
    )?;
    let stop = &AtomicBool::new(false);
    let (engine, never) = (&engine, &never);
    let (mut keyword_ms, mut meaning_ms) = (Vec::new(), Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        let watcher = watcher;
        let indexer = scope.spawn(move || -> Result<()> {
            while !stop.load(Ordering::SeqCst) {
                if let Some(paths) = watcher.next_batch(std::time::Duration::from_millis(50)) {
                    engine.index_containing(&paths, &mut |_| {}, never)?;
                }
            }
            Ok(())
        });
        let result = (|| -> Result<()> {
            // Let the watcher settle after its start.
            std::thread::sleep(std::time::Duration::from_millis(debounce_ms + 200));
            for i in 0..edits.max(1) {
                let text = sentence(i);
                let keyword = text.split_whitespace().nth(3).unwrap_or("").to_string();
                std::fs::write(&target, &text)?;
                let t0 = Instant::now();
                let (mut k, mut m) = (None, None);
                while k.is_none() || m.is_none() {
                    anyhow::ensure!(
                        t0.elapsed() < std::time::Duration::from_secs(60),
                        "edit {i} was not searchable after 60 s"
                    );
                    if k.is_none() && found(&keyword, Mode::Keyword, &target)? {
                        k = Some(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    if m.is_none() && found(&text, Mode::Vector, &target)? {
                        m = Some(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                keyword_ms.extend(k);
                meaning_ms.extend(m);
                // Edits a little apart, as a person saves.
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            Ok(())
        })();
        stop.store(true, Ordering::SeqCst);
        let indexed = indexer
            .join()
            .map_err(|_| anyhow::anyhow!("the watch thread panicked"))?;
        result.and(indexed)
    })?;
    for v in [&mut direct, &mut keyword_ms, &mut meaning_ms] {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    outln!("{:<44} {:>8} {:>8} {:>8}", "", "p50 ms", "p95 ms", "max ms");
    for (name, v) in [
        ("re-index the file directly, then found", &direct),
        ("edit -> found by keyword (watcher)", &keyword_ms),
        ("edit -> found by meaning (watcher)", &meaning_ms),
    ] {
        outln!(
            "{name:<44} {:>8.0} {:>8.0} {:>8.0}",
            percentile(v, 0.5),
            percentile(v, 0.95),
            v.last().copied().unwrap_or(0.0)
        );
    }
    outln!(
        "watcher overhead over the direct path (p50): {:.0} ms, of which the debounce is {debounce_ms} ms",
        percentile(&meaning_ms, 0.5) - percentile(&direct, 0.5)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn current_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The best of several runs: first token (lowest), prefill and decode speed (highest).
struct Best {
    ttft: f64,
    prefill: f64,
    decode: f64,
    generated: usize,
}

impl Best {
    fn new() -> Best {
        Best {
            ttft: f64::MAX,
            prefill: 0.0,
            decode: 0.0,
            generated: 0,
        }
    }

    fn add(&mut self, ttft_ms: f64, prefill_tok_s: f64, decode_tok_s: f64, generated: usize) {
        self.ttft = self.ttft.min(ttft_ms);
        self.prefill = self.prefill.max(prefill_tok_s);
        self.decode = self.decode.max(decode_tok_s);
        self.generated = generated;
    }
}

/// `sift bench generate`: see [`BenchWhat::Generate`].
fn generate(
    cli: &crate::Cli,
    generator: Option<&str>,
    graphs: &[PathBuf],
    tokens: usize,
    repeat: usize,
) -> Result<()> {
    use sift_core::generate;
    let dir = match generator {
        Some(g)
            if std::path::Path::new(g)
                .join(generate::CONFIG_FILE)
                .is_file() =>
        {
            PathBuf::from(g)
        }
        other => generate::locate(other)?,
    };
    let threads = cli
        .threads
        .unwrap_or_else(sift_core::runtime::default_threads);
    outln!(
        "machine: {}, {} cores; {threads} threads; best of {}",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        repeat.max(1)
    );
    let graphs: Vec<Option<&PathBuf>> = if graphs.is_empty() {
        vec![None]
    } else {
        graphs.iter().map(Some).collect()
    };
    for graph in graphs {
        generate_one(&dir, graph, threads, tokens, repeat)?;
    }
    Ok(())
}

/// One graph of `sift bench generate`: the generator and the bare session loop on the same session.
fn generate_one(
    dir: &std::path::Path,
    graph: Option<&PathBuf>,
    threads: usize,
    tokens: usize,
    repeat: usize,
) -> Result<()> {
    use sift_core::answer::{build_prompt, Source};
    use sift_core::generate::{self, GenerateParams, Generator, GeneratorOptions};
    let rss_before = current_rss_mb().unwrap_or(0.0);
    let started = Instant::now();
    let mut g = Generator::load(
        dir,
        &GeneratorOptions {
            threads,
            graph: graph.cloned(),
            ..GeneratorOptions::default()
        },
    )?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let sources: Vec<Source> = [
        ("lease.txt", "The lease of the flat at 12 Harbour Street ends on 31 March 2025. An early-termination fee of two months' rent is due when the tenant leaves before that date. The deposit is returned within thirty days of the keys being handed back."),
        ("notes.md", "Rent is 950 EUR a month, paid on the first working day of each month. The landlord's agent, Harbour Lettings, handles repairs; call them before arranging any work yourself."),
        ("boiler.txt", "The boiler was serviced in October by Smith Heating. The next service is due in a year; the engineer noted that the pressure valve may need replacing."),
    ]
    .iter()
    .map(|(label, text)| Source { label: label.to_string(), text: text.to_string() })
    .collect();
    let question = "What happens if the tenant leaves before the lease ends?";
    let prompt = {
        let count = |t: &str| g.count_tokens(t).unwrap_or(t.len());
        build_prompt(question, &sources, g.context_length() / 2, &count)
    };
    let ids = g.encode(&g.render_chat(&prompt.messages)?)?;
    let params = GenerateParams {
        max_new_tokens: tokens.max(2),
        ..GenerateParams::default()
    };
    let mut pipeline = Best::new();
    let mut bare = Best::new();
    for _ in 0..repeat.max(1) {
        let out = g.generate(&ids, &params, None, &mut |_| {})?;
        let t = out.timings;
        pipeline.add(
            t.first_token_ms,
            t.prefill_tok_s(),
            t.decode_tok_s(),
            t.generated_tokens,
        );

        let start = Instant::now();
        let (mut cache, logits) = g.prefill(&ids)?;
        let argmax = |v: &[f32]| {
            v.iter()
                .enumerate()
                .fold(
                    (0usize, f32::MIN),
                    |b, (i, &x)| if x > b.1 { (i, x) } else { b },
                )
                .0 as u32
        };
        let mut next = argmax(&logits);
        let ttft = start.elapsed().as_secs_f64() * 1000.0;
        let decode_start = Instant::now();
        let steps = params.max_new_tokens - 1;
        for _ in 0..steps {
            let logits = g.decode_step(&mut cache, next)?;
            next = argmax(&logits);
        }
        let decode_s = decode_start.elapsed().as_secs_f64();
        bare.add(
            ttft,
            ids.len() as f64 / (ttft / 1000.0),
            steps as f64 / decode_s,
            steps + 1,
        );
    }
    let rss = current_rss_mb().unwrap_or(0.0);
    let graph_name = graph
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| g.config().files.model.clone());
    let onnx = graph.map_or_else(|| dir.join(&g.config().files.model), |p| dir.join(p));
    outln!(
        "\n{} — {graph_name} ({:.0} MB) on {}: loaded in {load_ms:.0} ms; prompt {} tokens",
        g.config().name,
        generate::model_bytes(&onnx) as f64 / 1e6,
        g.provider(),
        ids.len(),
    );
    outln!(
        "{:<34} {:>10} {:>14} {:>13} {:>10}",
        "",
        "first ms",
        "prefill tok/s",
        "decode tok/s",
        "generated"
    );
    for (name, b) in [
        ("generate (template, stream, stop)", &pipeline),
        ("bare session loop (argmax)", &bare),
    ] {
        outln!(
            "{name:<34} {:>10.0} {:>14.0} {:>13.1} {:>10}",
            b.ttft,
            b.prefill,
            b.decode,
            b.generated
        );
    }
    outln!(
        "pipeline / bare: first token {:.2}x, decode {:.2}x; RSS {:.0} MB with the model loaded (+{:.0} MB), peak {:.0} MB",
        pipeline.ttft / bare.ttft,
        pipeline.decode / bare.decode.max(1e-9),
        rss,
        rss - rss_before,
        peak_rss_mb().unwrap_or(0.0)
    );
    Ok(())
}

/// Files under `dir`, recursively, with their sizes.
fn files_under(dir: &std::path::Path) -> Result<Vec<(PathBuf, u64)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                out.push((entry.path(), meta.len()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Per file type: files, MB, text MB, problems, and the best pass's seconds in process and through the worker.
fn extract(dir: &std::path::Path, repeat: usize) -> Result<()> {
    use sift_core::worker::{Extractor, WorkerCommand};
    use std::collections::BTreeMap;
    let files = files_under(dir)?;
    let worker = WorkerCommand::current_exe()?;
    let options = sift_core::ExtractOptions::default();
    #[derive(Default)]
    struct Row {
        files: usize,
        bytes: u64,
        text: u64,
        problems: usize,
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (path, size) in &files {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let row = rows.entry(ext).or_default();
        row.files += 1;
        row.bytes += size;
    }
    // Each pass times every file both ways; a type's figure is its best pass. One worker serves the whole
    // pass (as in indexing), so its start-up is included once per pass.
    let mut best: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for pass in 0..repeat.max(1) {
        let mut inproc = Extractor::new(None, options);
        let mut isolated = Extractor::new(Some(&worker), options);
        let mut times: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for (path, size) in &files {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            let t = Instant::now();
            let a = inproc.extract(path, *size);
            let a_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let _ = isolated.extract(path, *size);
            let b_s = t.elapsed().as_secs_f64();
            let e = times.entry(ext.clone()).or_default();
            e.0 += a_s;
            e.1 += b_s;
            if pass == 0 {
                if let Some(row) = rows.get_mut(&ext) {
                    match a {
                        Ok(doc) => row.text += doc.text.len() as u64,
                        Err(_) => row.problems += 1,
                    }
                }
            }
        }
        for (ext, (a, b)) in times {
            let e = best.entry(ext).or_insert((f64::MAX, f64::MAX));
            e.0 = e.0.min(a);
            e.1 = e.1.min(b);
        }
    }
    outln!(
        "machine: {}, {} cores; {} files under {}; best of {} passes",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        files.len(),
        dir.display(),
        repeat.max(1)
    );
    outln!("type | files | MB | text MB | not read | in process files/s | in process MB/s | worker files/s | worker MB/s | worker / in process");
    let mb = |b: u64| b as f64 / 1_048_576.0;
    for (ext, row) in &rows {
        let (a, b) = best.get(ext).copied().unwrap_or((0.0, 0.0));
        let rate = |n: f64, s: f64| if s > 0.0 { n / s } else { 0.0 };
        outln!(
            "{} | {} | {:.2} | {:.2} | {} | {:.0} | {:.1} | {:.0} | {:.1} | {:.2}",
            if ext.is_empty() { "(none)" } else { ext },
            row.files,
            mb(row.bytes),
            mb(row.text),
            row.problems,
            rate(row.files as f64, a),
            rate(mb(row.bytes), a),
            rate(row.files as f64, b),
            rate(mb(row.bytes), b),
            rate(rate(row.files as f64, b), rate(row.files as f64, a)),
        );
    }
    Ok(())
}

/// Resident and peak resident memory of this process in MB (Linux; `None` elsewhere).
fn memory_mb() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The CPU model, for the report.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn large_file(cli: &crate::Cli, sizes: &[usize], seconds: u64) -> Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    outln!(
        "machine: {}, {} cores; {} tokens per committed group",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        sift_core::EngineConfig::new(std::env::temp_dir())?.batch_tokens
    );
    outln!("size MB | rss before MB | peak rss at 1st commit MB | peak rss after {seconds}s MB | time to 1st commit s | chunks committed | pause latency ms");
    for &mb in sizes {
        let dir = tempfile_dir("sift-bench-large")?;
        let files = dir.join("files");
        std::fs::create_dir_all(&files)?;
        let mut text = String::with_capacity(mb * 1_000_000 + 200);
        let mut i = 0u64;
        while text.len() < mb * 1_000_000 {
            i += 1;
            text.push_str(&format!(
                "Entry {i}: the survey team logged {} samples near marker {} and noted {} weather.\n",
                i * 7 % 1000,
                i * 13 % 997,
                ["clear", "foggy", "windy", "rainy"][(i % 4) as usize]
            ));
        }
        std::fs::write(files.join("log.txt"), &text)?;
        drop(text);
        let engine = Arc::new(sift_core::Engine::open(bench_config(
            cli,
            &dir.join("data"),
        )?)?);
        engine.status()?;
        engine.add_folder(&files)?;
        let before = memory_mb().map_or(0.0, |m| m.0);
        let cancel = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let worker = {
            let (engine, cancel) = (Arc::clone(&engine), Arc::clone(&cancel));
            std::thread::spawn(move || engine.index(&mut |_| {}, &cancel))
        };
        let mut first_commit = None;
        let mut peak_first = 0.0;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let chunks = engine.status()?.counts.chunks;
            if first_commit.is_none() && chunks > 0 {
                first_commit = Some(started.elapsed());
                peak_first = memory_mb().map_or(0.0, |m| m.1);
            }
            if let Some(t) = first_commit {
                if started.elapsed() >= t + std::time::Duration::from_secs(seconds) {
                    break;
                }
            }
            if worker.is_finished() {
                break;
            }
        }
        let peak = memory_mb().map_or(0.0, |m| m.1);
        let paused = Instant::now();
        cancel.store(true, Ordering::SeqCst);
        let result = worker
            .join()
            .map_err(|_| anyhow::anyhow!("the indexing thread panicked"))?;
        let latency = paused.elapsed();
        if let Err(e) = result {
            if !matches!(e, sift_core::Error::Cancelled) {
                return Err(e.into());
            }
        }
        let chunks = engine.status()?.counts.chunks;
        outln!(
            "{mb} | {before:.0} | {peak_first:.0} | {peak:.0} | {:.1} | {chunks} | {:.0}",
            first_commit.map_or(f64::NAN, |t| t.as_secs_f64()),
            latency.as_secs_f64() * 1000.0
        );
        drop(engine);
        let _ = std::fs::remove_dir_all(&dir);
    }
    outln!("(peak rss is the process high-water mark, so each row includes the rows before it; run one size per process to compare sizes alone)");
    Ok(())
}

fn tempfile_dir(prefix: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Best-of-`repeat` throughput (texts/s) at each batch size: (batch, pipeline, raw session on the same
/// tokenized batches).
fn throughput(
    embedder: &mut Embedder,
    texts: &[String],
    batches: &[usize],
    repeat: usize,
) -> Result<Vec<(usize, f64, f64)>> {
    let mut rows = Vec::new();
    for &batch in batches {
        embedder.set_batch_size(batch);
        let prepared = embedder.prepare_documents(texts)?;
        let (mut best_pipe, mut best_raw) = (f64::MAX, f64::MAX);
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            for b in &prepared {
                embedder.forward(b)?;
            }
            best_raw = best_raw.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            embedder.embed_documents(texts)?;
            best_pipe = best_pipe.min(t.elapsed().as_secs_f64());
        }
        rows.push((
            batch.max(1),
            texts.len() as f64 / best_pipe,
            texts.len() as f64 / best_raw,
        ));
    }
    Ok(rows)
}

/// The throughput table: batch, pipeline texts/s, raw session texts/s, their ratio.
fn print_throughput(rows: &[(usize, f64, f64)]) {
    outln!(
        "{:>6} {:>12} {:>12} {:>8}",
        "batch",
        "texts/s",
        "raw ORT/s",
        "ratio"
    );
    for (batch, pipe, raw) in rows {
        outln!("{batch:>6} {pipe:>12.1} {raw:>12.1} {:>8.3}", pipe / raw);
    }
}

#[allow(clippy::too_many_arguments)]
fn embed(
    cli: &crate::Cli,
    dir: Option<&PathBuf>,
    texts: usize,
    queries: usize,
    repeat: usize,
    batches: &[usize],
    threads_list: Option<&[usize]>,
    plot: Option<&std::path::Path>,
) -> Result<()> {
    let (queries, repeat) = (&queries, &repeat);
    let texts = corpus(dir, texts)?;
    let spec = model::spec(&model::default_model_id())?;
    let precision: Precision = match &cli.precision {
        Some(p) => p.parse()?,
        None => spec.default_precision,
    };
    let files = model::locate(&spec, precision, cli.model_dir.as_deref())?;
    let threads = cli
        .threads
        .unwrap_or_else(sift_core::runtime::default_threads)
        .max(1);
    // Thread counts for the sweep (and the chart), in order, without repeats.
    let mut sweep: Vec<usize> = match threads_list {
        Some(list) => list.iter().map(|&t| t.max(1)).collect(),
        None if plot.is_some() => vec![1, threads],
        None => vec![threads],
    };
    let mut seen = std::collections::HashSet::new();
    sweep.retain(|t| seen.insert(*t));
    let options = |threads| EmbedOptions {
        threads,
        batch_size: 32,
        accelerate: true,
    };
    let mut embedder = Embedder::load(&spec, &files, &options(threads))?;
    let tokens: usize = embedder
        .embed_documents(&texts)?
        .iter()
        .map(|e| e.tokens)
        .sum();
    outln!(
        "model {} ({precision}), provider {}, {threads} thread(s); {} texts, {:.0} tokens/text",
        spec.id,
        embedder.provider(),
        texts.len(),
        tokens as f64 / texts.len().max(1) as f64
    );
    let rows = throughput(&mut embedder, &texts, batches, *repeat)?;
    print_throughput(&rows);
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
    outln!(
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
    outln!("batch of 10 texts: {best10:.1} ms");
    if let Some(mb) = peak_rss_mb() {
        outln!("peak memory (RSS): {mb:.0} MB");
    }
    drop(embedder);

    // The other thread counts, each with its own session (one loaded at a time).
    let mut by_threads = Vec::new();
    for &t in &sweep {
        if t == threads {
            by_threads.push((t, rows.clone()));
            continue;
        }
        let mut embedder = Embedder::load(&spec, &files, &options(t))?;
        embedder.embed_documents(&texts)?; // warm-up, as for the default threads
        let rows = throughput(&mut embedder, &texts, batches, *repeat)?;
        outln!("{t} thread(s):");
        print_throughput(&rows);
        by_threads.push((t, rows));
    }
    if let Some(path) = plot {
        let plural = |t: usize| if t == 1 { "thread" } else { "threads" };
        let mut series = Vec::new();
        for (t, rows) in &by_threads {
            series.push((
                format!("sift, {t} {}", plural(*t)),
                rows.iter().map(|r| (r.0 as f64, r.1)).collect(),
            ));
            series.push((
                format!("raw ORT, {t} {}", plural(*t)),
                rows.iter().map(|r| (r.0 as f64, r.2)).collect(),
            ));
        }
        let svg = plot::svg(
            &format!(
                "Embedding throughput: {} ({precision}), {} texts",
                spec.id,
                texts.len()
            ),
            "batch size (texts per inference call)",
            "texts/s",
            &series,
        );
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
        outln!("chart: {}", path.display());
    }
    Ok(())
}
