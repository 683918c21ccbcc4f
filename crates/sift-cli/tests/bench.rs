//! `sift bench query` end to end on a small real index: the build and query stages run as their own
//! processes, the saved graphs are reused by a second run, and the figures and the chart come out.
//! `sift bench embed --plot` charts throughput per thread count; `sift bench indexing` adds a Python
//! onnxruntime + tokenizers row when the setup venv is there (without it the test says so and passes
//! locally, and fails under `CI=true`).

mod common;
use common::{index, run_ok, sift};

#[test]
fn bench_query_builds_reuses_and_reports_recall() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let topics = [
        "river flooding after heavy rain",
        "filing a tax return late",
        "tuning a violin before a concert",
        "the kernel scheduler and thread priorities",
        "baking sourdough bread at home",
        "early termination clause of a contract",
    ];
    for (i, topic) in topics.iter().enumerate() {
        for j in 0..4 {
            std::fs::write(
                files.path().join(format!("note-{i}-{j}.txt")),
                format!("Note {j} on {topic}. Some thoughts on {topic}, written down on day {j}."),
            )
            .unwrap();
        }
    }
    index(data.path(), files.path());
    let db = data.path().join("index.sqlite");
    let plot = work.path().join("curve.svg");
    let bench = |extra: &[&str]| {
        let mut c = sift(data.path());
        c.args([
            "bench",
            "query",
            "--sizes",
            "20,400",
            "--queries",
            "4",
            "--ef",
            "16,64",
        ])
        .args(extra)
        .arg("--db")
        .arg(&db)
        .arg("--work")
        .arg(work.path().join("graphs"))
        .arg("--plot")
        .arg(&plot);
        run_ok(c).0
    };
    let first = bench(&[]);
    for n in [20, 400] {
        assert!(first.contains(&format!("{n} vectors: built in")), "{first}");
        assert!(
            first.contains(&format!("{n} vectors: loaded in")),
            "{first}"
        );
    }
    // (width, recall@10) of each row.
    let recalls: Vec<(bool, f64)> = first
        .lines()
        .filter_map(|l| {
            let r = l.split("recall@10 ").nth(1)?;
            Some((l.contains("ef   16:"), r.trim().parse().unwrap()))
        })
        .collect();
    // Two ef, the default and after deleting 1 %, per size.
    assert_eq!(recalls.len(), 8, "{first}");
    assert_eq!(first.matches("default (ef  128)").count(), 2, "{first}");
    // A few hundred points: HNSW at ef 64 and wider is exact, with 8-bit vectors against the f32 truth.
    // (At ef 16 a graph built by parallel inserts may miss a few of 4 queries' 40 neighbours: 0.75 seen.)
    assert!(
        recalls.iter().all(|&(narrow, r)| narrow || r >= 0.9),
        "{first}"
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert_eq!(svg.matches("<circle").count(), 4, "{svg}");

    // A second run reuses the saved graphs instead of building them again.
    let second = bench(&[]);
    assert!(!second.contains("built in"), "{second}");
    assert_eq!(second.matches("reusing the graph").count(), 2, "{second}");

    // Other build parameters: graphs of their own, beside the default ones.
    let other = bench(&["--ef-construction", "24"]);
    assert!(other.contains("ef_construction: 24"), "{other}");
    assert_eq!(other.matches("built in").count(), 2, "{other}");
    for n in [20, 400] {
        assert!(work
            .path()
            .join(format!("graphs/n{n}-efc24/graph"))
            .is_dir());
        assert!(work.path().join(format!("graphs/n{n}/graph")).is_dir());
    }
}

/// A few generated paragraphs, one file each.
fn notes(dir: &std::path::Path, n: usize) {
    let topics = [
        "river flooding after heavy rain",
        "tuning a violin before a concert",
        "baking sourdough bread at home",
    ];
    for i in 0..n {
        let topic = topics[i % topics.len()];
        std::fs::write(
            dir.join(format!("note-{i}.txt")),
            format!("Note {i} on {topic}. Some thoughts on {topic}, written down on day {i}."),
        )
        .unwrap();
    }
}

