// Errors never break the layout and are one sentence with details behind a button; the first-run screen; and
// the UI details from the same test (search errors kept, "No matches" hints, pause button, progress bar,
// result actions, passage measure).
//
// jsdom cannot lay out, so the layout tests load the real styles.css into the document and check the computed
// properties that keep a long text from widening the page (one grid column of minmax(0, 1fr), ellipsis on a
// nowrap line, min-width: 0 down the flex chain) and that the visible text is cut.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AppError } from "../src/api";
import { mountApp, type AppHandle } from "../src/app";
import { MAX_ERROR_CHARS, errorMessage, oneSentence } from "../src/errors";
import { createFakeApi, deferred, flush, makeFolder, makeResponse, makeResult, typeInto, type FakeApi, type FakeOptions } from "./fakeApi";

const css = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../src/styles.css"), "utf8");

let app: AppHandle | null = null;
let writeText: ReturnType<typeof vi.fn>;

beforeEach(() => {
  const style = document.createElement("style");
  style.textContent = css;
  document.head.append(style);
  writeText = vi.fn(async () => {});
  Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
});

afterEach(() => {
  app?.destroy();
  app = null;
  document.body.replaceChildren();
  document.head.replaceChildren();
  vi.useRealTimers();
});

async function mount(opts: FakeOptions = {}, setup?: (api: FakeApi) => void): Promise<{ api: FakeApi; root: HTMLElement }> {
  const api = createFakeApi(opts);
  setup?.(api);
  const root = document.body.appendChild(document.createElement("div"));
  app = mountApp(root, api, { pollMs: 0, debounceMs: 0 });
  await app.ready;
  return { api, root };
}

const q = <T extends Element = HTMLElement>(root: ParentNode, sel: string) => root.querySelector<T>(sel)!;

/** A 1,000-character error: one unbroken path, as the issue saw (and a second line that must not show). */
const LONG_PATH = "/home/u/" + "a".repeat(1000 - 8);
const longError = (kind: AppError["kind"] = "other"): AppError => ({
  kind,
  message: `Could not read ${LONG_PATH}`,
  details: `could not read ${LONG_PATH}: permission denied\ncaused by: os error 13`,
});

/** The computed properties that keep `el`'s text from widening the page. */
function expectCannotWiden(el: HTMLElement, root: HTMLElement): void {
  const s = getComputedStyle(el);
  const oneLine = s.whiteSpace === "nowrap" && s.overflow === "hidden" && s.textOverflow === "ellipsis";
  const wraps = s.overflowWrap === "anywhere";
  expect(oneLine || wraps, `${el.className}: nowrap+ellipsis or overflow-wrap: anywhere`).toBe(true);
  // Every flex item between the text and the app may shrink below its content.
  for (let node: HTMLElement | null = el; node && node !== root; node = node.parentElement) {
    const parent = node.parentElement;
    if (!parent) break;
    const ps = getComputedStyle(parent);
    const display = ps.display;
    if (display === "flex" || display === "inline-flex") {
      const ns = getComputedStyle(node);
      if (ps.flexDirection.startsWith("column")) {
        // In a column the width is the container's (stretch) or capped by it.
        const stretched = ["", "normal", "stretch"].includes(ps.alignItems) && ["", "auto", "normal", "stretch"].includes(ns.alignSelf);
        expect(stretched || ns.maxWidth.includes("100%"), `${node.tagName}.${node.className} in a flex column needs max-width: 100%`).toBe(true);
      } else {
        const shrinks = ns.minWidth === "0" || ns.minWidth === "0px" || ns.overflow === "hidden";
        expect(shrinks, `${node.tagName}.${node.className} in a flex row needs min-width: 0`).toBe(true);
      }
    }
    if (display === "grid") {
      expect(getComputedStyle(parent).gridTemplateColumns, `${parent.className} columns`).toContain("minmax(0");
    }
  }
  // The page itself: one column that cannot grow past the window.
  const rs = getComputedStyle(root);
  expect(rs.gridTemplateColumns).toBe("minmax(0, 1fr)");
  expect(rs.overflow).toBe("hidden");
  // And the visible text is cut to one sentence.
  expect(el.textContent!.length).toBeLessThanOrEqual(MAX_ERROR_CHARS);
  expect(el.textContent).not.toContain("\n");
}

