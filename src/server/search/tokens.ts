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
 * Text is folded first: NFKD, combining diacritics removed (accents: "Café"
 * and "cafe" are one word; Arabic and Hebrew vowel points too; not the marks
 * that make another letter, as Japanese voicing), NFC, lower case. It is then cut into tokens, runs of letters, digits and marks:
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
 * - `words`: each spaced word as folded, each unspaced pair (a word found
 *   by a part of it or a prefix, through the vocabulary);
 * - `stems`: the same positions, spaced words stemmed (words, phrases);
 * - `grams`: each character of unspaced runs alone, with a gap (`null`)
 *   after each run (a one-character search in Chinese or Japanese).
 * and the document's distinct spaced words go into the vocabulary
 * (`search_words`), which the database indexes by trigrams (FTS5's trigram
 * tokenizer; pg_trgm): a part of a word, or a prefix, is looked up there
 * first and searched as the words that contain it (search/query.ts), as a
 * search engine expands a wildcard over its term dictionary, and a
 * misspelt word is corrected against it.
 */

/**
 * Characters of the scripts written without spaces between words, by
 * Script_Extensions: the long-vowel mark ー and the iteration marks belong
 * to no one script (Common) but are used only inside Japanese words
 * (サーバー), so they stay inside their run.
 */
const UNSPACED = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]/u;
/** A run of letters, digits and marks: one token before script splitting. */
const TOKEN_RUN = /[\p{L}\p{N}\p{M}]+/gu;
/**
 * The marks folding removes: the combining diacritics (accents of Latin,
 * Greek, Cyrillic…), Arabic harakat and Hebrew points. Not every mark:
 * Japanese voicing (バ is ハ + ゛ decomposed), Thai and Indic vowel signs
 * change the word, not its accent.
 */
// eslint-disable-next-line no-misleading-character-class -- ranges of lone combining marks, each removed by itself
const COMBINING = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u0591-\u05c7\u064b-\u065f\u0670]/gu;
const ASCII_WORD = /^[a-z]+$/;
const ASCII_TOKEN = /^[A-Za-z0-9]+$/;

/**
 * Longest spaced token kept, in characters: longer ones (a pasted hash,
 * base64) are cut, so no term is unbounded. An unspaced run is not cut: it
 * is a sentence, not a word, and its pairs are bounded by the text.
 */
export const MAX_TOKEN_CHARS = 64;

/** A token of a text: its folded form and where it stands in the original (UTF-16 offsets, end exclusive). */
export interface Token {
  text: string;
  start: number;
  end: number;
  /** True for a run of an unspaced script (CJK, Thai, …), matched by character pairs. */
  unspaced: boolean;
}

/** Folds text for matching: NFKD, combining diacritics removed (COMBINING), NFC, lower case. */
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
    // Most runs are one spaced word: no character-by-character look (this is on the send path).
    if (!UNSPACED.test(run[0])) {
      pushToken(tokens, run[0], runStart, false);
      continue;
    }
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

/**
 * Folds a token and cuts it again: folding may turn a character into
 * several with punctuation between (½ → 1⁄2, ⑴ → (1)), and the parts are
 * the words (so that both databases, and the query, see the same ones).
 * Each part keeps the whole original token's offsets.
 */
function pushToken(tokens: Token[], original: string, start: number, unspaced: boolean): void {
  // ASCII letters and digits fold to their lower case and stay one word.
  if (ASCII_TOKEN.test(original)) {
    const text = original.length > MAX_TOKEN_CHARS ? original.slice(0, MAX_TOKEN_CHARS) : original;
    tokens.push({ text: text.toLowerCase(), start, end: start + original.length, unspaced });
    return;
  }
  for (const part of fold(original).matchAll(TOKEN_RUN)) {
    const chars = Array.from(part[0]);
    tokens.push({ text: unspaced ? part[0] : chars.slice(0, MAX_TOKEN_CHARS).join(""), start, end: start + original.length, unspaced });
  }
}

/** A spaced word's stem: English words (ASCII letters) by Porter2 (Snowball English), any other word as it is. */
export function stemOf(word: string): string {
  return ASCII_WORD.test(word) ? porter2(word) : word;
}

/** The overlapping trigrams of a word ("deploy" → dep, epl, plo, loy); none under three characters. For the vocabulary's lookups. */
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

/**
 * The three term streams of one document (see the module's comment);
 * `null` is a gap: between the text and each file's name (a phrase never
 * runs from one into the next) and, in `grams`, after each run.
 */
export interface IndexTerms {
  words: (string | null)[];
  stems: (string | null)[];
  grams: (string | null)[];
  /** Distinct spaced words of three characters or more: the vocabulary that parts of words, prefixes and misspellings are looked up in. */
  vocabulary: string[];
}

/** Shortest word kept in the vocabulary, in characters: parts of words are searched from three characters on. */
export const VOCABULARY_MIN_CHARS = 3;

/**
 * The terms to index for a message: its text, then its files' names.
 */
export function indexTerms(texts: readonly string[]): IndexTerms {
  const terms: IndexTerms = { words: [], stems: [], grams: [], vocabulary: [] };
  const vocabulary = new Set<string>();
  for (const [i, text] of texts.entries()) {
    if (i > 0) {
      terms.words.push(null);
      terms.stems.push(null);
    }
    for (const token of tokenize(text)) {
      if (token.unspaced) {
        const pairs = pairsOf(token.text);
        terms.words.push(...pairs);
        terms.stems.push(...pairs);
        terms.grams.push(...Array.from(token.text), null);
      } else {
        terms.words.push(token.text);
        terms.stems.push(stemOf(token.text));
        if (token.text.length >= VOCABULARY_MIN_CHARS) vocabulary.add(token.text);
      }
    }
  }
  terms.vocabulary = [...vocabulary];
  return terms;
}
