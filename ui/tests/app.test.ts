import { afterEach, describe, expect, it, vi } from "vitest";
import { mountApp, type AppHandle } from "../src/app";
import { createFakeApi, flush, makeFolder, type FakeApi, type FakeOptions } from "./fakeApi";

let app: AppHandle | null = null;

async function mount(opts: FakeOptions = {}): Promise<{ api: FakeApi; root: HTMLElement }> {
  const api = createFakeApi(opts);
  const root = document.body.appendChild(document.createElement("div"));
  app = mountApp(root, api, { pollMs: 0 });
  await app.ready;
  return { api, root };
}

// Counts are formatted for the user's locale.
const n = (x: number) => new Intl.NumberFormat().format(x);
const q = <T extends Element = HTMLElement>(root: ParentNode, sel: string) => root.querySelector<T>(sel)!;

afterEach(() => {
  app?.destroy();
  app = null;
  document.body.replaceChildren();
  vi.useRealTimers();
});

describe("empty state", () => {
  it("invites dropping folders when nothing is indexed", async () => {
    const { root } = await mount({ folders: [] });
    const empty = q(root, "#empty-state");
    expect(empty.hidden).toBe(false);
    expect(empty.textContent).toContain("Drop folders here");
    expect(q(root, "#add-folder").hidden).toBe(false);
    expect(q(root, "#filters").hidden).toBe(true);
    expect(root.querySelectorAll(".folder")).toHaveLength(0);
  });

  it("is hidden once a folder exists", async () => {
    const { root } = await mount({ folders: [makeFolder()] });
    expect(q(root, "#empty-state").hidden).toBe(true);
    expect(q(root, "#search-hint").hidden).toBe(false);
    expect(q(root, "#search-hint").textContent).toContain(`Search ${n(1234)} files by meaning`);
  });

  it("Add folder… picks folders and adds them, leaving the empty state", async () => {
    const { api, root } = await mount({ folders: [] });
    q<HTMLButtonElement>(root, "#add-folder").click();
    await vi.waitFor(() => expect(api.addFolders).toHaveBeenCalledWith(["/home/u/Picked"]));
    await vi.waitFor(() => expect(q(root, "#empty-state").hidden).toBe(true));
    expect(q(root, ".folder").dataset.path).toBe("/home/u/Picked");
  });

  it("a cancelled picker adds nothing", async () => {
    const { api, root } = await mount({ folders: [] });
    vi.mocked(api.pickFolders).mockResolvedValueOnce([]);
    q<HTMLButtonElement>(root, "#empty-add-folder").click();
    await flush(10);
    expect(api.pickFolders).toHaveBeenCalled();
    expect(api.addFolders).not.toHaveBeenCalled();
  });
});

describe("drag and drop", () => {
  it("highlights the window while dragging and adds dropped paths", async () => {
    const { api, root } = await mount({ folders: [] });
    api.emitDrop({ type: "enter", paths: ["/x/Docs"] });
    expect(root.classList.contains("drag-over")).toBe(true);
    api.emitDrop({ type: "leave" });
    expect(root.classList.contains("drag-over")).toBe(false);
    api.emitDrop({ type: "enter", paths: ["/x/Docs"] });
    api.emitDrop({ type: "drop", paths: ["/x/Docs", "/x/file.txt"] });
    expect(root.classList.contains("drag-over")).toBe(false);
    await vi.waitFor(() => expect(api.addFolders).toHaveBeenCalledWith(["/x/Docs", "/x/file.txt"]));
    await vi.waitFor(() => expect(root.querySelectorAll(".folder")).toHaveLength(2));
  });
});

