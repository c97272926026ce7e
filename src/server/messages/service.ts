import type { Deps, Actor } from "../deps.js";
import type { Message } from "@shared/protocol/entities.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import { DEFAULT_PAGE_SIZE } from "@shared/protocol/limits.js";
import { newId, nowIso } from "../store/ids.js";
import { requireMember, requireSender } from "../rooms/access.js";
import { appendRoomEvent } from "../events/log.js";
import type { RoomWriter } from "../events/writer.js";
import { findByClientId, historyPage, storeMessage } from "./queries.js";
import { withReactions } from "./reactions.js";
import { checkPlacement, recordReply, resolveReplyRoot, withRepliers, type ReplyPlacement } from "./replies.js";
import { mentionsColumn, resolveMentions, storeMentions } from "./mentions.js";
import { attachUploads, checkAttachmentCount } from "./attachments.js";
import { indexMessage } from "../search/indexing.js";
import type { SearchVocabulary } from "../search/vocabulary.js";

/**
 * Sending and reading messages. A send is stored, with its room's next seq,
 * in a group commit; it is acknowledged only after that commit, and a retry
 * with the same clientId returns the first copy (DESIGN.md invariants 3, 4).
 */
export class MessageService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
    private readonly vocabulary: SearchVocabulary,
    /** Told of each message created, after its commit (notifications/dispatcher.ts); returns at once. */
    private readonly notifications: { enqueue(message: Message): void } | null = null,
  ) {}

  /**
   * Stores a message and publishes `message.created` to the room. `body` is
   * already trimmed and within limits (the shared schema did that).
   * `replyTo`: the id of a message of the room this one answers (a reply to
   * a reply joins the root's thread); the root's reply count and last reply
   * time move in the same transaction. Without it, no extra query.
   * `placement`: a thread reply (`inThread`, shown in its thread only),
   * perhaps also sent to the room (`alsoInRoom`); default a quote-reply
   * (replies.ts). `attachmentIds` (issue 17): the sender's pending
   * uploads the message carries (messages/attachments.ts), attached in the
   * same transaction; `body` may then be "". Without any, no extra query.
   * A retry by clientId returns the first copy as stored, whatever
   * placement or files it names.
   * @returns the stored message; for a repeated clientId, the one stored first
   * @throws AppError not_found (no room, or private and not a member; replyTo unknown in this room, or deleted),
   *   forbidden (not a member), validation_failed (inThread without replyTo, alsoInRoom without inThread;
   *   more files than `attachmentsPerMessage`; `attachments.<i>`: not the sender's pending upload)
   */
  async send(
    actor: Actor,
    roomId: string,
    body: string,
    clientId: string | null,
    replyTo: string | null = null,
    placement: ReplyPlacement = { inThread: false, alsoInRoom: false },
    attachmentIds: readonly string[] = [],
  ): Promise<Message> {
    // Bad input changes nothing: refused before the writer takes the room.
    checkPlacement(replyTo, placement);
    checkAttachmentCount(attachmentIds, this.deps.config.attachmentsPerMessage);
    const inThread = placement.inThread;
    const alsoInRoom = placement.inThread && placement.alsoInRoom;
    const dialect = this.deps.store.dialect;
    let words: string[] = [];
    let stored = false;
    // Steps (store/steps.ts): on SQLite a batch of sends runs synchronously, with no promise per statement.
    const message = await this.writer.submitRoomSteps(roomId, function* (db) {
      // The room is locked for this batch by the writer (submitRoomSteps): the clientId check and the seq cannot race.
      const { author } = yield* requireSender(db, actor.userId, roomId);
      if (clientId !== null) {
        const earlier = yield* findByClientId(db, roomId, actor.userId, clientId);
        if (earlier) return { result: earlier, publish: [] };
      }
      // Replies: one lookup of the message replied to (and its root), only when there is one.
      const root = replyTo === null ? null : yield* resolveReplyRoot(db, roomId, replyTo);
      // Mentions: a body without "@" costs one `includes`; with one, a query among the room's members.
      const mentions = yield* resolveMentions(db, roomId, actor.userId, body);
      const at = nowIso();
      const id = newId();
      // Files: the last check and the first write, before anything else is written (the writer has no savepoints).
      const attachments = attachmentIds.length === 0 ? null : yield* attachUploads(db, attachmentIds, { ownerId: actor.userId, roomId, messageId: id, at });
      const created = yield* appendRoomEvent(db, roomId, at, (seq) => ({
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
          replyTo: root,
          replyCount: 0,
          lastReplyAt: null,
          ...(mentions ? { mentions } : {}),
          ...(inThread ? { inThread: true, alsoInRoom } : {}),
          ...(attachments ? { attachments } : {}),
        },
      }), id);
      yield* storeMessage(db, {
        id,
        room_id: roomId,
        seq: created.seq,
        author_id: actor.userId,
        body,
        client_id: clientId,
        created_at: at,
        reply_to_id: root?.id ?? null,
        mentions: mentionsColumn(mentions),
        in_thread: inThread ? 1 : 0,
        also_in_room: alsoInRoom ? 1 : 0,
        attachments: attachments ? JSON.stringify(attachments) : null,
      });
      // Search (issue 18): indexed in the send's own transaction, so it is found as soon as it is readable.
      words = yield* indexMessage(dialect, { id, roomId, authorId: actor.userId, createdAt: at, body, attachments });
      if (root) yield* recordReply(db, root.id, at);
      if (mentions) yield* storeMentions(db, { id, roomId, seq: created.seq, authorId: actor.userId }, mentions);
      stored = true;
      return {
        result: created.event.message,
        publish: [{ kind: "room", roomId, seq: created.seq, frame: created.frame }],
      };
    });
    // Committed: its new words go to the vocabulary off the send path (search/vocabulary.ts).
    if (words.length > 0) this.vocabulary.add(words);
    // Committed and published: who is notified is decided after this turn, never before the ack (a retry notifies nobody again).
    if (stored) this.notifications?.enqueue(message);
    return message;
  }

  /**
   * A page of history for a member.
   * @throws AppError not_found, forbidden
   */
  async history(
    actor: Actor,
    roomId: string,
    page: { before?: number | undefined; after?: number | undefined; around?: number | undefined; limit?: number | undefined },
  ): Promise<HistoryResponse> {
    await requireMember(this.deps.store.db, actor.userId, roomId);
    // Up to the durable head: a message whose batch waits for its fsync is not shown yet (RoomWriter.readableSeq).
    const upTo = this.writer.readableSeq(roomId);
    const found = await historyPage(this.deps.store.db, roomId, { ...page, limit: page.limit ?? DEFAULT_PAGE_SIZE, upTo });
    // Each message with its reactions: one more query for the page; a root's repliers, one more when it holds roots.
    const messages = await withReactions(this.deps.store.db, found.messages, upTo);
    return { ...found, messages: await withRepliers(this.deps.store.db, messages, upTo) };
  }
}
