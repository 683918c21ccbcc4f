//! Opening a result with the system's default app, or showing it in the file manager.
//!
//! The caller (the `open_path` / `reveal_path` commands) has already checked that the path is a file in the
//! index; this module only launches. For tests the launcher is swapped for a log: with `SIFT_OPEN_LOG` set,
//! each request is appended to that file as one JSON line (`{"action":"open","path":"…"}`) and nothing runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// What to do with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Open the file with its default application.
    Open,
    /// Show the file in the file manager (its folder; selected where the platform supports it).
    Reveal,
}

/// How requests are carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opener {
    /// Launch the platform's opener (`xdg-open`, `open`, `explorer`).
    System,
    /// Append a JSON line per request to this file instead (tests).
    Log(PathBuf),
}

impl Opener {
    /// `Log` when `SIFT_OPEN_LOG` is set (and not empty), else `System`.
    pub fn from_env() -> Opener {
        match std::env::var_os("SIFT_OPEN_LOG").filter(|v| !v.is_empty()) {
            Some(path) => Opener::Log(PathBuf::from(path)),
            None => Opener::System,
        }
    }

    /// Carries out `action` on `path`. Returns once the launcher started; it does not wait for it.
    pub fn run(&self, action: Action, path: &Path) -> Result<()> {
        match self {
            Opener::Log(log) => {
                #[derive(Serialize)]
                struct Line<'a> {
                    action: Action,
                    path: &'a Path,
                }
                let mut line = serde_json::to_string(&Line { action, path })?;
                line.push('\n');
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .with_context(|| format!("opening the open log {}", log.display()))?;
                file.write_all(line.as_bytes())
                    .with_context(|| format!("writing the open log {}", log.display()))?;
                Ok(())
            }
            Opener::System => launch(&mut system_command(action, path)?),
        }
    }
}

fn launch(cmd: &mut Command) -> Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {program}"))?;
    // Reap it in the background so it does not linger as a zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(target_os = "macos")]
fn system_command(action: Action, path: &Path) -> Result<Command> {
    let mut cmd = Command::new("/usr/bin/open");
    if action == Action::Reveal {
        cmd.arg("-R");
    }
    // "--" so a path is never taken for an option.
    cmd.arg("--").arg(path);
    Ok(cmd)
}

#[cfg(windows)]
fn system_command(action: Action, path: &Path) -> Result<Command> {
    use std::os::windows::process::CommandExt;
    let mut cmd = Command::new("explorer.exe");
    match action {
        Action::Open => {
            cmd.arg(path);
        }
        Action::Reveal => {
            // explorer parses "/select,<path>" itself and needs the path quoted inside that one argument,
            // which Command's own quoting would not produce.
            let p = path.to_string_lossy();
            if p.contains('"') {
                bail!("cannot reveal a path containing a quote character");
            }
            cmd.raw_arg(format!("/select,\"{p}\""));
        }
    }
    Ok(cmd)
}

#[cfg(not(any(target_os = "macos", windows)))]
fn system_command(action: Action, path: &Path) -> Result<Command> {
    // xdg-open cannot select a file in the file manager: reveal opens the folder that holds it.
    let target = match action {
        Action::Open => path.to_path_buf(),
        Action::Reveal => match path.parent() {
            Some(parent) => parent.to_path_buf(),
            None => bail!("{} has no parent folder", path.display()),
        },
    };
    let mut cmd = Command::new("xdg-open");
    cmd.arg(target);
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_opener_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("open.log");
        let opener = Opener::Log(log.clone());
        opener.run(Action::Open, Path::new("/x/a b.txt")).unwrap();
        opener.run(Action::Reveal, Path::new("/x/ü.md")).unwrap();
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                serde_json::json!({"action": "open", "path": "/x/a b.txt"}),
                serde_json::json!({"action": "reveal", "path": "/x/ü.md"}),
            ]
        );
    }

    #[cfg(not(any(target_os = "macos", windows)))]
    #[test]
    fn reveal_opens_the_parent_folder() {
        let cmd = system_command(Action::Reveal, Path::new("/data/notes/a.md")).unwrap();
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, vec![std::ffi::OsStr::new("/data/notes")]);
        let cmd = system_command(Action::Open, Path::new("/data/notes/a.md")).unwrap();
        assert_eq!(
            cmd.get_args().collect::<Vec<_>>(),
            vec![std::ffi::OsStr::new("/data/notes/a.md")]
        );
    }
}
