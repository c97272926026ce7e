import type { SearchTerm } from "@shared/protocol/search.js";
import { pairsOf, stemOf, tokenize, type Token } from "./tokens.js";

/**
 * A search query's terms turned into a match over the index's streams
 * (search/tokens.ts), the same tree for both databases: each dialect only
 * writes it in its own syntax (FTS5 MATCH, tsquery), from tokens that are
 * letters, digits and marks only, so nothing typed is ever read as syntax.
 *
 * - a word: its stem in `stems`, or, at three characters or more, any
 *   vocabulary word that contains it in `words` (a part of a word: the
 *   service looked up the EXPANSIONS_MAX shortest first, `Expansions`;
 *   when there were more, any word starting with it as well); under three
 *   characters, the word itself; text of an unspaced script: its character
 *   pairs as a phrase in `words` (a substring), one character in `grams`;
 * - a phrase (or a word that tokenizes into several, "e-mail"): the stems
 *   and pairs, in order, as a phrase in `stems`;
 * - a prefix: any word starting with it, in `words` (the index's own
 *   prefix search: every such word, however many);
 * - an exclusion: NOT of its term.
 */
export type MatchNode =
  | { op: "and"; children: MatchNode[]; not: MatchNode[] }
  | { op: "or"; children: MatchNode[] }
  | { op: "phrase"; stream: Stream; terms: string[] }
  | { op: "prefix"; stream: "words"; term: string };

export type Stream = "words" | "stems" | "grams";

/** What the highlighter marks (search/snippets.ts): folded forms, from the same tokens as the match. */
export interface HighlightSpec {
  /** Stems of whole words searched: a token whose stem is one of them is marked. */
  stems: Set<string>;
  /** Parts of words (folded, three characters or more) and unspaced runs: marked where they occur. */
  substrings: string[];
  /** Prefixes: a token starting with one is marked. */
  prefixes: string[];
}

export interface CompiledMatch {
  /** Null when no term has anything to search for (only punctuation, or no terms): the query matches nothing by text. */
  match: MatchNode | null;
  highlight: HighlightSpec;
  /** Terms given but with nothing searchable (only punctuation): "%" alone finds nothing, it is no error. */
  emptyTerms: number;
}

/** Shortest prefix searched as a prefix; a shorter one ("d*") is searched as a word. */
export const MIN_PREFIX_CHARS = 2;
/** Shortest part of a word searched inside words. */
export const MIN_PART_CHARS = 3;

/**
 * Vocabulary words for the parts of words of a query (folded form →
 * words), looked up by the service before compiling; at most
 * EXPANSIONS_MAX each, shortest first (the likeliest to be what was meant).
 */
export interface Expansions {
  containing: Map<string, string[]>;
}

/** Vocabulary words one part of a word or prefix stands for at most. */
export const EXPANSIONS_MAX = 30;

/** The parts of words a query needs looked up in the vocabulary before it compiles. */
export function vocabularyLookups(terms: readonly SearchTerm[]): string[] {
  const containing = new Set<string>();
  for (const term of terms) {
    if (term.kind !== "word") continue;
    const tokens = tokenize(term.text);
    if (tokens.length !== 1 || tokens[0]!.unspaced) continue;
    const word = tokens[0]!.text;
    if (Array.from(word).length >= MIN_PART_CHARS) containing.add(word);
  }
  return [...containing];
}

/** No lookups: parts of words then match only whole words (for callers without a vocabulary). */
export const NO_EXPANSIONS: Expansions = { containing: new Map() };

/** The terms of a query as one match (all positive terms, none of the excluded ones). */
export function compileTerms(terms: readonly SearchTerm[], expansions: Expansions = NO_EXPANSIONS): CompiledMatch {
  const highlight: HighlightSpec = { stems: new Set(), substrings: [], prefixes: [] };
  const positive: MatchNode[] = [];
  const negative: MatchNode[] = [];
  let emptyTerms = 0;
  for (const term of terms) {
    const tokens = tokenize(term.text);
    const node = termNode(term.kind, tokens, expansions, term.negated ? null : highlight);
    if (!node) {
      emptyTerms++;
      continue;
    }
    (term.negated ? negative : positive).push(node);
  }
  if (positive.length === 0) return { match: null, highlight, emptyTerms };
  const match: MatchNode = positive.length === 1 && negative.length === 0 ? positive[0]! : { op: "and", children: positive, not: negative };
  return { match, highlight, emptyTerms };
}

function termNode(kind: SearchTerm["kind"], tokens: Token[], expansions: Expansions, highlight: HighlightSpec | null): MatchNode | null {
  if (tokens.length === 0) return null;
  if (tokens.length > 1 || kind === "phrase") return phraseNode(tokens, highlight);
  const token = tokens[0]!;
  if (token.unspaced) {
    highlight?.substrings.push(token.text);
    const chars = Array.from(token.text);
    return chars.length === 1 ? { op: "phrase", stream: "grams", terms: chars } : { op: "phrase", stream: "words", terms: pairsOf(token.text) };
  }
  if (kind === "prefix" && Array.from(token.text).length >= MIN_PREFIX_CHARS) {
    highlight?.prefixes.push(token.text);
    return { op: "prefix", stream: "words", term: token.text };
  }
  return wordNode(token.text, expansions, highlight);
}

/** A whole word (and its forms), or, at three characters or more, any vocabulary word containing it. */
function wordNode(word: string, expansions: Expansions, highlight: HighlightSpec | null): MatchNode {
  const stem = stemOf(word);
  highlight?.stems.add(stem);
  const byStem: MatchNode = { op: "phrase", stream: "stems", terms: [stem] };
  const isPart = Array.from(word).length >= MIN_PART_CHARS;
  const containing = isPart ? expansions.containing.get(word) : undefined;
  if (isPart) highlight?.substrings.push(word);
  const words = containing ?? [word];
  const children: MatchNode[] = [byStem];
  if (words.length > 0) children.push(anyWord(words));
  // More words contain it than were taken: those that start with it are all found still (typing a word's start).
  if (containing && containing.length >= EXPANSIONS_MAX) children.push({ op: "prefix", stream: "words", term: word });
  return children.length === 1 ? byStem : { op: "or", children };
}

/** Any of `words` in the words stream. */
function anyWord(words: readonly string[]): MatchNode {
  const nodes: MatchNode[] = words.map((w) => ({ op: "phrase", stream: "words", terms: [w] }));
  return nodes.length === 1 ? nodes[0]! : { op: "or", children: nodes };
}

function phraseNode(tokens: Token[], highlight: HighlightSpec | null): MatchNode {
  const terms: string[] = [];
  for (const token of tokens) {
    if (token.unspaced) {
      terms.push(...pairsOf(token.text));
      highlight?.substrings.push(token.text);
    } else {
      const stem = stemOf(token.text);
      terms.push(stem);
      highlight?.stems.add(stem);
    }
  }
  return { op: "phrase", stream: "stems", terms };
}

/** The plain words of a query that a misspelling could explain: positive, one spaced token of letters, 4 to 40 of them. */
export function correctableWords(terms: readonly SearchTerm[]): string[] {
  const words: string[] = [];
  for (const term of terms) {
    if (term.negated || term.kind !== "word") continue;
    const tokens = tokenize(term.text);
    if (tokens.length === 1 && !tokens[0]!.unspaced && /^\p{L}{4,40}$/u.test(tokens[0]!.text)) words.push(tokens[0]!.text);
  }
  return words;
}
