//! `sift`: index folders and search them by meaning, from the terminal. Shares the desktop app's data
//! directory, so both see the same index.

/// `println!` for results: when standard output is closed (`sift status | head` after `head` has
/// read enough), the program ends quietly, as other command-line tools do — Rust ignores SIGPIPE, so the
/// std macros would panic. (SIGPIPE itself stays ignored: a dead extraction worker's pipe must not kill us.)
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod bench;
mod eval;
mod models;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sift_core::generate::{self, GenerateParams};
use sift_core::{
    Answer, AskOptions, Confidence, Engine, EngineConfig, Filter, Generator, GeneratorOptions,
    MeaningSearch, Mode, Phase, Progress, SearchOptions, SearchResponse, Strength,
};

#[derive(Parser)]
#[command(
    name = "sift",
    version,
    about = "On-device semantic search over your own files"
)]
struct Cli {
    /// Where the index lives (default: the app's data directory).
    #[arg(long, global = true, env = "SIFT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A folder with model.onnx / model_int8.onnx and tokenizer.json, instead of the installed model.
    #[arg(long, global = true, env = "SIFT_MODEL_DIR")]
    model_dir: Option<PathBuf>,
    /// Model precision: int8 (default, faster) or fp32.
    #[arg(long, global = true)]
    precision: Option<String>,
    /// Threads for indexing (default: all cores, at low OS priority).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// More logging (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add folders (or files) to the index and index until caught up.
    Index { paths: Vec<PathBuf> },
    /// Search the index.
    Search {
        /// The query; words in "double quotes" must appear as an exact phrase.
        query: Option<String>,
        /// Number of files to return.
        #[arg(long, short = 'n', default_value_t = 10)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Read one query per line from standard input; print one JSON object per line.
        #[arg(long)]
        stdin: bool,
        #[command(flatten)]
        scope: Scope,
    },
    /// Ask a question: a local language model drafts a short answer from the top passages, citing them;
    /// the citations are checked before the answer is shown ("Not found in your files" otherwise). Needs a
    /// generator model (`scripts/setup.sh` builds a small one).
    Ask {
        question: String,
        /// Passages (the best one of each of the top files) given to the model.
        #[arg(long, short = 'n', default_value_t = 4)]
        passages: usize,
        /// Reply tokens at most.
        #[arg(long, default_value_t = 192)]
        max_tokens: usize,
        /// 0 (default): always the most likely token. Above 0: sample at this temperature.
        #[arg(long, default_value_t = 0.0)]
        temperature: f32,
        /// Nucleus sampling threshold (with --temperature).
        #[arg(long, default_value_t = 0.95)]
        top_p: f32,
        /// Seed for sampling.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The generator model's id (a folder under the cache's models/ with generation.json), or a
        /// folder path. Default: the largest installed.
        #[arg(long, env = "SIFT_GENERATOR")]
        generator: Option<String>,
        /// Print JSON (no streaming).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        scope: Scope,
    },
    /// Show what is indexed and which model and execution provider are in use.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List files that were skipped or failed, with reasons.
    Problems { folder: Option<PathBuf> },
    /// Remove a folder and everything indexed under it.
    Remove { path: PathBuf },
    /// Index, then keep the index live as files change (Ctrl-C to stop).
    Watch,
    /// List the embedding models (size, languages, dimension, installed where, active), or download one.
    Models {
        #[command(subcommand)]
        action: Option<ModelsAction>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure retrieval quality on a BEIR-style folder (docs/, queries.jsonl, qrels.tsv).
    Eval(eval::EvalArgs),
    /// Measure speed.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum ModelsAction {
    /// Download a model from the Hugging Face Hub (pinned revision, checksums verified; Ctrl-C keeps the
    /// partial file and running it again resumes). `HF_ENDPOINT` names another hub.
    Download { id: String },
}

fn main() {
    // Started as the extraction worker (see `sift_core::worker`): read documents, nothing else.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == sift_core::worker::WORKER_ARG)
    {
        std::process::exit(sift_core::worker::serve());
    }
    // Before any thread starts and before ONNX Runtime loads: Sift never sends anything off the machine.
    sift_core::runtime::disable_telemetry();
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIFT_LOG")
                .unwrap_or_else(|_| level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // What goes on after a Ctrl-C: the command that was stopped (both pick up where it stopped).
    let resume = match cli.command {
        Command::Watch => "sift watch",
        _ => "sift index",
    };
    if let Err(e) = run(cli) {
        if e.chain().any(is_broken_pipe) {
            std::process::exit(0);
        }
        if INTERRUPTED.load(Ordering::SeqCst)
            && e.chain()
                .any(|c| matches!(c.downcast_ref(), Some(sift_core::Error::Cancelled)))
        {
            eprintln!("stopped: what was indexed is kept; run `{resume}` again to continue");
            std::process::exit(130);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Set by the first Ctrl-C during `index` and `watch`: indexing stops after the batch in hand and saves
/// the vector graph (so the next start loads it instead of rebuilding); a second Ctrl-C quits at once. The
/// database is consistent either way.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Makes Ctrl-C stop indexing cleanly (see [`INTERRUPTED`]). Only `index` and `watch` install it: other
/// commands keep the default (a model download killed by Ctrl-C keeps its partial file to resume).
fn stop_cleanly_on_ctrl_c() {
    let installed = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the current batch (Ctrl-C again to quit now)");
    });
    if let Err(e) = installed {
        tracing::warn!(error = %e, "could not handle Ctrl-C; it will end the program at once");
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Writes to standard output (see [`outln!`]): a closed pipe ends the program quietly.
fn write_out(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing the output: {e}");
        std::process::exit(1);
    }
}

/// Builds the engine configuration from the data directory's settings and the command line.
pub(crate) fn config(
    cli_data_dir: Option<&Path>,
    model_dir: Option<&Path>,
    precision: Option<&str>,
    threads: Option<usize>,
) -> Result<EngineConfig> {
    let data_dir = cli_data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(sift_core::paths::default_data_dir);
    let mut config = EngineConfig::new(data_dir)?;
    if let Some(dir) = model_dir {
        config.model_dir = Some(dir.to_path_buf());
    }
    if let Some(p) = precision {
        config.settings.precision = Some(p.parse()?);
    }
    if let Some(t) = threads {
        config.settings.threads = t;
    }
    config.worker = Some(
        sift_core::worker::WorkerCommand::current_exe()
            .context("cannot locate the sift executable to start its document reader")?,
    );
    Ok(config)
}

fn open(cli: &Cli) -> Result<Engine> {
    let config = config(
        cli.data_dir.as_deref(),
        cli.model_dir.as_deref(),
        cli.precision.as_deref(),
        cli.threads,
    )?;
    let dir = config.data_dir.clone();
    Engine::open(config).with_context(|| format!("opening the index in {}", dir.display()))
}

fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Index { paths } => {
            stop_cleanly_on_ctrl_c();
            let engine = open(&cli)?;
            for p in paths {
                let folder = engine.add_folder(p)?;
                eprintln!("added {}", folder.path.display());
            }
            index_with_progress(&engine)?;
            Ok(())
        }
        Command::Search {
            query,
            limit,
            json,
            stdin,
            scope,
        } => {
            let engine = open(&cli)?;
            let options = scope.options(*limit)?;
            if *stdin {
                let out = std::io::stdout();
                let mut out = out.lock();
                for line in std::io::stdin().lock().lines() {
                    let line = line.context("reading standard input")?;
                    let response = engine.search(&line, &options)?;
                    serde_json::to_writer(&mut out, &json_response(&response))?;
                    writeln!(out)?;
                    out.flush()?;
                }
                return Ok(());
            }
            let query = query.as_deref().context("give a query, or --stdin")?;
            let response = engine.search(query, &options)?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&json_response(&response))?
                );
            } else {
                print_results(&response);
            }
            Ok(())
        }
        Command::Ask {
            question,
            passages,
            max_tokens,
            temperature,
            top_p,
            seed,
            generator,
            json,
            scope,
        } => {
            let options = AskOptions {
                search: scope.options(*passages)?,
                passages: *passages,
                generate: GenerateParams {
                    max_new_tokens: *max_tokens,
                    temperature: *temperature,
                    top_p: *top_p,
                    seed: *seed,
                },
            };
            ask(&cli, question, generator.as_deref(), &options, *json)
        }
        Command::Status { json } => {
            let engine = open(&cli)?;
            let status = engine.status()?;
            let folders = engine.folders()?;
            if *json {
                let v = serde_json::json!({ "status": status, "folders": folders });
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                outln!("data directory  {}", status.data_dir.display());
                outln!(
                    "model           {} ({}, {} dimensions)",
                    status.model,
                    status.precision,
                    status.dim
                );
                outln!("provider        {}", status.provider);
                outln!("model files     {}", status.model_source);
                if let Some(lib) = &status.runtime_library {
                    outln!("onnx runtime    {}", lib.display());
                }
                outln!("folders         {}", status.counts.folders);
                for f in &folders {
                    outln!(
                        "  {}  ({} files, {} skipped or failed){}",
                        f.path.display(),
                        f.files,
                        f.problems,
                        if f.offline {
                            "  OFFLINE: not reachable, its index is kept"
                        } else {
                            ""
                        }
                    );
                }
                outln!(
                    "files           {} indexed, {} skipped, {} failed",
                    status.counts.indexed_files,
                    status.counts.skipped_files,
                    status.counts.failed_files
                );
                outln!(
                    "passages        {} ({} with sentence windows)",
                    status.counts.passages,
                    status.counts.chunks
                );
                match status.meaning {
                    MeaningSearch::Ready => outln!("meaning search  ready"),
                    MeaningSearch::Rebuilding {
                        with_vectors,
                        passages,
                    } => outln!(
                        "meaning search  REBUILDING: {with_vectors} of {passages} passages have vectors \
                         for this model; run `sift index` to finish (the rest is found by its words only)"
                    ),
                }
                outln!(
                    "vector index    {} vectors, {} deleted, {:.1} MB on disk ({})",
                    status.index_vectors,
                    status.index_dead,
                    status.index_bytes as f64 / 1e6,
                    serde_json::to_value(status.index_source)?
                        .as_str()
                        .unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Problems { folder } => {
            let engine = open(&cli)?;
            let folder = folder
                .as_ref()
                .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()));
            for p in engine.problem_files(folder.as_deref())? {
                outln!("{}\t{}\t{}", p.status, p.path.display(), p.reason);
            }
            Ok(())
        }
        Command::Remove { path } => {
            let engine = open(&cli)?;
            engine.remove_folder(path)?;
            eprintln!("removed {}", path.display());
            Ok(())
        }
        Command::Watch => {
            stop_cleanly_on_ctrl_c();
            let engine = open(&cli)?;
            index_with_progress(&engine)?;
            let roots: Vec<PathBuf> = engine.folders()?.into_iter().map(|f| f.path).collect();
            if roots.is_empty() {
                anyhow::bail!("no folders to watch; add one with `sift index PATH`");
            }
            let watcher = sift_core::watch::Watcher::new(&roots, Duration::from_millis(500))?;
            eprintln!("watching {} folder(s); Ctrl-C to stop", roots.len());
            loop {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    eprintln!("stopped watching");
                    return Ok(());
                }
                if let Some(paths) = watcher.next_batch(Duration::from_millis(500)) {
                    let report = engine.index_containing(&paths, &mut |_| {}, &INTERRUPTED)?;
                    if report.files_indexed
                        + report.files_removed
                        + report.files_failed
                        + report.files_skipped
                        > 0
                    {
                        eprintln!(
                            "updated: {} indexed, {} removed, {} skipped/failed",
                            report.files_indexed,
                            report.files_removed,
                            report.files_failed + report.files_skipped
                        );
                    }
                }
            }
        }
        Command::Models { action: None, json } => models::list(&cli, *json),
        Command::Models {
            action: Some(ModelsAction::Download { id }),
            ..
        } => models::download(&cli, id),
        Command::Eval(args) => eval::run(&cli, args),
        Command::Bench(args) => bench::run(&cli, args),
    }
}

