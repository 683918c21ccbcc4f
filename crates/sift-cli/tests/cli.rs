//! The `sift` binary end to end: index, search --stdin --json, status, and a kill -9 in the middle of
//! indexing followed by a resume.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::{index, sift, status};

#[test]
fn index_then_search_stdin_json() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        files.path().join("contract.txt"),
        "Either party may end this agreement early by giving ninety days written notice.",
    )
    .unwrap();
    std::fs::write(
        files.path().join("recipe.md"),
        "# Pasta\n\nBoil water, cook spaghetti nine minutes, add tomato sauce.",
    )
    .unwrap();
    std::fs::write(
        files.path().join("garden.txt"),
        "Tomatoes need six hours of sun and compost in spring.",
    )
    .unwrap();
    std::fs::write(files.path().join("image.png"), [0x89, b'P', b'N', b'G']).unwrap();

    let stderr = index(data.path(), files.path());
    assert!(
        stderr.contains("3 indexed") && stderr.contains("image.png"),
        "{stderr}"
    );

    let mut child = sift(data.path())
        .args(["search", "--stdin", "--json", "--limit", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"how do I cancel the deal ahead of schedule\n\"tomato sauce\"\nNEAR( -* \"\n\nwhat is the capital of Australia\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "one line per query, in order");
    // Confidence: every word of a phrase present is a strong match; a question about nothing here says so.
    assert_eq!(lines[1]["confidence"], "strong");
    assert_eq!(lines[1]["results"][0]["strength"], "strong");
    assert_eq!(lines[4]["confidence"], "none", "{}", lines[4]);
    assert_eq!(
        lines[0]["query"],
        "how do I cancel the deal ahead of schedule"
    );
    let first = &lines[0]["results"][0];
    assert!(first["path"].as_str().unwrap().ends_with("contract.txt"));
    assert!(Path::new(first["path"].as_str().unwrap()).is_absolute());
    assert!(first["score"].as_f64().unwrap() > 0.0);
    assert!(lines[0]["took_ms"].as_f64().unwrap() >= 0.0);
    let passage = &first["passage"];
    assert!(passage["text"].as_str().unwrap().contains("ninety days"));
    assert_eq!(passage["start"], 0);
    assert_eq!(passage["line"], 1);
    assert!(passage["page"].is_null());
    assert!(passage["end"].as_u64().unwrap() > 0);
    assert_eq!(
        lines[1]["results"].as_array().unwrap().len(),
        1,
        "exact phrase matches one file"
    );
    assert!(lines[1]["results"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("recipe.md"));
    assert_eq!(
        lines[3]["results"].as_array().unwrap().len(),
        0,
        "empty query, no results"
    );

    let s = status(data.path());
    assert_eq!(s["status"]["model"], "all-MiniLM-L6-v2");
    assert_eq!(s["status"]["dim"], 384);
    assert_eq!(s["status"]["provider"], "CPU");
    assert_eq!(s["status"]["counts"]["indexed_files"], 3);
    assert_eq!(s["status"]["counts"]["skipped_files"], 1);
}

#[test]
fn killed_indexing_leaves_a_consistent_database_that_resumes() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let topics = [
        "rivers and lakes",
        "tax returns",
        "violin lessons",
        "kernel scheduling",
        "bread baking",
    ];
    let total = 400;
    for i in 0..total {
        let body = format!(
            "Note {i} about {}. {}",
            topics[i % topics.len()],
            "This paragraph has enough words to need a little embedding work for every file. "
                .repeat(12)
        );
        std::fs::write(files.path().join(format!("note-{i:04}.txt")), body).unwrap();
    }
    let mut child = sift(data.path())
        .args(["--threads", "1", "index"])
        .arg(files.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some, not all, files are committed, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(120);
    let db = data.path().join("index.sqlite");
    loop {
        assert!(Instant::now() < deadline, "indexing never started");
        std::thread::sleep(Duration::from_millis(150));
        if db.exists() {
            let n = status(data.path())["status"]["counts"]["indexed_files"]
                .as_u64()
                .unwrap_or(0);
            if n > 0 {
                assert!(
                    n < total as u64,
                    "indexing finished before it could be killed; make the fixture larger"
                );
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let s = status(data.path());
    let counts = &s["status"]["counts"];
    let done = counts["indexed_files"].as_u64().unwrap();
    assert!(done > 0 && done < total as u64);
    assert_eq!(
        counts["chunks"], counts["vectors"],
        "every stored chunk has its vector"
    );
    assert_eq!(
        s["status"]["index_vectors"], counts["chunks"],
        "the vector index caught up from SQLite"
    );

    // Resume: only the rest is indexed.
    let stderr = index(data.path(), files.path());
    assert!(
        stderr.contains(&format!(
            "{} indexed, {} unchanged",
            total as u64 - done,
            done
        )),
        "{stderr}"
    );
    let s = status(data.path());
    assert_eq!(s["status"]["counts"]["indexed_files"], total);
    assert_eq!(
        s["status"]["index_vectors"],
        s["status"]["counts"]["chunks"]
    );
    let out = sift(data.path())
        .args([
            "search",
            "--json",
            "--limit",
            "3",
            "playing a string instrument",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let body = std::fs::read_to_string(v["results"][0]["path"].as_str().unwrap()).unwrap();
    assert!(body.contains("violin"), "{body}");
}

#[test]
fn committed_fixture_folder_is_searchable_by_meaning() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/notes");
    let data = tempfile::tempdir().unwrap();
    let stderr = index(data.path(), &fixtures);
    assert!(
        stderr.contains("4 indexed") && stderr.contains("1 skipped"),
        "{stderr}"
    );
    for (query, expected) in [
        (
            "how can I get out of my contract",
            "legal/service-agreement.txt",
        ),
        (
            "what should I make for supper tonight",
            "kitchen/weeknight-pasta.md",
        ),
        (
            "where did I describe the approximate neighbour lookup defect",
            "dev/hnsw-notes.md",
        ),
        ("japanese temples in the fall", "travel/kyoto.txt"),
    ] {
        // A query shares no content word with its answer: it must be found by meaning.
        let text = std::fs::read_to_string(fixtures.join(expected))
            .unwrap()
            .to_lowercase();
        let words: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        for w in query.split_whitespace().filter(|w| w.len() > 3) {
            assert!(
                !words.contains(&w),
                "{expected} contains `{w}` from {query:?}"
            );
        }
        let out = sift(data.path())
            .args(["search", "--json", query])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let top = v["results"][0]["path"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(top.ends_with(expected), "{query:?} → {top}");
    }
}

/// `sift … | head`: when the reader has gone, `sift` stops quietly, never with a panic message.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};

    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    for i in 0..3 {
        std::fs::write(
            files.path().join(format!("note{i}.txt")),
            format!("Meeting note {i}: the budget review moved to Thursday."),
        )
        .unwrap();
    }
    index(data.path(), files.path());
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here only.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    for args in [
        &["search", "--limit", "3", "budget review"][..],
        &["status"],
        &["search", "--stdin", "--json"],
    ] {
        let mut child = sift(data.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(write.try_clone().unwrap()))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"budget review\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}
