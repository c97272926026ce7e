import type { Deps, Actor } from "../deps.js";
import type { Message } from "@shared/protocol/entities.js";
import type { RoomEvent } from "@shared/protocol/frames.js";
import { nowIso } from "../store/ids.js";
import { forbidden } from "../errors.js";
import { appendRoomEvent } from "../events/log.js";
import type { RoomWriter } from "../events/writer.js";
import { memberAndLiveMessage, rewriteStoredEvent } from "./queries.js";
import { clearMentions } from "./mentions.js";
import { scrubRootPreviews } from "./replies.js";
import { blankReactionEvents } from "./reactions.js";
import { rows } from "../store/steps.js";
import { markUploadsDeleted } from "./attachments.js";
import { removeUploads } from "../files/sweeper.js";
import { unindexMessage } from "../search/indexing.js";

/**
 * Deleting messages for everyone. A deletion is a room event
 * (`message.deleted`, the room's next seq, same transaction) and it erases
 * the text everywhere it is stored: the message row keeps its place as a
 * tombstone (body "", `deleted_at`), its earlier versions are deleted, and
 * the stored frames of its `message.created` and `message.edited` events
 * are rewritten in place, with the tombstone and their own seqs, so that a
 * `resume` from before the deletion replays the same seqs without the text;
 * so are its reaction events, with emoji "" (reactions.ts). Its files go
 * too (issue 17): in the same transaction its uploads become `deleted` (no
 * one may read them from the commit on) and the tombstone and the rewritten
 * frames carry no `attachments`; after the commit their objects and rows
 * are removed (files/sweeper.ts `removeUploads`; what fails there is left to
 * the sweeper). The HTTP route and the socket's `message.delete` both call
 * `delete`.
 */
export class MessageDeletionService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
  ) {}

  /**
   * Deletes a message: its author may, and so may the room's owner or an
   * admin, any message of the room.
   * Resolves once the message's files are removed from the storage too (or
   * their removal failed and was logged: the sweeper retries it).
   * @returns the tombstone (`body` "", `deletedAt` set, no `attachments`)
   * @throws AppError not_found (no room or not visible; no such message in the room; deleted already),
   *   forbidden (public room not joined; neither the author nor an owner or admin)
   */
  async delete(actor: Actor, roomId: string, messageId: string): Promise<Message> {
    const dialect = this.deps.store.dialect;
    // Steps (store/steps.ts): runs synchronously with the sends of its batch on SQLite.
    const { tombstone, files } = await this.writer.submitRoomSteps(roomId, function* (trx) {
      const { member, message: current } = yield* memberAndLiveMessage(trx, actor.userId, roomId, messageId);
      const moderator = member.role === "owner" || member.role === "admin";
      if (current.author.id !== actor.userId && !moderator) {
        throw forbidden("Only the author, the room's owner or an admin may delete a message.");
      }
      const editSeqs = (
        yield* rows(trx.selectFrom("message_edits").select("seq").where("message_id", "=", messageId).where("room_id", "=", roomId).compile())
      ).map((r) => Number(r.seq));

      const at = nowIso();
      // A tombstone mentions nobody: its text, and so its mentions, are gone; and it carries no files.
      const { mentions: previousMentions, attachments: previousFiles, ...kept } = current;
      // Nor does it quote its root's text, if a reply.
      const tombstone: Message = { ...kept, body: "", deletedAt: at, ...(kept.replyTo ? { replyTo: { ...kept.replyTo, preview: "" } } : {}) };
      const appended = yield* appendRoomEvent(trx, roomId, at, (seq) => ({
        type: "message.deleted" as const,
        roomId,
        seq,
        messageId,
        deletedBy: actor.userId,
        message: tombstone,
      }));
      yield* rows(trx.updateTable("messages").set({ body: "", deleted_at: at, mentions: null, attachments: null }).where("id", "=", messageId).compile());
      // Only a message with files costs this statement.
      const uploads = previousFiles && previousFiles.length > 0 ? yield* markUploadsDeleted(trx, messageId, at) : [];
      if (previousMentions) yield* clearMentions(trx, roomId, current.seq);
      // Search: gone from the index at this commit, text and file names alike.
      yield* unindexMessage(dialect, messageId);
      yield* rows(trx.deleteFrom("message_edits").where("message_id", "=", messageId).where("room_id", "=", roomId).compile());
      // Reactions go with the message; their reaction.* events keep their seqs, not their emoji.
      yield* rows(trx.deleteFrom("reactions").where("message_id", "=", messageId).compile());
      yield* blankReactionEvents(trx, roomId, messageId);
      // The log keeps every seq (resume has no gaps), but none of them may carry the text or the files any more.
      const rewrites: RoomEvent[] = [
        { type: "message.created", roomId, seq: current.seq, message: tombstone },
        ...editSeqs.map((seq): RoomEvent => ({ type: "message.edited", roomId, seq, message: tombstone })),
      ];
      for (const event of rewrites) {
        yield* rewriteStoredEvent(trx, event);
      }
      // A thread's root: its replies' stored events quote its text.
      if ((current.replyCount ?? 0) > 0) yield* scrubRootPreviews(trx, roomId, messageId);
      return { result: { tombstone, files: uploads }, publish: [{ kind: "room", roomId, seq: appended.seq, frame: appended.frame }] };
    });
    if (files.length > 0) {
      // Committed: nobody can read these files any more; now their bytes go.
      await removeUploads(this.deps, files).catch((err: unknown) =>
        this.deps.log.warn({ err, messageId, uploads: files.map((f) => f.id) }, "removing a deleted message's files failed; the file sweeper retries"),
      );
    }
    return tombstone;
  }
}
