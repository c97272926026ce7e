import { z } from "zod";

/**
 * Text rules for everything a person types that others will read: message
 * bodies, display names, room names, topics, token names, and the few
 * free-text inputs that reach the database (search, login). One module, used
 * by the shared zod schemas, so the server (HTTP and WebSocket), the web
 * client and the tests apply the same rules with the same words.
 *
 * Sources: Unicode TR 36 (Unicode Security Considerations: bidi spoofing,
 * invisible characters, normalization), TR 39 (Unicode Security Mechanisms:
 * restriction of Default_Ignorable code points in identifiers, excessive
 * combining marks), TR 31 §2.3 (joiners only where they have a visible
 * effect), RFC 5892 CONTEXTJ, CVE-2021-42574 ("Trojan Source"), and OWASP's
 * input validation cheat sheet (allow-list by class, normalize first).
 *
 * What each kind of text refuses (after trimming and NFC normalization):
 *
 * | class                                   | body            | name / topic   | query, login | id   |
 * | --------------------------------------- | --------------- | -------------- | ------------ | ---- |
 * | control characters (\p{Cc})             | all but \n \t   | all            | all          | all  |
 * | unpaired surrogates (\p{Cs})            | yes             | yes            | yes          | yes  |
 * | bidi embeddings, overrides, isolates    | yes             | yes            | yes          | no   |
 * | bidi marks (LRM, RLM, ALM)              | no              | yes            | no           | no   |
 * | invisible format characters (\p{Cf},    | tags outside an | yes, but ZWJ / | no           | no   |
 * |   Default_Ignorable_Code_Point)         | emoji flag only | ZWNJ / VS / tag|              |      |
 * |                                         |                 | in context     |              |      |
 * | more than 4 combining marks in a row    | no              | yes            | no           | no   |
 * | no visible character at all             | yes             | yes (if given) | no           | no   |
 *
 * Bodies carry \r\n and \r as \n, so that a script on Windows is not refused.
 */

/** Which rules apply: see the table above. */
export type TextKind = "body" | "name" | "query" | "id";

export type TextProblemReason = "control" | "surrogate" | "bidi" | "invisible" | "marks";

/** The first character that breaks the rules, where it is, and why. */
export interface TextProblem {
  readonly reason: TextProblemReason;
  /** Index in UTF-16 code units. */
  readonly index: number;
  readonly codePoint: number;
}

/** Line feed and tab: the only control characters a message body keeps. */
const BODY_CONTROLS_KEPT = new Set([0x0a, 0x09]);
/** Embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder what follows them (TR 36 §2.4). */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/** LRM, RLM, ALM: invisible, and they change how neighbouring characters are ordered. */
const BIDI_MARK = /[\u200E\u200F\u061C]/u;
const ZWNJ = 0x200c;
const ZWJ = 0x200d;
/** Variation selectors (VS1–VS256, Mongolian FVS): they pick a glyph for the character before them. */
const VARIATION_SELECTOR = /[\uFE00-\uFE0F\u180B-\u180D\u180F\u{E0100}-\u{E01EF}]/u;
/** Tag characters: invisible ASCII look-alikes, legitimate only inside an emoji flag sequence (🏴 + tags + CANCEL TAG). */
const TAG = /[\u{E0000}-\u{E007F}]/u;
const EMOJI_TAG_SEQUENCE = /\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}/gu;
const EXTENDED_PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
/** What may sit between an emoji and the ZWJ that follows it: a skin tone or VS16. */
const EMOJI_MODIFIER_OR_VS16 = /[\u{1F3FB}-\u{1F3FF}]|\uFE0F/u;
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
/**
 * Scripts where a joiner has no visible effect and only hides a difference
 * ("ad\u200Cmin"): Latin, Greek, Cyrillic (the confusable scripts of TR 39),
 * and characters shared by all scripts.
 */
const JOINER_INERT_SCRIPT = /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Common}\p{Script=Inherited}]/u;
const COMBINING_MARK = /\p{M}/u;
/** TR 39 §5.4 suggests a bound; 4 keeps every real language (NFC leaves at most 2–3) and stops "Zalgo" names. */
const MAX_COMBINING_RUN = 4;

/**
 * Per kind, anything its rules could object to; a string without one needs
 * no closer look (the common, fast path: one regex scan, so a long message
 * full of emoji ZWJ sequences costs no more than plain text).
 */
