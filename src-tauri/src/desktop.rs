//! "Sift as a desktop citizen": the tray (`tray.rs`), closing to the tray, the global shortcut and the
//! quick-search window, one instance at a time, and starting at login.
//!
//! - **Plugins**: `tauri-plugin-single-instance` (a second launch exits and shows the first one's window; on
//!   Linux over the D-Bus session bus, and without one each launch runs alone), `tauri-plugin-global-shortcut`
//!   and `tauri-plugin-autostart` (Linux: `~/.config/autostart/Sift.desktop`, started with [`HIDDEN_ARG`]).
//!   They are added only by the real app ([`wire`], [`start`]): the mock runtime of the IPC tests has no
//!   display or session bus, so there the commands report the shortcut and start at login as unavailable.
//! - **Nothing here can stop Sift from starting**: no tray host, a shortcut another app holds or no
//!   autostart support is logged and shown in the settings, and Sift carries on without it.
//! - **Windows**: `main` (from `tauri.conf.json`) and `quick` (created on first use: compact, centred,
//!   always on top, no taskbar entry, `ui/quick.html`), with its own capability file.
//! - **Settings**: `close_to_tray` and `shortcut` live in `desktop.json` in the data directory (the engine's
//!   `settings.json` is shared with the CLI, which has no use for them); `start_at_login` is the system's
//!   state, read each time.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tauri::{
    AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, Window, WindowEvent,
};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_global_shortcut::{GlobalShortcutExt as _, Modifiers, Shortcut, ShortcutState};

use crate::core::AppState;
use crate::dto::{self, AppError, ErrorKind};
use crate::tray::{self, Tray, TrayModel};

pub const MAIN_LABEL: &str = "main";
pub const QUICK_LABEL: &str = "quick";
/// Sent to the quick-search window each time it is shown (it focuses and selects its search box).
pub const QUICK_SHOWN_EVENT: &str = "sift://quick-shown";
pub const DEFAULT_SHORTCUT: &str = "CommandOrControl+Shift+Space";
/// Started with this argument (at login), Sift starts in the tray without showing its window.
pub const HIDDEN_ARG: &str = "--hidden";
const SETTINGS_FILE: &str = "desktop.json";
/// The tray is rendered at most this often.
const RENDER_INTERVAL: Duration = Duration::from_millis(500);
/// ...and at least this often (folders added, a pass queued: changes that send no progress event).
const REFRESH_INTERVAL: Duration = Duration::from_secs(3);
/// Focus lost this soon after quick search was shown does not hide it: while a window appears the focus may
/// go back and forth (seen without a window manager: in and out within a millisecond, twice).
const BLUR_GRACE: Duration = Duration::from_millis(500);
/// Pressing the shortcut to hide quick search first takes its focus (on X11 a key grab sends the focused
/// window a focus-out), which hides it; the press that follows within this time then leaves it hidden
/// rather than showing it again.
const TOGGLE_AFTER_BLUR: Duration = Duration::from_millis(400);

/// What `desktop.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Saved {
    pub close_to_tray: bool,
    pub shortcut: String,
}

impl Default for Saved {
    fn default() -> Saved {
        Saved {
            close_to_tray: true,
            shortcut: DEFAULT_SHORTCUT.to_string(),
        }
    }
}

