//! Index consistency: the vector graph holds exactly the live vectors of its database for the active model,
//! through model switches, replaced databases, renames, offline roots, odd file names and secrets.
//! Real model, real SQLite file, real graph files, real filesystem (and a real tmpfs mount as root).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sift_core::model::Precision;
use sift_core::{Engine, EngineConfig, IndexReport, MeaningSearch, SearchOptions};

/// Each file's passage shares no content word with the query that must find it (see `QUERIES`).
const FILES: &[(&str, &str)] = &[
    (
        "legal/contract.txt",
        "Either party may end this agreement before its expiry by giving ninety days written notice. \
         Upon such early termination, fees paid in advance are refunded pro rata.",
    ),
    (
        "kitchen/recipe.md",
        "# Weeknight pasta\n\nBoil salted water and cook the spaghetti for nine minutes. \
         Toss with tomato sauce, garlic and fresh basil.",
    ),
    (
        "garden/notes.txt",
        "Tomatoes need six hours of sun. Water the seedlings every morning and add compost in spring.",
    ),
    (
        "travel/japan.txt",
        "Kyoto in autumn: the maple leaves at Tofuku-ji turn red in November. Take the early train to avoid crowds.",
    ),
];

/// (query, file it must find first). No query word appears in its file.
const QUERIES: &[(&str, &str)] = &[
    ("how can I cancel the deal", "contract.txt"),
    ("what should I make for dinner tonight", "recipe.md"),
    ("visiting temples when foliage changes colour", "japan.txt"),
];

fn write_fixture(root: &Path) {
    for (rel, text) in FILES {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn open(data: &Path, precision: Precision) -> Engine {
    let mut config = EngineConfig::new(data).unwrap();
    config.settings.threads = 2;
    config.settings.precision = Some(precision);
    Engine::open(config).unwrap()
}

fn index(engine: &Engine) -> IndexReport {
    engine.index(&mut |_| {}, &AtomicBool::new(false)).unwrap()
}

fn top(engine: &Engine, query: &str) -> Option<PathBuf> {
    engine
        .search(query, &SearchOptions::default())
        .unwrap()
        .results
        .first()
        .map(|h| h.path.clone())
}

fn assert_finds_by_meaning(engine: &Engine) {
    for (query, file) in QUERIES {
        // The fixture really shares no content word with the query.
        let text = FILES
            .iter()
            .find(|(p, _)| p.ends_with(file))
            .unwrap()
            .1
            .to_lowercase();
        for w in query.split_whitespace().filter(|w| w.len() > 3) {
            assert!(
                !text.contains(w),
                "fixture {file} shares `{w}` with `{query}`"
            );
        }
        let got = top(engine, query);
        assert!(
            got.as_ref().is_some_and(|p| p.ends_with(file)),
            "`{query}` should find {file}, got {got:?}"
        );
    }
}

fn assert_vectors_cover_chunks(engine: &Engine) {
    let s = engine.status().unwrap();
    assert!(s.counts.chunks > 0);
    assert_eq!(s.counts.vectors, s.counts.chunks, "{s:?}");
    assert_eq!(s.index_vectors as u64, s.counts.chunks, "{s:?}");
    assert_eq!(s.meaning, MeaningSearch::Ready);
}

#[test]
fn model_switch_reembeds_only_what_it_must_and_never_goes_silent() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixture(files.path());

    let int8 = open(data.path(), Precision::Int8);
    int8.add_folder(files.path()).unwrap();
    let first = index(&int8);
    let chunks = int8.status().unwrap().counts.chunks;
    assert_eq!(first.chunks_embedded, chunks);
    assert_vectors_cover_chunks(&int8);
    assert_finds_by_meaning(&int8);
    drop(int8);

    // fp32: the chunks stay, each gets an fp32 vector (exactly one embedding per chunk).
    let fp32 = open(data.path(), Precision::Fp32);
    let before = fp32.status().unwrap();
    assert_eq!(
        before.meaning,
        MeaningSearch::Rebuilding {
            with_vectors: 0,
            passages: chunks
        },
        "a switch that has not re-embedded yet is reported, not silent"
    );
    let r = fp32
        .search("how can I cancel the deal", &SearchOptions::default())
        .unwrap();
    assert!(matches!(r.meaning, MeaningSearch::Rebuilding { .. }));
    let switched = index(&fp32);
    assert_eq!(switched.chunks_embedded, chunks, "{switched:?}");
    assert_eq!(fp32.embedded_chunks(), chunks);
    assert_vectors_cover_chunks(&fp32);
    assert_finds_by_meaning(&fp32);
    drop(fp32);

    // Back to int8: its vectors were kept, nothing is embedded again.
    let back = open(data.path(), Precision::Int8);
    assert_vectors_cover_chunks(&back);
    let r = index(&back);
    assert_eq!(r.chunks_embedded, 0, "{r:?}");
    assert_eq!(back.embedded_chunks(), 0);
    assert_finds_by_meaning(&back);
}

#[test]
fn a_graph_is_never_reused_with_another_database() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixture(files.path());
    {
        let engine = open(data.path(), Precision::Int8);
        engine.add_folder(files.path()).unwrap();
        index(&engine);
    }
    let graph_dirs: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("hnsw-"))
        .collect();
    assert_eq!(graph_dirs.len(), 1, "a graph was saved");
    for name in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(data.path().join(name));
    }
    // Index a different folder into the new database: its chunk ids overlap the old graph's.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("astronomy.txt"),
        "The telescope showed the rings of Saturn and four of its moons on a clear night.",
    )
    .unwrap();
    let engine = open(data.path(), Precision::Int8);
    assert_eq!(
        engine.status().unwrap().index_vectors,
        0,
        "old graph not loaded"
    );
    engine.add_folder(other.path()).unwrap();
    index(&engine);
    assert_vectors_cover_chunks(&engine);
    let r = engine
        .search("how can I cancel the deal", &SearchOptions::default())
        .unwrap();
    assert!(
        r.results
            .iter()
            .all(|h| h.path.starts_with(other.path().canonicalize().unwrap())),
        "no passage from the old graph: {:?}",
        r.results
    );
    drop(engine);
    let reopened = open(data.path(), Precision::Int8);
    assert_eq!(
        reopened.status().unwrap().index_source,
        sift_core::IndexSource::Loaded
    );
    assert_vectors_cover_chunks(&reopened);
}