/// Indexes all roots with a progress bar on stderr, then lists problems.
pub(crate) fn index_with_progress(engine: &Engine) -> Result<sift_core::IndexReport> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:40!} [{bar:30}] {pos}/{len} files  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut on_progress = |p: &Progress| {
        bar.set_length(p.files_total);
        bar.set_position(p.files_done);
        let name = p
            .folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        bar.set_message(match p.phase {
            Phase::Scanning => format!("scanning {name}"),
            Phase::Indexing => format!("indexing {name}"),
            Phase::Offline => format!("offline {name}"),
            Phase::Done => format!("done {name}"),
        });
    };
    let report = engine.index(&mut on_progress, &INTERRUPTED);
    bar.finish_and_clear();
    let report = report?;
    eprintln!(
        "{} files: {} indexed, {} unchanged, {} removed, {} skipped, {} failed; {} chunks embedded in {:.1}s",
        report.files_seen,
        report.files_indexed,
        report.files_unchanged,
        report.files_removed,
        report.files_skipped,
        report.files_failed,
        report.chunks_embedded,
        report.seconds
    );
    for root in &report.roots_offline {
        eprintln!(
            "  offline: {} is not reachable (unmounted or empty); its index is kept",
            root.display()
        );
    }
    for root in &report.roots_busy {
        eprintln!(
            "  {} is being indexed by another Sift process; left to it",
            root.display()
        );
    }
    for (path, reason) in report.problems.iter().take(50) {
        eprintln!("  not indexed: {}: {reason}", path.display());
    }
    if report.problems.len() > 50 {
        eprintln!(
            "  … and {} more (see `sift problems`)",
            report.problems.len() - 50
        );
    }
    Ok(report)
}

