// The desktop section of the settings sheet: close to the tray, the quick-search shortcut (typed, or recorded
// by pressing it), start at login. Saved through its own commands (desktop.rs); a shortcut another app holds
// comes back as a one-sentence warning shown here.

import type { DesktopApi, DesktopSettings } from "./api";
import { h } from "./dom";
import { errorMessage } from "./errors";
import type { SettingsSection } from "./settings";

const MODIFIER_KEYS = new Set(["Control", "Shift", "Alt", "Meta", "OS", "AltGraph"]);

/** Names of `KeyboardEvent.code` values that are not "KeyX"/"DigitN"/"Fn"; the backend parses these. */
const NAMED_CODES: Record<string, string> = {
  Space: "Space",
  Enter: "Enter",
  Tab: "Tab",
  Backquote: "Backquote",
  Minus: "Minus",
  Equal: "Equal",
  BracketLeft: "BracketLeft",
  BracketRight: "BracketRight",
  Backslash: "Backslash",
  Semicolon: "Semicolon",
  Quote: "Quote",
  Comma: "Comma",
  Period: "Period",
  Slash: "Slash",
  ArrowUp: "ArrowUp",
  ArrowDown: "ArrowDown",
  ArrowLeft: "ArrowLeft",
  ArrowRight: "ArrowRight",
  Home: "Home",
  End: "End",
  PageUp: "PageUp",
  PageDown: "PageDown",
  Insert: "Insert",
  Delete: "Delete",
};

/**
 * The shortcut a key press stands for, in the backend's syntax ("CommandOrControl+Shift+Space"), or null
 * for a press that cannot be one: a modifier alone, or no Ctrl/Alt/Cmd (Shift alone would take a character
 * away from every other app). Ctrl on Linux/Windows and Cmd on macOS are written "CommandOrControl".
 */
export function shortcutFromKeyEvent(
  e: Pick<KeyboardEvent, "key" | "code" | "ctrlKey" | "altKey" | "shiftKey" | "metaKey">,
  mac: boolean,
): string | null {
  if (MODIFIER_KEYS.has(e.key)) return null;
  let key: string | null = null;
  if (/^Key[A-Z]$/.test(e.code)) key = e.code.slice(3);
  else if (/^Digit[0-9]$/.test(e.code)) key = e.code.slice(5);
  else if (/^F([1-9]|1[0-9]|2[0-4])$/.test(e.code)) key = e.code;
  else key = NAMED_CODES[e.code] ?? null;
  if (!key) return null;
  const primary = mac ? e.metaKey : e.ctrlKey;
  const other = mac ? e.ctrlKey : e.metaKey;
  if (!primary && !other && !e.altKey) return null;
  const parts: string[] = [];
  if (primary) parts.push("CommandOrControl");
  if (other) parts.push(mac ? "Control" : "Super");
  if (e.altKey) parts.push("Alt");
  if (e.shiftKey) parts.push("Shift");
  parts.push(key);
  return parts.join("+");
}

/** How a shortcut reads for people: "Ctrl+Shift+Space" (or "⌘+Shift+Space" on macOS). */
export function describeShortcut(shortcut: string, mac: boolean): string {
  return shortcut
    .split("+")
    .map((p) => (/^(CommandOrControl|CmdOrCtrl|CommandOrCtrl|CmdOrControl)$/i.test(p) ? (mac ? "⌘" : "Ctrl") : p))
    .join("+");
}

export class DesktopSection implements SettingsSection {
  readonly element: HTMLElement;
  readonly closeToTray: HTMLInputElement;
  readonly shortcut: HTMLInputElement;
  readonly startAtLogin: HTMLInputElement;
  readonly warning: HTMLElement;
  private readonly trayNote: HTMLElement;
  private loaded: DesktopSettings | null = null;

  constructor(
    private readonly api: DesktopApi,
    private readonly mac = false,
  ) {
    this.closeToTray = h("input", { id: "setting-close-to-tray", attrs: { type: "checkbox", name: "closeToTray" } });
    this.startAtLogin = h("input", { id: "setting-start-at-login", attrs: { type: "checkbox", name: "startAtLogin" } });
    this.shortcut = h("input", {
      id: "setting-shortcut",
      attrs: { type: "text", name: "shortcut", spellcheck: "false", autocomplete: "off", placeholder: "CommandOrControl+Shift+Space" },
    });
    this.warning = h("p", { id: "shortcut-warning", class: "field-note warning", hidden: true, attrs: { role: "alert" } });
    this.trayNote = h("p", { class: "field-note", hidden: true, text: "This desktop shows no tray icons, so closing the window quits Sift." });
    // Pressing a combination records it; plain typing edits the text.
    this.shortcut.addEventListener("keydown", (e) => {
      const s = shortcutFromKeyEvent(e, this.mac);
      if (!s) return;
      e.preventDefault();
      e.stopPropagation();
      this.shortcut.value = s;
    });
    this.element = h(
      "div",
      { id: "desktop-settings", class: "field" },
      h("label", { text: "Quick search shortcut", attrs: { for: "setting-shortcut" } }),
      this.shortcut,
      h("p", { class: "field-note", text: `Press it anywhere to search; ${describeShortcut("CommandOrControl+Shift+Space", mac)} by default. Click the box and press a combination to change it.` }),
      this.warning,
      h("label", { class: "check" }, this.closeToTray, " Keep indexing in the tray when the window is closed"),
      this.trayNote,
      h("label", { class: "check" }, this.startAtLogin, " Start Sift when I log in"),
    );
  }

  async load(): Promise<void> {
    this.fill(await this.api.getDesktopSettings());
  }

  fill(s: DesktopSettings): void {
    this.loaded = s;
    this.closeToTray.checked = s.closeToTray;
    this.closeToTray.disabled = s.trayAvailable === false;
    this.trayNote.hidden = s.trayAvailable !== false;
    this.shortcut.value = s.shortcut;
    this.startAtLogin.checked = s.startAtLogin;
    this.startAtLogin.disabled = s.startAtLoginAvailable === false;
    this.showWarning(s.shortcutWarning ?? null);
  }

  collect(): DesktopSettings | null {
    if (!this.loaded) return null;
    return {
      ...this.loaded,
      closeToTray: this.closeToTray.checked,
      shortcut: this.shortcut.value.trim(),
      startAtLogin: this.startAtLogin.checked,
    };
  }

  async save(): Promise<string | null> {
    const s = this.collect();
    if (!s) return null;
    if (!s.shortcut) throw new Error("Enter a shortcut for quick search, like Ctrl+Shift+Space.");
    try {
      this.fill(await this.api.setDesktopSettings(s));
    } catch (err) {
      throw new Error(errorMessage(err));
    }
    return this.loaded?.shortcutWarning ?? null;
  }

  private showWarning(text: string | null): void {
    this.warning.textContent = text ?? "";
    this.warning.hidden = !text;
  }
}
