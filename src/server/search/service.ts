import { distance } from "fastest-levenshtein";
import type { Deps, Actor } from "../deps.js";
import type { Message } from "@shared/protocol/entities.js";
import type { RoomKind } from "@shared/protocol/entities.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import {
  DEFAULT_SEARCH_PAGE_SIZE,
  isEmptySearch,
  parseSearchQuery,
  type ParsedSearchQuery,
  type SearchHit,
  type SearchRequest,
  type SearchResponse,
  type SearchSort,
} from "@shared/protocol/search.js";
import type { RoomWriter } from "../events/writer.js";
import { AppError } from "../errors.js";
import { requireMember } from "../rooms/access.js";
import { getMessagesByIds } from "../messages/queries.js";
import type { SearchPlan } from "./dialect.js";
import { compileTerms, correctableWords, type HighlightSpec } from "./query.js";
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
  ) {}

  /**
   * The messages `actor` may read now that match `request.q`, a page at a
   * time (`nextCursor`). A word that finds nothing may be corrected to a
   * close word of the vocabulary that does (`corrections`).
   * @throws AppError validation_failed (empty query, a problem in it, longer than --search-query-max-chars,
   *   only exclusions, a bad cursor), not_found / forbidden (`roomId` not readable by the actor)
   */
  async search(actor: Actor, request: SearchRequest): Promise<SearchResponse> {
    const { config } = this.deps;
    if (request.q.length > config.searchQueryMaxChars) {
      throw invalid("q", `The query is longer than ${config.searchQueryMaxChars} characters.`);
    }
    const parsed = parseSearchQuery(request.q);
    if (parsed.problems.length > 0) throw invalid("q", parsed.problems.join(" "));
    if (isEmptySearch(parsed)) throw invalid("q", "Type something to search for.");
    const compiled = compileTerms(parsed.terms);
    if (compiled.match === null && compiled.emptyTerms === 0 && parsed.terms.length > 0) {
      throw invalid("q", "Add a word to search for besides the ones to leave out.");
    }
    const sort: SearchSort = request.sort ?? "relevance";
    const cursor = request.cursor === undefined ? null : decodeCursor(request.cursor, sort);
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
    // Terms that held only punctuation ("%", "*") search for nothing: no match, and no error.
    if (scope === null || (compiled.match === null && compiled.emptyTerms > 0)) return empty;

    const plan: Plan = {
      match: compiled.match,
      ...scope,
      // Filters only: nothing to rank, newest first.
      sort: compiled.match === null ? "date" : sort,
      window: config.searchCountCap,
      cursor: cursor && { id: cursor.id, score: cursor.score },
      limit: limit + 1,
    };
    let found = await this.page(plan, compiled.highlight, limit, cursor?.total ?? null);
    let corrections: { from: string; to: string }[] | undefined;
    if (found.results.length === 0 && cursor === null && compiled.match !== null) {
      const corrected = await this.corrected(parsed, plan, limit);
      if (corrected) {
        found = corrected.found;
        corrections = corrected.corrections;
      }
    }
    return { ...empty, ...found, ...(corrections ? { corrections } : {}) };
  }

  /** The page of `plan`, its hits hydrated, and the capped total (`carriedTotal`: the first page's count, from the cursor). */
  private async page(plan: Plan, highlight: HighlightSpec, limit: number, carriedTotal: number | null): Promise<Page> {
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
    const messages = await getMessagesByIds(db, pageRows.map((r) => r.message_id));
    const byId = new Map(messages.map((m) => [m.id, m]));
    const results: SearchHit[] = [];
    for (const row of pageRows) {
      const message = byId.get(row.message_id);
      // Deleted since the index was read, or not yet durable (history leaves it out too).
      if (!message || message.deletedAt || message.seq > this.writer.readableSeq(message.roomId)) continue;
      const room = plan.rooms.get(message.roomId);
      if (!room) continue;
      results.push({ message, room, ...snippet(message, highlight) });
    }
    return {
      results,
      total: Math.min(n, cap),
      totalCapped: n > cap,
      nextCursor: more && last ? encodeCursor({ sort: plan.sort, id: Number(last.id), score: Number(last.score), total: n }) : null,
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
      .select(["rooms.id", "rooms.name", "rooms.kind"])
      .where("room_members.user_id", "=", actor.userId);
    if (roomId !== null) mine = mine.where("rooms.id", "=", roomId);
    const rows = await mine.execute();
    const names = new Set(parsed.in.map((n) => n.toLowerCase()));
    const rooms = new Map<string, { id: string; name: string; kind: RoomKind }>();
    for (const r of rows) {
      if (names.size > 0 && !names.has(r.name.toLowerCase())) continue;
      rooms.set(r.id, { id: r.id, name: r.name, kind: r.kind });
    }
    if (rooms.size === 0) return null;
    let authorIds: string[] | null = null;
    if (parsed.from.length > 0) {
      authorIds = (await db.selectFrom("users").select("id").where("username_key", "in", parsed.from).execute()).map((u) => u.id);
      if (authorIds.length === 0) return null;
    }
    return {
      rooms,
      roomIds: [...rooms.keys()],
      authorIds,
      after: parsed.after === null ? null : `${parsed.after}T00:00:00.000Z`,
      before: parsed.before === null ? null : `${parsed.before}T00:00:00.000Z`,
      hasFiles: parsed.hasFile,
      mentionsOf: parsed.mentionsMe ? actor.userId : null,
    };
  }

  /**
   * A search that found nothing, again with each misspellable word replaced
   * by the closest vocabulary word (edit distance 1 for words of up to five
   * letters, else 2; ties by the database's trigram order) that changes
   * something; answered only when that finds messages the actor may read,
   * so a correction never tells of words in messages they cannot.
   */
  private async corrected(
    parsed: ParsedSearchQuery,
    plan: Plan,
    limit: number,
  ): Promise<{ found: Page; corrections: { from: string; to: string }[] } | null> {
    const { db, dialect } = this.deps.store;
    const corrections: { from: string; to: string }[] = [];
    for (const word of correctableWords(parsed.terms)) {
      const candidates = (await db.executeQuery(dialect.search.similarWords(word, CORRECTION_CANDIDATES))).rows.map((r) => r.word);
      const best = closest(word, candidates);
      if (best) corrections.push({ from: word, to: best });
    }
    if (corrections.length === 0) return null;
    const replaced = new Map(corrections.map((c) => [c.from, c.to]));
    const terms = parsed.terms.map((t) => {
      const to = t.kind === "word" && !t.negated ? replaced.get(t.text.toLowerCase()) ?? replacedFolded(replaced, t.text) : undefined;
      return to === undefined ? t : { ...t, text: to };
    });
    const compiled = compileTerms(terms);
    if (compiled.match === null) return null;
    const found = await this.page({ ...plan, match: compiled.match }, compiled.highlight, limit, null);
    return found.results.length > 0 ? { found, corrections } : null;
  }
}

