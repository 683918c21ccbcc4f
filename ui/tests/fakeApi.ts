import { vi } from "vitest";
import type {
  AnswerModelEntry,
  AskAnswer,
  AskProgressEvent,
  AskRequest,
  DropEvent,
  FolderInfo,
  KindCount,
  ModelDownloadEvent,
  ProgressEvent,
  SearchRequest,
  SearchResponse,
  SearchResult,
  Settings,
  SiftApi,
  Status,
} from "../src/api";

export interface FakeApi extends SiftApi {
  emitProgress(e: ProgressEvent): void;
  emitDownload(e: ModelDownloadEvent): void;
  emitDrop(e: DropEvent): void;
  emitAsk(e: AskProgressEvent): void;
}

export function makeAnswer(over: Partial<AskAnswer> = {}): AskAnswer {
  return {
    id: 1,
    question: "q",
    status: "answered",
    answer: "The answer [1].",
    reason: null,
    draft: "The answer [1].",
    citations: [1],
    passages: [],
    results: [],
    stopped: false,
    finish: "stop",
    timings: { searchMs: 5, firstTokenMs: 50, prefillTokS: 500, decodeTokS: 20, promptTokens: 300, generatedTokens: 12, totalMs: 700 },
    model: "smollm2-135m-instruct",
    provider: "CPU",
    ...over,
  };
}

export function makeStatus(over: Partial<Status> = {}): Status {
  return {
    model: "all-MiniLM-L6-v2",
    dim: 384,
    provider: "CPU",
    folders: 1,
    files: 1234,
    passages: 1234,
    chunks: 5678,
    failed: 0,
    vectors: 5678,
    indexing: false,
    paused: false,
    lastError: null,
    warning: null,
    precision: "int8",
    ...over,
  };
}

export function makeFolder(over: Partial<FolderInfo> = {}): FolderInfo {
  return { path: "/home/u/Notes", filesTotal: 10, filesDone: 10, failed: 0, state: "idle", etaSecs: null, ...over };
}

export function makeResult(over: Partial<SearchResult> = {}, passageOver: Partial<SearchResult["passage"]> = {}): SearchResult {
  return {
    path: "/home/u/Notes/a.md",
    fileName: "a.md",
    folder: "/home/u/Notes",
    score: 0.8,
    strength: "strong",
    ...over,
    passage: { text: "hello world", start: 0, end: 11, line: 3, page: null, highlights: [[0, 5]], ...passageOver },
  };
}

export function makeResponse(query: string, results: SearchResult[], over: Partial<SearchResponse> = {}): SearchResponse {
  return { query, tookMs: 12, catchingUp: false, confidence: "strong", results, ...over };
}

export interface FakeOptions {
  folders?: FolderInfo[];
  status?: Partial<Status>;
  search?: (req: SearchRequest) => Promise<SearchResponse>;
  settings?: Settings;
  /** What `indexedKinds` answers (the type chips). */
  kinds?: KindCount[];
  /** What `ask` answers. */
  ask?: (req: AskRequest) => Promise<AskAnswer>;
  /** What `listAnswerModels` answers (none by default). */
  answerModels?: AnswerModelEntry[];
}

export function makeAnswerModel(over: Partial<AnswerModelEntry> = {}): AnswerModelEntry {
  return {
    id: "qwen2.5-0.5b-instruct",
    name: "Qwen2.5 0.5B Instruct — quick drafts",
    description: "Short answers with citations from the passages Sift found; fast on any laptop.",
    languages: "English, Chinese and 27 more languages",
    license: "Apache-2.0",
    parametersB: 0.49,
    quantization: "4-bit weights",
    size: 800_000_000,
    approxTokensPerS: 20,
    installed: false,
    active: false,
    downloadable: true,
    removable: false,
    ...over,
  };
}

