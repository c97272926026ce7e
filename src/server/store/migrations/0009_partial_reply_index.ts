import { sql, type Kysely, type Migration } from "kysely";

/**
 * The thread index holds replies only (issue 10, the send path). 0005
 * indexed (reply_to_id, seq) for every message, most of them with a null
 * reply_to_id: each send wrote an entry, and so dirtied one more index page
 * in the WAL, for an index that only thread queries read, and those always
 * ask for `reply_to_id = ?`, which implies it is not null: both SQLite and
 * PostgreSQL use a partial index for such a query
 * (https://www.sqlite.org/partialindex.html#queries_using_partial_indexes).
 */
export const partialReplyIndex: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex("messages_reply_to").execute();
    await db.schema
      .createIndex("messages_reply_to")
      .on("messages")
      .columns(["reply_to_id", "seq"])
      .where(sql.ref("reply_to_id"), "is not", null)
      .execute();
  },
};
