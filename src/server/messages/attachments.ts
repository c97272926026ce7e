import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import { rows, type Steps } from "../store/steps.js";
import { AppError } from "../errors.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import type { Attachment } from "@shared/protocol/attachments.js";
import type { UploadObjects } from "../files/sweeper.js";
import { attachmentOf } from "../files/uploads.js";

/**
 * Messages that carry files (issue 17). A file is uploaded first and is then
 * a *pending* upload, its uploader's only; the send that names it makes it
 * part of the message: in the send's own transaction (the writer's steps) the
 * upload becomes `attached` to the message and room, and the message stores
 * the files as the wire's `Attachment[]` (`messages.attachments`), so history
 * and `message.created` carry them with no join. Deleting the message marks
 * its uploads `deleted` in the deletion's transaction; their objects and rows
 * are removed after the commit (files/sweeper.ts `removeUploads`).
 */

/** The answer to every id a send may not use: someone else's upload, an unknown id, one already sent or deleted. */
const NO_SUCH_UPLOAD = "No such upload.";

/**
 * Refuses a send naming more files than a message may carry, before the
 * writer takes the room (bad input changes nothing).
 * @param max `config.attachmentsPerMessage`
 * @throws AppError validation_failed on `attachments`
 */
export function checkAttachmentCount(ids: readonly string[], max: number): void {
  if (ids.length <= max) return;
  const message = `At most ${max} files per message.`;
  throw new AppError(ErrorCode.ValidationFailed, `Invalid attachments: ${message}`, { details: [{ path: "attachments", message }] });
}

/** Where a send's files go: the message being stored, its room, its sender (who must own them) and its time. */
export interface AttachTarget {
  ownerId: string;
  roomId: string;
  messageId: string;
  /** ISO 8601, the message's createdAt. */
  at: string;
}

/**
 * Steps of a send (the writer's transaction, before anything else of the
 * send is written): reads the named uploads in one query, checks that each
 * is `target.ownerId`'s own pending upload, then marks them `attached` to
 * the message. Check, then do: the writer has no savepoints, so every check
 * comes before the one write.
 * @returns the files as the message carries them, in the order named
 * @throws AppError validation_failed with a detail `attachments.<i>` "No such upload." per id refused
 * @throws Error when an upload changed between the read and the write (another node's send or the
 *   sweeper, on PostgreSQL): the writer then rolls the batch back and runs this send alone, whose
 *   read sees the change and refuses it as above
 */
export function* attachUploads(db: Kysely<Database>, ids: readonly string[], target: AttachTarget): Steps<Attachment[]> {
  if (ids.length === 0) return [];
  const found = yield* rows(db.selectFrom("uploads").selectAll().where("id", "in", [...ids]).compile());
  const byId = new Map(found.map((row) => [row.id, row]));
  const refused = ids.flatMap((id, i) => {
    const row = byId.get(id);
    // One answer for every case: whether someone else's upload exists is not the sender's to learn.
    return row && row.owner_id === target.ownerId && row.state === "pending" ? [] : [{ path: `attachments.${i}`, message: NO_SUCH_UPLOAD }];
  });
  if (refused.length > 0) {
    throw new AppError(ErrorCode.ValidationFailed, `Invalid ${refused[0]!.path}: ${NO_SUCH_UPLOAD}`, { details: refused });
  }
  const attached = yield* rows(
    db
      .updateTable("uploads")
      .set({ state: "attached", room_id: target.roomId, message_id: target.messageId, attached_at: target.at })
      .where("id", "in", [...ids])
      .where("owner_id", "=", target.ownerId)
      .where("state", "=", "pending")
      .returning("id")
      .compile(),
  );
  if (attached.length !== ids.length) throw new Error(`attachUploads: ${ids.length - attached.length} of ${ids.length} uploads changed since they were read`);
  return ids.map((id) => attachmentOf(byId.get(id)!));
}

/**
 * Steps of a deletion (its transaction): the message's uploads become
 * `deleted` (nobody may read them from the commit on).
 * @returns their objects, to remove once the deletion is committed
 */
export function* markUploadsDeleted(db: Kysely<Database>, messageId: string, at: string): Steps<UploadObjects[]> {
  const marked = yield* rows(
    db
      .updateTable("uploads")
      .set({ state: "deleted", deleted_at: at })
      .where("message_id", "=", messageId)
      .where("state", "=", "attached")
      .returning(["id", "storage_key", "thumbnail_key"])
      .compile(),
  );
  return marked.map((r) => ({ id: r.id, storageKey: r.storage_key, thumbnailKey: r.thumbnail_key }));
}
