// "N skipped" sheet: the files a folder could not index, with the reason.

import type { FailedFile } from "./api";
import { h, replaceChildren } from "./dom";
import { basename, errorText, plural } from "./format";
import { Modal } from "./modal";

export class FailedFilesDialog {
  readonly modal: Modal;
  private readonly list: HTMLUListElement;
  private readonly summary: HTMLParagraphElement;
  private token = 0;

  constructor(private readonly load: (folder: string | null) => Promise<FailedFile[]>) {
    this.modal = new Modal("failed-dialog", "Skipped files");
    this.summary = h("p", { class: "failed-summary" });
    this.list = h("ul", { id: "failed-list", class: "failed-list" });
    this.modal.body.append(this.summary, this.list);
    const done = h("button", { class: "button primary", text: "Done", attrs: { type: "button" } });
    done.addEventListener("click", () => this.modal.close());
    this.modal.footer.append(done);
  }

  get element(): HTMLElement {
    return this.modal.overlay;
  }

  async show(folder: string | null): Promise<void> {
    const token = ++this.token;
    this.modal.setTitle(folder ? `Skipped in ${basename(folder)}` : "Skipped files");
    this.summary.textContent = "Loading…";
    replaceChildren(this.list);
    this.modal.open();
    try {
      const files = await this.load(folder);
      if (token !== this.token) return;
      this.render(files);
    } catch (err) {
      if (token !== this.token) return;
      this.summary.textContent = `Could not load the list: ${errorText(err)}`;
    }
  }

  render(files: FailedFile[]): void {
    this.summary.textContent = files.length
      ? `${plural(files.length, "file")} could not be indexed. Everything else in the folder is searchable.`
      : "No files were skipped.";
    replaceChildren(
      this.list,
      ...files.map((f) =>
        h(
          "li",
          { class: "failed-item" },
          h("span", { class: "failed-name", text: basename(f.path) }),
          h("span", { class: "failed-path", text: f.path, title: f.path }),
          h("span", { class: "failed-reason", text: f.reason }),
        ),
      ),
    );
  }
}
