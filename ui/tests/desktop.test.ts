import { afterEach, describe, expect, it, vi } from "vitest";
import type { DesktopApi, DesktopSettings } from "../src/api";
import { mountApp, type AppHandle } from "../src/app";
import { describeShortcut, shortcutFromKeyEvent } from "../src/desktop";
import { createFakeApi, makeFolder } from "./fakeApi";

const key = (over: Partial<KeyboardEvent>) => ({ key: "", code: "", ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...over });

describe("shortcutFromKeyEvent", () => {
  it("records a combination in the backend's syntax", () => {
    expect(shortcutFromKeyEvent(key({ key: " ", code: "Space", ctrlKey: true, shiftKey: true }), false)).toBe("CommandOrControl+Shift+Space");
    expect(shortcutFromKeyEvent(key({ key: " ", code: "Space", metaKey: true, shiftKey: true }), true)).toBe("CommandOrControl+Shift+Space");
    expect(shortcutFromKeyEvent(key({ key: "k", code: "KeyK", altKey: true }), false)).toBe("Alt+K");
    expect(shortcutFromKeyEvent(key({ key: "F2", code: "F2", metaKey: true }), false)).toBe("Super+F2");
    expect(shortcutFromKeyEvent(key({ key: "7", code: "Digit7", ctrlKey: true, altKey: true }), false)).toBe("CommandOrControl+Alt+7");
  });

  it("ignores presses that cannot be a global shortcut", () => {
    expect(shortcutFromKeyEvent(key({ key: "Control", code: "ControlLeft", ctrlKey: true }), false)).toBeNull();
    expect(shortcutFromKeyEvent(key({ key: "a", code: "KeyA" }), false)).toBeNull();
    expect(shortcutFromKeyEvent(key({ key: "A", code: "KeyA", shiftKey: true }), false)).toBeNull();
    expect(shortcutFromKeyEvent(key({ key: "Dead", code: "IntlRo", ctrlKey: true }), false)).toBeNull();
  });

  it("reads CommandOrControl as the platform's key", () => {
    expect(describeShortcut("CommandOrControl+Shift+Space", false)).toBe("Ctrl+Shift+Space");
    expect(describeShortcut("CommandOrControl+Shift+Space", true)).toBe("⌘+Shift+Space");
  });
});

function fakeDesktop(over: Partial<DesktopSettings> = {}, onSet?: (s: DesktopSettings) => DesktopSettings): DesktopApi & { saved: DesktopSettings[] } {
  let current: DesktopSettings = {
    closeToTray: true,
    shortcut: "CommandOrControl+Shift+Space",
    startAtLogin: false,
    trayAvailable: true,
    startAtLoginAvailable: true,
    shortcutWarning: null,
    ...over,
  };
  const saved: DesktopSettings[] = [];
  return {
    saved,
    getDesktopSettings: vi.fn(async () => ({ ...current })),
    setDesktopSettings: vi.fn(async (s: DesktopSettings) => {
      saved.push(s);
      current = onSet ? onSet(s) : { ...s };
      return { ...current };
    }),
  };
}

let app: AppHandle | null = null;
afterEach(() => {
  app?.destroy();
  app = null;
  document.body.replaceChildren();
});

async function mountWith(desktop: DesktopApi) {
  const api = createFakeApi({ folders: [makeFolder()] });
  const root = document.body.appendChild(document.createElement("div"));
  app = mountApp(root, api, { pollMs: 0, desktop });
  await app.ready;
  root.querySelector<HTMLButtonElement>("#open-settings")!.click();
  const shortcut = root.querySelector<HTMLInputElement>("#setting-shortcut")!;
  await vi.waitFor(() => expect(shortcut.value).not.toBe(""));
  return { api, root, shortcut, q: <T extends Element = HTMLElement>(s: string) => root.querySelector<T>(s)! };
}

describe("desktop settings in the settings sheet", () => {
  it("shows and saves close to tray, the shortcut (recorded by pressing it) and start at login", async () => {
    const desktop = fakeDesktop();
    const { api, shortcut, q } = await mountWith(desktop);
    expect(shortcut.value).toBe("CommandOrControl+Shift+Space");
    expect(q<HTMLInputElement>("#setting-close-to-tray").checked).toBe(true);
    expect(q<HTMLInputElement>("#setting-start-at-login").checked).toBe(false);
    shortcut.dispatchEvent(new KeyboardEvent("keydown", { key: "k", code: "KeyK", altKey: true, bubbles: true, cancelable: true }));
    expect(shortcut.value).toBe("Alt+K");
    q<HTMLInputElement>("#setting-close-to-tray").checked = false;
    q<HTMLInputElement>("#setting-start-at-login").checked = true;
    q<HTMLButtonElement>("#settings-save").click();
    await vi.waitFor(() => expect(desktop.saved).toHaveLength(1));
    expect(desktop.saved[0]).toMatchObject({ closeToTray: false, shortcut: "Alt+K", startAtLogin: true });
    expect(api.setSettings).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(q("#settings").hidden).toBe(true));
  });

  it("keeps the sheet open with a one-sentence warning when another app holds the shortcut", async () => {
    const desktop = fakeDesktop({}, (s) => ({ ...s, shortcutWarning: `${s.shortcut} is taken by another app; choose another shortcut for quick search.` }));
    const { shortcut, q } = await mountWith(desktop);
    expect(q("#shortcut-warning").hidden).toBe(true);
    shortcut.value = "Ctrl+Alt+T";
    q<HTMLButtonElement>("#settings-save").click();
    await vi.waitFor(() => expect(q("#shortcut-warning").hidden).toBe(false));
    expect(q("#shortcut-warning").textContent).toBe("Ctrl+Alt+T is taken by another app; choose another shortcut for quick search.");
    expect(q("#settings").hidden).toBe(false);
  });

  it("shows the backend's sentence for a shortcut it refuses, and saves nothing else twice", async () => {
    const desktop = fakeDesktop();
    vi.mocked(desktop.setDesktopSettings).mockRejectedValueOnce({ kind: "other", message: "“Shift+A” is not a shortcut Sift can use; try one like Ctrl+Shift+Space.", details: "x" });
    const { shortcut, q } = await mountWith(desktop);
    shortcut.value = "Shift+A";
    q<HTMLButtonElement>("#settings-save").click();
    const error = q("#settings-error");
    await vi.waitFor(() => expect(error.hidden).toBe(false));
    expect(error.textContent).toContain("is not a shortcut Sift can use");
    expect(q("#settings").hidden).toBe(false);
  });

  it("disables what this desktop cannot do", async () => {
    const { q } = await mountWith(fakeDesktop({ trayAvailable: false, startAtLoginAvailable: false }));
    expect(q<HTMLInputElement>("#setting-close-to-tray").disabled).toBe(true);
    expect(q<HTMLInputElement>("#setting-start-at-login").disabled).toBe(true);
    expect(q("#desktop-settings").textContent).toContain("closing the window quits Sift");
  });
});
