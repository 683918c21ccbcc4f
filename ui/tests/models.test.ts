// The settings sheet's model list: facts per model and its states (not downloaded, downloading with %,
// installed, active, failed), driven by a fake backend and `sift://model-download` events.

import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppError, ModelDownloadEvent, ModelEntry } from "../src/api";
import { ModelList, modelFacts, modelState, type ModelsBackend } from "../src/models";
import { SettingsPanel } from "../src/settings";
import { deferred, flush } from "./fakeApi";

function entry(over: Partial<ModelEntry> = {}): ModelEntry {
  return {
    id: "bge-small-en-v1.5",
    name: "BGE small v1.5 — English, higher quality",
    description: "Finds the right passage more often.",
    languages: "English",
    dim: 384,
    size: 133_093_490,
    installed: false,
    active: false,
    bundled: false,
    downloadable: true,
    ...over,
  };
}

const minilm = entry({ id: "all-MiniLM-L6-v2", name: "MiniLM", installed: true, active: true, bundled: true, size: null });
const e5 = entry({ id: "multilingual-e5-small", name: "Multilingual E5 small", languages: "100+ languages", downloadable: false, size: null });

function ev(model: string, bytes: number, total: number | null): ModelDownloadEvent {
  return { model, file: "model.onnx", bytes, total };
}

function row(list: ModelList, id: string): HTMLElement {
  const r = list.element.querySelector<HTMLElement>(`[data-model-id="${id}"]`);
  if (!r) throw new Error(`no row ${id}`);
  return r;
}

function buttons(r: HTMLElement): string[] {
  return [...r.querySelectorAll("button")].map((b) => b.textContent ?? "");
}

afterEach(() => document.body.replaceChildren());

describe("modelState", () => {
  it("gives each state from the entry, the running download and the last failure", () => {
    expect(modelState(entry(), null)).toEqual({ kind: "notDownloaded" });
    expect(modelState(entry({ installed: true }), null)).toEqual({ kind: "installed" });
    expect(modelState(entry({ installed: true, active: true }), null)).toEqual({ kind: "active" });
    expect(modelState(e5, null)).toEqual({ kind: "unavailable" });
    expect(modelState(entry(), { id: "bge-small-en-v1.5", event: null })).toEqual({ kind: "downloading", percent: null });
    expect(modelState(entry(), { id: "bge-small-en-v1.5", event: ev("bge-small-en-v1.5", 50, 200) })).toEqual({ kind: "downloading", percent: 25 });
    // Another model's download does not change this row.
    expect(modelState(entry(), { id: "other", event: ev("other", 50, 200) })).toEqual({ kind: "notDownloaded" });
    const err = { kind: "other", message: "Sift could not reach huggingface.co; check your internet connection and try again.", details: "x" };
    expect(modelState(entry(), null, err)).toEqual({ kind: "failed", error: err });
  });

  it("describes size, languages and dimension", () => {
    expect(modelFacts(entry())).toMatch(/^English · 384 dimensions · \d+(\.\d)? MB download$/);
    expect(modelFacts(minilm)).toBe("English · 384 dimensions · included with Sift");
    expect(modelFacts(e5)).toBe("100+ languages · 384 dimensions · download");
  });
});

