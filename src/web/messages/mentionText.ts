/**
 * Splits a message body into plain text and the mentions worth marking for
 * the viewer: `@me` (their own username, any case) and `@room` / `@here`
 * when the message really mentions everyone (from an owner or admin). The
 * parts are rendered as React text nodes and spans, never as HTML
 * (DESIGN.md invariant 6). The word rules are the server's (mentions.ts):
 * no mention inside a word or an email address.
 */
import type { Mentions } from "@shared/protocol/index.js";

export type BodyPart = { kind: "text"; text: string } | { kind: "mention"; text: string };

const MENTION = /(?<![\p{L}\p{N}_.+\-@])@([A-Za-z0-9_.-]{3,32})(?![\p{L}\p{N}_.\-@])/gu;

/** The body's parts in order; one text part when nothing is marked (no `@`: no regex run at all). */
export function mentionParts(body: string, myUsername: string, mentions: Mentions | undefined): BodyPart[] {
  if (!mentions || !body.includes("@")) return [{ kind: "text", text: body }];
  const mine = myUsername.toLowerCase();
  const parts: BodyPart[] = [];
  let last = 0;
  for (const match of body.matchAll(MENTION)) {
    const full = (match[1] ?? "").toLowerCase();
    const trimmed = full.replace(/[.-]+$/, "");
    const name = full === mine ? full : trimmed;
    const marked = name === mine || (name === "room" && mentions.room) || (name === "here" && mentions.here);
    if (!marked) continue;
    const start = match.index;
    const end = start + 1 + name.length;
    if (start > last) parts.push({ kind: "text", text: body.slice(last, start) });
    parts.push({ kind: "mention", text: body.slice(start, end) });
    last = end;
  }
  if (last < body.length) parts.push({ kind: "text", text: body.slice(last) });
  return parts.length > 0 ? parts : [{ kind: "text", text: body }];
}
