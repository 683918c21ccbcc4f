//! Fault injection for tests: `SIFT_FAULT_EMBED=<text>` makes embedding fail for any document whose path
//! contains `<text>`; `SIFT_FAULT_STORE=<text>` does the same for storing it. Unset (as for every user), each
//! check is one environment lookup per batch and never fires.

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
