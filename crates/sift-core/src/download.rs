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

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{self, HubFile, HubOptions, ModelFiles, ModelSpec, Precision};

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
        (&spec.files.tokenizer, "tokenizer.json"),
        (onnx, model::local_onnx_name(precision)),
    ];
    for (file, _) in &jobs {
        if !file.is_pinned() {
            return Err(not_downloadable(format!(
                "{}: {} has no sha256",
                spec.id, file.path
            )));
        }
    }
    fs::create_dir_all(dir).map_err(|source| DownloadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let endpoint = hub.endpoint();
    let host = host_of(&endpoint);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .redirects(5)
        .user_agent(concat!("sift/", env!("CARGO_PKG_VERSION")))
        .build();

    let mut tally = Tally {
        model: spec.id.clone(),
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
    tracing::info!(model = %spec.id, %precision, dir = %dir.display(), endpoint = %endpoint,
        files = pending.len(), "downloading model");
    tally.report(jobs[0].1, 0, true, report);
    for i in pending {
        let (file, name) = jobs[i];
        let url = format!(
            "{endpoint}/{}/resolve/{revision}/{}",
            spec.hf_repo, file.path
        );
        let fetch = Fetch {
            agent: &agent,
            url: &url,
            host: &host,
            file,
            name,
            part: dir.join(format!("{name}.part")),
            target: dir.join(name),
            cancel,
        };
        fetch.run(i, &mut tally, report)?;
    }
    tally.report(jobs[jobs.len() - 1].1, 0, true, report);
    tracing::info!(model = %spec.id, "model downloaded and verified");
    Ok(ModelFiles {
        onnx: dir.join(model::local_onnx_name(precision)),
        tokenizer: dir.join("tokenizer.json"),
        precision,
        source: "downloaded",
    })
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
        let actual = hex(&hasher.finalize());
        let expected = self.file.sha256.clone().unwrap_or_default();
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