const SUSPECT: Record<TextKind, RegExp> = {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  body: /[\0-\x08\x0B-\x1F\x7F-\x9F\p{Cs}\u202A-\u202E\u2066-\u2069\u{E0000}-\u{E007F}]/u,
  name: /[\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}\p{M}\u{E0000}-\u{E007F}]/u,
  query: /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u,
  id: /[\p{Cc}\p{Cs}]/u,
};
/**
 * A character that draws something: not whitespace, not a control or format
 * character, not Default_Ignorable (ZWSP, ZWJ, Hangul fillers, variation
 * selectors, tags…), not a combining mark on its own, not U+2800 BRAILLE
 * PATTERN BLANK (a common "invisible name" trick).
 */
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}\p{M}\u2800]/u;

/**
 * Whether `text` has at least one character that shows on screen. A name or
 * a message made only of spaces, zero-width characters, joiners, fillers or
 * marks is refused (TR 36 §3: invisible text used to impersonate or to post
 * "empty" messages).
 */
export function hasVisibleCharacter(text: string): boolean {
  return VISIBLE.test(text);
}

/** Bodies: CRLF and lone CR become LF (a script on Windows sends \r\n; CR is otherwise a control character). */
export function normalizeLineBreaks(text: string): string {
  return text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
}

/**
 * The first character of `text` that the rules for `kind` refuse, or null.
 * Expects text already NFC-normalized (the schemas normalize first, as
 * TR 36 §3.1 asks: check what will be stored, not what was sent).
 */
export function findTextProblem(text: string, kind: TextKind): TextProblem | null {
  if (!SUSPECT[kind].test(text)) return null;
  const allowedTags = kind === "id" ? null : emojiTagIndexes(text);
  const points = codePointsOf(text);
  let marksInRow = 0;
  for (let i = 0; i < points.length; i += 1) {
    const { cp, index, ch } = points[i]!;
    const problem = (reason: TextProblemReason): TextProblem => ({ reason, index, codePoint: cp });

    if (cp >= 0xd800 && cp <= 0xdfff) return problem("surrogate");
    if (isControl(cp)) {
      if (kind === "body" && BODY_CONTROLS_KEPT.has(cp)) continue;
      return problem("control");
    }
    if (kind === "id") continue;
    if (BIDI_CONTROL.test(ch)) return problem("bidi");
    if (kind === "query") continue;

    if (TAG.test(ch)) {
      if (allowedTags?.has(index)) continue;
      return problem("invisible");
    }
    if (kind === "body") continue;

    // Names and topics.
    if (BIDI_MARK.test(ch)) return problem("bidi");
    if (COMBINING_MARK.test(ch)) {
      marksInRow += 1;
      if (marksInRow > MAX_COMBINING_RUN) return problem("marks");
    } else {
      marksInRow = 0;
    }
    if (cp === ZWJ || cp === ZWNJ) {
      if (joinerHasEffect(points, i)) continue;
      return problem("invisible");
    }
    if (VARIATION_SELECTOR.test(ch)) {
      // Only right after the character it selects a glyph for.
      const before = points[i - 1];
      if (before && VISIBLE.test(before.ch)) continue;
      return problem("invisible");
    }
    if (isInvisibleFormat(ch)) return problem("invisible");
  }
  return null;
}

