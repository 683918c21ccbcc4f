// Sidebar list of indexed folders with live progress.

import type { FolderInfo, FolderState, ProgressEvent } from "./api";
import { h, icon } from "./dom";
import { basename, formatCount, formatEta, plural } from "./format";

export interface FolderCallbacks {
  onRemove(path: string): void;
  onShowFailed(path: string): void;
}

const STATE_LABEL: Record<FolderState, string> = {
  queued: "Queued",
  indexing: "Indexing",
  idle: "Up to date",
  paused: "Paused",
  offline: "Offline — index kept",
};

interface Row {
  el: HTMLLIElement;
  progress: HTMLElement;
  count: HTMLElement;
  state: HTMLElement;
  eta: HTMLElement;
  failed: HTMLButtonElement;
  current: HTMLElement;
  remove: HTMLButtonElement;
  info: FolderInfo;
  /** The furthest the bar has gone in this pass: it never moves back while a pass runs. */
  shownFraction: number;
  confirmTimer: ReturnType<typeof setTimeout> | null;
}

/** Fraction done in [0, 1]; 0 when the total is still unknown. */
export function folderFraction(done: number, total: number): number {
  if (!Number.isFinite(total) || total <= 0) return 0;
  return Math.max(0, Math.min(1, done / total));
}

export class FolderListView {
  private rows = new Map<string, Row>();

  constructor(
    readonly list: HTMLElement,
    private readonly cb: FolderCallbacks,
  ) {}

  get paths(): string[] {
    return [...this.rows.keys()];
  }

  /** Reconcile the list with the backend's view, reusing existing rows. */
  setFolders(folders: FolderInfo[]): void {
    const seen = new Set<string>();
    folders.forEach((f, i) => {
      seen.add(f.path);
      let row = this.rows.get(f.path);
      if (!row) {
        row = this.createRow(f);
        this.rows.set(f.path, row);
      }
      row.info = { ...f };
      this.paint(row, null);
      if (this.list.children[i] !== row.el) this.list.insertBefore(row.el, this.list.children[i] ?? null);
    });
    for (const [path, row] of this.rows) {
      if (!seen.has(path)) {
        if (row.confirmTimer) clearTimeout(row.confirmTimer);
        row.el.remove();
        this.rows.delete(path);
      }
    }
  }

  /** Apply a live progress event. Returns false when the folder is unknown. */
  applyProgress(p: ProgressEvent): boolean {
    const row = this.rows.get(p.folder);
    if (!row) return false;
    const info = row.info;
    info.filesDone = p.filesDone;
    info.filesTotal = p.filesTotal;
    info.failed = p.failed;
    if (p.done) {
      info.state = p.offline ? "offline" : "idle";
      info.etaSecs = null;
    } else if (info.state !== "paused") {
      info.state = "indexing";
    }
    this.paint(row, p.done ? null : p.currentFile);
    return true;
  }

