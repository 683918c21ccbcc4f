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
