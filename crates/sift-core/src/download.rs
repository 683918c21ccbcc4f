//! "Fetch a model's pinned files from the hub": the downloader behind `sift models download` and the app's
//! "Download" button. It never runs unless one of those asks.
//!
//! For each file the manifest pins ([`crate::model::HubFile`]) it GETs
//! `{endpoint}/{repo}/resolve/{revision}/{path}` (the Hugging Face Hub's layout; redirects to a CDN are followed
//! with the `Range` header kept) into `<name>.part` in the model's folder ([`crate::model::setup_dir`], where
//! [`crate::model::locate`] looks), resuming a partial file with `Range: bytes=N-` (`206` appends, `200` starts
//! over). The finished file is hashed whole (resumed prefix included) and its size checked; only then is it
//! renamed into place, so a file under its final name is always complete and verified. A checksum or size
//! mismatch deletes the `.part`; a cancel or a broken connection keeps it for the next try.
//!
//! Why not `hf-hub`: its sync API has no pinned checksums, no control over resuming and no cancellation.
//! `ureq` is the HTTP client `hf-hub` already brings in.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::model::{self, GeneratorSpec, HubFile, HubOptions, ModelFiles, ModelSpec, Precision};

/// How long connecting may take before the hub counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a read may wait for the next bytes before the connection counts as broken.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Requests per file when the connection breaks off mid-file (each one resumes where the last stopped).
const ATTEMPTS: usize = 3;
/// Progress is reported at most this often (and always at the start and end of each file).
const REPORT_EVERY: Duration = Duration::from_millis(100);
const BUF: usize = 64 * 1024;

/// How far a model download is, summed over all its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownloadProgress {
    /// The model's id.
    pub model: String,
    /// The file being fetched (its name in the model folder).
    pub file: String,
    /// Bytes of the model on disk so far (files already in place and resumed prefixes included).
    pub bytes: u64,
    /// Bytes of the whole model, once every file's size is known.
    pub total: Option<u64>,
}

/// Why a download failed. The message is one sentence for the user; [`DownloadError::details`] adds what
/// the log needs.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// No connection could be made (offline, DNS, refused, timed out).
    #[error("Sift could not reach {host}; check your internet connection and try again.")]
    Offline { host: String, detail: String },
    /// The connection broke off mid-file; the partial file is kept and the next try resumes it.
    #[error(
        "The connection to {host} broke off; try again to resume the download where it stopped."
    )]
    Interrupted { host: String, detail: String },
    /// The server answered with an error status.
    #[error("{host} refused the download (HTTP {status}); try again later.")]
    Http {
        host: String,
        status: u16,
        url: String,
    },
    /// The file's sha256 is not the pinned one; it was deleted.
    #[error("A downloaded file did not match its published checksum and was deleted; try again.")]
    Checksum {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    /// The file's size is not the pinned one; it was deleted.
    #[error("A downloaded file had the wrong size and was deleted; try again.")]
    Size {
        file: PathBuf,
        expected: u64,
        actual: u64,
    },
    /// The caller's cancel flag was set; the partial file is kept.
    #[error("The download was cancelled.")]
    Cancelled,
    /// Reading or writing the model folder failed.
    #[error("Sift could not save the model in {}; check the free disk space there and try again.", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The model's files arrived but do not make a model Sift can run (its configuration is unreadable).
    #[error("{model} was downloaded but Sift cannot use it; choose another model.")]
    Unusable { model: String, detail: String },
    /// The manifest does not pin this model (revision or checksums missing), or it has no such precision.
    #[error("{model} cannot be downloaded by this version of Sift; choose another model.")]
    NotDownloadable { model: String, reason: String },
}

impl DownloadError {
    /// The message plus the technical detail, for the log and "Copy details".
    pub fn details(&self) -> String {
        let extra = match self {
            DownloadError::Offline { detail, .. } | DownloadError::Interrupted { detail, .. } => {
                detail.clone()
            }
            DownloadError::Http { url, .. } => format!("GET {url}"),
            DownloadError::Checksum {
                file,
                expected,
                actual,
            } => format!("{}: sha256 {actual}, expected {expected}", file.display()),
            DownloadError::Size {
                file,
                expected,
                actual,
            } => format!("{}: {actual} bytes, expected {expected}", file.display()),
            DownloadError::Cancelled => return self.to_string(),
            DownloadError::Io { path, source } => format!("{}: {source}", path.display()),
            DownloadError::NotDownloadable { reason, .. } => reason.clone(),
            DownloadError::Unusable { detail, .. } => detail.clone(),
        };
        format!("{self} ({extra})")
    }
}

