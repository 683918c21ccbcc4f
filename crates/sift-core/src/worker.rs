//! "Read this document in a process we can kill": document parsers (PDF, office, e-book, mail, web, RTF) run in
//! a child process, the *extraction worker*, so that a file that crashes, hangs or exhausts memory in a parser
//! costs that file, never the indexer, the app or the index.
//!
//! The worker is the host executable itself started with [`WORKER_ARG`] (the `sift` CLI and the app both check
//! for it first thing in `main` and call [`serve`]), so it ships with every build and needs no install step.
//! Parent and worker talk over the worker's stdin/stdout in frames (8-byte little-endian length + JSON):
//! one request (a path and the size limit), one reply (`Result<Extracted, ExtractError>`).
//!
//! Invariants, enforced here:
//! - The worker limits itself before reading anything: address space ([`Limits::memory_mb`], Linux; macOS has
//!   no working address-space limit and Windows needs a job object — there the parent's wall-clock timeout and
//!   the parsers' own caps bound it), no core dumps, lower CPU priority.
//! - The parent waits at most [`Limits::timeout_for`] per file, then kills the worker: the file is recorded as
//!   failed ("took too long") and not tried again until it changes.
//! - A worker that dies mid-file is restarted and the file retried once; a second death records the file as
//!   failed with the reason (out of memory, crashed) and it is not tried again until it changes (the indexer's
//!   quarantine of failed files).
//! - Plain text and code are decoded in process ([`crate::extract::needs_isolation`]): no parser runs there.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::extract::{self, ExtractError, ExtractOptions, Extracted};

/// The first argument that makes a Sift executable act as an extraction worker.
pub const WORKER_ARG: &str = "__sift-extract-worker";

/// Environment variable the parent sets for the worker: its address-space limit in MiB.
const MEMORY_ENV: &str = "SIFT_WORKER_MEMORY_MB";

/// Frames larger than this are refused (the text cap plus JSON escaping, with room to spare).
const MAX_FRAME: u64 = 512 * 1024 * 1024;

/// How a worker is started and bounded.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub limits: Limits,
}

impl WorkerCommand {
    /// This executable started as a worker, with default limits; `SIFT_EXTRACT_TIMEOUT_SECS` and
    /// `SIFT_EXTRACT_MEMORY_MB` override them (for tests and administrators).
    pub fn current_exe() -> std::io::Result<Self> {
        let mut limits = Limits::default();
        if let Some(secs) = env_u64("SIFT_EXTRACT_TIMEOUT_SECS") {
            limits.base_timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(mb) = env_u64("SIFT_EXTRACT_MEMORY_MB") {
            limits.memory_mb = mb.max(64);
        }
        Ok(WorkerCommand {
            program: std::env::current_exe()?,
            args: vec![WORKER_ARG.into()],
            limits,
        })
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Resource limits of one worker.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Address space of the worker process, in MiB (Linux).
    pub memory_mb: u64,
    /// Wall-clock time allowed for any file; larger files get [`Limits::per_mb`] more per MiB.
    pub base_timeout: Duration,
    pub per_mb: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mb: 2048,
            base_timeout: Duration::from_secs(60),
            per_mb: Duration::from_secs(1),
        }
    }
}

impl Limits {
    /// How long a file of `size` bytes may take.
    pub fn timeout_for(&self, size: u64) -> Duration {
        self.base_timeout + self.per_mb * u32::try_from(size / (1024 * 1024)).unwrap_or(u32::MAX)
    }
}

#[derive(Serialize, Deserialize)]
struct Request {
    path: WirePath,
    max_file_bytes: u64,
}

type Reply = std::result::Result<Extracted, ExtractError>;

/// A path as raw bytes (Unix) or UTF-16 units (Windows), so names that are not UTF-8 survive the trip.
#[derive(Serialize, Deserialize)]
struct WirePath(Vec<u16>, Vec<u8>);

impl WirePath {
    #[cfg(unix)]
    fn new(path: &Path) -> Self {
        use std::os::unix::ffi::OsStrExt;
        WirePath(Vec::new(), path.as_os_str().as_bytes().to_vec())
    }
    #[cfg(unix)]
    fn path(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(&self.1))
    }
    #[cfg(windows)]
    fn new(path: &Path) -> Self {
        use std::os::windows::ffi::OsStrExt;
        WirePath(path.as_os_str().encode_wide().collect(), Vec::new())
    }
    #[cfg(windows)]
    fn path(&self) -> PathBuf {
        use std::os::windows::ffi::OsStringExt;
        PathBuf::from(OsString::from_wide(&self.0))
    }
}

fn write_frame(w: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&(payload.len() as u64).to_le_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
fn read_frame(r: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 8];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u64::from_le_bytes(len);
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes"),
        ));
    }
    let mut buf = Vec::new();
    r.take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(buf))
}

