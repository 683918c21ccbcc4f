//! Which embedding models Sift knows and where their files are.
//!
//! "Give me the files of model X": the manifest (`models/manifest.json`, compiled in) describes each model;
//! [`locate`] finds its ONNX graph and tokenizer in, in order, a folder the user pointed at, the installed
//! package's `models/<id>/` (the `.deb`/`.rpm`/app bundle carry the default model, see
//! [`crate::paths::bundle_dirs`]), the setup cache (`scripts/setup.sh` builds the default model there
//! offline), and the Hugging Face cache; [`download`]
//! fetches missing files from the Hugging Face Hub with progress.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const MANIFEST_JSON: &str = include_str!("../../../models/manifest.json");

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean of the token vectors under the attention mask (sentence-transformers MiniLM).
    Mean,
    /// The first ([CLS]) token's vector (BGE).
    Cls,
}

/// Numeric precision of the ONNX graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Original float32 weights.
    Fp32,
    /// Dynamically quantized int8 weights (≈2× faster on CPU, same retrieval quality for MiniLM).
    #[default]
    Int8,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "fp32" | "f32" | "float32" => Ok(Precision::Fp32),
            "int8" | "i8" | "q8" => Ok(Precision::Int8),
            other => Err(Error::Invalid(format!(
                "unknown precision `{other}` (use fp32 or int8)"
            ))),
        }
    }
}

/// Paths of a model's files inside its Hugging Face repository.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubFiles {
    pub tokenizer: String,
    pub fp32: String,
    #[serde(default)]
    pub int8: Option<String>,
}

/// One supported embedding model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Stable id, also the folder name in the cache and the key of stored vectors.
    pub id: String,
    /// Human-readable name for the settings screen.
    pub name: String,
    pub hf_repo: String,
    pub revision: String,
    pub files: HubFiles,
    /// Output vector dimension.
    pub dim: usize,
    pub pooling: Pooling,
    /// Whether vectors are L2-normalised (all supported models: yes).
    pub normalize: bool,
    /// Context window in tokens, special tokens included.
    pub max_tokens: usize,
    pub query_prefix: String,
    pub document_prefix: String,
    /// Name of the token-embedding output of the graph.
    pub output: String,
    pub default_precision: Precision,
}

#[derive(Debug, Clone, Deserialize)]
struct Manifest {
    default: String,
    models: Vec<ModelSpec>,
}

fn manifest() -> Manifest {
    // The manifest is compiled in and checked by a unit test, so this cannot fail at run time.
    #[allow(clippy::expect_used)]
    serde_json::from_str(MANIFEST_JSON).expect("models/manifest.json is valid (checked by tests)")
}

/// All models in the manifest.
pub fn models() -> Vec<ModelSpec> {
    manifest().models
}

/// The default model id.
pub fn default_model_id() -> String {
    manifest().default
}

/// Looks a model up by id.
pub fn spec(id: &str) -> Result<ModelSpec> {
    models()
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| Error::UnknownModel(id.to_string()))
}

/// Resolved files of a model on disk.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub onnx: PathBuf,
    pub tokenizer: PathBuf,
    pub precision: Precision,
    /// Where they were found ("local folder", "bundled with Sift", "setup cache", "Hugging Face cache").
    pub source: &'static str,
}

/// The folder `scripts/setup.sh` writes a model to.
pub fn setup_dir(model_id: &str) -> PathBuf {
    crate::paths::cache_dir().join("models").join(model_id)
}

fn local_onnx_name(precision: Precision) -> &'static str {
    match precision {
        Precision::Fp32 => "model.onnx",
        Precision::Int8 => "model_int8.onnx",
    }
}

/// Looks for the files of `spec` at `precision` in a user folder (if given), the installed package's bundled
/// models, the setup cache and the Hugging Face cache. Never touches the network.
pub fn locate(
    spec: &ModelSpec,
    precision: Precision,
    user_dir: Option<&Path>,
) -> Result<ModelFiles> {
    locate_in(spec, precision, user_dir, &HubOptions::default())
}

