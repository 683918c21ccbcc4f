//! "What the tray shows": one pure [`TrayModel`] computed from the engine's state and the folders' progress
//! ([`TrayModel::from_input`], unit-tested), rendered into the tray's tooltip and menu ([`Tray::render`]) by
//! `desktop.rs` whenever progress changes (throttled). The menu: a disabled status line, Show Sift, Quick
//! search, Pause/Resume indexing, Quit.

use serde::Serialize;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Runtime};

use crate::dto::{self, FolderState};

/// Menu item ids (what `on_menu_event` matches).
pub const STATUS_ID: &str = "tray-status";
pub const SHOW_ID: &str = "tray-show";
pub const QUICK_ID: &str = "tray-quick";
pub const PAUSE_ID: &str = "tray-pause";
pub const QUIT_ID: &str = "tray-quit";

/// What the tray model is computed from (see `Core::tray_input`).
#[derive(Debug, Clone, PartialEq)]
pub enum TrayInput {
    /// The engine is still opening.
    Starting,
    /// The engine could not open (the window's first-run screen says why).
    Failed,
    Ready {
        /// Folder rows as `list_folders` returns them.
        folders: Vec<dto::FolderInfo>,
        /// A pass is running or pending (and not paused).
        indexing: bool,
        paused: bool,
    },
}

/// The tray's contents; also what the `tray_state` command returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrayModel {
    /// The disabled first line of the menu: "Indexing 37 %", "Paused", "Up to date", "No folders yet".
    pub status: String,
    pub tooltip: String,
    /// "Pause indexing" or "Resume indexing".
    pub pause_label: String,
    /// Pausing means something only with folders and an open engine.
    pub pause_enabled: bool,
}

impl TrayModel {
    pub fn from_input(input: &TrayInput) -> TrayModel {
        let (status, paused, pause_enabled) = match input {
            TrayInput::Starting => ("Starting…".to_string(), false, false),
            TrayInput::Failed => ("Needs attention: open Sift".to_string(), false, false),
            TrayInput::Ready { folders, .. } if folders.is_empty() => {
                ("No folders yet".to_string(), false, false)
            }
            TrayInput::Ready {
                folders,
                indexing,
                paused,
            } => {
                let status = if *paused {
                    "Paused".to_string()
                } else if *indexing || folders.iter().any(busy) {
                    match percent(folders) {
                        Some(p) => format!("Indexing {p} %"),
                        None => "Indexing…".to_string(),
                    }
                } else {
                    "Up to date".to_string()
                };
                (status, *paused, true)
            }
        };
        TrayModel {
            tooltip: format!("Sift: {status}"),
            status,
            pause_label: if paused {
                "Resume indexing"
            } else {
                "Pause indexing"
            }
            .to_string(),
            pause_enabled,
        }
    }
}

fn busy(f: &dto::FolderInfo) -> bool {
    matches!(f.state, FolderState::Indexing | FolderState::Queued)
}

/// Files done over files known, across the folders in the pass; never 100 % while a pass runs, and `None`
/// while nothing is counted yet (scanning).
fn percent(folders: &[dto::FolderInfo]) -> Option<u64> {
    let in_pass = folders
        .iter()
        .filter(|f| busy(f) || f.state == FolderState::Paused);
    let (done, total) = in_pass.fold((0u64, 0u64), |(d, t), f| {
        (d + f.files_done.min(f.files_total), t + f.files_total)
    });
    (total > 0).then(|| (done * 100 / total).min(99))
}

/// One menu entry as rendered (for `tray_state`, so the end-to-end test reads the real menu).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuEntry {
    pub id: String,
    pub text: String,
    pub enabled: bool,
}

/// The tray icon and the menu items that change.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    status: MenuItem<R>,
    show: MenuItem<R>,
    quick: MenuItem<R>,
    pause: MenuItem<R>,
    quit: MenuItem<R>,
}

