/**
 * Message search in the web client (issue 18, item 5): the pure rules
 * behind the search panel, unit-tested without a browser.
 *
 * - Results are grouped by conversation, in the order of each room's first
 *   hit (so relevance still decides which conversation comes first), the
 *   hits of a room in the server's order. "Load more" appends to the groups
 *   without reordering those already shown.
 * - Filter chips come from the query text as the shared parser reads it
 *   (parseSearchQuery), the same reading the server applies; removing a
 *   chip removes its words from the text, adding one appends its word.
 * - The snippet is the server's parts, shown as text (never HTML): a match
 *   part becomes <mark> in the panel.
 */
import {
  parseSearchQuery,
  type ParsedSearchQuery,
  type SearchHit,
  type SearchResponse,
  type SnippetPart,
} from "@shared/protocol/search.js";
import { inTimeline } from "@shared/protocol/index.js";
import type { JumpTarget } from "./jump";

/** A conversation's hits, under its name. */
export interface SearchGroup {
  roomId: string;
  /** "#general", or the other person's name for a direct conversation. */
  title: string;
  hits: SearchHit[];
}

/** How a room is named in a group heading: "#name" for a room, the name alone for a direct conversation. */
export function groupTitle(room: SearchHit["room"]): string {
  return room.kind === "direct" ? room.name : `#${room.name}`;
}

/**
 * Groups hits by conversation: groups in the order of their first hit,
 * hits of a group in the order given. Pure; `hits` is not changed.
 */
export function groupHits(hits: readonly SearchHit[], title: (room: SearchHit["room"]) => string = groupTitle): SearchGroup[] {
  const groups = new Map<string, SearchGroup>();
  for (const hit of hits) {
    let group = groups.get(hit.room.id);
    if (!group) {
      group = { roomId: hit.room.id, title: title(hit.room), hits: [] };
      groups.set(hit.room.id, group);
    }
    group.hits.push(hit);
  }
  return [...groups.values()];
}

/** The hits in the order the groups show them (what ↑/↓ walk through). */
export function hitsInShownOrder(groups: readonly SearchGroup[]): SearchHit[] {
  return groups.flatMap((g) => g.hits);
}

/**
 * Appends a next page to the hits held, leaving out any message already
 * held (a message edited between two pages could come back on the next).
 */
export function appendPage(held: readonly SearchHit[], page: readonly SearchHit[]): SearchHit[] {
  const seen = new Set(held.map((h) => h.message.id));
  return [...held, ...page.filter((h) => !seen.has(h.message.id))];
}

/** One run of a snippet: text, marked or not. Adjacent parts of the same kind are joined. */
export interface SnippetRun {
  text: string;
  match: boolean;
}

/** The snippet as runs to render (a match as <mark>, the rest as text); empty parts are dropped. */
export function snippetRuns(parts: readonly SnippetPart[]): SnippetRun[] {
  const runs: SnippetRun[] = [];
  for (const part of parts) {
    if (part.text === "") continue;
    const match = part.match === true;
    const last = runs[runs.length - 1];
    if (last && last.match === match) last.text += part.text;
    else runs.push({ text: part.text, match });
  }
  return runs;
}

/** The snippet as plain text (its parts joined), for a name or a fallback. */
export function snippetText(parts: readonly SnippetPart[]): string {
  return parts.map((p) => p.text).join("");
}

/** Kinds of filter chip, as the query syntax names them. */
export type ChipKind = "from" | "in" | "before" | "after" | "has" | "is";

/** A filter in effect, shown as a removable chip. */
export interface FilterChip {
  kind: ChipKind;
  /** What the chip says: "from:@alice", "in:#general", "has:file". */
  label: string;
  /** The value as the parser gives it (a username, a room name, a day), for removal. */
  value: string;
}

