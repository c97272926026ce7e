import { z } from "zod";
import {
  ClientCommandSchema,
  clientCommandTypes,
  type ClientCommand,
  type AckFrame,
} from "@shared/protocol/frames.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { MAX_FRAME_BYTES } from "@shared/protocol/limits.js";
import { AppError, validationError } from "../errors.js";
import type { Services } from "../services.js";
import type { Connection, ResumedRoom } from "./connection.js";
import type { SearchAdmission } from "../search/routes.js";

/**
 * Parsing and dispatch of client commands: the socket's twin of the HTTP
 * routes. Each handler calls the same service function as its route, so
 * authorization and validation are the same on both transports.
 */

const Envelope = z.object({ type: z.string(), id: z.unknown().optional() });

/** A frame refused by `parseCommand`: the AppError to answer with, and the frame's id when it had a usable one. */
export class CommandRejected extends AppError {
  constructor(
    readonly commandId: string | null,
    cause: AppError,
  ) {
    super(cause.code, cause.message, { details: cause.details, retryAfter: cause.retryAfter });
    this.name = "CommandRejected";
  }
}

/**
 * Turns a text frame into a command. The frame is parsed once; its id, if a
 * string of at most 64 characters, is kept for the error frame.
 * @throws CommandRejected payload_too_large (over MAX_FRAME_BYTES), validation_failed
 *   (not JSON, not an object with a string type, unknown type, bad fields)
 */
export function parseCommand(text: string): ClientCommand {
  if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
    throw new CommandRejected(null, new AppError(ErrorCode.PayloadTooLarge, `Frames are limited to ${MAX_FRAME_BYTES} bytes.`));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CommandRejected(
      null,
      new AppError(ErrorCode.ValidationFailed, "The frame is not valid JSON.", {
        details: [{ path: "(frame)", message: "Not valid JSON." }],
      }),
    );
  }
  // The usual frame is a valid command: one schema pass. The finer answers below are for the rest.
  const parsed = ClientCommandSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const id = idOf(json);
  const envelope = Envelope.safeParse(json);
  if (!envelope.success) {
    throw new CommandRejected(
      id,
      new AppError(ErrorCode.ValidationFailed, "A command is a JSON object with a string `type`.", {
        details: [{ path: "type", message: "Required string." }],
      }),
    );
  }
  if (!(clientCommandTypes as readonly string[]).includes(envelope.data.type)) {
    throw new CommandRejected(
      id,
      new AppError(ErrorCode.ValidationFailed, `Unknown command type ${JSON.stringify(envelope.data.type.slice(0, 64))}.`, {
        details: [{ path: "type", message: `One of: ${clientCommandTypes.join(", ")}.` }],
      }),
    );
  }
  throw new CommandRejected(id, validationError(parsed.error));
}

/** Bytes of a frame's head that `peekCommandId` looks at. */
const ID_PEEK_BYTES = 256;
/** `"id":"…"` as a JSON member; a body's escaped `\"id\"` cannot match (its quotes are preceded by backslashes). */
const ID_MEMBER = /"id"\s*:\s*"([^"\\]{1,64})"/;

/**
 * The correlation id of a frame refused unparsed (rate-limited), looked for
 * in its first 256 bytes only: a client's command puts `type` and `id`
 * first, and the refusal must stay far cheaper than the frame was to send,
 * so the frame is never parsed. Null when not found there.
 */
export function peekCommandId(head: Buffer): string | null {
  const match = ID_MEMBER.exec(head.toString("utf8", 0, Math.min(head.length, ID_PEEK_BYTES)));
  return match?.[1] ?? null;
}

/** The correlation id of a parsed frame, if it had a usable one (a string of at most 64 characters). */
function idOf(json: unknown): string | null {
  if (typeof json === "object" && json !== null && "id" in json && typeof json.id === "string" && json.id.length <= 64) return json.id;
  return null;
}

/**
 * A command's answer: the ack frame, or (resume) a function that builds it
 * when it is queued on the socket, so that what it reports is read then.
 */
export type Ack = AckFrame | (() => AckFrame);

/**
 * Runs one command for a connection and returns its ack (null: none is
 * owed, a `typing` without an id). `search`: the node's SearchAdmission,
 * which a `search` command passes as GET /search does (query length, the
 * user's search budget); null only where no search budget is kept (unit tests).
 * @throws AppError from the service called; unauthenticated when the socket
 *   is closing (its credential ended, or it is being cut): nothing it sent
 *   may take effect any more; validation_failed, rate_limited from `search`.
 */