/// The worker's main loop: limits itself, then answers requests until its input closes. Returns the exit code.
pub fn serve() -> i32 {
    let memory_mb = env_u64(MEMORY_ENV);
    limit_self(memory_mb);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut input = stdin.lock();
    let mut output = stdout.lock();
    loop {
        let frame = match read_frame(&mut input) {
            Ok(Some(f)) => f,
            Ok(None) => return 0,
            Err(e) => {
                eprintln!("sift extraction worker: bad request: {e}");
                return 2;
            }
        };
        let reply: Reply = match serde_json::from_slice::<Request>(&frame) {
            Ok(req) => {
                let path = req.path.path();
                crate::fault::worker_fault(&path);
                let options = ExtractOptions {
                    max_file_bytes: req.max_file_bytes,
                };
                std::panic::catch_unwind(|| extract::extract(&path, &options)).unwrap_or_else(
                    |_| {
                        Err(ExtractError::Failed(
                            "Sift hit an internal error reading this file".into(),
                        ))
                    },
                )
            }
            Err(e) => Err(ExtractError::Failed(format!("bad request: {e}"))),
        };
        let payload = match serde_json::to_vec(&reply) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("sift extraction worker: cannot encode reply: {e}");
                return 2;
            }
        };
        if write_frame(&mut output, &payload).is_err() {
            return 0; // the parent went away
        }
    }
}

#[cfg(unix)]
fn limit_self(memory_mb: Option<u64>) {
    // SAFETY: plain system calls on this process with valid, initialised arguments.
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        if let Some(mb) = memory_mb {
            let bytes = mb.saturating_mul(1024 * 1024) as libc::rlim_t;
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            #[cfg(target_os = "linux")]
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            #[cfg(not(target_os = "linux"))]
            libc::setrlimit(libc::RLIMIT_DATA, &limit);
        }
        // Reading documents must not slow the user's foreground work.
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(not(unix))]
fn limit_self(_memory_mb: Option<u64>) {}

/// A running worker: its stdin, the channel its replies arrive on, its stderr about the current file.
struct Running {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<std::io::Result<Option<Vec<u8>>>>,
    stderr_tail: Arc<Mutex<String>>,
}

impl Running {
    fn start(command: &WorkerCommand) -> std::io::Result<Self> {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .env(MEMORY_ENV, command.limits.memory_mb.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (stdin, stdout, stderr) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(i), Some(o), Some(e)) => (i, o, e),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(std::io::Error::other("worker pipes missing"));
                }
            };
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let frame = read_frame(&mut stdout);
                let end = !matches!(frame, Ok(Some(_)));
                if tx.send(frame).is_err() || end {
                    break;
                }
            }
        });
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        let tail = Arc::clone(&stderr_tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                tracing::warn!(target: "sift::worker", "{line}");
                if let Ok(mut t) = tail.lock() {
                    // What the worker said about the current file (cleared per request), bounded.
                    if t.len() < 4096 {
                        t.push_str(&line);
                        t.push('\n');
                    }
                }
            }
        });
        tracing::debug!(pid = child.id(), "extraction worker started");
        Ok(Running {
            child,
            stdin,
            replies,
            stderr_tail,
        })
    }

    /// Forgets what the worker wrote to stderr before the next file.
    fn clear_stderr(&self) {
        if let Ok(mut t) = self.stderr_tail.lock() {
            t.clear();
        }
    }

    /// Kills and reaps the worker; returns why it ended, for the file's reason.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let status = self.child.wait();
        // Let the stderr reader catch the last line.
        std::thread::sleep(Duration::from_millis(20));
        let tail = self
            .stderr_tail
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default();
        death_reason(status.ok(), &tail)
    }
}

/// A short reason for a worker that died.
fn death_reason(status: Option<std::process::ExitStatus>, stderr_tail: &str) -> String {
    if stderr_tail.contains("memory allocation") || stderr_tail.contains("out of memory") {
        return "needs more memory than Sift allows for reading one file".into();
    }
    #[cfg(unix)]
    if let Some(signal) = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)) {
        return match signal {
            libc::SIGKILL => {
                "the document reader was stopped (killed) while reading this file".into()
            }
            libc::SIGXCPU => "took too long to read".into(),
            _ => format!("the document reader crashed on this file (signal {signal})"),
        };
    }
    match status.and_then(|s| s.code()) {
        Some(code) => format!("the document reader crashed on this file (exit code {code})"),
        None => "the document reader crashed on this file".into(),
    }
}

/// Extracts documents through a worker process (started on first use, restarted after a death, killed on
/// drop), or in process when no worker command is given (library users and tests that do not isolate).
pub struct Extractor<'a> {
    command: Option<&'a WorkerCommand>,
    options: ExtractOptions,
    running: Option<Running>,
    /// Set when the pass is paused or cancelled: a file being read is abandoned (the worker is stopped).
    cancel: Option<&'a AtomicBool>,
}

/// How often a wait for the worker checks the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(200);

/// What happened to one attempt in the worker.
enum Attempt {
    Done(Reply),
    /// The worker died; the string says how.
    Died(String),
    TimedOut(Duration),
    /// The pass was cancelled while the worker read the file.
    Cancelled,
}

impl<'a> Extractor<'a> {
    pub fn new(command: Option<&'a WorkerCommand>, options: ExtractOptions) -> Self {
        Extractor {
            command,
            options,
            running: None,
            cancel: None,
        }
    }

