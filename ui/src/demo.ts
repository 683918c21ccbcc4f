// In-memory stand-in for the engine, used only when the UI runs in a plain
// browser (npm run dev / preview). Never loaded inside the Tauri app.

import type {
  AnswerModelEntry,
  AskAnswer,
  AskProgressEvent,
  AskRequest,
  DropEvent,
  FailedFile,
  FolderInfo,
  KindCount,
  Location,
  ModelDownloadEvent,
  ProgressEvent,
  SearchRequest,
  SearchResponse,
  Settings,
  SiftApi,
  Status,
} from "./api";
import { NO_MODEL_HINT } from "./ask";
import { extension, pathParts } from "./format";
import { indexToByteOffset } from "./utf8";

interface Doc {
  path: string;
  text: string;
  line: number;
  page: number | null;
  location?: Location;
}

const HOME = "/home/you";

const CORPUS: Doc[] = [
  { path: `${HOME}/Notes/2024/meetings/budget-review.md`, line: 12, page: null, text: "Budget review with finance: we agreed to move the hardware refresh to Q3 and keep the travel budget flat. Action items: Dana drafts the revised forecast, Sam checks vendor quotes before the next meeting." },
  { path: `${HOME}/Notes/recipes/café-au-lait.md`, line: 3, page: null, text: "Café au lait, the way Grand-mère made it: équal parts strong coffee and hot milk, served in a bowl. Tastes best with a croissant — or a slice of brioche on Sundays ☕." },
  { path: `${HOME}/Notes/travel/japan.txt`, line: 40, page: null, text: "Kyoto day 3: 伏見稲荷大社 (Fushimi Inari) early in the morning before the crowds, then tea in Uji. Remember: the JR pass does not cover the Nozomi trains 🚄." },
  { path: `${HOME}/Documents/Papers/attention.pdf`, line: 0, page: 3, location: { unit: "page", number: 3 }, text: "An attention function can be described as mapping a query and a set of key-value pairs to an output, where the query, keys, values, and output are all vectors. The output is computed as a weighted sum of the values." },
  { path: `${HOME}/Documents/Contracts/lease-2023.pdf`, line: 0, page: 7, location: { unit: "page", number: 7 }, text: "The tenant shall give the landlord written notice at least sixty (60) days before the end of the lease term if the tenant does not intend to renew. Notice may be delivered by email." },
  { path: `${HOME}/Documents/Talks/quarterly-review.pptx`, line: 0, page: null, location: { unit: "slide", number: 4 }, text: "Budget outlook: hardware spending moves to Q3; travel stays flat. Hiring plan: two engineers and one designer by the end of the year." },
  { path: `${HOME}/Documents/Finance/household.xlsx`, line: 0, page: null, location: { unit: "sheet", number: 2, name: "Budget" }, text: "Rent 1200 · Groceries 450 · Electricity 80 · Internet 35 · Savings 300 · Travel budget 150" },
  { path: `${HOME}/Documents/Books/moby-dick.epub`, line: 0, page: null, location: { unit: "chapter", number: 9, title: "The Sermon" }, text: "The storm howled about the ship; the sailors reefed the sails and prayed that the coffee in the galley would stay hot until morning." },
  { path: `${HOME}/Documents/Mail/archive.mbox`, line: 0, page: null, location: { unit: "message", number: 3, subject: "Re: budget meeting moved to Thursday" }, text: "From: Dana · To: team · Subject: Re: budget meeting moved to Thursday. Thursday works for me; I will bring the revised forecast and the vendor quotes." },
  { path: `${HOME}/Code/sift/README.md`, line: 1, page: null, text: "Sift indexes your folders on this machine and lets you search them by meaning. Embeddings are computed locally; nothing is uploaded." },
  { path: `${HOME}/Code/sift/src/search.rs`, line: 88, page: null, text: "fn rank(query: &Embedding, chunks: &[Chunk]) -> Vec<Hit> { // cosine similarity over normalised vectors; ties broken by recency" },
  { path: `${HOME}/Downloads/suspicious.html`, line: 2, page: null, text: "<img src=x onerror=alert(1)> <script>alert('xss')</script> This page claims you won a prize. Untrusted file content is shown as plain text." },
];

const MODELS = [
  { id: "minilm-l6", name: "all-MiniLM-L6-v2", dim: 384, installed: true },
  { id: "bge-small", name: "BGE small en v1.5", dim: 384, installed: true },
  { id: "e5-base", name: "multilingual-e5-base", dim: 768, installed: false },
];