export async function runCommand(services: Services, conn: Connection, cmd: ClientCommand, search: SearchAdmission | null = null): Promise<Ack | null> {
  assertActive(conn);
  switch (cmd.type) {
    case "message.send": {
      // No text: a message of files only (the schema refused a send with neither).
      const message = await services.messages.send(
        conn.actor,
        cmd.roomId,
        cmd.body ?? "",
        cmd.clientId,
        cmd.replyTo ?? null,
        { inThread: cmd.inThread ?? false, alsoInRoom: cmd.alsoInRoom ?? false },
        cmd.attachments ?? [],
      );
      return { type: "ack", id: cmd.id, message };
    }
    case "resume": {
      const resumed: [string, ResumedRoom][] = [];
      const gone: string[] = [];
      for (const [roomId, claimed] of Object.entries(cmd.rooms)) {
        assertActive(conn);
        const head = await memberHead(services, conn, roomId);
        if (head === null) {
          gone.push(roomId);
          continue;
        }
        // A client cannot be ahead of the room: believing it would drop live events until the room caught up.
        const lastSeq = Math.min(claimed, head);
        // Joined after this socket subscribed its rooms: start the stream at the client's position.
        conn.subscribe(roomId, lastSeq);
        resumed.push([roomId, await conn.resume(roomId, lastSeq)]);
      }
      // Each room's position is read as the ack is queued, not when its own catch-up ended: rooms are
      // resumed one after another, and live events of an earlier room go out while a later one catches up.
      // So the ack reports the last seq now sent on this socket (protocol.md), never less.
      return () => {
        const rooms = Object.fromEntries(resumed.map(([roomId, room]) => [roomId, room.sent]));
        return gone.length > 0 ? { type: "ack", id: cmd.id, rooms, gone } : { type: "ack", id: cmd.id, rooms };
      };
    }
    case "message.edit": {
      const message = await services.edits.edit(conn.actor, cmd.roomId, cmd.messageId, cmd.body);
      return { type: "ack", id: cmd.id, message };
    }
    case "message.delete": {
      const message = await services.deletions.delete(conn.actor, cmd.roomId, cmd.messageId);
      return { type: "ack", id: cmd.id, message };
    }
    case "reaction.add": {
      const { reactions } = await services.reactions.add(conn.actor, cmd.roomId, cmd.messageId, cmd.emoji);
      return { type: "ack", id: cmd.id, reactions };
    }
    case "reaction.remove": {
      const { reactions } = await services.reactions.remove(conn.actor, cmd.roomId, cmd.messageId, cmd.emoji);
      return { type: "ack", id: cmd.id, reactions };
    }
    case "room.read": {
      const lastReadSeq = await services.rooms.markRead(conn.actor, cmd.roomId, cmd.seq);
      return { type: "ack", id: cmd.id, lastReadSeq };
    }
    case "room.delivered": {
      // Batched by clients, frequent: acked only when the client asked (gave an id).
      const lastDeliveredSeq = await services.receipts.markDelivered(conn.actor, cmd.roomId, cmd.seq);
      return cmd.id === undefined ? null : { type: "ack", id: cmd.id, lastDeliveredSeq };
    }
    case "ping":
      return { type: "ack", id: cmd.id };
    case "typing":
      // Ephemeral and frequent: acked only when the client asked (gave an id).
      await services.typing.signal(conn, cmd.roomId, cmd.state);
      return cmd.id === undefined ? null : { type: "ack", id: cmd.id };
    case "presence.set":
      services.presence.setActivity(conn.userId, conn.id, cmd.state);
      return { type: "ack", id: cmd.id };
    case "presence.get":
      return { type: "ack", id: cmd.id, presence: await services.presence.presenceOf(conn.userId, cmd.userIds) };
    case "notifications.set": {
      const { type: _type, id, ...change } = cmd;
      const { settings } = await services.notificationPreferences.updateSettings(conn.actor, change);
      return { type: "ack", id, notifications: settings };
    }
    case "room.notifications.set": {
      const { type: _type, id, roomId, ...change } = cmd;
      return { type: "ack", id, roomNotifications: await services.notificationPreferences.updateRoom(conn.actor, roomId, change) };
    }
    case "search": {
      search?.checkQuery(cmd.q, "q");
      await search?.count(conn.actor);
      const { q, roomId, sort, cursor, limit } = cmd;
      return { type: "ack", id: cmd.id, search: await services.search.search(conn.actor, { q, roomId, sort, cursor, limit }) };
    }
  }
}

/**
 * The room's head if the socket's user is a member now, else null.
 * Membership is checked per command (invariant 2), not trusted from the
 * subscription. A leave that reached this socket while the check ran may
 * postdate its answer: then it is asked again, so that the subscribe that
 * follows never revives a room just left.
 */
async function memberHead(services: Services, conn: Connection, roomId: string): Promise<number | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const leaves = conn.leaves;
    const head = await services.rooms.headForMember(conn.actor, roomId);
    if (head === null || conn.leaves === leaves) return head;
  }
  // Leaves keep racing the check: answer as gone; the client may resume the room again.
  return null;
}

function assertActive(conn: Connection): void {
  if (!conn.isOpen) throw new AppError(ErrorCode.Unauthenticated, "This socket is closing; its commands are no longer run.");
}
