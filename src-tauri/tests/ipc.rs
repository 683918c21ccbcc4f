//! The commands through Tauri's IPC layer (mock runtime, no display needed), against a real engine on a
//! temporary data directory with the real model (installed by `scripts/setup.sh`).

#[path = "support/invoke.rs"]
mod support_invoke;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sift_app_lib::ask::{GeneratorSource, NO_MODEL_HINT};
use sift_app_lib::dto::{
    AskAnswer, AskProgressEvent, AskStatus, FailedFile, FolderInfo, FolderState, GeneratorState,
    KindCount, Precision, ProblemStatus, ProgressEvent, SearchResponse, Settings, Status,
};
use sift_app_lib::opener::Opener;
use sift_app_lib::{build, AppConfig, AppState, ASK_PROGRESS_EVENT, PROGRESS_EVENT};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, Listener, Manager, WebviewWindow};

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
    app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    progress: Arc<Mutex<Vec<ProgressEvent>>>,
    open_log: PathBuf,
    _dirs: tempfile::TempDir,
    root: PathBuf,
}

fn harness(settings_json: Option<&str>) -> Harness {
    harness_with(settings_json, None, &[])
}

/// A harness whose worker panics on changed paths containing `fault` (the `SIFT_FAULT_PANIC_PATH` hook), with
/// `extra` files written into the folder before the app starts.
fn harness_with(
    settings_json: Option<&str>,
    fault: Option<&str>,
    extra: &[(&str, &str)],
) -> Harness {
    harness_config(settings_json, fault, extra, GeneratorSource::Off)
}

/// [`harness_with`] with an answer model.
fn harness_config(
    settings_json: Option<&str>,
    fault: Option<&str>,
    extra: &[(&str, &str)],
    generator: GeneratorSource,
) -> Harness {
    let dirs = tempfile::tempdir().unwrap();
    let data_dir = dirs.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    if let Some(s) = settings_json {
        std::fs::write(data_dir.join("settings.json"), s).unwrap();
    }
    let root = dirs.path().join("docs");
    for (rel, text) in FILES.iter().chain(extra) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let open_log = dirs.path().join("open.log");
    let config = AppConfig {
        data_dir,
        opener: Opener::Log(open_log.clone()),
        fault_panic_path: fault.map(str::to_string),
        worker: None,
        generator,
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
        app,
        webview,
        progress,
        open_log,
        _dirs: dirs,
        root,
    }
}

impl Harness {
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        support_invoke::invoke(&self.webview, cmd, args)
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

    /// Indexing passes the app has started.
    fn passes(&self) -> u64 {
        self.app.state::<AppState>().passes()
    }

    fn events(&self) -> usize {
        self.progress.lock().unwrap().len()
    }

