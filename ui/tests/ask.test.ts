import { afterEach, describe, expect, it, vi } from "vitest";
import type { AskAnswer, AskRequest } from "../src/api";
import { mountApp, type AppHandle } from "../src/app";
import { AskView, NO_MODEL_HINT, askAvailability, renderAnswerText } from "../src/ask";
import { createFakeApi, deferred, flush, makeAnswer, makeAnswerModel, makeFolder, makeResult, press, typeInto, type FakeApi, type FakeOptions } from "./fakeApi";

let app: AppHandle | null = null;

const READY = { generator: { state: "ready" as const, model: "smollm2-135m-instruct", provider: "CPU" } };

async function mount(opts: FakeOptions = {}): Promise<{ api: FakeApi; root: HTMLElement; search: HTMLInputElement }> {
  const api = createFakeApi({ folders: [makeFolder()], ...opts });
  const root = document.body.appendChild(document.createElement("div"));
  app = mountApp(root, api, { pollMs: 0, debounceMs: 0 });
  await app.ready;
  return { api, root, search: root.querySelector<HTMLInputElement>("#search")! };
}

const q = <T extends Element = HTMLElement>(root: ParentNode, sel: string) => root.querySelector<T>(sel)!;

const passages = [
  makeResult({ path: "/home/u/Notes/lease.md", fileName: "lease.md" }, { text: "Notice is due sixty days before the end." }),
  makeResult({ path: "/home/u/Notes/budget.md", fileName: "budget.md" }, { text: "The travel budget stays flat." }),
  makeResult({ path: "/home/u/Notes/recipe.md", fileName: "recipe.md" }, { text: "Bake for forty minutes." }),
];

afterEach(() => {
  app?.destroy();
  app = null;
  document.body.replaceChildren();
  vi.useRealTimers();
});