impl Saved {
    /// The saved settings, or the defaults when there are none or the file cannot be read (logged).
    pub fn load(data_dir: &Path) -> Saved {
        let path = data_dir.join(SETTINGS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "desktop settings unreadable; using the defaults");
                Saved::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "desktop settings unreadable; using the defaults");
                Saved::default()
            }
        }
    }

    /// Writes the file (a temporary file renamed over it, so a crash never leaves half of one).
    pub fn save(&self, data_dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(SETTINGS_FILE);
        let tmp = data_dir.join(format!("{SETTINGS_FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}

/// Checks a shortcut the user typed: a key with at least one of Ctrl, Alt or Super/Cmd (Shift alone would
/// take a character away from every other app). Returns it trimmed.
pub fn validate_shortcut(text: &str) -> Result<(String, Shortcut), AppError> {
    let text = text.trim();
    let invalid = |why: &str| {
        AppError::new(
            ErrorKind::Other,
            format!("“{text}” is not a shortcut Sift can use; try one like Ctrl+Shift+Space"),
            format!("invalid shortcut {text:?}: {why}"),
        )
    };
    let shortcut = Shortcut::from_str(text).map_err(|e| invalid(&e.to_string()))?;
    if !shortcut
        .mods
        .intersects(Modifiers::CONTROL | Modifiers::ALT | Modifiers::SUPER | Modifiers::META)
    {
        return Err(invalid("needs Ctrl, Alt or Super/Cmd"));
    }
    Ok((text.to_string(), shortcut))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The desktop integration's state (managed by the app; see the module docs).
pub struct Desktop {
    data_dir: PathBuf,
    saved: Mutex<Saved>,
    tray: AtomicBool,
    shortcuts: AtomicBool,
    /// The shortcut registered now, if any.
    registered: Mutex<Option<Shortcut>>,
    shortcut_warning: Mutex<Option<String>>,
    /// Wakes the tray renderer.
    nudge: Mutex<Option<mpsc::Sender<()>>>,
    /// The quick-search window had the focus since it was last shown (losing it then hides the window).
    quick_focused: AtomicBool,
    /// When quick search was last shown (see [`BLUR_GRACE`]).
    quick_shown_at: Mutex<Option<Instant>>,
    /// When losing the focus last hid quick search (see [`TOGGLE_AFTER_BLUR`]).
    quick_blurred_at: Mutex<Option<Instant>>,
    /// Serialises settings changes.
    applying: Mutex<()>,
}

impl Desktop {
    pub fn new(data_dir: &Path) -> Desktop {
        Desktop {
            data_dir: data_dir.to_path_buf(),
            saved: Mutex::new(Saved::load(data_dir)),
            tray: AtomicBool::new(false),
            shortcuts: AtomicBool::new(false),
            registered: Mutex::new(None),
            shortcut_warning: Mutex::new(None),
            nudge: Mutex::new(None),
            quick_focused: AtomicBool::new(false),
            quick_shown_at: Mutex::new(None),
            quick_blurred_at: Mutex::new(None),
            applying: Mutex::new(()),
        }
    }

    /// A tray icon exists.
    pub fn has_tray(&self) -> bool {
        self.tray.load(Ordering::SeqCst)
    }

    /// Asks the tray to show the current state (throttled).
    pub fn nudge(&self) {
        if let Some(tx) = lock(&self.nudge).as_ref() {
            let _ = tx.send(());
        }
    }

    fn close_to_tray(&self) -> bool {
        lock(&self.saved).close_to_tray && self.has_tray()
    }
}

/// Adds what must be in place before the app is built: one instance at a time (first, so a second launch
/// exits before anything else starts) and the window events (close to tray, quick search hides on blur).
pub fn wire<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tracing::info!("Sift was started again; showing this instance's window");
            show_main(app);
        }))
        .on_window_event(on_window_event)
}

fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let app = window.app_handle();
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    match (window.label(), event) {
        (MAIN_LABEL, WindowEvent::CloseRequested { api, .. }) => {
            if desktop.close_to_tray() {
                api.prevent_close();
                if let Err(e) = window.hide() {
                    tracing::warn!(error = %e, "could not hide the window");
                }
            } else {
                // The hidden quick-search window would otherwise keep Sift running with no window.
                app.exit(0);
            }
        }
        (QUICK_LABEL, WindowEvent::CloseRequested { api, .. }) => {
            api.prevent_close();
            let _ = window.hide();
        }
        (QUICK_LABEL, WindowEvent::Focused(true)) => {
            tracing::debug!("quick search has the focus");
            desktop.quick_focused.store(true, Ordering::SeqCst)
        }
        (QUICK_LABEL, WindowEvent::Focused(false)) => {
            let settling =
                lock(&desktop.quick_shown_at).is_some_and(|at| at.elapsed() < BLUR_GRACE);
            // Hiding it (Esc, a file opened) also takes the focus: only a window still showing is hidden here.
            let showing = window.is_visible().unwrap_or(false);
            if desktop.quick_focused.swap(false, Ordering::SeqCst) && !settling && showing {
                tracing::debug!("quick search lost the focus; hiding it");
                *lock(&desktop.quick_blurred_at) = Some(Instant::now());
                let _ = window.hide();
            }
        }
        _ => {}
    }
}

