// The one place that talks to Tauri. Everything else in the UI depends only on
// the `SiftApi` interface below, so it can be unit-tested against a fake.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open as openDialog } from "@tauri-apps/plugin-dialog";

export type Provider = "CPU" | "CoreML" | "CUDA" | (string & {});

export type Precision = "int8" | "fp32";

export interface Status {
  model: string;
  /** Numeric precision of the model in use. */
  precision: Precision;
  dim: number;
  provider: Provider;
  folders: number;
  files: number;
  /** Passages results can show. */
  passages: number;
  /** Units with a vector each (passages and their sentence windows). */
  chunks: number;
  /** Vectors meaning search uses; equals `chunks` when the vector index is complete. */
  vectors: number;
  failed: number;
  indexing: boolean;
  paused: boolean;
  /** Why the last indexing pass failed (one sentence), until one succeeds. */
  lastError: string | null;
  /** The whole error chain behind `lastError`, for "Copy details". */
  lastErrorDetails?: string | null;
  /** A problem the user should fix (e.g. the OS limit on watched folders), as one sentence. */
  warning: string | null;
  /** The answer model behind Ask mode (absent in older backends: treated as absent). */
  generator?: GeneratorState;
}

/** The answer model behind Ask mode: loaded in the background; the next question retries a failed one. */
export type GeneratorState =
  | { state: "absent"; /** How to get one, one or two sentences. */ hint: string }
  | { state: "loading"; model: string }
  | { state: "ready"; model: string; provider: Provider }
  | { state: "failed"; model: string; /** One sentence. */ reason: string };

export interface AskRequest {
  /** The UI's number for this question: its `sift://ask-progress` events carry it. */
  id: number;
  question: string;
  folder: string | null;
  kinds: string[];
}

/** `not_found`: the draft did not pass the checks (or was stopped): "Not found in your files". */
export type AskStatus = "answered" | "not_found";

export interface AskTimings {
  searchMs: number;
  firstTokenMs: number;
  prefillTokS: number;
  decodeTokS: number;
  promptTokens: number;
  generatedTokens: number;
  totalMs: number;
}

/** The checked answer (`ask`'s result, after its text streamed as events). */
export interface AskAnswer {
  id: number;
  question: string;
  status: AskStatus;
  /** The checked answer, or "Not found in your files". Model output: untrusted text. */
  answer: string;
  /** Why there is no answer (`not_found`). */
  reason: string | null;
  /** What the model wrote, shown or not. */
  draft: string;
  /** Passage numbers the answer cites: `[n]` is `passages[n - 1]`. */
  citations: number[];
  /** The passages given to the model, in prompt order (search results: byte-offset highlights). */
  passages: SearchResult[];
  /** The whole search behind the question (shown when no passage reached the model). */
  results: SearchResult[];
  /** Stopped (Stop, or a newer question). */
  stopped: boolean;
  /** "stop", "max_tokens", "context_full", "cancelled"; null: the model did not run. */
  finish: string | null;
  timings: AskTimings;
  model: string;
  provider: Provider;
}

/** Text the model just wrote for question `id` (event `sift://ask-progress`). */
export interface AskProgressEvent {
  id: number;
  text: string;
}

/** What the UI can offer to fix: download the model, reinstall, retry. */
export type ErrorKind = "modelMissing" | "runtimeMissing" | "engineFailed" | "other";

/** How every command fails: one sentence saying what to do, and the whole chain for "Copy details". */
export interface AppError {
  kind: ErrorKind;
  message: string;
  details: string;
}

export type FolderState = "queued" | "indexing" | "idle" | "paused" | "offline";

export interface FolderInfo {
  path: string;
  filesTotal: number;
  filesDone: number;
  failed: number;
  state: FolderState;
  etaSecs: number | null;
}

export interface SearchRequest {
  query: string;
  limit: number;
  folder: string | null;
  /** File extensions without the dot, e.g. ["md", "txt"]. Empty = all kinds. */
  kinds: string[];
}

/**
 * Where in a document a passage sits (`sift_core::Location`, tagged by `unit`). Numbers are 1-based; names,
 * titles and subjects come from the file and are untrusted text.
 */
