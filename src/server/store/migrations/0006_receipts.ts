import type { Kysely, Migration } from "kysely";

/**
 * Delivery receipts: `room_members.last_delivered_seq`, the highest seq the
 * member's client said it received (POST /rooms/:roomId/delivered or the
 * `room.delivered` command). An integer with a default: adding it rewrites no
 * row in either database. Read positions (`last_read_seq`) exist since 0001.
 */
export const receipts: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable("room_members")
      .addColumn("last_delivered_seq", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