/// Starts the desktop integration on a built app (before its event loop runs): the tray, the shortcut and
/// autostart plugins, and the thread that renders the tray and registers the shortcut.
pub fn start<R: Runtime>(app: &AppHandle<R>, core: AppState) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    let model = TrayModel::from_input(&core.tray_input());
    // On Linux the tray library is loaded at run time, and a missing one is a panic, not an error.
    let created =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Tray::create(app, &model)));
    match created {
        Ok(Ok(tray)) => {
            app.manage(tray);
            desktop.tray.store(true, Ordering::SeqCst);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "no tray icon (no tray on this desktop?); closing the window quits Sift")
        }
        Err(_) => tracing::warn!(
            "no tray icon: the tray library (libayatana-appindicator3) could not be loaded; closing the window quits Sift"
        ),
    }
    let menu_core = AppState::clone(&core);
    app.on_menu_event(move |app, event| on_menu(app, &menu_core, event.id().as_ref()));

    let shortcuts = tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, _shortcut, event| {
            if event.state == ShortcutState::Pressed {
                if let Err(e) = toggle_quick(app) {
                    tracing::warn!(error = %e, "could not show quick search");
                }
            }
        })
        .build();
    match app.plugin(shortcuts) {
        Ok(()) => desktop.shortcuts.store(true, Ordering::SeqCst),
        Err(e) => {
            tracing::warn!(error = %e, "global shortcuts are not available");
            *lock(&desktop.shortcut_warning) =
                Some("Global shortcuts are not available on this desktop.".into());
        }
    }
    let autostart = tauri_plugin_autostart::Builder::new()
        .args([HIDDEN_ARG])
        .build();
    if let Err(e) = app.plugin(autostart) {
        tracing::warn!(error = %e, "start at login is not available");
    }

    if desktop.has_tray() && std::env::args().any(|a| a == HIDDEN_ARG) {
        if let Some(main) = app.get_webview_window(MAIN_LABEL) {
            let _ = main.hide();
        }
    }

    let (tx, rx) = mpsc::channel();
    *lock(&desktop.nudge) = Some(tx);
    let handle = app.clone();
    let spawned = std::thread::Builder::new()
        .name("sift-desktop".into())
        .spawn(move || {
            // Registering waits for the event loop (the plugin runs it on the main thread), so it is done here.
            let shortcut = lock(&handle.state::<Desktop>().saved).shortcut.clone();
            register_shortcut(&handle, &shortcut);
            render_loop(&handle, &core, rx);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the tray thread; the tray will not follow indexing");
    }
}

/// Renders the tray when nudged (at most every [`RENDER_INTERVAL`]) or every [`REFRESH_INTERVAL`].
fn render_loop<R: Runtime>(app: &AppHandle<R>, core: &AppState, rx: mpsc::Receiver<()>) {
    let mut shown: Option<TrayModel> = None;
    let mut last = Instant::now() - RENDER_INTERVAL;
    loop {
        match rx.recv_timeout(REFRESH_INTERVAL) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let wait = RENDER_INTERVAL.saturating_sub(last.elapsed());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        while rx.try_recv().is_ok() {}
        if core.is_shut_down() {
            return;
        }
        let model = TrayModel::from_input(&core.tray_input());
        last = Instant::now();
        if shown.as_ref() == Some(&model) {
            continue;
        }
        if let Some(tray) = app.try_state::<Tray<R>>() {
            if let Err(e) = tray.render(&model) {
                tracing::warn!(error = %e, "could not update the tray");
                continue;
            }
        }
        shown = Some(model);
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, core: &AppState, id: &str) {
    match id {
        tray::SHOW_ID => show_main(app),
        tray::QUICK_ID => {
            if let Err(e) = show_quick(app) {
                tracing::warn!(error = %e, "could not show quick search");
            }
        }
        tray::PAUSE_ID => {
            if core.is_paused() {
                core.resume();
            } else {
                core.pause();
            }
            if let Some(d) = app.try_state::<Desktop>() {
                d.nudge();
            }
        }
        tray::QUIT_ID => app.exit(0),
        _ => {}
    }
}

/// Shows, unminimises and focuses the main window.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    let Some(main) = app.get_webview_window(MAIN_LABEL) else {
        return;
    };
    for (what, done) in [
        ("show", main.show()),
        ("unminimize", main.unminimize()),
        ("focus", main.set_focus()),
    ] {
        if let Err(e) = done {
            tracing::warn!(error = %e, "could not {what} the window");
        }
    }
}

