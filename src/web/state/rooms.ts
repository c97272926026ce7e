/**
 * Rooms as the sidebar shows them: previews, unread counts, order.
 *
 * The server's room object is the starting point; room events then keep it
 * current. A later HTTP copy of a room the client already tracks only
 * refreshes its settings (name, topic, members, role), never the fields the
 * events maintain, because that copy may be older or newer than the events
 * already applied and mixing the two would count a message twice.
 */
import type { Message, Room } from "@shared/protocol/index.js";
import { textOrFiles } from "@web/messages/attachmentText";

/** Newest activity first; ties broken by name so the order is stable. */
export function byRecentActivity(a: Room, b: Room): number {
  if (a.lastActivityAt !== b.lastActivityAt) return a.lastActivityAt < b.lastActivityAt ? 1 : -1;
  return a.name.localeCompare(b.name);
}

/** Later of two ISO timestamps. */
export function laterOf(a: string, b: string): string {
  return a >= b ? a : b;
}

/** Applies a new message to a room's preview and counters. */
export function withMessage(room: Room, message: Message, countAsUnread: boolean): Room {
  const newer = room.lastMessage === null || message.seq > room.lastMessage.seq;
  return {
    ...room,
    lastSeq: Math.max(room.lastSeq, message.seq),
    lastMessage: newer ? message : room.lastMessage,
    lastActivityAt: laterOf(room.lastActivityAt, message.createdAt),
    unreadCount: countAsUnread ? room.unreadCount + 1 : room.unreadCount,
  };
}

/** Merges a fresh HTTP copy of a room into the one the events have been keeping. */
export function withSettingsFrom(held: Room, fresh: Room): Room {
  const freshRead = fresh.lastReadSeq > held.lastReadSeq;
  const freshPreview = fresh.lastMessage !== null && (held.lastMessage === null || fresh.lastMessage.seq > held.lastMessage.seq);
  return {
    ...held,
    kind: fresh.kind,
    name: fresh.name,
    topic: fresh.topic,
    memberCount: fresh.memberCount,
    role: fresh.role,
    peer: fresh.peer,
    createdAt: fresh.createdAt,
    // The member's own level and mute (issue 19) are settings: the fresh copy's, when it has them.
    notifications: fresh.notifications ?? held.notifications,
    lastActivityAt: laterOf(held.lastActivityAt, fresh.lastActivityAt),
    lastMessage: freshPreview ? fresh.lastMessage : held.lastMessage,
    // Read elsewhere since: the server's count is the better one.
    lastReadSeq: freshRead ? fresh.lastReadSeq : held.lastReadSeq,
    unreadCount: freshRead ? fresh.unreadCount : held.unreadCount,
    mentionCount: freshRead ? fresh.mentionCount : held.mentionCount,
  };
}

/**
 * Whether a message counts in `userId`'s mention count, as the server counts
 * it: named by `@username`, or an owner's or admin's `@room`; never one's
 * own message. (`@here` highlights the message but is not counted: who was
 * online is not stored.)
 */
export function countsAsMention(message: Message, userId: string | null | undefined): boolean {
  if (!userId || !message.mentions || message.author.id === userId || message.deletedAt) return false;
  return message.mentions.room || message.mentions.userIds.includes(userId);
}

/** Adds `delta` (±1) to a room's mention count, never below 0. */
export function withMentionDelta(room: Room, delta: number): Room {
  if (delta === 0) return room;
  return { ...room, mentionCount: Math.max(0, (room.mentionCount ?? 0) + delta) };
}

/** Display label of a room: "#name" style rooms vs. a person for direct rooms. */
export function roomTitle(room: Room): string {
  if (room.kind === "direct") return room.peer?.displayName || room.name;
  return room.name;
}

/** Plain-text preview line for the sidebar ("alice: hello"). */
export function previewOf(room: Room, myUserId: string | null): string {
  const message = room.lastMessage;
  if (!message) return room.kind === "direct" ? "No messages yet" : room.topic || "No messages yet";
  // A message of files only (issue 17) is said by its files: "Photo", "2 files".
  const firstLine = message.deletedAt ? "message deleted" : textOrFiles(message).replace(/\s+/g, " ").trim();
  if (message.author.id === myUserId) return `You: ${firstLine}`;
  if (room.kind === "direct") return firstLine;
  return `${message.author.displayName || message.author.username}: ${firstLine}`;
}
