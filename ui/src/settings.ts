// Settings sheet: embedding model and its precision, CPU threads, excluded patterns, and sections with their
// own backend (the answer models, models.ts; the desktop settings, desktop.ts).

import type { ModelDownloadEvent, Precision, Settings } from "./api";
import { h, replaceChildren } from "./dom";
import { basename, errorText, formatBytes } from "./format";
import { Modal } from "./modal";
import { ModelList, type ModelsBackend } from "./models";

/** One pattern per line; blank lines dropped, whitespace trimmed, duplicates removed. */
export function parseExcludes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const p = line.trim();
    if (p && !out.includes(p)) out.push(p);
  }
  return out;
}

/** The precision choices, as labelled in the settings sheet. */
export const PRECISIONS: { value: Precision; label: string }[] = [
  { value: "int8", label: "int8 — faster, same quality for most models" },
  { value: "fp32", label: "fp32 — full precision" },
];

export function parsePrecision(value: string, fallback: Precision): Precision {
  return value === "int8" || value === "fp32" ? value : fallback;
}

export function clampThreads(n: number, max: number): number {
  const hi = Math.max(1, Math.floor(max) || 1);
  if (!Number.isFinite(n)) return hi;
  return Math.max(1, Math.min(hi, Math.round(n)));
}

export function describeDownload(e: ModelDownloadEvent): { text: string; fraction: number | null } {
  const name = basename(e.file);
  if (e.total && e.total > 0) {
    const frac = Math.max(0, Math.min(1, e.bytes / e.total));
    return { text: `Downloading ${name}: ${formatBytes(e.bytes)} of ${formatBytes(e.total)}`, fraction: frac };
  }
  return { text: `Downloading ${name}: ${formatBytes(e.bytes)}`, fraction: null };
}

export interface SettingsBackend {
  load(): Promise<Settings>;
  save(settings: Settings): Promise<void>;
}

/** A part of the sheet with its own backend (e.g. the desktop settings in desktop.ts). */
export interface SettingsSection {
  readonly element: HTMLElement;
  /** Loads before the sheet's fields are enabled; a part without it fills in on its own (`opened`). */
  load?(): Promise<void>;
  /** The sheet opened and its fields are enabled. */
  opened?(): void;
  /** Saves; resolves to a warning sentence (the sheet then stays open to show it) or null. */
  save(): Promise<string | null>;
  /** A `sift://model-download` event; true when the model is this section's (the sheet's own line stays hidden). */
  onModelDownload?(e: ModelDownloadEvent): boolean;
}

export class SettingsPanel {
  readonly modal: Modal;
  readonly model: HTMLSelectElement;
  readonly precision: HTMLSelectElement;
  readonly threads: HTMLInputElement;
  readonly threadsValue: HTMLOutputElement;
  readonly excludes: HTMLTextAreaElement;
  readonly saveButton: HTMLButtonElement;
  private readonly note: HTMLElement;
  private readonly error: HTMLElement;
  private readonly download: HTMLElement;
  private readonly downloadText: HTMLElement;
  private readonly downloadBar: HTMLElement;
  private readonly fields: HTMLFieldSetElement;
  private loaded: Settings | null = null;
  /** The model list with sizes, languages and Download / Cancel / Use (when a models backend is given). */
  readonly models: ModelList | null;