export type Location =
  | { unit: "page"; number: number }
  | { unit: "slide"; number: number }
  | { unit: "sheet"; number: number; name: string }
  | { unit: "chapter"; number: number; title: string }
  | { unit: "message"; number: number; subject: string };

export interface Passage {
  text: string;
  start: number;
  end: number;
  line: number;
  page: number | null;
  /** Page, slide, sheet, chapter or mailbox message, when the document has them. */
  location?: Location | null;
  /** [start, end) pairs of UTF-8 *byte* offsets into `text`. */
  highlights: [number, number][];
  /** [start, end) UTF-8 byte offsets into `text` of the sentences closest in meaning to the query. */
  answer?: [number, number] | null;
}

/** How well a result matches: `unrelated` is only the nearest passage there is. */
export type Strength = "strong" | "weak" | "unrelated";

/** Whether anything matches clearly; `none`: nothing in the index is related to the query. */
export type Confidence = "strong" | "weak" | "none";

export interface SearchResult {
  path: string;
  fileName: string;
  folder: string;
  score: number;
  strength: Strength;
  passage: Passage;
}

export interface SearchResponse {
  query: string;
  tookMs: number;
  catchingUp: boolean;
  confidence: Confidence;
  results: SearchResult[];
}

/** Skipped on purpose (not something Sift reads) or failed (it should have been readable). */
export type ProblemStatus = "skipped" | "failed";

export interface FailedFile {
  path: string;
  /** Short lowercase phrase, maybe with a detail in parentheses: "unsupported type (.png)". */
  reason: string;
  status: ProblemStatus;
}

/** A file extension among the searchable files (lower case, no dot; "" = none) and how many files have it. */
export interface KindCount {
  ext: string;
  files: number;
}

export interface ModelInfo {
  id: string;
  name: string;
  dim: number;
  installed: boolean;
}

/** One model in the settings screen's list (`list_models`). */
export interface ModelEntry {
  id: string;
  name: string;
  /** What it is good at, one line. */
  description: string;
  /** "English", "100+ languages". */
  languages: string;
  dim: number;
  /** Download size in bytes, when known. */
  size: number | null;
  installed: boolean;
  active: boolean;
  /** Shipped with Sift (no download). */
  bundled: boolean;
  /** Sift can download it (pinned revision and checksums). */
  downloadable: boolean;
}

/** One answer model (Ask) in the settings' "Answer models" list (`list_answer_models`). */
export interface AnswerModelEntry {
  id: string;
  name: string;
  /** What it is good for, one line ("" for an installed model the manifest does not list). */
  description: string;
  languages: string;
  /** The licence of the weights (SPDX id), when known. */
  license: string | null;
  /** Parameters, in billions, when known. */
  parametersB: number | null;
  /** "4-bit weights", when known. */
  quantization: string | null;
  /** Bytes: the download, or the model on disk for one the manifest does not list. */
  size: number | null;
  /** About how many reply tokens per second it writes on a 2-core laptop (the manifest's figure). */
  approxTokensPerS: number | null;
  installed: boolean;
  /** The one Ask uses now. */
  active: boolean;
  /** Sift can download it. */
  downloadable: boolean;
  /** Downloaded by Sift, so it can be removed again. */
  removable: boolean;
}

export interface Settings {
  model: string;
  /** Precision in effect for `model`; a new model starts at its own default. */
  precision: Precision;
  models: ModelInfo[];
  threads: number;
  maxThreads: number;
  excludes: string[];
}

export interface ProgressEvent {
  folder: string;
  filesDone: number;
  filesTotal: number;
  failed: number;
  currentFile: string | null;
  done: boolean;
  /** The pass found the folder offline (unmounted drive): its index is kept. */
  offline: boolean;
}

export interface ModelDownloadEvent {
  /** The model's id. */
  model: string;
  file: string;
  bytes: number;
  total: number | null;
}

export type DropEvent =
  | { type: "enter"; paths: string[] }
  | { type: "over" }
  | { type: "drop"; paths: string[] }
  | { type: "leave" };

