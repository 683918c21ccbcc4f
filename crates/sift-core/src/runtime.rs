//! "Find ONNX Runtime and start it once": locates the `libonnxruntime` shared library (Sift loads it at run
//! time, `ort`'s `load-dynamic`) and owns the process-wide ONNX Runtime environment.
//!
//! Search order: `ORT_DYLIB_PATH`, the installed package's `onnxruntime/` folder (`../lib/Sift/onnxruntime`
//! from `/usr/bin`, the macOS app's `Frameworks`/`Resources`, beside the `.exe`), other folders next to the
//! executable, then the setup cache (`scripts/setup.sh`); see `paths::library_dirs`. A missing library is an
//! [`Error::Runtime`] naming what to do, never a panic.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use crate::error::{Error, Result};

/// Where the loaded runtime came from.
#[derive(Debug, Clone)]
pub struct RuntimeInfo {
    pub library: PathBuf,
}

static ENV: OnceLock<(ort::environment::Environment, RuntimeInfo)> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// The shared library's file names on this platform, most specific first.
fn library_names() -> &'static [&'static str] {
    if cfg!(target_os = "macos") {
        &["libonnxruntime.dylib", "libonnxruntime.1.31.1.dylib"]
    } else if cfg!(windows) {
        &["onnxruntime.dll"]
    } else {
        &[
            "libonnxruntime.so",
            "libonnxruntime.so.1.31.1",
            "libonnxruntime.so.1",
        ]
    }
}

/// Candidate locations, in search order.
pub fn candidate_paths() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
    }
    for d in crate::paths::library_dirs("onnxruntime") {
        for name in library_names() {
            out.push(d.join(name));
        }
    }
    out
}

/// Finds the library without loading it.
pub fn find_library() -> Result<PathBuf> {
    let candidates = candidate_paths();
    if let Some(explicit) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(explicit);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Runtime(format!(
                "ORT_DYLIB_PATH points to {}, which does not exist",
                p.display()
            )))
        };
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        Error::Runtime(format!(
            "libonnxruntime was not found next to the program or in {}",
            crate::paths::cache_dir().join("onnxruntime").display()
        ))
    })
}

/// The environment variables that turn ONNX Runtime's own telemetry off before it initialises: the PyPI
/// builds (1.29+) carry Microsoft's 1DS telemetry on Linux and macOS, which writes a device id and queues
/// process information to upload. `ORT_DISABLE_TELEMETRY` is the documented opt-out; `ORT_TELEMETRY_DISABLED`
/// is the name later releases made a full opt-out too. Both are set.
pub const TELEMETRY_OPT_OUT: &[&str] = &["ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED"];

/// Sets the telemetry opt-out in this process's environment. Call it first thing in `main` (before other
/// threads exist); [`environment`] calls it again before loading the library, for library users.
pub fn disable_telemetry() {
    for var in TELEMETRY_OPT_OUT {
        if std::env::var_os(var).is_none_or(|v| v != "1") {
            std::env::set_var(var, "1");
        }
    }
}

/// Loads the library (once per process) and returns the shared environment.
pub fn environment() -> Result<&'static ort::environment::Environment> {
    if let Some((env, _)) = ENV.get() {
        return Ok(env);
    }
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((env, _)) = ENV.get() {
        return Ok(env);
    }
    let library = find_library()?;
    disable_telemetry();
    let builder = ort::init_from(&library)
        .map_err(|e| Error::Runtime(format!("loading {} failed: {e}", library.display())))?;
    let env = builder
        .with_name("sift")
        .with_telemetry(false)
        .build()
        .map_err(|e| {
            Error::Runtime(format!(
                "starting ONNX Runtime from {} failed: {e}",
                library.display()
            ))
        })?;
    tracing::info!(library = %library.display(), "ONNX Runtime loaded");
    let _ = ENV.set((env, RuntimeInfo { library }));
    ENV.get()
        .map(|(env, _)| env)
        .ok_or_else(|| Error::Runtime("environment initialisation raced".into()))
}

/// Information about the loaded runtime, if it has been loaded.
pub fn info() -> Option<RuntimeInfo> {
    ENV.get().map(|(_, i)| i.clone())
}

/// The execution provider a session actually runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Provider {
    #[serde(rename = "CPU")]
    Cpu,
    #[serde(rename = "CoreML")]
    CoreMl,
    #[serde(rename = "CUDA")]
    Cuda,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Cpu => "CPU",
            Provider::CoreMl => "CoreML",
            Provider::Cuda => "CUDA",
        })
    }
}

/// Accelerated providers this build can try, best first. CPU is always the fallback and is not listed.
pub fn accelerated_providers() -> Vec<Provider> {
    #[allow(unused_mut)]
    let mut v = Vec::new();
    #[cfg(feature = "cuda")]
    v.push(Provider::Cuda);
    #[cfg(target_os = "macos")]
    v.push(Provider::CoreMl);
    v
}

/// Default number of intra-op threads for indexing: all cores. Indexing runs at low OS priority
/// (`priority.rs`), so it takes only what the rest of the machine leaves; on 2 cores "all but one" indexed
/// SciFact 1.5× slower (326 s vs 213 s, measured for tracker issue 11).
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1)
}
