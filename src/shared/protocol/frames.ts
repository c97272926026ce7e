import { z } from "zod";
import { MAX_SEQ } from "./limits.js";
import { ClientIdSchema, MessageBodySchema, OptionalMessageBodySchema, requireTextOrFiles, textOrFilesWhen } from "./http.js";
import { AttachmentIdsSchema } from "./attachments.js";
import { MemberSchema, MessageSchema, SelfSchema } from "./entities.js";
import { ErrorDetailSchema } from "./errors.js";
import { idText } from "./text.js";
import { SearchRequestSchema, SearchResponseSchema } from "./search.js";
import {
  NotificationEventSchema,
  NotificationSettingsSchema,
  NotificationsSetCommandSchema,
  NotificationsUpdatedEventSchema,
  RoomNotificationsResponseSchema,
  RoomNotificationsSetCommandSchema,
  RoomNotificationsUpdatedEventSchema,
} from "./notifications.js";
import { ReactionAddCommandSchema, ReactionAddedEventSchema, ReactionRemoveCommandSchema, ReactionRemovedEventSchema, ReactionSchema } from "./reactions.js";

/**
 * WebSocket frames at /ws (contract v1): JSON text frames of at most 64 KiB.
 * Commands go client → server and carry the client's correlation `id`; the
 * server answers each with `ack` or `error` carrying that id. Events go
 * server → client; room events carry `roomId` and their `seq`.
 */

/** The client's correlation id, echoed in the ack or error. */
const CommandId = idText({ label: "Command id", max: 64 });
const RoomId = idText({ label: "Room id", max: 64 });

export const MessageSendCommandSchema = z.object({
  type: z.literal("message.send"),
  id: CommandId,
  roomId: RoomId,
  /** 1 to 4,000 characters; may be "" or left out when `attachments` names a file (ext). */
  body: OptionalMessageBodySchema.optional(),
  /** Idempotency key: a retried send with the same clientId is stored once. */
  clientId: ClientIdSchema,
  /** Reply to this message of the room (ext); a reply to a reply joins the root's thread. */
  replyTo: idText({ label: "replyTo", max: 64 }).optional(),
  /** With replyTo (ext): a thread reply, shown in the thread only (the message's `inThread`). Default false: a quote-reply. */
  inThread: z.boolean().optional(),
  /** With inThread (ext): also put the reply in the room's timeline (Slack's "also send to channel"). Default false. */
  alsoInRoom: z.boolean().optional(),
  /** Files (ext): ids of the sender's pending uploads (POST /uploads), at most the server's attachments per message (default 10). */
  attachments: AttachmentIdsSchema.optional(),
}).superRefine(requireTextOrFiles, textOrFilesWhen);

export const ResumeCommandSchema = z.object({
  type: z.literal("resume"),
  id: CommandId,
  /** The last seq the client has, per room. At most 1,000 rooms per command. */
  rooms: z
    .record(RoomId, z.number().int().nonnegative().max(MAX_SEQ))
    .refine((r) => Object.keys(r).length <= 1000, "At most 1,000 rooms per resume."),
});

export const RoomReadCommandSchema = z.object({
  type: z.literal("room.read"),
  id: CommandId,
  roomId: RoomId,
  /** Everything up to and including this seq has been read. */
  seq: z.number().int().nonnegative().max(MAX_SEQ),
});

/**
 * Receipts (ext): everything up to and including `seq` reached this client.
 * Sent batched (one per room after a burst of events, not one per event);
 * `id` optional like `typing`: without it there is no ack.
 */
export const RoomDeliveredCommandSchema = z.object({
  type: z.literal("room.delivered"),
  id: CommandId.optional(),
  roomId: RoomId,
  seq: z.number().int().nonnegative().max(MAX_SEQ),
});

/** Edits one's own message (ext): the same text rules as a send. */
export const MessageEditCommandSchema = z.object({
  type: z.literal("message.edit"),
  id: CommandId,
  roomId: RoomId,
  messageId: idText({ label: "Message id", max: 64 }),
  body: MessageBodySchema,
});

/** Deletes a message for everyone (ext): its author, or the room's owner or an admin. */
export const MessageDeleteCommandSchema = z.object({
  type: z.literal("message.delete"),
  id: CommandId,
  roomId: RoomId,
  messageId: idText({ label: "Message id", max: 64 }),
});

export const PingCommandSchema = z.object({
  type: z.literal("ping"),
  id: CommandId,
});