/// Shows the quick-search window (creating it the first time), centred and focused.
pub fn show_quick<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let window = match app.get_webview_window(QUICK_LABEL) {
        Some(w) => w,
        None => WebviewWindowBuilder::new(app, QUICK_LABEL, WebviewUrl::App("quick.html".into()))
            .title("Sift quick search")
            .inner_size(640.0, 420.0)
            .resizable(false)
            .decorations(false)
            .always_on_top(true)
            .skip_taskbar(true)
            .visible(false)
            .center()
            .build()?,
    };
    if let Some(d) = app.try_state::<Desktop>() {
        d.quick_focused.store(false, Ordering::SeqCst);
        *lock(&d.quick_shown_at) = Some(Instant::now());
    }
    tracing::debug!("showing quick search");
    window.center()?;
    window.show()?;
    window.unminimize()?;
    window.set_focus()?;
    app.emit_to(QUICK_LABEL, QUICK_SHOWN_EVENT, ())?;
    Ok(())
}

/// Hides the quick-search window (Esc, a file opened).
pub fn hide_quick<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    match app.get_webview_window(QUICK_LABEL) {
        Some(w) => w.hide(),
        None => Ok(()),
    }
}

/// The shortcut: hides quick search when it is showing (or was hidden by the press itself, see
/// [`TOGGLE_AFTER_BLUR`]), shows it otherwise.
pub fn toggle_quick<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let just_blurred = app.try_state::<Desktop>().is_some_and(|d| {
        lock(&d.quick_blurred_at).is_some_and(|at| at.elapsed() < TOGGLE_AFTER_BLUR)
    });
    match app.get_webview_window(QUICK_LABEL) {
        Some(w) if w.is_visible()? => w.hide(),
        Some(_) if just_blurred => Ok(()),
        _ => show_quick(app),
    }
}

/// Replaces the registered shortcut with `text` (already validated); a failure becomes the warning shown in
/// the settings.
fn register_shortcut<R: Runtime>(app: &AppHandle<R>, text: &str) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    if !desktop.shortcuts.load(Ordering::SeqCst) {
        return;
    }
    let manager = app.global_shortcut();
    let mut registered = lock(&desktop.registered);
    if let Some(old) = registered.take() {
        if let Err(e) = manager.unregister(old) {
            tracing::warn!(error = %e, "could not release the previous shortcut");
        }
    }
    let warning = match validate_shortcut(text) {
        Err(e) => Some(e.message),
        Ok((_, shortcut)) => match manager.register(shortcut) {
            Ok(()) => {
                tracing::info!(shortcut = text, "quick search shortcut registered");
                *registered = Some(shortcut);
                None
            }
            Err(e) => {
                tracing::warn!(shortcut = text, error = %e, "could not register the quick search shortcut");
                Some(format!(
                    "{text} is taken by another app; choose another shortcut for quick search."
                ))
            }
        },
    };
    *lock(&desktop.shortcut_warning) = warning;
}

/// Start at login as the system has it; `None` where it cannot be set.
fn start_at_login<R: Runtime>(app: &AppHandle<R>) -> Option<bool> {
    app.try_state::<tauri_plugin_autostart::AutoLaunchManager>()?;
    match app.autolaunch().is_enabled() {
        Ok(on) => Some(on),
        Err(e) => {
            tracing::warn!(error = %e, "could not read whether Sift starts at login");
            None
        }
    }
}

/// The settings as the UI shows them.
pub fn settings<R: Runtime>(app: &AppHandle<R>) -> Result<dto::DesktopSettings, AppError> {
    let desktop = app.try_state::<Desktop>().ok_or_else(unavailable)?;
    let saved = lock(&desktop.saved).clone();
    let login = start_at_login(app);
    Ok(dto::DesktopSettings {
        close_to_tray: saved.close_to_tray,
        shortcut: saved.shortcut,
        start_at_login: login.unwrap_or(false),
        tray_available: desktop.has_tray(),
        start_at_login_available: login.is_some(),
        shortcut_warning: if desktop.shortcuts.load(Ordering::SeqCst) {
            lock(&desktop.shortcut_warning).clone()
        } else {
            Some("Global shortcuts are not available on this desktop.".into())
        },
    })
}