impl<R: Runtime> Tray<R> {
    /// Creates the tray icon with its menu. Fails where there is no tray host or library (the caller logs
    /// it and runs without a tray).
    pub fn create(app: &AppHandle<R>, model: &TrayModel) -> tauri::Result<Tray<R>> {
        let status = MenuItem::with_id(app, STATUS_ID, &model.status, false, None::<&str>)?;
        let show = MenuItem::with_id(app, SHOW_ID, "Show Sift", true, None::<&str>)?;
        let quick = MenuItem::with_id(app, QUICK_ID, "Quick search", true, None::<&str>)?;
        let pause = MenuItem::with_id(
            app,
            PAUSE_ID,
            &model.pause_label,
            model.pause_enabled,
            None::<&str>,
        )?;
        let quit = MenuItem::with_id(app, QUIT_ID, "Quit Sift", true, None::<&str>)?;
        let menu = Menu::with_items(
            app,
            &[
                &status,
                &PredefinedMenuItem::separator(app)?,
                &show,
                &quick,
                &pause,
                &PredefinedMenuItem::separator(app)?,
                &quit,
            ],
        )?;
        let mut builder = TrayIconBuilder::with_id("sift")
            .menu(&menu)
            .tooltip(&model.tooltip)
            .show_menu_on_left_click(true);
        if let Some(icon) = app.default_window_icon() {
            builder = builder.icon(icon.clone());
        }
        let icon = builder.build(app)?;
        Ok(Tray {
            icon,
            status,
            show,
            quick,
            pause,
            quit,
        })
    }

    /// Shows `model` in the tooltip and the menu.
    pub fn render(&self, model: &TrayModel) -> tauri::Result<()> {
        self.status.set_text(&model.status)?;
        self.pause.set_text(&model.pause_label)?;
        self.pause.set_enabled(model.pause_enabled)?;
        self.icon.set_tooltip(Some(&model.tooltip))
    }

    /// The menu as it is now.
    pub fn entries(&self) -> tauri::Result<Vec<MenuEntry>> {
        [
            &self.status,
            &self.show,
            &self.quick,
            &self.pause,
            &self.quit,
        ]
        .into_iter()
        .map(|item| {
            Ok(MenuEntry {
                id: item.id().0.clone(),
                text: item.text()?,
                enabled: item.is_enabled()?,
            })
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(state: FolderState, done: u64, total: u64) -> dto::FolderInfo {
        dto::FolderInfo {
            path: "/r".into(),
            files_total: total,
            files_done: done,
            failed: 0,
            state,
            eta_secs: None,
        }
    }

    fn ready(folders: Vec<dto::FolderInfo>, indexing: bool, paused: bool) -> TrayModel {
        TrayModel::from_input(&TrayInput::Ready {
            folders,
            indexing,
            paused,
        })
    }

    #[test]
    fn status_line_follows_the_engine() {
        let m = ready(Vec::new(), false, false);
        assert_eq!(m.status, "No folders yet");
        assert!(!m.pause_enabled, "nothing to pause without folders");
        let m = ready(vec![folder(FolderState::Idle, 8, 8)], false, false);
        assert_eq!(
            (m.status.as_str(), m.pause_label.as_str()),
            ("Up to date", "Pause indexing")
        );
        assert!(m.pause_enabled);
        assert_eq!(m.tooltip, "Sift: Up to date");
        let m = TrayModel::from_input(&TrayInput::Starting);
        assert_eq!((m.status.as_str(), m.pause_enabled), ("Starting…", false));
        let m = TrayModel::from_input(&TrayInput::Failed);
        assert!(m.status.starts_with("Needs attention"));
    }

    #[test]
    fn indexing_shows_the_share_of_files_done_over_every_folder_in_the_pass() {
        let m = ready(
            vec![
                folder(FolderState::Indexing, 30, 100),
                folder(FolderState::Queued, 7, 7),
                folder(FolderState::Idle, 500, 500),
            ],
            true,
            false,
        );
        // (30 + 7) of 107; the idle folder is not in the pass.
        assert_eq!(m.status, "Indexing 34 %");
        assert_eq!(m.tooltip, "Sift: Indexing 34 %");
        // Scanning: nothing counted yet.
        let m = ready(vec![folder(FolderState::Indexing, 0, 0)], true, false);
        assert_eq!(m.status, "Indexing…");
        // Never 100 % while the pass runs.
        let m = ready(vec![folder(FolderState::Indexing, 10, 10)], true, false);
        assert_eq!(m.status, "Indexing 99 %");
    }

    #[test]
    fn paused_wins_and_the_menu_offers_resume() {
        let m = ready(vec![folder(FolderState::Paused, 37, 100)], false, true);
        assert_eq!(m.status, "Paused");
        assert_eq!(m.pause_label, "Resume indexing");
        assert!(m.pause_enabled);
        let m = ready(vec![folder(FolderState::Idle, 1, 1)], false, true);
        assert_eq!(
            (m.status.as_str(), m.pause_label.as_str()),
            ("Paused", "Resume indexing")
        );
    }
}