describe("a 1,000-character error", () => {
  it("in the status bar is one cut line with its details behind Copy details", async () => {
    const err = longError();
    const { root } = await mount({ folders: [makeFolder()] }, (api) => vi.mocked(api.status).mockRejectedValue(err));
    const message = q(root, "#status-line .error-message");
    expectCannotWiden(message, root);
    expect(message.textContent!.endsWith("…")).toBe(true);
    expect(message.title).toContain("Could not read /home/u/aaa");
    q<HTMLButtonElement>(root, "#status-line .copy-details").click();
    await vi.waitFor(() => expect(writeText).toHaveBeenCalledWith(err.details));
    await vi.waitFor(() => expect(q(root, "#status-line .copy-details").textContent).toBe("Copied"));
  });

  it("in a toast is one line, not ten", async () => {
    const tenLines = Array.from({ length: 10 }, (_, i) => `line ${i}: ${"x".repeat(90)}`).join("\n");
    const { api, root } = await mount({ folders: [] });
    vi.mocked(api.addFolders).mockRejectedValueOnce(tenLines);
    api.emitDrop({ type: "drop", paths: ["/x/Docs"] });
    const toast = q(root, "#toast");
    await vi.waitFor(() => expect(toast.hidden).toBe(false));
    const lines = toast.querySelectorAll<HTMLElement>(".error-message");
    expect(lines).toHaveLength(1);
    expect(lines[0].textContent!.startsWith("Could not add Docs: line 0:")).toBe(true);
    expect(lines[0].textContent).not.toContain("line 1");
    expectCannotWiden(lines[0], root);
    q<HTMLButtonElement>(toast, ".copy-details").click();
    await vi.waitFor(() => expect(writeText).toHaveBeenCalledWith(tenLines));
  });

  it("in a search is one cut line, and stays until a search succeeds", async () => {
    const err = longError();
    let fail = true;
    const { api, root } = await mount({
      folders: [makeFolder()],
      search: async (req) => {
        if (fail) throw err;
        return makeResponse(req.query, [makeResult()]);
      },
    });
    typeInto(q<HTMLInputElement>(root, "#search"), "budget");
    const noResults = q(root, "#no-results");
    await vi.waitFor(() => expect(noResults.hidden).toBe(false));
    expect(noResults.textContent).toContain("Search failed");
    expectCannotWiden(q(noResults, ".error-message"), root);
    // A status/folder refresh (polling, progress) does not hide it.
    await app!.refresh();
    api.emitProgress({ folder: "/home/u/Notes", filesDone: 10, filesTotal: 10, failed: 0, currentFile: null, done: true, offline: false });
    await flush(20);
    expect(noResults.hidden).toBe(false);
    expect(noResults.textContent).toContain("Search failed");
    // The next successful search replaces it.
    fail = false;
    typeInto(q<HTMLInputElement>(root, "#search"), "budget plan");
    await vi.waitFor(() => expect(root.querySelectorAll(".result")).toHaveLength(1));
    expect(noResults.hidden).toBe(true);
  });

  it("on the first-run screen wraps inside the card", async () => {
    const { root } = await mount({ folders: [] }, (api) => vi.mocked(api.status).mockRejectedValue(longError("engineFailed")));
    const message = q(root, "#setup-message");
    expectCannotWiden(message, root);
  });
});

