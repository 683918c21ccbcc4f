//! The `sift` binary under stress: `kill -9` at many moments, two processes on one data directory, and no
//! telemetry or network use by the runtime. Real processes, real SQLite file, real model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{run_ok, sift, status};

/// Chunks embedded, from `sift index`'s summary line.
fn embedded(summary: &str) -> u64 {
    let head = summary.split(" chunks embedded").next().unwrap();
    head.rsplit(' ').next().unwrap().parse().unwrap()
}

fn write_notes(dir: &Path, prefix: &str, n: usize) {
    let topics = [
        "rivers and lakes",
        "tax returns",
        "violin lessons",
        "kernel scheduling",
        "bread baking",
        "mountain hiking",
    ];
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let body = format!(
            "{prefix} note {i} about {}. {}",
            topics[i % topics.len()],
            "This paragraph has enough words to need a little embedding work for every file. "
                .repeat(8 + i % 5)
        );
        std::fs::write(dir.join(format!("{prefix}-{i:04}.txt")), body).unwrap();
    }
}

/// Every file's passages (text, in id order) and, after each, its sentence windows (marked), every unit's
/// vector count, and consistency checks.
fn snapshot(data: &Path) -> BTreeMap<String, Vec<String>> {
    let store = sift_core::Store::open(&data.join("index.sqlite")).unwrap();
    let problems = store.integrity_problems().unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let counts = store.counts().unwrap();
    let model = "all-MiniLM-L6-v2/int8";
    assert_eq!(
        store.count_vectors(model).unwrap(),
        counts.chunks,
        "every chunk has exactly one vector"
    );
    assert_eq!(store.count_missing_vectors(model).unwrap(), 0);
    let mut out = BTreeMap::new();
    for folder in store.folders().unwrap() {
        for (path, row) in store.files_in_folder(folder.id).unwrap() {
            assert_eq!(row.status, sift_core::FileStatus::Indexed, "{path:?}");
            out.insert(path.to_string_lossy().into_owned(), Vec::new());
        }
    }
    let ids = store.vector_ids(model).unwrap();
    for c in store.chunks(&ids).unwrap() {
        let text = match c.parent {
            None => c.text,
            Some(_) => format!("{WINDOW}{}", c.text),
        };
        out.get_mut(&*c.path.to_string_lossy()).unwrap().push(text);
    }
    out
}

/// Marks a sentence window's text in a snapshot.
const WINDOW: &str = "\u{1}window: ";

/// Passages in a snapshot (what `sift index` counts as chunks embedded).
fn passages(snapshot: &BTreeMap<String, Vec<String>>) -> u64 {
    snapshot
        .values()
        .flatten()
        .filter(|t| !t.starts_with(WINDOW))
        .count() as u64
}

#[test]
fn twenty_kills_leave_a_consistent_database_that_ends_like_a_clean_index() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_notes(files.path(), "kill", 400);
    let mut seed = 0x9e3779b97f4a7c15u64;
    for round in 0..20 {
        let mut child = sift(data.path())
            .args(["--threads", "1", "index"])
            .arg(files.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // 0.1 s .. 2.5 s: before the database exists, while opening, mid-batch, while saving the graph.
        let wait = Duration::from_millis(100 + seed % 2400);
        std::thread::sleep(wait);
        let _ = child.kill();
        child.wait().unwrap();
        if data.path().join("index.sqlite").exists() {
            let store = sift_core::Store::open(&data.path().join("index.sqlite")).unwrap();
            let problems = store.integrity_problems().unwrap();
            assert!(problems.is_empty(), "round {round}: {problems:?}");
            let counts = store.counts().unwrap();
            assert_eq!(
                store.count_vectors("all-MiniLM-L6-v2/int8").unwrap(),
                counts.chunks,
                "round {round}: every committed chunk has its vector"
            );
        }
    }
    // Files finished before the last kill are not embedded again.
    let (done_files, done_chunks) = {
        let store = sift_core::Store::open(&data.path().join("index.sqlite")).unwrap();
        let mut indexed = std::collections::HashSet::new();
        for folder in store.folders().unwrap() {
            for (path, row) in store.files_in_folder(folder.id).unwrap() {
                if row.status == sift_core::FileStatus::Indexed {
                    indexed.insert(path);
                }
            }
        }
        let ids = store.vector_ids("all-MiniLM-L6-v2/int8").unwrap();
        let chunks = store
            .chunks(&ids)
            .unwrap()
            .iter()
            .filter(|c| c.parent.is_none() && indexed.contains(&c.path))
            .count() as u64;
        (indexed.len() as u64, chunks)
    };
    assert!(done_files > 0, "some files were finished between kills");
    let (_, out) = run_ok({
        let mut c = sift(data.path());
        c.args(["--threads", "2", "index"]).arg(files.path());
        c
    });
    let resumed = snapshot(data.path());

    let clean_data = tempfile::tempdir().unwrap();
    let (_, clean_out) = run_ok({
        let mut c = sift(clean_data.path());
        c.args(["--threads", "2", "index"]).arg(files.path());
        c
    });
    let clean = snapshot(clean_data.path());
    assert_eq!(resumed, clean, "the resumed index equals a clean one");
    let total = passages(&clean);
    assert!(
        clean.values().flatten().any(|t| t.starts_with(WINDOW)),
        "the notes are long enough to have sentence windows"
    );
    assert_eq!(embedded(&clean_out), total);
    assert!(out.contains(&format!("{done_files} unchanged")), "{out}");
    assert_eq!(
        embedded(&out),
        total - done_chunks,
        "only unfinished files are embedded: {out}"
    );
}

