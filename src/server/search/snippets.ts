import type { SnippetPart } from "@shared/protocol/search.js";
import type { HighlightSpec } from "./query.js";
import { fold, stemOf, tokenize, type Token } from "./tokens.js";

/**
 * Snippets of found messages with the matching words marked (issue 18,
 * item 3), as parts of plain text (`{text, match}`), never HTML: the client
 * shows text as text and marks the matches itself (DESIGN.md invariant 6).
 * Computed here from the message's text and the query's tokens (the same
 * tokenizer as the index), so both databases give the same snippet.
 */

/** Longest snippet, in characters, before "…" cuts (at word boundaries where it can). */
export const SNIPPET_CHARS = 200;
/** Characters kept before the first match when the text is cut. */
const LEAD_CHARS = 60;

/** Where the matches are in `text`: sorted, merged [start, end) UTF-16 ranges. */
export function matchRanges(text: string, spec: HighlightSpec): [number, number][] {
  const ranges: [number, number][] = [];
  for (const token of tokenize(text)) {
    const range = tokenMatch(text, token, spec);
    if (range) ranges.push(...range);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

function tokenMatch(text: string, token: Token, spec: HighlightSpec): [number, number][] | null {
  if (!token.unspaced && (spec.stems.has(stemOf(token.text)) || spec.prefixes.some((p) => token.text.startsWith(p)))) {
    return [[token.start, token.end]];
  }
  const found: [number, number][] = [];
  const original = text.slice(token.start, token.end);
  // Offsets inside the token map one to one only where folding kept its length ("é" → "e"); else the whole token is marked.
  const sameLength = fold(original) === token.text && token.text.length === original.length;
  for (const part of spec.substrings) {
    let at = token.text.indexOf(part);
    while (at !== -1) {
      if (!sameLength) return [[token.start, token.end]];
      found.push([token.start + at, token.start + at + part.length]);
      at = token.text.indexOf(part, at + part.length);
    }
  }
  return found.length > 0 ? found : null;
}

/**
 * The snippet of `text`: all of it when short, else a window of about
 * SNIPPET_CHARS around the first match, "…" where cut.
 */
export function snippetOf(text: string, ranges: readonly [number, number][]): SnippetPart[] {
  let start = 0;
  let end = text.length;
  if (text.length > SNIPPET_CHARS) {
    const first = ranges[0]?.[0] ?? 0;
    start = whole(text, first <= LEAD_CHARS ? 0 : wordStart(text, first - LEAD_CHARS));
    end = whole(text, wordEnd(text, Math.min(text.length, start + SNIPPET_CHARS)));
  }
  const parts: SnippetPart[] = [];
  if (start > 0) parts.push({ text: "…" });
  let at = start;
  for (const [from, to] of ranges) {
    if (to <= start || from >= end) continue;
    const a = Math.max(from, start);
    const b = Math.min(to, end);
    if (a > at) parts.push({ text: text.slice(at, a) });
    parts.push({ text: text.slice(a, b), match: true });
    at = b;
  }
  if (end > at) parts.push({ text: text.slice(at, end) });
  if (end < text.length) parts.push({ text: "…" });
  return parts;
}

/** `i` moved back off the second half of a surrogate pair, so a cut there never halves a character (an emoji). */
function whole(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return i > 0 && i < text.length && code >= 0xdc00 && code <= 0xdfff ? i - 1 : i;
}

/** The start of the word at or after `i` (so a cut never halves a word), within 20 characters. */
function wordStart(text: string, i: number): number {
  for (let j = i; j < Math.min(text.length, i + 20); j++) if (/\s/.test(text[j]!)) return j + 1;
  return i;
}

/** The end of the word at or before `i`, within 20 characters back. */
function wordEnd(text: string, i: number): number {
  if (i >= text.length) return text.length;
  for (let j = i; j > Math.max(0, i - 20); j--) if (/\s/.test(text[j]!)) return j;
  return i;
}
