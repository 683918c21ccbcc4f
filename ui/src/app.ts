// Wires the views to the backend. Only talks to Tauri through `SiftApi`.

import type { AskAnswer, Confidence, DesktopApi, FolderInfo, ModelDownloadEvent, ProgressEvent, SearchResponse, SearchResult, SiftApi, Status, Unlisten } from "./api";
import { AskView, askAvailability, askHintContent } from "./ask";
import { h, icon, replaceChildren } from "./dom";
import { FailedFilesDialog } from "./failed";
import { FiltersView } from "./filters";
import { FolderListView } from "./folders";
import { copyDetailsButton, errorKind, errorNote, isAppError } from "./errors";
import { basename, formatCount, looseNoteText, plural } from "./format";
import { resultId } from "./render";
import { ResultsView } from "./results";
import { SEARCH_DEBOUNCE_MS, SearchController } from "./search";
import { SettingsPanel, describeDownload } from "./settings";
import { DesktopSection } from "./desktop";
import { AnswerModelsSection } from "./models";
import { SetupView, needsSetup } from "./setup";

export interface AppOptions {
  /** Debounce for search-as-you-type. */
  debounceMs?: number;
  /** How often folders/status are refreshed while indexing (for ETAs). 0 disables polling. */
  pollMs?: number;
  /** Show a "demo data" badge (browser preview without the Tauri backend). */
  demo?: boolean;
  /** Platform hint for key labels. */
  mac?: boolean;
  /** The desktop settings backend (tray, shortcut, start at login); without it the section is left out. */
  desktop?: DesktopApi;
}

export interface AppHandle {
  readonly root: HTMLElement;
  /** Resolves once the first folders/status load finished. */
  readonly ready: Promise<void>;
  refresh(): Promise<void>;
  destroy(): void;
}

function isMac(): boolean {
  return typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");
}

function isTextField(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  return el.isContentEditable || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement || el instanceof HTMLInputElement;
}