/**
 * Ephemeral: the sender is (start) or is no longer (stop) typing in a room.
 * `id` is optional: without it the command is not acked (only errors come
 * back, with id null), since a client sends one every few seconds while typing.
 */
export const TypingCommandSchema = z.object({
  type: z.literal("typing"),
  id: CommandId.optional(),
  roomId: RoomId,
  state: z.enum(["start", "stop"]),
});

/** Ephemeral: this socket's user is active (input, a visible tab) or idle. */
export const PresenceSetCommandSchema = z.object({
  type: z.literal("presence.set"),
  id: CommandId,
  state: z.enum(["active", "idle"]),
});

/**
 * The presence of up to 1,000 users at once; the ack's `presence` has those
 * who share a room with the caller (others are left out: presence is only
 * visible to them).
 */
export const PresenceGetCommandSchema = z.object({
  type: z.literal("presence.get"),
  id: CommandId,
  userIds: z.array(idText({ label: "User id", max: 64 })).min(1).max(1000),
});

/**
 * Message search (ext, issue 18): GET /search's query as a command, the
 * same fields (`q` 1 to 500 characters; `roomId`, `sort`, `cursor`, `limit`
 * optional). The ack's `search` is GET /search's answer. Counts against the
 * user's search budget (--searches-per-minute) as well as the socket's
 * command rate.
 */
export const SearchCommandSchema = z.object({
  type: z.literal("search"),
  id: CommandId,
  ...SearchRequestSchema.shape,
});

export const ClientCommandSchema = z.discriminatedUnion("type", [
  MessageSendCommandSchema,
  ResumeCommandSchema,
  RoomReadCommandSchema,
  RoomDeliveredCommandSchema,
  MessageEditCommandSchema,
  MessageDeleteCommandSchema,
  ReactionAddCommandSchema,
  ReactionRemoveCommandSchema,
  PingCommandSchema,
  TypingCommandSchema,
  PresenceSetCommandSchema,
  PresenceGetCommandSchema,
  SearchCommandSchema,
  NotificationsSetCommandSchema,
  RoomNotificationsSetCommandSchema,
]);
export type ClientCommand = z.infer<typeof ClientCommandSchema>;
export type ClientCommandType = ClientCommand["type"];
export const clientCommandTypes: readonly ClientCommandType[] = ClientCommandSchema.options.map(
  (o) => o.shape.type.value,
);

// ---- server → client ----

/** A user's presence: online (a socket active), away (every socket idle), offline (none) since lastSeenAt. */
export const PresenceSchema = z.object({
  status: z.enum(["online", "away", "offline"]),
  /** When the user's last socket closed (ISO 8601); null while online or away, or when this node does not know. */
  lastSeenAt: z.string().nullable(),
});
export type Presence = z.infer<typeof PresenceSchema>;
export type PresenceStatus = Presence["status"];

export const ReadyFrameSchema = z.object({
  type: z.literal("ready"),
  user: SelfSchema,
  /** The presence of everyone who shares a room with the user and is not plainly offline (absent: offline). */
  presence: z.record(z.string(), PresenceSchema).optional(),
});

export const AckFrameSchema = z.object({
  type: z.literal("ack"),
  id: z.string(),
  /** message.send: the stored message (the same one on a retried clientId); message.edit, message.delete: the message as it now is. */
  message: MessageSchema.optional(),
  /** resume: the last seq now delivered, per room resumed. */
  rooms: z.record(z.string(), z.number().int().nonnegative().max(MAX_SEQ)).optional(),
  /** resume: rooms asked for that the caller is no longer in (or that do not exist). */
  gone: z.array(z.string()).optional(),
  /** room.read: the read position now stored. */
  lastReadSeq: z.number().int().nonnegative().max(MAX_SEQ).optional(),
  /** room.delivered: the delivered position now stored. */
  lastDeliveredSeq: z.number().int().nonnegative().max(MAX_SEQ).optional(),
  /** presence.get: the asked users who share a room with the caller, by id. */
  presence: z.record(z.string(), PresenceSchema).optional(),
  /** reaction.add, reaction.remove: the message's reactions as they now are. */
  reactions: z.array(ReactionSchema).optional(),
  /** search (ext): the page of results, as GET /search answers. */
  search: SearchResponseSchema.optional(),
  /** notifications.set (ext): the account's notification settings as they now are. */
  notifications: NotificationSettingsSchema.optional(),
  /** room.notifications.set (ext): the room's notification settings as they now are. */
  roomNotifications: RoomNotificationsResponseSchema.optional(),
});