describe("folder list", () => {
  const folders = [
    makeFolder({ path: "/home/u/Notes", filesTotal: 200, filesDone: 50, failed: 3, state: "indexing", etaSecs: 300 }),
    makeFolder({ path: "/home/u/Code", filesTotal: 40, filesDone: 40, state: "idle" }),
  ];

  it("shows progress, counts, ETA and skipped files", async () => {
    const { root } = await mount({ folders });
    const rows = root.querySelectorAll<HTMLElement>(".folder");
    expect(rows).toHaveLength(2);
    const notes = rows[0];
    expect(notes.querySelector(".folder-name")!.textContent).toBe("Notes");
    expect(notes.querySelector(".folder-count")!.textContent).toBe("50 of 200 files");
    expect(notes.querySelector(".folder-eta")!.textContent).toBe("~5 min left");
    expect(notes.querySelector(".progress")!.getAttribute("aria-valuenow")).toBe("25");
    expect(notes.querySelector<HTMLElement>(".progress-bar")!.style.getPropertyValue("--progress")).toBe("0.2500");
    const skipped = notes.querySelector<HTMLButtonElement>(".folder-failed")!;
    expect(skipped.hidden).toBe(false);
    expect(skipped.textContent).toBe("3 skipped");
    expect(rows[1].querySelector<HTMLElement>(".folder-failed")!.hidden).toBe(true);
    expect(rows[1].querySelector(".folder-state")!.textContent).toBe("Up to date");
  });

  it("the skipped count opens the list with reasons", async () => {
    const { api, root } = await mount({ folders });
    vi.mocked(api.failedFiles).mockResolvedValueOnce([
      { path: "/home/u/Notes/scan.pdf", reason: "scanned — no text layer", status: "skipped" },
      { path: "/home/u/Notes/<b>x</b>.docx", reason: "<img src=x onerror=alert(1)> (<b>detail</b>)", status: "failed" },
    ]);
    q<HTMLButtonElement>(root, ".folder .folder-failed").click();
    expect(api.failedFiles).toHaveBeenCalledWith("/home/u/Notes");
    const dialog = q(root, "#failed-dialog");
    expect(dialog.hidden).toBe(false);
    await vi.waitFor(() => expect(dialog.querySelectorAll(".failed-item")).toHaveLength(2));
    // Failed first (a warning), then skipped (neutral); the full reason stays with its file when it says more.
    const titles = [...dialog.querySelectorAll(".problem-title")].map((t) => t.textContent);
    expect(titles).toEqual(["<img src=x onerror=alert(1)>: 1", "scanned — no text layer: 1"]);
    expect([...dialog.querySelectorAll(".problem-group")].map((g) => g.classList.contains("tone-failed"))).toEqual([true, false]);
    expect(dialog.querySelector(".failed-reason")!.textContent).toBe("<img src=x onerror=alert(1)> (<b>detail</b>)");
    expect(dialog.querySelector(".failed-summary")!.textContent).toMatch(/^1 skipped · 1 failed\./);
    expect(dialog.querySelector("img, b")).toBeNull();
    dialog.querySelector(".modal")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(dialog.hidden).toBe(true);
  });

  it("applies live progress events", async () => {
    const { api, root } = await mount({ folders });
    api.emitProgress({ folder: "/home/u/Notes", filesDone: 150, filesTotal: 200, failed: 4, currentFile: "/home/u/Notes/deep/report.md", done: false, offline: false });
    const row = q(root, '.folder[data-path="/home/u/Notes"]');
    expect(row.querySelector(".folder-count")!.textContent).toBe("150 of 200 files");
    expect(row.querySelector(".folder-failed")!.textContent).toBe("4 skipped");
    expect(row.querySelector(".folder-current")!.textContent).toBe("report.md");
    api.emitProgress({ folder: "/home/u/Notes", filesDone: 200, filesTotal: 200, failed: 4, currentFile: null, done: true, offline: false });
    expect(row.dataset.state).toBe("idle");
    // Searchable files, as the status bar counts them; the skipped ones are counted beside.
    expect(row.querySelector(".folder-count")!.textContent).toBe("196 files");
    expect(row.querySelector<HTMLElement>(".folder-current")!.hidden).toBe(true);
  });

  it("folder rows and the status bar count the same files, and the status bar's count opens every problem", async () => {
    const two = [
      makeFolder({ path: "/home/u/Notes", filesTotal: 10, filesDone: 10, failed: 3 }),
      makeFolder({ path: "/home/u/Code", filesTotal: 5, filesDone: 5, failed: 1 }),
    ];
    const { api, root } = await mount({ folders: two, status: { files: 11, failed: 4 } });
    const rows = [...root.querySelectorAll<HTMLElement>(".folder")];
    const files = rows.map((r) => Number(/^(\d+) files?$/.exec(r.querySelector(".folder-count")!.textContent!)![1]));
    const skipped = rows.map((r) => Number(/^(\d+) skipped$/.exec(r.querySelector(".folder-failed")!.textContent!)![1]));
    expect(files).toEqual([7, 4]);
    expect(skipped).toEqual([3, 1]);
    const status = q(root, "#status-line").textContent!;
    expect(status).toContain(`${files[0] + files[1]} files`);
    expect(status).toContain(`${skipped[0] + skipped[1]} skipped`);
    q<HTMLButtonElement>(root, "#status-line .status-failed").click();
    expect(api.failedFiles).toHaveBeenCalledWith(null);
    expect(q(root, "#failed-dialog").hidden).toBe(false);
  });

  it("shows a folder whose drive is gone as offline, with its index kept", async () => {
    const { api, root } = await mount({ folders });
    api.emitProgress({ folder: "/home/u/Notes", filesDone: 0, filesTotal: 0, failed: 0, currentFile: null, done: true, offline: true });
    const row = q(root, '.folder[data-path="/home/u/Notes"]');
    expect(row.dataset.state).toBe("offline");
    expect(row.querySelector(".folder-state")!.textContent).toBe("Offline — index kept");
  });

  it("removes a folder after a confirming second click", async () => {
    const { api, root } = await mount({ folders });
    const btn = q<HTMLButtonElement>(root, '.folder[data-path="/home/u/Code"] .folder-remove');
    btn.click();
    expect(api.removeFolder).not.toHaveBeenCalled();
    btn.click();
    expect(api.removeFolder).toHaveBeenCalledWith("/home/u/Code");
    await vi.waitFor(() => expect(root.querySelectorAll(".folder")).toHaveLength(1));
    expect([...q<HTMLSelectElement>(root, "#folder-filter").options].map((o) => o.value)).toEqual(["", "/home/u/Notes"]);
  });

  it("pauses and resumes indexing", async () => {
    const { api, root } = await mount({ folders, status: { indexing: true } });
    const btn = q<HTMLButtonElement>(root, "#toggle-pause");
    expect(btn.getAttribute("aria-label")).toBe("Pause indexing");
    btn.click();
    await vi.waitFor(() => expect(api.pauseIndexing).toHaveBeenCalled());
    vi.mocked(api.status).mockResolvedValue({ ...(await api.status()), paused: true });
    await app!.refresh();
    expect(btn.getAttribute("aria-label")).toBe("Resume indexing");
    btn.click();
    await vi.waitFor(() => expect(api.resumeIndexing).toHaveBeenCalled());
  });
});