/// [`locate`] with an explicit Hugging Face cache.
pub fn locate_in(
    spec: &ModelSpec,
    precision: Precision,
    user_dir: Option<&Path>,
    hub: &HubOptions,
) -> Result<ModelFiles> {
    locate_from(
        spec,
        precision,
        user_dir,
        &crate::paths::bundle_dirs(),
        &setup_dir(&spec.id),
        hub,
    )
}

/// [`locate_in`] with explicit bundle folders (each holding `models/<id>/`) and setup folder.
fn locate_from(
    spec: &ModelSpec,
    precision: Precision,
    user_dir: Option<&Path>,
    bundles: &[PathBuf],
    setup: &Path,
    hub: &HubOptions,
) -> Result<ModelFiles> {
    let mut tried = Vec::new();
    let mut dirs: Vec<(PathBuf, &'static str)> = Vec::new();
    if let Some(d) = user_dir {
        dirs.push((d.to_path_buf(), "local folder"));
    }
    for bundle in bundles {
        dirs.push((bundle.join("models").join(&spec.id), "bundled with Sift"));
    }
    dirs.push((setup.to_path_buf(), "setup cache"));
    for (dir, source) in dirs {
        let onnx = dir.join(local_onnx_name(precision));
        let tokenizer = dir.join("tokenizer.json");
        if onnx.is_file() && tokenizer.is_file() {
            return Ok(ModelFiles {
                onnx,
                tokenizer,
                precision,
                source,
            });
        }
        tried.push(dir.display().to_string());
    }
    if let Some(hub_file) = hub_file(spec, precision) {
        let cache = hub.cache();
        let repo = cache.repo(hf_hub::Repo::with_revision(
            spec.hf_repo.clone(),
            hf_hub::RepoType::Model,
            spec.revision.clone(),
        ));
        if let (Some(onnx), Some(tokenizer)) = (repo.get(hub_file), repo.get(&spec.files.tokenizer))
        {
            return Ok(ModelFiles {
                onnx,
                tokenizer,
                precision,
                source: "Hugging Face cache",
            });
        }
        tried.push(format!("{} (Hugging Face cache)", cache.path().display()));
    }
    Err(Error::ModelMissing {
        model: format!("{} ({precision})", spec.id),
        reason: format!("looked in {}", tried.join(", ")),
    })
}

fn hub_file(spec: &ModelSpec, precision: Precision) -> Option<&str> {
    match precision {
        Precision::Fp32 => Some(spec.files.fp32.as_str()),
        Precision::Int8 => spec.files.int8.as_deref(),
    }
}

/// Where to download from and cache into; the defaults are the Hugging Face ones (`HF_HOME`, `HF_ENDPOINT`).
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    pub endpoint: Option<String>,
    pub cache_dir: Option<PathBuf>,
}

impl HubOptions {
    fn cache(&self) -> hf_hub::Cache {
        match &self.cache_dir {
            Some(dir) => hf_hub::Cache::new(dir.clone()),
            None => hf_hub::Cache::from_env(),
        }
    }
}

/// Download progress of one file, reported while [`download`] runs.
#[derive(Debug, Clone, Serialize)]
pub struct DownloadProgress {
    pub file: String,
    pub bytes: u64,
    pub total: Option<u64>,
}

struct ProgressAdapter<'a> {
    file: String,
    bytes: u64,
    total: Option<u64>,
    report: &'a mut dyn FnMut(DownloadProgress),
}

impl hf_hub::api::Progress for ProgressAdapter<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        self.file = filename.to_string();
        self.total = Some(size as u64);
        self.bytes = 0;
        (self.report)(DownloadProgress {
            file: self.file.clone(),
            bytes: 0,
            total: self.total,
        });
    }
    fn update(&mut self, size: usize) {
        self.bytes += size as u64;
        (self.report)(DownloadProgress {
            file: self.file.clone(),
            bytes: self.bytes,
            total: self.total,
        });
    }
    fn finish(&mut self) {}
}

