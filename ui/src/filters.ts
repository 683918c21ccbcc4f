// Search filters: a folder dropdown and file-type chips.

import type { KindCount } from "./api";
import { h, replaceChildren } from "./dom";
import { basename, formatCount, plural } from "./format";
import { extLabel, groupsFromKinds, type PresentGroup } from "./kinds";

export interface FilterState {
  folder: string | null;
  kinds: string[];
}

export class FiltersView {
  private activeGroups = new Set<string>();
  private groups: PresentGroup[] = [];
  private chipById = new Map<string, HTMLButtonElement>();
  private kindsKey = "";

  constructor(
    readonly folderSelect: HTMLSelectElement,
    readonly chips: HTMLElement,
    private readonly onChange: (state: FilterState) => void,
  ) {
    folderSelect.addEventListener("change", () => this.onChange(this.state));
    this.setFolders([]);
    this.chips.hidden = true;
  }

  get state(): FilterState {
    const kinds: string[] = [];
    for (const g of this.groups) if (this.activeGroups.has(g.id)) kinds.push(...g.exts);
    return { folder: this.folderSelect.value || null, kinds };
  }

  /** Ids of the chips shown, in order. */
  get shownGroups(): string[] {
    return this.groups.map((g) => g.id);
  }

  toggle(groupId: string): void {
    if (!this.groups.some((g) => g.id === groupId)) return;
    if (this.activeGroups.has(groupId)) this.activeGroups.delete(groupId);
    else this.activeGroups.add(groupId);
    this.paintActive();
    this.onChange(this.state);
  }

  /**
   * Show one chip per group with indexed files (from `indexed_kinds`). An active chip whose group is gone is
   * dropped, and the search re-run without it; nothing happens when the types did not change.
   */
  setKinds(kinds: readonly KindCount[]): void {
    const groups = groupsFromKinds(kinds);
    const key = JSON.stringify(groups.map((g) => [g.id, g.files, g.exts]));
    if (key === this.kindsKey) return;
    this.kindsKey = key;
    const before = JSON.stringify(this.state.kinds);
    this.groups = groups;
    const ids = new Set(groups.map((g) => g.id));
    for (const id of [...this.activeGroups]) if (!ids.has(id)) this.activeGroups.delete(id);

    const chips = groups.map((g) => {
      let chip = this.chipById.get(g.id);
      if (!chip) {
        chip = h("button", { class: "chip", attrs: { type: "button", "aria-pressed": "false" }, data: { kind: g.id } });
        chip.addEventListener("click", () => this.toggle(g.id));
        this.chipById.set(g.id, chip);
      }
      replaceChildren(chip, h("span", { class: "chip-label", text: g.label }), h("span", { class: "chip-count", text: formatCount(g.files) }));
      chip.title = `${plural(g.files, "file")}: ${g.present.map(extLabel).join(" ")}`;
      chip.setAttribute("aria-label", `${g.label}, ${plural(g.files, "file")}`);
      return chip;
    });
    for (const id of [...this.chipById.keys()]) if (!ids.has(id)) this.chipById.delete(id);
    replaceChildren(this.chips, ...chips);
    this.chips.hidden = chips.length === 0;
    this.paintActive();
    // "Other" filters on the unknown extensions present, so its list may change while it stays active.
    if (JSON.stringify(this.state.kinds) !== before) this.onChange(this.state);
  }

  private paintActive(): void {
    for (const [id, chip] of this.chipById) {
      const on = this.activeGroups.has(id);
      chip.classList.toggle("active", on);
      chip.setAttribute("aria-pressed", String(on));
    }
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