/// Search filters from the command line's `--folder` and `--type`.
/// What a search or an ask looks through, and how: the options `search` and `ask` share.
#[derive(clap::Args)]
struct Scope {
    /// Only files under this folder (repeatable).
    #[arg(long)]
    folder: Vec<PathBuf>,
    /// Only files with this extension (repeatable), e.g. --type md.
    #[arg(long = "type")]
    kinds: Vec<String>,
    /// hybrid (default), vector or keyword.
    #[arg(long, default_value = "hybrid")]
    mode: String,
}

impl Scope {
    fn options(&self, limit: usize) -> Result<SearchOptions> {
        let mut filter = Filter::default();
        for f in &self.folder {
            filter
                .folders
                .push(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()));
        }
        filter.kinds = self
            .kinds
            .iter()
            .map(|k| k.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        Ok(SearchOptions {
            limit,
            filter,
            mode: self.mode.parse::<Mode>()?,
        })
    }
}

/// `sift ask`: finds the generator model (a missing one is one sentence and exit code 1), opens the index,
/// streams the draft, then prints the checked answer's status and citations (or JSON).
fn ask(
    cli: &Cli,
    question: &str,
    generator: Option<&str>,
    options: &AskOptions,
    json: bool,
) -> Result<()> {
    // --generator / SIFT_GENERATOR, else the one chosen in settings, else the largest installed.
    let chosen = match generator {
        Some(g) => Some(g.to_string()),
        None => {
            let data_dir = cli
                .data_dir
                .clone()
                .unwrap_or_else(sift_core::paths::default_data_dir);
            sift_core::Settings::load(&data_dir)?.answer_model
        }
    };
    let dir = match chosen.as_deref() {
        Some(g) if Path::new(g).join(generate::CONFIG_FILE).is_file() => PathBuf::from(g),
        other => generate::locate(other)?,
    };
    let engine = open(cli)?;
    let gen_options = GeneratorOptions {
        threads: cli
            .threads
            .unwrap_or_else(sift_core::runtime::default_threads),
        ..GeneratorOptions::default()
    };
    let mut generator = Generator::load(&dir, &gen_options)
        .with_context(|| format!("loading the generator model in {}", dir.display()))?;
    let stream = !json;
    let mut streamed = false;
    let response = engine.ask(question, options, &mut generator, None, &mut |text| {
        if stream {
            streamed = true;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        }
    })?;
    if json {
        let t = &response.timings;
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "question": response.question,
                "answer": response.answer.display(),
                "status": match &response.answer {
                    Answer::Answered { .. } => "answered",
                    Answer::NotFound { .. } => "not_found",
                },
                "reason": match &response.answer {
                    Answer::Answered { .. } => None,
                    Answer::NotFound { reason, .. } => Some(reason),
                },
                "draft": match &response.answer {
                    Answer::Answered { text, .. } | Answer::NotFound { draft: text, .. } => text,
                },
                "citations": response.answer.citations(),
                "passages": response.passages.iter().map(|p| serde_json::json!({
                    "number": p.number,
                    "path": p.path.to_string_lossy(),
                    "page": p.page,
                    "line": p.line,
                    "location": p.location,
                    "text": p.text,
                    "cut": p.cut,
                    "cited": p.cited,
                })).collect::<Vec<_>>(),
                "finish": response.finish,
                "timings": {
                    "search_ms": t.search_ms,
                    "first_token_ms": t.first_token_ms,
                    "prefill_tok_s": t.prefill_tok_s,
                    "decode_tok_s": t.decode_tok_s,
                    "prompt_tokens": t.prompt_tokens,
                    "generated_tokens": t.generated_tokens,
                    "total_ms": t.total_ms,
                },
                "model": response.model,
                "provider": response.provider,
            }))?
        );
        return Ok(());
    }
    if streamed {
        outln!("");
    }
    outln!("");
    match &response.answer {
        Answer::Answered { .. } => outln!("Draft answer — check the sources:"),
        Answer::NotFound { reason, .. } => outln!("{} ({reason}).", sift_core::answer::NOT_FOUND),
    }
    for p in &response.passages {
        let mark = if p.cited { "*" } else { " " };
        let place = match p.page {
            Some(page) => format!("page {page}"),
            None => format!("line {}", p.line),
        };
        outln!("{mark}[{}] {} ({place})", p.number, p.path.display());
    }
    if response.passages.is_empty() {
        for hit in &response.search.results {
            outln!("    {}", hit.path.display());
        }
    }
    let t = &response.timings;
    outln!(
        "{} on {}: first token {:.0} ms, prefill {:.0} tok/s, decode {:.1} tok/s",
        response.model,
        response.provider,
        t.first_token_ms,
        t.prefill_tok_s,
        t.decode_tok_s
    );
    Ok(())
}

