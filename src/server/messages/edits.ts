import type { Kysely } from "kysely";
import type { Deps, Actor } from "../deps.js";
import type { Database } from "../store/schema.js";
import type { Message, MessageVersion } from "@shared/protocol/entities.js";
import { nowIso } from "../store/ids.js";
import { forbidden } from "../errors.js";
import { requireMember } from "../rooms/access.js";
import { appendRoomEvent } from "../events/log.js";
import type { RoomWriter } from "../events/writer.js";
import { memberAndLiveMessage, requireMessage } from "./queries.js";
import { clearMentions, mentionsColumn, resolveMentions, storeMentions } from "./mentions.js";
import { rows } from "../store/steps.js";
import { reindexMessage } from "../search/indexing.js";
import type { SearchVocabulary } from "../search/vocabulary.js";

/**
 * Editing messages, with history. An edit is a room event: it takes the
 * room's next seq in the transaction that changes the body and keeps the
 * text it replaced in `message_edits`, so live sockets and `resume` deliver
 * `message.edited` exactly once, in order (DESIGN.md invariant 4). The
 * HTTP route and the socket's `message.edit` both call `edit`.
 */
export class MessageEditService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
    private readonly vocabulary: SearchVocabulary,
  ) {}

  /**
   * Replaces the body of the caller's own message and publishes
   * `message.edited`. `body` is already checked and trimmed by the shared
   * MessageBodySchema, as for a send. The same text again changes nothing:
   * no seq is taken and no event goes out.
   * @returns the message as it now is (`editedAt` set)
   * @throws AppError not_found (no room or not visible; no such message in the room; deleted),
   *   forbidden (public room not joined; not the author)
   */
  async edit(actor: Actor, roomId: string, messageId: string, body: string): Promise<Message> {
    const dialect = this.deps.store.dialect;
    let words: string[] = [];
    // Steps (store/steps.ts): runs synchronously with the sends of its batch on SQLite.
    const edited = await this.writer.submitRoomSteps(roomId, function* (trx) {
      const { message: current } = yield* memberAndLiveMessage(trx, actor.userId, roomId, messageId);
      if (current.author.id !== actor.userId) throw forbidden("Only the author may edit a message.");
      if (current.body === body) return { result: current, publish: [] };
      // The new text's mentions replace the old ones (an edit may add or remove a mention).
      const mentions = yield* resolveMentions(trx, roomId, actor.userId, body);

      const at = nowIso();
      const { mentions: previousMentions, ...rest } = current;
      const edited: Message = { ...rest, body, editedAt: at, ...(mentions ? { mentions } : {}) };
      const appended = yield* appendRoomEvent(trx, roomId, at, (seq) => ({ type: "message.edited" as const, roomId, seq, message: edited }));
      yield* rows(trx
        .insertInto("message_edits")
        .values({
          room_id: roomId,
          seq: appended.seq,
          message_id: messageId,
          body: current.body,
          created_at: current.editedAt ?? current.createdAt,
          replaced_at: at,
        })
        .compile());
      yield* rows(trx.updateTable("messages").set({ body, edited_at: at, mentions: mentionsColumn(mentions) }).where("id", "=", messageId).compile());
      // Search: the old text leaves the index in this transaction.
      words = yield* reindexMessage(dialect, messageId, body, current.attachments);
      // Only when either version could mention someone: a plain edit of a plain message does no extra work.
      if (previousMentions || mentions) {
        yield* clearMentions(trx, roomId, current.seq);
        if (mentions) yield* storeMentions(trx, { id: messageId, roomId, seq: current.seq, authorId: actor.userId }, mentions);
      }
      return { result: edited, publish: [{ kind: "room", roomId, seq: appended.seq, frame: appended.frame }] };
    });
    if (words.length > 0) this.vocabulary.add(words);
    return edited;
  }

  /**
   * The earlier versions of a message, oldest first, for the room's
   * members. Empty for a message never edited, and for a deleted one (its
   * versions were deleted with it).
   * @throws AppError not_found (no room or not visible; no such message), forbidden (public room not joined)
   */
  async history(actor: Actor, roomId: string, messageId: string): Promise<MessageVersion[]> {
    const db = this.deps.store.db;
    await requireMember(db, actor.userId, roomId);
    await requireMessage(db, roomId, messageId);
    return versionsOf(db, roomId, messageId);
  }
}

/** The stored earlier versions of one message, ascending by the seq of the edit that replaced each. */
export async function versionsOf(db: Kysely<Database>, roomId: string, messageId: string): Promise<MessageVersion[]> {
  const rows = await db
    .selectFrom("message_edits")
    .select(["seq", "body", "created_at", "replaced_at"])
    .where("message_id", "=", messageId)
    .where("room_id", "=", roomId)
    .orderBy("seq", "asc")
    .execute();
  return rows.map((r) => ({ body: r.body, createdAt: r.created_at, replacedAt: r.replaced_at, seq: Number(r.seq) }));
}
