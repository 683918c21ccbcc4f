//! Helpers the `sift` binary's integration tests share: the command with a data directory, running it.
#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;
use std::process::Command;

/// `sift` with `data` as its data directory and warnings-only logs.
pub fn sift(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sift"));
    c.env("SIFT_DATA_DIR", data).env("SIFT_LOG", "warn");
    c
}

/// Runs a command that must succeed; returns (stdout, stderr).
pub fn run_ok(mut c: Command) -> (String, String) {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Runs `sift index DIR`, asserts it succeeded, and returns its stderr (the summary and the problem files).
pub fn index(data: &Path, dir: &Path) -> String {
    let mut c = sift(data);
    c.arg("index").arg(dir);
    run_ok(c).1
}

/// `sift status --json`.
pub fn status(data: &Path) -> serde_json::Value {
    let mut c = sift(data);
    c.args(["status", "--json"]);
    serde_json::from_str(&run_ok(c).0).unwrap()
}

/// A part the setup installs is missing (`msg` says which): a failure in CI, which runs the setup first,
/// a skip (said on stderr) elsewhere. Returns false so a test can `return` on it.
pub fn setup_part_missing(msg: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

/// Lets the child take Ctrl-C as in a terminal, even when the tests run where SIGINT is ignored (a
/// background job), which the child would inherit.
pub fn interruptible(c: &mut Command) {
    // SAFETY: `signal` is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(c, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
}

/// Presses Ctrl-C in the child's terminal (sends it SIGINT).
pub fn ctrl_c(child: &std::process::Child) {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
}