describe("status line", () => {
  it("shows model, provider, files and passages", async () => {
    const { root } = await mount({ folders: [makeFolder()], status: { provider: "CUDA", files: 12345, passages: 67890, chunks: 200000, failed: 2, indexing: true } });
    const text = q(root, "#status-line").textContent!;
    expect(text).toContain("all-MiniLM-L6-v2");
    expect(text).toContain("CUDA");
    expect(text).toContain(`${n(12345)} files`);
    expect(text).toContain(`${n(67890)} passages`);
    expect(text).toContain("2 skipped");
    expect(text).toContain("Indexing");
  });

  it("shows an engine error as one cut-off line with the full text in its tooltip", async () => {
    const api = createFakeApi({ folders: [makeFolder()] });
    const long = "model `all-MiniLM-L6-v2 (int8)` is not installed: " + "looked in /very/long/path, ".repeat(20);
    vi.mocked(api.status).mockRejectedValue(new Error(long));
    const root = document.body.appendChild(document.createElement("div"));
    app = mountApp(root, api, { pollMs: 0 });
    await app.ready;
    const line = q(root, "#status-line");
    await vi.waitFor(() => expect(line.classList.contains("status-error")).toBe(true));
    const message = q(line, ".error-message");
    expect(message.textContent).toMatch(/^model `all-MiniLM-L6-v2 \(int8\)` is not installed: looked in .*…$/);
    expect(message.textContent!.length).toBeLessThanOrEqual(160);
    expect(message.title.length).toBeGreaterThan(message.textContent!.length);
    expect(message.title).toContain("looked in /very/long/path");
    expect(line.querySelector(".copy-details")).not.toBeNull();
  });

  it("shows the last indexing error, the watch-limit fix and incomplete meaning search", async () => {
    const fix = "Sift cannot watch all your folders for changes because the system limit on watched folders is reached: run `sudo sysctl fs.inotify.max_user_watches=524288`, then restart Sift.";
    const { root } = await mount({
      folders: [makeFolder()],
      status: { lastError: "ONNX Runtime was not found; run scripts/setup.sh.", warning: fix, chunks: 100, vectors: 40 },
    });
    const line = q(root, "#status-line");
    expect(q(root, ".status-last-error").textContent).toBe("Indexing failed: ONNX Runtime was not found; run scripts/setup.sh.");
    expect(q(root, ".status-watch").textContent).toBe(fix);
    expect(q(root, ".status-watch").title).toBe(fix);
    expect(q(root, ".status-vectors").title).toContain("40 of 100");
    expect(line.classList.contains("status-error")).toBe(false);
  });

  it("shows no problem when there is none", async () => {
    const { root } = await mount({ folders: [makeFolder()] });
    expect(root.querySelector(".status-last-error")).toBeNull();
    expect(root.querySelector(".status-watch")).toBeNull();
    expect(root.querySelector(".status-vectors")).toBeNull();
  });

  it("shows model download progress", async () => {
    const { api, root } = await mount({ folders: [makeFolder()] });
    api.emitDownload({ model: "e5", file: "models/e5/model.onnx", bytes: 5 * 1024 * 1024, total: 10 * 1024 * 1024 });
    const dl = q(root, "#download-status");
    expect(dl.hidden).toBe(false);
    expect(dl.textContent).toBe("Downloading model.onnx: 5.0 MB of 10 MB");
    api.emitDownload({ model: "e5", file: "models/e5/model.onnx", bytes: 10 * 1024 * 1024, total: 10 * 1024 * 1024 });
    expect(dl.hidden).toBe(true);
  });
});