describe("ModelList", () => {
  function setup(entries: ModelEntry[]) {
    const download = deferred<void>();
    const backend = {
      list: vi.fn(async () => entries.map((e) => ({ ...e }))),
      download: vi.fn(() => download.promise),
      cancel: vi.fn(async () => true),
    } satisfies ModelsBackend;
    const used: string[] = [];
    const list = new ModelList(backend, (id) => used.push(id));
    document.body.append(list.element);
    return { backend, list, download, used };
  }

  it("downloads only on a click, shows the percentage, then lists the model as installed", async () => {
    const { backend, list, download, used } = setup([minilm, entry(), e5]);
    await list.refresh();
    expect(row(list, "all-MiniLM-L6-v2").dataset.state).toBe("active");
    expect(row(list, "all-MiniLM-L6-v2").textContent).toContain("Active");
    const bge = row(list, "bge-small-en-v1.5");
    expect(bge.dataset.state).toBe("notDownloaded");
    expect(bge.textContent).toContain("Finds the right passage more often.");
    expect(bge.querySelector(".model-facts")?.textContent).toContain("384 dimensions");
    expect(row(list, "multilingual-e5-small").dataset.state).toBe("unavailable");
    expect(buttons(row(list, "multilingual-e5-small"))).toEqual([]);
    expect(backend.download).not.toHaveBeenCalled();

    row(list, "bge-small-en-v1.5").querySelector("button")!.click();
    expect(backend.download).toHaveBeenCalledWith("bge-small-en-v1.5");
    expect(row(list, "bge-small-en-v1.5").dataset.state).toBe("downloading");
    list.onProgress(ev("bge-small-en-v1.5", 40, 160));
    const r = row(list, "bge-small-en-v1.5");
    expect(r.querySelector(".model-percent")?.textContent).toBe("25%");
    expect(r.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow")).toBe("25");
    expect(buttons(r)).toEqual(["Cancel"]);
    // Other rows cannot start a second download meanwhile.
    list.onProgress(ev("bge-small-en-v1.5", 120, 160));
    expect(row(list, "bge-small-en-v1.5").querySelector(".model-percent")?.textContent).toBe("75%");

    backend.list.mockImplementation(async () => [minilm, entry({ installed: true }), e5]);
    download.resolve();
    await flush(10);
    const done = row(list, "bge-small-en-v1.5");
    expect(done.dataset.state).toBe("installed");
    expect(done.textContent).toContain("Installed");
    // "Use" picks it in the settings form.
    [...done.querySelectorAll("button")].find((b) => b.textContent === "Use")!.click();
    expect(used).toEqual(["bge-small-en-v1.5"]);
  });

  it("Cancel asks the backend to stop and returns the row to Download", async () => {
    const { backend, list, download } = setup([minilm, entry()]);
    await list.refresh();
    row(list, "bge-small-en-v1.5").querySelector("button")!.click();
    list.onProgress(ev("bge-small-en-v1.5", 10, 100));
    [...row(list, "bge-small-en-v1.5").querySelectorAll("button")].find((b) => b.textContent === "Cancel")!.click();
    await flush();
    expect(backend.cancel).toHaveBeenCalledTimes(1);
    download.reject({ kind: "other", message: "The download was cancelled.", details: "The download was cancelled." } satisfies AppError);
    await flush(10);
    const r = row(list, "bge-small-en-v1.5");
    expect(r.dataset.state).toBe("notDownloaded");
    expect(buttons(r)).toEqual(["Download"]);
    expect(r.querySelector(".error-note")).toBeNull();
  });

  it("a failed download shows one sentence with Copy details and can be tried again", async () => {
    const { backend, list, download } = setup([minilm, entry()]);
    await list.refresh();
    row(list, "bge-small-en-v1.5").querySelector("button")!.click();
    const message = "Sift could not reach huggingface.co; check your internet connection and try again.";
    download.reject({ kind: "other", message, details: `${message} (GET https://huggingface.co/…: Connection refused)` } satisfies AppError);
    await flush(10);
    const r = row(list, "bge-small-en-v1.5");
    expect(r.dataset.state).toBe("failed");
    expect(r.querySelector(".error-message")?.textContent).toBe(message);
    expect(buttons(r)).toEqual(["Copy details", "Try again"]);
    backend.download.mockImplementation(async () => {});
    [...r.querySelectorAll("button")].find((b) => b.textContent === "Try again")!.click();
    expect(backend.download).toHaveBeenCalledTimes(2);
  });

  it("follows a download started elsewhere (first-run screen, settings switch)", async () => {
    const { list } = setup([minilm, entry()]);
    await list.refresh();
    list.onProgress(ev("bge-small-en-v1.5", 30, 60));
    expect(row(list, "bge-small-en-v1.5").querySelector(".model-percent")?.textContent).toBe("50%");
    list.onProgress(ev("unknown-model", 1, 2));
    expect(row(list, "bge-small-en-v1.5").dataset.state).toBe("downloading");
  });
});

describe("SettingsPanel with the model list", () => {
  it("lists the models when opened and forwards download events to it", async () => {
    const models = { list: vi.fn(async () => [minilm, entry()]), download: vi.fn(async () => {}), cancel: vi.fn(async () => true) };
    const panel = new SettingsPanel(
      {
        load: async () => ({
          model: "all-MiniLM-L6-v2",
          precision: "int8",
          models: [
            { id: "all-MiniLM-L6-v2", name: "MiniLM", dim: 384, installed: true },
            { id: "bge-small-en-v1.5", name: "BGE", dim: 384, installed: false },
          ],
          threads: 2,
          maxThreads: 4,
          excludes: [],
        }),
        save: async () => {},
      },
      () => {},
      models,
    );
    document.body.append(panel.element);
    await panel.open();
    await flush(10);
    const rows = panel.element.querySelectorAll("#model-list .model-row");
    expect(rows.length).toBe(2);
    panel.setDownload(ev("bge-small-en-v1.5", 5, 10));
    expect(panel.element.querySelector('[data-model-id="bge-small-en-v1.5"]')?.getAttribute("data-state")).toBe("downloading");
    // The download (started elsewhere) ends: the list is fetched again and shows the model installed.
    models.list.mockImplementation(async () => [minilm, entry({ installed: true })]);
    panel.setDownload(ev("bge-small-en-v1.5", 10, 10));
    await flush(10);
    expect(panel.element.querySelector('[data-model-id="bge-small-en-v1.5"]')?.getAttribute("data-state")).toBe("installed");
    // "Use" on an installed model selects it in the model field (saving then switches and re-indexes).
    [...panel.element.querySelectorAll<HTMLButtonElement>('[data-model-id="bge-small-en-v1.5"] button')].find((b) => b.textContent === "Use")!.click();
    expect(panel.model.value).toBe("bge-small-en-v1.5");
    expect(panel.collect()?.model).toBe("bge-small-en-v1.5");
  });
});