fn unavailable() -> AppError {
    AppError::new(
        ErrorKind::Other,
        "Sift's desktop settings are not available; restart Sift.",
        "the desktop state is not managed",
    )
}

/// Saves and applies edited settings: the shortcut is validated (nothing is saved when it is not a usable
/// shortcut), registered again when it changed, and start at login is switched to match.
pub fn apply<R: Runtime>(
    app: &AppHandle<R>,
    new: dto::DesktopSettings,
) -> Result<dto::DesktopSettings, AppError> {
    let desktop = app.try_state::<Desktop>().ok_or_else(unavailable)?;
    let _serial = lock(&desktop.applying);
    let (shortcut, _) = validate_shortcut(&new.shortcut)?;
    let next = Saved {
        close_to_tray: new.close_to_tray,
        shortcut,
    };
    let old = lock(&desktop.saved).clone();
    if next != old {
        next.save(&desktop.data_dir).map_err(|e| {
            AppError::new(
                ErrorKind::Other,
                "Sift could not save the settings; check that its data folder is writable.",
                format!("saving {SETTINGS_FILE}: {e:#}"),
            )
        })?;
        *lock(&desktop.saved) = next.clone();
    }
    if next.shortcut != old.shortcut || lock(&desktop.registered).is_none() {
        register_shortcut(app, &next.shortcut);
    }
    if let Some(on) = start_at_login(app) {
        if on != new.start_at_login {
            let manager = app.autolaunch();
            let done = if new.start_at_login {
                manager.enable()
            } else {
                manager.disable()
            };
            done.map_err(|e| {
                AppError::new(
                    ErrorKind::Other,
                    "Sift could not change whether it starts at login; check the log for why.",
                    format!("start at login: {e}"),
                )
            })?;
        }
    }
    settings(app)
}

/// What `tray_state` returns: the model and, when there is a tray, its menu as rendered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrayState {
    pub available: bool,
    pub model: TrayModel,
    pub menu: Vec<tray::MenuEntry>,
}

pub fn tray_state<R: Runtime>(app: &AppHandle<R>, core: &AppState) -> tauri::Result<TrayState> {
    let model = TrayModel::from_input(&core.tray_input());
    let menu = match app.try_state::<Tray<R>>() {
        Some(t) => t.entries()?,
        None => Vec::new(),
    };
    Ok(TrayState {
        available: !menu.is_empty(),
        model,
        menu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_need_a_real_modifier_and_a_known_key() {
        for ok in [DEFAULT_SHORTCUT, "Ctrl+Shift+Space", " Alt+K ", "Super+F2"] {
            let (text, _) = validate_shortcut(ok).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
            assert_eq!(text, ok.trim());
        }
        for bad in [
            "",
            "Space",
            "Shift+A",
            "Ctrl+Shift",
            "Ctrl+Nope",
            "Ctrl+A+B",
        ] {
            let e = validate_shortcut(bad).unwrap_err();
            assert!(
                e.message.contains("not a shortcut Sift can use"),
                "{bad}: {e:?}"
            );
            assert!(!e.message.contains('\n'));
        }
    }

    #[test]
    fn settings_file_round_trips_and_falls_back_to_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Saved::load(dir.path()), Saved::default());
        assert!(Saved::default().close_to_tray);
        let s = Saved {
            close_to_tray: false,
            shortcut: "Alt+K".into(),
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Saved::load(dir.path()), s);
        std::fs::write(dir.path().join(SETTINGS_FILE), b"{not json").unwrap();
        assert_eq!(Saved::load(dir.path()), Saved::default());
        // A file from an older version with fewer fields keeps the defaults for the rest.
        std::fs::write(dir.path().join(SETTINGS_FILE), br#"{"closeToTray": false}"#).unwrap();
        assert_eq!(
            Saved::load(dir.path()),
            Saved {
                close_to_tray: false,
                ..Saved::default()
            }
        );
    }
}