/// Downloads the model's files from the Hugging Face Hub into the standard HF cache (skipping files that are
/// already there) and returns them. Needs the network; offline it fails with [`Error::ModelMissing`].
pub fn download(
    spec: &ModelSpec,
    precision: Precision,
    hub: &HubOptions,
    report: &mut dyn FnMut(DownloadProgress),
) -> Result<ModelFiles> {
    let onnx_name = hub_file(spec, precision).ok_or_else(|| Error::ModelMissing {
        model: spec.id.clone(),
        reason: format!("no {precision} variant is published for it"),
    })?;
    let cache = hub.cache();
    let mut builder = hf_hub::api::sync::ApiBuilder::from_cache(cache.clone());
    if let Some(endpoint) = &hub.endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    let api = builder
        .with_progress(false)
        .with_retries(2)
        .build()
        .map_err(|e| Error::ModelMissing {
            model: spec.id.clone(),
            reason: e.to_string(),
        })?;
    let repo = api.repo(hf_hub::Repo::with_revision(
        spec.hf_repo.clone(),
        hf_hub::RepoType::Model,
        spec.revision.clone(),
    ));
    let mut fetch = |name: &str| -> Result<PathBuf> {
        let cached = cache
            .repo(hf_hub::Repo::with_revision(
                spec.hf_repo.clone(),
                hf_hub::RepoType::Model,
                spec.revision.clone(),
            ))
            .get(name);
        if let Some(path) = cached {
            return Ok(path);
        }
        let adapter = ProgressAdapter {
            file: name.to_string(),
            bytes: 0,
            total: None,
            report: &mut *report,
        };
        repo.download_with_progress(name, adapter)
            .map_err(|e| Error::ModelMissing {
                model: spec.id.clone(),
                reason: format!("downloading {name} from huggingface.co failed: {e}"),
            })
    };
    let tokenizer = fetch(&spec.files.tokenizer)?;
    let onnx = fetch(onnx_name)?;
    Ok(ModelFiles {
        onnx,
        tokenizer,
        precision,
        source: "Hugging Face download",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_default_exists() {
        let m = manifest();
        assert!(m.models.iter().any(|s| s.id == m.default));
        let d = spec(&default_model_id()).unwrap();
        assert_eq!(d.dim, 384);
        assert_eq!(d.pooling, Pooling::Mean);
        assert_eq!(d.max_tokens, 256);
        assert_eq!(d.default_precision, Precision::Int8);
        let bge = spec("bge-small-en-v1.5").unwrap();
        assert_eq!(bge.pooling, Pooling::Cls);
        assert!(bge.query_prefix.starts_with("Represent"));
        assert!(matches!(spec("nope"), Err(Error::UnknownModel(_))));
    }

    #[test]
    fn locate_prefers_user_folder_and_reports_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec("bge-small-en-v1.5").unwrap();
        let err = locate(&s, Precision::Fp32, Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains("setup.sh"), "{err}");
        std::fs::write(dir.path().join("model.onnx"), b"x").unwrap();
        std::fs::write(dir.path().join("tokenizer.json"), b"{}").unwrap();
        let f = locate(&s, Precision::Fp32, Some(dir.path())).unwrap();
        assert_eq!(f.source, "local folder");
        assert_eq!(f.onnx, dir.path().join("model.onnx"));
        // int8 is looked for under its own name
        assert!(locate(&s, Precision::Int8, Some(dir.path())).is_err());
    }

    #[test]
    fn locate_prefers_the_bundled_model_over_the_setup_cache() {
        // An installed package: <root>/usr/bin/sift and <root>/usr/lib/Sift/models/<id>/, plus a setup cache
        // that also has the model.
        let root = tempfile::tempdir().unwrap();
        let exe_dir = root.path().join("usr/bin");
        let s = spec(&default_model_id()).unwrap();
        let bundled = root.path().join("usr/lib/Sift/models").join(&s.id);
        let setup = root.path().join("cache/models").join(&s.id);
        for dir in [&exe_dir, &bundled, &setup] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(setup.join("model_int8.onnx"), b"x").unwrap();
        std::fs::write(setup.join("tokenizer.json"), b"{}").unwrap();
        let bundles = crate::paths::bundle_dirs_for(&exe_dir);
        let hub = HubOptions {
            endpoint: None,
            cache_dir: Some(root.path().join("hf")),
        };
        let find = |user: Option<&Path>| {
            locate_from(&s, Precision::Int8, user, &bundles, &setup, &hub).unwrap()
        };
        // Only the cache has it yet.
        assert_eq!(find(None).source, "setup cache");
        std::fs::write(bundled.join("model_int8.onnx"), b"x").unwrap();
        std::fs::write(bundled.join("tokenizer.json"), b"{}").unwrap();
        let f = find(None);
        assert_eq!(f.source, "bundled with Sift");
        assert_eq!(
            f.onnx,
            exe_dir
                .join("../lib/Sift/models")
                .join(&s.id)
                .join("model_int8.onnx")
        );
        // A folder the user names still wins.
        let user = root.path().join("mine");
        std::fs::create_dir_all(&user).unwrap();
        std::fs::write(user.join("model_int8.onnx"), b"x").unwrap();
        std::fs::write(user.join("tokenizer.json"), b"{}").unwrap();
        assert_eq!(find(Some(&user)).source, "local folder");
        // Where it looked is named when nothing is found.
        let err = locate_from(&s, Precision::Fp32, None, &bundles, &setup, &hub)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lib/Sift/models"), "{err}");
    }

    #[test]
    fn download_fails_clearly_when_the_hub_is_unreachable() {
        let cache = tempfile::tempdir().unwrap();
        let hub = HubOptions {
            endpoint: Some("http://127.0.0.1:9".into()),
            cache_dir: Some(cache.path().into()),
        };
        let s = spec(&default_model_id()).unwrap();
        let mut events = 0;
        let err = download(&s, Precision::Fp32, &hub, &mut |_| events += 1).unwrap_err();
        assert!(matches!(err, Error::ModelMissing { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("tokenizer.json") && msg.contains("setup.sh"),
            "{msg}"
        );
        assert_eq!(events, 0);
    }

    #[test]
    fn hub_cache_lookup_finds_downloaded_files() {
        // Lay out a Hugging Face cache the way hf-hub writes it: refs/main -> snapshots/<commit>/<file>.
        let cache = tempfile::tempdir().unwrap();
        let repo = cache.path().join("models--BAAI--bge-small-en-v1.5");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123").unwrap();
        let snap = repo.join("snapshots/abc123");
        std::fs::create_dir_all(snap.join("onnx")).unwrap();
        std::fs::write(snap.join("onnx/model.onnx"), b"x").unwrap();
        std::fs::write(snap.join("tokenizer.json"), b"{}").unwrap();
        let hub = HubOptions {
            endpoint: None,
            cache_dir: Some(cache.path().into()),
        };
        let s = spec("bge-small-en-v1.5").unwrap();
        let f = locate_in(&s, Precision::Fp32, None, &hub).unwrap();
        assert_eq!(f.source, "Hugging Face cache");
        assert_eq!(f.onnx, snap.join("onnx/model.onnx"));
    }

    #[test]
    fn precision_parses() {
        assert_eq!("INT8".parse::<Precision>().unwrap(), Precision::Int8);
        assert_eq!("fp32".parse::<Precision>().unwrap(), Precision::Fp32);
        assert!("fp16".parse::<Precision>().is_err());
    }
}
