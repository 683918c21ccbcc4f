//! The model commands through Tauri's IPC against a local server in the hub's layout (`HF_ENDPOINT`):
//! `list_models`, `download_model` with `sift://model-download` events carrying the model id,
//! `cancel_model_download` (the partial file stays and the next try resumes), a checksum failure and the
//! offline sentence, and `retry_engine { download: true }` through the same downloader. One test: it sets
//! process environment variables.

#[path = "../../crates/sift-core/tests/support/hub_server.rs"]
mod hub_server;
#[path = "support/invoke.rs"]
mod support_invoke;
use support_invoke::invoke;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sift_app_lib::ask::GeneratorSource;
use sift_app_lib::dto::{ModelDownloadEvent, ModelEntry};
use sift_app_lib::opener::Opener;
use sift_app_lib::{build, AppConfig, AppState, MODEL_DOWNLOAD_EVENT};
use tauri::test::{mock_builder, mock_context, noop_assets};
use tauri::{Listener, Manager};

#[test]
fn models_are_listed_downloaded_on_request_cancelled_resumed_and_verified() {
    let dirs = tempfile::tempdir().unwrap();
    let cache = dirs.path().join("cache");
    let data_dir = dirs.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(
        data_dir.join("settings.json"),
        r#"{"model": "bge-small-en-v1.5", "threads": 1}"#,
    )
    .unwrap();
    let server = hub_server::HubServer::start();
    // The pinned size (models/manifest.json) with other bytes: the checksum, not the size, rejects it.
    let fake: Vec<u8> = (0..711_396u32).map(|i| (i % 253) as u8).collect();
    server.add(
        "BAAI/bge-small-en-v1.5",
        "5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
        "tokenizer.json",
        fake.clone(),
    );
    server.slow(16 * 1024, Duration::from_millis(10));
    std::env::set_var("SIFT_CACHE_DIR", &cache);
    std::env::set_var("HF_HOME", dirs.path().join("hf"));
    std::env::set_var("HF_ENDPOINT", &server.endpoint);
    std::env::remove_var("SIFT_MODEL_DIR");

    let config = AppConfig {
        data_dir,
        opener: Opener::Log(dirs.path().join("open.log")),
        fault_panic_path: None,
        worker: None,
        generator: GeneratorSource::Off,
    };
    let app = build(mock_builder(), config, mock_context(noop_assets())).unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let state: AppState = AppState::clone(&app.state::<AppState>());

    // The list: every model with its facts; nothing downloaded by listing.
    let list: Vec<ModelEntry> =
        serde_json::from_value(invoke(&webview, "list_models", json!({})).unwrap()).unwrap();
    let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "all-MiniLM-L6-v2",
            "bge-small-en-v1.5",
            "multilingual-e5-small",
            "bge-base-en-v1.5"
        ]
    );
    let bge = &list[1];
    assert!(
        bge.active && !bge.installed && bge.downloadable && !bge.bundled,
        "{bge:?}"
    );
    assert!(list[0].bundled && !list[0].active);
    assert_eq!(list[3].dim, 768);
    assert!(!list[1].description.is_empty() && list[2].languages.contains("100"));
    assert_eq!(
        invoke(&webview, "cancel_model_download", json!({})),
        Ok(json!(false))
    );
    assert!(
        server.requests().is_empty(),
        "nothing is downloaded without a click"
    );

    // Download, cancelled from the progress events once part of the file is in.
    let events = Arc::new(Mutex::new(Vec::<ModelDownloadEvent>::new()));
    let sink = Arc::clone(&events);
    let canceller = AppState::clone(&state);
    let armed = Arc::new(AtomicBool::new(true));
    let arm = Arc::clone(&armed);
    app.listen(MODEL_DOWNLOAD_EVENT, move |e| {
        let p: ModelDownloadEvent = serde_json::from_str(e.payload()).unwrap();
        if p.bytes > 300_000 && arm.swap(false, Ordering::SeqCst) {
            assert!(canceller.cancel_model_download());
        }
        sink.lock().unwrap().push(p);
    });
    let err = invoke(
        &webview,
        "download_model",
        json!({"id": "bge-small-en-v1.5"}),
    )
    .unwrap_err();
    assert_eq!(err["message"], "The download was cancelled.", "{err}");
    let part = cache.join("models/bge-small-en-v1.5/tokenizer.json.part");
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept > 300_000 && kept < fake.len() as u64, "{kept}");
    {
        let events = events.lock().unwrap();
        assert!(events.len() >= 2, "{events:?}");
        assert!(
            events.iter().all(|e| e.model == "bge-small-en-v1.5"),
            "{events:?}"
        );
        assert!(events.windows(2).all(|w| w[0].bytes <= w[1].bytes));
    }

    // The next click resumes from the kept bytes; the checksum then rejects the file.
    let err = invoke(
        &webview,
        "download_model",
        json!({"id": "bge-small-en-v1.5"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "other");
    assert_eq!(
        err["message"],
        "A downloaded file did not match its published checksum and was deleted; try again.",
        "{err}"
    );
    assert!(
        err["details"]
            .as_str()
            .unwrap()
            .contains("d241a60d5e8f04cc"),
        "{err}"
    );
    let served = server.requests_for("tokenizer.json");
    assert_eq!(served.len(), 2, "{served:?}");
    assert_eq!(served[1].range, Some(format!("bytes={kept}-")));
    assert!(!part.exists());

    // A model the manifest does not have is refused (unpinned files: `sift-core/tests/download.rs`).
    let err = invoke(&webview, "download_model", json!({"id": "no-such-model"})).unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("is not one Sift knows"),
        "{err}"
    );

    // Offline: the first-run screen's download and the list's both say so in one sentence.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::env::set_var("HF_ENDPOINT", format!("http://127.0.0.1:{port}"));
    let offline = format!(
        "Sift could not reach 127.0.0.1:{port}; check your internet connection and try again."
    );
    let err = invoke(
        &webview,
        "download_model",
        json!({"id": "bge-small-en-v1.5"}),
    )
    .unwrap_err();
    assert_eq!(err["message"], offline.as_str(), "{err}");
    let err = invoke(&webview, "retry_engine", json!({"download": true})).unwrap_err();
    assert_eq!(err["kind"], "modelMissing", "{err}");
    assert_eq!(err["message"], offline.as_str(), "{err}");
}
