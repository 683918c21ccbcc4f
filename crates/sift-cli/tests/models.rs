//! `sift models` and `sift models download` against a local server in the hub's layout (via `HF_ENDPOINT`).

#[path = "../../sift-core/tests/support/answer_repo.rs"]
mod answer_repo;
mod common;
#[path = "../../sift-core/tests/support/hub_server.rs"]
mod hub_server;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{run_ok, sift};
use hub_server::HubServer;

const BGE_REPO: &str = "BAAI/bge-small-en-v1.5";
const BGE_REV: &str = "5c38ec7c405ec4b44b94cc5a9bb96e735b38267a";

fn models_cmd(data: &Path, cache: &Path, endpoint: &str) -> Command {
    let mut c = sift(data);
    c.env("SIFT_CACHE_DIR", cache)
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HOME", cache.join("hf"))
        .env_remove("SIFT_MODEL_DIR");
    c
}

#[test]
fn models_lists_every_model_with_its_facts() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut c = models_cmd(data.path(), cache.path(), "http://127.0.0.1:9");
    c.args(["models", "--json"]);
    let all: serde_json::Value = serde_json::from_str(&run_ok(c).0).unwrap();
    let rows = all["embedding"].as_array().unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "all-MiniLM-L6-v2",
            "bge-small-en-v1.5",
            "multilingual-e5-small",
            "bge-base-en-v1.5"
        ]
    );
    let active: Vec<&str> = rows
        .iter()
        .filter(|r| r["active"] == true)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(active, ["all-MiniLM-L6-v2"]);
    let bge = &rows[1];
    assert_eq!(bge["installed"], false);
    assert_eq!(bge["downloadable"], true);
    assert_eq!(bge["dim"], 384);
    assert_eq!(bge["languages"], "English");
    assert_eq!(rows[2]["languages"], "100+ languages");
    assert_eq!(rows[3]["dim"], 768);
    // Answer models: the manifest's, none installed in an empty cache, none in use.
    let answer = all["answer"].as_array().unwrap();
    let ids: Vec<&str> = answer.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct"]);
    assert!(answer
        .iter()
        .all(|r| r["installed"] == false && r["active"] == false && r["downloadable"] == true));
    assert!(
        answer[0]["size"].as_u64().unwrap()
            > answer[0]["approx_tokens_per_s"].as_f64().unwrap() as u64
    );

    let mut c = models_cmd(data.path(), cache.path(), "http://127.0.0.1:9");
    c.arg("models");
    let text = run_ok(c).0;
    assert!(text.contains("* all-MiniLM-L6-v2"), "{text}");
    assert!(
        text.contains("not installed: `sift models download bge-small-en-v1.5`"),
        "{text}"
    );
}

/// `sift models download` of an answer model the manifest does not pin: the commit and checksums come from the
/// Hub's API (here a tiny decoder published as onnx-community/Qwen2.5-0.5B-Instruct on the local server), the
/// files land verified with generation.json, and `sift models` then lists it installed and in use.
#[test]
fn an_answer_model_downloads_and_is_listed_in_use() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let server = HubServer::start();
    server.redirect_to_cdn(true);
    let commit = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";
    let files = answer_repo::files("onnx/model_q4.onnx");
    answer_repo::publish(
        &server,
        "onnx-community/Qwen2.5-0.5B-Instruct",
        commit,
        &files,
    );
    let mut c = models_cmd(data.path(), cache.path(), &server.endpoint);
    c.args(["models", "download", "qwen2.5-0.5b-instruct"]);
    let out = run_ok(c).0;
    let dir = cache.path().join("models/qwen2.5-0.5b-instruct");
    assert!(out.contains(&dir.display().to_string()), "{out}");
    for (path, bytes) in &files {
        assert_eq!(&std::fs::read(dir.join(path)).unwrap(), bytes, "{path}");
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("generation.json")).unwrap()).unwrap();
    assert_eq!(config["model_id"], "qwen2.5-0.5b-instruct");
    assert_eq!(
        config["downloaded_from"],
        format!("onnx-community/Qwen2.5-0.5B-Instruct@{commit}")
    );

    let mut c = models_cmd(data.path(), cache.path(), &server.endpoint);
    c.args(["models", "--json"]);
    let all: serde_json::Value = serde_json::from_str(&run_ok(c).0).unwrap();
    let qwen = &all["answer"][0];
    assert_eq!(qwen["id"], "qwen2.5-0.5b-instruct");
    assert_eq!(
        (qwen["installed"].clone(), qwen["active"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(all["answer"][1]["active"], false);
    // A second download is a no-op that says where it is.
    let mut c = models_cmd(data.path(), cache.path(), &server.endpoint);
    c.args(["models", "download", "qwen2.5-0.5b-instruct"]);
    let out = c.output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already installed"));
}

#[test]
fn download_offline_says_so_in_one_sentence() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = models_cmd(
        data.path(),
        cache.path(),
        &format!("http://127.0.0.1:{port}"),
    );
    c.args(["models", "download", "bge-small-en-v1.5"]);
    let out = c.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: Sift could not reach 127.0.0.1:{port}; check your internet connection and try again."
        )),
        "{stderr}"
    );
    // A model the manifest does not have is refused before any request (unpinned files are refused too:
    // `sift-core/tests/download.rs`).
    let mut c = models_cmd(
        data.path(),
        cache.path(),
        &format!("http://127.0.0.1:{port}"),
    );
    c.args(["models", "download", "no-such-model"]);
    let out = c.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown model `no-such-model`"), "{stderr}");
}

/// The server has other bytes than the pinned ones: a first run interrupted by Ctrl-C keeps its partial
/// file, the rerun resumes it with a range, and the checksum then rejects the file and deletes it.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_partial_file_the_rerun_resumes_and_a_bad_checksum_is_rejected() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let server = HubServer::start();
    // The pinned size (models/manifest.json) with other bytes: the checksum, not the size, rejects it.
    let fake: Vec<u8> = (0..711_396u32).map(|i| (i % 251) as u8).collect();
    server.add(BGE_REPO, BGE_REV, "tokenizer.json", fake.clone());
    // Slow enough (≈ 4.5 s for the file) that Ctrl-C always lands mid-download, however busy the machine.
    server.slow(16 * 1024, Duration::from_millis(100));
    let part = cache
        .path()
        .join("models/bge-small-en-v1.5/tokenizer.json.part");

    let mut c = models_cmd(data.path(), cache.path(), &server.endpoint);
    c.args(["models", "download", "bge-small-en-v1.5"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    common::interruptible(&mut c);
    let mut child = c.spawn().unwrap();
    let started = Instant::now();
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 100_000 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no partial file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ctrl-C.
    common::ctrl_c(&child);
    let status = child.wait().unwrap();
    assert!(!status.success());
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept >= 100_000 && kept < fake.len() as u64, "{kept}");
    server.slow(16 * 1024, Duration::from_millis(10));

    let mut c = models_cmd(data.path(), cache.path(), &server.endpoint);
    c.args(["models", "download", "bge-small-en-v1.5"]);
    let out = c.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "error: A downloaded file did not match its published checksum and was deleted; try again."
        ),
        "{stderr}"
    );
    let reqs = server.requests_for("tokenizer.json");
    let resumed = reqs.last().unwrap();
    let at = resumed
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{reqs:?}"));
    assert_eq!(at, kept);
    assert_eq!(resumed.status, 206);
    assert_eq!(resumed.sent, fake.len() as u64 - at);
    assert!(!part.exists());
    assert!(!part.with_file_name("tokenizer.json").exists());
}
