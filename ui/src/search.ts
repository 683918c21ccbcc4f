// Search-as-you-type: debounces input and makes sure an older response can
// never overwrite a newer one (every request gets a sequence number).

import type { SearchRequest, SearchResponse } from "./api";

export const SEARCH_DEBOUNCE_MS = 150;
export const SEARCH_LIMIT = 50;

export interface SearchParams {
  query: string;
  folder: string | null;
  kinds: string[];
}

export interface SearchHandlers {
  onResults(res: SearchResponse, params: SearchParams): void;
  onError(err: unknown, params: SearchParams): void;
  /** The query became empty; results should be cleared. */
  onClear(): void;
  /** A request is (or no longer is) outstanding for the latest input. */
  onBusy?(busy: boolean): void;
}

export class SearchController {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Sequence number of the most recently issued request. */
  private issued = 0;
  /** Sequence number of the newest request whose outcome was shown (or that was invalidated). */
  private applied = 0;
  private current: SearchParams = { query: "", folder: null, kinds: [] };

  constructor(
    private readonly run: (req: SearchRequest) => Promise<SearchResponse>,
    private readonly handlers: SearchHandlers,
    private readonly delayMs = SEARCH_DEBOUNCE_MS,
    private readonly limit = SEARCH_LIMIT,
  ) {}

  get params(): SearchParams {
    return this.current;
  }

  /** Schedule a search for new input. `immediate` skips the debounce (e.g. filter changes). */
  update(params: SearchParams, opts: { immediate?: boolean } = {}): void {
    this.current = { query: params.query, folder: params.folder, kinds: [...params.kinds] };
    this.clearTimer();
    if (this.current.query.trim() === "") {
      // Anything still in flight belongs to an older query: drop it.
      this.applied = this.issued;
      this.handlers.onBusy?.(false);
      this.handlers.onClear();
      return;
    }
    if (opts.immediate || this.delayMs <= 0) this.fire();
    else this.timer = setTimeout(() => this.fire(), this.delayMs);
  }

  /** Re-run the current query now (e.g. once indexing has caught up). */
  refresh(): void {
    if (this.current.query.trim() === "") return;
    this.clearTimer();
    this.fire();
  }

  /** Stop pending timers and ignore every outstanding response. */
  dispose(): void {
    this.clearTimer();
    this.applied = this.issued;
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private fire(): void {
    this.timer = null;
    const params = this.current;
    const seq = ++this.issued;
    this.handlers.onBusy?.(true);
    const req: SearchRequest = {
      query: params.query.trim(),
      limit: this.limit,
      folder: params.folder,
      kinds: [...params.kinds],
    };
    let pending: Promise<SearchResponse>;
    try {
      pending = this.run(req);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (res) => {
        if (seq <= this.applied) return; // stale
        this.applied = seq;
        if (seq === this.issued) this.handlers.onBusy?.(false);
        this.handlers.onResults(res, params);
      },
      (err) => {
        if (seq <= this.applied) return;
        this.applied = seq;
        if (seq === this.issued) this.handlers.onBusy?.(false);
        this.handlers.onError(err, params);
      },
    );
  }
}
