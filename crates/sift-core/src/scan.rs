//! "Here is a folder, which files are in it?": walks a root with the `ignore` crate (the walker behind
//! ripgrep), honouring `.gitignore`, `.ignore` and `.siftignore` files, skipping hidden files and the user's
//! excluded patterns. Yields each file's size and modification time, which decide whether it changed.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use ignore::overrides::OverrideBuilder;
use ignore::WalkBuilder;

use crate::error::{Error, Result};

/// A file found on disk.
#[derive(Debug, Clone)]
pub struct ScannedFile {
    pub path: PathBuf,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

/// Patterns excluded by default (gitignore syntax); users edit the list in settings.
pub fn default_excludes() -> Vec<String> {
    [
        "node_modules/",
        "target/",
        "__pycache__/",
        ".venv/",
        "venv/",
        "*.min.js",
        "*.map",
        "*.lock",
        // Secrets: keys, certificates, password stores, credentials, browser profiles.
        "id_rsa*",
        "id_dsa*",
        "id_ecdsa*",
        "id_ed25519*",
        ".ssh/",
        ".gnupg/",
        "*.pem",
        "*.key",
        "*.p12",
        "*.pfx",
        "*.jks",
        "*.keystore",
        "*.kdbx",
        "*.gpg",
        "*.asc",
        ".env",
        ".env.*",
        "*.env",
        ".netrc",
        ".pgpass",
        ".npmrc",
        ".pypirc",
        ".git-credentials",
        ".aws/",
        ".azure/",
        ".docker/config.json",
        ".kube/config",
        "credentials.json",
        "*.keychain",
        "*.keychain-db",
        "Login Data",
        "Cookies",
        ".mozilla/",
        ".config/google-chrome/",
        ".config/chromium/",
        "Library/Application Support/Google/Chrome/",
        "Library/Keychains/",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

/// What a walk yields: a file, or an entry that could not be read (with the reason).
pub type ScanItem = std::result::Result<ScannedFile, (PathBuf, String)>;

/// Walks `root` (a folder or a single file). Unreadable entries are returned as `Err` items so the caller
/// can record them; the walk goes on.
pub fn scan(root: &Path, excludes: &[String]) -> Result<Vec<ScanItem>> {
    walk(root, excludes, None)
}

/// Walks only the parts of `root` at or under `paths` (changed paths reported by the watcher), with the same
/// rules as [`scan`]: ignore files between the root and each path apply, excluded and hidden paths are skipped.
pub fn scan_paths(root: &Path, excludes: &[String], paths: &[PathBuf]) -> Result<Vec<ScanItem>> {
    walk(root, excludes, Some(paths))
}

fn walk(root: &Path, excludes: &[String], only: Option<&[PathBuf]>) -> Result<Vec<ScanItem>> {
    let mut overrides = OverrideBuilder::new(root);
    for pattern in excludes {
        let pattern = pattern.trim();
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        overrides
            .add(&format!("!{pattern}"))
            .map_err(|e| Error::Invalid(format!("excluded pattern `{pattern}`: {e}")))?;
    }
    let overrides = overrides
        .build()
        .map_err(|e| Error::Invalid(format!("excluded patterns: {e}")))?;
    let walker = WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .ignore(true)
        .parents(false)
        .follow_links(false)
        .add_custom_ignore_filename(".siftignore")
        .overrides(overrides)
        .filter_entry({
            let only: Option<Vec<PathBuf>> = only.map(<[PathBuf]>::to_vec);
            move |e| {
                only.as_ref().is_none_or(|paths| {
                    paths
                        .iter()
                        .any(|p| p.starts_with(e.path()) || e.path().starts_with(p))
                })
            }
        })
        .build();
    let mut out = Vec::new();
    for entry in walker {
        match entry {
            Ok(e) => {
                if !e.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                match e.metadata() {
                    Ok(meta) => out.push(Ok(ScannedFile {
                        path: e.path().to_path_buf(),
                        size: meta.len(),
                        mtime_ns: mtime_ns(&meta),
                    })),
                    Err(err) => out.push(Err((e.path().to_path_buf(), err.to_string()))),
                }
            }
            Err(err) => {
                let path = error_path(&err).unwrap_or(root).to_path_buf();
                out.push(Err((path, err.to_string())));
            }
        }
    }
    Ok(out)
}

/// The path an error from the walker is about, looking through its wrappers.
fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_gitignore_hidden_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("node_modules/x")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(root.join("sub/b.md"), "b").unwrap();
        std::fs::write(root.join(".hidden.txt"), "h").unwrap();
        std::fs::write(root.join("node_modules/x/c.js"), "c").unwrap();
        std::fs::write(root.join(".gitignore"), "secret.txt\n").unwrap();
        std::fs::write(root.join("secret.txt"), "s").unwrap();
        let found: Vec<String> = scan(root, &default_excludes())
            .unwrap()
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let mut found = found;
        found.sort();
        assert_eq!(found, vec!["a.txt", "sub/b.md"]);
    }

    #[test]
    fn secrets_are_excluded_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "id_rsa",
            "id_ed25519.pub",
            "server.pem",
            "tls.key",
            "vault.kdbx",
            "notes.txt",
        ] {
            std::fs::write(root.join(name), "x").unwrap();
        }
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(root.join("app/.env"), "TOKEN=x").unwrap();
        std::fs::write(root.join("app/prod.env"), "TOKEN=x").unwrap();
        let mut found: Vec<String> = scan(root, &default_excludes())
            .unwrap()
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        found.sort();
        assert_eq!(found, vec!["notes.txt"]);
    }

    #[test]
    fn scanning_changed_paths_sees_only_them_with_the_root_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/deep")).unwrap();
        std::fs::create_dir_all(root.join("b")).unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join("a/deep/x.txt"), "x").unwrap();
        std::fs::write(root.join("a/deep/ignored.txt"), "i").unwrap();
        std::fs::write(root.join("a/y.txt"), "y").unwrap();
        std::fs::write(root.join("b/z.txt"), "z").unwrap();
        let mut found: Vec<String> = scan_paths(root, &default_excludes(), &[root.join("a/deep")])
            .unwrap()
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        found.sort();
        assert_eq!(found, vec!["a/deep/x.txt"]);
    }
}
