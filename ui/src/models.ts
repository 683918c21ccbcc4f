// The settings sheet's model lists, one row per model with its facts and state — not downloaded ("Download",
// only on the user's click), downloading (bar with % and "Cancel"), installed ("Use"), active, or failed (one
// sentence with "Copy details"). The search models (`ModelList`): "Use" picks one in the model field, and
// saving switches and re-indexes. The answer models behind Ask (`AnswerModelList`, in the sheet as
// `AnswerModelsSection`): parameters, quantization, size, expected speed and licence; "Use" switches Ask at
// once, and a downloaded one can be removed. Both share the row and download code (`ModelRows`); all text
// reaches the DOM as text nodes.

import type { AnswerModelEntry, ModelDownloadEvent, ModelEntry } from "./api";
import { h, replaceChildren } from "./dom";
import { errorNote } from "./errors";
import { formatBytes } from "./format";
import type { SettingsSection } from "./settings";

/** What a list row needs from a model (a search model or an answer model). */
export interface ListedModel {
  id: string;
  name: string;
  description: string;
  installed: boolean;
  active: boolean;
  downloadable: boolean;
}

export interface ModelsBackend<E extends ListedModel = ModelEntry> {
  list(): Promise<E[]>;
  download(id: string): Promise<void>;
  cancel(): Promise<boolean>;
}

/** A download the list started (or saw events for). */
export interface DownloadState {
  id: string;
  event: ModelDownloadEvent | null;
}

export type ModelRowState =
  | { kind: "active" }
  | { kind: "installed" }
  | { kind: "notDownloaded" }
  | { kind: "unavailable" }
  | { kind: "downloading"; percent: number | null }
  | { kind: "failed"; error: unknown };

/** What a row shows, from the model, the running download and the last failure per model. */
export function modelState(m: ListedModel, download: DownloadState | null, failure?: unknown): ModelRowState {
  if (download && download.id === m.id) {
    const e = download.event;
    const percent = e && e.total && e.total > 0 ? Math.max(0, Math.min(100, Math.floor((e.bytes / e.total) * 100))) : null;
    return { kind: "downloading", percent };
  }
  if (m.active) return { kind: "active" };
  if (m.installed) return { kind: "installed" };
  if (failure !== undefined) return { kind: "failed", error: failure };
  return m.downloadable ? { kind: "notDownloaded" } : { kind: "unavailable" };
}

/** "English · 384 dimensions · 133 MB download" (or "included with Sift"). */
export function modelFacts(m: ModelEntry): string {
  const size = m.bundled ? "included with Sift" : m.size ? `${formatBytes(m.size)} download` : "download";
  return `${m.languages} · ${m.dim} dimensions · ${size}`;
}

/** A list of models with the one download at a time; subclasses say what a row's facts are and what "Use" does. */
export abstract class ModelRows<E extends ListedModel> {
  readonly element: HTMLElement;
  protected entries: E[] = [];
  private download: DownloadState | null = null;
  protected readonly failures = new Map<string, unknown>();
  private cancelling = false;
  /** The running download was started here (its promise says when it ends), not seen through events only. */
  private own = false;
  /** What the active row's badge says. */
  protected activeLabel = "Active";

  constructor(
    private readonly backend: ModelsBackend<E>,
    id: string,
    label: string,
  ) {
    this.element = h("ul", { id, class: "model-list", attrs: { "aria-label": label } });
  }

  /** The line of facts under a model's name. */
  protected abstract facts(m: E): string;

  /** "Use" on an installed model. */
  protected abstract use(id: string): void;

  /** Buttons a row has besides the state's own (e.g. "Remove"). */
  protected extraActions(_m: E, _state: ModelRowState): HTMLElement[] {
    return [];
  }

  async refresh(): Promise<void> {
    this.setEntries(await this.backend.list());
  }

  setEntries(entries: E[]): void {
    this.entries = entries;
    this.render();
  }

  /** Whether `id` is one of this list's models. */
  has(id: string): boolean {
    return this.entries.some((m) => m.id === id);
  }

  /** A `sift://model-download` event (from this list's download, the first-run screen or a settings switch). */
  onProgress(e: ModelDownloadEvent): void {
    if (!e.model || !this.has(e.model)) return;
    const finished = e.total !== null && e.total > 0 && e.bytes >= e.total;
    if (this.download && this.download.id !== e.model) return;
    if (finished && !this.own) {
      // A download started elsewhere ended: show the model as installed.
      this.download = null;
      void this.refresh().catch(() => this.render());
      return;
    }
    this.download = { id: e.model, event: e };
    this.render();
  }