    /// Abandons a file in the worker as soon as `cancel` is set (a pause must not wait for a slow file).
    pub fn cancelled_by(mut self, cancel: &'a AtomicBool) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// The text of `path`, or why not. Never panics; a parser's crash or hang is this file's failure.
    pub fn extract(&mut self, path: &Path, size: u64) -> Reply {
        let Some(command) = self.command.filter(|_| extract::needs_isolation(path)) else {
            return extract::extract(path, &self.options);
        };
        let mut last_death = String::new();
        for attempt in 1..=2 {
            match self.attempt(command, path, size, attempt) {
                Attempt::Done(reply) => return reply,
                Attempt::TimedOut(limit) => {
                    tracing::warn!(path = %path.display(), seconds = limit.as_secs(), "reading a file timed out; the worker was stopped");
                    return Err(ExtractError::Failed(format!(
                        "took too long to read (stopped after {} s)",
                        limit.as_secs()
                    )));
                }
                Attempt::Died(reason) => {
                    tracing::warn!(path = %path.display(), attempt, %reason, "the extraction worker died");
                    last_death = reason;
                }
                // The indexer drops what is read after a cancel; this is never recorded.
                Attempt::Cancelled => return Err(ExtractError::Failed("cancelled".into())),
            }
        }
        Err(ExtractError::Failed(last_death))
    }

    fn attempt(
        &mut self,
        command: &WorkerCommand,
        path: &Path,
        size: u64,
        attempt: u32,
    ) -> Attempt {
        let mut running = match self.running.take() {
            Some(r) => r,
            None => match Running::start(command) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(program = %command.program.display(), error = %e, "cannot start the extraction worker");
                    return Attempt::Done(Err(ExtractError::Failed(
                        "Sift could not start its document reader; reinstall Sift".into(),
                    )));
                }
            },
        };
        running.clear_stderr();
        // Test fault: the worker dies while this file is its job. Killed before the request is sent, so the
        // death is always seen on this file (killed after, a fast worker could answer first and the next
        // file would see it).
        if crate::fault::kill_worker(path, attempt) {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
        let request = Request {
            path: WirePath::new(path),
            max_file_bytes: self.options.max_file_bytes,
        };
        let sent = serde_json::to_vec(&request)
            .map_err(std::io::Error::other)
            .and_then(|payload| write_frame(&mut running.stdin, &payload));
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not send a file to the extraction worker");
            return Attempt::Died(running.stop());
        }
        let limit = command.limits.timeout_for(size);
        let deadline = Instant::now() + limit;
        let received = loop {
            let now = Instant::now();
            if now >= deadline {
                break Err(RecvTimeoutError::Timeout);
            }
            match running
                .replies
                .recv_timeout((deadline - now).min(CANCEL_POLL))
            {
                Err(RecvTimeoutError::Timeout) => {
                    if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        running.stop();
                        return Attempt::Cancelled;
                    }
                }
                other => break other,
            }
        };
        match received {
            Ok(Ok(Some(frame))) => {
                let reply = serde_json::from_slice::<Reply>(&frame).unwrap_or_else(|e| {
                    Err(ExtractError::Failed(format!(
                        "the document reader gave an unreadable answer: {e}"
                    )))
                });
                self.running = Some(running);
                Attempt::Done(reply)
            }
            Ok(_) | Err(RecvTimeoutError::Disconnected) => Attempt::Died(running.stop()),
            Err(RecvTimeoutError::Timeout) => {
                running.stop();
                Attempt::TimedOut(limit)
            }
        }
    }
}

impl Drop for Extractor<'_> {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            // Closing stdin ends the worker's loop; kill in case it is stuck.
            running.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_reject_oversized_lengths() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        write_frame(&mut buf, b"").unwrap();
        let mut r = std::io::Cursor::new(buf);
        assert_eq!(read_frame(&mut r).unwrap(), Some(b"hello".to_vec()));
        assert_eq!(read_frame(&mut r).unwrap(), Some(Vec::new()));
        assert_eq!(read_frame(&mut r).unwrap(), None);
        let mut huge = (MAX_FRAME + 1).to_le_bytes().to_vec();
        huge.extend_from_slice(b"x");
        assert!(read_frame(&mut std::io::Cursor::new(huge)).is_err());
        // A frame cut short is an error, not a short message.
        let mut cut = 10u64.to_le_bytes().to_vec();
        cut.extend_from_slice(b"abc");
        assert!(read_frame(&mut std::io::Cursor::new(cut)).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_survive_the_wire() {
        use std::os::unix::ffi::OsStrExt;
        let p = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9.html"));
        let wire: WirePath =
            serde_json::from_slice(&serde_json::to_vec(&WirePath::new(&p)).unwrap()).unwrap();
        assert_eq!(wire.path(), p);
    }

    #[test]
    fn timeouts_grow_with_size() {
        let l = Limits::default();
        assert_eq!(l.timeout_for(0), Duration::from_secs(60));
        assert_eq!(l.timeout_for(10 * 1024 * 1024), Duration::from_secs(70));
    }
}
