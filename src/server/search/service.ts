import { distance } from "fastest-levenshtein";
import { z } from "zod";
import { withReactions } from "../messages/reactions.js";
import type { Deps, Actor } from "../deps.js";
import type { Message, RoomKind, User } from "@shared/protocol/entities.js";
import { directPeers } from "../rooms/views.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import {
  DEFAULT_SEARCH_PAGE_SIZE,
  MAX_SEARCH_TERMS,
  isEmptySearch,
  parseSearchQuery,
  type ParsedSearchQuery,
  type SearchHit,
  type SearchRequest,
  type SearchResponse,
  type SearchSort,
  type SearchTerm,
} from "@shared/protocol/search.js";
import type { RoomWriter } from "../events/writer.js";
import type { SearchVocabulary } from "./vocabulary.js";
import { AppError } from "../errors.js";
import { requireMember } from "../rooms/access.js";
import { getMessagesByIds } from "../messages/queries.js";
import type { SearchPlan } from "./dialect.js";
import { compileTerms, correctableWords, EXPANSIONS_MAX, vocabularyLookups, type Expansions, type HighlightSpec } from "./query.js";
import { matchRanges, snippetOf } from "./snippets.js";

/**
 * Message search (issue 18): one service behind GET /api/v1/search, GET
 * /api/v1/rooms/{roomId}/messages?search= and the socket's `search`.
 *
 * Only messages the searcher may read now are searched: those of the rooms
 * they are a member of at the moment of the search (never a room they
 * left, a private room they were never in, or a public room they did not
 * join); deleted messages and old texts of edited ones are not in the
 * index at all (search/indexing.ts). A message committed but not yet
 * durable is left out as history leaves it out (RoomWriter.readableSeq).
 */
