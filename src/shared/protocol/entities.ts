import { z } from "zod";
import { ReactionSchema } from "./reactions.js";
import { AttachmentSchema } from "./attachments.js";
import { RoomNotificationsSchema } from "./notifications.js";

/**
 * The entities every answer and event is built from (contract v1 shapes,
 * extended). Ids are opaque strings; times are ISO 8601 in UTC.
 */

/** A time: ISO 8601 in UTC with milliseconds (`2026-11-22T02:45:40.840Z`); `format` documents it in OpenAPI. */
export const TimeSchema = z.string().meta({ format: "date-time" });

/** A public view of an account: never carries email or password data. */
export const UserSchema = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  createdAt: TimeSchema,
}).meta({ id: "User" });
export type User = z.infer<typeof UserSchema>;

/** The signed-in user's own view: the public fields plus their email. */
export const SelfSchema = UserSchema.extend({
  email: z.string(),
}).meta({ id: "Self" });
export type Self = z.infer<typeof SelfSchema>;

/** The author as embedded in a message (contract v1). */
export const AuthorSchema = UserSchema.pick({ id: true, username: true, displayName: true }).meta({ id: "Author" });
export type Author = z.infer<typeof AuthorSchema>;

export const RoomKindSchema = z.enum(["public", "private", "direct"]).meta({ id: "RoomKind" });
export type RoomKind = z.infer<typeof RoomKindSchema>;

export const MemberRoleSchema = z.enum(["owner", "admin", "member"]).meta({ id: "MemberRole" });
export type MemberRole = z.infer<typeof MemberRoleSchema>;

/** Longest reply preview, in characters: a longer root text is cut there and ends in "…". */
export const REPLY_PREVIEW_CHARS = 100;

/** How many of a thread's repliers its root names (`repliers`), most recent first. */
export const THREAD_REPLIERS = 3;

/**
 * Whether a message belongs in the room's timeline: every message but a
 * thread reply that was not also sent to the room (those show in their
 * thread only). A v1 client that ignores the flags shows them all.
 */
export function inTimeline(message: { inThread?: boolean | undefined; alsoInRoom?: boolean | undefined }): boolean {
  return message.inThread !== true || message.alsoInRoom === true;
}

/**
 * What a reply shows of the message it answers (ext): its author and the
 * start of its text. Once that message is deleted, `deleted` is true and
 * `preview` is "" (the text is gone everywhere, stored events included).
 */
export const ReplyToSchema = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  author: AuthorSchema,
  /** The first REPLY_PREVIEW_CHARS characters of its text, "…" appended when cut. */
  preview: z.string(),
  deleted: z.boolean(),
}).meta({ id: "ReplyTo" });
export type ReplyTo = z.infer<typeof ReplyToSchema>;

/**
 * Whom a message mentions (ext): `userIds` are the room members named as
 * `@username` (case-insensitive; at most 50 names are looked up per
 * message); `room` / `here` are `@room` (everyone in the room) and `@here`
 * (everyone online in it), which count only when the author is an owner or
 * admin of the room (from anyone else they are plain text).
 */
export const MentionsSchema = z.object({
  userIds: z.array(z.string()),
  room: z.boolean(),
  here: z.boolean(),
}).meta({ id: "Mentions" });
export type Mentions = z.infer<typeof MentionsSchema>;