/** A SiftApi whose every method is a vi.fn spy, plus emitters for backend events. */
export function createFakeApi(opts: FakeOptions = {}): FakeApi {
  let folders = opts.folders ?? [];
  const progress = new Set<(e: ProgressEvent) => void>();
  const downloads = new Set<(e: ModelDownloadEvent) => void>();
  const drops = new Set<(e: DropEvent) => void>();
  const asks = new Set<(e: AskProgressEvent) => void>();
  const settings: Settings = opts.settings ?? {
    model: "minilm",
    precision: "int8",
    models: [
      { id: "minilm", name: "MiniLM", dim: 384, installed: true },
      { id: "e5", name: "E5 base", dim: 768, installed: false },
    ],
    threads: 4,
    maxThreads: 8,
    excludes: ["node_modules", "*.log"],
  };

  const api: FakeApi = {
    about: vi.fn(async () => ({ version: "0.1.0", dataDir: "/home/u/.local/share/sift" })),
    status: vi.fn(async () => makeStatus({ folders: folders.length, ...opts.status })),
    listFolders: vi.fn(async () => folders.map((f) => ({ ...f }))),
    addFolders: vi.fn(async (paths: string[]) => {
      folders = [...folders, ...paths.map((p) => makeFolder({ path: p, filesDone: 0, filesTotal: 0, state: "queued" }))];
    }),
    removeFolder: vi.fn(async (path: string) => {
      folders = folders.filter((f) => f.path !== path);
    }),
    pauseIndexing: vi.fn(async () => {}),
    resumeIndexing: vi.fn(async () => {}),
    search: vi.fn(opts.search ?? (async (req: SearchRequest) => makeResponse(req.query, []))),
    ask: vi.fn(opts.ask ?? (async (req: AskRequest) => makeAnswer({ id: req.id, question: req.question }))),
    stopAsk: vi.fn(async () => true),
    failedFiles: vi.fn(async () => [{ path: "/home/u/Notes/bad.pdf", reason: "PDF is encrypted", status: "failed" as const }]),
    indexedKinds: vi.fn(async () => (opts.kinds ?? []).map((k) => ({ ...k }))),
    openPath: vi.fn(async () => {}),
    revealPath: vi.fn(async () => {}),
    getSettings: vi.fn(async () => structuredClone(settings)),
    setSettings: vi.fn(async () => {}),
    retryEngine: vi.fn(async () => {}),
    listModels: vi.fn(async () =>
      settings.models.map((m) => ({
        id: m.id,
        name: m.name,
        description: `${m.name} description`,
        languages: "English",
        dim: m.dim,
        size: m.installed ? null : 133_000_000,
        installed: m.installed,
        active: m.id === settings.model,
        bundled: m.installed,
        downloadable: !m.installed,
      })),
    ),
    downloadModel: vi.fn(async () => {}),
    cancelModelDownload: vi.fn(async () => true),
    listAnswerModels: vi.fn(async () => (opts.answerModels ?? []).map((m) => ({ ...m }))),
    downloadAnswerModel: vi.fn(async () => {}),
    useAnswerModel: vi.fn(async () => {}),
    removeAnswerModel: vi.fn(async () => {}),
    pickFolders: vi.fn(async () => ["/home/u/Picked"]),
    onProgress: vi.fn(async (cb) => {
      progress.add(cb);
      return () => progress.delete(cb);
    }),
    onModelDownload: vi.fn(async (cb) => {
      downloads.add(cb);
      return () => downloads.delete(cb);
    }),
    onAskProgress: vi.fn(async (cb) => {
      asks.add(cb);
      return () => asks.delete(cb);
    }),
    onDragDrop: vi.fn(async (cb) => {
      drops.add(cb);
      return () => drops.delete(cb);
    }),
    emitProgress: (e) => progress.forEach((cb) => cb(e)),
    emitDownload: (e) => downloads.forEach((cb) => cb(e)),
    emitDrop: (e) => drops.forEach((cb) => cb(e)),
    emitAsk: (e) => asks.forEach((cb) => cb(e)),
  };
  return api;
}

/** Resolve all currently queued promise callbacks. */
export async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}

/** A promise whose resolution the test controls. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function typeInto(input: HTMLInputElement, value: string): void {
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

export function press(target: EventTarget, key: string, mods: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...mods });
  target.dispatchEvent(e);
  return e;
}
