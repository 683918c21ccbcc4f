//! Which embedding models Sift knows and where their files are.
//!
//! "Give me the files of model X": the manifest (`models/manifest.json`, compiled in) describes each model;
//! [`locate`] finds its ONNX graph and tokenizer in, in order, a folder the user pointed at, the installed
//! package's `models/<id>/` (the `.deb`/`.rpm`/app bundle carry the default model, see
//! [`crate::paths::bundle_dirs`]), the setup cache (`scripts/setup.sh` builds the default model there
//! offline, and [`crate::download`] puts downloaded models), and the Hugging Face cache (the pinned revision's
//! snapshot). Downloading is [`crate::download`]'s job; nothing here touches the network.

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

/// One file of a model in its Hugging Face repository, with what a download must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubFile {
    /// Path inside the repository (`onnx/model.onnx`).
    pub path: String,
    /// Lower-case hex sha256 of the file at the pinned revision (what the Hub publishes for files stored
    /// with Git LFS); a download is refused without it or [`HubFile::git_blob`].
    #[serde(default)]
    pub sha256: Option<String>,
    /// Size in bytes; checked when present.
    #[serde(default)]
    pub size: Option<u64>,
    /// The git blob id (sha1 of `blob <len>\0<bytes>`, 40 hex) of a small file kept in git itself rather than
    /// LFS, as the Hub's API reports it: the checksum such files have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_blob: Option<String>,
}

impl HubFile {
    /// Whether the file is pinned: a 64-hex sha256 or a 40-hex git blob id.
    pub fn is_pinned(&self) -> bool {
        self.sha256.as_deref().is_some_and(|h| is_hex(h, 64))
            || self.git_blob.as_deref().is_some_and(|h| is_hex(h, 40))
    }
}

/// A model's files inside its Hugging Face repository.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubFiles {
    pub tokenizer: HubFile,
    pub fp32: HubFile,
    #[serde(default)]
    pub int8: Option<HubFile>,
}

/// One supported embedding model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Stable id, also the folder name in the cache and the key of stored vectors.
    pub id: String,
    /// Human-readable name for the settings screen.
    pub name: String,
    /// What it is good at, one line for the settings screen.
    pub description: String,
    /// Languages it understands ("English", "100+ languages").
    pub languages: String,
    /// Shipped inside the installed package (no download needed there).
    #[serde(default)]
    pub bundled: bool,
    pub hf_repo: String,
    /// The repository commit (40 hex digits) the checksums belong to; never a branch.
    #[serde(default)]
    pub revision: Option<String>,
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

impl ModelSpec {
    /// The hub file of the ONNX graph at `precision`, if the model publishes one.
    pub fn onnx_file(&self, precision: Precision) -> Option<&HubFile> {
        match precision {
            Precision::Fp32 => Some(&self.files.fp32),
            Precision::Int8 => self.files.int8.as_ref(),
        }
    }

    /// The pinned revision, if it is a 40-hex commit.
    pub fn pinned_revision(&self) -> Option<&str> {
        self.revision.as_deref().filter(|r| is_hex(r, 40))
    }

    /// Whether Sift can download the model at `precision`: a pinned revision and a sha256 for every file.
    pub fn downloadable(&self, precision: Precision) -> bool {
        self.pinned_revision().is_some()
            && self.files.tokenizer.is_pinned()
            && self.onnx_file(precision).is_some_and(HubFile::is_pinned)
    }

    /// Bytes to download for the model at `precision`, when the manifest knows every file's size.
    pub fn download_size(&self, precision: Precision) -> Option<u64> {
        let onnx = self.onnx_file(precision)?;
        Some(self.files.tokenizer.size? + onnx.size?)
    }
}

