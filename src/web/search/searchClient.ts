/**
 * Search as you type: `SearchRunner` turns the query the person is typing
 * into requests and their answers into one state for the panel.
 *
 * - Debounced: a request goes out once typing pauses (`debounceMs`, 250 ms
 *   by default), so "deploy" is one request, not six.
 * - One request at a time: a new query aborts the one in flight
 *   (AbortController), so a slow answer to "dep" can never replace the
 *   answer to "deploy" (and the server stops working on it sooner).
 * - A query the shared parser refuses (`problems`, e.g. "before:yesterday")
 *   is not sent: the panel says why, in the server's words.
 * - "Load more" asks the next page with the answer's `nextCursor` and appends
 *   it; a new query drops it.
 *
 * Timers are injected, so the rules are unit-tested with a fake clock.
 */
import { parseSearchQuery, type SearchHit, type SearchRequest, type SearchResponse, type SearchSort } from "@shared/protocol/search.js";
import { ApiError, ClientErrorCode } from "@web/api/http";
import { ErrorCode } from "@shared/protocol/index.js";
import { appendPage } from "./searchModel";

/** What the panel asks for: the text, the conversation it is limited to (if any), the order. */
export interface SearchQuery {
  q: string;
  roomId: string | null;
  sort: SearchSort;
}

export interface SearchState {
  /** The query the hits answer (null: nothing asked yet). */
  readonly query: SearchQuery | null;
  /** idle: nothing to search for; loading: a first page is on its way (the previous hits stay shown meanwhile). */
  readonly status: "idle" | "loading" | "done" | "error";
  /** Every hit loaded for `query`, pages appended. */
  readonly hits: readonly SearchHit[];
  /** The last page's answer (total, filters, corrections, nextCursor). */
  readonly response: SearchResponse | null;
  /** Why the search failed, as a sentence. */
  readonly error: string | null;
  /** A next page is on its way. */
  readonly loadingMore: boolean;
}

export const IDLE_SEARCH: SearchState = { query: null, status: "idle", hits: [], response: null, error: null, loadingMore: false };

/** Fetches one page; rejects with the signal's reason when aborted. */
export type FetchSearchPage = (request: SearchRequest, signal: AbortSignal) => Promise<SearchResponse>;

export interface SearchRunnerOptions {
  debounceMs?: number;
  /** Results per page (the server's default when left out). */
  limit?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export const SEARCH_DEBOUNCE_MS = 250;

export class SearchRunner {
  private state: SearchState = IDLE_SEARCH;
  private timer: unknown = null;
  private inFlight: AbortController | null = null;
  private readonly debounceMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(
    private readonly fetchPage: FetchSearchPage,
    private readonly onChange: (state: SearchState) => void,
    private readonly options: SearchRunnerOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? SEARCH_DEBOUNCE_MS;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  }

  get current(): SearchState {
    return this.state;
  }

  /** The query changed (a keystroke): search once typing pauses. An empty query clears the results at once. */
  update(query: SearchQuery): void {
    this.cancel();
    if (query.q.trim() === "") {
      this.set(IDLE_SEARCH);
      return;
    }
    this.timer = this.setTimer(() => {
      this.timer = null;
      void this.run(query);
    }, this.debounceMs);
  }

  /** Search now (Enter, a sort or filter chosen by a click): no wait. */
  now(query: SearchQuery): void {
    this.cancel();
    if (query.q.trim() === "") {
      this.set(IDLE_SEARCH);
      return;
    }
    void this.run(query);
  }

  /** The next page of the current query, appended to the hits. Does nothing without one. */
  async loadMore(): Promise<void> {
    const { query, response, status, loadingMore } = this.state;
    const cursor = response?.nextCursor;
    if (!query || !cursor || status !== "done" || loadingMore) return;
    const controller = this.start();
    this.set({ ...this.state, loadingMore: true });
    try {
      const page = await this.fetchPage(requestOf(query, cursor, this.options.limit), controller.signal);
      if (controller.signal.aborted) return;
      this.set({ ...this.state, hits: appendPage(this.state.hits, page.results), response: page, loadingMore: false, error: null });
    } catch (error) {
      if (controller.signal.aborted) return;
      this.set({ ...this.state, loadingMore: false, error: sentenceOf(error) });
    } finally {
      if (this.inFlight === controller) this.inFlight = null;
    }
  }

  /** Stops the timer and the request in flight (the panel closes, or a newer query replaces them). */
  cancel(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.inFlight?.abort();
    this.inFlight = null;
    if (this.state.loadingMore) this.set({ ...this.state, loadingMore: false });
  }

  private async run(query: SearchQuery): Promise<void> {
    const problems = parseSearchQuery(query.q).problems;
    if (problems.length > 0) {
      this.set({ ...IDLE_SEARCH, query, status: "error", error: problems.join(" ") });
      return;
    }
    const controller = this.start();
    this.set({ ...this.state, query, status: "loading", error: null, loadingMore: false });
    try {
      const page = await this.fetchPage(requestOf(query, undefined, this.options.limit), controller.signal);
      if (controller.signal.aborted) return;
      this.set({ query, status: "done", hits: page.results, response: page, error: null, loadingMore: false });
    } catch (error) {
      if (controller.signal.aborted) return;
      this.set({ ...IDLE_SEARCH, query, status: "error", error: sentenceOf(error) });
    } finally {
      if (this.inFlight === controller) this.inFlight = null;
    }
  }

  private start(): AbortController {
    this.inFlight?.abort();
    const controller = new AbortController();
    this.inFlight = controller;
    return controller;
  }

  private set(state: SearchState): void {
    this.state = state;
    this.onChange(state);
  }
}

/** The wire request for a query (and a page's cursor). */
export function requestOf(query: SearchQuery, cursor?: string, limit?: number): SearchRequest {
  return {
    q: query.q.trim(),
    ...(query.roomId ? { roomId: query.roomId } : {}),
    sort: query.sort,
    ...(cursor ? { cursor } : {}),
    ...(limit ? { limit } : {}),
  };
}

/** A failed search in words for the panel. */
export function sentenceOf(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === ErrorCode.RateLimited) return "Too many searches in a short time. Wait a moment and try again.";
    if (error.code === ClientErrorCode.Network) return "Cannot reach the server. Check your connection and try again.";
    if (error.code === ErrorCode.NotFound || error.code === ErrorCode.Forbidden) return "You cannot search this conversation any more.";
    return error.message;
  }
  return "Search failed. Try again.";
}
