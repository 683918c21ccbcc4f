//! An answer model in the Hugging Face Hub's onnx-community layout, made from `fixtures/hub_decoder` (a tiny
//! random decoder), for download tests: its graph and tokenizer, the configuration files a Hub export has
//! instead of Sift's `generation.json`, and the API's listing of a commit (`/api/models/{repo}/revision/main`:
//! LFS files by sha256, small files by git blob id). Shared by sift-core's, sift-cli's and the app's tests
//! (`#[path]`, next to `hub_server.rs`).
#![allow(dead_code)]

use std::path::PathBuf;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::hub_server::HubServer;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sift-core/tests/fixtures/hub_decoder")
        .canonicalize()
        .or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../crates/sift-core/tests/fixtures/hub_decoder")
                .canonicalize()
        })
        .expect("crates/sift-core/tests/fixtures/hub_decoder exists")
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The fixture's expected prompt, prompt ids and greedy ids (`expected.json`).
pub fn expected() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture().join("expected.json")).unwrap()).unwrap()
}

/// The repository's files (path in the repository, bytes), the graph at `graph` (e.g. `onnx/model_q4.onnx`).
pub fn files(graph: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fixture();
    let ours: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("generation.json")).unwrap()).unwrap();
    let json = |v: serde_json::Value| serde_json::to_vec_pretty(&v).unwrap();
    vec![
        (
            graph.to_string(),
            std::fs::read(dir.join("model_fp16.onnx")).unwrap(),
        ),
        (
            "tokenizer.json".into(),
            std::fs::read(dir.join("tokenizer.json")).unwrap(),
        ),
        (
            "tokenizer_config.json".into(),
            json(serde_json::json!({
                "add_bos_token": false,
                "bos_token": null,
                "eos_token": {"content": "t1", "special": true},
                "chat_template": ours["chat_template"],
            })),
        ),
        (
            "config.json".into(),
            json(serde_json::json!({
                "architectures": ["TinyForCausalLM"], "hidden_size": 8, "num_attention_heads": 2,
                "num_key_value_heads": 1, "max_position_embeddings": 64, "eos_token_id": 1,
            })),
        ),
        (
            "generation_config.json".into(),
            json(serde_json::json!({"eos_token_id": [1]})),
        ),
    ]
}

/// The API's answer for `repo` at `commit`: every file's size and git blob id, and the LFS sha256 of the
/// graph and the tokenizer (as the Hub stores them).
pub fn api_listing(repo: &str, commit: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let siblings: Vec<serde_json::Value> = files
        .iter()
        .map(|(path, bytes)| {
            let mut blob = Sha1::new();
            blob.update(format!("blob {}\0", bytes.len()).as_bytes());
            blob.update(bytes);
            let mut s = serde_json::json!({
                "rfilename": path, "size": bytes.len(), "blobId": hex(&blob.finalize()),
            });
            if path.ends_with(".onnx") || path.ends_with("tokenizer.json") {
                s["lfs"] = serde_json::json!({
                    "sha256": hex(&Sha256::digest(bytes)), "size": bytes.len(), "pointerSize": 134,
                });
            }
            s
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"id": repo, "sha": commit, "siblings": siblings}))
        .unwrap()
}

/// Serves `files` at `repo`@`commit` and lists them as `main`'s newest commit.
pub fn publish(server: &HubServer, repo: &str, commit: &str, files: &[(String, Vec<u8>)]) {
    for (path, bytes) in files {
        server.add(repo, commit, path, bytes.clone());
    }
    server.serve(
        &format!("/api/models/{repo}/revision/main"),
        api_listing(repo, commit, files),
    );
}
