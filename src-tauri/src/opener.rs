//! Opening a result with the system's default app, or showing it in the file manager.
//!
//! The caller (the `open_path` / `reveal_path` commands) has already checked that the path is a file in the
//! index, and asks [`refuse_to_open`] before opening: the system opener *runs* programs and scripts, so
//! executables (by extension, and on Unix any file with an execute bit) are never opened, only revealed.
//! This module only launches. For tests the launcher is swapped for a log: with `SIFT_OPEN_LOG` set,
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
                struct Line {
                    action: Action,
                    path: String,
                }
                let path = path.to_string_lossy().into_owned();
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

/// Extensions (lower case) of files that the system opener may execute, or hand to an interpreter or an
/// installer, instead of showing them: programs, scripts, installers and packages, shortcuts and launchers,
/// and documents whose default handler runs code.
pub const EXECUTABLE_EXTENSIONS: &[&str] = &[
    // Unix shells and launchers.
    "sh",
    "bash",
    "zsh",
    "fish",
    "ksh",
    "csh",
    "tcsh",
    "command",
    "tool",
    "run",
    "bin",
    "out",
    "desktop",
    "appimage",
    "flatpakref",
    "snap",
    // Windows programs and scripts.
    "exe",
    "com",
    "scr",
    "pif",
    "bat",
    "cmd",
    "ps1",
    "psm1",
    "psd1",
    "ps1xml",
    "psc1",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "wsc",
    "hta",
    "cpl",
    "msc",
    "msi",
    "msp",
    "mst",
    "msix",
    "msixbundle",
    "appx",
    "appxbundle",
    "application",
    "appref-ms",
    "gadget",
    "inf",
    "ins",
    "isp",
    "lnk",
    "url",
    "reg",
    "scf",
    "sct",
    "shb",
    "shs",
    "ws",
    "xbap",
    "vb",
    "dll",
    "sys",
    "drv",
    "ocx",
    "cab",
    "library-ms",
    "searchconnector-ms",
    "settingcontent-ms",
    "diagcab",
    "chm",
    // macOS.
    "app",
    "pkg",
    "mpkg",
    "dmg",
    "workflow",
    "action",
    "scpt",
    "scptd",
    "applescript",
    "osascript",
    "terminal",
    "webloc",
    "inetloc",
    "kext",
    "prefpane",
    "dylib",
    "plugin",
    // Packages and installers.
    "deb",
    "rpm",
    "apk",
    "ipa",
    "xpi",
    "crx",
    "vsix",
    "jar",
    "war",
    "ear",
    "jnlp",
    // Interpreted scripts a desktop may run with their interpreter.
    "py",
    "pyw",
    "pyz",
    "pyc",
    "pl",
    "pm",
    "rb",
    "php",
    "phar",
    "lua",
    "tcl",
    "awk",
    "r",
    "ahk",
    "au3",
    "mjs",
    "cjs",
    "elf",
    "so",
    "o",
    "ko",
];

/// Why `path` must not be opened with the system opener (one sentence for the user), or `None` when it may.
/// Reveal ("Show in folder") is always allowed.
pub fn refuse_to_open(path: &Path) -> Option<String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let executable_name = EXECUTABLE_EXTENSIONS.contains(&ext.as_str());
    if executable_name || has_execute_bit(path) {
        return Some(format!(
            "Sift does not open {name} because it could run as a program; use \"Show in folder\" instead."
        ));
    }
    None
}

#[cfg(unix)]
fn has_execute_bit(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // A file whose mode cannot be read is treated as executable: refusing is the safe answer.
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(true)
}

#[cfg(not(unix))]
fn has_execute_bit(_path: &Path) -> bool {
    false
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

    #[test]
    fn programs_and_scripts_are_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "run.sh",
            "Setup.EXE",
            "x.bat",
            "y.ps1",
            "z.command",
            "w.desktop",
            "v.AppImage",
            "u.jar",
            "t.py",
            "s.js",
            "r.lnk",
            "q.msi",
            "p.vbs",
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, "echo hi").unwrap();
            let msg = refuse_to_open(&p).unwrap_or_else(|| panic!("{name} would be opened"));
            assert!(
                msg.contains("Show in folder") && msg.contains(name),
                "{msg}"
            );
        }
        for name in ["notes.md", "report.txt", "data.csv", "README"] {
            let p = dir.path().join(name);
            std::fs::write(&p, "text").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
            assert_eq!(refuse_to_open(&p), None, "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_execute_bit_is_refused_whatever_the_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, "#!/bin/sh\nrm -rf ~\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(refuse_to_open(&p).is_some());
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
