import type { Logger } from "pino";
import type { Store } from "../store/store.js";

/**
 * The search vocabulary's new words, written off the send path (issue 18).
 *
 * Every indexed message's distinct words go into `search_words`, the
 * vocabulary that parts of words and misspellings are looked up in
 * (search/query.ts, service.ts). Upserting them in the send's transaction
 * cost 16 µs a message for words that are nearly always known already
 * (docs/benchmarks.md, "The send path's cost of indexing"): instead a send
 * hands its words here after its commit, words this node wrote already are
 * dropped at once (a bounded set), and the rest are written together, one
 * statement per FLUSH_MS, and at shutdown.
 *
 * What this trades: a search on this node flushes first, so it sees every
 * word sent here; on another node, a word new to the installation is found
 * as part of another word, or as a correction, up to FLUSH_MS after its
 * message is (as a whole word, its stem or a prefix it is found at once:
 * those come from the index, written in the send's transaction). A node
 * that dies loses the words of its last FLUSH_MS; they come back with
 * their next message. Nothing is ever found that should not be: the vocabulary only
 * widens a search, and every result comes from the index.
 */
export class SearchVocabulary {
  private pending = new Set<string>();
  /** Words this node wrote (or found written): not written again. Cleared when full, which only costs a rewrite. */
  private readonly written = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Notes a committed message's vocabulary words (tokens.ts `IndexTerms.vocabulary`). */
  add(words: readonly string[]): void {
    for (const word of words) {
      if (!this.written.has(word)) this.pending.add(word);
    }
    if (this.pending.size >= FLUSH_WORDS) void this.flush();
  }

  /** Writes the words noted since the last flush, from now on every FLUSH_MS. */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Stops the timer and writes what is pending (call before the store closes). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /**
   * Writes the pending words in one statement; resolves when written. A
   * failure is logged and the words kept for the next flush (at most
   * PENDING_MAX: past it the oldest are let go, to come back with a later message).
   */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    const words = [...this.pending];
    this.pending = new Set();
    this.flushing = (async () => {
      try {
        await this.store.db.executeQuery(this.store.dialect.search.addWords(words));
        if (this.written.size + words.length > WRITTEN_MAX) this.written.clear();
        for (const word of words) this.written.add(word);
      } catch (err) {
        this.log.warn({ err, words: words.length }, "writing new search vocabulary failed; retried at the next flush");
        for (const word of words.slice(0, PENDING_MAX - this.pending.size)) this.pending.add(word);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }
}

/** How often new words are written, ms. */
export const FLUSH_MS = 1000;
/** Pending words that make a flush at once. */
const FLUSH_WORDS = 2000;
/** Words remembered as written (~100 bytes each). */
const WRITTEN_MAX = 200_000;
/** Pending words kept across failed flushes. */
const PENDING_MAX = 100_000;
