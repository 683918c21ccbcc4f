//! Where Sift keeps things: the per-user data directory (database, vector index, settings) and the cache
//! directory (models, ONNX Runtime). Shared by the desktop app and the CLI so both see the same index.

use std::path::{Path, PathBuf};

/// The data directory: `$SIFT_DATA_DIR`, else the platform's app-data directory + `sift`
/// (`~/.local/share/sift`, `~/Library/Application Support/sift`, `%APPDATA%\sift`).
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIFT_DATA_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::data_dir()
        .unwrap_or_else(|| std::env::temp_dir().join("sift-data"))
        .join("sift")
}

/// The cache directory where `scripts/setup.sh` puts the converted model and ONNX Runtime:
/// `$SIFT_CACHE_DIR`, else `~/.cache/sift` (Linux, honouring `XDG_CACHE_HOME`), `~/Library/Caches/sift` (macOS).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIFT_CACHE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::cache_dir()
        .unwrap_or_else(|| std::env::temp_dir().join("sift-cache"))
        .join("sift")
}

/// The folder an installed Linux package keeps its bundled parts in, relative to the executable: Tauri's
/// `.deb`/`.rpm` put `bundle.resources` under `/usr/lib/<productName>/` and the app and the `sift` CLI in
/// `/usr/bin/`, so both find it as `../lib/Sift`.
pub const LINUX_BUNDLE_DIR: &str = "../lib/Sift";

/// Folders an installed bundle keeps its parts in (`onnxruntime/`, `pdfium/`, `models/<id>/`), relative to the
/// folder of the running executable, in search order: the Linux package's `../lib/Sift`, the macOS app's
/// `../Resources`, then the executable's own folder (Windows installs resources next to the `.exe`).
/// Empty when the executable's location is unknown.
pub fn bundle_dirs() -> Vec<PathBuf> {
    exe_dir().map(|d| bundle_dirs_for(&d)).unwrap_or_default()
}

fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
}

pub(crate) fn bundle_dirs_for(exe_dir: &Path) -> Vec<PathBuf> {
    vec![
        exe_dir.join(LINUX_BUNDLE_DIR),
        exe_dir.join("../Resources"),
        exe_dir.to_path_buf(),
    ]
}

/// Folders where a shared library Sift loads at run time may sit, in search order: the installed bundle's
/// `<bundle>/<own>` folders ([`bundle_dirs`]), the macOS app's `../Frameworks` (where signed dylibs go), then
/// older flat layouts next to the executable (`resources/`, `../lib/sift`, `../Resources`, its own folder),
/// and last `<cache>/<own>` where `scripts/setup.sh` puts it. `own` names the library's folder
/// (`onnxruntime`, `pdfium`). The environment variables that name a library explicitly are checked by the
/// callers before any of these.
pub(crate) fn library_dirs(own: &str) -> Vec<PathBuf> {
    library_dirs_for(exe_dir().as_deref(), &cache_dir(), own)
}

pub(crate) fn library_dirs_for(exe_dir: Option<&Path>, cache: &Path, own: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = exe_dir {
        dirs.extend(bundle_dirs_for(exe_dir).into_iter().map(|d| d.join(own)));
        dirs.push(exe_dir.join("../Frameworks"));
        dirs.push(exe_dir.join("resources"));
        dirs.push(exe_dir.join("../lib/sift"));
        dirs.push(exe_dir.join("../Resources"));
        dirs.push(exe_dir.to_path_buf());
    }
    dirs.push(cache.join(own));
    dirs
}

/// Opens (creating) a lock file for `File::lock` / `try_lock`: advisory locks that the OS releases when the
/// process dies, so a killed process never leaves a stale lock.
pub(crate) fn open_lock_file(path: &std::path::Path) -> crate::error::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::error::Error::io(format!("creating {}", dir.display()), e))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| crate::error::Error::io(format!("opening {}", path.display()), e))
}

/// Bytes of the files under `path` (a file's own size; 0 for what cannot be read).
pub fn bytes_under(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| bytes_under(&e.path()))
                    .sum()
            })
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_bundle_comes_before_the_setup_cache() {
        let exe = Path::new("/usr/bin");
        let cache = Path::new("/home/u/.cache/sift");
        let dirs = library_dirs_for(Some(exe), cache, "onnxruntime");
        let pos = |p: &str| {
            dirs.iter()
                .position(|d| d == Path::new(p))
                .unwrap_or_else(|| panic!("{p} not searched: {dirs:?}"))
        };
        // The .deb's resource folder first, the cache last.
        assert_eq!(pos("/usr/bin/../lib/Sift/onnxruntime"), 0);
        assert!(pos("/usr/bin/../Resources/onnxruntime") < pos("/usr/bin/onnxruntime"));
        assert!(pos("/usr/bin/onnxruntime") < pos("/usr/bin/../Frameworks"));
        assert_eq!(pos("/home/u/.cache/sift/onnxruntime"), dirs.len() - 1);
    }

    #[test]
    fn without_an_executable_only_the_cache_is_searched() {
        let dirs = library_dirs_for(None, Path::new("/c"), "pdfium");
        assert_eq!(dirs, vec![PathBuf::from("/c/pdfium")]);
    }

    #[test]
    fn bundle_dirs_cover_linux_macos_and_windows_layouts() {
        let dirs = bundle_dirs_for(Path::new("/opt/x/bin"));
        assert_eq!(
            dirs,
            vec![
                PathBuf::from("/opt/x/bin/../lib/Sift"),
                PathBuf::from("/opt/x/bin/../Resources"),
                PathBuf::from("/opt/x/bin"),
            ]
        );
    }
}
