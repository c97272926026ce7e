import type { Deps, Actor } from "../deps.js";
import type { Message } from "@shared/protocol/entities.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import { DEFAULT_PAGE_SIZE } from "@shared/protocol/limits.js";
import { newId, nowIso } from "../store/ids.js";
import { requireMember, requireSender } from "../rooms/access.js";
import { appendRoomEvent } from "../events/log.js";
import type { RoomWriter } from "../events/writer.js";
import { findByClientId, historyPage, storeMessage } from "./queries.js";

/**
 * Sending and reading messages. A send is stored, with its room's next seq,
 * in a group commit; it is acknowledged only after that commit, and a retry
 * with the same clientId returns the first copy (DESIGN.md invariants 3, 4).
 */
export class MessageService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
  ) {}

  /**
   * Stores a message and publishes `message.created` to the room. `body` is
   * already trimmed and within limits (the shared schema did that).
   * @returns the stored message; for a repeated clientId, the one stored first
   * @throws AppError not_found (no room, or private and not a member), forbidden (not a member)
   */
  send(actor: Actor, roomId: string, body: string, clientId: string | null): Promise<Message> {
    return this.writer.submit(async (trx) => {
      const { author } = await requireSender(trx, actor.userId, roomId);
      await this.deps.store.dialect.lockRoom(trx, roomId);
      if (clientId !== null) {
        const earlier = await findByClientId(trx, roomId, actor.userId, clientId);
        if (earlier) return { result: earlier, publish: [] };
      }
      const at = nowIso();
      const id = newId();
      const created = await appendRoomEvent(trx, roomId, at, (seq) => ({
        type: "message.created" as const,
        roomId,
        seq,
        message: {
          id,
          roomId,
          seq,
          author,
          body,
          clientId,
          createdAt: at,
          editedAt: null,
          deletedAt: null,
        },
      }), id);
      await storeMessage(trx, { id, room_id: roomId, seq: created.seq, author_id: actor.userId, body, client_id: clientId, created_at: at });
      return {
        result: created.event.message,
        publish: [{ kind: "room", roomId, seq: created.seq, frame: created.frame }],
      };
    });
  }

  /**
   * A page of history for a member.
   * @throws AppError not_found, forbidden
   */
  async history(
    actor: Actor,
    roomId: string,
    page: { before?: number | undefined; after?: number | undefined; limit?: number | undefined },
  ): Promise<HistoryResponse> {
    await requireMember(this.deps.store.db, actor.userId, roomId);
    // Up to the durable head: a message whose batch waits for its fsync is not shown yet (RoomWriter.readableSeq).
    return historyPage(this.deps.store.db, roomId, { ...page, limit: page.limit ?? DEFAULT_PAGE_SIZE, upTo: this.writer.readableSeq(roomId) });
  }
}
