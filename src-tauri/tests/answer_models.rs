//! The answer-model commands through Tauri's IPC, against a local server in the Hub's layout (`HF_ENDPOINT`)
//! that serves the manifest's Qwen2.5 0.5B repository with the tiny test decoder of sift-core's fixtures:
//! `list_answer_models`, `download_answer_model` (progress on `sift://model-download` with the model's id),
//! Ask switching to the downloaded model without a restart, `use_answer_model` between it and another
//! installed model, `remove_answer_model`, and the one-sentence errors. One test: it sets process environment
//! variables (a temporary model cache; the search model from the setup cache).

#[path = "../../crates/sift-core/tests/support/answer_repo.rs"]
mod answer_repo;
#[path = "../../crates/sift-core/tests/support/hub_server.rs"]
mod hub_server;
#[path = "support/invoke.rs"]
mod support_invoke;
use support_invoke::invoke;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sift_app_lib::ask::{GeneratorSource, NO_MODEL_HINT};
use sift_app_lib::dto::{AnswerModelEntry, AskAnswer, GeneratorState, ModelDownloadEvent, Status};
use sift_app_lib::opener::Opener;
use sift_app_lib::{build, AppConfig, MODEL_DOWNLOAD_EVENT};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{Listener, WebviewWindow};

const REPO: &str = "onnx-community/Qwen2.5-0.5B-Instruct";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const QWEN: &str = "qwen2.5-0.5b-instruct";
/// An installed model the manifest does not list (as a user's or the setup's).
const LOCAL: &str = "my-notes-model";

fn list(webview: &WebviewWindow<MockRuntime>) -> Vec<AnswerModelEntry> {
    serde_json::from_value(invoke(webview, "list_answer_models", json!({})).unwrap()).unwrap()
}

fn entry<'a>(list: &'a [AnswerModelEntry], id: &str) -> &'a AnswerModelEntry {
    list.iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {list:?}"))
}

fn generator(webview: &WebviewWindow<MockRuntime>) -> GeneratorState {
    let status: Status =
        serde_json::from_value(invoke(webview, "status", json!({})).unwrap()).unwrap();
    status.generator
}