export type Unlisten = () => void;

/** The version (the same as `sift --version`) and where the index lives. */
export interface About {
  version: string;
  dataDir: string;
}

export interface SiftApi {
  about(): Promise<About>;
  status(): Promise<Status>;
  listFolders(): Promise<FolderInfo[]>;
  addFolders(paths: string[]): Promise<void>;
  removeFolder(path: string): Promise<void>;
  pauseIndexing(): Promise<void>;
  resumeIndexing(): Promise<void>;
  search(req: SearchRequest): Promise<SearchResponse>;
  /** Ask mode: a drafted, checked answer from the top passages; its text streams through `onAskProgress`. */
  ask(req: AskRequest): Promise<AskAnswer>;
  /** Stop the running question (it ends within one token); whether one was running. */
  stopAsk(): Promise<boolean>;
  failedFiles(folder: string | null): Promise<FailedFile[]>;
  /** The types in the index, for the filter chips. */
  indexedKinds(): Promise<KindCount[]>;
  openPath(path: string): Promise<void>;
  revealPath(path: string): Promise<void>;
  getSettings(): Promise<Settings>;
  setSettings(settings: Settings): Promise<void>;
  /** Open the engine again after it failed (first-run screen); `download` fetches a missing model first. */
  retryEngine(download: boolean): Promise<void>;
  /** Every model with its facts and state (settings). */
  listModels(): Promise<ModelEntry[]>;
  /** Download a model (the user's click); progress comes as `sift://model-download` events. */
  downloadModel(id: string): Promise<void>;
  /** Stop the running download (its partial file is kept, so downloading again resumes). */
  cancelModelDownload(): Promise<boolean>;
  /** The answer models (Ask) with their facts, the one in use marked. */
  listAnswerModels(): Promise<AnswerModelEntry[]>;
  /** Download an answer model (the user's click); progress comes as `sift://model-download` events, one download at a time. */
  downloadAnswerModel(id: string): Promise<void>;
  /** Make Ask use this installed model (saved; it loads in the background). */
  useAnswerModel(id: string): Promise<void>;
  /** Delete a downloaded answer model. */
  removeAnswerModel(id: string): Promise<void>;
  /** Native "choose folders" dialog. Resolves to [] when cancelled. */
  pickFolders(): Promise<string[]>;
  onProgress(cb: (e: ProgressEvent) => void): Promise<Unlisten>;
  onModelDownload(cb: (e: ModelDownloadEvent) => void): Promise<Unlisten>;
  onAskProgress(cb: (e: AskProgressEvent) => void): Promise<Unlisten>;
  onDragDrop(cb: (e: DropEvent) => void): Promise<Unlisten>;
}

export const PROGRESS_EVENT = "sift://progress";
export const MODEL_DOWNLOAD_EVENT = "sift://model-download";
export const ASK_PROGRESS_EVENT = "sift://ask-progress";

/** True when running inside the Tauri webview (withGlobalTauri: false still sets the internals). */
export function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

function wrapUnlisten(p: Promise<UnlistenFn>): Promise<Unlisten> {
  return p.then((fn) => () => fn());
}

