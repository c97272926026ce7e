/**
 * The outbox: messages the user has composed that the server has not
 * acknowledged yet.
 *
 * Pure functions over an immutable list, so the rules can be tested without
 * a socket and the UI can render the same list it is given. The rules:
 *
 * - Each entry keeps the clientId it was given at compose time for its whole
 *   life. A resend after a dropped socket reuses it, and the server stores a
 *   retried clientId once (DESIGN.md invariant 3), so nothing is duplicated.
 * - Order is kept per room: at most one send per room is in flight, and the
 *   next one goes only after the previous one is acked or has failed. A
 *   server that handles commands concurrently therefore still stores a
 *   room's messages in the order they were typed.
 * - An entry leaves the outbox when the server's copy of the message is
 *   known (ack or `message.created` with the same clientId), never earlier,
 *   so the message is on screen exactly once at every moment.
 */

import type { Attachment } from "@shared/protocol/index.js";

export type OutboxStatus = "queued" | "sending" | "failed";

export interface OutboxEntry {
  /** Idempotency key, created once when the message was composed. */
  readonly clientId: string;
  readonly roomId: string;
  readonly body: string;
  /** When the user pressed send (ISO), shown until the server's time replaces it. */
  readonly composedAt: string;
  /** The id of the message this one replies to, if a reply. */
  readonly replyTo?: string;
  /** A thread reply (shown in its thread only, unless `alsoInRoom`): the send's `inThread`. */
  readonly inThread?: boolean;
  /** A thread reply also sent to the room: the send's `alsoInRoom`. */
  readonly alsoInRoom?: boolean;
  /** The uploaded files it carries (issue 17): their ids go in the send's `attachments`; shown while pending. */
  readonly attachments?: readonly Attachment[];
  readonly status: OutboxStatus;
  /** Correlation id of the send command in flight, when status is "sending". */
  readonly commandId: string | null;
  /** Why the last send failed, when status is "failed". */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** How many times the entry was put on the wire. */
  readonly attempts: number;
}

export type Outbox = readonly OutboxEntry[];

export const EMPTY_OUTBOX: Outbox = [];

/** Where a reply is shown (the send's `inThread`, `alsoInRoom`); both absent: a quote-reply, or no reply. */
export interface ThreadPlacement {
  readonly inThread?: boolean;
  readonly alsoInRoom?: boolean;
}

/** Adds a freshly composed message at the end of the outbox. */
export function enqueue(
  outbox: Outbox,
  draft: {
    clientId: string;
    roomId: string;
    body: string;
    composedAt: string;
    replyTo?: string;
    inThread?: boolean;
    alsoInRoom?: boolean;
    attachments?: readonly Attachment[];
  },
): Outbox {
  if (outbox.some((e) => e.clientId === draft.clientId)) return outbox;
  return [...outbox, { ...draft, status: "queued", commandId: null, error: null, attempts: 0 }];
}

/**
 * The entries to put on the wire now: per room, the oldest queued entry,
 * unless that room already has a send in flight.
 */
export function sendable(outbox: Outbox): OutboxEntry[] {
  const busyRooms = new Set(outbox.filter((e) => e.status === "sending").map((e) => e.roomId));
  const picked: OutboxEntry[] = [];
  for (const entry of outbox) {
    if (entry.status !== "queued" || busyRooms.has(entry.roomId)) continue;
    busyRooms.add(entry.roomId);
    picked.push(entry);
  }
  return picked;
}

/** The entry went on the wire as command `commandId`. */
export function markSending(outbox: Outbox, clientId: string, commandId: string): Outbox {
  return update(outbox, (e) => e.clientId === clientId, (e) => ({
    ...e,
    status: "sending",
    commandId,
    error: null,
    attempts: e.attempts + 1,
  }));
}

/** The server has the message (ack or its own `message.created`): drop the entry. */
export function settle(outbox: Outbox, clientId: string | null): Outbox {
  if (clientId === null || !outbox.some((e) => e.clientId === clientId)) return outbox;
  return outbox.filter((e) => e.clientId !== clientId);
}

/** The send command `commandId` was refused; the entry waits for the user to retry or discard. */
export function markFailed(outbox: Outbox, commandId: string, error: { code: string; message: string }): Outbox {
  return update(outbox, (e) => e.status === "sending" && e.commandId === commandId, (e) => ({
    ...e,
    status: "failed",
    commandId: null,
    error,
  }));
}

/**
 * The socket dropped: whatever was in flight may or may not have been
 * stored, so it goes back to the queue with its clientId unchanged and is
 * resent after the reconnect; the server deduplicates it.
 */
export function requeueInFlight(outbox: Outbox): Outbox {
  return update(outbox, (e) => e.status === "sending", (e) => ({ ...e, status: "queued", commandId: null }));
}

/** The user asked to try a failed entry again (same clientId). */
export function retry(outbox: Outbox, clientId: string): Outbox {
  return update(outbox, (e) => e.clientId === clientId && e.status === "failed", (e) => ({
    ...e,
    status: "queued",
    error: null,
  }));
}

/** The user gave up on a failed entry. Entries in flight cannot be discarded: they may already be stored. */
export function discard(outbox: Outbox, clientId: string): Outbox {
  return outbox.filter((e) => !(e.clientId === clientId && e.status === "failed"));
}

/** The entry whose send command is `commandId`, if any. */
export function byCommand(outbox: Outbox, commandId: string): OutboxEntry | undefined {
  return outbox.find((e) => e.commandId === commandId);
}

function update(outbox: Outbox, match: (e: OutboxEntry) => boolean, change: (e: OutboxEntry) => OutboxEntry): Outbox {
  let changed = false;
  const next = outbox.map((e) => {
    if (!match(e)) return e;
    changed = true;
    return change(e);
  });
  return changed ? next : outbox;
}