/// Polls `status` until the answer model is ready, failing on a failed load or after 60 s.
fn ready(webview: &WebviewWindow<MockRuntime>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match generator(webview) {
            GeneratorState::Ready { model, .. } => return model,
            GeneratorState::Failed { reason, .. } => panic!("the answer model failed: {reason}"),
            other => assert!(Instant::now() < deadline, "never ready: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Asks with no folders: nothing is found, so the model does not run, but the answer names the model Ask used.
fn answering_model(webview: &WebviewWindow<MockRuntime>) -> String {
    let a: AskAnswer = serde_json::from_value(
        invoke(
            webview,
            "ask",
            json!({"id": 1, "question": "what is in my notes", "folder": null, "kinds": []}),
        )
        .unwrap(),
    )
    .unwrap();
    a.model
}

fn message(err: &Value) -> &str {
    err["message"].as_str().unwrap_or_default()
}

#[test]
fn answer_models_are_listed_downloaded_used_and_removed() {
    // The search model and ONNX Runtime come from the setup cache; answer models from a temporary one.
    let setup_cache = sift_core::paths::cache_dir();
    let search_model = setup_cache.join("models/all-MiniLM-L6-v2");
    if std::env::var_os("SIFT_MODEL_DIR").is_none() {
        assert!(
            search_model.join("tokenizer.json").is_file(),
            "the search model is missing from {} (run scripts/setup.sh)",
            search_model.display()
        );
        std::env::set_var("SIFT_MODEL_DIR", &search_model);
    }
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        let lib = setup_cache.join("onnxruntime/libonnxruntime.so");
        if lib.is_file() {
            std::env::set_var("ORT_DYLIB_PATH", lib);
        }
    }
    let dirs = tempfile::tempdir().unwrap();
    let cache = dirs.path().join("cache");
    let data_dir = dirs.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let server = hub_server::HubServer::start();
    // The manifest's repository, holding the tiny test decoder under the manifest's paths.
    let files = answer_repo::files("onnx/model_q4.onnx");
    answer_repo::publish(&server, REPO, COMMIT, &files);
    std::env::set_var("SIFT_CACHE_DIR", &cache);
    std::env::set_var("HF_HOME", dirs.path().join("hf"));
    std::env::set_var("HF_ENDPOINT", &server.endpoint);

    let config = AppConfig {
        data_dir: data_dir.clone(),
        opener: Opener::Log(dirs.path().join("open.log")),
        fault_panic_path: None,
        worker: None,
        generator: GeneratorSource::Installed,
    };
    let app = build(mock_builder(), config, mock_context(noop_assets())).unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    // Nothing installed: the manifest's two models with their facts; Ask says where to get one.
    let models = list(&webview);
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, [QWEN, "qwen2.5-1.5b-instruct"]);
    for m in &models {
        assert!(
            !m.installed && !m.active && !m.removable && m.downloadable,
            "{m:?}"
        );
        assert_eq!(m.license.as_deref(), Some("Apache-2.0"));
        assert_eq!(m.quantization.as_deref(), Some("4-bit weights"));
        assert!(
            !m.description.is_empty() && !m.languages.is_empty(),
            "{m:?}"
        );
    }
    assert_eq!(
        (
            models[0].size,
            models[0].parameters_b,
            models[0].approx_tokens_per_s
        ),
        (Some(800_000_000), Some(0.49), Some(20.0))
    );
    assert_eq!(
        generator(&webview),
        GeneratorState::Absent {
            hint: NO_MODEL_HINT.into()
        }
    );
    assert!(
        NO_MODEL_HINT.contains("Settings → Answer models") && !NO_MODEL_HINT.contains("setup.sh")
    );
    let err = invoke(
        &webview,
        "ask",
        json!({"id": 1, "question": "anything", "folder": null, "kinds": []}),
    )
    .unwrap_err();
    assert_eq!(message(&err), NO_MODEL_HINT, "{err}");
    let err = invoke(&webview, "use_answer_model", json!({"id": QWEN})).unwrap_err();
    assert_eq!(
        message(&err),
        "Qwen2.5 0.5B Instruct — quick drafts is not installed; download it first.",
        "{err}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing is downloaded without a click"
    );

    // Download: progress events name the model; Ask then uses it without a restart.
    let events = Arc::new(Mutex::new(Vec::<ModelDownloadEvent>::new()));
    let sink = Arc::clone(&events);
    app.listen(MODEL_DOWNLOAD_EVENT, move |e| {
        sink.lock()
            .unwrap()
            .push(serde_json::from_str(e.payload()).unwrap());
    });
    assert_eq!(
        invoke(&webview, "download_answer_model", json!({"id": QWEN})),
        Ok(Value::Null)
    );
    {
        let events = events.lock().unwrap();
        let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
        assert!(!events.is_empty());
        assert!(events.iter().all(|e| e.model == QWEN), "{events:?}");
        let last = events.last().unwrap();
        assert_eq!((last.bytes, last.total), (total, Some(total)), "{events:?}");
    }
    let downloaded = cache.join("models").join(QWEN);
    assert!(downloaded.join("generation.json").is_file());
    let models = list(&webview);
    let qwen = entry(&models, QWEN);
    assert!(qwen.installed && qwen.active && qwen.removable, "{qwen:?}");
    assert!(!entry(&models, "qwen2.5-1.5b-instruct").installed);
    assert_eq!(ready(&webview), QWEN);
    assert_eq!(answering_model(&webview), QWEN);
    // Downloading it again fetches nothing.
    let served = server.requests().len();
    assert_eq!(
        invoke(&webview, "download_answer_model", json!({"id": QWEN})),
        Ok(Value::Null)
    );
    assert_eq!(server.requests().len(), served);

    // Choosing the loaded model saves the choice and keeps it loaded.
    assert_eq!(
        invoke(&webview, "use_answer_model", json!({"id": QWEN})),
        Ok(Value::Null)
    );
    let settings: Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("settings.json")).unwrap()).unwrap();
    assert_eq!(settings["answer_model"], QWEN);
    assert!(matches!(generator(&webview), GeneratorState::Ready { model, .. } if model == QWEN));

    // Another installed model, not in the manifest: listed (nothing to download), and Use switches to it.
    let local = cache.join("models").join(LOCAL);
    copy_dir(&downloaded, &local);
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(local.join("generation.json")).unwrap()).unwrap();
    config["model_id"] = json!(LOCAL);
    config["name"] = json!("My notes model");
    std::fs::write(
        local.join("generation.json"),
        serde_json::to_vec(&config).unwrap(),
    )
    .unwrap();
    let models = list(&webview);
    assert_eq!(models.len(), 3, "{models:?}");
    let mine = entry(&models, LOCAL);
    assert!(
        mine.installed && !mine.active && !mine.downloadable && !mine.removable,
        "{mine:?}"
    );
    assert_eq!(mine.name, "My notes model");
    assert!(
        mine.size.is_some_and(|s| s > 0) && mine.parameters_b.is_none(),
        "{mine:?}"
    );
    assert!(entry(&models, QWEN).active);
    assert_eq!(
        invoke(&webview, "use_answer_model", json!({"id": LOCAL})),
        Ok(Value::Null)
    );
    assert_eq!(ready(&webview), LOCAL);
    assert_eq!(answering_model(&webview), LOCAL);
    // Two switches in a row (the second may come while the first loads): Ask ends with the last one.
    for id in [QWEN, LOCAL] {
        assert_eq!(
            invoke(&webview, "use_answer_model", json!({ "id": id })),
            Ok(Value::Null)
        );
    }
    assert_eq!(ready(&webview), LOCAL);
    assert_eq!(answering_model(&webview), LOCAL);
    let models = list(&webview);
    assert!(entry(&models, LOCAL).active && !entry(&models, QWEN).active);

    // Removing: only a downloaded manifest model, and Ask moves on when it was the one in use.
    let err = invoke(&webview, "remove_answer_model", json!({"id": LOCAL})).unwrap_err();
    assert!(message(&err).contains("is not one Sift knows"), "{err}");
    assert!(local.join("generation.json").is_file());
    assert_eq!(
        invoke(&webview, "use_answer_model", json!({"id": QWEN})),
        Ok(Value::Null)
    );
    assert_eq!(ready(&webview), QWEN);
    assert_eq!(
        invoke(&webview, "remove_answer_model", json!({"id": QWEN})),
        Ok(Value::Null)
    );
    assert!(!downloaded.exists());
    assert_eq!(
        ready(&webview),
        LOCAL,
        "the chosen model is gone: the largest installed one is used"
    );
    let models = list(&webview);
    let qwen = entry(&models, QWEN);
    assert!(
        !qwen.installed && !qwen.active && !qwen.removable,
        "{qwen:?}"
    );
    assert!(entry(&models, LOCAL).active);
    assert_eq!(answering_model(&webview), LOCAL);
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
