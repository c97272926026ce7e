import { z } from "zod";
import { MessageSchema, RoomKindSchema } from "./entities.js";
import { idText } from "./text.js";

/**
 * Message search (issue 18): the query syntax, the request and the answer,
 * shared by the server, the web client and the tests.
 *
 * Query syntax (docs/search.md), terms separated by spaces, all required:
 * - `deploy`: the word and its forms (deploys, deployed), and any word
 *   containing it when it has three characters or more (redeployment);
 *   text without spaces (中文, 日本語, ไทย) by substring;
 * - `deplo*`: words starting with it (two characters or more before `*`);
 * - `"release notes"`: the words in this order;
 * - `-word`: messages without the word;
 * - filters: `from:@alice` (author; several are alternatives), `in:#room`
 *   (room name), `before:2026-12-01` and `after:2026-11-01` (UTC days,
 *   `before` exclusive, `after` inclusive), `has:file`, `is:mention`.
 * Anything else is text: punctuation, SQL and FTS syntax are searched for
 * as the words they contain, never interpreted.
 */

/** Longest query, in characters; longer ones are refused validation_failed (the server's --search-query-max-chars may lower it). */
export const MAX_SEARCH_QUERY_CHARS = 500;
/** Most search terms (words, phrases, prefixes, exclusions) in one query; past it, validation_failed. */
export const MAX_SEARCH_TERMS = 16;
/** Results per page at most, and by default. */
export const MAX_SEARCH_PAGE_SIZE = 50;
export const DEFAULT_SEARCH_PAGE_SIZE = 20;

export const SearchSortSchema = z.enum(["relevance", "date"]).meta({ id: "SearchSort" });
export type SearchSort = z.infer<typeof SearchSortSchema>;

/** One term of a query, as typed (not yet folded or stemmed: the server does that). */
export type SearchTerm =
  | { kind: "word"; text: string; negated: boolean }
  | { kind: "prefix"; text: string; negated: boolean }
  | { kind: "phrase"; text: string; negated: boolean };

