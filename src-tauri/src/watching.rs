//! "Which filesystem changes are worth a pass": follows the roots with a [`Watcher`] and filters what it
//! reports. Changes under the data directory (a root may contain it), in hidden files or folders, and in
//! paths matching the user's excluded patterns (gitignore syntax, matched like the scanner does with the
//! `ignore` crate's overrides, on the path and each of its folders) never queue work.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ignore::overrides::{Override, OverrideBuilder};
use sift_core::watch::{Change, Watcher};

/// Quiet time after the last change to a path before the watcher reports it.
pub const WATCH_DEBOUNCE: Duration = Duration::from_millis(500);

/// Decides whether a changed path can matter to the index.
pub struct PathFilter {
    data_dir: PathBuf,
    roots: Vec<(PathBuf, Option<Override>)>,
}

impl PathFilter {
    /// `data_dir` should be canonical, like the roots (the watcher reports paths under the roots as given).
    pub fn new(data_dir: &Path, roots: &[PathBuf], excludes: &[String]) -> PathFilter {
        let roots = roots
            .iter()
            .map(|root| (root.clone(), excludes_for(root, excludes)))
            .collect();
        PathFilter {
            data_dir: data_dir.to_path_buf(),
            roots,
        }
    }

    /// Whether a change at `path` may change the index.
    pub fn wants(&self, path: &Path) -> bool {
        if path.starts_with(&self.data_dir) {
            return false;
        }
        // The innermost root that holds the path decides (roots do not nest, but be safe).
        let Some((root, overrides)) = self
            .roots
            .iter()
            .filter(|(r, _)| path.starts_with(r))
            .max_by_key(|(r, _)| r.components().count())
        else {
            return false;
        };
        let Ok(inside) = path.strip_prefix(root) else {
            return false;
        };
        if inside
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            return false;
        }
        let Some(overrides) = overrides else {
            return true;
        };
        // The path and each folder between it and the root: `node_modules/` excludes everything below.
        let mut at = root.clone();
        let parts: Vec<_> = inside.components().collect();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            let is_dir = i + 1 < parts.len() || at.is_dir();
            if overrides.matched(&at, is_dir).is_ignore() {
                return false;
            }
        }
        true
    }
}

/// The excluded patterns as overrides rooted at `root`, as the scanner builds them. A pattern the `ignore`
/// crate rejects is skipped here (the scanner reports it).
fn excludes_for(root: &Path, excludes: &[String]) -> Option<Override> {
    let mut builder = OverrideBuilder::new(root);
    let mut any = false;
    for pattern in excludes {
        let pattern = pattern.trim();
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        match builder.add(&format!("!{pattern}")) {
            Ok(_) => any = true,
            Err(e) => tracing::warn!(pattern, error = %e, "ignoring an invalid excluded pattern"),
        }
    }
    if !any {
        return None;
    }
    builder
        .build()
        .map_err(|e| tracing::warn!(error = %e, "invalid excluded patterns"))
        .ok()
}

/// A change that needs a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Paths(Vec<PathBuf>),
    /// The watcher lost events: reconcile everything.
    Rescan,
}

/// The watcher over the current roots, with its filter.
pub struct Watching {
    data_dir: PathBuf,
    roots: Vec<PathBuf>,
    excludes: Vec<String>,
    watcher: Option<Watcher>,
    filter: PathFilter,
}

impl Watching {
    pub fn new(data_dir: &Path) -> Watching {
        Watching {
            data_dir: data_dir.to_path_buf(),
            roots: Vec::new(),
            excludes: Vec::new(),
            watcher: None,
            filter: PathFilter::new(data_dir, &[], &[]),
        }
    }

    /// Follows the roots and excluded patterns (restarts the watcher when the roots change).
    pub fn update(&mut self, roots: Vec<PathBuf>, excludes: &[String]) {
        if roots == self.roots && excludes == self.excludes.as_slice() {
            return;
        }
        if roots != self.roots {
            self.watcher = None;
            if !roots.is_empty() {
                match Watcher::new(&roots, WATCH_DEBOUNCE) {
                    Ok(w) => self.watcher = Some(w),
                    Err(e) => tracing::warn!(error = %e, "cannot watch folders"),
                }
            }
        }
        self.filter = PathFilter::new(&self.data_dir, &roots, excludes);
        self.roots = roots;
        self.excludes = excludes.to_vec();
    }

    /// Waits up to `timeout` for a change that matters.
    pub fn next(&self, timeout: Duration) -> Option<Wanted> {
        let Some(watcher) = &self.watcher else {
            std::thread::sleep(timeout);
            return None;
        };
        match watcher.next_change(timeout)? {
            Change::Rescan => {
                tracing::warn!("the file watcher lost events; re-checking every folder");
                Some(Wanted::Rescan)
            }
            Change::Paths(paths) => {
                let wanted: Vec<PathBuf> =
                    paths.into_iter().filter(|p| self.filter.wants(p)).collect();
                (!wanted.is_empty()).then_some(Wanted::Paths(wanted))
            }
        }
    }

    /// One sentence for the user when folders cannot be watched (the OS watch limit).
    pub fn problem(&self) -> Option<String> {
        self.watcher.as_ref().and_then(Watcher::problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_data_dir_hidden_and_excluded_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("docs");
        std::fs::create_dir_all(root.join("node_modules/pkg")).unwrap();
        std::fs::create_dir_all(root.join("notes")).unwrap();
        let data = root.join("sift-data");
        let excludes = vec![
            "node_modules/".to_string(),
            "*.log".to_string(),
            "scratch/".to_string(),
            "  ".to_string(),
        ];
        let f = PathFilter::new(&data, std::slice::from_ref(&root), &excludes);
        assert!(f.wants(&root.join("notes/a.md")));
        assert!(f.wants(&root.join("notes")));
        assert!(f.wants(&root.join("deleted-file.txt")));
        assert!(!f.wants(&data.join("index.sqlite-wal")));
        assert!(!f.wants(&root.join(".git/index")));
        assert!(!f.wants(&root.join("notes/.draft.md.swp")));
        assert!(!f.wants(&root.join("node_modules/pkg/readme.md")));
        assert!(!f.wants(&root.join("node_modules")));
        assert!(!f.wants(&root.join("notes/build.log")));
        assert!(
            !f.wants(&root.join("scratch/gone/x.txt")),
            "a deleted excluded folder"
        );
        assert!(!f.wants(Path::new("/elsewhere/a.md")));
        // Without excludes only hidden and data paths are filtered.
        let f = PathFilter::new(&data, std::slice::from_ref(&root), &[]);
        assert!(f.wants(&root.join("node_modules/pkg/readme.md")));
    }
}
