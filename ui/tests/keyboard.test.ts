import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mountApp, type AppHandle } from "../src/app";
import { createFakeApi, makeFolder, makeResponse, makeResult, press, typeInto, type FakeApi } from "./fakeApi";

const PATHS = ["/home/u/Notes/one.md", "/home/u/Notes/two.md", "/home/u/Notes/three.md"];

describe("keyboard navigation", () => {
  let app: AppHandle;
  let api: FakeApi;
  let root: HTMLElement;
  let input: HTMLInputElement;

  const selectedPath = () => root.querySelector<HTMLElement>(".result.selected")?.dataset.path;

  beforeEach(async () => {
    vi.useFakeTimers();
    api = createFakeApi({
      folders: [makeFolder()],
      search: async (req) =>
        makeResponse(
          req.query,
          PATHS.map((p) => makeResult({ path: p, fileName: p.split("/").pop()! })),
        ),
    });
    root = document.body.appendChild(document.createElement("div"));
    app = mountApp(root, api, { pollMs: 0, mac: false });
    await app.ready;
    input = root.querySelector<HTMLInputElement>("#search")!;
    typeInto(input, "notes");
    await vi.advanceTimersByTimeAsync(150);
  });

  afterEach(() => {
    app.destroy();
    document.body.replaceChildren();
    vi.useRealTimers();
  });

  it("focuses the search box on open", () => {
    expect(document.activeElement).toBe(input);
  });

  it("selects the first result when results arrive", () => {
    expect(root.querySelectorAll(".result")).toHaveLength(3);
    expect(root.querySelectorAll(".result.selected")).toHaveLength(1);
    expect(selectedPath()).toBe(PATHS[0]);
    expect(input.getAttribute("aria-activedescendant")).toBe("result-0");
  });

  it("moves with ↑/↓ and clamps at both ends", () => {
    const down = press(input, "ArrowDown");
    expect(down.defaultPrevented).toBe(true);
    expect(selectedPath()).toBe(PATHS[1]);
    press(input, "ArrowDown");
    expect(selectedPath()).toBe(PATHS[2]);
    press(input, "ArrowDown");
    expect(selectedPath()).toBe(PATHS[2]);
    expect(root.querySelectorAll(".result.selected")).toHaveLength(1);

    press(input, "ArrowUp");
    press(input, "ArrowUp");
    press(input, "ArrowUp");
    expect(selectedPath()).toBe(PATHS[0]);
    expect(root.querySelector(".result.selected")!.getAttribute("aria-selected")).toBe("true");
  });

  it("Enter opens the selected result", () => {
    press(input, "ArrowDown");
    const e = press(input, "Enter");
    expect(e.defaultPrevented).toBe(true);
    expect(api.openPath).toHaveBeenCalledTimes(1);
    expect(api.openPath).toHaveBeenCalledWith(PATHS[1]);
    expect(api.revealPath).not.toHaveBeenCalled();
  });

  it("Ctrl+Enter reveals the selected result in its folder", () => {
    press(input, "ArrowDown");
    press(input, "ArrowDown");
    press(input, "Enter", { ctrlKey: true });
    expect(api.revealPath).toHaveBeenCalledWith(PATHS[2]);
    expect(api.openPath).not.toHaveBeenCalled();
  });

  it("Cmd+Enter reveals too (macOS)", () => {
    press(input, "Enter", { metaKey: true });
    expect(api.revealPath).toHaveBeenCalledWith(PATHS[0]);
  });

  it("clicking selects; the action buttons open and reveal", () => {
    const third = root.querySelectorAll<HTMLElement>(".result")[2];
    third.querySelector<HTMLElement>(".result-name")!.click();
    expect(selectedPath()).toBe(PATHS[2]);
    expect(api.openPath).not.toHaveBeenCalled();
    third.querySelector<HTMLButtonElement>('[data-action="open"]')!.click();
    expect(api.openPath).toHaveBeenCalledWith(PATHS[2]);
    third.querySelector<HTMLButtonElement>('[data-action="reveal"]')!.click();
    expect(api.revealPath).toHaveBeenCalledWith(PATHS[2]);
  });

  it("does not hijack Enter on other controls", () => {
    const add = root.querySelector<HTMLButtonElement>("#add-folder")!;
    add.focus();
    press(add, "Enter");
    expect(api.openPath).not.toHaveBeenCalled();
  });

  it("Escape clears the query and the results", () => {
    press(input, "Escape");
    expect(input.value).toBe("");
    expect(root.querySelectorAll(".result")).toHaveLength(0);
  });

  it("shows an error toast when opening fails", async () => {
    vi.mocked(api.openPath).mockRejectedValueOnce("path is not indexed");
    press(input, "Enter");
    await vi.advanceTimersByTimeAsync(0);
    const toast = root.querySelector<HTMLElement>("#toast")!;
    expect(toast.hidden).toBe(false);
    expect(toast.textContent).toContain("path is not indexed");
  });
});
