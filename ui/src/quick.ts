// The quick-search window (ui/quick.html, window label "quick"): a search box focused whenever the window is
// shown, results as you type (the same `search` command and SearchController as the main window), ↑/↓ to
// select, Enter opens the selected file and hides the window, Esc hides it. Losing focus hides it too (Rust
// side, desktop.rs).

import "./styles.css";
import "./quick.css";
import { createQuickApi, insideTauri, type QuickApi, type Unlisten } from "./api";
import { h, replaceChildren } from "./dom";
import { errorMessage } from "./errors";
import { ResultsView } from "./results";
import { SearchController } from "./search";

/** Results shown in the compact window. */
export const QUICK_LIMIT = 8;

export interface QuickHandle {
  readonly input: HTMLInputElement;
  readonly results: ResultsView;
  /** The window was shown: focus the box and select its text, so typing replaces the last query. */
  shown(): void;
  dispose(): void;
}

export function mountQuick(root: HTMLElement, api: QuickApi, opts: { delayMs?: number } = {}): QuickHandle {
  const input = h("input", {
    id: "quick-search",
    attrs: {
      type: "search",
      placeholder: "Search your files by meaning…",
      autocomplete: "off",
      spellcheck: "false",
      autofocus: true,
      role: "combobox",
      "aria-label": "Quick search",
      "aria-controls": "quick-results",
      "aria-autocomplete": "list",
    },
  });
  const field = h("div", { class: "search-field" }, input, h("span", { class: "spinner", attrs: { "aria-hidden": "true" } }));
  const list = h("ul", { id: "quick-results", class: "results", attrs: { role: "listbox", "aria-label": "Results" } });
  const note = h("p", { id: "quick-note", class: "quick-note", attrs: { role: "status" } });
  const hint = h("p", { class: "quick-hint", text: "↑↓ select · Enter opens · Esc closes" });
  replaceChildren(root, field, note, list, hint);

  const hide = () => {
    api.hide().catch(() => undefined);
  };
  const results = new ResultsView(list, {
    onOpen: (r) => {
      api.openPath(r.path).then(hide, (err) => {
        note.textContent = errorMessage(err);
        note.classList.add("error");
      });
    },
    // No "show in folder" here: the main window has it.
    onReveal: () => undefined,
  });
  const controller = new SearchController(
    (req) => api.search(req),
    {
      onResults: (res) => {
        results.setResults(res.results);
        note.classList.remove("error");
        note.textContent = res.results.length ? "" : "No matches.";
      },
      onError: (err) => {
        results.clear();
        note.textContent = errorMessage(err);
        note.classList.add("error");
      },
      onClear: () => {
        results.clear();
        note.textContent = "";
        note.classList.remove("error");
      },
      onBusy: (busy) => field.classList.toggle("busy", busy),
    },
    opts.delayMs,
    QUICK_LIMIT,
  );
  input.addEventListener("input", () => controller.update({ query: input.value, folder: null, kinds: [] }));

  const onKeydown = (e: KeyboardEvent) => {
    switch (e.key) {
      case "ArrowDown":
      case "ArrowUp":
        e.preventDefault();
        results.move(e.key === "ArrowDown" ? 1 : -1);
        break;
      case "Enter":
        e.preventDefault();
        results.openSelected();
        break;
      case "Escape":
        e.preventDefault();
        hide();
        break;
    }
  };
  document.addEventListener("keydown", onKeydown);

  const shown = () => {
    input.focus();
    input.select();
  };
  let unlisten: Unlisten | null = null;
  let disposed = false;
  api.onShown(shown).then(
    (u) => (disposed ? u() : (unlisten = u)),
    () => undefined,
  );
  window.addEventListener("focus", shown);
  shown();

  return {
    input,
    results,
    shown,
    dispose() {
      disposed = true;
      controller.dispose();
      document.removeEventListener("keydown", onKeydown);
      window.removeEventListener("focus", shown);
      unlisten?.();
    },
  };
}

if (insideTauri()) {
  const root = document.getElementById("quick");
  if (root) mountQuick(root, createQuickApi());
}