describe("answer rendering", () => {
  it("turns citations of given passages into buttons, leaving other brackets as text", () => {
    const cited: number[] = [];
    const frag = renderAnswerText("Notice is sixty days [1], see also [2, 3]; not [4] or [0] or [x].", passages, (i) => cited.push(i));
    const div = document.createElement("div");
    div.appendChild(frag);
    const buttons = [...div.querySelectorAll<HTMLButtonElement>("button.citation")];
    expect(buttons.map((b) => b.textContent)).toEqual(["[1]", "[2]", "[3]"]);
    expect(buttons[0].getAttribute("aria-label")).toBe("Source 1: lease.md");
    expect(div.textContent).toBe("Notice is sixty days [1], see also [2][3]; not [4] or [0] or [x].");
    buttons[1].click();
    expect(cited).toEqual([1]);
  });

  it("renders hostile model output as text only", () => {
    const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script> [1]`;
    const div = document.createElement("div");
    div.appendChild(renderAnswerText(evil, passages, () => {}));
    expect(div.querySelector("img, script")).toBeNull();
    expect(div.textContent).toBe(evil);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("says how to get a model when none is installed: in the settings, never a developer script", () => {
    expect(askAvailability(undefined)).toEqual({ enabled: false, title: NO_MODEL_HINT });
    expect(NO_MODEL_HINT).toContain("Settings → Answer models");
    expect(NO_MODEL_HINT).not.toContain("setup.sh");
    const a = askAvailability({ state: "absent", hint: "Download one in Settings." });
    expect(a).toEqual({ enabled: false, title: "Download one in Settings." });
    expect(askAvailability(READY.generator).enabled).toBe(true);
    expect(askAvailability({ state: "loading", model: "m" }).enabled).toBe(true);
  });
});

describe("AskView", () => {
  function view(ask: (req: AskRequest) => Promise<AskAnswer>) {
    const cb = { ask: vi.fn(ask), stop: vi.fn(async () => true), onAnswer: vi.fn(), onCite: vi.fn() };
    const v = new AskView(cb);
    document.body.appendChild(v.element);
    return { v, cb };
  }

  it("streams text nodes with a Stop button, then shows the checked answer", async () => {
    const d = deferred<AskAnswer>();
    const { v, cb } = view(() => d.promise);
    const done = v.ask("when is notice due?", null, []);
    const stop = q<HTMLButtonElement>(v.element, "#ask-stop");
    expect(v.element.hidden).toBe(false);
    expect(v.element.getAttribute("aria-live")).toBe("polite");
    expect(v.element.textContent).toContain("Draft answer — check the sources");
    expect(v.state).toBe("streaming");
    expect(stop.hidden).toBe(false);
    v.onProgress({ id: 1, text: "Notice <b>is</b>" });
    v.onProgress({ id: 99, text: "from another question" });
    v.onProgress({ id: 1, text: " sixty days [1]." });
    const text = q(v.element, "#answer-text");
    expect(text.textContent).toBe("Notice <b>is</b> sixty days [1].");
    expect(text.querySelector("b")).toBeNull();
    d.resolve(makeAnswer({ id: 1, answer: "Notice is sixty days [1].", passages, citations: [1] }));
    await done;
    expect(v.state).toBe("answered");
    expect(stop.hidden).toBe(true);
    expect(cb.onAnswer).toHaveBeenCalledTimes(1);
    q<HTMLButtonElement>(text, "button.citation").click();
    expect(cb.onCite).toHaveBeenCalledWith(0);
    // Text arriving after the answer is ignored.
    v.onProgress({ id: 1, text: "late" });
    expect(text.textContent).toBe("Notice is sixty days [1].");
  });

  it("Stop asks the backend to stop; a stopped answer says so", async () => {
    const d = deferred<AskAnswer>();
    const { v, cb } = view(() => d.promise);
    const done = v.ask("q", null, []);
    q<HTMLButtonElement>(v.element, "#ask-stop").click();
    expect(cb.stop).toHaveBeenCalledTimes(1);
    expect(q<HTMLButtonElement>(v.element, "#ask-stop").disabled).toBe(true);
    d.resolve(makeAnswer({ id: 1, status: "not_found", answer: "Not found in your files", citations: [], stopped: true, reason: "stopped before the answer was complete" }));
    await done;
    expect(v.state).toBe("stopped");
    expect(v.element.dataset.status).toBe("stopped");
    expect(q(v.element, "#answer-text").textContent).toBe("Not found in your files");
    expect(v.element.textContent).toContain("Stopped before the answer was complete.");
    expect(q<HTMLButtonElement>(v.element, "#ask-stop").hidden).toBe(true);
  });

  it("not found shows the sentence and the reason, with no citation links", async () => {
    const { v } = view(async (req) =>
      makeAnswer({ id: req.id, status: "not_found", answer: "Not found in your files", reason: "the answer cites no passage", citations: [], passages }),
    );
    await v.ask("q", null, []);
    expect(v.state).toBe("not_found");
    expect(q(v.element, "#answer-text").textContent).toBe("Not found in your files");
    expect(v.element.querySelector("button.citation")).toBeNull();
    expect(v.element.textContent).toContain("the answer cites no passage");
  });

  it("an error is one sentence in the area", async () => {
    const { v } = view(async () => {
      throw { kind: "other", message: "The answer could not be written.", details: "d" };
    });
    await v.ask("q", null, []);
    expect(v.state).toBe("error");
    expect(v.element.textContent).toContain("The answer could not be written.");
  });
});

describe("Ask mode in the app", () => {
  it("without a model the toggle is disabled and its hint opens the answer models in the settings", async () => {
    const { api, root, search } = await mount({
      status: { generator: { state: "absent", hint: NO_MODEL_HINT } },
      answerModels: [makeAnswerModel()],
    });
    const toggle = q<HTMLButtonElement>(root, "#ask-toggle");
    expect(toggle.getAttribute("aria-disabled")).toBe("true");
    expect(toggle.title).toBe(NO_MODEL_HINT);
    toggle.click();
    expect(toggle.getAttribute("aria-pressed")).toBe("false");
    const hint = q(root, "#ask-hint");
    expect(hint.hidden).toBe(false);
    expect(hint.textContent).toContain("Settings → Answer models");
    typeInto(search, "a question");
    press(search, "Enter", { ctrlKey: true, shiftKey: true });
    await flush();
    expect(api.ask).not.toHaveBeenCalled();

    // The hint's button opens the settings sheet with the answer models listed.
    q<HTMLButtonElement>(hint, "#ask-hint-settings").click();
    await vi.waitFor(() => expect(q(root, "#settings").hidden).toBe(false));
    await vi.waitFor(() => expect(root.querySelector('#answer-model-list [data-model-id="qwen2.5-0.5b-instruct"]')).not.toBeNull());
    expect(api.listAnswerModels).toHaveBeenCalled();
    expect(q(root, "#answer-models").textContent).toContain("Download");
  });

  it("the toggle switches to Ask; Enter asks, the model shows in the status line, citations select passages", async () => {
    const d = deferred<AskAnswer>();
    const { api, root, search } = await mount({ status: READY, ask: () => d.promise });
    expect(q(root, "#status-line").textContent).toContain("smollm2-135m-instruct (CPU)");
    const toggle = q<HTMLButtonElement>(root, "#ask-toggle");
    expect(toggle.getAttribute("aria-disabled")).toBe("false");
    toggle.click();
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
    typeInto(search, "when is notice due?");
    await flush();
    expect(api.search).not.toHaveBeenCalled(); // no search-as-you-type in Ask mode
    press(search, "Enter");
    await flush();
    expect(api.ask).toHaveBeenCalledWith({ id: 1, question: "when is notice due?", folder: null, kinds: [] });
    const area = q(root, "#answer");
    expect(area.hidden).toBe(false);
    api.emitAsk({ id: 1, text: "Notice is " });
    expect(q(area, "#answer-text").textContent).toBe("Notice is ");
    d.resolve(makeAnswer({ id: 1, question: "when is notice due?", answer: "Notice is sixty days [1]. Budget is flat [2].", citations: [1, 2], passages }));
    await vi.waitFor(() => expect(area.dataset.status).toBe("answered"));
    const items = [...root.querySelectorAll<HTMLElement>("#results .result")];
    expect(items.map((li) => li.dataset.path)).toEqual(passages.map((p) => p.path));
    expect(items.map((li) => li.classList.contains("cited"))).toEqual([true, true, false]);
    q<HTMLButtonElement>(area, 'button.citation[data-cite="2"]').click();
    expect(items[1].classList.contains("selected")).toBe(true);
    expect(items[0].classList.contains("selected")).toBe(false);
    expect(document.activeElement).toBe(items[1]);
  });

  it("Ctrl+Shift+Enter asks from search mode; not found still lists the passages", async () => {
    const { api, root, search } = await mount({
      status: READY,
      ask: async (req) => makeAnswer({ id: req.id, status: "not_found", answer: "Not found in your files", citations: [], reason: "the answer cites no passage", passages: passages.slice(0, 2) }),
    });
    typeInto(search, "something");
    press(search, "Enter", { ctrlKey: true, shiftKey: true });
    await vi.waitFor(() => expect(q(root, "#answer").dataset.status).toBe("not_found"));
    expect(api.ask).toHaveBeenCalledTimes(1);
    expect(q(root, "#ask-toggle").getAttribute("aria-pressed")).toBe("true");
    expect(q(root, "#answer-text").textContent).toBe("Not found in your files");
    expect(root.querySelectorAll("#results .result")).toHaveLength(2);
    expect(q(root, "#results").hidden).toBe(false);
  });

  it("leaving Ask mode stops a running question and searches again", async () => {
    const d = deferred<AskAnswer>();
    const { api, root, search } = await mount({ status: READY, ask: () => d.promise });
    q<HTMLButtonElement>(root, "#ask-toggle").click();
    typeInto(search, "q");
    press(search, "Enter");
    await flush();
    expect(q<HTMLButtonElement>(root, "#ask-stop").hidden).toBe(false);
    q<HTMLButtonElement>(root, "#ask-toggle").click();
    expect(api.stopAsk).toHaveBeenCalled();
    expect(q(root, "#answer").hidden).toBe(true);
    await vi.waitFor(() => expect(api.search).toHaveBeenCalled());
    d.resolve(makeAnswer({ id: 1 }));
    await flush();
    expect(q(root, "#answer").hidden).toBe(true);
  });
});