export class SearchService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
    private readonly vocabulary: SearchVocabulary,
  ) {}

  /**
   * The messages `actor` may read now that match `request.q`, a page at a
   * time (`nextCursor`). A word that finds nothing may be corrected to a
   * close word of the vocabulary that does (`corrections`).
   * The query's length (--search-query-max-chars) and the user's budget are
   * checked before, by every transport (search/routes.ts SearchAdmission).
   * @throws AppError validation_failed (empty query, a problem in it, only exclusions, a bad cursor),
   *   not_found / forbidden (`roomId` not readable by the actor)
   */
  async search(actor: Actor, request: SearchRequest): Promise<SearchResponse> {
    const { config } = this.deps;
    const parsed = parseSearchQuery(request.q);
    if (parsed.problems.length > 0) throw invalid("q", parsed.problems.join(" "));
    if (isEmptySearch(parsed)) throw invalid("q", "Type something to search for.");
    const sort: SearchSort = request.sort ?? "relevance";
    const cursor = request.cursor === undefined ? null : decodeCursor(request.cursor, sort);
    // A later page of a corrected search goes on with the corrected words (the first page chose them).
    const terms = cursor?.corrections ? corrected(parsed.terms, cursor.corrections) : parsed.terms;
    const compiled = compileTerms(terms, await this.expansions(terms));
    if (compiled.match === null && compiled.emptyTerms === 0 && terms.length > 0) {
      throw invalid("q", "Add a word to search for besides the ones to leave out.");
    }
    const limit = request.limit ?? DEFAULT_SEARCH_PAGE_SIZE;
    if (request.roomId !== undefined) await requireMember(this.deps.store.db, actor.userId, request.roomId);

    const scope = await this.scope(actor, parsed, request.roomId ?? null);
    const filters = {
      from: parsed.from,
      in: parsed.in,
      before: parsed.before,
      after: parsed.after,
      hasFile: parsed.hasFile,
      mentionsMe: parsed.mentionsMe,
    };
    const empty: SearchResponse = { results: [], total: 0, totalCapped: false, nextCursor: null, sort, filters };
    // Terms that held only punctuation ("%", "*") search for nothing: alone they find nothing (no error); beside filters, the filters answer.
    if (scope === null || (compiled.match === null && compiled.emptyTerms > 0 && !hasFilters(filters))) return empty;

    const plan: Plan = {
      match: compiled.match,
      ...scope,
      // Filters only: nothing to rank, newest first.
      sort: compiled.match === null ? "date" : sort,
      window: config.searchCountCap,
      cursor: cursor && { id: cursor.id, score: cursor.score },
      limit: limit + 1,
    };
    let found = await this.page(plan, compiled.highlight, limit, { userId: actor.userId, total: cursor?.total ?? null, corrections: cursor?.corrections ?? null });
    let corrections = cursor?.corrections ?? undefined;
    if (found.results.length === 0 && cursor === null && compiled.match !== null) {
      const fixed = await this.correctedSearch(parsed.terms, plan, limit, actor.userId);
      if (fixed) {
        found = fixed.found;
        corrections = fixed.corrections;
      }
    }
    return { ...empty, ...found, ...(corrections ? { corrections } : {}) };
  }

  /** The vocabulary words that the query's parts of words stand for (query.ts). */
  private async expansions(terms: readonly SearchTerm[]): Promise<Expansions> {
    const { db, dialect } = this.deps.store;
    // This node's words not yet written go first: a search here sees every word sent here (SearchVocabulary).
    await this.vocabulary.flush();
    const expansions: Expansions = { containing: new Map() };
    await Promise.all(
      vocabularyLookups(terms).map(async (part) => {
        const found = await db.executeQuery(dialect.search.wordsContaining(part, EXPANSIONS_MAX));
        expansions.containing.set(part, found.rows.map((r) => r.word));
      }),
    );
    return expansions;
  }

  /**
   * The page of `plan`, its hits hydrated, and the capped total. `carried`:
   * the searcher, and what the cursor carries on: the first page's count
   * (null: count now) and the corrections in effect.
   */
  private async page(plan: Plan, highlight: HighlightSpec, limit: number, carried: { userId: string; total: number | null; corrections: Correction[] | null }): Promise<Page> {
    const carriedTotal = carried.total;
    const { db, dialect } = this.deps.store;
    const cap = this.deps.config.searchCountCap;
    const [rows, counted] = await Promise.all([
      db.executeQuery(dialect.search.page(plan)),
      // The count is the same on every page: asked for on the first only, carried by the cursor after.
      carriedTotal === null ? db.executeQuery(dialect.search.count(plan, cap + 1)) : null,
    ]);
    const more = rows.rows.length > limit;
    const pageRows = rows.rows.slice(0, limit);
    const n = counted ? Number(counted.rows[0]?.n ?? 0) : (carriedTotal ?? 0);
    const last = pageRows[pageRows.length - 1];
    // The message as history gives it: with its reactions.
    const messages = await withReactions(db, await getMessagesByIds(db, pageRows.map((r) => r.message_id)));
    const byId = new Map(messages.map((m) => [m.id, m]));
    const directIds = [...new Set(pageRows.map((r) => r.room_id))].filter((id) => plan.rooms.get(id)?.kind === "direct");
    const peers = directIds.length === 0 ? new Map<string, User>() : await directPeers(db, carried.userId, directIds);
    const results: SearchHit[] = [];
    for (const row of pageRows) {
      const message = byId.get(row.message_id);
      // Deleted since the index was read, or not yet durable (history leaves it out too).
      if (!message || message.deletedAt || message.seq > this.writer.readableSeq(message.roomId)) continue;
      const room = plan.rooms.get(message.roomId);
      if (!room) continue;
      // A direct room is named to me by the other person, as GET /rooms names it (rooms/views.ts).
      const named = room.kind === "direct" ? { ...room, name: peers.get(room.id)?.displayName ?? room.name } : room;
      results.push({ message, room: named, ...snippet(message, highlight) });
    }
    return {
      results,
      total: Math.min(n, cap),
      totalCapped: n > cap,
      nextCursor: more && last ? encodeCursor({ sort: plan.sort, id: Number(last.id), score: Number(last.score), total: n, corrections: carried.corrections }) : null,
    };
  }

  /**
   * The rooms searched and the filters as ids: the actor's rooms now,
   * narrowed by `roomId` and `in:`; `from:` usernames as user ids. Null when
   * nothing can match (no such room or author among them).
   */
  private async scope(actor: Actor, parsed: ParsedSearchQuery, roomId: string | null): Promise<Omit<Plan, "match" | "sort" | "window" | "cursor" | "limit"> | null> {
    const db = this.deps.store.db;
    let mine = db
      .selectFrom("room_members")
      .innerJoin("rooms", "rooms.id", "room_members.room_id")
      .select(["rooms.id", "rooms.name", "rooms.kind", "rooms.last_seq"])
      .where("room_members.user_id", "=", actor.userId);
    if (roomId !== null) mine = mine.where("rooms.id", "=", roomId);
    const [rows, span] = await Promise.all([
      mine.execute(),
      // How many documents the index holds, near enough (ids run without gaps but for deletions), from its two ends:
      // each end its own subquery, as SQLite reads a lone min() or max() off the index but scans for both at once.
      db
        .selectNoFrom((eb) => [
          eb.selectFrom("search_documents").select((s) => s.fn.min("id").as("low")).as("low"),
          eb.selectFrom("search_documents").select((s) => s.fn.max("id").as("high")).as("high"),
        ])
        .executeTakeFirst(),
    ]);
    const names = new Set(parsed.in.map((n) => n.toLowerCase()));
    const rooms = new Map<string, { id: string; name: string; kind: RoomKind }>();
    // The searched rooms' events (each room's last seq), against the index's size: are they a small part of it?
    let events = 0;
    for (const r of rows) {
      if (names.size > 0 && !names.has(r.name.toLowerCase())) continue;
      rooms.set(r.id, { id: r.id, name: r.name, kind: r.kind });
      events += Number(r.last_seq);
    }
    const documents = span?.high == null || span.low == null ? 0 : Number(span.high) - Number(span.low) + 1;
    if (rooms.size === 0) return null;
    let authorIds: string[] | null = null;
    if (parsed.from.length > 0) {
      authorIds = (await db.selectFrom("users").select("id").where("username_key", "in", parsed.from).execute()).map((u) => u.id);
      if (authorIds.length === 0) return null;
    }
    return {
      rooms,
      roomIds: [...rooms.keys()],
      fewOfAll: events < documents * FEW_OF_ALL,
      authorIds,
      after: parsed.after === null ? null : `${parsed.after}T00:00:00.000Z`,
      before: parsed.before === null ? null : `${parsed.before}T00:00:00.000Z`,
      hasFiles: parsed.hasFile,
      mentionsOf: parsed.mentionsMe ? actor.userId : null,
    };
  }

  /**
   * A search that found nothing, again with its misspellable words replaced
   * by close vocabulary words (edit distance 1 for words of up to five
   * letters, else 2), closest first, trying at most CORRECTION_TRIES of
   * them: the closest word may be in messages the actor cannot read, and
   * only a correction that finds messages they may read is answered, so a
   * correction never tells of words in messages they cannot.
   */
  private async correctedSearch(terms: readonly SearchTerm[], plan: Plan, limit: number, userId: string): Promise<{ found: Page; corrections: Correction[] } | null> {
    const { db, dialect } = this.deps.store;
    await this.vocabulary.flush();
    const words = correctableWords(terms);
    const candidates = await Promise.all(
      words.map(async (word) => closestFirst(word, (await db.executeQuery(dialect.search.similarWords(word, CORRECTION_CANDIDATES))).rows.map((r) => r.word))),
    );
    for (let attempt = 0; attempt < CORRECTION_TRIES; attempt++) {
      const corrections: Correction[] = [];
      let fresh = false;
      for (const [i, word] of words.entries()) {
        const list = candidates[i]!;
        if (list.length === 0) continue;
        corrections.push({ from: word, to: list[Math.min(attempt, list.length - 1)]! });
        fresh ||= attempt < list.length;
      }
      if (!fresh) break;
      const fixed = corrected(terms, corrections);
      const compiled = compileTerms(fixed, await this.expansions(fixed));
      if (compiled.match === null) return null;
      const found = await this.page({ ...plan, match: compiled.match }, compiled.highlight, limit, { userId, total: null, corrections });
      if (found.results.length > 0) return { found, corrections };
    }
    return null;
  }
}