  state(id: string): ModelRowState | null {
    const m = this.entries.find((x) => x.id === id);
    return m ? modelState(m, this.download, this.failures.get(id)) : null;
  }

  async start(id: string): Promise<void> {
    if (this.download) return;
    this.failures.delete(id);
    this.cancelling = false;
    this.own = true;
    this.download = { id, event: null };
    this.render();
    try {
      await this.backend.download(id);
      this.download = null;
      this.own = false;
      await this.refresh().catch(() => this.render());
      this.downloaded(id);
    } catch (err) {
      this.download = null;
      this.own = false;
      if (!this.cancelling) this.failures.set(id, err);
      this.render();
    }
  }

  /** A download started here finished and the list was fetched again. */
  protected downloaded(_id: string): void {}

  async cancel(): Promise<void> {
    if (!this.download) return;
    this.cancelling = true;
    await this.backend.cancel().catch(() => false);
  }

  protected render(): void {
    replaceChildren(this.element, ...this.entries.map((m) => this.row(m)));
  }

  private row(m: E): HTMLElement {
    const state = modelState(m, this.download, this.failures.get(m.id));
    const action = h("div", { class: "model-action" });
    switch (state.kind) {
      case "active":
        action.append(h("span", { class: "model-badge active", text: this.activeLabel }));
        break;
      case "installed": {
        const use = h("button", { class: "button small", text: "Use", attrs: { type: "button", "aria-label": `Use ${m.name}` } });
        use.addEventListener("click", () => this.use(m.id));
        action.append(h("span", { class: "model-badge", text: "Installed" }), use);
        break;
      }
      case "notDownloaded":
      case "failed": {
        const label = state.kind === "failed" ? "Try again" : "Download";
        const download = h("button", { class: "button small", text: label, attrs: { type: "button", "aria-label": `${label}: ${m.name}` } });
        download.disabled = this.download !== null;
        download.addEventListener("click", () => void this.start(m.id));
        if (state.kind === "failed") action.append(errorNote(state.error, { class: "model-error" }));
        action.append(download);
        break;
      }
      case "unavailable":
        action.append(h("span", { class: "model-badge muted", text: "Not available for download yet" }));
        break;
      case "downloading": {
        const pct = state.percent;
        const bar = h("div", { class: "progress-bar" });
        bar.style.setProperty("--progress", String((pct ?? 0) / 100));
        const progress = h("div", {
          class: `progress${pct === null ? " indeterminate" : ""}`,
          attrs: { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": `Downloading ${m.name}` },
        }, bar);
        if (pct !== null) progress.setAttribute("aria-valuenow", String(pct));
        const cancel = h("button", { class: "button small", text: "Cancel", attrs: { type: "button" } });
        cancel.addEventListener("click", () => void this.cancel());
        action.append(progress, h("span", { class: "model-percent", text: pct === null ? "Starting…" : `${pct}%` }), cancel);
        break;
      }
    }
    // An installed model's last "Use" or "Remove" failed.
    const failure = this.failures.get(m.id);
    if ((state.kind === "active" || state.kind === "installed") && failure !== undefined) action.prepend(errorNote(failure, { class: "model-error" }));
    action.append(...this.extraActions(m, state));
    return h(
      "li",
      { class: "model-row", attrs: { "data-model-id": m.id, "data-state": state.kind } },
      h("div", { class: "model-name", text: m.name }),
      h("div", { class: "model-facts", text: this.facts(m) }),
      m.description ? h("div", { class: "model-description", text: m.description }) : null,
      action,
    );
  }
}

/** The search models: "Use" picks one in the settings form (saving switches and re-indexes). */
export class ModelList extends ModelRows<ModelEntry> {
  constructor(
    backend: ModelsBackend<ModelEntry>,
    /** "Use": pick this model in the settings form. */
    private readonly onUse: (id: string) => void,
  ) {
    super(backend, "model-list", "Models");
  }

  protected facts(m: ModelEntry): string {
    return modelFacts(m);
  }