/// Ctrl-C during `sift index` stops after the batch in hand, keeps what was indexed and saves the vector
/// graph: the next start loads it (instead of rebuilding it from every vector, which takes most of an hour
/// at a million chunks) and the next run indexes only the rest.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_indexing_cleanly_and_the_next_run_goes_on() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_notes(files.path(), "stop", 400);
    let mut c = sift(data.path());
    c.args(["--threads", "1", "index"]).arg(files.path());
    let done = ctrl_c_mid_pass(c, data.path(), "sift index");
    assert!(done < 400);
    let (_, rest) = run_ok({
        let mut c = sift(data.path());
        c.args(["--threads", "2", "index"]).arg(files.path());
        c
    });
    assert!(rest.contains(&format!("{done} unchanged")), "{rest}");
    assert_eq!(
        status(data.path())["status"]["counts"]["indexed_files"],
        400
    );
}

/// `sift watch` stopped during its first pass says to start it again (not `sift index`).
#[cfg(unix)]
#[test]
fn ctrl_c_stops_watch_mid_pass_cleanly() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_notes(files.path(), "first", 1);
    common::index(data.path(), files.path());
    write_notes(files.path(), "watch", 400);
    let mut c = sift(data.path());
    c.args(["--threads", "1", "watch"]);
    let done = ctrl_c_mid_pass(c, data.path(), "sift watch");
    assert!(done > 1 && done < 401);
}

/// Runs `c` (an indexing command) until some files are committed, presses Ctrl-C, and checks it stopped
/// cleanly: exit 130, the message naming `resume`, the graph saved with every committed vector. Returns
/// how many files were indexed.
#[cfg(unix)]
fn ctrl_c_mid_pass(mut c: Command, data: &Path, resume: &str) -> u64 {
    c.stderr(Stdio::piped());
    common::interruptible(&mut c);
    let db = data.join("index.sqlite");
    let indexed = || {
        db.exists()
            .then(|| sift_core::Store::open(&db).ok()?.counts().ok())
            .flatten()
            .map_or(0, |c| c.indexed_files)
    };
    let before = indexed();
    let child = c.spawn().unwrap();
    // Wait until some files are indexed (committed), then press Ctrl-C.
    let started = Instant::now();
    loop {
        if indexed() > before {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing indexed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    common::ctrl_c(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "stopped: what was indexed is kept; run `{resume}` again to continue"
        )),
        "{stderr}"
    );
    let st = status(data);
    let done = st["status"]["counts"]["indexed_files"].as_u64().unwrap();
    assert!(done > before, "{st}");
    assert_eq!(st["status"]["index_source"], "loaded", "{st}");
    assert_eq!(
        st["status"]["index_vectors"], st["status"]["counts"]["vectors"],
        "the saved graph holds every committed vector: {st}"
    );
    done
}

