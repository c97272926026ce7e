import type { Notification } from "@shared/protocol/notifications.js";

/**
 * What the notification decider hands on, after a message's commit and off
 * the send path (issue 19): one entry per user the server decided to
 * notify (level, mute and do not disturb already applied). The dispatcher
 * (dispatcher.ts) sends the in-app `notification` frame itself; the sinks
 * below do the rest: Web Push (push/) for users with no socket open on any
 * node, email digests (email/) for direct messages and mentions.
 */
export interface DecidedNotification {
  userId: string;
  /** The wire notification, preview included (a sink without previews rewrites `body`). */
  notification: Notification;
  /** The author's display name, for a preview-less body ("New message from alice"). */
  authorName: string;
  roomKind: "public" | "private" | "direct";
  /** The user has a socket open on some node right now (presence): no Web Push then. */
  connected: boolean;
}

/**
 * A consumer of decided notifications. `accept` is called on the event loop
 * with a batch and must return at once: it queues, never awaits, never
 * throws (a failure is the sink's to log).
 */
export interface NotificationSink {
  accept(batch: readonly DecidedNotification[]): void;
}
