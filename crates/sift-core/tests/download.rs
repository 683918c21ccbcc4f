//! The model downloader against a real HTTP server in the hub's layout (`support/hub_server.rs`): progress,
//! resume (within a call and across calls), redirects, checksum and size rejection, cancellation, offline.

#[path = "support/hub_server.rs"]
mod hub_server;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hub_server::HubServer;
use sha2::{Digest, Sha256};
use sift_core::download::{download_to, DownloadError, DownloadProgress};
use sift_core::model::{self, HubFile, HubOptions, ModelSpec, Precision};

const REPO: &str = "test-org/tiny-model";
const REV: &str = "0123456789abcdef0123456789abcdef01234567";
const ONNX: &str = "onnx/model.onnx";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic, incompressible-looking bytes.
fn bytes(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

struct Fixture {
    server: HubServer,
    spec: ModelSpec,
    tokenizer: Vec<u8>,
    onnx: Vec<u8>,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(onnx_len: usize) -> Fixture {
        let server = HubServer::start();
        let tokenizer = bytes(20_000, 1);
        let onnx = bytes(onnx_len, 2);
        server.add(REPO, REV, "tokenizer.json", tokenizer.clone());
        server.add(REPO, REV, ONNX, onnx.clone());
        let mut spec = model::spec("bge-small-en-v1.5").unwrap();
        spec.id = "tiny-model".into();
        spec.hf_repo = REPO.into();
        spec.revision = Some(REV.into());
        spec.files.tokenizer = HubFile {
            path: "tokenizer.json".into(),
            sha256: Some(sha256(&tokenizer)),
            size: Some(tokenizer.len() as u64),
            git_blob: None,
        };
        spec.files.fp32 = HubFile {
            path: ONNX.into(),
            sha256: Some(sha256(&onnx)),
            size: Some(onnx.len() as u64),
            git_blob: None,
        };
        Fixture {
            server,
            spec,
            tokenizer,
            onnx,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn hub(&self) -> HubOptions {
        HubOptions {
            endpoint: Some(self.server.endpoint.clone()),
            cache_dir: None,
        }
    }

    fn total(&self) -> u64 {
        (self.tokenizer.len() + self.onnx.len()) as u64
    }

    fn run(
        &self,
        cancel: &AtomicBool,
        on: &mut dyn FnMut(&DownloadProgress),
    ) -> Result<model::ModelFiles, DownloadError> {
        download_to(
            &self.spec,
            Precision::Fp32,
            &self.hub(),
            self.dir.path(),
            cancel,
            on,
        )
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn progress_rises_to_the_total_and_files_land_verified() {
    let f = Fixture::new(1_500_000);
    // Slow enough that the throttled reports come several times per file.
    f.server.slow(32 * 1024, Duration::from_millis(15));
    let mut events = Vec::new();
    let files = f
        .run(&AtomicBool::new(false), &mut |p| events.push(p.clone()))
        .unwrap();
    assert_eq!(files.onnx, f.path("model.onnx"));
    assert_eq!(files.tokenizer, f.path("tokenizer.json"));
    assert_eq!(read(&files.onnx), f.onnx);
    assert_eq!(read(&files.tokenizer), f.tokenizer);
    assert!(!f.path("model.onnx.part").exists());
    assert!(events.len() >= 5, "{events:?}");
    assert!(
        events.windows(2).all(|w| w[0].bytes <= w[1].bytes),
        "{events:?}"
    );
    assert!(events
        .iter()
        .all(|e| e.total == Some(f.total()) && e.model == "tiny-model"));
    // Some reports fall strictly inside the model file.
    assert!(events
        .iter()
        .any(|e| e.file == "model.onnx" && e.bytes > 20_000 && e.bytes < f.total()));
    let last = events.last().unwrap();
    assert_eq!(last.bytes, f.total());
    // Plain GETs of the pinned revision, nothing asked twice.
    let reqs = f.server.requests();
    let mut paths: Vec<_> = reqs
        .iter()
        .map(|r| (r.path.as_str(), r.range.is_some()))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            (format!("/{REPO}/resolve/{REV}/{ONNX}").as_str(), false),
            (
                format!("/{REPO}/resolve/{REV}/tokenizer.json").as_str(),
                false
            ),
        ]
    );
    // A second call finds everything in place and fetches nothing.
    let mut again = Vec::new();
    f.run(&AtomicBool::new(false), &mut |p| again.push(p.clone()))
        .unwrap();
    assert_eq!(f.server.requests().len(), 2);
    assert_eq!(again.last().map(|e| e.bytes), Some(f.total()));
}

#[test]
fn an_interrupted_file_resumes_with_a_range_through_the_redirect() {
    let f = Fixture::new(1_000_000);
    f.server.redirect_to_cdn(true);
    f.server.cut_first_request(REPO, REV, ONNX, 300_000);
    let mut events = Vec::new();
    let files = f
        .run(&AtomicBool::new(false), &mut |p| events.push(p.clone()))
        .unwrap();
    assert_eq!(read(&files.onnx), f.onnx);
    let served = f.server.requests_for(ONNX);
    let cdn = format!("/cdn/{REPO}/resolve/{REV}/{ONNX}");
    assert_eq!(
        served,
        [
            hub_server::Request {
                path: cdn.clone(),
                range: None,
                sent: 300_000,
                status: 200
            },
            hub_server::Request {
                path: cdn,
                range: Some("bytes=300000-".into()),
                sent: 700_000,
                status: 206
            },
        ]
    );
    // The redirect itself was asked with the range too.
    assert!(f.server.requests().iter().any(|r| r.status == 302
        && r.path.ends_with(ONNX)
        && r.range.as_deref() == Some("bytes=300000-")));
    assert_eq!(events.last().map(|e| e.bytes), Some(f.total()));
}

#[test]
fn a_server_that_ignores_the_range_makes_the_download_start_over() {
    let f = Fixture::new(400_000);
    std::fs::create_dir_all(f.dir.path()).unwrap();
    // A stale partial file with the wrong bytes.
    std::fs::write(f.path("model.onnx.part"), vec![0xAAu8; 100_000]).unwrap();
    f.server.ignore_range(true);
    let files = f.run(&AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(read(&files.onnx), f.onnx);
    let served = f.server.requests_for(ONNX);
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].range.as_deref(), Some("bytes=100000-"));
    assert_eq!(served[0].status, 200);
}

#[test]
fn a_checksum_mismatch_is_rejected_and_nothing_is_placed() {
    let mut f = Fixture::new(200_000);
    f.spec.files.fp32.sha256 = Some(sha256(b"something else"));
    let err = f.run(&AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(matches!(err, DownloadError::Checksum { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "A downloaded file did not match its published checksum and was deleted; try again."
    );
    assert!(
        err.details().contains(&sha256(&f.onnx)),
        "{}",
        err.details()
    );
    assert!(!f.path("model.onnx").exists());
    assert!(!f.path("model.onnx.part").exists());
    // The tokenizer, which matched, stays.
    assert_eq!(read(&f.path("tokenizer.json")), f.tokenizer);
}

#[test]
fn a_size_mismatch_is_rejected() {
    let mut f = Fixture::new(200_000);
    // The server has a different (longer) file than the one pinned.
    f.server.add(REPO, REV, ONNX, bytes(250_000, 2));
    let err = f.run(&AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::Size {
                expected: 200_000,
                actual: 250_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!f.path("model.onnx").exists() && !f.path("model.onnx.part").exists());
    f.spec.files.fp32.size = None; // sha256 alone still rejects it
    let err = f.run(&AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(matches!(err, DownloadError::Checksum { .. }), "{err:?}");
}

#[test]
fn cancel_keeps_the_partial_file_and_the_next_call_resumes_it() {
    let f = Fixture::new(2_000_000);
    f.server.slow(16 * 1024, Duration::from_millis(10));
    let cancel = AtomicBool::new(false);
    let err = f
        .run(&cancel, &mut |p| {
            if p.file == "model.onnx" && p.bytes > f.tokenizer.len() as u64 + 200_000 {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .unwrap_err();
    assert!(matches!(err, DownloadError::Cancelled), "{err:?}");
    let kept = std::fs::metadata(f.path("model.onnx.part")).unwrap().len();
    assert!(kept > 200_000 && kept < 2_000_000, "{kept}");
    assert_eq!(read(&f.path("model.onnx.part")), f.onnx[..kept as usize]);
    assert!(!f.path("model.onnx").exists());
    // Next try: resumes from the kept bytes.
    cancel.store(false, Ordering::Relaxed);
    let mut events = Vec::new();
    let files = f.run(&cancel, &mut |p| events.push(p.clone())).unwrap();
    assert_eq!(read(&files.onnx), f.onnx);
    let served = f.server.requests_for(ONNX);
    assert_eq!(served.len(), 2, "{served:?}");
    assert_eq!(served[1].range, Some(format!("bytes={kept}-")));
    assert_eq!(served[1].sent, 2_000_000 - kept);
    // The progress of the second call starts from what was already there.
    let tok = f.tokenizer.len() as u64;
    assert_eq!(events.first().map(|e| e.bytes), Some(tok));
    assert!(events.iter().any(|e| e.bytes == tok + kept), "{events:?}");
    assert_eq!(events.last().map(|e| e.bytes), Some(f.total()));
}

#[test]
fn offline_fails_with_one_clear_sentence() {
    let f = Fixture::new(1000);
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let hub = HubOptions {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        cache_dir: None,
    };
    let mut events = Vec::new();
    let err = download_to(
        &f.spec,
        Precision::Fp32,
        &hub,
        f.dir.path(),
        &AtomicBool::new(false),
        &mut |p| events.push(p.clone()),
    )
    .unwrap_err();
    assert!(matches!(err, DownloadError::Offline { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "Sift could not reach 127.0.0.1:{port}; check your internet connection and try again."
        )
    );
    assert!(
        err.details().contains("tokenizer.json"),
        "{}",
        err.details()
    );
    assert!(!f.path("tokenizer.json").exists());
    assert!(events.iter().all(|e| e.bytes == 0));
}

#[test]
fn http_errors_and_unpinned_models_are_refused() {
    let f = Fixture::new(1000);
    let mut missing = f.spec.clone();
    missing.files.fp32.path = "onnx/absent.onnx".into();
    let err = download_to(
        &missing,
        Precision::Fp32,
        &f.hub(),
        f.dir.path(),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, DownloadError::Http { status: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 404"), "{err}");

    let before = f.server.requests().len();
    let mut unpinned = f.spec.clone();
    unpinned.files.fp32.sha256 = None;
    let mut branch = f.spec.clone();
    branch.revision = Some("main".into());
    for spec in [unpinned, branch] {
        let err = download_to(
            &spec,
            Precision::Fp32,
            &f.hub(),
            f.dir.path(),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, DownloadError::NotDownloadable { .. }),
            "{err:?}"
        );
    }
    // No int8 variant published.
    let err = download_to(
        &f.spec,
        Precision::Int8,
        &f.hub(),
        f.dir.path(),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, DownloadError::NotDownloadable { .. }),
        "{err:?}"
    );
    assert_eq!(f.server.requests().len(), before, "nothing was requested");
}
