import { afterEach, describe, expect, it, vi } from "vitest";
import type { QuickApi, SearchRequest } from "../src/api";
import { mountQuick, QUICK_LIMIT, type QuickHandle } from "../src/quick";
import { makeResponse, makeResult } from "./fakeApi";

let quick: QuickHandle | null = null;
afterEach(() => {
  quick?.dispose();
  quick = null;
  document.body.replaceChildren();
});

function fakeQuick() {
  let shown: (() => void) | null = null;
  const api = {
    search: vi.fn(async (req: SearchRequest) =>
      makeResponse(req.query, [
        makeResult({ path: "/n/a.md", fileName: "a.md" }),
        makeResult({ path: "/n/b.md", fileName: "b.md" }),
        makeResult({ path: "/n/c.md", fileName: "c.md" }),
      ]),
    ),
    openPath: vi.fn(async (_path: string) => undefined),
    hide: vi.fn(async () => undefined),
    onShown: vi.fn(async (cb: () => void) => {
      shown = cb;
      return () => (shown = null);
    }),
  } satisfies QuickApi;
  return { api, fireShown: () => shown?.() };
}

function mount() {
  const f = fakeQuick();
  const root = document.body.appendChild(document.createElement("div"));
  quick = mountQuick(root, f.api, { delayMs: 0 });
  return { ...f, root, input: quick.input };
}

const press = (key: string) => document.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));

function type(input: HTMLInputElement, text: string) {
  input.value = text;
  input.dispatchEvent(new Event("input"));
}

describe("quick search window", () => {
  it("focuses the search box when shown and selects the last query", async () => {
    const { input, fireShown, api } = mount();
    expect(document.activeElement).toBe(input);
    await vi.waitFor(() => expect(api.onShown).toHaveBeenCalled());
    input.value = "old query";
    input.blur();
    fireShown();
    expect(document.activeElement).toBe(input);
    expect([input.selectionStart, input.selectionEnd]).toEqual([0, "old query".length]);
  });

  it("searches as you type with the compact limit and shows the results", async () => {
    const { input, api, root } = mount();
    type(input, "budget meeting");
    await vi.waitFor(() => expect(root.querySelectorAll(".result")).toHaveLength(3));
    expect(api.search).toHaveBeenCalledWith({ query: "budget meeting", limit: QUICK_LIMIT, folder: null, kinds: [] });
    expect(root.querySelector(".result.selected .result-name")!.textContent).toBe("a.md");
  });

  it("moves the selection with the arrows and opens the selected file with Enter, then hides", async () => {
    const { input, api, root } = mount();
    type(input, "notes");
    await vi.waitFor(() => expect(root.querySelectorAll(".result")).toHaveLength(3));
    press("ArrowDown");
    press("ArrowDown");
    press("ArrowUp");
    expect(root.querySelector(".result.selected .result-name")!.textContent).toBe("b.md");
    press("Enter");
    await vi.waitFor(() => expect(api.hide).toHaveBeenCalledTimes(1));
    expect(api.openPath).toHaveBeenCalledWith("/n/b.md");
  });

  it("Esc hides without opening anything", async () => {
    const { api } = mount();
    press("Escape");
    expect(api.hide).toHaveBeenCalledTimes(1);
    expect(api.openPath).not.toHaveBeenCalled();
  });

  it("keeps the window open with one sentence when a file cannot be opened", async () => {
    const { input, api, root } = mount();
    api.openPath.mockRejectedValueOnce({ kind: "other", message: "Sift only opens files it has indexed, and /n/a.md is not one of them.", details: "d" });
    type(input, "notes");
    await vi.waitFor(() => expect(root.querySelectorAll(".result")).toHaveLength(3));
    press("Enter");
    const note = root.querySelector<HTMLElement>("#quick-note")!;
    await vi.waitFor(() => expect(note.textContent).toContain("only opens files it has indexed"));
    expect(api.hide).not.toHaveBeenCalled();
  });

  it("says so when nothing matches, and clears with the query", async () => {
    const { input, api, root } = mount();
    api.search.mockResolvedValueOnce(makeResponse("zzz", []));
    type(input, "zzz");
    const note = root.querySelector<HTMLElement>("#quick-note")!;
    await vi.waitFor(() => expect(note.textContent).toBe("No matches."));
    type(input, "");
    expect(note.textContent).toBe("");
    expect(root.querySelectorAll(".result")).toHaveLength(0);
  });
});
