import { z } from "zod";
import { ClientIdSchema, MessageBodySchema } from "./http.js";
import { MemberSchema, MessageSchema, SelfSchema } from "./entities.js";
import { ErrorDetailSchema } from "./errors.js";
import { idText } from "./text.js";

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
  body: MessageBodySchema,
  /** Idempotency key: a retried send with the same clientId is stored once. */
  clientId: ClientIdSchema,
});

export const ResumeCommandSchema = z.object({
  type: z.literal("resume"),
  id: CommandId,
  /** The last seq the client has, per room. At most 1,000 rooms per command. */
  rooms: z
    .record(RoomId, z.number().int().nonnegative())
    .refine((r) => Object.keys(r).length <= 1000, "At most 1,000 rooms per resume."),
});

export const RoomReadCommandSchema = z.object({
  type: z.literal("room.read"),
  id: CommandId,
  roomId: RoomId,
  /** Everything up to and including this seq has been read. */
  seq: z.number().int().nonnegative(),
});

export const PingCommandSchema = z.object({
  type: z.literal("ping"),
  id: CommandId,
});

export const ClientCommandSchema = z.discriminatedUnion("type", [
  MessageSendCommandSchema,
  ResumeCommandSchema,
  RoomReadCommandSchema,
  PingCommandSchema,
]);
export type ClientCommand = z.infer<typeof ClientCommandSchema>;
export type ClientCommandType = ClientCommand["type"];
export const clientCommandTypes: readonly ClientCommandType[] = ClientCommandSchema.options.map(
  (o) => o.shape.type.value,
);

// ---- server → client ----

export const ReadyFrameSchema = z.object({
  type: z.literal("ready"),
  user: SelfSchema,
});

export const AckFrameSchema = z.object({
  type: z.literal("ack"),
  id: z.string(),
  /** message.send: the stored message (the same one on a retried clientId). */
  message: MessageSchema.optional(),
  /** resume: the last seq now delivered, per room resumed. */
  rooms: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** resume: rooms asked for that the caller is no longer in (or that do not exist). */
  gone: z.array(z.string()).optional(),
  /** room.read: the read position now stored. */
  lastReadSeq: z.number().int().nonnegative().optional(),
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
  MemberJoinedEventSchema,
  MemberLeftEventSchema,
]);
export type RoomEvent = z.infer<typeof RoomEventSchema>;

/** Ephemeral, no seq: the caller's read position moved (sent to the user's own sockets). */
export const RoomReadEventSchema = z.object({
  type: z.literal("room.read"),
  roomId: z.string(),
  lastReadSeq: z.number().int().nonnegative(),
});

export type RoomReadEvent = z.infer<typeof RoomReadEventSchema>;

export const ServerFrameSchema = z.discriminatedUnion("type", [
  ReadyFrameSchema,
  AckFrameSchema,
  ErrorFrameSchema,
  MessageCreatedEventSchema,
  MemberJoinedEventSchema,
  MemberLeftEventSchema,
  RoomReadEventSchema,
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;
export type ReadyFrame = z.infer<typeof ReadyFrameSchema>;
export type AckFrame = z.infer<typeof AckFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;