/** A sentence for people: what is wrong with `label`'s text and which character. */
export function describeTextProblem(label: string, problem: TextProblem, kind: TextKind): string {
  const at = `U+${problem.codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
  switch (problem.reason) {
    case "control":
      return kind === "body"
        ? `${label} contains a control character (${at}); only line breaks and tabs are allowed.`
        : `${label} contains a control character (${at}).`;
    case "surrogate":
      return `${label} is not valid Unicode text (an unpaired surrogate, ${at}).`;
    case "bidi":
      return `${label} contains a bidirectional control character (${at}), which can make text read differently from what it is.`;
    case "invisible":
      return `${label} contains an invisible character (${at}).`;
    case "marks":
      return `${label} has too many combining marks in a row.`;
  }
}

/**
 * The checks of `kind` as a zod refinement, for a string schema that has
 * already been trimmed and normalized. `requireVisible` refuses non-empty
 * text without a visible character (empty text is left to `.min()`).
 */
export function textRules(label: string, kind: TextKind, requireVisible: boolean) {
  return (value: string, ctx: z.core.$RefinementCtx<string>): void => {
    const problem = findTextProblem(value, kind);
    if (problem) {
      ctx.addIssue({ code: "custom", message: describeTextProblem(label, problem, kind), input: value });
      return;
    }
    if (requireVisible && value.length > 0 && !hasVisibleCharacter(value)) {
      ctx.addIssue({ code: "custom", message: `${label} has no visible character.`, input: value });
    }
  };
}

interface TextLimits {
  /** For people, in messages: "Room name", "Message". */
  label: string;
  max: number;
  /** Smallest length after trimming; 0 allows empty text. */
  min?: number;
  /** The `.min()` message. */
  emptyMessage?: string;
}

/**
 * A display name, room name, topic or token name: trimmed, NFC, no control,
 * bidi, invisible or excessive combining characters, and at least one
 * visible character when not empty.
 */
export function nameText({ label, max, min = 1, emptyMessage }: TextLimits) {
  return z
    .string()
    .trim()
    .normalize("NFC")
    .min(min, emptyMessage ?? `${label} is empty.`)
    .max(max, `${label} is longer than ${max} characters.`)
    .superRefine(textRules(label, "name", true));
}

/**
 * A message body: trimmed, line breaks as \n, NFC, no control characters
 * but \n and \t, no bidi controls, no stray tag characters, and at least one
 * visible character. ZWJ, ZWNJ and the like stay (emoji sequences, Persian,
 * Indic scripts); a body of only those is still refused. `min: 0` allows
 * "" (a message carrying files needs no text): text that is not empty still
 * needs a visible character.
 */
export function bodyText({ label, max, min = 1, emptyMessage }: TextLimits) {
  return z
    .string()
    .overwrite(normalizeLineBreaks)
    .trim()
    .normalize("NFC")
    .min(min, emptyMessage ?? `${label} is empty.`)
    .max(max, `${label} is longer than ${max} characters.`)
    .superRefine(textRules(label, "body", true));
}

/** Free text that is only looked up (search, login): trimmed, NFC, no control or bidi characters. */
export function queryText({ label, max, min = 0 }: TextLimits) {
  return z.string().trim().normalize("NFC").min(min).max(max).superRefine(textRules(label, "query", false));
}

/** An opaque id (room, user, clientId, correlation id): kept byte for byte, but no control characters. */
export function idText({ label, max }: TextLimits) {
  return z.string().min(1).max(max).superRefine(textRules(label, "id", false));
}

// ---- helpers ----

interface CodePoint {
  cp: number;
  /** UTF-16 index of its first unit. */
  index: number;
  ch: string;
}

function codePointsOf(text: string): CodePoint[] {
  const out: CodePoint[] = [];
  let index = 0;
  for (const ch of text) {
    out.push({ cp: ch.codePointAt(0)!, index, ch });
    index += ch.length;
  }
  return out;
}

/** C0, DEL and C1 (\p{Cc}). */
function isControl(cp: number): boolean {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/** Format characters and Default_Ignorable code points: drawn as nothing. */
function isInvisibleFormat(ch: string): boolean {
  return /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u.test(ch);
}

/** UTF-16 indexes of the tag characters that belong to a well-formed emoji tag sequence (subdivision flags). */
function emojiTagIndexes(text: string): Set<number> {
  const allowed = new Set<number>();
  if (!text.includes("\u{1F3F4}")) return allowed;
  for (const match of text.matchAll(EMOJI_TAG_SEQUENCE)) {
    // Skip the 🏴 (2 units); each tag is 2 units.
    for (let i = match.index + 2; i < match.index + match[0].length; i += 2) allowed.add(i);
  }
  return allowed;
}

/**
 * Whether the joiner at `i` has a visible effect (TR 31 §2.3, RFC 5892
 * CONTEXTJ, simplified): a ZWJ inside an emoji ZWJ sequence (👩‍💻), or a ZWJ
 * or ZWNJ between letters/marks of a script that shapes with them (Arabic,
 * Persian, Indic scripts…), not between Latin, Greek or Cyrillic letters
 * where it would only hide a difference.
 */
function joinerHasEffect(points: readonly CodePoint[], i: number): boolean {
  const next = points[i + 1];
  if (!next) return false;
  if (points[i]!.cp === ZWJ && EXTENDED_PICTOGRAPHIC.test(next.ch)) {
    let j = i - 1;
    while (j >= 0 && EMOJI_MODIFIER_OR_VS16.test(points[j]!.ch)) j -= 1;
    if (j >= 0 && EXTENDED_PICTOGRAPHIC.test(points[j]!.ch)) return true;
  }
  const before = points[i - 1];
  if (!before) return false;
  return shapingLetter(before.ch) && shapingLetter(next.ch);
}

function shapingLetter(ch: string): boolean {
  return LETTER_OR_MARK.test(ch) && !JOINER_INERT_SCRIPT.test(ch);
}