/** A plan with the searched rooms as hits show them. */
type Plan = SearchPlan & { rooms: Map<string, SearchHit["room"]> };
type Page = Pick<SearchResponse, "results" | "total" | "totalCapped" | "nextCursor">;

/** Vocabulary words considered per misspelt word. */
const CORRECTION_CANDIDATES = 50;

/** The candidate closest to `word` by edit distance (fastest-levenshtein), within 1 (≤ 5 letters) or 2; null if none. */
export function closest(word: string, candidates: readonly string[]): string | null {
  const most = word.length <= 5 ? 1 : 2;
  let best: string | null = null;
  let bestDistance = most + 1;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function replacedFolded(replaced: Map<string, string>, text: string): string | undefined {
  const tokens = correctableWords([{ kind: "word", text, negated: false }]);
  return tokens.length === 1 ? replaced.get(tokens[0]!) : undefined;
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
}

/** A cursor as an opaque string (base64url of JSON). */
function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort === "date" ? "d" : "r", cursor.id, cursor.score, cursor.total])).toString("base64url");
}

/** @throws AppError validation_failed at `cursor` when it is not one this server made for this sort */
function decodeCursor(text: string, sort: SearchSort): Cursor & { total: number } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw invalid("cursor", "This cursor is not one a search gave.");
  }
  if (
    !Array.isArray(value) ||
    value.length !== 4 ||
    !["d", "r"].includes(value[0] as string) ||
    !Number.isSafeInteger(value[1]) ||
    typeof value[2] !== "number" ||
    !Number.isFinite(value[2]) ||
    !Number.isSafeInteger(value[3]) ||
    (value[3] as number) < 0
  ) {
    throw invalid("cursor", "This cursor is not one a search gave.");
  }
  const cursorSort: SearchSort = value[0] === "d" ? "date" : "relevance";
  if (cursorSort !== sort) throw invalid("cursor", "This cursor belongs to a search sorted another way.");
  return { sort, id: value[1] as number, score: value[2] as number, total: value[3] as number };
}

function invalid(path: string, message: string): AppError {
  return new AppError(ErrorCode.ValidationFailed, message, { details: [{ path, message }] });
}
