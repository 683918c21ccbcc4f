//! Fault injection for tests: `SIFT_FAULT_EMBED=<text>` makes embedding fail for any document whose path
//! contains `<text>`; `SIFT_FAULT_STORE=<text>` does the same for storing it. For the extraction worker,
//! `SIFT_FAULT_WORKER=<kind>:<text>[,…]` makes the worker `hang`, exhaust its `memory` or `abort` on such a file,
//! and `SIFT_FAULT_KILL_WORKER=[once:]<text>[,…]` makes the indexer kill the worker while it reads such a file (on
//! the first attempt only with `once:`). Unset (as for every user), each check is one environment lookup and
//! never fires.

use std::path::Path;

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Point {
    Embed,
    Store,
}

/// Whether the test asked for `point` to fail on `path`.
pub(crate) fn injected(point: Point, path: &Path) -> bool {
    let var = match point {
        Point::Embed => "SIFT_FAULT_EMBED",
        Point::Store => "SIFT_FAULT_STORE",
    };
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .is_some_and(|v| path.to_string_lossy().contains(&v))
}

/// In the extraction worker, before reading `path`: hangs, exhausts memory or aborts if a test asked for it.
pub(crate) fn worker_fault(path: &Path) {
    let Ok(spec) = std::env::var("SIFT_FAULT_WORKER") else {
        return;
    };
    let name = path.to_string_lossy();
    for rule in spec.split(',') {
        let Some((kind, text)) = rule.split_once(':') else {
            continue;
        };
        if text.is_empty() || !name.contains(text) {
            continue;
        }
        match kind {
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            "memory" => {
                // Touch every page so the memory is really used, until the worker's limit stops it.
                let mut held: Vec<Vec<u8>> = Vec::new();
                loop {
                    held.push(vec![1u8; 64 * 1024 * 1024]);
                    std::hint::black_box(&held);
                }
            }
            "abort" => std::process::abort(),
            _ => {}
        }
    }
}

/// In the indexer, after sending `path` to the worker: whether to kill the worker now (attempt is 1-based).
pub(crate) fn kill_worker(path: &Path, attempt: u32) -> bool {
    let Ok(spec) = std::env::var("SIFT_FAULT_KILL_WORKER") else {
        return false;
    };
    let name = path.to_string_lossy();
    spec.split(',').any(|rule| {
        let (once, text) = match rule.strip_prefix("once:") {
            Some(t) => (true, t),
            None => (false, rule),
        };
        !text.is_empty() && name.contains(text) && (!once || attempt == 1)
    })
}