/** The filters of a parsed query as chips, in the order of the syntax's list. */
export function filterChips(parsed: Pick<ParsedSearchQuery, "from" | "in" | "before" | "after" | "hasFile" | "mentionsMe">): FilterChip[] {
  const chips: FilterChip[] = [];
  for (const user of unique(parsed.from)) chips.push({ kind: "from", label: `from:@${user}`, value: user });
  for (const room of unique(parsed.in)) chips.push({ kind: "in", label: `in:#${room}`, value: room });
  if (parsed.after) chips.push({ kind: "after", label: `after:${parsed.after}`, value: parsed.after });
  if (parsed.before) chips.push({ kind: "before", label: `before:${parsed.before}`, value: parsed.before });
  if (parsed.hasFile) chips.push({ kind: "has", label: "has:file", value: "file" });
  if (parsed.mentionsMe) chips.push({ kind: "is", label: "is:mention", value: "mention" });
  return chips;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The pieces of a query as the shared parser cuts them, with where each starts. Same expression as parseSearchQuery. */
function pieces(query: string): { text: string; start: number }[] {
  return [...query.matchAll(/-?"[^"]*"?|\S+/g)].map((m) => ({ text: m[0], start: m.index }));
}

/** Whether the query piece `piece` is the filter `chip` (every spelling the parser accepts: FROM:Alice, from:@alice). */
function pieceIsChip(piece: string, chip: FilterChip): boolean {
  const filter = /^(from|in|before|after|has|is):(.+)$/i.exec(piece);
  if (!filter || filter[1]!.toLowerCase() !== chip.kind) return false;
  const one = parseSearchQuery(piece);
  switch (chip.kind) {
    case "from":
      return one.from[0] === chip.value;
    case "in":
      return one.in[0] === chip.value;
    case "before":
      return one.before === chip.value;
    case "after":
      return one.after === chip.value;
    case "has":
      return one.hasFile;
    case "is":
      return one.mentionsMe;
  }
}

/**
 * The query without the filter `chip` (every piece that sets it), the
 * rest of the text as typed, spaces between pieces kept single.
 */
export function removeFilter(query: string, chip: FilterChip): string {
  let out = "";
  let at = 0;
  for (const piece of pieces(query)) {
    if (pieceIsChip(piece.text, chip)) {
      out += query.slice(at, piece.start);
      at = piece.start + piece.text.length;
    }
  }
  out += query.slice(at);
  return out.replace(/\s{2,}/g, " ").trim();
}

/** The query with `token` (a filter such as "has:file") added at the end, unless it is in effect already. */
export function addFilter(query: string, token: string): string {
  const wanted = filterChips(parseSearchQuery(token))[0];
  if (wanted && filterChips(parseSearchQuery(query)).some((c) => c.kind === wanted.kind && c.value === wanted.value)) return query;
  const trimmed = query.trimEnd();
  return trimmed === "" ? `${token} ` : `${trimmed} ${token} `;
}

/** Thousands with commas, as the totals read ("1,000"). */
function count(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * What the panel says of the results: "3 results", "20 of 134 results",
 * "20 of 1,000+ results" when the server's count is capped, "No results".
 */
export function totalLabel(shown: number, response: Pick<SearchResponse, "total" | "totalCapped">): string {
  const { total, totalCapped } = response;
  if (total === 0 && shown === 0) return "No results";
  const all = `${count(total)}${totalCapped ? "+" : ""}`;
  const noun = total === 1 && !totalCapped ? "result" : "results";
  if (shown >= total && !totalCapped) return `${all} ${noun}`;
  return `${count(shown)} of ${all} ${noun}`;
}

/** "deployment" for one correction, "deployment, notes" for several: the words searched instead. */
export function correctedWords(corrections: readonly { from: string; to: string }[]): string {
  return corrections.map((c) => c.to).join(", ");
}

/** The query's words for a sentence ("No messages match “deploy”."): the text without its filters. */
export function wordsOf(query: string): string {
  const parsed = parseSearchQuery(query);
  return parsed.terms.map((t) => (t.negated ? "-" : "") + (t.kind === "phrase" ? `"${t.text}"` : t.kind === "prefix" ? `${t.text}*` : t.text)).join(" ");
}

/**
 * Where opening a hit goes: the message itself, or for a reply kept in its
 * thread (not shown in the timeline), its root there, with the thread open.
 */
export function jumpTargetOf(hit: SearchHit): JumpTarget {
  const { message } = hit;
  const base = { roomId: hit.room.id, messageId: message.id, seq: message.seq };
  if (!inTimeline(message) && message.replyTo) return { ...base, thread: { rootId: message.replyTo.id, rootSeq: message.replyTo.seq } };
  return base;
}

/** When a hit was written, short: the time today, else the date and time ("Dec 1, 14:05"; the year when not this one). */
export function hitTime(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
  if (date.toDateString() === now.toDateString()) return time;
  const day = date.toLocaleDateString(undefined, { month: "short", day: "numeric", ...(date.getFullYear() === now.getFullYear() ? {} : { year: "numeric" }) });
  return `${day}, ${time}`;
}
