/**
 * One polite live region for the whole app (WAI-ARIA APG, "live regions"):
 * what is new (a message from someone else in the open room) is said once
 * by a screen reader, and nothing else is. The message list itself is not
 * live: opening a room or loading older messages reads nothing aloud, and a
 * reaction, an edit or a "Read by" change is not announced.
 *
 * `announce(text)` may be called from anywhere; `<LiveAnnouncer />` is
 * rendered once (ChatShell) and stays mounted, because a screen reader only
 * watches a live region that existed before its content changed. Each
 * announcement is a new paragraph (an addition), so the same sentence twice
 * is said twice.
 */
import { useSyncExternalStore } from "react";

/** An announcement: `id` grows by one each time. */
export interface Announcement {
  id: number;
  text: string;
}

/** Announcements kept in the region: older ones are dropped (they have been said). */
const KEPT = 3;

let announcements: readonly Announcement[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

/** Says `text` through the live region (politely: after what the screen reader is saying). */
export function announce(text: string): void {
  const trimmed = text.trim();
  if (!trimmed) return;
  announcements = [...announcements, { id: nextId++, text: trimmed }].slice(-KEPT);
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function snapshot(): readonly Announcement[] {
  return announcements;
}

/** The visually hidden polite region; render it once, high in the tree. */
export function LiveAnnouncer() {
  const items = useSyncExternalStore(subscribe, snapshot);
  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="false" data-testid="live-announcer">
      {items.map((a) => (
        <p key={a.id} data-testid="announcement">{a.text}</p>
      ))}
    </div>
  );
}

/**
 * What to say for messages that arrived live: "Bob: hello" for one, the
 * last one and a count for several (a reconnect's catch-up), so a burst is
 * one sentence rather than a reading of the history. Text is cut at
 * `maxChars` characters.
 */
export function incomingSentence(messages: readonly { authorName: string; body: string }[], maxChars = 200): string {
  const last = messages[messages.length - 1];
  if (!last) return "";
  const body = Array.from(last.body);
  const text = body.length > maxChars ? `${body.slice(0, maxChars).join("")}…` : last.body;
  const one = `${last.authorName}: ${text}`;
  return messages.length === 1 ? one : `${messages.length} new messages. ${one}`;
}