export const ErrorFrameSchema = z.object({
  type: z.literal("error"),
  /** The command's id, or null when the frame had none (e.g. malformed JSON). */
  id: z.string().nullable(),
  code: z.string(),
  message: z.string(),
  details: z.array(ErrorDetailSchema).optional(),
  /** rate_limited: seconds to wait before sending again. */
  retryAfter: z.number().nonnegative().optional(),
});

/** Room events: each has the room's seq (DESIGN.md invariant 4). */
export const MessageCreatedEventSchema = z.object({
  type: z.literal("message.created"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  message: MessageSchema,
});

/** A message's body was edited (ext): `message` is the message as it now is (its own `seq` is its creation's). */
export const MessageEditedEventSchema = z.object({
  type: z.literal("message.edited"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  message: MessageSchema,
});

/**
 * A message was deleted for everyone (ext): `message` is its tombstone
 * (`body` "", `deletedAt` set), `deletedBy` the user who deleted it.
 */
export const MessageDeletedEventSchema = z.object({
  type: z.literal("message.deleted"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  messageId: z.string(),
  deletedBy: z.string(),
  message: MessageSchema,
});

export const MemberJoinedEventSchema = z.object({
  type: z.literal("member.joined"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  member: MemberSchema,
});

export const MemberLeftEventSchema = z.object({
  type: z.literal("member.left"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  userId: z.string(),
});

export const RoomEventSchema = z.discriminatedUnion("type", [
  MessageCreatedEventSchema,
  MessageEditedEventSchema,
  MessageDeletedEventSchema,
  ReactionAddedEventSchema,
  ReactionRemovedEventSchema,
  MemberJoinedEventSchema,
  MemberLeftEventSchema,
]);
export type RoomEvent = z.infer<typeof RoomEventSchema>;

/** Ephemeral, no seq: the caller's read position moved (sent to the user's own sockets). */
export const RoomReadEventSchema = z.object({
  type: z.literal("room.read"),
  roomId: z.string(),
  lastReadSeq: z.number().int().nonnegative().max(MAX_SEQ),
});

export type RoomReadEvent = z.infer<typeof RoomReadEventSchema>;

/**
 * Ephemeral, no seq (receipts): read and delivered positions that moved in a
 * room since the last such frame, by user id; at most one per room per
 * `receiptsIntervalMs`, to every member's sockets (the movers' own included).
 * A read implies delivery: show max(delivered, read).
 */
export const ReceiptsUpdatedEventSchema = z.object({
  type: z.literal("receipts.updated"),
  roomId: z.string(),
  reads: z.record(z.string(), z.number().int().nonnegative().max(MAX_SEQ)),
  delivered: z.record(z.string(), z.number().int().nonnegative().max(MAX_SEQ)),
});
export type ReceiptsUpdatedEvent = z.infer<typeof ReceiptsUpdatedEventSchema>;

/** Ephemeral, no seq: a member started or stopped typing (to the room's other members; a stop also on expiry or disconnect). */
export const TypingUpdatedEventSchema = z.object({
  type: z.literal("typing.updated"),
  roomId: z.string(),
  userId: z.string(),
  state: z.enum(["start", "stop"]),
});
export type TypingUpdatedEvent = z.infer<typeof TypingUpdatedEventSchema>;

/** Ephemeral, no seq: a user's presence changed (to the users who share a room with them). */
export const PresenceUpdatedEventSchema = PresenceSchema.extend({
  type: z.literal("presence.updated"),
  userId: z.string(),
});
export type PresenceUpdatedEvent = z.infer<typeof PresenceUpdatedEventSchema>;

export const ServerFrameSchema = z.discriminatedUnion("type", [
  ReadyFrameSchema,
  AckFrameSchema,
  ErrorFrameSchema,
  MessageCreatedEventSchema,
  MessageEditedEventSchema,
  MessageDeletedEventSchema,
  ReactionAddedEventSchema,
  ReactionRemovedEventSchema,
  MemberJoinedEventSchema,
  MemberLeftEventSchema,
  RoomReadEventSchema,
  ReceiptsUpdatedEventSchema,
  TypingUpdatedEventSchema,
  PresenceUpdatedEventSchema,
  NotificationsUpdatedEventSchema,
  RoomNotificationsUpdatedEventSchema,
  NotificationEventSchema,
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;
export type ReadyFrame = z.infer<typeof ReadyFrameSchema>;
export type AckFrame = z.infer<typeof AckFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;