export function createTauriApi(): SiftApi {
  return {
    about: () => invoke<About>("about"),
    status: () => invoke<Status>("status"),
    listFolders: () => invoke<FolderInfo[]>("list_folders"),
    addFolders: (paths) => invoke<void>("add_folders", { paths }),
    removeFolder: (path) => invoke<void>("remove_folder", { path }),
    pauseIndexing: () => invoke<void>("pause_indexing"),
    resumeIndexing: () => invoke<void>("resume_indexing"),
    search: ({ query, limit, folder, kinds }) =>
      invoke<SearchResponse>("search", { query, limit, folder, kinds }),
    ask: ({ id, question, folder, kinds }) => invoke<AskAnswer>("ask", { id, question, folder, kinds }),
    stopAsk: () => invoke<boolean>("stop_ask"),
    failedFiles: (folder) => invoke<FailedFile[]>("failed_files", { folder }),
    indexedKinds: () => invoke<KindCount[]>("indexed_kinds"),
    openPath: (path) => invoke<void>("open_path", { path }),
    revealPath: (path) => invoke<void>("reveal_path", { path }),
    getSettings: () => invoke<Settings>("get_settings"),
    setSettings: (settings) => invoke<void>("set_settings", { settings }),
    retryEngine: (download) => invoke<void>("retry_engine", { download }),
    listModels: () => invoke<ModelEntry[]>("list_models"),
    downloadModel: (id) => invoke<void>("download_model", { id }),
    cancelModelDownload: () => invoke<boolean>("cancel_model_download"),
    listAnswerModels: () => invoke<AnswerModelEntry[]>("list_answer_models"),
    downloadAnswerModel: (id) => invoke<void>("download_answer_model", { id }),
    useAnswerModel: (id) => invoke<void>("use_answer_model", { id }),
    removeAnswerModel: (id) => invoke<void>("remove_answer_model", { id }),
    async pickFolders() {
      const picked = await openDialog({
        directory: true,
        multiple: true,
        title: "Add folders to Sift",
      });
      if (picked == null) return [];
      return Array.isArray(picked) ? picked : [picked];
    },
    onProgress: (cb) =>
      wrapUnlisten(listen<ProgressEvent>(PROGRESS_EVENT, (e) => cb(e.payload))),
    onModelDownload: (cb) =>
      wrapUnlisten(listen<ModelDownloadEvent>(MODEL_DOWNLOAD_EVENT, (e) => cb(e.payload))),
    onAskProgress: (cb) => wrapUnlisten(listen<AskProgressEvent>(ASK_PROGRESS_EVENT, (e) => cb(e.payload))),
    onDragDrop: (cb) =>
      wrapUnlisten(
        getCurrentWebview().onDragDropEvent((e) => {
          const p = e.payload;
          switch (p.type) {
            case "enter":
              cb({ type: "enter", paths: p.paths });
              break;
            case "over":
              cb({ type: "over" });
              break;
            case "drop":
              cb({ type: "drop", paths: p.paths });
              break;
            default:
              cb({ type: "leave" });
          }
        }),
      ),
  };
}

/** The desktop integration's settings (close to tray, quick-search shortcut, start at login). */
export interface DesktopSettings {
  closeToTray: boolean;
  /** e.g. "CommandOrControl+Shift+Space". */
  shortcut: string;
  startAtLogin: boolean;
  /** Read only: there is a tray icon (closing to the tray needs one). */
  trayAvailable?: boolean;
  /** Read only: start at login can be set on this system. */
  startAtLoginAvailable?: boolean;
  /** Read only: why the shortcut is not active, as one sentence. */
  shortcutWarning?: string | null;
}

export interface DesktopApi {
  getDesktopSettings(): Promise<DesktopSettings>;
  /** Saves and applies; resolves to the settings now in effect (with a warning if the shortcut is taken). */
  setDesktopSettings(settings: DesktopSettings): Promise<DesktopSettings>;
}

export function createDesktopApi(): DesktopApi {
  return {
    getDesktopSettings: () => invoke<DesktopSettings>("get_desktop_settings"),
    setDesktopSettings: (settings) => invoke<DesktopSettings>("set_desktop_settings", { settings }),
  };
}

/** Sent to the quick-search window each time it is shown. */
export const QUICK_SHOWN_EVENT = "sift://quick-shown";

/** What the quick-search window needs. */
export interface QuickApi {
  search(req: SearchRequest): Promise<SearchResponse>;
  openPath(path: string): Promise<void>;
  hide(): Promise<void>;
  onShown(cb: () => void): Promise<Unlisten>;
}

export function createQuickApi(): QuickApi {
  return {
    search: ({ query, limit, folder, kinds }) =>
      invoke<SearchResponse>("search", { query, limit, folder, kinds }),
    openPath: (path) => invoke<void>("open_path", { path }),
    hide: () => invoke<void>("hide_quick_search"),
    onShown: (cb) => wrapUnlisten(listen<null>(QUICK_SHOWN_EVENT, () => cb())),
  };
}