  private createRow(f: FolderInfo): Row {
    const progress = h("div", { class: "progress-bar" });
    const remove = h(
      "button",
      {
        class: "icon-button folder-remove",
        title: "Remove from Sift (your files are not touched)",
        attrs: { type: "button", "aria-label": `Remove ${basename(f.path)}` },
      },
      icon("close"),
    );
    const failed = h("button", { class: "link folder-failed", attrs: { type: "button" }, hidden: true });
    const el = h(
      "li",
      { class: "folder", data: { path: f.path }, attrs: { "data-testid": "folder" } },
      h(
        "div",
        { class: "folder-head" },
        icon("folder", "icon folder-icon"),
        h(
          "div",
          { class: "folder-names" },
          h("span", { class: "folder-name", text: basename(f.path), title: f.path }),
          h("span", { class: "folder-path", text: f.path, title: f.path }),
        ),
        remove,
      ),
      h(
        "div",
        {
          class: "progress",
          attrs: { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": `Indexing progress for ${basename(f.path)}` },
        },
        progress,
      ),
      h(
        "div",
        { class: "folder-meta" },
        h("span", { class: "folder-state" }),
        h("span", { class: "folder-count" }),
        h("span", { class: "folder-eta" }),
        failed,
      ),
      h("div", { class: "folder-current", hidden: true }),
    );
    const row: Row = {
      el,
      progress,
      count: el.querySelector(".folder-count")!,
      state: el.querySelector(".folder-state")!,
      eta: el.querySelector(".folder-eta")!,
      failed,
      current: el.querySelector(".folder-current")!,
      remove,
      info: { ...f },
      shownFraction: 0,
      confirmTimer: null,
    };
    failed.addEventListener("click", () => this.cb.onShowFailed(row.info.path));
    remove.addEventListener("click", () => this.onRemoveClick(row));
    return row;
  }

  /** Two-step remove: the first click asks for confirmation, the second one within 4 s removes. */
  private onRemoveClick(row: Row): void {
    if (row.el.classList.contains("confirm-remove")) {
      if (row.confirmTimer) clearTimeout(row.confirmTimer);
      row.confirmTimer = null;
      row.el.classList.remove("confirm-remove");
      this.cb.onRemove(row.info.path);
      return;
    }
    row.el.classList.add("confirm-remove");
    row.remove.title = "Click again to remove";
    row.remove.setAttribute("aria-label", `Confirm removing ${basename(row.info.path)}`);
    row.confirmTimer = setTimeout(() => {
      row.el.classList.remove("confirm-remove");
      row.remove.title = "Remove from Sift (your files are not touched)";
      row.remove.setAttribute("aria-label", `Remove ${basename(row.info.path)}`);
      row.confirmTimer = null;
    }, 4000);
  }

  private paint(row: Row, currentFile: string | null): void {
    const f = row.info;
    const complete = f.state === "idle";
    const unknownTotal = f.filesTotal <= 0 && (f.state === "indexing" || f.state === "queued");
    const inPass = f.state === "indexing" || f.state === "paused";
    // Within a pass the bar only moves forward (a total that grows as the scan finds more files would pull it
    // back); a new pass starts from its own fraction.
    const frac = inPass && !unknownTotal ? Math.max(row.shownFraction, folderFraction(f.filesDone, f.filesTotal)) : folderFraction(f.filesDone, f.filesTotal);
    row.shownFraction = inPass && !unknownTotal ? frac : 0;

    row.el.dataset.state = f.state;
    row.el.classList.toggle("complete", complete);
    row.progress.style.setProperty("--progress", complete ? "1" : frac.toFixed(4));
    const bar = row.progress.parentElement!;
    bar.classList.toggle("indeterminate", unknownTotal);
    if (unknownTotal) bar.removeAttribute("aria-valuenow");
    else bar.setAttribute("aria-valuenow", String(Math.round((complete ? 1 : frac) * 100)));

    row.state.textContent = STATE_LABEL[f.state] ?? f.state;
    if (unknownTotal) {
      row.count.textContent = f.state === "queued" ? "" : "Scanning…";
    } else if (complete || f.filesDone >= f.filesTotal) {
      // Searchable files, as the status bar counts them: the skipped ones are counted next to it.
      row.count.textContent = plural(Math.max(0, Math.max(f.filesTotal, f.filesDone) - Math.max(0, f.failed || 0)), "file");
    } else {
      row.count.textContent = `${formatCount(f.filesDone)} of ${plural(f.filesTotal, "file")}`;
    }
    row.eta.textContent = f.state === "indexing" ? formatEta(f.etaSecs) : "";
    row.eta.hidden = row.eta.textContent === "";

    row.failed.hidden = !(f.failed > 0);
    row.failed.textContent = `${formatCount(f.failed)} skipped`;
    row.failed.title = "Show files that could not be indexed, with reasons";

    if (currentFile && f.state === "indexing") {
      row.current.textContent = basename(currentFile);
      row.current.title = currentFile;
      row.current.hidden = false;
    } else {
      row.current.textContent = "";
      row.current.hidden = true;
    }
  }
}
