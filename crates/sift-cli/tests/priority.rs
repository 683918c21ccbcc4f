//! Indexing runs at background priority (Linux): while `sift index` works, its indexing threads (the pass, the
//! reader and ONNX Runtime's intra-op pool) have a nice value 10 above the process's, and the main thread
//! keeps the process's own.
#![cfg(target_os = "linux")]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::sift;

/// (tid, nice) of every thread of `pid`, from `/proc/<pid>/task/*/stat` (field 19), but the one that waits
/// for Ctrl-C (named `ctrl-c` by the `ctrlc` crate): idle, and at normal priority so Ctrl-C is answered at
/// once.
fn thread_nices(pid: u32) -> Vec<(u32, i32)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // The name (field 2) is in parentheses and may hold spaces: count fields from the last ')'.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        if stat
            .find('(')
            .is_some_and(|open| &stat[open + 1..close] == "ctrl-c")
        {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let tid = task.file_name().to_string_lossy().parse().unwrap();
        out.push((tid, fields[16].parse().unwrap()));
    }
    out
}

#[test]
fn indexing_threads_run_at_low_priority_and_the_main_thread_does_not() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    for i in 0..400 {
        let body = format!(
            "Note {i} about the weather in the mountains. {}",
            "This paragraph has enough words to need some embedding work for every file. "
                .repeat(12)
        );
        std::fs::write(files.path().join(format!("note-{i:04}.txt")), body).unwrap();
    }
    let own_nice = thread_nices(std::process::id())
        .into_iter()
        .find(|&(tid, _)| tid == std::process::id())
        .unwrap()
        .1;
    let low = (own_nice + sift_core::priority::BACKGROUND_NICE).min(19);
    let mut child = sift(data.path())
        .args(["--threads", "3", "index"])
        .arg(files.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Sample while the pass runs: every thread but the main one must be low, and the pass thread, its reader
    // and ONNX Runtime's two pool threads (--threads 3: the caller plus two) must be seen low at once. Keep
    // sampling a second after that, as threads come and go.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut most_low = 0;
    let mut main_nice = None;
    let mut enough_since: Option<Instant> = None;
    while Instant::now() < deadline
        && enough_since.is_none_or(|t| t.elapsed() < Duration::from_secs(1))
    {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let nices = thread_nices(pid);
        for &(tid, n) in &nices {
            if tid == pid {
                main_nice = Some(n);
                assert_eq!(
                    n, own_nice,
                    "the main thread must keep its priority: {nices:?}"
                );
            } else {
                // Every other thread is the pass or was started by it (reader, ONNX Runtime's pool).
                assert_eq!(n, low, "thread {tid} runs at normal priority: {nices:?}");
            }
        }
        most_low = most_low.max(nices.iter().filter(|&&(_, n)| n == low).count());
        if most_low >= 4 && enough_since.is_none() {
            enough_since = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().unwrap();
    assert_eq!(main_nice, Some(own_nice));
    assert!(
        most_low >= 4,
        "expected the pass, reader and 2 ONNX Runtime threads at nice {low}, saw at most {most_low}"
    );
}
