// The results list and its selection (a listbox driven from the search box).

import type { SearchResult } from "./api";
import { h, replaceChildren } from "./dom";
import { renderResult, resultId } from "./render";

export interface ResultsCallbacks {
  onOpen(result: SearchResult): void;
  onReveal(result: SearchResult): void;
  onSelectionChange?(index: number): void;
}

export class ResultsView {
  private results: SearchResult[] = [];
  private selected = -1;

  constructor(
    readonly list: HTMLElement,
    private readonly cb: ResultsCallbacks,
  ) {
    list.addEventListener("click", (e) => this.onClick(e));
    list.addEventListener("dblclick", (e) => {
      const i = this.indexFromEvent(e);
      if (i >= 0 && !(e.target as Element).closest("[data-action]")) this.cb.onOpen(this.results[i]);
    });
  }

  get count(): number {
    return this.results.length;
  }

  get selectedIndex(): number {
    return this.selected;
  }

  get selectedResult(): SearchResult | null {
    return this.selected >= 0 ? (this.results[this.selected] ?? null) : null;
  }

  setResults(results: SearchResult[]): void {
    this.results = results;
    const items: HTMLElement[] = results.map((r, i) => renderResult(r, i));
    // Loosely related results follow a divider, after the strong ones (when there are some).
    const firstLoose = results.findIndex((r) => r.strength !== "strong");
    if (firstLoose > 0) {
      items.splice(firstLoose, 0, h("li", { class: "results-divider", text: "Less related", attrs: { role: "presentation" } }));
    }
    replaceChildren(this.list, ...items);
    this.selected = -1;
    this.select(results.length ? 0 : -1, false);
    this.list.scrollTop = 0;
  }

  clear(): void {
    this.setResults([]);
  }

  /** Move the selection by `delta`, clamped to the first/last result. */
  move(delta: number): void {
    if (!this.results.length) return;
    const next = Math.max(0, Math.min(this.results.length - 1, (this.selected < 0 ? 0 : this.selected) + delta));
    this.select(next);
  }

  select(index: number, scroll = true): void {
    if (index === this.selected) return;
    const prev = this.selected >= 0 ? this.list.querySelector(`#${resultId(this.selected)}`) : null;
    if (prev) {
      prev.classList.remove("selected");
      prev.setAttribute("aria-selected", "false");
    }
    this.selected = index >= 0 && index < this.results.length ? index : -1;
    const el = this.selected >= 0 ? this.list.querySelector<HTMLElement>(`#${resultId(this.selected)}`) : null;
    if (el) {
      el.classList.add("selected");
      el.setAttribute("aria-selected", "true");
      if (scroll && typeof el.scrollIntoView === "function") el.scrollIntoView({ block: "nearest" });
    }
    this.cb.onSelectionChange?.(this.selected);
  }

  openSelected(): void {
    const r = this.selectedResult;
    if (r) this.cb.onOpen(r);
  }

  revealSelected(): void {
    const r = this.selectedResult;
    if (r) this.cb.onReveal(r);
  }

  private indexFromEvent(e: Event): number {
    const li = (e.target as Element | null)?.closest<HTMLElement>(".result");
    if (!li || !this.list.contains(li)) return -1;
    const i = Number(li.dataset.index);
    return Number.isInteger(i) && i >= 0 && i < this.results.length ? i : -1;
  }

  private onClick(e: MouseEvent): void {
    const i = this.indexFromEvent(e);
    if (i < 0) return;
    this.select(i, false);
    const action = (e.target as Element).closest<HTMLElement>("[data-action]")?.dataset.action;
    if (action === "open") this.cb.onOpen(this.results[i]);
    else if (action === "reveal") this.cb.onReveal(this.results[i]);
  }
}
