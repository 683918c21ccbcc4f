// Ask mode's answer area: the draft streams in as text nodes, a Stop button while it does, then the checked
// answer with its citations as buttons that select the cited passage in the results list below. Model output
// is untrusted text like file content: it only reaches the DOM through text nodes.

import type { AskAnswer, AskProgressEvent, AskRequest, GeneratorState, SearchResult } from "./api";
import { h, replaceChildren, type Child } from "./dom";
import { errorNote } from "./errors";

export const DRAFT_LABEL = "Draft answer — check the sources";
/** The absent hint when the backend gives none (it says the same: ask.rs `NO_MODEL_HINT`). */
export const NO_MODEL_HINT = "Asking needs an answer model: download one in Settings → Answer models, then ask again; search works without it.";
export const NOT_FOUND_TEXT = "Not found in your files";

/** What the area shows: `stopped` and `not_found` both say "Not found in your files". */
export type AskViewState = "idle" | "streaming" | "answered" | "not_found" | "stopped" | "error";

export interface AskViewCallbacks {
  ask(req: AskRequest): Promise<AskAnswer>;
  stop(): Promise<boolean>;
  /** The final answer arrived: show its passages in the list under it. */
  onAnswer(answer: AskAnswer): void;
  /** Citation `[n]` was clicked: select passage `index` (n - 1) in the list. */
  onCite(index: number): void;
  /** A question started (the list under the answer is cleared). */
  onStart?(question: string): void;
}

/**
 * The answer text with every `[n]` (or `[n, m]`) that names a given passage as a citation button; anything
 * else, including numbers out of range, stays plain text.
 */
export function renderAnswerText(text: string, passages: SearchResult[], onCite: (index: number) => void): DocumentFragment {
  const frag = document.createDocumentFragment();
  const re = /\[(\s*\d+\s*(?:,\s*\d+\s*)*)\]/g;
  let pos = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const numbers = m[1].split(",").map((n) => Number(n.trim()));
    if (!numbers.every((n) => Number.isInteger(n) && n >= 1 && n <= passages.length)) continue;
    if (m.index > pos) frag.appendChild(document.createTextNode(text.slice(pos, m.index)));
    for (const n of numbers) {
      const p = passages[n - 1];
      const name = p.fileName || p.path;
      const btn = h("button", {
        class: "citation",
        text: `[${n}]`,
        title: `Source ${n}: ${name}`,
        attrs: { type: "button", "aria-label": `Source ${n}: ${name}`, "data-cite": String(n) },
      });
      btn.addEventListener("click", () => onCite(n - 1));
      frag.appendChild(btn);
    }
    pos = m.index + m[0].length;
  }
  if (pos < text.length) frag.appendChild(document.createTextNode(text.slice(pos)));
  return frag;
}

/** Whether Ask can be used, and what its toggle says. */
export function askAvailability(g: GeneratorState | undefined | null): { enabled: boolean; title: string } {
  if (!g || g.state === "absent") {
    return { enabled: false, title: g?.hint || NO_MODEL_HINT };
  }
  switch (g.state) {
    case "loading":
      return { enabled: true, title: `Ask your files (answer model ${g.model} is loading)` };
    case "ready":
      return { enabled: true, title: `Ask your files (Ctrl/⌘+Shift+Enter): ${g.model} drafts an answer from the top passages (${g.provider})` };
    case "failed":
      return { enabled: true, title: `The answer model ${g.model} could not be loaded: ${g.reason} Asking tries again.` };
  }
}

/**
 * What the hint under the search box says when Ask cannot be used: the sentence, and without a model a button
 * that opens the settings at the answer models.
 */
export function askHintContent(g: GeneratorState | undefined | null, openAnswerModels: () => void): Child[] {
  const text = document.createTextNode(askAvailability(g).title);
  if (g && g.state !== "absent") return [text];
  const open = h("button", { id: "ask-hint-settings", class: "button small", text: "Open answer models", attrs: { type: "button" } });
  open.addEventListener("click", openAnswerModels);
  return [text, " ", open];
}

export class AskView {
  readonly element: HTMLElement;
  private readonly stateText: HTMLElement;
  private readonly stopBtn: HTMLButtonElement;
  private readonly text: HTMLElement;
  private readonly note: HTMLElement;
  private readonly meta: HTMLElement;
  private seq = 0;
  /** The id of the question shown now (0: none). */
  private current = 0;
  private _state: AskViewState = "idle";
  private _answer: AskAnswer | null = null;

