import { stem as porter2 } from "porter2";

/**
 * How text becomes search terms, written once for both databases (issue 18).
 *
 * Neither database tokenizes: this module does, and SQLite's FTS5 and
 * PostgreSQL's tsvector only store and look up what it produced, so the
 * same text gives the same terms, and the same query the same results, on
 * either (a database's own parser differs: PostgreSQL's english config drops
 * stop words, FTS5's porter does not; neither matches a two-character
 * Chinese word by substring).
 *
 * Text is folded first: NFKD, combining marks removed (accents: "Café" and
 * "cafe" are one word; Arabic and Hebrew vowel points too), NFC, lower
 * case. It is then cut into tokens, runs of letters, digits and marks:
 * - a *spaced* token (Latin, Cyrillic, Greek, Arabic, …) is a word; English
 *   words (ASCII letters) are stemmed with Porter2 (Snowball English, the
 *   stemmer of PostgreSQL's english config; the `porter2` package), others
 *   kept as they are;
 * - an *unspaced* token (Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer,
 *   Myanmar: scripts written without spaces between words) is cut into
 *   overlapping pairs of characters ("東京都" → "東京", "京都"), as
 *   Lucene's CJK analyzer does, so any substring of two characters or more
 *   is a phrase of pairs.
 *
 * The index holds three streams per document (search/dialect.ts):
 * - `words`: each spaced word as folded, each unspaced pair (prefix queries);
 * - `stems`: the same positions, spaced words stemmed (words, phrases);
 * - `grams`: each spaced word of three characters or more as its overlapping
 *   trigrams, each unspaced character alone, with a gap (`null`) after every
 *   token so that no substring spans two words ("parts of words").
 */

/** Characters of the scripts written without spaces between words. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
/** A run of letters, digits and marks: one token before script splitting. */
const TOKEN_RUN = /[\p{L}\p{N}\p{M}]+/gu;
const COMBINING = /\p{Mn}/gu;
const ASCII_WORD = /^[a-z]+$/;

/** Longest token kept, in characters: longer runs (a pasted hash, base64) are cut, so no term is unbounded. */
export const MAX_TOKEN_CHARS = 64;

/** A token of a text: its folded form and where it stands in the original (UTF-16 offsets, end exclusive). */
export interface Token {
  text: string;
  start: number;
  end: number;
  /** True for a run of an unspaced script (CJK, Thai, …), matched by character pairs. */
  unspaced: boolean;
}

/** Folds text for matching: NFKD, combining marks removed, NFC, lower case. */
export function fold(text: string): string {
  return text.normalize("NFKD").replace(COMBINING, "").normalize("NFC").toLowerCase();
}

/**
 * The tokens of `text`, in order, with offsets into `text` (for
 * highlighting). Runs mixing unspaced and spaced characters ("東京tower")
 * are cut where the script changes; marks stay with the character before.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const run of text.matchAll(TOKEN_RUN)) {
    const runStart = run.index;
    const chars = Array.from(run[0]);
    let pieceStart = runStart;
    let offset = runStart;
    let pieceUnspaced: boolean | null = null;
    for (const ch of chars) {
      // A combining mark belongs to the character it follows, whatever its script.
      const isMark = /^\p{M}$/u.test(ch);
      const unspaced: boolean = isMark && pieceUnspaced !== null ? pieceUnspaced : UNSPACED.test(ch);
      if (pieceUnspaced !== null && unspaced !== pieceUnspaced) {
        pushToken(tokens, text.slice(pieceStart, offset), pieceStart, pieceUnspaced);
        pieceStart = offset;
      }
      pieceUnspaced = unspaced;
      offset += ch.length;
    }
    if (pieceUnspaced !== null) pushToken(tokens, text.slice(pieceStart, offset), pieceStart, pieceUnspaced);
  }
  return tokens;
}

function pushToken(tokens: Token[], original: string, start: number, unspaced: boolean): void {
  const folded = Array.from(fold(original));
  if (folded.length === 0) return;
  tokens.push({ text: folded.slice(0, MAX_TOKEN_CHARS).join(""), start, end: start + original.length, unspaced });
}

/** A spaced word's stem: English words (ASCII letters) by Porter2 (Snowball English), any other word as it is. */
export function stemOf(word: string): string {
  return ASCII_WORD.test(word) ? porter2(word) : word;
}

/** The overlapping trigrams of a word ("deploy" → dep, epl, plo, loy); none under three characters. */
export function trigramsOf(word: string): string[] {
  const chars = Array.from(word);
  const grams: string[] = [];
  for (let i = 0; i + 3 <= chars.length; i++) grams.push(chars.slice(i, i + 3).join(""));
  return grams;
}

/** An unspaced run as overlapping character pairs ("東京都" → 東京, 京都); a single character stays alone. */
export function pairsOf(run: string): string[] {
  const chars = Array.from(run);
  if (chars.length === 1) return chars;
  const pairs: string[] = [];
  for (let i = 0; i + 2 <= chars.length; i++) pairs.push(chars[i]! + chars[i + 1]!);
  return pairs;
}

/** The three term streams of one document (see the module's comment); `null` in `grams` is a gap. */
export interface IndexTerms {
  words: string[];
  stems: string[];
  grams: (string | null)[];
  /** Distinct spaced words of 4 to 40 letters: the vocabulary that misspelt queries are corrected against. */
  vocabulary: string[];
}

/** Most vocabulary words taken from one document: a long message of rare words adds at most this many. */
const VOCABULARY_PER_DOCUMENT = 64;
const VOCABULARY_WORD = /^\p{L}{4,40}$/u;

/**
 * The terms to index for a message: its text, then its files' names.
 */
export function indexTerms(texts: readonly string[]): IndexTerms {
  const terms: IndexTerms = { words: [], stems: [], grams: [], vocabulary: [] };
  const vocabulary = new Set<string>();
  for (const text of texts) {
    for (const token of tokenize(text)) {
      if (token.unspaced) {
        const pairs = pairsOf(token.text);
        terms.words.push(...pairs);
        terms.stems.push(...pairs);
        terms.grams.push(...Array.from(token.text), null);
      } else {
        terms.words.push(token.text);
        terms.stems.push(stemOf(token.text));
        terms.grams.push(...trigramsOf(token.text), null);
        if (vocabulary.size < VOCABULARY_PER_DOCUMENT && VOCABULARY_WORD.test(token.text)) vocabulary.add(token.text);
      }
    }
  }
  terms.vocabulary = [...vocabulary];
  return terms;
}