#[test]
fn renames_and_moves_keep_their_vectors() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixture(files.path());
    let engine = open(data.path(), Precision::Int8);
    engine.add_folder(files.path()).unwrap();
    index(&engine);
    let root = files.path().canonicalize().unwrap();
    let embedded = engine.embedded_chunks();

    // Watcher-style: only the two paths of a rename.
    let from = root.join("legal/contract.txt");
    let to = root.join("legal/contract-2024.txt");
    std::fs::rename(&from, &to).unwrap();
    let r = engine
        .index_containing(
            &[from.clone(), to.clone()],
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(
        (r.files_moved, r.chunks_embedded, r.files_removed),
        (1, 0, 0),
        "{r:?}"
    );
    assert_eq!(top(&engine, "how can I cancel the deal"), Some(to.clone()));

    // A full pass after a move into another folder.
    std::fs::create_dir_all(root.join("archive")).unwrap();
    let moved = root.join("archive/contract-2024.txt");
    std::fs::rename(&to, &moved).unwrap();
    let r = index(&engine);
    assert_eq!((r.files_moved, r.chunks_embedded), (1, 0), "{r:?}");
    assert_eq!(engine.embedded_chunks(), embedded, "nothing re-embedded");
    assert_eq!(top(&engine, "how can I cancel the deal"), Some(moved));
    assert_vectors_cover_chunks(&engine);

    // A deletion reported by path removes the file and only it.
    let gone = root.join("kitchen/recipe.md");
    std::fs::remove_file(&gone).unwrap();
    let r = engine
        .index_containing(
            std::slice::from_ref(&gone),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!((r.files_removed, r.files_seen), (1, 0), "{r:?}");
    assert!(!engine.is_indexed_file(&gone).unwrap());
    assert_vectors_cover_chunks(&engine);
}

#[test]
fn secrets_are_not_indexed_by_default() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixture(files.path());
    let token = "zq7secrettokenvalue";
    std::fs::create_dir_all(files.path().join(".ssh")).unwrap();
    std::fs::write(
        files.path().join("id_rsa"),
        format!("-----BEGIN KEY----- {token}"),
    )
    .unwrap();
    std::fs::write(files.path().join(".env"), format!("API_TOKEN={token}")).unwrap();
    std::fs::write(files.path().join("server.pem"), format!("cert {token}")).unwrap();
    std::fs::write(
        files.path().join("notes.txt"),
        "plain notes about nothing secret",
    )
    .unwrap();
    let engine = open(data.path(), Precision::Int8);
    engine.add_folder(files.path()).unwrap();
    let r = index(&engine);
    assert_eq!(r.files_indexed as usize, FILES.len() + 1, "{r:?}");
    let keyword = SearchOptions {
        mode: sift_core::Mode::Keyword,
        ..SearchOptions::default()
    };
    let hits = engine.search(token, &keyword).unwrap();
    assert!(hits.results.is_empty(), "{:?}", hits.results);
    let hits = engine.search("secret", &keyword).unwrap();
    assert_eq!(hits.results.len(), 1, "only notes.txt: {:?}", hits.results);
    let notes = engine
        .search("\"plain notes\"", &SearchOptions::default())
        .unwrap();
    assert_eq!(notes.results.len(), 1, "keyword search itself works");
}

