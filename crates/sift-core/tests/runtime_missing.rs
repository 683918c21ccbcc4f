//! A missing ONNX Runtime library is a clear error that says what to do, never a panic. (Own test binary:
//! the runtime is loaded once per process, and this test must run before anything loads it.)

use sift_core::embed::{EmbedOptions, Embedder};
use sift_core::model::{self, Precision};

#[test]
fn missing_runtime_library_is_a_clear_error() {
    std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so");
    let err = sift_core::runtime::find_library().unwrap_err().to_string();
    assert!(
        err.contains("ORT_DYLIB_PATH") && err.contains("/nonexistent"),
        "{err}"
    );
    assert!(err.contains("setup.sh"), "{err}");

    // Loading a model goes through the same check.
    let spec = model::spec("all-MiniLM-L6-v2").unwrap();
    let files =
        model::locate(&spec, Precision::Int8, None).expect("model installed by scripts/setup.sh");
    let err = Embedder::load(&spec, &files, &EmbedOptions::default())
        .err()
        .expect("no runtime, no embedder");
    assert!(matches!(err, sift_core::Error::Runtime(_)), "{err:?}");

    // Without the variable, the search covers the setup cache; an empty cache is reported by path.
    std::env::remove_var("ORT_DYLIB_PATH");
    let cache = tempfile::tempdir().unwrap();
    std::env::set_var("SIFT_CACHE_DIR", cache.path());
    let err = sift_core::runtime::find_library().unwrap_err().to_string();
    assert!(
        err.contains(&cache.path().join("onnxruntime").display().to_string()),
        "{err}"
    );
}
