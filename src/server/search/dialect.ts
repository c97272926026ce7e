import type { CompiledQuery, Kysely } from "kysely";
import type { IndexTerms } from "./tokens.js";
import type { MatchNode } from "./query.js";

/**
 * The search index's SQL, one implementation per database (DESIGN.md: SQL
 * that only one database understands lives in the dialect layer). Both
 * store the term streams that search/tokens.ts makes, so the same data and
 * query give the same results on either:
 * - SQLite (search/sqlite.ts): an FTS5 table `search_index` (contentless,
 *   deletable; columns room, words, stems, grams; rowid = the document's id),
 *   ranked with bm25();
 * - PostgreSQL (search/postgres.ts): a tsvector column on
 *   `search_documents` with a GIN index (words weight A, stems B, grams C),
 *   ranked with ts_rank(); misspellings through pg_trgm.
 *
 * `search_documents` (both) holds one row per indexed message: `id` orders
 * documents by time (new messages count up from 1; the backfill of
 * messages older than the index counts down from below the smallest id, so
 * id order is time order), with the columns that filters need.
 */
export interface SearchDialect {
  /** Creates the index's tables, empty (migration 0013_search); the backfill fills them. */
  createTables(db: Kysely<unknown>): Promise<void>;
  /** The statements that index a new message, in order: run in the send's own transaction. */
  insert(doc: SearchDocument): CompiledQuery[];
  /**
   * The statements that replace an indexed message's terms (an edit), in the
   * edit's transaction. A message not indexed yet (older than the index,
   * the backfill not there yet) is left to the backfill, which reads the
   * edited text.
   */
  update(messageId: string, terms: IndexTerms): CompiledQuery[];
  /** The statements that take a message out of the index (a deletion), in its transaction. */
  remove(messageId: string): CompiledQuery[];
  /**
   * One page of matching documents: by date, newest first; by relevance,
   * the newest `plan.window` matches ranked best first (score higher is
   * better), newer first among equals. Up to `plan.limit` rows.
   */
  page(plan: SearchPlan): CompiledQuery<SearchRow>;
  /** How many documents match, counting no further than `atMost`. */
  count(plan: SearchPlan, atMost: number): CompiledQuery<{ n: number | string }>;
  /** Vocabulary words containing `part` (three characters or more), shortest first, then in order. */
  wordsContaining(part: string, limit: number): CompiledQuery<{ word: string }>;
  /** Vocabulary words that share trigrams with `word`, likeliest first: candidates for a misspelling (the caller picks by edit distance). */
  similarWords(word: string, limit: number): CompiledQuery<{ word: string }>;
}

/** What a search asks of the index; the service resolved names and rights into ids first. */
export interface SearchPlan {
  /** Null: filters only (no words): every document the filters allow, newest first. */
  match: MatchNode | null;
  /** Rooms searched: the searcher's, narrowed by the request; never empty (the service answers an empty search itself). */
  roomIds: string[];
  /** `from:` authors, or null for anyone. */
  authorIds: string[] | null;
  /** ISO 8601 UTC bounds: `after` inclusive, `before` exclusive. */
  after: string | null;
  before: string | null;
  hasFiles: boolean;
  /** `is:mention`: only messages that mention this user. */
  mentionsOf: string | null;
  sort: "relevance" | "date";
  /** Relevance ranks the newest this many matches (--search-count-cap). */
  window: number;
  /** Where the previous page ended: its last row's id (and score, by relevance). */
  cursor: { id: number; score: number } | null;
  /** Rows wanted (a page and one more, to know if another page follows). */
  limit: number;
}

/** A matching document. PostgreSQL's bigint ids arrive as strings. */
export interface SearchRow {
  id: number | string;
  message_id: string;
  room_id: string;
  score: number;
}

/** A message as the index keeps it. */
export interface SearchDocument {
  /** Explicit for the backfill (below every id so far); absent for a new message (the next id up). */
  id?: number;
  messageId: string;
  roomId: string;
  authorId: string;
  /** ISO 8601 UTC, as messages.created_at. */
  createdAt: string;
  hasFiles: boolean;
  terms: IndexTerms;
}