/** A query cut into terms and filters. */
export interface ParsedSearchQuery {
  terms: SearchTerm[];
  /** `from:` usernames, without "@", lower case; a message by any of them matches. */
  from: string[];
  /** `in:` room names, without "#", as typed; a message in any of them matches. */
  in: string[];
  /** `before:`, `after:`: days as YYYY-MM-DD (UTC). */
  before: string | null;
  after: string | null;
  hasFile: boolean;
  mentionsMe: boolean;
  /** Problems found (an unknown filter value, a bad date), each a sentence for the person; the server refuses a query with any. */
  problems: string[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function validDay(day: string): boolean {
  if (!DAY.test(day)) return false;
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

/**
 * Cuts a query into terms and filters (the syntax above). Never throws:
 * what it cannot read goes to `problems`. A filter word without its colon
 * value (`from:` alone) is a problem; an unknown `name:value` is text.
 */
export function parseSearchQuery(query: string): ParsedSearchQuery {
  const parsed: ParsedSearchQuery = { terms: [], from: [], in: [], before: null, after: null, hasFile: false, mentionsMe: false, problems: [] };
  // Phrases first: "…" (an unclosed quote runs to the end), then space-separated pieces.
  const pieces = query.match(/-?"[^"]*"?|\S+/g) ?? [];
  for (const piece of pieces) {
    const negated = piece.startsWith("-") && piece.length > 1;
    const body = negated ? piece.slice(1) : piece;
    if (body.startsWith('"')) {
      const text = body.replace(/^"|"$/g, "").trim();
      if (text !== "") parsed.terms.push({ kind: "phrase", text, negated });
      continue;
    }
    const filter = /^(from|in|before|after|has|is):(.*)$/i.exec(body);
    if (filter && !negated) {
      const name = filter[1]!.toLowerCase();
      const value = filter[2]!;
      if (value === "") {
        parsed.problems.push(`"${name}:" needs a value.`);
        continue;
      }
      switch (name) {
        case "from":
          parsed.from.push(value.replace(/^@/, "").toLowerCase());
          break;
        case "in":
          parsed.in.push(value.replace(/^#/, ""));
          break;
        case "before":
        case "after":
          if (validDay(value)) parsed[name] = value;
          else parsed.problems.push(`"${name}:" takes a day as YYYY-MM-DD.`);
          break;
        case "has":
          if (/^(file|files|attachment)$/i.test(value)) parsed.hasFile = true;
          else parsed.problems.push(`"has:" takes "file".`);
          break;
        case "is":
          if (/^(mention|mentioned)$/i.test(value)) parsed.mentionsMe = true;
          else parsed.problems.push(`"is:" takes "mention".`);
          break;
      }
      continue;
    }
    if (body.length > 1 && body.endsWith("*")) {
      parsed.terms.push({ kind: "prefix", text: body.replace(/\*+$/, ""), negated });
      continue;
    }
    parsed.terms.push({ kind: "word", text: body, negated });
  }
  if (parsed.terms.length > MAX_SEARCH_TERMS) parsed.problems.push(`At most ${MAX_SEARCH_TERMS} words or phrases.`);
  return parsed;
}

/** True when the query asks for anything: a term or a filter (an empty query is refused). */
export function isEmptySearch(parsed: ParsedSearchQuery): boolean {
  return (
    parsed.terms.length === 0 &&
    parsed.from.length === 0 &&
    parsed.in.length === 0 &&
    parsed.before === null &&
    parsed.after === null &&
    !parsed.hasFile &&
    !parsed.mentionsMe
  );
}

/** GET /api/v1/search, and the socket's `search` command (with `id`). */
export const SearchRequestSchema = z.object({
  /** The query (syntax above), 1 to 500 characters. */
  q: z.string().trim().min(1, "Type something to search for.").max(MAX_SEARCH_QUERY_CHARS),
  /** Only this room (also what GET /rooms/{roomId}/messages?search= sets). */
  roomId: idText({ label: "Room id", max: 64 }).optional(),
  /** relevance (default): best matches first, newer first among equals; date: newest first. */
  sort: SearchSortSchema.optional(),
  /** The `nextCursor` of the previous page, opaque. */
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_PAGE_SIZE).optional(),
}).meta({ id: "SearchRequest" });
export type SearchRequest = z.infer<typeof SearchRequestSchema>;

/**
 * Part of a snippet: text to show as text (never HTML), `match: true` for
 * the words the query matched (the client marks them, e.g. with <mark>).
 */
export const SnippetPartSchema = z.object({
  text: z.string(),
  match: z.boolean().optional(),
}).meta({ id: "SnippetPart" });
export type SnippetPart = z.infer<typeof SnippetPartSchema>;

/** One message found: the message as history gives it, its room, and a snippet of the matching text. */
export const SearchHitSchema = z.object({
  message: MessageSchema,
  room: z.object({ id: z.string(), name: z.string(), kind: RoomKindSchema }),
  /**
   * The text around the first match, cut at word boundaries with "…" where
   * cut, in parts; the parts joined are plain text. From a file's name when
   * only a name matched.
   */
  snippet: z.array(SnippetPartSchema),
  /** Where the match is: the message's text, or only a file's name. */
  matchedIn: z.enum(["text", "file"]).optional(),
}).meta({ id: "SearchHit" });
export type SearchHit = z.infer<typeof SearchHitSchema>;

export const SearchResponseSchema = z.object({
  results: z.array(SearchHitSchema),
  /** How many messages match, at most the server's cap (`totalCapped` then true). */
  total: z.number().int().nonnegative(),
  /** True when more than `total` match: say "1,000+". */
  totalCapped: z.boolean(),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
  sort: SearchSortSchema,
  /**
   * Set when a word found nothing and a close word from messages the user may
   * read was searched instead (a misspelling): each word typed, with what was
   * searched for it.
   */
  corrections: z.array(z.object({ from: z.string(), to: z.string() })).optional(),
  /** The query as understood, for showing filter chips: filters in effect. */
  filters: z.object({
    from: z.array(z.string()),
    in: z.array(z.string()),
    before: z.string().nullable(),
    after: z.string().nullable(),
    hasFile: z.boolean(),
    mentionsMe: z.boolean(),
  }),
}).meta({ id: "SearchResponse" });
export type SearchResponse = z.infer<typeof SearchResponseSchema>;