/** The searched rooms are "few of all" (SearchPlan.fewOfAll) when their events are under this share of the index's documents. */
const FEW_OF_ALL = 0.1;

/** A plan with the searched rooms as hits show them. */
type Plan = SearchPlan & { rooms: Map<string, SearchHit["room"]> };
type Page = Pick<SearchResponse, "results" | "total" | "totalCapped" | "nextCursor">;

/** Vocabulary words considered per misspelt word. */
const CORRECTION_CANDIDATES = 50;

/** Misspelt words' corrections tried, at most, before giving up. */
const CORRECTION_TRIES = 5;

/** A word of the query and the word searched in its place. */
type Correction = { from: string; to: string };

/**
 * The candidates within edit distance 1 (words of up to five letters) or 2
 * of `word` (fastest-levenshtein), closest first, then in the order given.
 */
export function closestFirst(word: string, candidates: readonly string[]): string[] {
  const most = word.length <= 5 ? 1 : 2;
  return candidates
    .filter((c) => c !== word)
    .map((c, order) => ({ c, order, d: distance(word, c) }))
    .filter((x) => x.d <= most)
    .sort((a, b) => a.d - b.d || a.order - b.order)
    .map((x) => x.c);
}

/** `terms` with each corrected word (a plain word whose folded form is a correction's `from`) replaced by its correction. */
function corrected(terms: readonly SearchTerm[], corrections: readonly Correction[]): SearchTerm[] {
  const replaced = new Map(corrections.map((c) => [c.from, c.to]));
  return terms.map((term) => {
    const [word] = correctableWords([term]);
    const to = word === undefined ? undefined : replaced.get(word);
    return to === undefined ? term : { ...term, text: to };
  });
}