describe("error text", () => {
  it("is the first sentence of the first line, cut with an ellipsis", () => {
    expect(oneSentence("ONNX Runtime is not available. Run `scripts/setup.sh`, or set ORT_DYLIB_PATH.")).toBe("ONNX Runtime is not available.");
    expect(oneSentence("see /a/b.c/d. ok")).toBe("see /a/b.c/d. ok");
    expect(oneSentence("first\nsecond")).toBe("first");
    expect(Array.from(oneSentence("é".repeat(500))).length).toBe(MAX_ERROR_CHARS);
    expect(errorMessage({ kind: "other", message: "One sentence.", details: "chain" })).toBe("One sentence.");
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage(undefined)).toBe("Something went wrong.");
  });
});

describe("first-run screen", () => {
  const missing: AppError = {
    kind: "modelMissing",
    message: "The search model is not installed yet; download it to start searching.",
    details: "model `all-MiniLM-L6-v2` is not installed: looked in /root/.cache/sift/models",
  };

  it("offers to download a missing model instead of a red error, and opens the app when it is in", async () => {
    const retry = deferred<void>();
    const { api, root } = await mount({ folders: [] }, (api) => {
      vi.mocked(api.status).mockRejectedValue(missing);
      vi.mocked(api.retryEngine).mockReturnValueOnce(retry.promise);
    });
    const setup = q(root, "#setup");
    expect(setup.hidden).toBe(false);
    expect(q(root, "#setup-title").textContent).toBe("Sift needs its search model");
    expect(q(root, "#setup-message").textContent).toBe(missing.message);
    expect(q(root, "#sidebar").hidden).toBe(true);
    expect(q(root, ".main").hidden).toBe(true);
    expect(q<HTMLInputElement>(root, "#search").disabled).toBe(true);
    expect(q(root, "#status-line").classList.contains("status-error")).toBe(false);
    expect(q(root, "#toggle-pause").hidden).toBe(true);

    q<HTMLButtonElement>(setup, ".copy-details").click();
    await vi.waitFor(() => expect(writeText).toHaveBeenCalledWith(missing.details));

    q<HTMLButtonElement>(root, "#setup-download").click();
    expect(api.retryEngine).toHaveBeenCalledWith(true);
    expect(q<HTMLButtonElement>(root, "#setup-download").disabled).toBe(true);
    api.emitDownload({ model: "all-MiniLM-L6-v2", file: "onnx/model_quint8_avx2.onnx", bytes: 11 * 1024 * 1024, total: 22 * 1024 * 1024 });
    expect(q(setup, ".setup-progress").hidden).toBe(false);
    expect(q(setup, ".setup-progress").textContent).toContain("11 MB of 22 MB");

    vi.mocked(api.status).mockReset();
    vi.mocked(api.status).mockResolvedValue((await createFakeApi().status()));
    retry.resolve();
    await vi.waitFor(() => expect(setup.hidden).toBe(true));
    expect(q(root, "#sidebar").hidden).toBe(false);
    expect(q(root, ".main").hidden).toBe(false);
    expect(q<HTMLInputElement>(root, "#search").disabled).toBe(false);
    await vi.waitFor(() => expect(q(root, "#empty-state").hidden).toBe(false));
  });

  it("shows why a retry failed, and offers only Retry when the runtime is missing", async () => {
    const runtime: AppError = { kind: "runtimeMissing", message: "A part Sift needs to understand text (ONNX Runtime) is missing; reinstall Sift to restore it.", details: "ONNX Runtime is not available: libonnxruntime.so: cannot open" };
    const { api, root } = await mount({ folders: [] }, (api) => {
      vi.mocked(api.status).mockRejectedValue(missing);
      vi.mocked(api.retryEngine).mockRejectedValueOnce(runtime);
    });
    q<HTMLButtonElement>(root, "#setup-retry").click();
    expect(api.retryEngine).toHaveBeenCalledWith(false);
    await vi.waitFor(() => expect(q(root, "#setup-title").textContent).toBe("Sift is missing one of its parts"));
    expect(q(root, "#setup-message").textContent).toBe(runtime.message);
    expect(root.querySelector("#setup-download")).toBeNull();
    expect(q<HTMLButtonElement>(root, "#setup-retry").disabled).toBe(false);
  });

  it("is not shown for an error that is not about the engine", async () => {
    const { root } = await mount({ folders: [makeFolder()] }, (api) => vi.mocked(api.status).mockRejectedValue({ kind: "other", message: "Busy.", details: "busy" }));
    expect(q(root, "#setup").hidden).toBe(true);
    expect(q(root, "#status-line .error-message").textContent).toBe("Busy.");
  });
});

