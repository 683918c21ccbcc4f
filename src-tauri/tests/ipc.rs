//! The commands through Tauri's IPC layer (mock runtime, no display needed), against a real engine on a
//! temporary data directory with the real model (installed by `scripts/setup.sh`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sift_app_lib::dto::{FolderInfo, FolderState, ProgressEvent, SearchResponse, Settings, Status};
use sift_app_lib::opener::Opener;
use sift_app_lib::{build, AppConfig, PROGRESS_EVENT};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::{App, Listener, WebviewWindow};

const FILES: &[(&str, &str)] = &[
    (
        "agreements/service-contract.txt",
        "Termination. The client may terminate this service agreement early, before the end of the \
         initial term, by sending a written notice sixty days in advance. An early termination fee \
         equal to two monthly payments is then due.",
    ),
    (
        "cooking/bread.md",
        "# Sourdough loaf\n\nMix flour, water and starter, rest the dough overnight, then bake it in a \
         very hot oven for forty minutes until the crust is dark.",
    ),
    (
        "hiking/alps.txt",
        "The trail climbs through larch forest to the hut at 2200 metres. Bring a rain jacket: storms \
         build quickly on summer afternoons.",
    ),
    ("photos/cover.png", "\u{89}PNG not really an image"),
];

struct Harness {
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    progress: Arc<Mutex<Vec<ProgressEvent>>>,
    open_log: PathBuf,
    _dirs: tempfile::TempDir,
    root: PathBuf,
}

fn harness(settings_json: Option<&str>) -> Harness {
    let dirs = tempfile::tempdir().unwrap();
    let data_dir = dirs.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    if let Some(s) = settings_json {
        std::fs::write(data_dir.join("settings.json"), s).unwrap();
    }
    let root = dirs.path().join("docs");
    for (rel, text) in FILES {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let open_log = dirs.path().join("open.log");
    let config = AppConfig {
        data_dir,
        opener: Opener::Log(open_log.clone()),
    };
    let app = build(mock_builder(), config, mock_context(noop_assets())).unwrap();
    let progress = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&progress);
    app.listen(PROGRESS_EVENT, move |event| {
        let p: ProgressEvent = serde_json::from_str(event.payload()).unwrap();
        sink.lock().unwrap().push(p);
    });
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let root = std::fs::canonicalize(root).unwrap();
    Harness {
        _app: app,
        webview,
        progress,
        open_log,
        _dirs: dirs,
        root,
    }
}

impl Harness {
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                // Not http://tauri.localhost: on Linux that is a remote origin to the ACL.
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    fn ok<T: serde::de::DeserializeOwned>(&self, cmd: &str, args: Value) -> T {
        let v = self
            .invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"));
        serde_json::from_value(v).unwrap()
    }

    fn status(&self) -> Status {
        self.ok("status", json!({}))
    }

