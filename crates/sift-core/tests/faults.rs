//! Failures are per file: a file whose embedding (or storing) fails is recorded as failed with a reason,
//! every other file is indexed and searchable, and the failed file is not retried until it changes.
//! Faults are injected through `SIFT_FAULT_EMBED` / `SIFT_FAULT_STORE` (one test per process: the
//! environment is process-wide).

use std::sync::atomic::AtomicBool;

use sift_core::{Engine, EngineConfig, FileStatus, SearchOptions};

#[test]
fn a_file_that_fails_to_embed_or_store_is_recorded_and_the_pass_goes_on() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = files.path();
    std::fs::write(
        root.join("contract.txt"),
        "Either party may end this agreement early by giving ninety days written notice.",
    )
    .unwrap();
    std::fs::write(
        root.join("poison-embed.txt"),
        "Lighthouses guide ships along rocky coasts at night.",
    )
    .unwrap();
    std::fs::write(
        root.join("poison-store.txt"),
        "Bees pollinate orchards in early spring.",
    )
    .unwrap();
    std::fs::write(
        root.join("recipe.md"),
        "# Pasta\n\nBoil water, cook spaghetti nine minutes.",
    )
    .unwrap();
    std::env::set_var("SIFT_FAULT_EMBED", "poison-embed");
    std::env::set_var("SIFT_FAULT_STORE", "poison-store");

    let mut config = EngineConfig::new(data.path()).unwrap();
    config.settings.threads = 2;
    let engine = Engine::open(config).unwrap();
    engine.add_folder(root).unwrap();
    let cancel = AtomicBool::new(false);
    let report = engine.index(&mut |_| {}, &cancel).unwrap();
    assert_eq!(
        (report.files_indexed, report.files_failed),
        (2, 2),
        "{report:?}"
    );
    let problems = engine.problem_files(None).unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    for p in &problems {
        assert_eq!(p.status, FileStatus::Failed);
        assert!(p.reason.contains("injected fault"), "{p:?}");
    }
    assert!(problems
        .iter()
        .any(|p| p.path.ends_with("poison-embed.txt") && p.reason.contains("meaning")));
    assert!(problems
        .iter()
        .any(|p| p.path.ends_with("poison-store.txt") && p.reason.contains("stored")));
    // The others are searchable by meaning.
    let r = engine
        .search("how can I cancel the deal", &SearchOptions::default())
        .unwrap();
    assert!(
        r.results[0].path.ends_with("contract.txt"),
        "{:?}",
        r.results
    );
    let s = engine.status().unwrap();
    assert_eq!(s.counts.vectors, s.counts.chunks);

    // Quarantined: the next pass does not retry them (nothing embedded, nothing failed again).
    let again = engine.index(&mut |_| {}, &cancel).unwrap();
    assert_eq!(
        (
            again.files_failed,
            again.chunks_embedded,
            again.files_unchanged
        ),
        (0, 0, 4),
        "{again:?}"
    );

    // Once the fault is gone and the file changes, it is indexed.
    std::env::remove_var("SIFT_FAULT_EMBED");
    std::fs::write(
        root.join("poison-embed.txt"),
        "Lighthouses guide ships along rocky coasts after dark.",
    )
    .unwrap();
    let fixed = engine.index(&mut |_| {}, &cancel).unwrap();
    assert_eq!(
        (fixed.files_indexed, fixed.files_failed),
        (1, 0),
        "{fixed:?}"
    );
    let r = engine
        .search("beacon towers for sailors", &SearchOptions::default())
        .unwrap();
    assert!(
        r.results[0].path.ends_with("poison-embed.txt"),
        "{:?}",
        r.results
    );
}
