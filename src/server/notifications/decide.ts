import type { Mentions } from "@shared/protocol/entities.js";
import {
  DEFAULT_DIRECT_LEVEL,
  DEFAULT_ROOM_LEVEL,
  effectiveLevel,
  isUntilAhead,
  notifyReason,
  type NotificationReason,
  type NotifyLevel,
} from "@shared/protocol/notifications.js";

/**
 * The notification decider (issue 19): pure, no I/O. Given one message and
 * one member of its room, with what the dispatcher read in its one query
 * per batch (the member's stored level and mute, their account settings)
 * and what presence says (connected), it answers why the member is
 * notified, or null. The rules themselves (levels, `default`, mute and do
 * not disturb ends) are the shared ones of protocol/notifications.ts.
 */

/** What the decider needs of a message. */
export interface MessageFacts {
  authorId: string;
  roomKind: "public" | "private" | "direct";
  /** The message's resolved mentions (messages/mentions.ts: `@room`/`@here` only from owners and admins); undefined: none. */
  mentions: Mentions | undefined;
  /** A thread reply kept in its thread (not shown in the room's timeline): level `all` alone does not notify of it. */
  threadOnly: boolean;
}

/** What the decider needs of a member, as stored (nulls = never changed). */
export interface MemberFacts {
  userId: string;
  /** room_members.notify_level; null = `default`. */
  notifyLevel: NotifyLevel | null;
  /** room_members.muted_until (ISO, or MUTED_FOREVER); null = not muted. */
  mutedUntil: string | null;
  /** notification_settings.room_level; null = no row (DEFAULT_ROOM_LEVEL). */
  roomLevel: NotifyLevel | null;
  /** notification_settings.direct_level; null = no row (DEFAULT_DIRECT_LEVEL). */
  directLevel: NotifyLevel | null;
  /** notification_settings.dnd_until; null = off. */
  dndUntil: string | null;
  /** A socket of the user is open on some node (presence): `@here` counts only then. */
  connected: boolean;
}

/**
 * Why `member` is notified of `message` at `nowMs` (epoch ms), or null:
 * never the author; nothing while the room is muted or do not disturb is
 * on (an end time past reads as off); otherwise the member's level for the
 * room (`default` → the account's default for the room's kind) against
 * how the message addresses them: a mention of them, `@room`, `@here`
 * while they are connected, any message of a direct room.
 */
export function decide(message: MessageFacts, member: MemberFacts, nowMs: number): NotificationReason | null {
  if (member.userId === message.authorId) return null;
  if (isUntilAhead(member.mutedUntil, nowMs) || isUntilAhead(member.dndUntil, nowMs)) return null;
  const level = effectiveLevel(member.notifyLevel ?? "default", message.roomKind, {
    roomLevel: member.roomLevel ?? DEFAULT_ROOM_LEVEL,
    directLevel: member.directLevel ?? DEFAULT_DIRECT_LEVEL,
  });
  const m = message.mentions;
  const mention = m !== undefined && m.userIds.includes(member.userId);
  const broadcast = m !== undefined && (m.room || (m.here && member.connected));
  const reason = notifyReason(level, message.roomKind, { mention, broadcast });
  // A reply kept in its thread is not in the timeline (nor in unread counts): only what addresses the member notifies.
  return reason === "message" && message.threadOnly ? null : reason;
}