  constructor(
    private readonly backend: SettingsBackend,
    private readonly onSaved: (s: Settings) => void,
    models?: ModelsBackend,
    private readonly sections: SettingsSection[] = [],
  ) {
    this.modal = new Modal("settings", "Settings");
    this.model = h("select", { id: "setting-model", attrs: { name: "model" } });
    this.precision = h(
      "select",
      { id: "setting-precision", attrs: { name: "precision" } },
      ...PRECISIONS.map((p) => h("option", { text: p.label, attrs: { value: p.value } })),
    );
    this.threads = h("input", { id: "setting-threads", attrs: { type: "range", min: 1, max: 1, step: 1, name: "threads" } });
    this.threadsValue = h("output", { id: "setting-threads-value", class: "range-value", attrs: { for: "setting-threads" } });
    this.excludes = h("textarea", {
      id: "setting-excludes",
      attrs: { rows: 6, spellcheck: "false", name: "excludes", placeholder: "node_modules\n.git\n*.log\n**/build/**" },
    });
    this.note = h("p", { class: "field-note warning", hidden: true, text: "Changing the model or its precision re-indexes every folder." });
    this.error = h("p", { id: "settings-error", class: "form-error", hidden: true, attrs: { role: "alert" } });
    this.downloadText = h("span", { class: "download-text" });
    this.downloadBar = h("div", { class: "progress-bar" });
    this.download = h(
      "div",
      { id: "model-download", class: "download", hidden: true },
      this.downloadText,
      h("div", { class: "progress" }, this.downloadBar),
    );

    this.models = models
      ? new ModelList(models, (id) => {
          this.model.value = id;
          this.updateNote();
          this.model.focus();
        })
      : null;
    this.model.addEventListener("change", () => this.updateNote());
    this.precision.addEventListener("change", () => this.updateNote());
    this.threads.addEventListener("input", () => (this.threadsValue.value = this.threads.value));

    this.fields = h(
      "fieldset",
      { class: "settings-fields" },
      h(
        "div",
        { class: "field" },
        h("label", { text: "Embedding model", attrs: { for: "setting-model" } }),
        this.model,
        h("p", { class: "field-note", text: "Models run entirely on this computer. Ones not yet downloaded are fetched once." }),
        this.note,
        this.download,
        ...(this.models ? [this.models.element] : []),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { text: "Model precision", attrs: { for: "setting-precision" } }),
        this.precision,
        h("p", { class: "field-note", text: "Applies to the current model; a newly chosen model starts at its own default." }),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { text: "CPU threads for indexing", attrs: { for: "setting-threads" } }),
        h("div", { class: "range-row" }, this.threads, this.threadsValue),
        h("p", { class: "field-note", text: "Fewer threads keep the computer responsive while indexing." }),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { text: "Excluded patterns", attrs: { for: "setting-excludes" } }),
        this.excludes,
        h("p", { class: "field-note", text: "One glob pattern per line. Matching files and folders are never read." }),
      ),
    );
    for (const section of sections) this.fields.appendChild(section.element);
    const form = h("form", { id: "settings-form", class: "settings-form", attrs: { novalidate: true } }, this.fields, this.error);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.save();
    });
    this.modal.body.appendChild(form);

    const cancel = h("button", { class: "button", text: "Cancel", attrs: { type: "button" } });
    cancel.addEventListener("click", () => this.modal.close());
    this.saveButton = h("button", {
      id: "settings-save",
      class: "button primary",
      text: "Save",
      attrs: { type: "submit", form: "settings-form" },
    });
    this.saveButton.addEventListener("click", (e) => {
      // The button sits in the modal footer (associated via form=); handle it here so we save exactly once.
      e.preventDefault();
      void this.save();
    });
    this.modal.footer.append(cancel, this.saveButton);
  }

  get element(): HTMLElement {
    return this.modal.overlay;
  }

  async open(): Promise<void> {
    this.error.hidden = true;
    this.setLoading(true);
    this.modal.open(this.modal.panel.querySelector<HTMLElement>(".modal-close"));
    try {
      const loading = this.sections.filter((x) => x.load);
      const sections = Promise.all(loading.map((x) => x.load?.()));
      sections.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      this.fill(await this.backend.load());
      if (loading.length) await sections;
      this.setLoading(false);
      void this.models?.refresh().catch(() => {
        /* the list is extra: the model field still works */
      });
      for (const section of this.sections) section.opened?.();
      this.model.focus();
    } catch (err) {
      this.showError(`Could not load settings: ${errorText(err)}`);
    }
  }

  private setLoading(loading: boolean): void {
    this.fields.disabled = loading;
    this.fields.classList.toggle("loading", loading);
    this.saveButton.disabled = loading;
  }

  fill(s: Settings): void {
    this.loaded = s;
    const models = s.models.length ? s.models : [{ id: s.model, name: s.model, dim: 0, installed: true }];
    replaceChildren(
      this.model,
      ...models.map((m) =>
        h("option", {
          text: `${m.name}${m.dim ? ` · ${m.dim}-d` : ""}${m.installed ? "" : " · needs download"}`,
          attrs: { value: m.id },
        }),
      ),
    );
    this.model.value = s.model;
    this.precision.value = s.precision;
    const max = Math.max(1, s.maxThreads || 1);
    this.threads.max = String(max);
    this.threads.value = String(clampThreads(s.threads, max));
    this.threadsValue.value = this.threads.value;
    this.excludes.value = s.excludes.join("\n");
    this.updateNote();
  }

  /** The settings object sent to set_settings: everything we loaded, with the edited fields replaced. */
  collect(): Settings | null {
    if (!this.loaded) return null;
    return {
      ...this.loaded,
      model: this.model.value || this.loaded.model,
      precision: parsePrecision(this.precision.value, this.loaded.precision),
      threads: clampThreads(Number(this.threads.value), this.loaded.maxThreads),
      excludes: parseExcludes(this.excludes.value),
    };
  }

  async save(): Promise<void> {
    const s = this.collect();
    if (!s) return;
    this.saveButton.disabled = true;
    this.error.hidden = true;
    try {
      await this.backend.save(s);
      this.loaded = s;
      const warnings = [];
      for (const section of this.sections) {
        const warning = await section.save();
        if (warning) warnings.push(warning);
      }
      this.onSaved(s);
      // A warning (a shortcut another app holds) is shown in its section; the sheet stays open for it.
      if (!warnings.length) this.modal.close();
    } catch (err) {
      this.showError(`Could not save settings: ${errorText(err)}`);
    } finally {
      this.saveButton.disabled = false;
    }
  }

  setDownload(e: ModelDownloadEvent | null): void {
    if (e) this.models?.onProgress(e);
    // A section's own model (an answer model) shows its progress in its row only, not on the search model's line.
    const elsewhere = e !== null && this.sections.some((x) => x.onModelDownload?.(e) === true);
    if (!e || elsewhere || (e.total !== null && e.total > 0 && e.bytes >= e.total)) {
      this.download.hidden = true;
      return;
    }
    const d = describeDownload(e);
    this.download.hidden = false;
    this.downloadText.textContent = d.text;
    this.downloadBar.parentElement!.classList.toggle("indeterminate", d.fraction === null);
    this.downloadBar.style.setProperty("--progress", String(d.fraction ?? 0));
  }

  private updateNote(): void {
    this.note.hidden =
      !this.loaded || (this.model.value === this.loaded.model && this.precision.value === this.loaded.precision);
  }

  private showError(text: string): void {
    this.error.textContent = text;
    this.error.hidden = false;
  }
}