  protected use(id: string): void {
    this.onUse(id);
  }
}

/** "0.49B" / "1.5B" parameters. */
export function formatParameters(billions: number): string {
  return `${billions < 1 ? billions.toFixed(2).replace(/0$/, "") : billions.toFixed(1).replace(/\.0$/, "")}B`;
}

/**
 * "English, Chinese and 27 more languages · 0.49B parameters · 4-bit weights · 763 MB download · about 20
 * tokens/s on a 2-core laptop · Apache-2.0 licence"; facts the entry does not have are left out.
 */
export function answerModelFacts(m: AnswerModelEntry): string {
  const parts: string[] = [];
  if (m.languages) parts.push(m.languages);
  if (m.parametersB) parts.push(`${formatParameters(m.parametersB)} parameters`);
  if (m.quantization) parts.push(m.quantization);
  if (m.size) parts.push(m.installed ? formatBytes(m.size) : `${formatBytes(m.size)} download`);
  if (m.approxTokensPerS) parts.push(`about ${Math.round(m.approxTokensPerS)} tokens/s on a 2-core laptop`);
  if (m.license) parts.push(`${m.license} licence`);
  return parts.join(" · ") || "Installed on this computer";
}

export interface AnswerModelsBackend extends ModelsBackend<AnswerModelEntry> {
  /** Make Ask use this installed model. */
  use(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** The answer models behind Ask: "Use" switches at once; a downloaded one can be removed (asked twice). */
export class AnswerModelList extends ModelRows<AnswerModelEntry> {
  /** The row whose "Remove" was clicked once: it now asks to confirm. */
  private confirming: string | null = null;
  private busy = false;

  constructor(
    private readonly answers: AnswerModelsBackend,
    /** The model Ask uses changed (or may have): the status shows it loading. */
    private readonly onChange: () => void = () => {},
  ) {
    super(answers, "answer-model-list", "Answer models");
    this.activeLabel = "In use for Ask";
  }

  protected facts(m: AnswerModelEntry): string {
    return answerModelFacts(m);
  }

  protected use(id: string): void {
    void this.act(id, () => this.answers.use(id));
  }

  protected override downloaded(): void {
    this.onChange();
  }

  /** Runs a Use or Remove: the list is fetched again after it, a failure shown on the row. */
  private async act(id: string, run: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.confirming = null;
    this.failures.delete(id);
    try {
      await run();
    } catch (err) {
      this.failures.set(id, err);
    } finally {
      this.busy = false;
    }
    await this.refresh().catch(() => this.render());
    this.onChange();
  }

  protected override extraActions(m: AnswerModelEntry, state: ModelRowState): HTMLElement[] {
    if (!m.removable || (state.kind !== "active" && state.kind !== "installed")) return [];
    if (this.confirming !== m.id) {
      const remove = h("button", { class: "button small", text: "Remove", attrs: { type: "button", "aria-label": `Remove ${m.name}` } });
      remove.addEventListener("click", () => {
        this.confirming = m.id;
        this.render();
      });
      return [remove];
    }
    const sure = h("button", { class: "button small danger", text: "Delete the download", attrs: { type: "button", "aria-label": `Delete the download of ${m.name}` } });
    sure.addEventListener("click", () => void this.act(m.id, () => this.answers.remove(m.id)));
    const keep = h("button", { class: "button small", text: "Keep", attrs: { type: "button" } });
    keep.addEventListener("click", () => {
      this.confirming = null;
      this.render();
    });
    return [sure, keep];
  }
}

/** The settings sheet's "Answer models" section; its list refreshes when the sheet opens. */
export class AnswerModelsSection implements SettingsSection {
  readonly element: HTMLElement;
  readonly list: AnswerModelList;
  private readonly error: HTMLElement;

  constructor(backend: AnswerModelsBackend, onChange?: () => void) {
    this.list = new AnswerModelList(backend, onChange);
    this.error = h("div", { class: "model-error", hidden: true });
    this.element = h(
      "div",
      { id: "answer-models", class: "field", attrs: { role: "group", "aria-labelledby": "answer-models-title" } },
      h("span", { id: "answer-models-title", class: "field-title", text: "Answer models" }),
      h("p", { class: "field-note", text: "Ask drafts an answer from the passages Sift finds with one of these, on this computer. Speeds are rough figures; “Use” switches Ask at once." }),
      this.error,
      this.list.element,
    );
  }

  /** Fetches the list once the sheet is open; the sheet does not wait for it (like the search models'). */
  opened(): void {
    void this.refresh();
  }

  /** Fetches the list; a failure is shown in the section, and the rest of the sheet still works. */
  async refresh(): Promise<void> {
    try {
      await this.list.refresh();
      this.error.hidden = true;
    } catch (err) {
      replaceChildren(this.error, errorNote(err));
      this.error.hidden = false;
    }
  }

  async save(): Promise<string | null> {
    return null;
  }

  onModelDownload(e: ModelDownloadEvent): boolean {
    if (!this.list.has(e.model)) return false;
    this.list.onProgress(e);
    return true;
  }
}