/// The documented JSON shape of a response.
fn json_response(r: &SearchResponse) -> serde_json::Value {
    serde_json::json!({
        "query": r.query,
        "took_ms": r.took_ms,
        "stages": r.stages,
        "meaning": r.meaning,
        "confidence": r.confidence,
        "results": r.results.iter().map(|h| serde_json::json!({
            "path": h.path.to_string_lossy(),
            "score": h.score,
            "strength": h.strength,
            "passage": {
                "text": h.passage.text,
                "start": h.passage.start,
                "end": h.passage.end,
                "line": h.passage.line,
                "page": h.passage.page,
                "location": h.passage.location,
                "highlights": h.passage.highlights,
                "answer": h.passage.answer,
            }
        })).collect::<Vec<_>>(),
    })
}

fn print_results(r: &SearchResponse) {
    if r.results.is_empty() {
        outln!("no results ({:.0} ms)", r.took_ms);
        return;
    }
    if r.confidence == Confidence::None {
        outln!("Nothing in your files closely matches this; the nearest passages:");
    }
    let mut divider = r.confidence == Confidence::None;
    for (i, hit) in r.results.iter().enumerate() {
        if !divider && hit.strength != Strength::Strong {
            outln!("    — less related —");
            divider = true;
        }
        outln!(
            "{:>2}. {}:{}  ({:.4})",
            i + 1,
            hit.path.display(),
            hit.passage.line,
            hit.score
        );
        // The sentences that answer, when the passage has them; else the passage from its start.
        let text = &hit.passage.text;
        let shown = hit
            .passage
            .answer
            .and_then(|(a, b)| text.get(a..b))
            .unwrap_or(text);
        let snippet: String = shown.split_whitespace().collect::<Vec<_>>().join(" ");
        let snippet: String = snippet.chars().take(240).collect();
        outln!("    {snippet}");
    }
    let note = match (r.catching_up, r.meaning) {
        (_, MeaningSearch::Rebuilding { with_vectors, passages }) => format!(
            "; meaning search covers {with_vectors} of {passages} passages until indexing finishes (run `sift index`)"
        ),
        (true, _) => ", index still catching up".to_string(),
        _ => String::new(),
    };
    let noun = if r.results.len() == 1 {
        "result"
    } else {
        "results"
    };
    outln!("{} {noun} in {:.0} ms{note}", r.results.len(), r.took_ms);
}