/** A message as stored: `seq` is its room's seq of the event that created it. */
export const MessageSchema = z.object({
  id: z.string(),
  roomId: z.string(),
  seq: z.number().int().positive(),
  author: AuthorSchema,
  body: z.string(),
  /** The sender's idempotency key, or null when it sent none. */
  clientId: z.string().nullable(),
  createdAt: TimeSchema,
  /**
   * When the body was last edited, or null if never (ext). Absent from
   * events stored before edits existed: read absent as null.
   */
  editedAt: TimeSchema.nullable().optional(),
  /**
   * When the message was deleted, or null (ext): a deleted message is a
   * tombstone whose `body` is "". Absent as for `editedAt`: read it as null.
   */
  deletedAt: TimeSchema.nullable().optional(),
  /**
   * The message this one replies to (ext): always a thread's root, since
   * threads are one level. Null or absent (events stored before replies
   * existed) for a message that is no reply.
   */
  replyTo: ReplyToSchema.nullable().optional(),
  /** On a thread's root (ext): how many replies it has had, deleted ones included. Absent: 0. */
  replyCount: z.number().int().nonnegative().optional(),
  /** On a thread's root (ext): when its latest reply was posted, or null. Absent: null. */
  lastReplyAt: TimeSchema.nullable().optional(),
  /**
   * On a thread's root (ext): who replied, most recent first, each person
   * once, at most THREAD_REPLIERS of them (the summary's avatars). History
   * pages and threads carry it on every message with `replyCount` > 0
   * (absent on the others: none); events and answers to a send, an edit or
   * a deletion leave it out (absent is not "none" there: keep what you
   * hold): a reply's `message.created` moves its author to the front of
   * its root's list.
   */
  repliers: z.array(AuthorSchema).optional(),
  /**
   * A thread reply (ext, Matrix's `m.thread`, Slack's thread reply): made
   * in the thread of `replyTo`, and shown there only, not in the room's
   * timeline (unless `alsoInRoom`). Absent or false: a message of the
   * timeline (a quote-reply, when it has `replyTo`; every reply stored
   * before thread replies existed is one).
   */
  inThread: z.boolean().optional(),
  /** A thread reply also sent to the room (ext, Slack's "also send to channel"): shown in the timeline too. Absent: false. */
  alsoInRoom: z.boolean().optional(),
  /** Whom the message mentions (ext). Absent when it mentions nobody (and in events stored before mentions existed). */
  mentions: MentionsSchema.optional(),
  /**
   * Reactions (ext), per emoji in the order first used: `{emoji, count,
   * userIds}`. History pages always carry it (`[]` for none); events and
   * answers to a send, an edit or a deletion leave it out: `reaction.added`
   * and `reaction.removed` keep it current (a deleted message has none).
   */
  reactions: z.array(ReactionSchema).optional(),
  /**
   * Files the message carries (ext, issue 17), in the order the sender named
   * them. Absent: none (a message without files, a deleted one, and events
   * stored before attachments existed). Sent with the message and fixed
   * from then on: an edit changes the text only; a deletion deletes the files.
   */
  attachments: z.array(AttachmentSchema).optional(),
}).meta({ id: "Message" });
export type Message = z.infer<typeof MessageSchema>;

/**
 * An earlier version of an edited message (ext): the text it had from
 * `createdAt` until the edit of seq `seq` replaced it at `replacedAt`.
 */
export const MessageVersionSchema = z.object({
  body: z.string(),
  createdAt: TimeSchema,
  replacedAt: TimeSchema,
  /** The room seq of the `message.edited` event that replaced this text. */
  seq: z.number().int().positive(),
}).meta({ id: "MessageVersion" });
export type MessageVersion = z.infer<typeof MessageVersionSchema>;

/**
 * A room as the caller sees it. `lastSeq` is the seq of the room's latest
 * event (contract v1). The rest is relative to the caller and present when
 * the caller is a member: their role, their read position, unread messages.
 */
export const RoomSchema = z.object({
  id: z.string(),
  kind: RoomKindSchema,
  /** For a direct room: the other person's display name. */
  name: z.string(),
  topic: z.string(),
  createdAt: TimeSchema,
  lastSeq: z.number().int().nonnegative(),
  /** Time of the latest event; rooms lists sort on it, newest first. */
  lastActivityAt: TimeSchema,
  memberCount: z.number().int().nonnegative(),
  /** The caller's role, or null when the caller is not a member. */
  role: MemberRoleSchema.nullable(),
  /** For a direct room: the other person. */
  peer: UserSchema.nullable(),
  /** Newest message, for the sidebar preview; null when none or not a member. */
  lastMessage: MessageSchema.nullable(),
  /** The seq up to which the caller has read. */
  lastReadSeq: z.number().int().nonnegative(),
  /** Messages by others after lastReadSeq. */
  unreadCount: z.number().int().nonnegative(),
  /**
   * Messages after lastReadSeq that mention the caller by name, or through
   * an owner's or admin's `@room` (ext); capped like unreadCount. Absent: 0.
   */
  mentionCount: z.number().int().nonnegative().optional(),
  /** The caller's notification level and mute for this room (ext, issue 19); absent when not a member. */
  notifications: RoomNotificationsSchema.optional(),
}).meta({ id: "Room" });
export type Room = z.infer<typeof RoomSchema>;

/** A member of a room, with their role. */
export const MemberSchema = z.object({
  user: UserSchema,
  role: MemberRoleSchema,
  joinedAt: TimeSchema,
}).meta({ id: "Member" });
export type Member = z.infer<typeof MemberSchema>;
