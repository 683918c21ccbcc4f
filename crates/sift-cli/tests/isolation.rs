//! Documents are read in a separate worker process that the indexer can kill: a parser that hangs, exhausts
//! its memory, aborts, or is killed mid-file costs that file only (recorded with a reason, not retried until it
//! changes), a worker killed once is restarted and the file retried, huge sparse files are refused without
//! being read, and the indexer's own memory stays bounded. Real `sift` processes, real worker, real model.
//! The faults are injected by test hooks (`SIFT_FAULT_WORKER`, `SIFT_FAULT_KILL_WORKER`, see
//! `sift-core/src/fault.rs`) because no real file reliably hangs or crashes a parser on every machine.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{run_ok, sift};

/// (file name, contents) of documents that must end up searchable.
const GOOD: &[(&str, &str)] = &[
    (
        "lighthouse.html",
        "<html><head><title>Coast</title><script>var x = 1;</script></head><body><p>Every evening the keeper climbed the tower and lit the great lamp so that fishing boats could find the harbour mouth.</p></body></html>",
    ),
    (
        "survive.html",
        "<p>The orchard keeps its apples in a cool cellar through the winter months, wrapped in paper.</p>",
    ),
    (
        "notes.txt",
        "Plain notes about tuning a violin before a concert.",
    ),
];

/// `sift problems` as path file name → (status, reason).
fn problems(data: &Path) -> HashMap<String, (String, String)> {
    let mut c = sift(data);
    c.arg("problems");
    run_ok(c)
        .0
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            let (status, path, reason) = (f.next()?, f.next()?, f.next()?);
            let name = Path::new(path).file_name()?.to_string_lossy().into_owned();
            Some((name, (status.to_string(), reason.to_string())))
        })
        .collect()
}

/// Top result's file name for a query.
fn top(data: &Path, query: &str) -> Option<String> {
    let mut c = sift(data);
    c.args(["search", "--json", query]);
    let v: serde_json::Value = serde_json::from_str(&run_ok(c).0).unwrap();
    v["results"][0]["path"]
        .as_str()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
}

/// Runs `sift index dir` with `env`, sampling the indexer's resident memory; returns (stderr, peak RSS in KiB).
fn index_watching_memory(data: &Path, dir: &Path, env: &[(&str, &str)]) -> (String, u64) {
    let mut c = sift(data);
    c.arg("index").arg(dir).envs(env.iter().copied());
    let mut child = c.stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            // VmHWM is the process's own high-water mark: the worker is another process and is not counted.
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{stderr}");
    (stderr, peak)
}

