//! `sift eval` end to end on a tiny BEIR-style folder: the figures, the model it measured, and a model
//! chosen by id.

use std::path::Path;

mod common;
use common::{run_ok, sift};

/// Three documents, two queries each with one relevant document.
fn dataset(dir: &Path) {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for (id, text) in [
        (
            "contract",
            "Either party may end this agreement early by giving ninety days written notice.",
        ),
        (
            "recipe",
            "Boil water, cook the spaghetti for nine minutes, then add the tomato sauce.",
        ),
        (
            "garden",
            "Tomatoes need six hours of sun a day and compost in spring.",
        ),
    ] {
        std::fs::write(docs.join(format!("{id}.txt")), text).unwrap();
    }
    std::fs::write(
        dir.join("queries.jsonl"),
        "{\"_id\": \"q1\", \"text\": \"how can I cancel the deal ahead of schedule\"}\n\
         {\"_id\": \"q2\", \"text\": \"how long should pasta boil\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("qrels.tsv"),
        "query-id\tcorpus-id\tscore\nq1\tcontract\t1\nq2\trecipe\t1\n",
    )
    .unwrap();
}

#[test]
fn eval_reports_the_figures_for_the_model_it_was_given() {
    let set = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    dataset(set.path());
    let mut c = sift(work.path());
    c.arg("eval")
        .arg(set.path())
        .arg("--work-dir")
        .arg(work.path())
        .args([
            "--model",
            "all-MiniLM-L6-v2",
            "--modes",
            "vector,hybrid",
            "--json",
        ]);
    let (stdout, stderr) = run_ok(c);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    assert_eq!(report["model"], "all-MiniLM-L6-v2", "{report}");
    assert_eq!(report["passages"], 3, "{report}");
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["queries"], 2, "{row}");
        // Both answers are first by meaning, though "cancel the deal" shares no word with the contract.
        assert_eq!(row["ndcg@10"], 1.0, "{row}");
        assert_eq!(row["mrr@10"], 1.0, "{row}");
    }

    // An id no manifest lists is refused, saying which.
    let mut c = sift(work.path());
    c.arg("eval")
        .arg(set.path())
        .arg("--work-dir")
        .arg(work.path())
        .args(["--model", "no-such-model"]);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no-such-model"), "{stderr}");
}