type Result<T> = std::result::Result<T, DownloadError>;

/// Downloads `spec` at `precision` into its folder in the Sift cache ([`model::setup_dir`]) and returns its
/// files. Files already in place are kept; a `.part` left by an earlier try is resumed. `cancel` is checked
/// between reads.
pub fn download(
    spec: &ModelSpec,
    precision: Precision,
    hub: &HubOptions,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&DownloadProgress),
) -> Result<ModelFiles> {
    download_to(
        spec,
        precision,
        hub,
        &model::setup_dir(&spec.id),
        cancel,
        report,
    )
}

/// [`download`] into an explicit folder.
pub fn download_to(
    spec: &ModelSpec,
    precision: Precision,
    hub: &HubOptions,
    dir: &Path,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&DownloadProgress),
) -> Result<ModelFiles> {
    let not_downloadable = |reason: String| DownloadError::NotDownloadable {
        model: spec.name.clone(),
        reason,
    };
    let revision = spec
        .pinned_revision()
        .ok_or_else(|| not_downloadable(format!("{}: no pinned revision", spec.id)))?;
    let onnx = spec
        .onnx_file(precision)
        .ok_or_else(|| not_downloadable(format!("{}: no {precision} variant", spec.id)))?;
    let jobs = [
        (spec.files.tokenizer.clone(), "tokenizer.json".to_string()),
        (onnx.clone(), model::local_onnx_name(precision).to_string()),
    ];
    let client = Client::new(hub);
    client.fetch_all(
        &spec.id,
        &spec.name,
        &spec.hf_repo,
        revision,
        &jobs,
        dir,
        cancel,
        report,
    )?;
    tracing::info!(model = %spec.id, "model downloaded and verified");
    Ok(ModelFiles {
        onnx: dir.join(model::local_onnx_name(precision)),
        tokenizer: dir.join("tokenizer.json"),
        precision,
        source: "downloaded",
    })
}

/// Downloads the answer model `spec` into its folder in the Sift cache (`<cache>/models/<id>/`, where
/// [`crate::generate::installed`] looks) and writes its `generation.json`; returns the folder.
pub fn download_generator(
    spec: &GeneratorSpec,
    hub: &HubOptions,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&DownloadProgress),
) -> Result<PathBuf> {
    download_generator_to(spec, hub, &model::setup_dir(&spec.id), cancel, report)
}

/// [`download_generator`] into an explicit folder.
///
/// The files to fetch and their checksums are pinned first (`pin_generator`) and written to
/// `pin.json` in the folder, so a download resumed later fetches the same commit even if the repository
/// moved on. `generation.json` is written last: [`crate::generate::installed`] lists a folder only once it
/// exists, so a half-downloaded model is never offered.
pub fn download_generator_to(
    spec: &GeneratorSpec,
    hub: &HubOptions,
    dir: &Path,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&DownloadProgress),
) -> Result<PathBuf> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DownloadError::Io {
            path: path.clone(),
            source,
        }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let client = Client::new(hub);
    let pin_path = dir.join(PIN_FILE);
    let earlier: Option<Pin> = fs::read(&pin_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|p: &Pin| p.repo == spec.hf_repo && pin_agrees(spec, p));
    let pin = match earlier {
        Some(p) => p,
        None => {
            let p = pin_generator(spec, &client)?;
            let text = serde_json::to_vec_pretty(&p).unwrap_or_default();
            let tmp = dir.join(format!("{PIN_FILE}.tmp"));
            fs::write(&tmp, text).map_err(io_err(&tmp))?;
            fs::rename(&tmp, &pin_path).map_err(io_err(&pin_path))?;
            p
        }
    };
    let jobs: Vec<(HubFile, String)> = pin
        .files
        .iter()
        .map(|f| (f.clone(), f.path.clone()))
        .collect();
    client.fetch_all(
        &spec.id,
        &spec.name,
        &pin.repo,
        &pin.revision,
        &jobs,
        dir,
        cancel,
        report,
    )?;
    crate::generate::write_hub_config(dir, spec, &pin.revision).map_err(|e| {
        DownloadError::Unusable {
            model: spec.name.clone(),
            detail: e.to_string(),
        }
    })?;
    tracing::info!(model = %spec.id, revision = %pin.revision, dir = %dir.display(),
        "answer model downloaded and verified");
    Ok(dir.to_path_buf())
}