/** True when the query has a filter (a search of filters alone is a listing, newest first). */
function hasFilters(filters: SearchResponse["filters"]): boolean {
  return filters.from.length > 0 || filters.in.length > 0 || filters.before !== null || filters.after !== null || filters.hasFile || filters.mentionsMe;
}

/** The hit's snippet: from its text where the text matches, else from the first file name that does. */
function snippet(message: Message, highlight: HighlightSpec): Pick<SearchHit, "snippet" | "matchedIn"> {
  const ranges = matchRanges(message.body, highlight);
  if (ranges.length === 0) {
    for (const file of message.attachments ?? []) {
      const inName = matchRanges(file.name, highlight);
      if (inName.length > 0) return { snippet: snippetOf(file.name, inName), matchedIn: "file" };
    }
  }
  return { snippet: snippetOf(message.body, ranges), matchedIn: "text" };
}

interface Cursor {
  sort: SearchSort;
  id: number;
  score: number;
  /** The first page's count, carried so later pages need not count again. */
  total: number;
  /** The corrections the first page made, kept for the pages after it. */
  corrections: Correction[] | null;
}

/** A cursor's JSON: [sort "d" | "r", last id, last score, total, corrections as [from, to] pairs?]. */
const CursorSchema = z.union([
  z.tuple([z.enum(["d", "r"]), z.number().int().safe(), z.number().finite(), z.number().int().nonnegative()]),
  z.tuple([
    z.enum(["d", "r"]),
    z.number().int().safe(),
    z.number().finite(),
    z.number().int().nonnegative(),
    z.array(z.tuple([z.string().max(64), z.string().max(64)])).max(MAX_SEARCH_TERMS),
  ]),
]);

/** A cursor as an opaque string (base64url of JSON). */
function encodeCursor(cursor: Cursor): string {
  const fields: unknown[] = [cursor.sort === "date" ? "d" : "r", cursor.id, cursor.score, cursor.total];
  if (cursor.corrections) fields.push(cursor.corrections.map((c) => [c.from, c.to]));
  return Buffer.from(JSON.stringify(fields)).toString("base64url");
}

/** @throws AppError validation_failed at `cursor` when it is not one this server made for this sort */
function decodeCursor(text: string, sort: SearchSort): Cursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw invalid("cursor", "This cursor is not one a search gave.");
  }
  const parsed = CursorSchema.safeParse(json);
  if (!parsed.success) throw invalid("cursor", "This cursor is not one a search gave.");
  const [kind, id, score, total, corrections] = parsed.data;
  if ((kind === "d" ? "date" : "relevance") !== sort) throw invalid("cursor", "This cursor belongs to a search sorted another way.");
  return { sort, id, score, total, corrections: corrections ? corrections.map(([from, to]) => ({ from, to })) : null };
}

function invalid(path: string, message: string): AppError {
  return new AppError(ErrorCode.ValidationFailed, message, { details: [{ path, message }] });
}