describe("settings", () => {
  it("settings end with the About line: version and where the index lives", async () => {
    const { root } = await mount({ folders: [makeFolder()] });
    q<HTMLButtonElement>(root, "#open-settings").click();
    await vi.waitFor(() => expect(q(root, "#settings #about").textContent).toBe("Sift 0.1.0 · index in /home/u/.local/share/sift · nothing you index leaves this computer"));
  });

  it("loads, edits and saves model, excludes and threads", async () => {
    const { api, root } = await mount({ folders: [makeFolder()] });
    q<HTMLButtonElement>(root, "#open-settings").click();
    const panel = q(root, "#settings");
    expect(panel.hidden).toBe(false);
    await vi.waitFor(() => expect(q<HTMLSelectElement>(root, "#setting-model").options).toHaveLength(2));

    const model = q<HTMLSelectElement>(root, "#setting-model");
    expect(model.value).toBe("minilm");
    expect(model.options[1].textContent).toContain("needs download");
    model.value = "e5";
    model.dispatchEvent(new Event("change"));
    expect(panel.querySelector<HTMLElement>(".field-note.warning")!.hidden).toBe(false);

    const threads = q<HTMLInputElement>(root, "#setting-threads");
    expect(threads.max).toBe("8");
    threads.value = "2";
    q<HTMLTextAreaElement>(root, "#setting-excludes").value = "  node_modules \n\n*.tmp\nnode_modules\n";
    q<HTMLButtonElement>(root, "#settings-save").click();

    await vi.waitFor(() => expect(api.setSettings).toHaveBeenCalledTimes(1));
    expect(vi.mocked(api.setSettings).mock.calls[0][0]).toMatchObject({
      model: "e5",
      threads: 2,
      excludes: ["node_modules", "*.tmp"],
      maxThreads: 8,
    });
    await vi.waitFor(() => expect(panel.hidden).toBe(true));
  });

  it("loads and saves the model precision, warning that it re-indexes", async () => {
    const { api, root } = await mount({ folders: [makeFolder()] });
    q<HTMLButtonElement>(root, "#open-settings").click();
    const precision = q<HTMLSelectElement>(root, "#setting-precision");
    await vi.waitFor(() => expect(precision.value).toBe("int8"));
    expect([...precision.options].map((o) => o.value)).toEqual(["int8", "fp32"]);
    const note = q(root, "#settings").querySelector<HTMLElement>(".field-note.warning")!;
    expect(note.hidden).toBe(true);
    precision.value = "fp32";
    precision.dispatchEvent(new Event("change"));
    expect(note.hidden).toBe(false);
    expect(note.textContent).toContain("precision");
    q<HTMLButtonElement>(root, "#settings-save").click();
    await vi.waitFor(() => expect(api.setSettings).toHaveBeenCalledTimes(1));
    expect(vi.mocked(api.setSettings).mock.calls[0][0]).toMatchObject({ model: "minilm", precision: "fp32" });
  });

  it("disables the form until settings have loaded", async () => {
    const { api, root } = await mount({ folders: [makeFolder()] });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = vi.mocked(api.getSettings).getMockImplementation()!;
    vi.mocked(api.getSettings).mockImplementationOnce(async () => {
      await gate;
      return real();
    });
    q<HTMLButtonElement>(root, "#open-settings").click();
    expect(q<HTMLFieldSetElement>(root, "#settings fieldset").disabled).toBe(true);
    expect(q<HTMLButtonElement>(root, "#settings-save").disabled).toBe(true);
    release();
    await vi.waitFor(() => expect(q<HTMLFieldSetElement>(root, "#settings fieldset").disabled).toBe(false));
    expect(q<HTMLButtonElement>(root, "#settings-save").disabled).toBe(false);
    expect(document.activeElement).toBe(q(root, "#setting-model"));
  });

  it("keeps the panel open and shows the error when saving fails", async () => {
    const { api, root } = await mount({ folders: [makeFolder()] });
    vi.mocked(api.setSettings).mockRejectedValueOnce("model not found");
    q<HTMLButtonElement>(root, "#open-settings").click();
    await vi.waitFor(() => expect(q<HTMLSelectElement>(root, "#setting-model").value).toBe("minilm"));
    q<HTMLButtonElement>(root, "#settings-save").click();
    await vi.waitFor(() => expect(q(root, "#settings-error").hidden).toBe(false));
    expect(q(root, "#settings-error").textContent).toContain("model not found");
    expect(q(root, "#settings").hidden).toBe(false);
  });
});

describe("lifecycle", () => {
  it("unsubscribes from backend events on destroy", async () => {
    const { api, root } = await mount({ folders: [makeFolder()] });
    app!.destroy();
    app = null;
    api.emitDrop({ type: "enter", paths: ["/x"] });
    expect(root.classList.contains("drag-over")).toBe(false);
  });
});