export function mountApp(root: HTMLElement, api: SiftApi, opts: AppOptions = {}): AppHandle {
  const pollMs = opts.pollMs ?? 1500;
  const mac = opts.mac ?? isMac();
  const mod = mac ? "⌘" : "Ctrl";

  // ---------- shell ----------
  const search = h("input", {
    id: "search",
    attrs: {
      type: "search",
      placeholder: "Search your files by meaning…",
      autocomplete: "off",
      spellcheck: "false",
      autofocus: true,
      role: "combobox",
      "aria-label": "Search",
      "aria-controls": "results",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "data-testid": "search",
    },
  });
  const searchField = h("div", { class: "search-field" }, icon("search", "icon search-icon"), search, h("span", { class: "spinner", attrs: { "aria-hidden": "true" } }));
  // Ask mode: the toggle beside the search box (aria-disabled with the explanation as its title without a model).
  const askToggle = h("button", { id: "ask-toggle", class: "button ask-toggle", text: "Ask", title: "Ask your files (Ctrl/⌘+Shift+Enter)", attrs: { type: "button", "aria-pressed": "false", "aria-disabled": "true", "data-testid": "ask-toggle" } });
  const askHint = h("div", { id: "ask-hint", class: "notice ask-hint", hidden: true, attrs: { role: "status" } });
  const toggleSidebar = h("button", { id: "toggle-sidebar", class: "icon-button", title: "Show or hide folders", attrs: { type: "button", "aria-label": "Toggle folders panel", "aria-controls": "sidebar", "aria-expanded": "true" } }, icon("sidebar"));
  const settingsBtn = h("button", { id: "open-settings", class: "icon-button", title: `Settings (${mod}+,)`, attrs: { type: "button", "aria-label": "Settings" } }, icon("settings"));
  const header = h(
    "header",
    { class: "topbar" },
    toggleSidebar,
    searchField,
    askToggle,
    opts.demo ? h("span", { class: "demo-badge", text: "Demo data", title: "Not connected to the Sift engine: showing sample data" }) : null,
    settingsBtn,
  );

  // Hidden until there is a folder to index (or indexing is paused).
  const pauseBtn = h("button", { id: "toggle-pause", class: "icon-button", hidden: true, attrs: { type: "button", "aria-label": "Pause indexing" }, title: "Pause indexing" }, icon("pause"));
  const folderList = h("ul", { id: "folders", class: "folder-list", attrs: { "aria-label": "Indexed folders" } });
  const foldersEmpty = h("p", { class: "folders-empty", text: "No folders yet.", hidden: true });
  const addFolder = h("button", { id: "add-folder", class: "button add-folder", attrs: { type: "button", "data-testid": "add-folder" } }, icon("plus"), "Add folder…");
  const sidebar = h(
    "aside",
    { id: "sidebar", class: "sidebar", attrs: { "aria-label": "Folders" } },
    h("div", { class: "sidebar-head" }, h("h2", { text: "Folders" }), pauseBtn),
    folderList,
    foldersEmpty,
    h("div", { class: "sidebar-foot" }, addFolder),
  );

  const folderSelect = h("select", { id: "folder-filter", attrs: { "aria-label": "Folder" } });
  const kindChips = h("div", { id: "kind-filters", class: "chips", attrs: { role: "group", "aria-label": "File types" } });
  const filtersBar = h("div", { id: "filters", class: "filters" }, folderSelect, kindChips);
  const catchingUp = h("div", { id: "catching-up", class: "notice", hidden: true, attrs: { role: "status" } }, "Still indexing: results will improve as more files are read.");
  const resultsMeta = h("div", { id: "results-meta", class: "results-meta", hidden: true });
  // Said when nothing matches clearly: the list then holds only loosely related or nearest passages.
  const looseNote = h("div", { id: "loose-note", class: "notice", hidden: true, attrs: { role: "status", "data-testid": "loose-note" } });
  const resultsList = h("ul", { id: "results", class: "results", attrs: { role: "listbox", "aria-label": "Results" } });
  const noResults = h("div", { id: "no-results", class: "placeholder", hidden: true });
  const hintTitle = h("p", { class: "placeholder-title", text: "Search by meaning, not just words" });
  const hintSub = h("p", { class: "placeholder-sub", text: "Try a question or a description, like “notes about the budget meeting”." });
  const searchHint = h(
    "div",
    { id: "search-hint", class: "placeholder", hidden: true },
    hintTitle,
    hintSub,
    h(
      "p",
      { class: "key-help" },
      h("kbd", { text: "↑" }), h("kbd", { text: "↓" }), " select  ",
      h("kbd", { text: "Enter" }), " open  ",
      h("kbd", { text: `${mod}+Enter` }), " show in folder",
    ),
  );
  const emptyAdd = h("button", { id: "empty-add-folder", class: "button primary large", attrs: { type: "button" } }, icon("plus"), "Add folder…");
  const emptyState = h(
    "section",
    { id: "empty-state", class: "empty-state", hidden: true, attrs: { "data-testid": "empty-state", "aria-labelledby": "empty-title" } },
    h("div", { class: "drop-target" }, icon("drop", "icon drop-icon"), h("h1", { id: "empty-title", text: "Drop folders here" }), h("p", { text: "Sift reads them on this computer and lets you search everything by meaning. Nothing leaves your machine." }), emptyAdd),
  );
  const askView = new AskView({
    ask: (req) => api.ask(req),
    stop: () => api.stopAsk(),
    onStart: () => {
      lastResponse = null;
      searchError = null;
      results.clear();
      replaceChildren(noResults);
      updateMain();
    },
    onAnswer: (a) => {
      showAnswerPassages(a);
      // The answer model may have been loaded by this question: the status line names it.
      void refreshStatus();
    },
    onCite: (i) => selectPassage(i),
  });
  const main = h("main", { class: "main" }, filtersBar, askHint, askView.element, catchingUp, resultsMeta, looseNote, resultsList, noResults, searchHint, emptyState);

  const statusLine = h("span", { id: "status-line", class: "status-line", attrs: { role: "status", "data-testid": "status-line" } });
  const downloadStatus = h("span", { id: "download-status", class: "download-status", hidden: true });
  const keyHints = h("span", { class: "key-hints", attrs: { "aria-hidden": "true" } }, h("kbd", { text: "↵" }), " open  ", h("kbd", { text: `${mod}↵` }), " reveal");
  const footer = h("footer", { class: "statusbar" }, statusLine, downloadStatus, keyHints);

  const dropOverlay = h("div", { id: "drop-overlay", class: "drop-overlay", attrs: { "aria-hidden": "true" } }, h("div", { class: "drop-overlay-inner" }, icon("drop", "icon drop-icon"), h("p", { text: "Drop to add to Sift" })));
  const toast = h("div", { id: "toast", class: "toast", hidden: true, attrs: { role: "alert" } });

  // The answer models behind Ask: "Use", a download or a removal changes the model the status names.
  const answerModels = new AnswerModelsSection(
    {
      list: () => api.listAnswerModels(),
      download: (id) => api.downloadAnswerModel(id),
      cancel: () => api.cancelModelDownload(),
      use: (id) => api.useAnswerModel(id),
      remove: (id) => api.removeAnswerModel(id),
    },
    () => void refreshStatus(),
  );
  const settings = new SettingsPanel(
    { load: () => api.getSettings(), save: (s) => api.setSettings(s) },
    () => {
      void refreshAll();
      searchCtl.refresh();
    },
    { list: () => api.listModels(), download: (id) => api.downloadModel(id), cancel: () => api.cancelModelDownload() },
    [answerModels, ...(opts.desktop ? [new DesktopSection(opts.desktop, mac)] : [])],
  );
  // About: the version (the same as `sift --version`) and where the index lives, at the foot of the settings.
  const aboutLine = h("p", { id: "about", class: "about-line", attrs: { "data-testid": "about" } });
  settings.modal.body.append(aboutLine);
  api.about().then(
    (a) => {
      aboutLine.textContent = `Sift ${a.version} · index in ${a.dataDir} · nothing you index leaves this computer`;
    },
    () => {
      aboutLine.hidden = true;
    },
  );
  const failedDialog = new FailedFilesDialog((folder) => api.failedFiles(folder));
  const setup = new SetupView({ retry: (download) => api.retryEngine(download) }, () => {
    showApp();
    void refreshAll();
    searchCtl.refresh();
  });

  root.classList.add("app", "loading");
  replaceChildren(root, header, h("div", { class: "layout" }, sidebar, main, setup.element), footer, dropOverlay, toast, settings.element, failedDialog.element);

  // ---------- state ----------
  let folders: FolderInfo[] = [];
  let status: Status | null = null;
  let lastResponse: SearchResponse | null = null;
  /** The last search failed: shown until a search succeeds or the query is cleared. */
  let searchError: unknown = null;
  let destroyed = false;
  /** Ask mode: Enter asks, typing does not search. */
  let askMode = false;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  let toastTimer: ReturnType<typeof setTimeout> | null = null;
  const unlisteners: Unlisten[] = [];

  /** One line: the backend's sentence (which names what failed), or `context: text` for anything else. */
  const showToast = (err: unknown, context: string): void => {
    replaceChildren(toast, errorNote(err, { prefix: isAppError(err) ? "" : `${context}: `, class: "toast-note", showDetails: toastDetails }));
    toast.hidden = false;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toast.hidden = true), 6000);
  };

  // ---------- views ----------
  const results = new ResultsView(resultsList, {
    onOpen: (r) => openResult(r),
    onReveal: (r) => revealResult(r),
    onSelectionChange: (i) => {
      if (i >= 0) search.setAttribute("aria-activedescendant", resultId(i));
      else search.removeAttribute("aria-activedescendant");
    },
  });

  const folderView = new FolderListView(folderList, {
    onRemove: (path) => {
      api
        .removeFolder(path)
        .then(() => refreshAll())
        .then(() => searchCtl.refresh())
        .catch((err) => showToast(err, `Could not remove ${basename(path)}`));
    },
    onShowFailed: (path) => void failedDialog.show(path),
  });

  const filters = new FiltersView(folderSelect, kindChips, () => {
    if (!askMode) searchCtl.update(currentParams(), { immediate: true });
  });

  const currentParams = () => ({ query: search.value, ...filters.state });

  const searchCtl = new SearchController(
    (req) => api.search(req),
    {
      onResults: (res) => {
        if (askMode) return; // a search sent before switching to Ask
        showResults(res);
      },
      onError: (err) => {
        lastResponse = null;
        searchError = err;
        results.clear();
        catchingUp.hidden = true;
        looseNote.hidden = true;
        replaceChildren(noResults, h("p", { class: "placeholder-title", text: "Search failed" }), errorNote(err, { class: "placeholder-sub error-text search-error" }));
        updateMain();
      },
      onClear: () => {
        lastResponse = null;
        searchError = null;
        results.clear();
        catchingUp.hidden = true;
        looseNote.hidden = true;
        replaceChildren(noResults);
        updateMain();
      },
      onBusy: (busy) => searchField.classList.toggle("busy", busy),
    },
    opts.debounceMs ?? SEARCH_DEBOUNCE_MS,
  );

  /** Shows a search response (or an answer's passages) in the results list. */
  function showResults(res: SearchResponse): void {
    lastResponse = res;
    searchError = null;
    results.setResults(res.results ?? []);
    const n = res.results?.length ?? 0;
    resultsMeta.textContent = `${plural(n, "result")} · ${Math.max(0, Math.round(res.tookMs))} ms`;
    catchingUp.hidden = !res.catchingUp;
    const note = looseNoteText(res.confidence, res.query || search.value.trim(), n);
    looseNote.textContent = note ?? "";
    looseNote.hidden = note === null;
    replaceChildren(noResults);
    if (n === 0) {
      noResults.append(
        h("p", { class: "placeholder-title", text: `No matches for “${res.query || search.value.trim()}”` }),
        h("p", {
          class: "placeholder-sub",
          text: res.catchingUp ? "Some files are still being indexed; try again in a moment." : filtersSet() ? "Try different words, or clear the filters." : "Try different words.",
        }),
      );
    }
    updateMain();
  }

  /** The passages under an answer: those given to the model (else the whole search), as results. */
  function showAnswerPassages(a: AskAnswer): void {
    const list = a.passages?.length ? a.passages : (a.results ?? []);
    const confidence: Confidence = list.some((r) => r.strength === "strong") ? "strong" : list.some((r) => r.strength === "weak") ? "weak" : "none";
    showResults({ query: a.question, tookMs: a.timings?.searchMs ?? 0, catchingUp: false, confidence, results: list });
    const cited = new Set(a.status === "answered" ? a.citations : []);
    list.forEach((_, i) => {
      const li = resultsList.querySelector<HTMLElement>(`#${resultId(i)}`);
      if (li && i < (a.passages?.length ?? 0)) {
        li.dataset.source = String(i + 1);
        li.classList.toggle("cited", cited.has(i + 1));
      }
    });
  }

  /** A citation was clicked: the passage it names is selected, scrolled to and focused. */
  function selectPassage(index: number): void {
    if (index < 0 || index >= results.count) return;
    results.select(index);
    const li = resultsList.querySelector<HTMLElement>(`#${resultId(index)}`);
    if (!li) return;
    li.setAttribute("tabindex", "-1");
    li.focus({ preventScroll: true });
    if (typeof li.scrollIntoView === "function") li.scrollIntoView({ block: "nearest" });
    li.classList.remove("cite-flash");
    void li.offsetWidth;
    li.classList.add("cite-flash");
  }

  // ---------- Ask mode ----------
  function setAskMode(on: boolean): void {
    if (on === askMode) return;
    askMode = on;
    askToggle.setAttribute("aria-pressed", String(on));
    root.classList.toggle("ask-mode", on);
    search.placeholder = on ? "Ask a question about your files…" : "Search your files by meaning…";
    search.setAttribute("aria-label", on ? "Question" : "Search");
    if (on) {
      searchCtl.dispose();
      searchField.classList.remove("busy");
    } else {
      askView.hide();
      searchCtl.update(currentParams(), { immediate: true });
    }
    updateMain();
  }

  function askNow(): void {
    if (!askAvailability(status?.generator).enabled) {
      showAskHint();
      return;
    }
    setAskMode(true);
    const f = filters.state;
    void askView.ask(search.value, f.folder, f.kinds);
  }

  function showAskHint(): void {
    replaceChildren(askHint, ...askHintContent(status?.generator, () => void openAnswerModels()));
    askHint.hidden = false;
  }

  /** The settings sheet, scrolled to its answer models (the Ask hint's button). */
  async function openAnswerModels(): Promise<void> {
    await settings.open();
    answerModels.element.scrollIntoView?.({ block: "start" });
    answerModels.element.querySelector<HTMLButtonElement>("button:not([disabled])")?.focus();
  }

  function renderAskToggle(): void {
    const a = askAvailability(status?.generator);
    askToggle.title = a.title;
    askToggle.setAttribute("aria-disabled", String(!a.enabled));
    askToggle.classList.toggle("disabled", !a.enabled);
    if (a.enabled) askHint.hidden = true;
    else if (askMode) setAskMode(false);
  }

  function filtersSet(): boolean {
    const f = filters.state;
    return f.folder !== null || f.kinds.length > 0;
  }

  function updateMain(): void {
    const noFolders = folders.length === 0;
    const hasQuery = search.value.trim() !== "";
    emptyState.hidden = !noFolders;
    foldersEmpty.hidden = !noFolders;
    filtersBar.hidden = noFolders;
    const showResults = !noFolders && hasQuery && lastResponse !== null;
    resultsList.hidden = !showResults || results.count === 0;
    resultsMeta.hidden = !showResults;
    noResults.hidden = noFolders || !hasQuery || !(searchError !== null || (lastResponse !== null && results.count === 0));
    if (!showResults) {
      catchingUp.hidden = true;
      looseNote.hidden = true;
    }
    searchHint.hidden = noFolders || hasQuery;
    if (!noFolders) {
      if (status && status.files > 0) hintTitle.textContent = `Search ${plural(status.files, "file")} by meaning`;
      else if (busyIndexing()) hintTitle.textContent = "Reading your files…";
      else hintTitle.textContent = "Search by meaning, not just words";
    }
    search.setAttribute("aria-expanded", String(showResults && results.count > 0));
    root.classList.toggle("no-folders", noFolders);
  }

  function openResult(r: SearchResult): void {
    api.openPath(r.path).catch((err) => showToast(err, `Could not open ${r.fileName || basename(r.path)}`));
  }

  function revealResult(r: SearchResult): void {
    api.revealPath(r.path).catch((err) => showToast(err, `Could not show ${r.fileName || basename(r.path)}`));
  }

  // ---------- status ----------
  function renderStatus(s: Status): void {
    statusLine.classList.remove("status-error");
    statusLine.removeAttribute("title");
    const items: (string | Node)[] = [];
    const sep = () => h("span", { class: "sep", text: "·", attrs: { "aria-hidden": "true" } });
    items.push(h("span", { class: "status-model", text: s.model, title: `Embedding model (${s.dim} dimensions)` }));
    items.push(sep(), h("span", { class: `status-provider provider-${String(s.provider).toLowerCase()}`, text: s.provider, title: "Execution provider" }));
    items.push(sep(), h("span", { class: "status-files", text: plural(s.files, "file") }));
    items.push(sep(), h("span", { class: "status-chunks", text: plural(s.passages, "passage") }));
    if (s.failed > 0) {
      const failed = h("button", { class: "status-failed", text: `${formatCount(s.failed)} skipped`, title: "Show files that could not be indexed, with reasons", attrs: { type: "button" } });
      failed.addEventListener("click", () => void failedDialog.show(null));
      items.push(sep(), failed);
    }
    const g = s.generator;
    if (g?.state === "ready") items.push(sep(), h("span", { class: "status-generator", text: `Answers: ${g.model} (${g.provider})`, title: "Answer model and execution provider (Ask)" }));
    else if (g?.state === "loading") items.push(sep(), h("span", { class: "status-generator loading", text: `Loading ${g.model}…`, title: "Answer model (Ask)" }));
    else if (g?.state === "failed") items.push(sep(), h("span", { class: "status-generator status-warning", text: "Answer model failed", title: g.reason }));
    if (s.paused) items.push(sep(), h("span", { class: "status-state paused", text: "Indexing paused" }));
    else if (s.indexing) items.push(sep(), h("span", { class: "status-state indexing", text: "Indexing…" }));
    if (s.vectors < s.chunks && !s.indexing && !s.paused) {
      items.push(sep(), h("span", { class: "status-warning status-vectors", text: "Meaning search incomplete", title: `${formatCount(s.vectors)} of ${formatCount(s.chunks)} passages and sentences have vectors; the rest are found by keywords only.` }));
    }
    if (s.lastError) {
      items.push(sep(), h("span", { class: "status-error-text status-last-error", text: `Indexing failed: ${s.lastError}`, title: s.lastError }));
      if (s.lastErrorDetails && s.lastErrorDetails !== s.lastError) items.push(copyDetailsButton(s.lastErrorDetails, (box) => toastDetails(box)));
    }
    if (s.warning) items.push(sep(), h("span", { class: "status-warning status-watch", text: s.warning, title: s.warning }));
    replaceChildren(statusLine, ...items);
    renderAskToggle();
    // The answer model loads in the background: show it once it is ready.
    if (g?.state === "loading") scheduleStatus();

    updatePause();
    replaceChildren(pauseBtn, icon(s.paused ? "play" : "pause"));
    const label = s.paused ? "Resume indexing" : "Pause indexing";
    pauseBtn.title = label;
    pauseBtn.setAttribute("aria-label", label);
    pauseBtn.setAttribute("aria-pressed", String(s.paused));
    root.classList.toggle("paused", s.paused);
  }

  /** The pause button only when there is something to pause (or to resume). */
  function updatePause(): void {
    pauseBtn.hidden = !(status?.paused ?? false) && (folders.length === 0 || !status || status.folders === 0);
  }

  /** Copy details the clipboard refused: shown in the toast, where they can be selected. */
  function toastDetails(box: HTMLElement): void {
    replaceChildren(toast, box);
    toast.hidden = false;
    if (toastTimer) clearTimeout(toastTimer);
  }

  /** The first-run screen replaces the app while the engine is unavailable. */
  function showSetup(err: unknown): void {
    setup.show(err);
    sidebar.hidden = true;
    main.hidden = true;
    search.disabled = true;
    root.classList.add("needs-setup");
    replaceChildren(statusLine);
    statusLine.classList.remove("status-error");
  }

  function showApp(): void {
    if (!setup.shown && !root.classList.contains("needs-setup")) return;
    setup.hide();
    sidebar.hidden = false;
    main.hidden = false;
    search.disabled = false;
    root.classList.remove("needs-setup");
  }

  async function refreshStatus(): Promise<void> {
    try {
      status = await api.status();
      if (destroyed) return;
      showApp();
      renderStatus(status);
      updateMain();
    } catch (err) {
      if (destroyed) return;
      status = null;
      updatePause();
      if (needsSetup(errorKind(err))) {
        showSetup(err);
        return;
      }
      replaceChildren(statusLine, errorNote(err, { class: "status-note", showDetails: toastDetails }));
      statusLine.removeAttribute("title");
      statusLine.classList.add("status-error");
    }
  }

  async function refreshFolders(): Promise<void> {
    try {
      const list = await api.listFolders();
      if (destroyed) return;
      folders = list;
      updatePause();
      folderView.setFolders(list);
      filters.setFolders(list.map((f) => f.path));
      updateMain();
    } catch (err) {
      showToast(err, "Could not list folders");
    }
  }

  /** The type chips follow the index: refreshed with folders and status (while indexing and after), never per keystroke. */
  async function refreshKinds(): Promise<void> {
    try {
      const kinds = await api.indexedKinds();
      if (destroyed) return;
      filters.setKinds(kinds);
    } catch {
      /* the chips keep their last state; status shows why the engine is unavailable */
    }
  }

  async function refreshAll(): Promise<void> {
    await Promise.all([refreshFolders(), refreshStatus(), refreshKinds()]);
    schedulePoll();
  }

  function busyIndexing(): boolean {
    return Boolean(status?.indexing) || folders.some((f) => f.state === "indexing" || f.state === "queued");
  }

  function schedulePoll(): void {
    if (destroyed || pollMs <= 0 || pollTimer !== null || !busyIndexing()) return;
    pollTimer = setTimeout(() => {
      pollTimer = null;
      void refreshAll();
    }, pollMs);
  }

  /** Status counts change with every progress event; refresh them at most once a second. */
  function scheduleStatus(): void {
    if (statusTimer !== null || destroyed) return;
    statusTimer = setTimeout(() => {
      statusTimer = null;
      void refreshStatus();
    }, 1000);
  }

  // ---------- actions ----------
  async function addPaths(paths: string[]): Promise<void> {
    const clean = paths.filter((p) => typeof p === "string" && p.length > 0);
    if (!clean.length) return;
    try {
      await api.addFolders(clean);
    } catch (err) {
      showToast(err, `Could not add ${clean.length === 1 ? basename(clean[0]) : plural(clean.length, "item")}`);
      return;
    }
    await refreshAll();
  }

  async function pickAndAdd(): Promise<void> {
    try {
      await addPaths(await api.pickFolders());
    } catch (err) {
      showToast(err, "Could not open the folder picker");
    }
  }

  addFolder.addEventListener("click", () => void pickAndAdd());
  emptyAdd.addEventListener("click", () => void pickAndAdd());
  settingsBtn.addEventListener("click", () => void settings.open());
  toggleSidebar.addEventListener("click", () => {
    const hidden = root.classList.toggle("sidebar-hidden");
    toggleSidebar.setAttribute("aria-expanded", String(!hidden));
  });
  pauseBtn.addEventListener("click", () => {
    const paused = status?.paused ?? false;
    (paused ? api.resumeIndexing() : api.pauseIndexing())
      .then(() => refreshAll())
      .catch((err) => showToast(err, `Could not ${paused ? "resume" : "pause"} indexing`));
  });
  search.addEventListener("input", () => {
    if (!askMode) searchCtl.update(currentParams());
    updateMain();
  });
  askToggle.addEventListener("click", () => {
    if (!askAvailability(status?.generator).enabled) {
      showAskHint();
      return;
    }
    setAskMode(!askMode);
    search.focus();
  });

  // ---------- keyboard ----------
  const onKeydown = (e: KeyboardEvent): void => {
    if (settings.modal.isOpen || failedDialog.modal.isOpen) return;
    const target = e.target;
    const inSearch = target === search;
    const cmd = e.ctrlKey || e.metaKey;

    if (cmd && !e.altKey && (e.key === "k" || e.key === "K" || e.key === "f" || e.key === "F" || e.key === "l" || e.key === "L")) {
      e.preventDefault();
      search.focus();
      search.select();
      return;
    }
    if (cmd && e.key === ",") {
      e.preventDefault();
      void settings.open();
      return;
    }

    const navigable = inSearch || target === document.body || target === root || (target instanceof Node && resultsList.contains(target));
    if (!navigable) return;

    switch (e.key) {
      case "ArrowDown":
      case "ArrowUp":
        if (results.count === 0) return;
        e.preventDefault();
        results.move(e.key === "ArrowDown" ? 1 : -1);
        return;
      case "PageDown":
      case "PageUp":
        if (results.count === 0 || !inSearch) return;
        e.preventDefault();
        results.move(e.key === "PageDown" ? 5 : -5);
        return;
      case "Enter":
        if (e.isComposing) return;
        // Ask: Enter in Ask mode, or Ctrl/⌘+Shift+Enter from either mode (Ctrl/⌘+Enter stays "show in folder").
        if (inSearch && !e.altKey && ((askMode && !cmd && !e.shiftKey) || (cmd && e.shiftKey))) {
          e.preventDefault();
          if (search.value.trim() !== "") askNow();
          return;
        }
        if (!results.selectedResult) return;
        e.preventDefault();
        if (cmd) results.revealSelected();
        else results.openSelected();
        return;
      case "Escape":
        if (askMode && askView.streaming) {
          e.preventDefault();
          askView.stop();
          return;
        }
        if (search.value !== "") {
          e.preventDefault();
          search.value = "";
          if (askMode) setAskMode(false);
          else searchCtl.update(currentParams());
          updateMain();
        }
        search.focus();
        return;
      default:
        // Typing anywhere outside a field goes to the search box.
        if (!inSearch && !isTextField(target) && e.key.length === 1 && !cmd && !e.altKey) search.focus();
    }
  };
  document.addEventListener("keydown", onKeydown);

  // Without this, a file dropped in a plain browser preview would navigate away.
  const stopDomDrop = (e: DragEvent) => e.preventDefault();
  document.addEventListener("dragover", stopDomDrop);
  document.addEventListener("drop", stopDomDrop);

  // ---------- backend events ----------
  const onProgress = (p: ProgressEvent): void => {
    if (destroyed) return;
    if (!folderView.applyProgress(p)) {
      void refreshFolders();
    } else {
      const f = folders.find((x) => x.path === p.folder);
      if (f) Object.assign(f, { filesDone: p.filesDone, filesTotal: p.filesTotal, failed: p.failed, state: p.done ? "idle" : f.state === "paused" ? "paused" : "indexing" });
    }
    if (p.done) {
      void refreshAll();
      if (lastResponse?.catchingUp) searchCtl.refresh();
    } else {
      scheduleStatus();
      schedulePoll();
    }
  };

  const onDownload = (e: ModelDownloadEvent): void => {
    const finished = e.total !== null && e.total > 0 && e.bytes >= e.total;
    downloadStatus.hidden = finished;
    downloadStatus.textContent = finished ? "" : describeDownload(e).text;
    settings.setDownload(e);
    setup.setDownload(e);
    if (finished) scheduleStatus();
  };

  const subscribe = (p: Promise<Unlisten>) =>
    p.then(
      (un) => {
        if (destroyed) un();
        else unlisteners.push(un);
      },
      () => {
        /* events are a nicety; polling still keeps the UI current */
      },
    );

  const ready = (async () => {
    await Promise.all([
      subscribe(api.onProgress(onProgress)),
      subscribe(api.onModelDownload(onDownload)),
      subscribe(api.onAskProgress((e) => askView.onProgress(e))),
      subscribe(
        api.onDragDrop((e) => {
          if (e.type === "enter" || e.type === "over") root.classList.add("drag-over");
          else root.classList.remove("drag-over");
          if (e.type === "drop") void addPaths(e.paths);
        }),
      ),
      refreshAll(),
    ]);
    root.classList.remove("loading");
    updateMain();
  })();

  search.focus();
  updateMain();

  return {
    root,
    ready,
    refresh: refreshAll,
    destroy() {
      destroyed = true;
      searchCtl.dispose();
      for (const t of [pollTimer, statusTimer, toastTimer]) if (t) clearTimeout(t);
      for (const un of unlisteners.splice(0)) {
        try {
          un();
        } catch {
          /* already gone */
        }
      }
      document.removeEventListener("keydown", onKeydown);
      document.removeEventListener("dragover", stopDomDrop);
      document.removeEventListener("drop", stopDomDrop);
    },
  };
}