#[test]
fn bench_embed_plots_throughput_per_thread_count() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let plot = work.path().join("embed.svg");
    let mut c = sift(data.path());
    c.args([
        "bench",
        "embed",
        "--texts",
        "6",
        "--queries",
        "2",
        "--repeat",
        "1",
        "--batches",
        "1,4",
        "--threads-list",
        "1,2",
        "--threads",
        "2",
    ])
    .arg("--plot")
    .arg(&plot);
    let out = run_ok(c).0;
    // The default threads' table, then the other thread count's.
    assert!(out.contains("2 thread(s); 6 texts"), "{out}");
    assert!(out.contains("1 thread(s):"), "{out}");
    assert_eq!(out.matches("raw ORT/s").count(), 2, "{out}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    for name in [
        "sift, 1 thread<",
        "raw ORT, 1 thread<",
        "sift, 2 threads<",
        "raw ORT, 2 threads<",
    ] {
        assert!(svg.contains(name), "{name} missing: {svg}");
    }
    // Two batch sizes per line, four lines.
    assert_eq!(svg.matches("<circle").count(), 8, "{svg}");
    // Nothing to embed: a clear error, not a crash.
    let empty = tempfile::tempdir().unwrap();
    let out = sift(data.path())
        .args(["bench", "embed", "--corpus"])
        .arg(empty.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Nothing to embed"), "{err}");
}

/// The venv scripts/setup.sh makes (with onnxruntime and tokenizers), where `sift bench indexing` looks.
fn setup_python() -> Option<std::path::PathBuf> {
    let venv = sift_core::paths::cache_dir().join("venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    if python.is_file() {
        return Some(python);
    }
    common::setup_part_missing(&format!(
        "no Python venv at {} (run scripts/setup.sh)",
        python.display()
    ));
    None
}

#[test]
fn bench_indexing_compares_with_python_onnxruntime() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    notes(files.path(), 5);

    // Without the interpreter the Python row is left out with a note, not an error.
    let mut c = sift(data.path());
    c.args(["bench", "indexing", "--python", "/nonexistent/python"])
        .args(["--runs", "2"])
        .arg(files.path());
    let out = run_ok(c).0;
    assert!(out.contains("raw ORT session, same units"), "{out}");
    assert!(!out.contains("Python onnxruntime + tokenizers"), "{out}");
    // Both sides ran twice (`--runs 2`), alternating.
    let runs = out
        .lines()
        .find_map(|l| l.strip_prefix("each run, in order: "))
        .unwrap_or_else(|| panic!("no runs line: {out}"));
    let seconds: Vec<f64> = runs
        .split(", ")
        .map(|r| {
            r.trim_start_matches(|c: char| !c.is_ascii_digit())
                .trim_end_matches(" s")
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(seconds.len(), 4, "{runs}");
    // Indexing takes a measurable time; the raw loop over these few notes can round to 0.00 s.
    assert!(seconds[0] > 0.0 && seconds[2] > 0.0, "{runs}");
    assert!(
        out.contains("Python row left out: no Python at /nonexistent/python")
            && out.contains("scripts/setup.sh"),
        "{out}"
    );

    let Some(_python) = setup_python() else {
        return;
    };
    let mut c = sift(data.path());
    c.args(["bench", "indexing"]).arg(files.path());
    let out = run_ok(c).0;
    let row = out
        .lines()
        .find(|l| l.starts_with("Python onnxruntime + tokenizers, same units"))
        .unwrap_or_else(|| panic!("no Python row: {out}"));
    let figures: Vec<f64> = row
        .rsplit("units")
        .next()
        .unwrap()
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    // seconds, units/s, tokens/s
    assert_eq!(figures.len(), 3, "{row}");
    assert!(figures[1] > 0.0 && figures[2] > 0.0, "{row}");
    assert!(out.contains("sift / Python: "), "{out}");
    // The same units, tokenized the same way.
    assert!(!out.contains("tokenization differs"), "{out}");
}
