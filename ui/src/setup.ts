// The first-run screen: when something essential is missing (the model, ONNX Runtime) or the engine could
// not open, one calm screen says what and offers the fix ("Download the model", "Retry", "Copy details")
// instead of a red error.

import type { ErrorKind, ModelDownloadEvent } from "./api";
import { h, icon, replaceChildren } from "./dom";
import { copyDetailsButton, errorDetails, errorKind, errorMessage } from "./errors";
import { describeDownload } from "./settings";

/** Errors from `status` that mean the engine is unavailable, and this screen shows instead of the app. */
export function needsSetup(kind: ErrorKind): boolean {
  return kind === "modelMissing" || kind === "runtimeMissing" || kind === "engineFailed";
}

const TITLES: Record<ErrorKind, string> = {
  modelMissing: "Sift needs its search model",
  runtimeMissing: "Sift is missing one of its parts",
  engineFailed: "Sift could not open its index",
  other: "Sift could not start",
};

const NOTES: Record<ErrorKind, string> = {
  modelMissing: "The model is downloaded once from Hugging Face; after that, Sift works offline and nothing leaves this computer.",
  runtimeMissing: "Reinstalling Sift puts it back. Your folders and index are kept.",
  engineFailed: "Your files are not touched. Retry once the problem is fixed.",
  other: "Your files are not touched.",
};

export interface SetupBackend {
  retry(download: boolean): Promise<void>;
}

export class SetupView {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly message: HTMLElement;
  private readonly note: HTMLElement;
  private readonly actions: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly progressText: HTMLElement;
  private readonly progressBar: HTMLElement;
  private busy = false;
  private error: unknown = null;

  constructor(
    private readonly backend: SetupBackend,
    private readonly onReady: () => void,
  ) {
    this.title = h("h1", { id: "setup-title" });
    this.message = h("p", { id: "setup-message", class: "setup-message" });
    this.note = h("p", { class: "setup-note" });
    this.actions = h("div", { class: "setup-actions" });
    this.progressText = h("span", { class: "setup-progress-text" });
    this.progressBar = h("div", { class: "progress-bar" });
    this.progress = h(
      "div",
      { class: "setup-progress", hidden: true },
      this.progressText,
      h("div", { class: "progress", attrs: { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": "Model download" } }, this.progressBar),
    );
    this.element = h(
      "section",
      { id: "setup", class: "setup-screen", hidden: true, attrs: { "aria-labelledby": "setup-title", "data-testid": "setup" } },
      h("div", { class: "setup-card" }, icon("warning", "icon setup-icon"), this.title, this.message, this.note, this.progress, this.actions),
    );
  }

  get shown(): boolean {
    return !this.element.hidden;
  }

  /** Shows the screen for `err` (an error from `status`). Ignored while a retry runs. */
  show(err: unknown): void {
    if (this.busy) return;
    this.error = err;
    const kind = errorKind(err);
    this.element.dataset.kind = kind;
    this.title.textContent = TITLES[kind];
    const message = errorMessage(err);
    this.message.textContent = message;
    this.message.title = message;
    this.note.textContent = NOTES[kind];
    const buttons: HTMLElement[] = [];
    if (kind === "modelMissing") {
      buttons.push(this.button("setup-download", "Download the model", true, () => this.retry(true)));
      buttons.push(this.button("setup-retry", "Retry", false, () => this.retry(false)));
    } else {
      buttons.push(this.button("setup-retry", "Retry", true, () => this.retry(false)));
    }
    buttons.push(copyDetailsButton(errorDetails(err), (box) => this.actions.after(box)));
    replaceChildren(this.actions, ...buttons);
    this.element.hidden = false;
  }

  hide(): void {
    this.element.hidden = true;
    this.progress.hidden = true;
  }

  /** Model download progress (`sift://model-download`). */
  setDownload(e: ModelDownloadEvent): void {
    if (!this.shown) return;
    const d = describeDownload(e);
    this.progress.hidden = false;
    this.progressText.textContent = d.text;
    this.progressBar.parentElement!.classList.toggle("indeterminate", d.fraction === null);
    this.progressBar.style.setProperty("--progress", String(d.fraction ?? 0));
  }

  private button(id: string, label: string, primary: boolean, onClick: () => void): HTMLButtonElement {
    const b = h("button", { id, class: `button${primary ? " primary" : ""}`, text: label, attrs: { type: "button" } });
    b.addEventListener("click", onClick);
    return b;
  }

  private async retry(download: boolean): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    for (const b of this.actions.querySelectorAll<HTMLButtonElement>("button.button")) b.disabled = true;
    this.message.textContent = download ? "Downloading the model…" : "Trying again…";
    try {
      await this.backend.retry(download);
      this.busy = false;
      this.hide();
      this.onReady();
    } catch (err) {
      this.busy = false;
      this.progress.hidden = true;
      this.show(err ?? this.error);
    }
  }
}