pub(crate) fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One answer model (a decoder-only instruct LLM, an onnx-community ONNX export) users can download for
/// "Ask". Its files keep their repository paths inside the model's folder; after a download Sift writes the
/// folder's `generation.json` from the repository's own configuration ([`crate::generate::config_from_hub`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratorSpec {
    /// Stable id, also the folder name in the cache (`<cache>/models/<id>/`).
    pub id: String,
    /// Human-readable name for the settings screen.
    pub name: String,
    /// What it is good for, one line for the settings screen.
    pub description: String,
    pub languages: String,
    /// The licence of the weights (SPDX id).
    pub license: String,
    /// Parameters, in billions.
    pub parameters_b: f64,
    /// How the weights are stored ("4-bit weights").
    pub quantization: String,
    pub hf_repo: String,
    /// The repository commit (40 hex) the checksums belong to. When absent, a download pins the newest
    /// commit and the checksums the Hub publishes for it, and records them in the model's folder.
    #[serde(default)]
    pub revision: Option<String>,
    /// The decoder graph in the repository (`onnx/model_q4.onnx`).
    pub model: HubFile,
    /// The tokenizer, chat template and configuration files the model needs beside the graph.
    pub support: Vec<HubFile>,
    /// About how many bytes a download takes, for the settings screen before the Hub is asked.
    pub approx_bytes: u64,
    /// About how many reply tokens per second it produces on two x86 cores (see docs/BENCHMARKS.md): the
    /// settings screen's "expected speed".
    pub approx_tokens_per_s: f64,
}

impl GeneratorSpec {
    /// Every file to download: the support files, then the graph.
    pub fn files(&self) -> Vec<&HubFile> {
        self.support
            .iter()
            .chain(std::iter::once(&self.model))
            .collect()
    }

    /// The pinned revision, if it is a 40-hex commit.
    pub fn pinned_revision(&self) -> Option<&str> {
        self.revision.as_deref().filter(|r| is_hex(r, 40))
    }

    /// Whether the manifest pins the commit and every file's checksum (a download then never asks the
    /// Hub's API what to expect).
    pub fn fully_pinned(&self) -> bool {
        self.pinned_revision().is_some() && self.files().iter().all(|f| f.is_pinned())
    }

    /// Bytes to download: the manifest's sizes when it lists every one, else the estimate.
    pub fn download_size(&self) -> u64 {
        self.files()
            .iter()
            .map(|f| f.size)
            .sum::<Option<u64>>()
            .unwrap_or(self.approx_bytes)
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Manifest {
    default: String,
    models: Vec<ModelSpec>,
    #[serde(default)]
    generators: Vec<GeneratorSpec>,
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

/// The answer models users can download.
pub fn generators() -> Vec<GeneratorSpec> {
    manifest().generators
}

/// Looks an answer model up by id.
pub fn generator_spec(id: &str) -> Result<GeneratorSpec> {
    generators()
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| Error::UnknownModel(id.to_string()))
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

/// The folder `scripts/setup.sh` writes a model to, and where [`crate::download`] puts a downloaded one
/// (`<cache>/models/<id>/`).
pub fn setup_dir(model_id: &str) -> PathBuf {
    crate::paths::cache_dir().join("models").join(model_id)
}

/// The file name of the ONNX graph at `precision` in a model folder (local, bundled, setup cache, download).
pub fn local_onnx_name(precision: Precision) -> &'static str {
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
    if let (Some(revision), Some(onnx_file)) = (spec.pinned_revision(), spec.onnx_file(precision)) {
        // The pinned revision's snapshot in the Hugging Face cache (`models--org--name/snapshots/<commit>/`).
        let cache = hub.cache();
        let repo = hf_hub::Repo::with_revision(
            spec.hf_repo.clone(),
            hf_hub::RepoType::Model,
            revision.to_string(),
        );
        let snapshot = cache
            .path()
            .join(repo.folder_name())
            .join("snapshots")
            .join(revision);
        let onnx = snapshot.join(&onnx_file.path);
        let tokenizer = snapshot.join(&spec.files.tokenizer.path);
        if onnx.is_file() && tokenizer.is_file() {
            return Ok(ModelFiles {
                onnx,
                tokenizer,
                precision,
                source: "Hugging Face cache",
            });
        }
        tried.push(format!("{} (Hugging Face cache)", snapshot.display()));
    }
    Err(Error::ModelMissing {
        model: format!("{} ({precision})", spec.id),
        reason: format!("looked in {}", tried.join(", ")),
    })
}

/// The Hugging Face Hub's address unless `HF_ENDPOINT` or [`HubOptions::endpoint`] says otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Where to download from and which Hugging Face cache to look in; the defaults are the Hugging Face ones
/// (`HF_ENDPOINT`, `HF_HOME`).
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    pub endpoint: Option<String>,
    pub cache_dir: Option<PathBuf>,
}

impl HubOptions {
    /// The endpoint downloads go to: [`HubOptions::endpoint`], else `$HF_ENDPOINT`, else huggingface.co;
    /// without a trailing slash.
    pub fn endpoint(&self) -> String {
        let chosen = self
            .endpoint
            .clone()
            .or_else(|| {
                std::env::var("HF_ENDPOINT")
                    .ok()
                    .filter(|v| !v.trim().is_empty())
            })
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        chosen.trim().trim_end_matches('/').to_string()
    }