  constructor(private readonly cb: AskViewCallbacks) {
    this.stateText = h("span", { class: "answer-state" });
    this.stopBtn = h("button", { id: "ask-stop", class: "button small", text: "Stop", hidden: true, attrs: { type: "button", "data-testid": "ask-stop" } });
    this.stopBtn.addEventListener("click", () => this.stop());
    this.text = h("p", { id: "answer-text", class: "answer-text", attrs: { "data-testid": "answer-text" } });
    this.note = h("p", { class: "answer-note", hidden: true });
    this.meta = h("p", { class: "answer-meta", hidden: true });
    this.element = h(
      "section",
      { id: "answer", class: "answer-area", hidden: true, attrs: { "aria-live": "polite", "aria-labelledby": "answer-label", "data-testid": "answer", "data-status": "idle" } },
      h("div", { class: "answer-head" }, h("span", { id: "answer-label", class: "answer-label", text: DRAFT_LABEL }), this.stateText, this.stopBtn),
      this.text,
      this.note,
      this.meta,
    );
  }

  get state(): AskViewState {
    return this._state;
  }

  get answer(): AskAnswer | null {
    return this._answer;
  }

  get streaming(): boolean {
    return this._state === "streaming";
  }

  /** Asks `question`; a question still running is dropped (the backend stops it). */
  async ask(question: string, folder: string | null, kinds: string[]): Promise<void> {
    const q = question.trim();
    if (q === "") return;
    const id = ++this.seq;
    this.current = id;
    this._answer = null;
    replaceChildren(this.text);
    this.note.hidden = true;
    this.meta.hidden = true;
    this.setState("streaming");
    this.element.hidden = false;
    this.cb.onStart?.(q);
    try {
      const answer = await this.cb.ask({ id, question: q, folder, kinds: [...kinds] });
      if (id !== this.current) return;
      this.show(answer);
    } catch (err) {
      if (id !== this.current) return;
      replaceChildren(this.note, errorNote(err, { class: "error-text" }));
      this.note.hidden = false;
      this.setState("error");
    }
  }

  /** A streamed piece of text: appended (as a text node) when it belongs to the question shown. */
  onProgress(e: AskProgressEvent): void {
    if (e.id !== this.current || this._state !== "streaming" || typeof e.text !== "string") return;
    this.text.appendChild(document.createTextNode(e.text));
  }

  stop(): void {
    if (this._state !== "streaming") return;
    this.stateText.textContent = "Stopping…";
    this.stopBtn.disabled = true;
    this.cb.stop().catch(() => {
      /* the answer still arrives; nothing else to do */
    });
  }

  /** Hides the area (search mode); a running question is stopped. */
  hide(): void {
    if (this._state === "streaming") this.stop();
    this.current = 0;
    this._answer = null;
    this.setState("idle");
    this.element.hidden = true;
  }

  private show(a: AskAnswer): void {
    this._answer = a;
    if (a.status === "answered") {
      replaceChildren(this.text, renderAnswerText(a.answer, a.passages ?? [], (i) => this.cb.onCite(i)));
      this.note.hidden = true;
      this.setState("answered");
    } else {
      replaceChildren(this.text, NOT_FOUND_TEXT);
      const why = a.stopped ? "Stopped before the answer was complete." : a.reason ? `The draft was not shown: ${a.reason}.` : "";
      this.note.textContent = why;
      this.note.hidden = why === "";
      this.setState(a.stopped ? "stopped" : "not_found");
    }
    const t = a.timings;
    const parts = [a.model && a.provider ? `${a.model} on ${a.provider}` : a.model];
    if (t && t.generatedTokens > 0) parts.push(`${t.generatedTokens} tokens in ${(t.totalMs / 1000).toFixed(1)} s`);
    this.meta.textContent = parts.filter(Boolean).join(" · ");
    this.meta.hidden = this.meta.textContent === "";
    this.cb.onAnswer(a);
  }

  private setState(s: AskViewState): void {
    this._state = s;
    this.element.dataset.status = s;
    this.element.setAttribute("aria-busy", String(s === "streaming"));
    this.stopBtn.hidden = s !== "streaming";
    this.stopBtn.disabled = false;
    this.stateText.textContent = s === "streaming" ? "Writing…" : s === "stopped" ? "Stopped" : "";
  }
}
