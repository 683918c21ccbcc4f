// Search filters: a folder dropdown and file-type chips.

import { h, replaceChildren } from "./dom";
import { basename } from "./format";

export interface KindGroup {
  id: string;
  label: string;
  /** Extensions sent to the backend's `kinds` argument. */
  exts: string[];
}

export const KIND_GROUPS: KindGroup[] = [
  { id: "text", label: "Text & Markdown", exts: ["md", "markdown", "txt", "rst", "org", "adoc"] },
  { id: "pdf", label: "PDF", exts: ["pdf"] },
  { id: "docs", label: "Documents", exts: ["docx", "odt", "rtf", "html", "htm", "epub"] },
  {
    id: "code",
    label: "Code",
    exts: [
      "rs", "py", "js", "ts", "tsx", "jsx", "go", "java", "kt", "swift", "c", "h", "cc", "cpp", "hpp",
      "cs", "rb", "php", "sh", "sql", "toml", "yaml", "yml", "json",
    ],
  },
];

export interface FilterState {
  folder: string | null;
  kinds: string[];
}

export class FiltersView {
  private activeGroups = new Set<string>();

  constructor(
    readonly folderSelect: HTMLSelectElement,
    readonly chips: HTMLElement,
    private readonly onChange: (state: FilterState) => void,
  ) {
    for (const g of KIND_GROUPS) {
      const chip = h("button", {
        class: "chip",
        text: g.label,
        title: g.exts.map((e) => "." + e).join(" "),
        attrs: { type: "button", "aria-pressed": "false" },
        data: { kind: g.id },
      });
      chip.addEventListener("click", () => this.toggle(g.id));
      chips.appendChild(chip);
    }
    folderSelect.addEventListener("change", () => this.onChange(this.state));
    this.setFolders([]);
  }

  get state(): FilterState {
    const kinds: string[] = [];
    for (const g of KIND_GROUPS) if (this.activeGroups.has(g.id)) kinds.push(...g.exts);
    return { folder: this.folderSelect.value || null, kinds };
  }

  toggle(groupId: string): void {
    if (this.activeGroups.has(groupId)) this.activeGroups.delete(groupId);
    else this.activeGroups.add(groupId);
    for (const chip of this.chips.querySelectorAll<HTMLElement>(".chip")) {
      const on = this.activeGroups.has(chip.dataset.kind ?? "");
      chip.classList.toggle("active", on);
      chip.setAttribute("aria-pressed", String(on));
    }
    this.onChange(this.state);
  }

  /** Rebuild the folder options; keeps the current choice when it still exists. */
  setFolders(paths: string[]): void {
    const current = this.folderSelect.value;
    const names = paths.map(basename);
    const options = [h("option", { text: "All folders", attrs: { value: "" } })];
    paths.forEach((p, i) => {
      // Disambiguate folders that share a name.
      const dup = names.filter((n) => n === names[i]).length > 1;
      options.push(h("option", { text: dup ? `${names[i]} — ${p}` : names[i], title: p, attrs: { value: p } }));
    });
    replaceChildren(this.folderSelect, ...options);
    const keep = paths.includes(current) ? current : "";
    this.folderSelect.value = keep;
    if (current && !keep) this.onChange(this.state);
  }
}
