import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SearchRequest, SearchResponse } from "../src/api";
import { mountApp, type AppHandle } from "../src/app";
import { SearchController } from "../src/search";
import { createFakeApi, deferred, makeFolder, makeResponse, makeResult, press, typeInto } from "./fakeApi";

const params = (query: string) => ({ query, folder: null, kinds: [] as string[] });

describe("SearchController", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup(run: (req: SearchRequest) => Promise<SearchResponse>) {
    const handlers = { onResults: vi.fn(), onError: vi.fn(), onClear: vi.fn(), onBusy: vi.fn() };
    const ctl = new SearchController(vi.fn(run), handlers, 150, 50);
    return { ctl, handlers, run: (ctl as unknown as { run: ReturnType<typeof vi.fn> }).run };
  }

  it("debounces keystrokes into one request for the final query", async () => {
    const { ctl, handlers, run } = setup(async (req) => makeResponse(req.query, []));
    ctl.update(params("b"));
    await vi.advanceTimersByTimeAsync(100);
    ctl.update(params("bu"));
    await vi.advanceTimersByTimeAsync(100);
    ctl.update(params("bud"));
    await vi.advanceTimersByTimeAsync(149);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run).toHaveBeenCalledWith({ query: "bud", limit: 50, folder: null, kinds: [] });
    expect(handlers.onResults).toHaveBeenCalledTimes(1);
  });

  it("discards a slower, older response that arrives after a newer one", async () => {
    const first = deferred<SearchResponse>();
    const second = deferred<SearchResponse>();
    const queue = [first, second];
    const { ctl, handlers } = setup(() => queue.shift()!.promise);

    ctl.update(params("old"));
    await vi.advanceTimersByTimeAsync(150);
    ctl.update(params("new"));
    await vi.advanceTimersByTimeAsync(150);

    second.resolve(makeResponse("new", [makeResult({ path: "/n" })]));
    await vi.advanceTimersByTimeAsync(0);
    first.resolve(makeResponse("old", [makeResult({ path: "/o" })]));
    await vi.advanceTimersByTimeAsync(0);

    expect(handlers.onResults).toHaveBeenCalledTimes(1);
    expect(handlers.onResults.mock.calls[0][0].query).toBe("new");
  });

  it("drops in-flight responses once the query is cleared", async () => {
    const d = deferred<SearchResponse>();
    const { ctl, handlers } = setup(() => d.promise);
    ctl.update(params("abc"));
    await vi.advanceTimersByTimeAsync(150);
    ctl.update(params("   "));
    expect(handlers.onClear).toHaveBeenCalledTimes(1);
    d.resolve(makeResponse("abc", [makeResult()]));
    await vi.advanceTimersByTimeAsync(0);
    expect(handlers.onResults).not.toHaveBeenCalled();
  });

  it("ignores a stale error too", async () => {
    const first = deferred<SearchResponse>();
    const second = deferred<SearchResponse>();
    const queue = [first, second];
    const { ctl, handlers } = setup(() => queue.shift()!.promise);
    ctl.update(params("a1"));
    await vi.advanceTimersByTimeAsync(150);
    ctl.update(params("a2"));
    await vi.advanceTimersByTimeAsync(150);
    second.resolve(makeResponse("a2", []));
    await vi.advanceTimersByTimeAsync(0);
    first.reject(new Error("boom"));
    await vi.advanceTimersByTimeAsync(0);
    expect(handlers.onError).not.toHaveBeenCalled();
    expect(handlers.onResults).toHaveBeenCalledTimes(1);
  });

  it("runs filter changes immediately", async () => {
    const { ctl, run } = setup(async (req) => makeResponse(req.query, []));
    ctl.update({ query: "x", folder: "/f", kinds: ["md"] }, { immediate: true });
    expect(run).toHaveBeenCalledWith({ query: "x", limit: 50, folder: "/f", kinds: ["md"] });
  });
});