/// The file in a downloaded answer model's folder recording the commit and checksums it was fetched at.
pub const PIN_FILE: &str = "pin.json";

/// What a download of an answer model fetches: one commit of one repository and each file's checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    pub repo: String,
    /// The commit, 40 hex.
    pub revision: String,
    /// The files, each with its sha256 (LFS) or git blob id (small files) and size.
    pub files: Vec<HubFile>,
}

/// Whether a recorded pin is one the manifest allows: same commit and same checksums wherever the
/// manifest pins them.
fn pin_agrees(spec: &GeneratorSpec, pin: &Pin) -> bool {
    if spec.pinned_revision().is_some_and(|r| r != pin.revision) {
        return false;
    }
    spec.files().iter().all(|want| {
        pin.files.iter().any(|have| {
            have.path == want.path
                && have.is_pinned()
                && want
                    .sha256
                    .as_ref()
                    .is_none_or(|h| have.sha256.as_ref() == Some(h))
                && want.size.is_none_or(|s| have.size == Some(s))
        })
    })
}

/// Decides what a download of `spec` fetches. A manifest entry that pins the commit and every file is
/// used as it is. Otherwise the Hub's API is asked for the commit (the pinned one, else `main`'s newest) and
/// the checksums it publishes for each file at that commit: the sha256 of files stored with LFS, the git
/// blob id of small files. Checksums the manifest does give must match. A graph's external-data file
/// (`<graph>_data`, `<graph>.data`), when the repository has one, is fetched with it.
fn pin_generator(spec: &GeneratorSpec, client: &Client) -> Result<Pin> {
    if let (Some(revision), true) = (spec.pinned_revision(), spec.fully_pinned()) {
        return Ok(Pin {
            repo: spec.hf_repo.clone(),
            revision: revision.to_string(),
            files: spec.files().into_iter().cloned().collect(),
        });
    }
    let not_downloadable = |reason: String| DownloadError::NotDownloadable {
        model: spec.name.clone(),
        reason,
    };
    let asked = spec.pinned_revision().unwrap_or("main");
    let info = client.repo_info(&spec.hf_repo, asked)?;
    if !model::is_hex(&info.sha, 40) {
        return Err(not_downloadable(format!(
            "{}: the Hub named no commit for {asked} ({:?})",
            spec.hf_repo, info.sha
        )));
    }
    let sibling = |path: &str| info.siblings.iter().find(|s| s.rfilename == path);
    let mut files = Vec::new();
    for want in spec.files() {
        let found = sibling(&want.path).ok_or_else(|| {
            not_downloadable(format!(
                "{}@{} has no {}",
                spec.hf_repo, info.sha, want.path
            ))
        })?;
        let have = found.hub_file();
        if !have.is_pinned() {
            return Err(not_downloadable(format!(
                "the Hub published no checksum for {} at {}",
                want.path, info.sha
            )));
        }
        let differs = want
            .sha256
            .as_ref()
            .is_some_and(|h| have.sha256.as_ref() != Some(h))
            || want.size.is_some_and(|s| have.size != Some(s));
        if differs {
            return Err(not_downloadable(format!(
                "{} at {} is not the file the manifest pins",
                want.path, info.sha
            )));
        }
        files.push(have);
    }
    for extra in [
        format!("{}_data", spec.model.path),
        format!("{}.data", spec.model.path),
    ] {
        if let Some(found) = sibling(&extra) {
            let have = found.hub_file();
            if have.is_pinned() {
                files.push(have);
            }
        }
    }
    tracing::info!(repo = %spec.hf_repo, asked, commit = %info.sha, files = files.len(),
        "pinned the answer model's files from the Hub's checksums");
    Ok(Pin {
        repo: spec.hf_repo.clone(),
        revision: info.sha,
        files,
    })
}

/// What the Hub's API says about a repository at a revision (`GET /api/models/{repo}/revision/{rev}
/// ?blobs=true`): the commit and, per file, its size and checksum.
#[derive(Debug, Deserialize)]
struct RepoInfo {
    #[serde(default)]
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Debug, Deserialize)]
struct Sibling {
    rfilename: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default, rename = "blobId")]
    blob_id: Option<String>,
    #[serde(default)]
    lfs: Option<Lfs>,
}

#[derive(Debug, Deserialize)]
struct Lfs {
    sha256: String,
    #[serde(default)]
    size: Option<u64>,
}

