//! End to end: the real MiniLM files served in the hub's layout, downloaded into the Sift cache, found by
//! `locate`, and embedding text exactly as the originals do. Its own test binary: it sets `SIFT_CACHE_DIR`.

#[path = "support/hub_server.rs"]
mod hub_server;

use std::sync::atomic::AtomicBool;

use sha2::{Digest, Sha256};
use sift_core::download;
use sift_core::embed::{EmbedOptions, Embedder};
use sift_core::model::{self, HubFile, HubOptions, Precision};

#[test]
fn a_downloaded_model_is_found_and_embeds_like_the_original() {
    let original = model::setup_dir("all-MiniLM-L6-v2");
    let original = if original.join("model_int8.onnx").is_file() {
        original
    } else {
        std::path::PathBuf::from("/root/.cache/sift/models/all-MiniLM-L6-v2")
    };
    // ONNX Runtime comes from the real setup cache (or ORT_DYLIB_PATH): pin it before the cache moves.
    let ort = sift_core::runtime::find_library()
        .expect("ONNX Runtime is installed by scripts/setup.sh (run it first)");
    std::env::set_var("ORT_DYLIB_PATH", &ort);
    let cache = tempfile::tempdir().unwrap();
    std::env::set_var("SIFT_CACHE_DIR", cache.path());

    let server = hub_server::HubServer::start();
    server.redirect_to_cdn(true);
    let repo = "sentence-transformers/all-MiniLM-L6-v2";
    let rev = "1111111111222222222233333333334444444444";
    let mut spec = model::spec("all-MiniLM-L6-v2").unwrap();
    spec.revision = Some(rev.into());
    let pin = |hub_path: &str, local: &str| {
        let bytes = std::fs::read(original.join(local))
            .expect("the default model is installed by scripts/setup.sh (run it first)");
        let file = HubFile {
            path: hub_path.into(),
            sha256: Some(
                Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            ),
            size: Some(bytes.len() as u64),
            git_blob: None,
        };
        server.add(repo, rev, hub_path, bytes);
        file
    };
    spec.files.tokenizer = pin("tokenizer.json", "tokenizer.json");
    spec.files.int8 = Some(pin("onnx/model_int8.onnx", "model_int8.onnx"));
    // Interrupt the big file once: the end-to-end path includes a resume.
    server.cut_first_request(repo, rev, "onnx/model_int8.onnx", 10_000_000);

    // Nothing there yet.
    assert!(model::locate(&spec, Precision::Int8, None).is_err());
    let hub = HubOptions {
        endpoint: Some(server.endpoint.clone()),
        cache_dir: Some(cache.path().join("hf")),
    };
    let mut last = None;
    let got = download::download(
        &spec,
        Precision::Int8,
        &hub,
        &AtomicBool::new(false),
        &mut |p| last = Some(p.clone()),
    )
    .unwrap();
    let last = last.unwrap();
    assert_eq!(Some(last.bytes), last.total);
    assert_eq!(
        got.onnx,
        cache.path().join("models/all-MiniLM-L6-v2/model_int8.onnx")
    );

    let found = model::locate(&spec, Precision::Int8, None).unwrap();
    assert_eq!(found.source, "setup cache");
    assert_eq!(found.onnx, got.onnx);
    assert_eq!(found.tokenizer, got.tokenizer);

    let options = EmbedOptions {
        threads: 1,
        batch_size: 8,
        accelerate: false,
    };
    let reference_files = model::locate(&spec, Precision::Int8, Some(&original)).unwrap();
    assert_eq!(reference_files.source, "local folder");
    let texts = [
        "How do I reset my password?",
        "Quarterly revenue grew by twelve percent.",
        "",
    ];
    let mut downloaded = Embedder::load(&spec, &found, &options).unwrap();
    let mut reference = Embedder::load(&spec, &reference_files, &options).unwrap();
    let a = downloaded.embed_documents(&texts).unwrap();
    let b = reference.embed_documents(&texts).unwrap();
    assert_eq!(a.len(), texts.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.vector.len(), 384);
        assert_eq!(x.vector, y.vector);
    }
    assert_eq!(
        downloaded.embed_query("password reset").unwrap(),
        reference.embed_query("password reset").unwrap()
    );
}
