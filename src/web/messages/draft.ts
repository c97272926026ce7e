/**
 * Rules for what the composer may send, the same ones the server applies
 * (MessageBodySchema: 1 to MAX_BODY_CHARS characters after trimming and NFC,
 * a visible character, no control or bidi characters: shared/protocol/text.ts),
 * so the user learns why before a round trip, in the same words.
 */
import { MAX_BODY_CHARS, MessageBodySchema, normalizeLineBreaks } from "@shared/protocol/index.js";

/** From how many characters the counter is shown: near enough to the limit to matter. */
export const COUNTER_FROM_CHARS = MAX_BODY_CHARS - 500;

export type DraftCheck =
  | { ok: true; body: string }
  | { ok: false; reason: "empty" | "too_long" | "invalid"; message: string };

/** Checks a draft; `body` is what to send (trimmed and normalized, as the server would store it). */
export function checkDraft(text: string): DraftCheck {
  const body = normalizeLineBreaks(text).trim().normalize("NFC");
  if (body.length === 0) return { ok: false, reason: "empty", message: "Message is empty." };
  if (body.length > MAX_BODY_CHARS) {
    const over = body.length - MAX_BODY_CHARS;
    return {
      ok: false,
      reason: "too_long",
      message: `Message is too long: ${formatCount(body.length)} of ${formatCount(MAX_BODY_CHARS)} characters (${formatCount(over)} over).`,
    };
  }
  // The shared text rules: invisible-only text, control and bidi characters.
  const parsed = MessageBodySchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: "invalid", message: parsed.error.issues[0]?.message ?? "Message is not valid." };
  return { ok: true, body: parsed.data };
}

/** The counter under the composer, or null while far from the limit. */
export function draftCounter(text: string): { used: number; limit: number; over: boolean } | null {
  const used = text.trim().length;
  if (used < COUNTER_FROM_CHARS) return null;
  return { used, limit: MAX_BODY_CHARS, over: used > MAX_BODY_CHARS };
}

function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