impl Sibling {
    /// The file with the checksum that applies: LFS files by sha256, the rest by git blob id.
    fn hub_file(&self) -> HubFile {
        match &self.lfs {
            Some(lfs) => HubFile {
                path: self.rfilename.clone(),
                sha256: Some(lfs.sha256.to_ascii_lowercase()),
                size: lfs.size.or(self.size),
                git_blob: None,
            },
            None => HubFile {
                path: self.rfilename.clone(),
                sha256: None,
                size: self.size,
                git_blob: self.blob_id.as_ref().map(|b| b.to_ascii_lowercase()),
            },
        }
    }
}

/// An HTTP client for one Hub endpoint.
struct Client {
    agent: ureq::Agent,
    endpoint: String,
    host: String,
}

impl Client {
    /// A client for `hub`'s endpoint.
    fn new(hub: &HubOptions) -> Client {
        let endpoint = hub.endpoint();
        Client {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(CONNECT_TIMEOUT)
                .timeout_read(READ_TIMEOUT)
                .redirects(5)
                .user_agent(concat!("sift/", env!("CARGO_PKG_VERSION")))
                .build(),
            host: host_of(&endpoint),
            endpoint,
        }
    }

    fn repo_info(&self, repo: &str, revision: &str) -> Result<RepoInfo> {
        let url = format!(
            "{}/api/models/{repo}/revision/{revision}?blobs=true",
            self.endpoint
        );
        let response = match self.agent.get(&url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(status, _)) => {
                return Err(DownloadError::Http {
                    host: self.host.clone(),
                    status,
                    url,
                })
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(DownloadError::Offline {
                    host: self.host.clone(),
                    detail: format!("GET {url}: {t}"),
                })
            }
        };
        let mut body = Vec::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_end(&mut body)
            .map_err(|e| DownloadError::Interrupted {
                host: self.host.clone(),
                detail: format!("GET {url}: {e}"),
            })?;
        serde_json::from_slice(&body).map_err(|e| DownloadError::NotDownloadable {
            model: repo.to_string(),
            reason: format!("GET {url}: unexpected answer: {e}"),
        })
    }

    /// Fetches `jobs` (a pinned file and its name in `dir`) from `repo` at `revision` into `dir`, each
    /// verified before it takes its name; files already in place are kept.
    #[allow(clippy::too_many_arguments)]
    fn fetch_all(
        &self,
        model_id: &str,
        model_name: &str,
        repo: &str,
        revision: &str,
        jobs: &[(HubFile, String)],
        dir: &Path,
        cancel: &AtomicBool,
        report: &mut dyn FnMut(&DownloadProgress),
    ) -> Result<()> {
        for (file, _) in jobs {
            if !file.is_pinned() {
                return Err(DownloadError::NotDownloadable {
                    model: model_name.to_string(),
                    reason: format!("{model_id}: {} has no checksum", file.path),
                });
            }
        }
        fs::create_dir_all(dir).map_err(|source| DownloadError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut tally = Tally {
            model: model_id.to_string(),
            sizes: Vec::new(),
            done: 0,
            last: None,
        };
        let mut pending = Vec::new();
        for (i, (file, name)) in jobs.iter().enumerate() {
            let target = dir.join(name);
            match fs::metadata(&target) {
                // Only a verified file is ever renamed to its final name.
                Ok(meta) if meta.is_file() && file.size.is_none_or(|s| s == meta.len()) => {
                    tally.sizes.push(Some(meta.len()));
                    tally.done += meta.len();
                }
                _ => {
                    tally.sizes.push(file.size);
                    pending.push(i);
                }
            }
        }
        tracing::info!(model = %model_id, dir = %dir.display(), endpoint = %self.endpoint,
            files = pending.len(), "downloading model");
        let first = jobs.first().map_or("", |(_, n)| n.as_str());
        let last = jobs.last().map_or("", |(_, n)| n.as_str());
        tally.report(first, 0, true, report);
        for i in pending {
            let (file, name) = &jobs[i];
            let target = dir.join(name);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|source| DownloadError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            let url = format!("{}/{repo}/resolve/{revision}/{}", self.endpoint, file.path);
            let fetch = Fetch {
                agent: &self.agent,
                url: &url,
                host: &self.host,
                file,
                name,
                part: dir.join(format!("{name}.part")),
                target,
                cancel,
            };
            fetch.run(i, &mut tally, report)?;
        }
        tally.report(last, 0, true, report);
        Ok(())
    }
}

/// Bytes per file and the progress reporting over the whole model.
struct Tally {
    model: String,
    /// Each file's size, once known (manifest, file in place, or the server's answer).
    sizes: Vec<Option<u64>>,
    /// Bytes of the files finished.
    done: u64,
    last: Option<Instant>,
}