#[test]
fn two_processes_index_different_roots_of_one_data_directory_at_once() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let a = files.path().join("a");
    let b = files.path().join("b");
    write_notes(&a, "alpha", 60);
    write_notes(&b, "beta", 60);
    std::fs::write(
        b.join("contract.txt"),
        "Either party may end this agreement early by giving ninety days written notice.",
    )
    .unwrap();
    // A long-running process (like the app) with the index open throughout.
    let mut config = sift_core::EngineConfig::new(data.path()).unwrap();
    config.settings.threads = 1;
    let long_running = sift_core::Engine::open(config).unwrap();

    let spawn = |dir: &PathBuf| {
        sift(data.path())
            .args(["--threads", "1", "index"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn(&a);
    std::thread::sleep(Duration::from_millis(1500));
    let second = spawn(&b);
    let started = Instant::now();
    for mut child in [first, second] {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                assert!(status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                break;
            }
            if started.elapsed() > Duration::from_secs(400) {
                let _ = child.kill();
                panic!("a `sift index` process hung (deadlock)");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Whatever one process left to the other is picked up by a catch-up pass.
    run_ok({
        let mut c = sift(data.path());
        c.arg("index");
        c
    });
    let snap = snapshot(data.path());
    assert_eq!(snap.len(), 121, "every file indexed once");
    let s = status(data.path());
    assert_eq!(
        s["status"]["counts"]["vectors"],
        s["status"]["counts"]["chunks"]
    );
    assert_eq!(
        s["status"]["index_vectors"],
        s["status"]["counts"]["chunks"]
    );

    // The long-running process sees the same index as a fresh one.
    for query in [
        "how can I cancel the deal",
        "playing a string instrument",
        "cpu time slices for threads",
    ] {
        let (fresh, _) = run_ok({
            let mut c = sift(data.path());
            c.args(["search", "--json", "--limit", "10", query]);
            c
        });
        let fresh: serde_json::Value = serde_json::from_str(&fresh).unwrap();
        let fresh_paths: Vec<String> = fresh["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect();
        let mine = long_running
            .search(query, &sift_core::SearchOptions::default())
            .unwrap();
        let mine_paths: Vec<String> = mine
            .results
            .iter()
            .map(|r| r.path.to_string_lossy().into_owned())
            .collect();
        assert!(!mine_paths.is_empty());
        assert_eq!(mine_paths, fresh_paths, "{query}");
    }
    let st = long_running.status().unwrap();
    assert_eq!(
        st.index_vectors as u64, st.counts.chunks,
        "no chunk twice, none missing"
    );
}

/// ONNX Runtime's PyPI builds carry telemetry that writes a device id and queues events under
/// `~/.cache/Microsoft`. With a fresh HOME, indexing and searching create nothing outside Sift's data
/// directory, and no process makes an internet connection (traced with strace).
#[cfg(target_os = "linux")]
#[test]
fn no_telemetry_files_and_no_network_connections() {
    let home = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    write_notes(files.path(), "privacy", 3);
    let cache = sift_core::paths::cache_dir();
    let ort = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("onnxruntime/libonnxruntime.so"));
    let model = cache.join("models/all-MiniLM-L6-v2");
    assert!(
        ort.is_file() && model.is_dir(),
        "run scripts/setup.sh first"
    );
    let trace = home
        .path()
        .join("..")
        .join(format!("sift-strace-{}.log", std::process::id()));
    let run = |args: &[&str]| {
        let mut c = Command::new("strace");
        c.args(["-f", "-qq", "-e", "trace=connect", "-o"])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_sift"))
            .args(args)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ORT_DYLIB_PATH", &ort)
            .env("SIFT_MODEL_DIR", &model);
        let out = c
            .output()
            .expect("strace is installed by scripts/setup.sh --test-tools");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = std::fs::read_to_string(&trace).unwrap();
        let _ = std::fs::remove_file(&trace);
        for line in log.lines() {
            assert!(
                !line.contains("AF_INET"),
                "`sift {}` opened a network connection: {line}",
                args.join(" ")
            );
        }
        assert!(
            log.is_empty()
                || log.lines().all(|l| l.contains("AF_UNIX")
                    || l.contains("exited")
                    || l.contains("resumed")),
            "{log}"
        );
    };
    run(&["index", files.path().to_str().unwrap()]);
    run(&["search", "playing a string instrument"]);
    run(&["status"]);
    assert!(
        !home.path().join(".cache/Microsoft").exists(),
        "ONNX Runtime telemetry wrote its cache"
    );
    // Nothing but Sift's own data directory was created in HOME.
    let mut created = Vec::new();
    for entry in walk(home.path()) {
        let rel = entry.strip_prefix(home.path()).unwrap().to_path_buf();
        if !rel.starts_with(".local/share/sift")
            && !Path::new(".local/share/sift").starts_with(&rel)
        {
            created.push(rel);
        }
    }
    assert!(
        created.is_empty(),
        "created outside Sift's data directory: {created:?}"
    );
    assert!(home.path().join(".local/share/sift/index.sqlite").is_file());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.clone());
            if p.is_dir() {
                out.extend(walk(&p));
            }
        }
    }
    out
}

/// A subfolder that cannot be read keeps what was indexed in it (marked, not deleted), and nothing is
/// re-embedded when it becomes readable again. Root ignores permissions, so `sift` runs as `nobody` here
/// (CI runs as root; elsewhere this is skipped with a message).
#[cfg(target_os = "linux")]
#[test]
fn an_unreadable_subfolder_keeps_its_files() {
    use std::os::unix::fs::PermissionsExt;
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("SKIPPED: needs root to run sift as another user (CI runs as root)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The runtime and model, where `nobody` can read them.
    let cache = sift_core::paths::cache_dir();
    let ort = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("onnxruntime/libonnxruntime.so"));
    std::fs::create_dir_all(base.join("model")).unwrap();
    std::fs::copy(&ort, base.join("libonnxruntime.so")).unwrap();
    for f in ["model_int8.onnx", "tokenizer.json", "config.json"] {
        let from = cache.join("models/all-MiniLM-L6-v2").join(f);
        if from.exists() {
            std::fs::copy(from, base.join("model").join(f)).unwrap();
        }
    }
    let files = base.join("files");
    std::fs::create_dir_all(files.join("private")).unwrap();
    std::fs::write(
        files.join("open.txt"),
        "Notes about the garden shed and its roof.",
    )
    .unwrap();
    std::fs::write(
        files.join("private/diary.txt"),
        "The violin recital went well; my bow hand finally relaxed.",
    )
    .unwrap();
    std::fs::write(
        files.join("private/budget.txt"),
        "Rent, groceries and the bus pass.",
    )
    .unwrap();
    std::fs::create_dir_all(base.join("data")).unwrap();
    std::fs::create_dir_all(base.join("home")).unwrap();
    let chown = Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(&files)
        .arg(base.join("data"))
        .arg(base.join("home"))
        .status()
        .unwrap();
    assert!(chown.success());
    let as_nobody = |args: &[&str]| -> (String, String) {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"])
            .arg(env!("CARGO_BIN_EXE_sift"))
            .args(args)
            .env("HOME", base.join("home"))
            .env("SIFT_DATA_DIR", base.join("data"))
            .env("SIFT_LOG", "warn")
            .env("ORT_DYLIB_PATH", base.join("libonnxruntime.so"))
            .env("SIFT_MODEL_DIR", base.join("model"));
        run_ok(c)
    };
    let root = files.to_str().unwrap();
    let (_, first) = as_nobody(&["index", root]);
    assert!(first.contains("3 indexed"), "{first}");

    std::fs::set_permissions(
        files.join("private"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let (_, blocked) = as_nobody(&["index", root]);
    assert!(blocked.contains("0 removed"), "nothing deleted: {blocked}");
    assert!(blocked.contains("cannot read this folder"), "{blocked}");
    let (out, _) = as_nobody(&["search", "--json", "playing a string instrument on stage"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["results"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("private/diary.txt"),
        "the unreadable folder's files stay searchable: {v}"
    );
    let (problems, _) = as_nobody(&["problems"]);
    assert!(problems.contains("private"), "{problems}");

    std::fs::set_permissions(
        files.join("private"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let (_, back) = as_nobody(&["index", root]);
    assert_eq!(embedded(&back), 0, "nothing re-embedded: {back}");
    assert!(back.contains("3 unchanged"), "{back}");
    let (problems, _) = as_nobody(&["problems"]);
    assert!(!problems.contains("private"), "{problems}");
}
