//! Where Sift keeps things: the per-user data directory (database, vector index, settings) and the cache
//! directory (models, ONNX Runtime). Shared by the desktop app and the CLI so both see the same index.

use std::path::PathBuf;

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

/// Folders where a shared library Sift loads at run time may sit, in search order: next to the executable
/// (its `resources/` and `<own>/` subfolders, `../lib/sift` and `../Resources` for installed bundles, the
/// executable's own folder), then `<cache>/<own>` where `scripts/setup.sh` puts it. `own` names the library's
/// folder (`onnxruntime`, `pdfium`).
pub(crate) fn library_dirs(own: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(std::path::Path::to_path_buf))
    {
        dirs.push(exe_dir.join("resources"));
        dirs.push(exe_dir.join(own));
        dirs.push(exe_dir.join("../lib/sift"));
        dirs.push(exe_dir.join("../Resources"));
        dirs.push(exe_dir);
    }
    dirs.push(cache_dir().join(own));
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