describe("UI details", () => {
  it("No matches suggests clearing filters only when filters are set", async () => {
    const { root } = await mount({ folders: [makeFolder(), makeFolder({ path: "/home/u/Code" })], kinds: [{ ext: "md", files: 3 }, { ext: "rs", files: 2 }] });
    const input = q<HTMLInputElement>(root, "#search");
    typeInto(input, "zebra");
    const noResults = q(root, "#no-results");
    await vi.waitFor(() => expect(noResults.hidden).toBe(false));
    expect(noResults.textContent).toContain("Try different words.");
    expect(noResults.textContent).not.toContain("filter");
    await vi.waitFor(() => expect(root.querySelectorAll("#kind-filters .chip").length).toBeGreaterThan(0));
    q<HTMLButtonElement>(root, "#kind-filters .chip").click();
    await vi.waitFor(() => expect(noResults.textContent).toContain("clear the filters"));
  });

  it("the pause button is hidden while there are no folders, even when status fails", async () => {
    const { root } = await mount({ folders: [] }, (api) => vi.mocked(api.status).mockRejectedValue("database is locked"));
    expect(q(root, "#toggle-pause").hidden).toBe(true);
    const again = await mount({ folders: [] });
    expect(q(again.root, "#toggle-pause").hidden).toBe(true);
  });

  it("the pause button shows once there is a folder", async () => {
    const { root } = await mount({ folders: [makeFolder()] });
    expect(q(root, "#toggle-pause").hidden).toBe(false);
  });

  it("the progress bar never moves back within a pass, and starts over in the next", async () => {
    const { api, root } = await mount({ folders: [makeFolder({ filesDone: 0, filesTotal: 100, state: "indexing" })] });
    const bar = q(root, ".folder .progress");
    const ev = (done: number, total: number, finished = false) =>
      api.emitProgress({ folder: "/home/u/Notes", filesDone: done, filesTotal: total, failed: 0, currentFile: null, done: finished, offline: false });
    ev(50, 100);
    expect(bar.getAttribute("aria-valuenow")).toBe("50");
    ev(50, 200); // the scan found more files
    expect(bar.getAttribute("aria-valuenow")).toBe("50");
    ev(150, 200);
    expect(bar.getAttribute("aria-valuenow")).toBe("75");
    ev(200, 200, true);
    expect(bar.getAttribute("aria-valuenow")).toBe("100");
    ev(10, 200); // a new pass
    expect(bar.getAttribute("aria-valuenow")).toBe("5");
  });

  it("hidden Open / Show in folder buttons take no space, and passages keep a readable measure", async () => {
    const { root } = await mount({ folders: [makeFolder()], search: async (req) => makeResponse(req.query, [makeResult(), makeResult({ path: "/home/u/Notes/b.md", fileName: "b.md" })]) });
    typeInto(q<HTMLInputElement>(root, "#search"), "hello");
    await vi.waitFor(() => expect(root.querySelectorAll(".result")).toHaveLength(2));
    const [first, second] = root.querySelectorAll<HTMLElement>(".result");
    first.classList.add("selected");
    second.classList.remove("selected");
    const hidden = getComputedStyle(q(second, ".result-actions"));
    expect(hidden.display).toBe("none");
    const shown = getComputedStyle(q(first, ".result-actions"));
    expect(shown.display).toBe("flex");
    expect(shown.position).toBe("absolute");
    expect(getComputedStyle(q(first, ".passage")).maxWidth).toBe("80ch");
  });
});
