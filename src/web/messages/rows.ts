/**
 * Turns a room's stored messages and its pending outbox entries into the
 * rows the message list renders: day dividers, an unread divider, and
 * messages marked as the first or last of a run by the same author (the
 * author's name is shown once per run, as in every chat client).
 */
import type { Attachment, Author, Mentions, Message, Reaction, ReplyTo, Self } from "@shared/protocol/index.js";
import type { OutboxEntry, OutboxStatus } from "@web/realtime/outbox";
import { dayKey, dayLabel } from "./time";

/** A message as displayed: stored (seq set) or still in the outbox. */
export interface DisplayMessage {
  readonly key: string;
  /** The stored message's id; null while it is only in the outbox. */
  readonly id: string | null;
  readonly seq: number | null;
  readonly clientId: string | null;
  readonly authorId: string;
  readonly authorName: string;
  /** The author's unique @username, shown beside a display name that differs from it. */
  readonly authorUsername: string;
  readonly body: string;
  readonly at: string;
  readonly mine: boolean;
  readonly status: "sent" | OutboxStatus;
  readonly error: string | null;
  /** When it was last edited (shown as "(edited)"), or null. */
  readonly editedAt: string | null;
  /** Deleted for everyone: a tombstone with no text. */
  readonly deleted: boolean;
  /** Its reactions, per emoji (absent: none). */
  readonly reactions?: readonly Reaction[];
  /** Someone else's message that mentions me (by @username, @room or @here): highlighted. */
  readonly mentionsMe?: boolean;
  /** Whom it mentions, to mark `@me`, `@room` and `@here` in the text. */
  readonly mentions?: Mentions;
  /** The thread root this message replies to, shown as a quote (ReplyQuote). */
  readonly replyTo?: ReplyTo;
  /** A thread root: how many replies it has and when the last came (the thread link). */
  readonly replyCount?: number;
  readonly lastReplyAt?: string | null;
  /** A thread root: its most recent repliers, most recent first (the summary's avatars). */
  readonly repliers?: readonly Author[];
  /** Its files (issue 17; absent: none, and on a deleted message, whose files are gone). */
  readonly attachments?: readonly Attachment[];
}

export type Row =
  | { kind: "day"; key: string; label: string }
  | { kind: "unread"; key: string }
  | { kind: "message"; key: string; message: DisplayMessage; firstOfRun: boolean; lastOfRun: boolean };

/** Messages by the same author closer than this stay in one run. */
const RUN_GAP_MS = 5 * 60 * 1000;

/**
 * Stored messages then pending ones (in compose order). A pending entry whose
 * clientId already has a stored message is left out, so a message that was
 * just acked is never on screen twice, whichever update lands first.
 */
export function displayMessages(
  messages: readonly Message[],
  pending: readonly OutboxEntry[],
  me: Pick<Self, "id" | "displayName" | "username">,
): DisplayMessage[] {
  const storedClientIds = new Set<string>();
  const shown: DisplayMessage[] = messages.map((m) => {
    if (m.clientId) storedClientIds.add(m.clientId);
    return {
      // Keyed by clientId when there is one, so the pending row turns into the
      // stored row in place (React keeps the element; no flicker).
      key: m.clientId && m.author.id === me.id ? `c:${m.clientId}` : `m:${m.id}`,
      id: m.id,
      seq: m.seq,
      clientId: m.clientId,
      authorId: m.author.id,
      authorName: m.author.displayName || m.author.username,
      authorUsername: m.author.username,
      body: m.body,
      at: m.createdAt,
      mine: m.author.id === me.id,
      status: "sent",
      error: null,
      editedAt: m.editedAt ?? null,
      deleted: Boolean(m.deletedAt),
      ...(m.reactions?.length && !m.deletedAt ? { reactions: m.reactions } : {}),
      ...(m.attachments?.length && !m.deletedAt ? { attachments: m.attachments } : {}),
      ...(m.replyTo ? { replyTo: m.replyTo } : {}),
      ...(m.replyCount ? { replyCount: m.replyCount, lastReplyAt: m.lastReplyAt ?? null, ...(m.repliers ? { repliers: m.repliers } : {}) } : {}),
      ...(m.mentions && !m.deletedAt
        ? {
            mentions: m.mentions,
            mentionsMe: m.author.id !== me.id && (m.mentions.room || m.mentions.here || m.mentions.userIds.includes(me.id)),
          }
        : {}),
    };
  });
  for (const entry of pending) {
    if (storedClientIds.has(entry.clientId)) continue;
    shown.push({
      key: `c:${entry.clientId}`,
      id: null,
      seq: null,
      clientId: entry.clientId,
      authorId: me.id,
      authorName: me.displayName || me.username,
      authorUsername: me.username,
      body: entry.body,
      at: entry.composedAt,
      mine: true,
      status: entry.status,
      error: entry.error?.message ?? null,
      editedAt: null,
      deleted: false,
      ...(entry.attachments?.length ? { attachments: entry.attachments } : {}),
    });
  }
  return shown;
}

/**
 * Rows for the list. `unreadAfterSeq` places the "New" divider before the
 * first message by someone else after that seq (null: no divider).
 */
export function buildRows(messages: readonly DisplayMessage[], unreadAfterSeq: number | null, now: Date = new Date()): Row[] {
  const rows: Row[] = [];
  let previous: DisplayMessage | null = null;
  let unreadPlaced = unreadAfterSeq === null;
  for (let i = 0; i < messages.length; i += 1) {
    const message = messages[i]!;
    const day = dayKey(message.at);
    const newDay = previous === null || dayKey(previous.at) !== day;
    if (newDay) rows.push({ kind: "day", key: `day:${day}`, label: dayLabel(message.at, now) });

    let unreadHere = false;
    if (!unreadPlaced && message.seq !== null && !message.mine && message.seq > (unreadAfterSeq ?? 0)) {
      rows.push({ kind: "unread", key: "unread" });
      unreadPlaced = true;
      unreadHere = true;
    }

    const next = messages[i + 1];
    rows.push({
      kind: "message",
      key: message.key,
      message,
      firstOfRun: newDay || unreadHere || previous === null || !sameRun(previous, message),
      lastOfRun: next === undefined || dayKey(next.at) !== day || !sameRun(message, next),
    });
    previous = message;
  }
  return rows;
}

function sameRun(a: DisplayMessage, b: DisplayMessage): boolean {
  return a.authorId === b.authorId && Math.abs(Date.parse(b.at) - Date.parse(a.at)) < RUN_GAP_MS;
}
