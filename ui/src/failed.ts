// "N skipped" sheet: the files a folder could not index, grouped by reason ("unsupported type: 12"), each
// file with its own detail ("unsupported type (.png)"). Skipped files (types Sift does not read) are shown
// neutrally; failed ones (should have been readable) as warnings.

import type { FailedFile, ProblemStatus } from "./api";
import { h, replaceChildren } from "./dom";
import { basename, errorText, formatCount, plural } from "./format";
import { Modal } from "./modal";

/** Groups with more files than this start collapsed (unless they are the only group). */
export const OPEN_GROUP_MAX = 5;
/** Files listed per group; the rest are counted ("…and 1,234 more"). */
export const MAX_LISTED_PER_GROUP = 500;

/**
 * The kind of a reason, for grouping: the reason without its detail. The detail is what follows ": " or "; "
 * and any trailing parenthetical: "unsupported type (.pdf)" → "unsupported type", "too large (300 MB; the
 * limit is 128 MB)" → "too large", "corrupt Word document: bad zip" → "corrupt Word document".
 */
export function reasonKind(reason: string): string {
  const full = typeof reason === "string" ? reason.trim() : "";
  let r = full;
  // A parenthetical may itself hold "; " (the limit above): drop trailing ones before cutting at separators.
  r = stripParentheticals(r);
  const cut = r.search(/[:;]\s/);
  if (cut > 0) r = r.slice(0, cut);
  r = stripParentheticals(r).trim();
  return r || full || "unknown reason";
}

function stripParentheticals(text: string): string {
  let r = text.trim();
  for (;;) {
    const m = /\s*\([^()]*\)\s*$/.exec(r);
    if (!m || m.index === 0) return r;
    r = r.slice(0, m.index);
  }
}

export interface ProblemGroup {
  /** The reason kind shown as the heading. */
  reason: string;
  /** "failed" when any file in the group failed, else "skipped". */
  status: ProblemStatus;
  files: { file: FailedFile; detail: string }[];
}

function statusOf(f: FailedFile): ProblemStatus {
  return f.status === "failed" ? "failed" : "skipped";
}

/** Groups by reason kind (case-insensitive): failed groups first, then the larger ones, then by name. */
export function groupProblems(files: readonly FailedFile[]): ProblemGroup[] {
  const groups = new Map<string, ProblemGroup>();
  for (const file of files) {
    const reason = reasonKind(file.reason);
    const key = reason.toLowerCase();
    let g = groups.get(key);
    if (!g) {
      g = { reason, status: "skipped", files: [] };
      groups.set(key, g);
    }
    if (statusOf(file) === "failed") g.status = "failed";
    const full = typeof file.reason === "string" ? file.reason.trim() : "";
    g.files.push({ file, detail: full.toLowerCase() === key ? "" : full });
  }
  const rank = (g: ProblemGroup) => (g.status === "failed" ? 0 : 1);
  return [...groups.values()].sort(
    (a, b) => rank(a) - rank(b) || b.files.length - a.files.length || a.reason.localeCompare(b.reason),
  );
}

/** "3 skipped · 1 failed", from the files' own statuses. */
export function problemSummary(files: readonly FailedFile[]): string {
  const failed = files.filter((f) => statusOf(f) === "failed").length;
  const skipped = files.length - failed;
  const parts: string[] = [];
  if (skipped) parts.push(`${formatCount(skipped)} skipped`);
  if (failed) parts.push(`${formatCount(failed)} failed`);
  return parts.join(" · ");
}

export class FailedFilesDialog {
  readonly modal: Modal;
  private readonly list: HTMLDivElement;
  private readonly summary: HTMLParagraphElement;
  private token = 0;

  constructor(private readonly load: (folder: string | null) => Promise<FailedFile[]>) {
    this.modal = new Modal("failed-dialog", "Skipped files");
    this.summary = h("p", { class: "failed-summary" });
    this.list = h("div", { id: "failed-list", class: "problem-groups" });
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
      ? `${problemSummary(files)}. ${files.some((f) => statusOf(f) === "failed") ? "Failed files could not be read and are tried again when they change. " : ""}Everything else is searchable.`
      : "No files were skipped.";
    const groups = groupProblems(files);
    replaceChildren(this.list, ...groups.map((g) => this.renderGroup(g, groups.length === 1)));
  }

  private renderGroup(g: ProblemGroup, only: boolean): HTMLElement {
    const shown = g.files.slice(0, MAX_LISTED_PER_GROUP);
    const more = g.files.length - shown.length;
    const items = shown.map(({ file, detail }) =>
      h(
        "li",
        { class: `failed-item status-${statusOf(file)}` },
        h("span", { class: "failed-name", text: basename(file.path) }),
        h("span", { class: "failed-path", text: file.path, title: file.path }),
        detail ? h("span", { class: "failed-reason", text: detail }) : null,
      ),
    );
    if (more > 0) items.push(h("li", { class: "failed-more", text: `…and ${plural(more, "more file", "more files")}` }));
    const details = h(
      "details",
      { class: `problem-group tone-${g.status}`, data: { reason: g.reason } },
      h(
        "summary",
        { class: "problem-head" },
        h("span", { class: "problem-title", text: `${g.reason}: ${formatCount(g.files.length)}` }),
        h("span", { class: "problem-status", text: g.status }),
      ),
      h("ul", { class: "failed-list" }, ...items),
    );
    details.open = only || g.files.length <= OPEN_GROUP_MAX;
    return details;
  }
}