describe("search box (app)", () => {
  let app: AppHandle | null = null;
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    app?.destroy();
    app = null;
    document.body.replaceChildren();
    vi.useRealTimers();
  });

  it("renders only the newest response while typing quickly", async () => {
    const pending = new Map<string, ReturnType<typeof deferred<SearchResponse>>>();
    const api = createFakeApi({
      folders: [makeFolder()],
      search: (req) => {
        const d = deferred<SearchResponse>();
        pending.set(req.query, d);
        return d.promise;
      },
    });
    const root = document.body.appendChild(document.createElement("div"));
    app = mountApp(root, api, { pollMs: 0 });
    await app.ready;
    const input = root.querySelector<HTMLInputElement>("#search")!;

    typeInto(input, "alp");
    await vi.advanceTimersByTimeAsync(50);
    typeInto(input, "alpha");
    await vi.advanceTimersByTimeAsync(150);
    typeInto(input, "alpha beta");
    await vi.advanceTimersByTimeAsync(150);
    expect(api.search).toHaveBeenCalledTimes(2);
    expect([...pending.keys()]).toEqual(["alpha", "alpha beta"]);

    pending.get("alpha beta")!.resolve(makeResponse("alpha beta", [makeResult({ path: "/new.md", fileName: "new.md" })]));
    await vi.advanceTimersByTimeAsync(0);
    pending.get("alpha")!.resolve(makeResponse("alpha", [makeResult({ path: "/old.md", fileName: "old.md" })]));
    await vi.advanceTimersByTimeAsync(0);

    const names = [...root.querySelectorAll(".result .result-name")].map((n) => n.textContent);
    expect(names).toEqual(["new.md"]);
  });

  it("shows the catching-up note when the index is incomplete", async () => {
    const api = createFakeApi({
      folders: [makeFolder({ state: "indexing", filesDone: 3 })],
      search: async (req) => makeResponse(req.query, [makeResult()], { catchingUp: true }),
    });
    const root = document.body.appendChild(document.createElement("div"));
    app = mountApp(root, api, { pollMs: 0 });
    await app.ready;
    typeInto(root.querySelector<HTMLInputElement>("#search")!, "hello");
    await vi.advanceTimersByTimeAsync(150);
    expect(root.querySelector<HTMLElement>("#catching-up")!.hidden).toBe(false);
    expect(root.querySelector("#results-meta")!.textContent).toContain("1 result");
  });

  it("puts loosely related results after a divider, and says when nothing matches clearly", async () => {
    const responses: Record<string, SearchResponse> = {
      mixed: makeResponse(
        "mixed",
        [
          makeResult({ path: "/n/a.md", fileName: "a.md" }),
          makeResult({ path: "/n/b.md", fileName: "b.md", strength: "weak" }),
          makeResult({ path: "/n/c.md", fileName: "c.md", strength: "unrelated" }),
        ],
        { confidence: "strong" },
      ),
      flights: makeResponse("cheap flights", [makeResult({ path: "/n/m.md", fileName: "m.md", strength: "unrelated" })], { confidence: "none" }),
      loose: makeResponse("loose", [makeResult({ path: "/n/w.md", fileName: "w.md", strength: "weak" })], { confidence: "weak" }),
    };
    const api = createFakeApi({ folders: [makeFolder()], search: async (req) => responses[req.query] });
    const root = document.body.appendChild(document.createElement("div"));
    app = mountApp(root, api, { pollMs: 0 });
    await app.ready;
    const input = root.querySelector<HTMLInputElement>("#search")!;
    const note = () => root.querySelector<HTMLElement>("#loose-note")!;
    const items = () => [...root.querySelectorAll("#results > li")].map((li) => (li.classList.contains("results-divider") ? "|" : (li as HTMLElement).dataset.path));

    typeInto(input, "mixed");
    await vi.advanceTimersByTimeAsync(150);
    expect(items()).toEqual(["/n/a.md", "|", "/n/b.md", "/n/c.md"]);
    expect(root.querySelectorAll(".result.loose")).toHaveLength(2);
    expect(note().hidden).toBe(true);
    // The divider is not a result: keyboard selection skips it.
    press(input, "ArrowDown");
    expect(root.querySelector<HTMLElement>(".result.selected")!.dataset.path).toBe("/n/b.md");

    typeInto(input, "flights");
    await vi.advanceTimersByTimeAsync(150);
    expect(note().hidden).toBe(false);
    expect(note().textContent).toContain("Nothing in your files is about “cheap flights”");
    expect(items()).toEqual(["/n/m.md"]);

    typeInto(input, "loose");
    await vi.advanceTimersByTimeAsync(150);
    expect(note().textContent).toContain("Only loose matches");

    typeInto(input, "mixed");
    await vi.advanceTimersByTimeAsync(150);
    expect(note().hidden).toBe(true);
  });

  it("passes folder and kind filters to search", async () => {
    const api = createFakeApi({
      folders: [makeFolder({ path: "/a/Notes" }), makeFolder({ path: "/b/Code" })],
      kinds: [{ ext: "pdf", files: 2 }, { ext: "md", files: 5 }],
      search: async (req) => makeResponse(req.query, []),
    });
    const root = document.body.appendChild(document.createElement("div"));
    app = mountApp(root, api, { pollMs: 0 });
    await app.ready;
    typeInto(root.querySelector<HTMLInputElement>("#search")!, "query");
    await vi.advanceTimersByTimeAsync(150);

    const select = root.querySelector<HTMLSelectElement>("#folder-filter")!;
    expect([...select.options].map((o) => o.value)).toEqual(["", "/a/Notes", "/b/Code"]);
    select.value = "/b/Code";
    select.dispatchEvent(new Event("change"));
    await vi.advanceTimersByTimeAsync(0);
    root.querySelector<HTMLButtonElement>('.chip[data-kind="pdf"]')!.click();
    await vi.advanceTimersByTimeAsync(0);

    const last = vi.mocked(api.search).mock.calls.at(-1)![0];
    expect(last).toEqual({ query: "query", limit: 50, folder: "/b/Code", kinds: ["pdf"] });
    expect(root.querySelector('.chip[data-kind="pdf"]')!.getAttribute("aria-pressed")).toBe("true");
  });
});
