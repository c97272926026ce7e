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
import type { Connection } from "./connection.js";

/**
 * Parsing and dispatch of client commands: the socket's twin of the HTTP
 * routes. Each handler calls the same service function as its route, so
 * authorization and validation are the same on both transports.
 */

const Envelope = z.object({ type: z.string(), id: z.unknown().optional() });

/**
 * Turns a text frame into a command.
 * @throws AppError payload_too_large, validation_failed (not JSON, unknown type, bad fields);
 *   `commandId` is the frame's id when it could be read, for the error frame.
 */
export function parseCommand(text: string): ClientCommand {
  if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
    throw new AppError(ErrorCode.PayloadTooLarge, `Frames are limited to ${MAX_FRAME_BYTES} bytes.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError(ErrorCode.ValidationFailed, "The frame is not valid JSON.", {
      details: [{ path: "(frame)", message: "Not valid JSON." }],
    });
  }
  const envelope = Envelope.safeParse(json);
  if (!envelope.success) {
    throw new AppError(ErrorCode.ValidationFailed, "A command is a JSON object with a string `type`.", {
      details: [{ path: "type", message: "Required string." }],
    });
  }
  if (!(clientCommandTypes as readonly string[]).includes(envelope.data.type)) {
    throw new AppError(ErrorCode.ValidationFailed, `Unknown command type ${JSON.stringify(envelope.data.type.slice(0, 64))}.`, {
      details: [{ path: "type", message: `One of: ${clientCommandTypes.join(", ")}.` }],
    });
  }
  const parsed = ClientCommandSchema.safeParse(json);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

/** The correlation id of a frame that failed to parse, if it had a usable one. */
export function commandIdOf(text: string): string | null {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === "object" && v !== null && "id" in v && typeof v.id === "string" && v.id.length <= 64) return v.id;
  } catch {
    // Not JSON: no id to echo.
  }
  return null;
}

/** Runs one command for a connection and returns its ack. */
export async function runCommand(services: Services, conn: Connection, cmd: ClientCommand): Promise<AckFrame> {
  switch (cmd.type) {
    case "message.send": {
      const message = await services.messages.send(conn.actor, cmd.roomId, cmd.body, cmd.clientId);
      return { type: "ack", id: cmd.id, message };
    }
    case "resume": {
      const rooms: Record<string, number> = {};
      const gone: string[] = [];
      for (const [roomId, claimed] of Object.entries(cmd.rooms)) {
        // Membership is checked per command (invariant 2), not trusted from the subscription.
        const head = await services.rooms.headForMember(conn.actor, roomId);
        if (head === null) {
          gone.push(roomId);
          continue;
        }
        // A client cannot be ahead of the room: believing it would drop live events until the room caught up.
        const lastSeq = Math.min(claimed, head);
        // Joined after this socket subscribed its rooms: start the stream at the client's position.
        conn.subscribe(roomId, lastSeq);
        rooms[roomId] = await conn.resume(roomId, lastSeq);
      }
      return gone.length > 0 ? { type: "ack", id: cmd.id, rooms, gone } : { type: "ack", id: cmd.id, rooms };
    }
    case "room.read": {
      const lastReadSeq = await services.rooms.markRead(conn.actor, cmd.roomId, cmd.seq);
      return { type: "ack", id: cmd.id, lastReadSeq };
    }
    case "ping":
      return { type: "ack", id: cmd.id };
  }
}
