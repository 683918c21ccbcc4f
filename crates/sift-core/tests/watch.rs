//! The real filesystem watcher keeps the index live: a file created, edited and deleted under a watched root
//! shows up, changes, and disappears in search results.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use sift_core::watch::Watcher;
use sift_core::{Engine, EngineConfig, SearchOptions};

/// Re-indexes on every watcher batch until `done` says the change is in, summing the reports. (A file
/// created inside a brand-new folder may only be reported as the folder: re-indexing the containing root
/// catches it, which is what the app does.)
fn index_until(
    engine: &Engine,
    watcher: &Watcher,
    done: impl Fn(&sift_core::IndexReport) -> bool,
) -> sift_core::IndexReport {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut total = sift_core::IndexReport::default();
    loop {
        assert!(
            Instant::now() < deadline,
            "the change was not seen: {total:?}"
        );
        if let Some(paths) = watcher.next_batch(Duration::from_secs(5)) {
            let r = engine
                .index_containing(&paths, &mut |_| {}, &AtomicBool::new(false))
                .unwrap();
            total.files_indexed += r.files_indexed;
            total.files_removed += r.files_removed;
            if done(&total) {
                return total;
            }
        }
    }
}

#[test]
fn watcher_keeps_the_index_live() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = files.path().canonicalize().unwrap();
    std::fs::write(
        root.join("seed.txt"),
        "Notes about sourdough starters and hydration.",
    )
    .unwrap();
    let mut config = EngineConfig::new(data.path()).unwrap();
    config.settings.threads = 1;
    let engine = Engine::open(config).unwrap();
    engine.add_folder(&root).unwrap();
    engine.index(&mut |_| {}, &AtomicBool::new(false)).unwrap();

    let watcher = Watcher::new(std::slice::from_ref(&root), Duration::from_millis(200)).unwrap();
    std::fs::create_dir_all(root.join("trips")).unwrap();
    std::fs::write(
        root.join("trips/iceland.md"),
        "We drove the ring road and saw glaciers, geysers and puffins.",
    )
    .unwrap();
    let report = index_until(&engine, &watcher, |r| r.files_indexed >= 1);
    assert_eq!(report.files_indexed, 1, "{report:?}");
    let top = |q: &str| {
        engine
            .search(q, &SearchOptions::default())
            .unwrap()
            .results
            .first()
            .map(|h| h.path.clone())
    };
    assert!(top("nordic road trip with ice and volcanoes")
        .unwrap()
        .ends_with("iceland.md"));

    std::fs::write(
        root.join("trips/iceland.md"),
        "Budget spreadsheet for the quarterly marketing campaign.",
    )
    .unwrap();
    let report = index_until(&engine, &watcher, |r| r.files_indexed >= 1);
    assert_eq!(report.files_indexed, 1, "{report:?}");
    assert!(engine
        .search("\"ring road\"", &SearchOptions::default())
        .unwrap()
        .results
        .is_empty());

    std::fs::remove_file(root.join("trips/iceland.md")).unwrap();
    let report = index_until(&engine, &watcher, |r| r.files_removed >= 1);
    assert_eq!(report.files_removed, 1, "{report:?}");
    assert!(engine
        .search("marketing budget", &SearchOptions::default())
        .unwrap()
        .results
        .iter()
        .all(|h| !h.path.ends_with("iceland.md")));
}

/// Reading files (what indexing does) is not a change: an idle index must stay idle. Writes, renames and
/// removals are, with both names of a rename.
#[test]
fn reads_are_quiet_and_changes_are_reported_by_path() {
    use sift_core::watch::Change;
    let files = tempfile::tempdir().unwrap();
    let root = files.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    for i in 0..20 {
        std::fs::write(root.join(format!("sub/f{i}.txt")), format!("file {i}")).unwrap();
    }
    let watcher = Watcher::new(std::slice::from_ref(&root), Duration::from_millis(100)).unwrap();
    // Read every file and list every folder, a few times over.
    for _ in 0..3 {
        for entry in std::fs::read_dir(root.join("sub")).unwrap() {
            let _ = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        }
    }
    let _ = std::fs::metadata(root.join("sub/f1.txt")).unwrap();
    assert_eq!(watcher.next_change(Duration::from_secs(2)), None);

    std::fs::write(root.join("sub/f1.txt"), "edited").unwrap();
    std::fs::rename(root.join("sub/f2.txt"), root.join("sub/renamed.txt")).unwrap();
    std::fs::remove_file(root.join("sub/f3.txt")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let wanted = ["f1.txt", "f2.txt", "renamed.txt", "f3.txt"].map(|n| root.join("sub").join(n));
    while !wanted.iter().all(|p| seen.contains(p)) {
        assert!(Instant::now() < deadline, "missing changes: {seen:?}");
        match watcher.next_change(Duration::from_secs(1)) {
            Some(Change::Paths(paths)) => seen.extend(paths),
            Some(Change::Rescan) => panic!("no overflow expected"),
            None => {}
        }
    }
    assert!(
        seen.iter().all(|p| wanted.contains(p)),
        "only the changed paths are reported: {seen:?}"
    );
    assert_eq!(watcher.problem(), None);
}
