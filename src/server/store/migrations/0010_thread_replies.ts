import type { Kysely, Migration } from "kysely";

/**
 * Thread replies (issue 16): a reply made in its thread stays there, as in
 * Slack, Element and Mattermost. `messages.in_thread` is 1 for such a reply
 * (the wire's `inThread`), 0 for every other message, the replies stored
 * before this migration included (they were quote-replies, shown in the
 * timeline, and stay so); `also_in_room` is 1 for a thread reply also sent
 * to the room (`alsoInRoom`, Slack's "also send to channel"). Integers
 * (0/1), portable; defaulted columns rewrite no row in SQLite nor in
 * PostgreSQL ≥ 11, so adding them is instant on a large store.
 */
export const threadReplies: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("messages").addColumn("in_thread", "integer", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable("messages").addColumn("also_in_room", "integer", (c) => c.notNull().defaultTo(0)).execute();
  },
};