impl Tally {
    fn report(
        &mut self,
        file: &str,
        current: u64,
        force: bool,
        report: &mut dyn FnMut(&DownloadProgress),
    ) {
        let now = Instant::now();
        if !force
            && self
                .last
                .is_some_and(|t| now.duration_since(t) < REPORT_EVERY)
        {
            return;
        }
        self.last = Some(now);
        report(&DownloadProgress {
            model: self.model.clone(),
            file: file.to_string(),
            bytes: self.done + current,
            total: self.sizes.iter().copied().sum(),
        });
    }
}

/// One file's transfer.
struct Fetch<'a> {
    agent: &'a ureq::Agent,
    url: &'a str,
    host: &'a str,
    file: &'a HubFile,
    name: &'a str,
    part: PathBuf,
    target: PathBuf,
    cancel: &'a AtomicBool,
}

/// How one request ended.
enum Transfer {
    /// The server sent everything it said it would.
    Complete,
    /// The connection broke off; the bytes received are in the `.part`.
    Broken(String),
}

impl Fetch<'_> {
    fn io(&self, path: &Path) -> impl Fn(io::Error) -> DownloadError + '_ {
        let path = path.to_path_buf();
        move |source| DownloadError::Io {
            path: path.clone(),
            source,
        }
    }

    fn run(
        &self,
        index: usize,
        tally: &mut Tally,
        report: &mut dyn FnMut(&DownloadProgress),
    ) -> Result<()> {
        let mut broken = String::new();
        let mut complete = false;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tracing::info!(url = %self.url, attempt, error = %broken, "resuming the download");
            }
            match self.request(index, tally, report)? {
                Transfer::Complete => {
                    complete = true;
                    break;
                }
                Transfer::Broken(e) => broken = e,
            }
        }
        if !complete {
            return Err(DownloadError::Interrupted {
                host: self.host.to_string(),
                detail: format!("GET {}: {broken}", self.url),
            });
        }
        self.verify()?;
        let size = fs::metadata(&self.target)
            .map_err(self.io(&self.target))?
            .len();
        tally.sizes[index] = Some(size);
        tally.done += size;
        tally.report(self.name, 0, true, report);
        Ok(())
    }

    /// One GET, resuming from the `.part`'s length; appends what arrives to it.
    fn request(
        &self,
        index: usize,
        tally: &mut Tally,
        report: &mut dyn FnMut(&DownloadProgress),
    ) -> Result<Transfer> {
        let mut have = match fs::metadata(&self.part) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(self.io(&self.part)(e)),
        };
        if let Some(size) = self.file.size {
            if have == size {
                return Ok(Transfer::Complete);
            }
            if have > size {
                fs::remove_file(&self.part).map_err(self.io(&self.part))?;
                have = 0;
            }
        }
        if self.cancel.load(Ordering::Relaxed) {
            return Err(DownloadError::Cancelled);
        }
        let mut req = self.agent.get(self.url).set("Accept-Encoding", "identity");
        if have > 0 {
            req = req.set("Range", &format!("bytes={have}-"));
        }
        let response = match req.call() {
            Ok(r) => r,
            // The `.part` is longer than the file (or already whole): start over.
            Err(ureq::Error::Status(416, _)) if have > 0 => {
                fs::remove_file(&self.part).map_err(self.io(&self.part))?;
                return Ok(Transfer::Broken(
                    "the server refused the resume range (416)".into(),
                ));
            }
            Err(ureq::Error::Status(status, _)) => {
                return Err(DownloadError::Http {
                    host: self.host.to_string(),
                    status,
                    url: self.url.to_string(),
                })
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(if have > 0 {
                    // Reached before, so the connection (not the machine) is the problem; the part stays.
                    DownloadError::Interrupted {
                        host: self.host.to_string(),
                        detail: format!("GET {}: {t}", self.url),
                    }
                } else {
                    DownloadError::Offline {
                        host: self.host.to_string(),
                        detail: format!("GET {}: {t}", self.url),
                    }
                });
            }
        };
        let length: Option<u64> = response
            .header("Content-Length")
            .and_then(|v| v.trim().parse().ok());
        let resumed = response.status() == 206;
        let start = if resumed {
            // `Content-Range: bytes START-END/TOTAL` must start where the part ends.
            let range = response.header("Content-Range").unwrap_or("");
            let (first, total) = parse_content_range(range).unwrap_or((u64::MAX, None));
            if first != have {
                fs::remove_file(&self.part).map_err(self.io(&self.part))?;
                return Ok(Transfer::Broken(format!(
                    "the server resumed at the wrong place ({range:?} for {have} bytes)"
                )));
            }
            if self.file.size.is_none() {
                tally.sizes[index] = total.or(length.map(|l| have + l));
            }
            have
        } else if response.status() == 200 {
            if self.file.size.is_none() {
                tally.sizes[index] = length;
            }
            0
        } else {
            return Err(DownloadError::Http {
                host: self.host.to_string(),
                status: response.status(),
                url: self.url.to_string(),
            });
        };
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(&self.part)
            .map_err(self.io(&self.part))?;
        let mut body = response.into_reader();
        let mut buf = vec![0u8; BUF];
        let mut got = 0u64;
        tally.report(self.name, start, true, report);
        let ended = loop {
            if self.cancel.load(Ordering::Relaxed) {
                out.flush().map_err(self.io(&self.part))?;
                tracing::info!(url = %self.url, bytes = start + got, "download cancelled; partial file kept");
                return Err(DownloadError::Cancelled);
            }
            let n = match body.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(e.to_string()),
            };
            out.write_all(&buf[..n]).map_err(self.io(&self.part))?;
            got += n as u64;
            tally.report(self.name, start + got, false, report);
        };
        out.sync_all().map_err(self.io(&self.part))?;
        if let Some(e) = ended {
            return Ok(Transfer::Broken(e));
        }
        if length.is_some_and(|l| got < l) {
            return Ok(Transfer::Broken(format!(
                "the connection closed after {got} of {} bytes",
                length.unwrap_or(0)
            )));
        }
        Ok(Transfer::Complete)
    }

    /// Checks the whole `.part` against the pinned size and sha256 and renames it into place; a mismatch
    /// deletes it.
    fn verify(&self) -> Result<()> {
        let mut f = File::open(&self.part).map_err(self.io(&self.part))?;
        let mut hasher = Sha256::new();
        // A git blob id hashes a header with the length before the bytes.
        let mut blob_hasher = self.file.git_blob.as_ref().map(|_| {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let mut h = Sha1::new();
            h.update(format!("blob {len}\0").as_bytes());
            h
        });
        let mut buf = vec![0u8; BUF];
        let mut len = 0u64;
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(DownloadError::Cancelled);
            }
            let n = f.read(&mut buf).map_err(self.io(&self.part))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if let Some(h) = blob_hasher.as_mut() {
                h.update(&buf[..n]);
            }
            len += n as u64;
        }
        drop(f);
        let discard = |e: DownloadError| -> DownloadError {
            if let Err(rm) = fs::remove_file(&self.part) {
                tracing::warn!(part = %self.part.display(), error = %rm, "could not delete a rejected download");
            }
            tracing::warn!(error = %e.details(), "download rejected");
            e
        };
        if let Some(expected) = self.file.size.filter(|&s| s != len) {
            return Err(discard(DownloadError::Size {
                file: self.target.clone(),
                expected,
                actual: len,
            }));
        }
        let (actual, expected) = match (&self.file.sha256, blob_hasher) {
            (Some(sha256), _) => (hex(&hasher.finalize()), sha256.clone()),
            (None, Some(h)) => (
                hex(&h.finalize()),
                self.file.git_blob.clone().unwrap_or_default(),
            ),
            (None, None) => (hex(&hasher.finalize()), String::new()),
        };
        if actual != expected {
            return Err(discard(DownloadError::Checksum {
                file: self.target.clone(),
                expected,
                actual,
            }));
        }
        fs::rename(&self.part, &self.target).map_err(self.io(&self.target))?;
        Ok(())
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL if given).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (first, _) = range.split_once('-')?;
    Some((first.trim().parse().ok()?, total.trim().parse().ok()))
}

/// The host named in an endpoint URL, for messages ("huggingface.co").
fn host_of(endpoint: &str) -> String {
    let rest = endpoint
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(endpoint);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_and_host_parse() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(host_of("https://huggingface.co"), "huggingface.co");
        assert_eq!(host_of("http://127.0.0.1:8080/mirror"), "127.0.0.1:8080");
    }

    #[test]
    fn messages_are_one_sentence_and_details_add_the_cause() {
        let e = DownloadError::Offline {
            host: "huggingface.co".into(),
            detail: "GET https://huggingface.co/x: Connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "Sift could not reach huggingface.co; check your internet connection and try again."
        );
        assert!(e.details().contains("Connection refused"));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
