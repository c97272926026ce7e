import type { Kysely, Selectable } from "kysely";
import type { Database, UploadsTable } from "../store/schema.js";
import { AppError, notFound } from "../errors.js";
import { prepared } from "../store/prepared.js";
import type { MembershipReads } from "../rooms/membership-reads.js";

/**
 * Who may read a file (issue 17 item 5; DESIGN.md invariant 2), checked on
 * every request for its bytes:
 *
 * - an *attached* file: the members of its message's room, now (a member who
 *   leaves loses access at the next request; the check is the batched
 *   `MembershipReads`, so a page of images costs two queries per event-loop
 *   turn, not two per image);
 * - a *pending* upload: its uploader alone;
 * - anyone else, a *deleted* file, an unknown id: `not_found`, the same
 *   answer in every case, so that an id tells an outsider nothing (ids are
 *   128 random bits besides: nobody finds one by trying).
 */

export type UploadRow = Selectable<UploadsTable>;

// Prepared: every file and thumbnail request runs it (a page of images asks for many at once).
const uploadQuery = prepared<{ id: string }, UploadRow>((db, p) => db.selectFrom("uploads").selectAll().where("id", "=", p.id));

/** The one answer to anyone who may not read a file, whatever the reason. */
export const noSuchFile = (): AppError => notFound("No such file.");

/**
 * The upload `fileId` if `userId` may read it now.
 * @throws AppError not_found (unknown, deleted, someone else's pending upload, a room the caller is not a member of)
 */
export async function requireReadableFile(db: Kysely<Database>, membership: MembershipReads, userId: string, fileId: string): Promise<UploadRow> {
  const [row] = await uploadQuery(db, { id: fileId });
  if (!row || row.state === "deleted") throw noSuchFile();
  if (row.state === "pending") {
    if (row.owner_id !== userId) throw noSuchFile();
    return row;
  }
  if (row.room_id === null) throw noSuchFile();
  try {
    await membership.require(userId, row.room_id);
  } catch (err) {
    // Not a member (forbidden for a public room not joined, not_found otherwise): the file does not exist for them.
    if (err instanceof AppError) throw noSuchFile();
    throw err;
  }
  return row;
}
