// The settings sheet's "Answer models" (Ask): facts per model (parameters, quantization, size, expected speed,
// licence), Download with progress and Cancel (the same row code as the search models), "Use" switching at
// once with the active one marked, Remove asked twice, and text-only rendering of what the backend sends.

import { afterEach, describe, expect, it, vi } from "vitest";
import type { AnswerModelEntry, AppError, ModelDownloadEvent } from "../src/api";
import { AnswerModelList, AnswerModelsSection, answerModelFacts, formatParameters, type AnswerModelsBackend } from "../src/models";
import { SettingsPanel } from "../src/settings";
import { deferred, flush, makeAnswerModel } from "./fakeApi";

const small = makeAnswerModel({ installed: true, active: true, removable: true });
const large = makeAnswerModel({
  id: "qwen2.5-1.5b-instruct",
  name: "Qwen2.5 1.5B Instruct — better answers",
  description: "Follows the passages more faithfully and cites more reliably; about three times slower.",
  parametersB: 1.54,
  size: 1_800_000_000,
  approxTokensPerS: 7,
});
/** Installed, not in the manifest: facts unknown. */
const local = makeAnswerModel({
  id: "smollm2-135m-instruct",
  name: "SmolLM2 135M Instruct",
  description: "",
  languages: "",
  license: "Apache-2.0",
  parametersB: null,
  quantization: null,
  size: 152_000_000,
  approxTokensPerS: null,
  installed: true,
  downloadable: false,
});

function ev(model: string, bytes: number, total: number | null): ModelDownloadEvent {
  return { model, file: "onnx/model_q4.onnx", bytes, total };
}

function row(root: ParentNode, id: string): HTMLElement {
  const r = root.querySelector<HTMLElement>(`#answer-model-list [data-model-id="${id}"]`);
  if (!r) throw new Error(`no row ${id}`);
  return r;
}

function buttons(r: HTMLElement): string[] {
  return [...r.querySelectorAll("button")].map((b) => b.textContent ?? "");
}

function click(r: HTMLElement, text: string): void {
  const b = [...r.querySelectorAll<HTMLButtonElement>("button")].find((x) => x.textContent === text);
  if (!b) throw new Error(`no button ${text} in ${buttons(r).join(", ")}`);
  b.click();
}

/** A backend over a mutable list: Use and Remove change it as the app's commands do. */
function setup(entries: AnswerModelEntry[]) {
  let models = entries.map((e) => ({ ...e }));
  const download = deferred<void>();
  const backend = {
    list: vi.fn(async () => models.map((m) => ({ ...m }))),
    download: vi.fn(() => download.promise),
    cancel: vi.fn(async () => true),
    use: vi.fn(async (id: string) => {
      models = models.map((m) => ({ ...m, active: m.id === id }));
    }),
    remove: vi.fn(async (id: string) => {
      models = models.map((m) => (m.id === id ? { ...m, installed: false, active: false, removable: false } : m));
    }),
  } satisfies AnswerModelsBackend;
  const changed = vi.fn();
  const list = new AnswerModelList(backend, changed);
  document.body.append(list.element);
  return {
    backend,
    list,
    download,
    changed,
    setModels: (m: AnswerModelEntry[]) => (models = m),
  };
}

afterEach(() => document.body.replaceChildren());

describe("answer model facts", () => {
  it("says parameters, quantization, size, expected speed and licence", () => {
    expect(answerModelFacts(makeAnswerModel())).toBe(
      "English, Chinese and 27 more languages · 0.49B parameters · 4-bit weights · 763 MB download · about 20 tokens/s on a 2-core laptop · Apache-2.0 licence",
    );
    expect(answerModelFacts(large)).toContain("1.5B parameters · 4-bit weights · 1.7 GB download · about 7 tokens/s on a 2-core laptop");
    // Installed: the size is what it takes on disk, not a download.
    expect(answerModelFacts(small)).toContain("· 763 MB ·");
    expect(answerModelFacts(local)).toBe("145 MB · Apache-2.0 licence");
    expect(answerModelFacts({ ...local, size: null, license: null })).toBe("Installed on this computer");
    expect([0.49, 0.5, 1.54, 7].map(formatParameters)).toEqual(["0.49B", "0.5B", "1.5B", "7B"]);
  });
});

