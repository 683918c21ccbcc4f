//! `sift bench query` end to end on a small real index: the build and query stages run as their own
//! processes, the saved graphs are reused by a second run, and the figures and the chart come out.

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
    let bench = || {
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
        .arg("--db")
        .arg(&db)
        .arg("--work")
        .arg(work.path().join("graphs"))
        .arg("--plot")
        .arg(&plot);
        run_ok(c).0
    };
    let first = bench();
    for n in [20, 400] {
        assert!(first.contains(&format!("{n} vectors: built in")), "{first}");
        assert!(
            first.contains(&format!("{n} vectors: loaded in")),
            "{first}"
        );
    }
    let recalls: Vec<f64> = first
        .lines()
        .filter_map(|l| l.split("recall@10 ").nth(1))
        .map(|r| r.trim().parse().unwrap())
        .collect();
    // Two ef, the default and after deleting 1 %, per size.
    assert_eq!(recalls.len(), 8, "{first}");
    assert_eq!(first.matches("default (ef  128)").count(), 2, "{first}");
    // A few hundred points: HNSW at ef 64 is exact, with 8-bit vectors against the f32 truth.
    assert!(recalls.iter().all(|r| *r >= 0.9), "{first}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert_eq!(svg.matches("<circle").count(), 4, "{svg}");

    // A second run reuses the saved graphs instead of building them again.
    let second = bench();
    assert!(!second.contains("built in"), "{second}");
    assert_eq!(second.matches("reusing the graph").count(), 2, "{second}");
}
