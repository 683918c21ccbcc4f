// The settings sheet's model list: each model's size, languages, dimension and what it is good at, and its
// state — not downloaded ("Download", only on the user's click), downloading (bar with % and "Cancel"),
// installed ("Use", which picks it in the model field; saving switches and re-indexes), active, or failed
// (one sentence with "Copy details").

import type { ModelDownloadEvent, ModelEntry } from "./api";
import { h, replaceChildren } from "./dom";
import { errorNote } from "./errors";
import { formatBytes } from "./format";

export interface ModelsBackend {
  list(): Promise<ModelEntry[]>;
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
export function modelState(m: ModelEntry, download: DownloadState | null, failure?: unknown): ModelRowState {
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

export class ModelList {
  readonly element: HTMLElement;
  private entries: ModelEntry[] = [];
  private download: DownloadState | null = null;
  private readonly failures = new Map<string, unknown>();
  private cancelling = false;
  /** The running download was started here (its promise says when it ends), not seen through events only. */
  private own = false;

  constructor(
    private readonly backend: ModelsBackend,
    /** "Use": pick this model in the settings form. */
    private readonly onUse: (id: string) => void,
  ) {
    this.element = h("ul", { id: "model-list", class: "model-list", attrs: { "aria-label": "Models" } });
  }

  async refresh(): Promise<void> {
    this.setEntries(await this.backend.list());
  }

  setEntries(entries: ModelEntry[]): void {
    this.entries = entries;
    this.render();
  }

  /** A `sift://model-download` event (from this list's download, the first-run screen or a settings switch). */
  onProgress(e: ModelDownloadEvent): void {
    if (!e.model || !this.entries.some((m) => m.id === e.model)) return;
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
    } catch (err) {
      this.download = null;
      this.own = false;
      if (!this.cancelling) this.failures.set(id, err);
      this.render();
    }
  }

  async cancel(): Promise<void> {
    if (!this.download) return;
    this.cancelling = true;
    await this.backend.cancel().catch(() => false);
  }

  private render(): void {
    replaceChildren(this.element, ...this.entries.map((m) => this.row(m)));
  }

  private row(m: ModelEntry): HTMLElement {
    const state = modelState(m, this.download, this.failures.get(m.id));
    const action = h("div", { class: "model-action" });
    switch (state.kind) {
      case "active":
        action.append(h("span", { class: "model-badge active", text: "Active" }));
        break;
      case "installed": {
        const use = h("button", { class: "button small", text: "Use", attrs: { type: "button", "aria-label": `Use ${m.name}` } });
        use.addEventListener("click", () => this.onUse(m.id));
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
    return h(
      "li",
      { class: "model-row", attrs: { "data-model-id": m.id, "data-state": state.kind } },
      h("div", { class: "model-name", text: m.name }),
      h("div", { class: "model-facts", text: modelFacts(m) }),
      h("div", { class: "model-description", text: m.description }),
      action,
    );
  }
}