describe("AnswerModelList", () => {
  it("marks the model Ask uses and offers Download only for the others", async () => {
    const { list, backend } = setup([small, large, local]);
    await list.refresh();
    const active = row(list.element, small.id);
    expect(active.dataset.state).toBe("active");
    expect(active.querySelector(".model-badge.active")?.textContent).toBe("In use for Ask");
    expect(buttons(active)).toEqual(["Remove"]);
    expect(row(list.element, large.id).dataset.state).toBe("notDownloaded");
    expect(buttons(row(list.element, large.id))).toEqual(["Download"]);
    expect(row(list.element, large.id).querySelector(".model-description")?.textContent).toBe(large.description);
    // A model the manifest does not list: installed, usable, never removed by Sift.
    expect(row(list.element, local.id).dataset.state).toBe("installed");
    expect(buttons(row(list.element, local.id))).toEqual(["Use"]);
    expect(row(list.element, local.id).querySelector(".model-description")).toBeNull();
    expect(backend.download).not.toHaveBeenCalled();
  });

  it("downloads on a click with a progress bar and Cancel, then lists the model installed", async () => {
    const { list, backend, download, changed, setModels } = setup([small, large]);
    await list.refresh();
    click(row(list.element, large.id), "Download");
    expect(backend.download).toHaveBeenCalledWith(large.id);
    list.onProgress(ev(large.id, 450_000_000, 1_800_000_000));
    const r = row(list.element, large.id);
    expect(r.dataset.state).toBe("downloading");
    expect(r.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow")).toBe("25");
    expect(r.querySelector(".model-percent")?.textContent).toBe("25%");
    expect(buttons(r)).toEqual(["Cancel"]);
    // Another model's event (a search model downloading) does not touch this list.
    list.onProgress(ev("bge-small-en-v1.5", 1, 2));
    expect(row(list.element, large.id).querySelector(".model-percent")?.textContent).toBe("25%");

    setModels([small, { ...large, installed: true, removable: true }]);
    download.resolve();
    await flush(10);
    const done = row(list.element, large.id);
    expect(done.dataset.state).toBe("installed");
    expect(buttons(done)).toEqual(["Use", "Remove"]);
    expect(changed).toHaveBeenCalled();
  });

  it("Cancel stops the download and the row offers Download again", async () => {
    const { list, backend, download } = setup([small, large]);
    await list.refresh();
    click(row(list.element, large.id), "Download");
    list.onProgress(ev(large.id, 10, 100));
    click(row(list.element, large.id), "Cancel");
    await flush();
    expect(backend.cancel).toHaveBeenCalledTimes(1);
    download.reject({ kind: "other", message: "The download was cancelled.", details: "cancelled" } satisfies AppError);
    await flush(10);
    expect(row(list.element, large.id).dataset.state).toBe("notDownloaded");
    expect(row(list.element, large.id).querySelector(".error-note")).toBeNull();
  });

  it("Use switches Ask to the model at once and moves the mark", async () => {
    const { list, backend, changed } = setup([small, local]);
    await list.refresh();
    click(row(list.element, local.id), "Use");
    await flush(10);
    expect(backend.use).toHaveBeenCalledWith(local.id);
    expect(row(list.element, local.id).dataset.state).toBe("active");
    expect(row(list.element, small.id).dataset.state).toBe("installed");
    expect(changed).toHaveBeenCalledTimes(1);
  });

  it("a failed Use shows one sentence with Copy details on the row", async () => {
    const { list, backend } = setup([small, local]);
    await list.refresh();
    const message = "SmolLM2 135M Instruct is not installed; download it first.";
    backend.use.mockImplementation(async () => {
      throw { kind: "other", message, details: "model `smollm2-135m-instruct` was not found" } satisfies AppError;
    });
    click(row(list.element, local.id), "Use");
    await flush(10);
    const r = row(list.element, local.id);
    expect(r.querySelector(".error-message")?.textContent).toBe(message);
    expect(buttons(r)).toContain("Copy details");
    expect(r.dataset.state).toBe("installed");
  });

  it("Remove asks first; Keep leaves the model, confirming deletes the download", async () => {
    const { list, backend, changed } = setup([small, large]);
    await list.refresh();
    click(row(list.element, small.id), "Remove");
    expect(buttons(row(list.element, small.id))).toEqual(["Delete the download", "Keep"]);
    click(row(list.element, small.id), "Keep");
    expect(buttons(row(list.element, small.id))).toEqual(["Remove"]);
    expect(backend.remove).not.toHaveBeenCalled();
    click(row(list.element, small.id), "Remove");
    click(row(list.element, small.id), "Delete the download");
    await flush(10);
    expect(backend.remove).toHaveBeenCalledWith(small.id);
    expect(row(list.element, small.id).dataset.state).toBe("notDownloaded");
    expect(changed).toHaveBeenCalled();
  });

  it("renders names, descriptions and facts from the backend as text only", async () => {
    const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>`;
    const { list } = setup([makeAnswerModel({ name: evil, description: evil, languages: evil, license: evil, quantization: evil })]);
    await list.refresh();
    const r = row(list.element, "qwen2.5-0.5b-instruct");
    expect(r.querySelector("img, script")).toBeNull();
    expect(r.querySelector(".model-name")?.textContent).toBe(evil);
    expect(r.querySelector(".model-description")?.textContent).toBe(evil);
    expect(r.querySelector(".model-facts")?.textContent).toContain(evil);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });
});

describe("the Answer models section in the settings sheet", () => {
  function panel(answers: AnswerModelEntry[]) {
    const backend = {
      list: vi.fn(async () => answers.map((m) => ({ ...m }))),
      download: vi.fn(async () => {}),
      cancel: vi.fn(async () => true),
      use: vi.fn(async () => {}),
      remove: vi.fn(async () => {}),
    } satisfies AnswerModelsBackend;
    const section = new AnswerModelsSection(backend);
    const p = new SettingsPanel(
      {
        load: async () => ({
          model: "all-MiniLM-L6-v2",
          precision: "int8",
          models: [{ id: "all-MiniLM-L6-v2", name: "MiniLM", dim: 384, installed: true }],
          threads: 2,
          maxThreads: 4,
          excludes: [],
        }),
        save: async () => {},
      },
      () => {},
      undefined,
      [section],
    );
    document.body.append(p.element);
    return { backend, section, panel: p };
  }

  it("lists the answer models once the sheet is open; their downloads show in their row, not on the search model's line", async () => {
    const { backend, panel: p } = panel([small, large]);
    await p.open();
    await flush(10);
    expect(backend.list).toHaveBeenCalledTimes(1);
    expect(p.saveButton.disabled).toBe(false);
    const title = p.element.querySelector("#answer-models-title");
    expect(title?.textContent).toBe("Answer models");
    expect(row(p.element, large.id).dataset.state).toBe("notDownloaded");

    p.setDownload(ev(large.id, 900_000_000, 1_800_000_000));
    expect(row(p.element, large.id).dataset.state).toBe("downloading");
    expect(p.element.querySelector<HTMLElement>("#model-download")!.hidden).toBe(true);
    // A search model's download still shows on its line.
    p.setDownload({ model: "bge-small-en-v1.5", file: "model.onnx", bytes: 5, total: 10 });
    expect(p.element.querySelector<HTMLElement>("#model-download")!.hidden).toBe(false);
    expect(row(p.element, large.id).dataset.state).toBe("downloading");
  });

  it("a list that cannot be fetched says why and leaves the sheet usable", async () => {
    const { backend, panel: p } = panel([]);
    backend.list.mockImplementation(async () => {
      throw { kind: "other", message: "Sift hit an internal error; try again.", details: "x" } satisfies AppError;
    });
    await p.open();
    await flush(10);
    expect(p.saveButton.disabled).toBe(false);
    expect(p.element.querySelector("#answer-models .error-message")?.textContent).toBe("Sift hit an internal error; try again.");
  });
});