    /// Polls `f` every 200 ms until it returns `Some`, failing after `secs` with `what`.
    fn until<T>(&self, secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether `query` ranks a file whose path ends with `suffix` first.
    fn top_is(&self, query: &str, suffix: &str) -> bool {
        self.search(query, &[])
            .results
            .first()
            .is_some_and(|hit| hit.path.ends_with(suffix))
    }

    fn finds(&self, query: &str, suffix: &str) -> bool {
        self.search(query, &[])
            .results
            .iter()
            .any(|hit| hit.path.ends_with(suffix))
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

    // The skipped image is listed with a reason and its status.
    let failed: Vec<Value> = h.ok("failed_files", json!({"folder": f.path}));
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["path"],
        json!(path_of(&h.root, "photos/cover.png"))
    );
    assert!(!failed[0]["reason"].as_str().unwrap().is_empty());
    assert_eq!(failed[0]["status"], json!("skipped"));

    // The type filters offer what is searchable: the skipped image's type is not among them.
    let kinds: Vec<KindCount> = h.ok("indexed_kinds", json!({}));
    assert_eq!(
        kinds,
        vec![
            KindCount {
                ext: "txt".into(),
                files: 2
            },
            KindCount {
                ext: "md".into(),
                files: 1
            }
        ]
    );

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
            err["message"]
                .as_str()
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
    assert_eq!(h.ok::<Vec<KindCount>>("indexed_kinds", json!({})), vec![]);
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
    assert_eq!(err["kind"], "engineFailed", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("no-such-model"),
        "{err}"
    );
    assert!(
        err["details"].as_str().unwrap().contains("no-such-model"),
        "{err}"
    );
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

/// A model that is not installed: the app starts, downloads nothing on its own, and every command says so in
/// one sentence (no setup script, no environment variable), with the whole chain as details for the log and
/// "Copy details"; "Retry" without a download gives the same answer.
#[test]
fn a_missing_model_is_one_sentence_and_never_downloaded_without_a_click() {
    let h = harness(Some(r#"{"model": "bge-small-en-v1.5", "threads": 1}"#));
    let downloads = Arc::new(Mutex::new(0usize));
    let d = Arc::clone(&downloads);
    h.app.listen(sift_app_lib::MODEL_DOWNLOAD_EVENT, move |_| {
        *d.lock().unwrap() += 1
    });
    let started = Instant::now();
    let err = h.invoke("status", json!({})).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "status waited for a download"
    );
    assert_eq!(err["kind"], "modelMissing", "{err}");
    let message = err["message"].as_str().unwrap();
    assert_eq!(
        message,
        "The search model is not installed yet; download it to start searching."
    );
    let details = err["details"].as_str().unwrap();
    assert!(
        details.contains("bge-small-en-v1.5") && details.len() > message.len(),
        "{details}"
    );
    for cmd in ["add_folders", "search"] {
        let args = if cmd == "search" {
            json!({"query": "x", "limit": 5, "folder": null, "kinds": []})
        } else {
            json!({"paths": [h.root]})
        };
        let e = h.invoke(cmd, args).unwrap_err();
        assert_eq!(
            (e["kind"].as_str(), e["message"].as_str()),
            (Some("modelMissing"), Some(message))
        );
    }
    let again = h
        .invoke("retry_engine", json!({"download": false}))
        .unwrap_err();
    assert_eq!(again["kind"], "modelMissing");
    assert_eq!(
        *downloads.lock().unwrap(),
        0,
        "nothing is downloaded without a click"
    );
}

/// Adding folders that cannot be added fails with one sentence per folder (several: one sentence and the
/// list in the details); the others are still added.
#[test]
fn folders_that_cannot_be_added_fail_with_one_sentence() {
    let h = harness(None);
    let gone = h.root.join("no-such-folder");
    let e = h
        .invoke("add_folders", json!({"paths": [gone]}))
        .unwrap_err();
    assert_eq!(
        e["message"],
        "“no-such-folder” cannot be added: it does not exist."
    );
    assert!(
        e["details"].as_str().unwrap().contains("No such file"),
        "{e}"
    );
    let e = h
        .invoke(
            "add_folders",
            json!({"paths": [gone, "relative/dir", h.root]}),
        )
        .unwrap_err();
    assert_eq!(
        e["message"],
        "2 of 3 items could not be added; the details say why."
    );
    assert_eq!(e["details"].as_str().unwrap().lines().count(), 2, "{e}");
    h.wait_until_indexed(3);
}

/// The type filters come from the index (files without an extension included, and filterable as ""), and the
/// counts the UI shows agree: the status bar, each folder row and the problem list.
#[test]
fn type_filters_and_problem_counts_agree_with_the_index() {
    let h = harness_with(
        None,
        None,
        &[
            (
                "notes/README",
                "Release checklist: bump the version number, tag the commit and upload the installer \
                 to the download page.",
            ),
            (
                "web/page.html",
                "<html><head><title>Garden</title></head><body><p>Tomatoes need sun, deep watering \
                 and a stake to climb.</p></body></html>",
            ),
            ("scans/old.pdf", "%PDF-1.4 not really a document"),
        ],
    );
    assert_eq!(
        h.invoke("add_folders", json!({"paths": [h.root]})),
        Ok(Value::Null)
    );
    let s = h.wait_until_indexed(5);
    let kinds: Vec<KindCount> = h.ok("indexed_kinds", json!({}));
    let kind = |ext: &str, files| KindCount {
        ext: ext.into(),
        files,
    };
    assert_eq!(
        kinds,
        vec![kind("txt", 2), kind("", 1), kind("html", 1), kind("md", 1)]
    );
    assert_eq!(kinds.iter().map(|k| k.files).sum::<u64>(), s.files);

    // "" filters to the files without an extension (and is not dropped as "no filter").
    assert!(h.top_is("termination fee", "service-contract.txt"));
    for query in ["steps to publish a new version", "termination fee"] {
        let r = h.search(query, &[""]);
        for hit in &r.results {
            assert!(hit.path.ends_with("/notes/README"), "{query}: {}", hit.path);
        }
    }
    assert!(!h
        .search("steps to publish a new version", &[""])
        .results
        .is_empty());
    let r = h.search("steps to publish a new version", &["md", "html"]);
    assert!(
        r.results.iter().all(|hit| !hit.path.ends_with("README")),
        "{:?}",
        r.results
    );

    // Status bar, folder row and problem list count the same files.
    let folders: Vec<FolderInfo> = h.ok("list_folders", json!({}));
    let f = &folders[0];
    let listed: Vec<FailedFile> = h.ok("failed_files", json!({"folder": f.path}));
    let all: Vec<FailedFile> = h.ok("failed_files", json!({"folder": null}));
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!((s.failed, f.failed), (2, 2));
    assert_eq!(all, listed);
    assert_eq!(f.files_total - f.failed, s.files);
    let png = listed
        .iter()
        .find(|p| p.path.ends_with("cover.png"))
        .expect("the image is listed");
    assert_eq!(png.status, ProblemStatus::Skipped);
    assert!(listed.iter().any(|p| p.path.ends_with("old.pdf")));
}

/// Create, edit, rename and delete are each picked up by the watcher, with no command from the UI, and show
/// in search results within a bounded wait.
#[test]
fn watched_folders_stay_live() {
    let h = harness(None);
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    let before = h.wait_until_indexed(3);
    let island = "nordic volcanic island road trip";

    // Create.
    std::fs::write(
        h.root.join("hiking/iceland.md"),
        "We drove the ring road past glaciers, black sand beaches and geysers.",
    )
    .unwrap();
    h.until(60, "the new file shows up", || {
        h.top_is(island, "hiking/iceland.md").then_some(())
    });
    let after = h.wait_until_indexed(before.files + 1);
    assert_eq!(after.files, before.files + 1);

    // Edit: the old content is gone, the new one is found.
    std::fs::write(
        h.root.join("hiking/iceland.md"),
        "Quarterly budget spreadsheet for the marketing department, with projected spending per channel.",
    )
    .unwrap();
    h.until(60, "the edit shows up", || {
        (h.top_is("how much money will advertising cost", "hiking/iceland.md")
            && h.search("\"ring road\"", &[]).results.is_empty())
        .then_some(())
    });

    // Rename: found under the new name only.
    std::fs::rename(
        h.root.join("hiking/iceland.md"),
        h.root.join("hiking/budget.md"),
    )
    .unwrap();
    h.until(60, "the rename shows up", || {
        let r = h.search("how much money will advertising cost", &[]);
        (r.results
            .first()
            .is_some_and(|x| x.path.ends_with("hiking/budget.md"))
            && r.results.iter().all(|x| !x.path.ends_with("iceland.md")))
        .then_some(())
    });

    // Delete.
    std::fs::remove_file(h.root.join("hiking/budget.md")).unwrap();
    h.until(60, "the deleted file leaves the results", || {
        (!h.finds("how much money will advertising cost", "budget.md")).then_some(())
    });
    let s = h.wait_until_indexed(before.files);
    assert_eq!(s.files, before.files);
}

/// After the first pass the app is idle: 30 s of reading the files, searching, and editing files in
/// excluded and hidden folders run zero passes and send zero progress events.
#[test]
fn idle_means_idle() {
    let h = harness_with(
        None,
        None,
        &[
            (
                "node_modules/pkg/readme.md",
                "A package readme about left-pad.",
            ),
            (".cache/state.txt", "hidden state"),
        ],
    );
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    h.wait_until_indexed(3);
    // Let the watcher deliver anything the first pass caused (its own reads).
    std::thread::sleep(Duration::from_secs(2));
    let (passes, events) = (h.passes(), h.events());
    assert!(passes >= 1);
    let started = Instant::now();
    let mut round = 0;
    while started.elapsed() < Duration::from_secs(30) {
        round += 1;
        for (rel, _) in FILES {
            let _ = std::fs::read(h.root.join(rel)).unwrap();
        }
        let _ = h.search("how can I cancel the deal ahead of schedule", &[]);
        // Excluded (default `node_modules/`) and hidden paths never queue work.
        std::fs::write(
            h.root.join("node_modules/pkg/readme.md"),
            format!("edit {round}"),
        )
        .unwrap();
        std::fs::write(h.root.join("node_modules/pkg/new.js"), "x").unwrap();
        std::fs::write(h.root.join(".cache/state.txt"), format!("edit {round}")).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(
            (h.passes(), h.events()),
            (passes, events),
            "an idle app ran a pass after {:?}",
            started.elapsed()
        );
    }
    let s = h.status();
    assert!(!s.indexing, "{s:?}");
    assert_eq!(
        s.files, 3,
        "nothing from node_modules or .cache was indexed"
    );
}

/// A burst of 10,000 new files (a `git checkout`) is coalesced into a few passes over the changed paths, and
/// every file is searchable afterwards.
#[test]
fn a_burst_of_changes_is_coalesced() {
    let h = harness(None);
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    let before = h.wait_until_indexed(3);
    std::thread::sleep(Duration::from_secs(1));
    let passes = h.passes();
    let burst = h.root.join("burst");
    std::fs::create_dir_all(&burst).unwrap();
    for i in 0..10_000 {
        let text = if i == 7_777 {
            "Our cat Miso sleeps on the warm laptop keyboard every afternoon.".to_string()
        } else {
            format!("Ledger line {i}: invoice {} paid.", i * 7)
        };
        std::fs::write(burst.join(format!("f{i:05}.txt")), text).unwrap();
    }
    let s = h.until(600, "the burst is indexed", || {
        let s = h.status();
        (!s.indexing && s.files >= before.files + 10_000).then_some(s)
    });
    assert_eq!(s.files, before.files + 10_000);
    // Searched by words: this test is about the watcher. (A paraphrase of the odd file out returns nothing
    // among 10,000 near-identical files: an engine recall issue, reported separately.)
    for (query, file) in [
        ("Miso laptop keyboard", "burst/f07777.txt"),
        ("\"Ledger line 1234\"", "burst/f01234.txt"),
        ("\"Ledger line 9999\"", "burst/f09999.txt"),
    ] {
        let r = h.search(query, &[]);
        assert!(
            r.results.first().is_some_and(|x| x.path.ends_with(file)),
            "{query}: {s:?} {:?}",
            r.results.iter().take(3).collect::<Vec<_>>()
        );
    }
    let burst_passes = h.passes() - passes;
    eprintln!("{burst_passes} passes for a burst of 10,000 files");
    assert!(
        (1..=6).contains(&burst_passes),
        "{burst_passes} passes for one burst"
    );
}

/// Open never runs a program: an indexed shell script (and a skipped file) is refused with a pointer to
/// "Show in folder", which works.
#[test]
fn open_refuses_scripts_but_reveal_works() {
    let h = harness_with(
        None,
        None,
        &[(
            "tools/cleanup.sh",
            "#!/bin/sh\n# Remove the temporary build folder.\nrm -rf ./build\n",
        )],
    );
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    let s = h.wait_until_indexed(4);
    assert_eq!(s.files, 4, "the script is an indexed document");
    let script = path_of(&h.root, "tools/cleanup.sh");
    assert!(h.finds("remove the temporary build folder", "tools/cleanup.sh"));
    let err = h.invoke("open_path", json!({"path": script})).unwrap_err();
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains("Show in folder"), "{msg}");
    assert!(
        !msg.contains('\n') && msg.ends_with('.'),
        "one sentence: {msg}"
    );
    assert_eq!(
        h.invoke("reveal_path", json!({"path": script})),
        Ok(Value::Null)
    );
    // A recorded but skipped file is not opened either; it can be shown.
    let image = path_of(&h.root, "photos/cover.png");
    let err = h.invoke("open_path", json!({"path": image})).unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("Show in folder"),
        "{err}"
    );
    assert_eq!(
        h.invoke("reveal_path", json!({"path": image})),
        Ok(Value::Null)
    );
    assert_eq!(
        h.open_log(),
        vec![
            json!({"action": "reveal", "path": script}),
            json!({"action": "reveal", "path": image})
        ]
    );
}

/// A panic inside a pass (injected with the `SIFT_FAULT_PANIC_PATH` hook) is survived: the app reports it,
/// remove_folder still returns, and a later pass works.
#[test]
fn a_panicking_worker_is_survived() {
    let h = harness_with(None, Some("kaboom"), &[]);
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    h.wait_until_indexed(3);
    std::fs::write(
        h.root.join("cooking/kaboom.md"),
        "Whisk eggs with sugar until pale, fold in flour and bake the sponge cake.",
    )
    .unwrap();
    let s = h.until(60, "the panic is reported", || {
        let s = h.status();
        s.last_error.is_some().then_some(s)
    });
    assert!(!s.indexing, "{s:?}");
    assert!(
        s.last_error.as_deref().unwrap().contains("internal error"),
        "{s:?}"
    );

    // Commands that wait for the worker still return.
    let folder = h.root.to_string_lossy().into_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    let webview = h.webview.clone();
    let h_invoke =
        move |cmd: &str, args: Value| support_invoke::invoke(&webview, cmd, args).is_ok();
    std::thread::spawn(move || {
        let _ = tx.send(h_invoke("remove_folder", json!({"path": folder})));
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Ok(true),
        "remove_folder did not return after the panic"
    );
    assert_eq!(h.status().folders, 0);

    // A later pass works (a full pass over the folder, including the file whose change panicked).
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    let s = h.wait_until_indexed(4);
    assert_eq!(s.files, 4);
    assert_eq!(s.last_error, None);
    assert!(h.top_is("recipe for a light dessert", "cooking/kaboom.md"));
}

/// Precision int8 → fp32 → int8 through set_settings: each switch re-embeds, after which every chunk has a
/// vector and search by meaning (no shared words) still finds its file.
#[test]
fn precision_switch_keeps_meaning_search() {
    let h = harness(None);
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    let s = h.wait_until_indexed(3);
    assert_eq!(s.precision, Precision::Int8);
    assert_eq!(s.vectors, s.chunks, "{s:?}");
    for precision in [Precision::Fp32, Precision::Int8] {
        let mut settings: Settings = h.ok("get_settings", json!({}));
        assert_ne!(settings.precision, Some(precision));
        settings.precision = Some(precision);
        assert_eq!(
            h.invoke("set_settings", json!({"settings": settings})),
            Ok(Value::Null)
        );
        let saved: Settings = h.ok("get_settings", json!({}));
        assert_eq!(saved.precision, Some(precision));
        let s = h.until(180, "the switch finishes", || {
            let s = h.status();
            (!s.indexing && s.precision == precision).then_some(s)
        });
        assert_eq!(s.last_error, None, "{s:?}");
        assert_eq!(s.files, 3, "{s:?}");
        assert_eq!(
            s.vectors, s.chunks,
            "every chunk has a {precision} vector: {s:?}"
        );
        assert!(
            h.top_is(
                "how can I cancel the deal ahead of schedule",
                "agreements/service-contract.txt"
            ),
            "meaning search after switching to {precision}: {:?}",
            h.search("how can I cancel the deal ahead of schedule", &[])
        );
    }
}

/// A file whose name is not UTF-8 is indexed once, found, shown readably, and opens (the UI hands back the
/// string it was shown; the backend maps it to the real path).
#[cfg(unix)]
#[test]
fn a_file_whose_name_is_not_utf8_is_found_and_opens() {
    use std::os::unix::ffi::OsStrExt;
    let h = harness(None);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9-notes.txt");
    std::fs::write(
        h.root.join(name),
        "The espresso machine needs descaling every two months.",
    )
    .unwrap();
    h.ok::<Value>("add_folders", json!({"paths": [h.root.to_string_lossy()]}));
    h.wait_until_indexed(4);
    let hit = h
        .search("coffee maker maintenance", &[])
        .results
        .into_iter()
        .next()
        .expect("a result");
    assert!(hit.path.ends_with("caf\u{fffd}-notes.txt"), "{}", hit.path);
    // The shown string is not a path on disk; opening it must still reach the real file.
    assert!(!Path::new(&hit.path).exists());
    assert_eq!(
        h.invoke("open_path", json!({"path": hit.path})),
        Ok(Value::Null)
    );
    let log = h.open_log();
    assert_eq!(log.last().unwrap()["action"], "open");
    assert_eq!(log.last().unwrap()["path"], hit.path.as_str());
}

/// The tray model through `tray_state` (the mock runtime has no tray, so the menu is empty and the model is
/// what a tray would show), and a paused pass showing "Paused" with "Resume indexing" half-way through.
#[test]
fn tray_state_follows_folders_indexing_and_pause() {
    let h = harness(None);
    let tray = |h: &Harness| -> Value { h.ok("tray_state", json!({})) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut t = tray(&h);
    while t["model"]["status"] == "Starting…" {
        assert!(Instant::now() < deadline, "the engine never opened: {t}");
        std::thread::sleep(Duration::from_millis(50));
        t = tray(&h);
    }
    assert_eq!(t["available"], false, "no tray under the mock runtime");
    assert_eq!(t["menu"], json!([]));
    assert_eq!(t["model"]["status"], "No folders yet");
    assert_eq!(t["model"]["pauseEnabled"], false);

    let bulk = h.root.join("bulk");
    std::fs::create_dir_all(&bulk).unwrap();
    for i in 0..200 {
        let text = format!(
            "Note {i}. Minutes about topic {i}: budgets, hiring and the plan for quarter {}.",
            i % 4
        );
        std::fs::write(bulk.join(format!("note-{i:03}.txt")), text).unwrap();
    }
    assert_eq!(
        h.invoke("add_folders", json!({"paths": [h.root]})),
        Ok(Value::Null)
    );
    // While the pass runs: "Indexing N %" once files are counted, N never 100.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen_percent = None;
    while h.status().files < 100 {
        assert!(Instant::now() < deadline, "indexing did not get going");
        let status = tray(&h)["model"]["status"].as_str().unwrap().to_string();
        if let Some(p) = status
            .strip_prefix("Indexing ")
            .and_then(|p| p.strip_suffix(" %"))
        {
            let p: u64 = p.parse().unwrap();
            assert!(p < 100, "{status}");
            seen_percent = Some(p);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(h.invoke("pause_indexing", json!({})), Ok(Value::Null));
    let t = tray(&h);
    assert_eq!(t["model"]["status"], "Paused", "{t}");
    assert_eq!(t["model"]["pauseLabel"], "Resume indexing");
    assert_eq!(t["model"]["tooltip"], "Sift: Paused");
    assert_eq!(h.invoke("resume_indexing", json!({})), Ok(Value::Null));
    h.wait_until_indexed(203);
    let t = tray(&h);
    assert_eq!(t["model"]["status"], "Up to date", "{t}");
    assert_eq!(t["model"]["pauseLabel"], "Pause indexing");
    assert!(
        seen_percent.is_some(),
        "the tray never showed a percentage while indexing"
    );
}

/// Desktop settings through IPC: defaults, a refused shortcut (one sentence, nothing saved), a saved change
/// read back from `desktop.json`, and what the mock runtime cannot do (tray, global shortcuts, autostart)
/// reported rather than failing. The quick-search window is created on first use and hidden again.
#[test]
fn desktop_settings_and_the_quick_window() {
    let h = harness(None);
    let s: sift_app_lib::dto::DesktopSettings = h.ok("get_desktop_settings", json!({}));
    assert!(s.close_to_tray);
    assert_eq!(s.shortcut, "CommandOrControl+Shift+Space");
    assert!(!s.start_at_login && !s.start_at_login_available && !s.tray_available);
    assert_eq!(
        s.shortcut_warning.as_deref(),
        Some("Global shortcuts are not available on this desktop.")
    );

    let data_dir = h.app.state::<AppState>().data_dir().to_path_buf();
    for bad in ["Shift+A", "Ctrl+Nope", ""] {
        let mut edited = s.clone();
        edited.shortcut = bad.into();
        let err = h
            .invoke("set_desktop_settings", json!({ "settings": edited }))
            .unwrap_err();
        let message = err["message"].as_str().unwrap();
        assert!(
            message.ends_with("is not a shortcut Sift can use; try one like Ctrl+Shift+Space."),
            "{bad}: {err}"
        );
        assert!(!data_dir.join("desktop.json").exists());
    }

    let mut edited = s.clone();
    edited.close_to_tray = false;
    edited.shortcut = " Alt+K ".into();
    let back: sift_app_lib::dto::DesktopSettings =
        h.ok("set_desktop_settings", json!({ "settings": edited }));
    assert!(!back.close_to_tray);
    assert_eq!(back.shortcut, "Alt+K");
    let saved: Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("desktop.json")).unwrap()).unwrap();
    assert_eq!(saved, json!({"closeToTray": false, "shortcut": "Alt+K"}));
    let again: sift_app_lib::dto::DesktopSettings = h.ok("get_desktop_settings", json!({}));
    assert_eq!(again, back);

    assert!(h.app.get_webview_window("quick").is_none());
    assert_eq!(h.invoke("show_quick_search", json!({})), Ok(Value::Null));
    assert!(h.app.get_webview_window("quick").is_some());
    assert_eq!(h.invoke("hide_quick_search", json!({})), Ok(Value::Null));
}

/// Ask mode with the test model (`scripts/setup.sh`): the text streams as events tagged with the question's id,
/// the checked answer comes with its passages, Stop and a newer question stop a running one.
#[test]
fn ask_streams_a_checked_answer_and_stops() {
    let model = sift_core::paths::cache_dir()
        .join("models")
        .join("smollm2-135m-instruct");
    assert!(
        model.join("generation.json").is_file(),
        "the test answer model is missing from {} (run scripts/setup.sh)",
        model.display()
    );
    let h = harness_config(
        None,
        None,
        &[],
        GeneratorSource::Named(model.to_string_lossy().into_owned()),
    );
    let events: Arc<Mutex<Vec<AskProgressEvent>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    h.app.listen(ASK_PROGRESS_EVENT, move |event| {
        sink.lock()
            .unwrap()
            .push(serde_json::from_str(event.payload()).unwrap());
    });
    assert_eq!(
        h.invoke("add_folders", json!({"paths": [h.root]})),
        Ok(Value::Null)
    );
    h.wait_until_indexed(3);
    // Loaded in the background at startup: the status names the model and its provider.
    let (name, provider) = h.until(120, "the answer model is ready", || {
        match h.status().generator {
            GeneratorState::Ready { model, provider } => Some((model, provider)),
            GeneratorState::Failed { reason, .. } => panic!("the answer model failed: {reason}"),
            _ => None,
        }
    });
    assert_eq!(name, "smollm2-135m-instruct");
    assert!(!h.ok::<bool>("stop_ask", json!({})), "nothing is running");

    let contract = path_of(&h.root, "agreements/service-contract.txt");
    let a: AskAnswer = h.ok(
        "ask",
        json!({"id": 7, "question": "how much notice does the client need to terminate the service agreement", "folder": null, "kinds": []}),
    );
    assert_eq!(
        (a.id, a.model.as_str(), &a.provider),
        (7, name.as_str(), &provider)
    );
    assert!(!a.stopped);
    assert!(
        a.passages.iter().any(|p| p.path == contract),
        "{:?}",
        a.passages
    );
    match a.status {
        AskStatus::Answered => assert!(
            !a.citations.is_empty() && a.citations.iter().all(|&n| n >= 1 && n <= a.passages.len()),
            "{a:?}"
        ),
        AskStatus::NotFound => assert_eq!(a.answer, "Not found in your files"),
    }
    let streamed: String = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.id == 7)
        .map(|e| e.text.as_str())
        .collect();
    assert!(a.timings.generated_tokens > 0, "{a:?}");
    assert!(!streamed.is_empty(), "no text streamed");
    assert_eq!(streamed.trim(), a.draft.trim());

    // Stop: a running question ends as stopped, soon after its first text.
    // Close to the contract (unrelated passages never reach the model) and asking for a long reply.
    let long = "Explain in a long, detailed answer of several paragraphs how the client can terminate the \
                service agreement early: the written notice, the sixty days and the termination fee.";
    let ask_in_background = |id: u64| {
        let core = AppState::clone(&h.app.state::<AppState>());
        std::thread::spawn(move || core.ask(id, long, None, Vec::new()).unwrap())
    };
    let first_text = |id: u64, running: &std::thread::JoinHandle<AskAnswer>| {
        h.until(120, "the answer's first text", || {
            (running.is_finished() || events.lock().unwrap().iter().any(|e| e.id == id))
                .then_some(())
        });
        assert!(
            events.lock().unwrap().iter().any(|e| e.id == id),
            "question {id} ended before any text"
        );
    };
    let running = ask_in_background(8);
    first_text(8, &running);
    let asked_to_stop = Instant::now();
    assert!(h.ok::<bool>("stop_ask", json!({})));
    let stopped = running.join().unwrap();
    assert!(asked_to_stop.elapsed() < Duration::from_secs(5));
    assert!(stopped.stopped, "{stopped:?}");
    assert_eq!(stopped.status, AskStatus::NotFound);
    assert_eq!(stopped.finish.as_deref(), Some("cancelled"));
    assert!(!stopped.passages.is_empty());

    // A newer question stops the running one, and is answered.
    let running = ask_in_background(9);
    first_text(9, &running);
    let newer: AskAnswer = h.ok(
        "ask",
        json!({"id": 10, "question": "what should I bring on the hike", "folder": null, "kinds": ["txt"]}),
    );
    assert!(running.join().unwrap().stopped);
    assert!(!newer.stopped, "{newer:?}");
    assert!(
        newer.passages.iter().all(|p| p.path.ends_with(".txt")),
        "{newer:?}"
    );
}

/// Without an answer model, asking is one sentence that says where to get one (the settings, not a developer
/// script), and the status says the same.
#[test]
fn ask_without_a_model_says_how_to_get_one() {
    let h = harness(None);
    assert_eq!(
        h.status().generator,
        GeneratorState::Absent {
            hint: NO_MODEL_HINT.into()
        }
    );
    let err = h
        .invoke(
            "ask",
            json!({"id": 1, "question": "anything", "folder": null, "kinds": []}),
        )
        .unwrap_err();
    assert_eq!(err["message"], NO_MODEL_HINT, "{err}");
    assert!(
        NO_MODEL_HINT.contains("Settings → Answer models") && !NO_MODEL_HINT.contains("setup.sh")
    );
}