#[cfg(unix)]
#[test]
fn non_utf8_file_names_index_once_and_are_found() {
    use std::os::unix::ffi::OsStrExt;
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9-notes.txt");
    let path = files.path().canonicalize().unwrap().join(name);
    std::fs::write(
        &path,
        "The espresso machine needs descaling every two months.",
    )
    .unwrap();
    std::fs::write(
        files.path().join("caf\u{e9}-notes.txt"),
        "A different file about bicycles.",
    )
    .unwrap();
    let engine = open(data.path(), Precision::Int8);
    engine.add_folder(files.path()).unwrap();
    let r = index(&engine);
    assert_eq!(r.files_indexed, 2, "{r:?}");
    let r = index(&engine);
    assert_eq!(
        (r.files_unchanged, r.chunks_embedded),
        (2, 0),
        "indexed once: {r:?}"
    );
    let hit = top(&engine, "coffee maker maintenance");
    assert_eq!(
        hit.as_deref(),
        Some(path.as_path()),
        "the exact (non-UTF-8) path comes back"
    );
    assert!(engine.is_indexed_file(&path).unwrap());
}

/// An empty filesystem mounted over an indexed root (a drive that is not plugged in, its mount point still
/// there) must not wipe its index. Needs root for `mount` (CI runs as root).
#[cfg(target_os = "linux")]
#[test]
fn an_empty_mount_over_a_root_keeps_its_index() {
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("SKIPPED: mounting a tmpfs needs root (CI runs as root)");
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixture(files.path());
    let root = files.path().canonicalize().unwrap();
    let engine = open(data.path(), Precision::Int8);
    engine.add_folder(&root).unwrap();
    index(&engine);
    let before = engine.status().unwrap().counts;
    let embedded = engine.embedded_chunks();

    let mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(mount.success(), "mount tmpfs");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let guard = Unmount(root.clone());
    let r = index(&engine);
    assert_eq!(r.roots_offline, vec![root.clone()], "{r:?}");
    assert_eq!(r.files_removed, 0);
    let during = engine.status().unwrap();
    assert_eq!(during.counts.files, before.files);
    assert_eq!(during.counts.chunks, before.chunks);
    assert_eq!(during.offline_folders, vec![root.clone()]);
    assert!(engine.folders().unwrap()[0].offline);
    // Still searchable while offline.
    assert_finds_by_meaning(&engine);

    drop(guard);
    let r = index(&engine);
    assert!(r.roots_offline.is_empty(), "{r:?}");
    assert_eq!((r.chunks_embedded, r.files_removed), (0, 0), "{r:?}");
    assert_eq!(engine.embedded_chunks(), embedded, "0 chunks re-embedded");
    assert!(!engine.folders().unwrap()[0].offline);
    assert_vectors_cover_chunks(&engine);
}

#[test]
fn a_large_file_is_committed_in_bounded_batches_and_pauses_promptly() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    // ~8 MB of varied prose: thousands of chunks, far more than one batch.
    let mut text = String::new();
    let mut i = 0u64;
    while text.len() < 8_000_000 {
        i += 1;
        text.push_str(&format!(
            "Entry {i}: the survey team logged {} samples near marker {} and noted {} weather.\n",
            i * 7 % 1000,
            i * 13 % 997,
            ["clear", "foggy", "windy", "rainy"][(i % 4) as usize]
        ));
    }
    std::fs::write(files.path().join("log.txt"), &text).unwrap();
    std::fs::write(
        files.path().join("small.txt"),
        "A short note about violins.",
    )
    .unwrap();
    let mut config = EngineConfig::new(data.path()).unwrap();
    config.settings.threads = 2;
    config.batch_tokens = 1024;
    let engine = std::sync::Arc::new(Engine::open(config).unwrap());
    engine.add_folder(files.path()).unwrap();
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    let (e2, c2) = (engine.clone(), cancel.clone());
    let worker = std::thread::spawn(move || e2.index(&mut |_| {}, &c2));
    // Wait until some batches of the large file are committed, then pause.
    let started = std::time::Instant::now();
    loop {
        let s = engine.status().unwrap();
        if s.counts.chunks >= 64 {
            break;
        }
        assert!(started.elapsed().as_secs() < 600, "no batch committed");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let paused_at = std::time::Instant::now();
    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
    let result = worker.join().unwrap();
    let latency = paused_at.elapsed();
    assert!(
        matches!(result, Err(sift_core::Error::Cancelled)),
        "{result:?}"
    );
    assert!(latency.as_secs_f64() < 5.0, "pause took {latency:?}");
    let s = engine.status().unwrap();
    // What was committed is consistent and searchable: every stored chunk has its vector.
    assert_eq!(s.counts.vectors, s.counts.chunks, "{s:?}");
    assert!(s.counts.chunks < 2000, "the pass really stopped: {s:?}");
    eprintln!(
        "pause latency {latency:?} with {} chunks committed",
        s.counts.chunks
    );
}