    fn cache(&self) -> hf_hub::Cache {
        match &self.cache_dir {
            Some(dir) => hf_hub::Cache::new(dir.clone()),
            None => hf_hub::Cache::from_env(),
        }
    }
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
    fn hub_cache_lookup_finds_the_pinned_snapshot_only() {
        // A Hugging Face cache as the hub's tools write it: snapshots/<commit>/<file>, refs/main naming the
        // newest commit.
        let cache = tempfile::tempdir().unwrap();
        let s = spec("bge-small-en-v1.5").unwrap();
        let revision = s.pinned_revision().unwrap().to_string();
        let repo = cache.path().join("models--BAAI--bge-small-en-v1.5");
        let put = |commit: &str| {
            let snap = repo.join("snapshots").join(commit);
            std::fs::create_dir_all(snap.join("onnx")).unwrap();
            std::fs::write(snap.join("onnx/model.onnx"), b"x").unwrap();
            std::fs::write(snap.join("tokenizer.json"), b"{}").unwrap();
            snap
        };
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123").unwrap();
        put("abc123");
        let hub = HubOptions {
            endpoint: None,
            cache_dir: Some(cache.path().into()),
        };
        let setup = cache.path().join("no-setup");
        // Another revision's files are not the pinned model.
        let err = locate_from(&s, Precision::Fp32, None, &[], &setup, &hub)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&revision), "{err}");
        let snap = put(&revision);
        let f = locate_from(&s, Precision::Fp32, None, &[], &setup, &hub).unwrap();
        assert_eq!(f.source, "Hugging Face cache");
        assert_eq!(f.onnx, snap.join("onnx/model.onnx"));
        assert_eq!(f.tokenizer, snap.join("tokenizer.json"));
    }

    #[test]
    fn every_downloadable_model_pins_a_commit_and_every_file() {
        let models = models();
        assert!(models.len() >= 4, "{}", models.len());
        let mut downloadable = 0;
        for m in &models {
            // Whatever is written is well-formed: never a branch, never a short or upper-case hash.
            if let Some(r) = &m.revision {
                assert!(
                    is_hex(r, 40),
                    "{}: revision {r:?} is not a 40-hex commit",
                    m.id
                );
            }
            let files = [
                Some(&m.files.tokenizer),
                Some(&m.files.fp32),
                m.files.int8.as_ref(),
            ];
            for f in files.into_iter().flatten() {
                if let Some(h) = &f.sha256 {
                    assert!(is_hex(h, 64), "{}: {} sha256 {h:?}", m.id, f.path);
                }
                assert!(f.size.is_some_and(|n| n > 0), "{}: {} size", m.id, f.path);
            }
            assert!(
                !m.description.is_empty() && !m.languages.is_empty(),
                "{}",
                m.id
            );
            // Every model, the bundled one too (a build without it downloads it), is downloadable at its
            // default precision with every file pinned, size included.
            assert!(
                m.pinned_revision().is_some(),
                "{}: no pinned revision",
                m.id
            );
            assert!(
                m.files.tokenizer.is_pinned(),
                "{}: tokenizer not pinned",
                m.id
            );
            let onnx = m.onnx_file(m.default_precision).unwrap();
            assert!(onnx.is_pinned(), "{}: {} not pinned", m.id, onnx.path);
            assert!(m.downloadable(m.default_precision), "{}", m.id);
            downloadable += 1;
        }
        assert_eq!(downloadable, models.len());
        assert!(spec("bge-small-en-v1.5")
            .unwrap()
            .downloadable(Precision::Fp32));
        // The bundled default needs no download; exactly one model is bundled.
        assert_eq!(models.iter().filter(|m| m.bundled).count(), 1);
        assert!(spec(&default_model_id()).unwrap().bundled);
    }

    #[test]
    fn answer_models_are_described_for_download() {
        let gens = generators();
        let ids: Vec<&str> = gens.iter().map(|g| g.id.as_str()).collect();
        assert!(ids.contains(&"qwen2.5-0.5b-instruct"), "{ids:?}");
        assert!(ids.contains(&"qwen2.5-1.5b-instruct"), "{ids:?}");
        let embedding_ids: Vec<String> = models().into_iter().map(|m| m.id).collect();
        for g in &gens {
            // Ids name folders in the same cache as embedding models: never the same.
            assert!(!embedding_ids.contains(&g.id), "{}", g.id);
            assert_eq!(gens.iter().filter(|o| o.id == g.id).count(), 1, "{}", g.id);
            assert!(g.model.path.ends_with(".onnx"), "{}", g.id);
            for needed in ["tokenizer.json", "tokenizer_config.json", "config.json"] {
                assert!(
                    g.support.iter().any(|f| f.path == needed),
                    "{}: {needed}",
                    g.id
                );
            }
            // Whatever is pinned is well-formed; an unpinned entry is pinned at download time.
            if let Some(r) = &g.revision {
                assert!(is_hex(r, 40), "{}: revision {r:?}", g.id);
            }
            for f in g.files() {
                if let Some(h) = &f.sha256 {
                    assert!(is_hex(h, 64), "{}: {} sha256 {h:?}", g.id, f.path);
                }
            }
            assert!(
                g.approx_bytes > 100_000_000 && g.download_size() > 0,
                "{}",
                g.id
            );
            assert!(
                g.approx_tokens_per_s > 0.0 && g.parameters_b > 0.0,
                "{}",
                g.id
            );
            assert!(
                !g.description.is_empty() && !g.license.is_empty(),
                "{}",
                g.id
            );
        }
        assert!(matches!(
            generator_spec("nope"),
            Err(Error::UnknownModel(_))
        ));
    }

    #[test]
    fn manifest_describes_the_multilingual_and_large_models() {
        let e5 = spec("multilingual-e5-small").unwrap();
        assert_eq!(
            (e5.dim, e5.pooling, e5.max_tokens),
            (384, Pooling::Mean, 512)
        );
        assert_eq!(
            (e5.query_prefix.as_str(), e5.document_prefix.as_str()),
            ("query: ", "passage: ")
        );
        assert!(e5.languages.contains("100"));
        let base = spec("bge-base-en-v1.5").unwrap();
        assert_eq!(
            (base.dim, base.pooling, base.max_tokens),
            (768, Pooling::Cls, 512)
        );
    }

    #[test]
    fn endpoint_comes_from_the_options_then_the_default() {
        let hub = HubOptions {
            endpoint: Some("http://127.0.0.1:8080/".into()),
            cache_dir: None,
        };
        assert_eq!(hub.endpoint(), "http://127.0.0.1:8080");
        if std::env::var_os("HF_ENDPOINT").is_none() {
            assert_eq!(HubOptions::default().endpoint(), DEFAULT_ENDPOINT);
        }
    }

    #[test]
    fn precision_parses() {
        assert_eq!("INT8".parse::<Precision>().unwrap(), Precision::Int8);
        assert_eq!("fp32".parse::<Precision>().unwrap(), Precision::Fp32);
        assert!("fp16".parse::<Precision>().is_err());
    }
}