/** The answer models (Ask), as the manifest lists them; the small one "installed". */
function demoAnswerModels(): AnswerModelEntry[] {
  const qwen = { languages: "English, Chinese and 27 more languages", license: "Apache-2.0", quantization: "4-bit weights", downloadable: true };
  return [
    { ...qwen, id: "qwen2.5-0.5b-instruct", name: "Qwen2.5 0.5B Instruct — quick drafts", description: "Short answers with citations from the passages Sift found; fast on any laptop.", parametersB: 0.49, size: 800_000_000, approxTokensPerS: 20, installed: true, active: true, removable: true },
    { ...qwen, id: "qwen2.5-1.5b-instruct", name: "Qwen2.5 1.5B Instruct — better answers", description: "Follows the passages more faithfully and cites more reliably; about three times slower.", parametersB: 1.54, size: 1_800_000_000, approxTokensPerS: 7, installed: false, active: false, removable: false },
  ];
}

export function createDemoApi(): SiftApi {
  const empty = typeof location !== "undefined" && /[?&]empty\b/.test(location.search);
  const folders: FolderInfo[] = empty
    ? []
    : [
        { path: `${HOME}/Notes`, filesTotal: 3, filesDone: 3, failed: 0, state: "idle", etaSecs: null },
        { path: `${HOME}/Documents`, filesTotal: 2400, filesDone: 1750, failed: 8, state: "indexing", etaSecs: 260 },
        { path: `${HOME}/Code`, filesTotal: 1200, filesDone: 1200, failed: 0, state: "idle", etaSecs: null },
        { path: `${HOME}/Downloads`, filesTotal: 40, filesDone: 40, failed: 1, state: "idle", etaSecs: null },
      ];
  let paused = false;
  let settings: Settings = { model: "minilm-l6", precision: "int8", models: MODELS, threads: 4, maxThreads: 8, excludes: ["node_modules", ".git", "*.log"] };
  const progressSubs = new Set<(e: ProgressEvent) => void>();
  const downloadSubs = new Set<(e: ModelDownloadEvent) => void>();
  const askSubs = new Set<(e: AskProgressEvent) => void>();
  let askStop: (() => void) | null = null;
  const answerModels = demoAnswerModels();
  /** Stops the running simulated download. */
  let downloadStop: (() => void) | null = null;
  const activeAnswerModel = () => answerModels.find((m) => m.active && m.installed) ?? null;
  let picks = 0;

  const tick = () => {
    if (paused) return;
    for (const f of folders) {
      if (f.state === "queued") f.state = "indexing";
      if (f.state !== "indexing") continue;
      f.filesDone = Math.min(f.filesTotal, f.filesDone + Math.ceil(f.filesTotal / 80));
      f.etaSecs = Math.round((f.filesTotal - f.filesDone) / 8);
      const done = f.filesDone >= f.filesTotal;
      if (done) {
        f.state = "idle";
        f.etaSecs = null;
      }
      const current = done ? null : `${f.path}/file-${f.filesDone}.md`;
      progressSubs.forEach((cb) => cb({ folder: f.path, filesDone: f.filesDone, filesTotal: f.filesTotal, failed: f.failed, currentFile: current, done, offline: false }));
    }
  };
  setInterval(tick, 400);

  const wait = <T>(v: T, ms = 40) => new Promise<T>((r) => setTimeout(() => r(v), ms));
  const counts = () => folders.reduce((a, f) => ({ files: a.files + Math.max(0, f.filesDone - f.failed), failed: a.failed + f.failed }), { files: 0, failed: 0 });

  function search(req: SearchRequest): SearchResponse {
    const words = req.query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1);
    const hits = [];
    for (const d of CORPUS) {
      const folder = folders.find((f) => d.path.startsWith(f.path + "/"));
      if (!folder) continue;
      if (req.folder && folder.path !== req.folder) continue;
      if (req.kinds.length && !req.kinds.includes(extension(d.path))) continue;
      const lower = d.text.toLowerCase();
      const highlights: [number, number][] = [];
      let score = 0;
      for (const w of words) {
        let at = lower.indexOf(w);
        if (at >= 0) score += 1;
        while (at >= 0) {
          highlights.push([indexToByteOffset(d.text, at), indexToByteOffset(d.text, at + w.length)]);
          at = lower.indexOf(w, at + w.length);
        }
      }
      if (score === 0) continue;
      const parts = pathParts(d.path);
      hits.push({
        path: d.path,
        fileName: parts[parts.length - 1],
        folder: folder.path,
        score: score / Math.max(1, words.length),
        strength: score === words.length ? ("strong" as const) : ("weak" as const),
        passage: { text: d.text, start: 0, end: indexToByteOffset(d.text, d.text.length), line: d.line, page: d.page, location: d.location ?? null, highlights },
      });
    }
    hits.sort((a, b) => b.score - a.score);
    const results = hits.slice(0, req.limit);
    const confidence = results.some((r) => r.strength === "strong") ? ("strong" as const) : results.length ? ("weak" as const) : ("none" as const);
    return { query: req.query, tookMs: 8 + Math.round(Math.random() * 20), catchingUp: folders.some((f) => f.state !== "idle"), confidence, results };
  }

  /** A fake answer model: streams a canned answer citing the first passage, a word every 60 ms. */
  function ask(req: AskRequest): Promise<AskAnswer> {
    askStop?.();
    const res = search({ query: req.question, limit: 4, folder: req.folder, kinds: req.kinds });
    const passages = res.results.filter((r) => r.strength !== "unrelated").slice(0, 4);
    const draft = passages.length
      ? `According to ${passages[0].fileName}, ${passages[0].passage.text.split(/(?<=[.!?])\s/)[0].replace(/[.!?]$/, "")} [1].`
      : "Not found in your files.";
    const words = draft.split(/(?<= )/);
    return new Promise((resolve) => {
      let i = 0;
      let written = "";
      const finish = (stopped: boolean) => {
        clearInterval(iv);
        askStop = null;
        const answered = !stopped && passages.length > 0;
        resolve({
          id: req.id,
          question: req.question,
          status: answered ? "answered" : "not_found",
          answer: answered ? draft : "Not found in your files",
          reason: stopped ? "stopped before the answer was complete" : answered ? null : "nothing in your files matches the question",
          draft: written,
          citations: answered ? [1] : [],
          passages,
          results: res.results,
          stopped,
          finish: stopped ? "cancelled" : "stop",
          timings: { searchMs: res.tookMs, firstTokenMs: 60, prefillTokS: 900, decodeTokS: 16, promptTokens: 400, generatedTokens: i, totalMs: res.tookMs + i * 60 },
          model: activeAnswerModel()?.id ?? "demo-answer-model",
          provider: "CPU",
        });
      };
      const iv = setInterval(() => {
        if (i >= words.length) return finish(false);
        written += words[i];
        askSubs.forEach((cb) => cb({ id: req.id, text: words[i] }));
        i++;
      }, 60);
      askStop = () => finish(true);
    });
  }

  function answerState(): Status["generator"] {
    const m = activeAnswerModel();
    return m ? { state: "ready", model: m.id, provider: "CPU" } : { state: "absent", hint: NO_MODEL_HINT };
  }

  /** A download's progress events, a tenth of the model every 300 ms; Cancel rejects as the backend does. */
  function simulateDownload(id: string, total: number): Promise<void> {
    if (downloadStop) return Promise.reject({ kind: "other", message: "Another model is downloading; wait for it to finish or cancel it first.", details: "demo" });
    return new Promise((resolve, reject) => {
      let bytes = 0;
      const iv = setInterval(() => {
        bytes = Math.min(total, bytes + total / 10);
        downloadSubs.forEach((cb) => cb({ model: id, file: "onnx/model_q4.onnx", bytes, total }));
        if (bytes >= total) {
          clearInterval(iv);
          downloadStop = null;
          resolve();
        }
      }, 300);
      downloadStop = () => {
        clearInterval(iv);
        downloadStop = null;
        reject({ kind: "other", message: "The download was cancelled.", details: "cancelled in the demo" });
      };
    });
  }

  return {
    about: () => wait({ version: "demo", dataDir: "(demo data, nothing is stored)" }, 5),
    status: () => {
      const c = counts();
      const model = MODELS.find((m) => m.id === settings.model) ?? MODELS[0];
      const s: Status = { model: model.name, precision: settings.precision, dim: model.dim, provider: "CPU", folders: folders.length, files: c.files, passages: c.files * 6, chunks: c.files * 24, vectors: c.files * 24, failed: c.failed, indexing: !paused && folders.some((f) => f.state === "indexing" || f.state === "queued"), paused, lastError: null, warning: null, generator: answerState() };
      return wait(s, 10);
    },
    listFolders: () => wait(folders.map((f) => ({ ...f, state: paused && f.state === "indexing" ? "paused" : f.state })), 10),
    addFolders: async (paths) => {
      for (const p of paths) if (!folders.some((f) => f.path === p)) folders.push({ path: p, filesTotal: 320, filesDone: 0, failed: 2, state: "queued", etaSecs: null });
    },
    removeFolder: async (path) => {
      const i = folders.findIndex((f) => f.path === path);
      if (i >= 0) folders.splice(i, 1);
    },
    pauseIndexing: async () => void (paused = true),
    resumeIndexing: async () => void (paused = false),
    search: (req) => wait(search(req), 30 + Math.random() * 60),
    ask,
    stopAsk: async () => {
      const running = askStop !== null;
      askStop?.();
      return running;
    },
    failedFiles: (folder) => {
      const samples: Omit<FailedFile, "path">[] = [
        { reason: "scanned — no text layer", status: "skipped" },
        { reason: "unsupported type (.png)", status: "skipped" },
        { reason: "PDF document is encrypted", status: "failed" },
        { reason: "unsupported type (.zip)", status: "skipped" },
        { reason: "too large (300 MB; the limit is 64 MB)", status: "skipped" },
        { reason: "unsupported type (.jpg)", status: "skipped" },
      ];
      const list: FailedFile[] = [];
      for (const f of folders) {
        if (folder && f.path !== folder) continue;
        for (let i = 0; i < f.failed; i++) {
          const sample = samples[i % samples.length];
          const ext = /\(\.(\w+)\)$/.exec(sample.reason)?.[1] ?? "pdf";
          list.push({ path: `${f.path}/file-${i + 1}.${ext}`, ...sample });
        }
      }
      return wait(list);
    },
    indexedKinds: () => {
      const byExt = new Map<string, number>();
      for (const d of CORPUS) {
        if (!folders.some((f) => d.path.startsWith(f.path + "/"))) continue;
        const ext = extension(d.path);
        byExt.set(ext, (byExt.get(ext) ?? 0) + 1);
      }
      const kinds: KindCount[] = [...byExt].map(([ext, files]) => ({ ext, files }));
      return wait(kinds.sort((a, b) => b.files - a.files || a.ext.localeCompare(b.ext)), 10);
    },
    openPath: async (path) => console.info("[demo] open", path),
    revealPath: async (path) => console.info("[demo] reveal", path),
    getSettings: () => wait(structuredClone(settings)),
    retryEngine: async () => {},
    listModels: () =>
      wait(
        MODELS.map((m) => ({
          id: m.id,
          name: m.name,
          description: "A demo model.",
          languages: "English",
          dim: m.dim,
          size: m.installed ? null : 90_000_000,
          installed: m.installed,
          active: m.id === settings.model,
          bundled: m.installed,
          downloadable: !m.installed,
        })),
      ),
    downloadModel: async (id) => {
      const m = MODELS.find((x) => x.id === id);
      if (m) m.installed = true;
    },
    cancelModelDownload: async () => {
      const running = downloadStop !== null;
      downloadStop?.();
      return running;
    },
    listAnswerModels: () => wait(answerModels.map((m) => ({ ...m }))),
    downloadAnswerModel: async (id) => {
      const m = answerModels.find((x) => x.id === id);
      if (!m) throw { kind: "other", message: `The model “${id}” is not one Sift knows; choose another one in Settings.`, details: id };
      if (m.installed) return;
      await simulateDownload(id, m.size ?? 1);
      m.installed = true;
      m.removable = true;
      if (!activeAnswerModel()) m.active = true;
    },
    useAnswerModel: async (id) => {
      const m = answerModels.find((x) => x.id === id && x.installed);
      if (!m) throw { kind: "other", message: `${id} is not installed; download it first.`, details: id };
      answerModels.forEach((x) => (x.active = x === m));
    },
    removeAnswerModel: async (id) => {
      const m = answerModels.find((x) => x.id === id);
      if (!m) return;
      m.installed = m.active = m.removable = false;
      const next = answerModels.find((x) => x.installed);
      if (next) next.active = true;
    },
    setSettings: async (s) => {
      const m = MODELS.find((x) => x.id === s.model);
      if (m && !m.installed) {
        let bytes = 0;
        const total = 90_000_000;
        const iv = setInterval(() => {
          bytes = Math.min(total, bytes + 9_000_000);
          downloadSubs.forEach((cb) => cb({ model: m.id, file: `models/${m.id}/model.onnx`, bytes, total }));
          if (bytes >= total) {
            clearInterval(iv);
            m.installed = true;
          }
        }, 300);
      }
      settings = { ...settings, model: s.model, precision: s.precision, threads: s.threads, excludes: [...s.excludes] };
    },
    pickFolders: async () => [[`${HOME}/Pictures/Scans`, `${HOME}/Desktop`, `${HOME}/Work/Reports`][picks++ % 3]],
    onProgress: async (cb) => {
      progressSubs.add(cb);
      return () => progressSubs.delete(cb);
    },
    onModelDownload: async (cb) => {
      downloadSubs.add(cb);
      return () => downloadSubs.delete(cb);
    },
    onAskProgress: async (cb) => {
      askSubs.add(cb);
      return () => askSubs.delete(cb);
    },
    onDragDrop: async (_cb: (e: DropEvent) => void) => () => {},
  };
}