#[test]
fn a_reader_that_hangs_crashes_or_runs_out_of_memory_costs_only_that_file() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = files.path();
    for (name, text) in GOOD {
        std::fs::write(dir.join(name), text).unwrap();
    }
    for name in [
        "hangs.html",
        "hog.html",
        "aborts.html",
        "killed.html",
        "killed-once.html",
    ] {
        std::fs::write(
            dir.join(name),
            format!("<p>Ordinary page {name} about autumn leaves turning red.</p>"),
        )
        .unwrap();
    }
    // 1 GB files that take no disk: refused by size, never read.
    for name in ["sparse.txt", "sparse.pdf", "sparse.docx"] {
        std::fs::File::create(dir.join(name))
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
    }
    let env = [
        ("SIFT_EXTRACT_TIMEOUT_SECS", "3"),
        ("SIFT_EXTRACT_MEMORY_MB", "512"),
        (
            "SIFT_FAULT_WORKER",
            "hang:hangs.html,memory:hog.html,abort:aborts.html",
        ),
        (
            "SIFT_FAULT_KILL_WORKER",
            "killed.html,once:killed-once.html",
        ),
    ];
    let (stderr, peak_kb) = index_watching_memory(data.path(), dir, &env);
    eprintln!("{stderr}\nindexer peak RSS: {} MB", peak_kb / 1024);

    let p = problems(data.path());
    let reason = |name: &str| -> &str {
        let (status, reason) = p
            .get(name)
            .unwrap_or_else(|| panic!("{name} has no problem row: {p:?}"));
        assert_eq!(status, "failed", "{name}: {reason}");
        reason
    };
    assert!(reason("hangs.html").contains("took too long"), "{p:?}");
    assert!(reason("hog.html").contains("memory"), "{p:?}");
    assert!(reason("aborts.html").contains("crashed"), "{p:?}");
    assert!(reason("killed.html").contains("killed"), "{p:?}");
    for name in ["sparse.txt", "sparse.pdf", "sparse.docx"] {
        let (status, reason) = &p[name];
        assert_eq!(status, "skipped");
        assert!(reason.contains("too large"), "{name}: {reason}");
    }
    // The file whose worker was killed once was retried with a new worker and indexed.
    assert!(!p.contains_key("killed-once.html"), "{p:?}");
    // The log shows that its first attempt died (the file is not a problem, so nothing else names it).
    assert!(
        stderr.contains("worker died") && stderr.contains("killed-once.html"),
        "{stderr}"
    );
    assert_eq!(p.len(), 7, "{p:?}");
    // Every good file is searchable, by meaning, after all of that.
    assert_eq!(
        top(
            data.path(),
            "who switches on the beacon guiding boats at night"
        )
        .as_deref(),
        Some("lighthouse.html")
    );
    assert_eq!(
        top(
            data.path(),
            "storing fruit underground during the cold season"
        )
        .as_deref(),
        Some("survive.html")
    );
    // The 1 GB files were never read into the indexer.
    assert!(peak_kb < 1024 * 1024, "indexer peak RSS {peak_kb} kB");

    // Quarantine: the next pass does not try the failed files again (no 3-second timeout, no worker deaths).
    let (again, _) = index_watching_memory(data.path(), dir, &env);
    assert!(again.contains(" 0 failed"), "{again}");
    assert!(!again.contains("worker died"), "{again}");
    assert_eq!(problems(data.path()).len(), 7);

    // A changed file is tried again; without the fault it is indexed.
    std::fs::write(
        dir.join("killed.html"),
        "<p>A sailor mends torn nets on the pier before dawn.</p>",
    )
    .unwrap();
    let (third, _) = index_watching_memory(data.path(), dir, &[]);
    assert!(third.contains("1 indexed"), "{third}");
    assert!(!problems(data.path()).contains_key("killed.html"));
    assert_eq!(
        top(
            data.path(),
            "fisherman repairing ripped netting at the dock"
        )
        .as_deref(),
        Some("killed.html")
    );
}

/// A pause (cancel) while the worker is stuck on a file abandons that file at once — not after the worker's
/// timeout — and does not record it as failed: the next pass reads it.
#[test]
fn a_pause_does_not_wait_for_a_stuck_reader() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        files.path().join("stuck.html"),
        "<p>Bees dance to tell the hive where the flowers are.</p>",
    )
    .unwrap();
    // The worker inherits this process's environment.
    std::env::set_var("SIFT_FAULT_WORKER", "hang:stuck.html");
    let mut config = sift_core::EngineConfig::new(data.path()).unwrap();
    let mut worker = sift_core::worker::WorkerCommand::current_exe().unwrap();
    worker.program = env!("CARGO_BIN_EXE_sift").into();
    // Far longer than this test may take: only the cancel can end the wait.
    worker.limits.base_timeout = Duration::from_secs(3600);
    config.worker = Some(worker.clone());
    let engine = Arc::new(sift_core::Engine::open(config).unwrap());
    engine.add_folder(files.path()).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let pass = {
        let (engine, cancel) = (Arc::clone(&engine), Arc::clone(&cancel));
        std::thread::spawn(move || {
            let r = engine.index(&mut |_| {}, &cancel);
            let _ = done_tx.send(());
            r
        })
    };
    // Let the worker start on the file, then pause.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        done_rx.try_recv().is_err(),
        "the pass ended although the reader hangs"
    );
    cancel.store(true, Ordering::Relaxed);
    // Liveness, not speed: without the cancel check the pass would wait an hour.
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the pass did not stop after the cancel");
    assert!(matches!(
        pass.join().unwrap(),
        Err(sift_core::Error::Cancelled)
    ));
    assert!(engine.problem_files(None).unwrap().is_empty());
    drop(engine);

    std::env::remove_var("SIFT_FAULT_WORKER");
    let mut config = sift_core::EngineConfig::new(data.path()).unwrap();
    config.worker = Some(worker);
    let engine = sift_core::Engine::open(config).unwrap();
    let report = engine.index(&mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(report.files_indexed, 1, "{report:?}");
}