    fn wait_until_indexed(&self, files: u64) -> Status {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let s = self.status();
            if !s.indexing && s.files >= files {
                return s;
            }
            assert!(Instant::now() < deadline, "indexing did not finish: {s:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn search(&self, query: &str, kinds: &[&str]) -> SearchResponse {
        self.ok(
            "search",
            json!({"query": query, "limit": 10, "folder": null, "kinds": kinds}),
        )
    }

    fn open_log(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.open_log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn path_of(root: &Path, rel: &str) -> String {
    root.join(rel).to_string_lossy().into_owned()
}

#[test]
fn add_index_search_and_open_through_ipc() {
    let h = harness(None);
    let s = h.status();
    assert_eq!(
        (s.folders, s.files, s.indexing, s.paused),
        (0, 0, false, false)
    );
    assert_eq!(s.model, "all-MiniLM-L6-v2");
    assert_eq!(s.dim, 384);
    assert_eq!(h.ok::<Vec<FolderInfo>>("list_folders", json!({})), vec![]);

    // A relative path is refused; the fixture folder is added and indexed in the background.
    assert!(h
        .invoke("add_folders", json!({"paths": ["relative/dir"]}))
        .is_err());
    assert_eq!(
        h.invoke("add_folders", json!({"paths": [h.root]})),
        Ok(Value::Null)
    );
    let s = h.wait_until_indexed(3);
    assert_eq!((s.folders, s.files, s.failed, s.paused), (1, 3, 1, false));
    assert!(s.chunks >= 3);

    let folders: Vec<FolderInfo> = h.ok("list_folders", json!({}));
    assert_eq!(folders.len(), 1);
    let f = &folders[0];
    assert_eq!(f.path, h.root.to_string_lossy());
    assert_eq!(
        (f.state, f.files_total, f.files_done, f.failed, f.eta_secs),
        (FolderState::Idle, 4, 4, 1, None)
    );

    // Progress reached the UI as events, ending with a "done" one for the folder.
    let events = h.progress.lock().unwrap().clone();
    let last = events
        .iter()
        .rev()
        .find(|e| e.folder == f.path)
        .expect("progress events for the folder");
    assert!(last.done, "{events:?}");
    assert_eq!((last.files_done, last.files_total, last.failed), (4, 4, 1));

    // Found by meaning: the query shares no word with the contract.
    let contract = path_of(&h.root, "agreements/service-contract.txt");
    let r = h.search("how can I cancel the deal ahead of schedule", &[]);
    assert!(!r.catching_up);
    let top = r.results.first().expect("a result");
    assert_eq!(top.path, contract);
    assert_eq!(top.file_name, "service-contract.txt");
    assert_eq!(top.folder, f.path);
    assert!(top.passage.text.contains("sixty days"), "{:?}", top.passage);
    assert!(
        top.passage.highlights.is_empty(),
        "no shared words, nothing to mark"
    );

    // A shared word is highlighted, as byte offsets into the passage.
    let r = h.search("termination fee", &[]);
    let top = &r.results[0];
    assert_eq!(top.path, contract);
    let marked: Vec<&str> = top
        .passage
        .highlights
        .iter()
        .map(|&(s, e)| &top.passage.text[s..e])
        .collect();
    assert!(
        marked.contains(&"Termination") && marked.contains(&"fee"),
        "{marked:?}"
    );

    // Kind filter.
    let r = h.search("how can I cancel the deal ahead of schedule", &["md"]);
    assert!(
        r.results.iter().all(|x| x.path.ends_with(".md")),
        "{:?}",
        r.results
    );

    // The skipped image is listed with a reason.
    let failed: Vec<Value> = h.ok("failed_files", json!({"folder": f.path}));
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["path"],
        json!(path_of(&h.root, "photos/cover.png"))
    );
    assert!(!failed[0]["reason"].as_str().unwrap().is_empty());

    // Open and reveal go to the (logging) opener for indexed files only.
    assert_eq!(
        h.invoke("open_path", json!({"path": contract})),
        Ok(Value::Null)
    );
    assert_eq!(
        h.invoke("reveal_path", json!({"path": contract})),
        Ok(Value::Null)
    );
    assert_eq!(
        h.open_log(),
        vec![
            json!({"action": "open", "path": contract}),
            json!({"action": "reveal", "path": contract})
        ]
    );
    for outside in [
        "/etc/passwd".to_string(),
        format!(
            "{}/agreements/../agreements/service-contract.txt",
            h.root.display()
        ),
        "agreements/service-contract.txt".to_string(),
        h.root.to_string_lossy().into_owned(),
    ] {
        let err = h.invoke("open_path", json!({"path": outside})).unwrap_err();
        assert!(
            err.as_str()
                .unwrap()
                .contains("only opens files it has indexed"),
            "{err}"
        );
        assert!(h.invoke("reveal_path", json!({"path": outside})).is_err());
    }
    assert_eq!(h.open_log().len(), 2, "refused requests launch nothing");

    // Removing the folder empties the index.
    assert_eq!(
        h.invoke("remove_folder", json!({"path": f.path})),
        Ok(Value::Null)
    );
    let s = h.status();
    assert_eq!((s.folders, s.files), (0, 0));
    assert!(h.search("cancel the contract", &[]).results.is_empty());
    assert!(h.invoke("open_path", json!({"path": contract})).is_err());
}

#[test]
fn pause_and_resume() {
    let h = harness(None);
    // Enough files that indexing takes a moment.
    let bulk = h.root.join("bulk");
    std::fs::create_dir_all(&bulk).unwrap();
    for i in 0..300 {
        let text = format!(
            "Note {i}. Meeting minutes about topic number {i}: the team discussed budgets, hiring and the \
             plan for quarter {}. Action items were assigned to person {}.",
            i % 4,
            i % 7
        );
        std::fs::write(bulk.join(format!("note-{i:03}.txt")), text).unwrap();
    }
    assert_eq!(h.invoke("pause_indexing", json!({})), Ok(Value::Null));
    assert_eq!(
        h.invoke("add_folders", json!({"paths": [h.root]})),
        Ok(Value::Null)
    );
    // Paused before it started: nothing runs, the folder shows as paused.
    std::thread::sleep(Duration::from_millis(500));
    let s = h.status();
    assert!(s.paused && !s.indexing, "{s:?}");
    assert_eq!(s.files, 0);
    let folders: Vec<FolderInfo> = h.ok("list_folders", json!({}));
    assert_eq!(folders[0].state, FolderState::Paused);

    // Resume, then pause in the middle of the pass.
    assert_eq!(h.invoke("resume_indexing", json!({})), Ok(Value::Null));
    let deadline = Instant::now() + Duration::from_secs(120);
    while h.status().files == 0 {
        assert!(Instant::now() < deadline, "indexing did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(h.invoke("pause_indexing", json!({})), Ok(Value::Null));
    let deadline = Instant::now() + Duration::from_secs(60);
    let paused = loop {
        let s = h.status();
        if !s.indexing {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "pause did not stop indexing: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(paused.paused);
    eprintln!("paused after {} of 303 files", paused.files);
    // The pass stops at a batch boundary, with what was indexed so far kept.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        h.status().files,
        paused.files,
        "nothing indexed while paused"
    );

    assert_eq!(h.invoke("resume_indexing", json!({})), Ok(Value::Null));
    let s = h.wait_until_indexed(303);
    assert_eq!(s.files, 303);
    assert!(!s.paused);
    let folders: Vec<FolderInfo> = h.ok("list_folders", json!({}));
    assert_eq!(folders[0].state, FolderState::Idle);
    let r = h.search("how can I cancel the deal ahead of schedule", &[]);
    assert!(
        r.results[0].path.ends_with("service-contract.txt"),
        "{:?}",
        r.results[0]
    );
}

#[test]
fn starts_without_an_engine_and_recovers_through_settings() {
    // An unknown model id in settings.json: the engine cannot open, the app must still answer.
    let h = harness(Some(r#"{"model": "no-such-model", "threads": 1}"#));
    let err = h.invoke("status", json!({})).unwrap_err();
    assert!(err.as_str().unwrap().contains("no-such-model"), "{err}");
    assert_eq!(h.ok::<Vec<FolderInfo>>("list_folders", json!({})), vec![]);
    assert!(h
        .invoke(
            "search",
            json!({"query": "x", "limit": 5, "folder": null, "kinds": []})
        )
        .is_err());
    assert!(h.invoke("add_folders", json!({"paths": [h.root]})).is_err());

    let mut settings: Settings = h.ok("get_settings", json!({}));
    assert_eq!(settings.model, "no-such-model");
    assert_eq!(settings.threads, 1);
    assert!(settings.max_threads >= 1);
    let minilm = settings
        .models
        .iter()
        .find(|m| m.id == "all-MiniLM-L6-v2")
        .expect("listed");
    assert!(minilm.installed && minilm.dim == 384);

    // Unknown models are refused; choosing the installed one reopens the engine.
    settings.model = "still-no-such-model".into();
    assert!(h
        .invoke("set_settings", json!({"settings": settings}))
        .is_err());
    settings.model = "all-MiniLM-L6-v2".into();
    settings.excludes = vec!["*.png".into(), " ".into(), "*.png".into()];
    assert_eq!(
        h.invoke("set_settings", json!({"settings": settings})),
        Ok(Value::Null)
    );
    let saved: Settings = h.ok("get_settings", json!({}));
    assert_eq!(
        (saved.model.as_str(), saved.threads, saved.excludes.clone()),
        ("all-MiniLM-L6-v2", 1, vec!["*.png".to_string()])
    );
    assert_eq!(h.status().model, "all-MiniLM-L6-v2");

    // Excluded files are not even looked at.
    assert_eq!(
        h.invoke("add_folders", json!({"paths": [h.root]})),
        Ok(Value::Null)
    );
    let s = h.wait_until_indexed(3);
    assert_eq!((s.files, s.failed), (3, 0));
}

#[test]
fn watched_folders_stay_live() {
    let h = harness(None);
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    let before = h.wait_until_indexed(3);
    // A file written after indexing is picked up by the watcher, with no command from the UI.
    std::fs::write(
        h.root.join("hiking/iceland.md"),
        "We drove the ring road past glaciers, black sand beaches and geysers.",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = h.search("nordic volcanic island road trip", &[]);
        if r.results
            .first()
            .is_some_and(|hit| hit.path.ends_with("iceland.md"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new file never showed up: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = h.wait_until_indexed(before.files + 1);
    assert_eq!(after.files, before.files + 1);
    // And a deleted one disappears.
    std::fs::remove_file(h.root.join("hiking/iceland.md")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while h
        .search("nordic volcanic island road trip", &[])
        .results
        .iter()
        .any(|hit| hit.path.ends_with("iceland.md"))
    {
        assert!(
            Instant::now() < deadline,
            "the deleted file stayed in the results"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
