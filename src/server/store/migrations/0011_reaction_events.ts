import type { Kysely, Migration } from "kysely";
import { normalizeEmoji } from "@shared/protocol/reactions.js";

/**
 * Reactions without hidden text (issue 16, item 2).
 *
 * `reaction_events` lists the seqs of every reaction.added / .removed event
 * of a message that is not deleted, keyed (message_id, seq): deleting the
 * message finds them there and blanks their `emoji` in the log, as it
 * blanks its text (messages/deletions.ts), without scanning the room's log.
 * Deleting the message deletes its rows; deleting the room, all of them.
 *
 * The data already stored was accepted by the old rule, which let through
 * anything built of emoji characters: VS16 repeated, tag characters
 * spelling text, ZWJ sequences Unicode does not list. So, in batches (memory
 * stays bounded whatever the size):
 * - every stored reaction event: of a deleted message, its `emoji` becomes
 *   ""; of an emoji outside Unicode's RGI set, "" too; of an RGI emoji
 *   written another way (❤ for ❤️, 👍️ for 👍), the fully-qualified form
 *   (normalizeEmoji); the others get their row in `reaction_events`;
 * - every reaction held with such an emoji: outside the set, deleted (its
 *   events are blank: a client replaying them holds nothing, as history
 *   says); another spelling, renamed to the fully-qualified form and joined
 *   to that emoji's group on the message, or deleted when its holder holds
 *   that form already.
 * Seqs and event types stay: a resume replays every seq, as before.
 */
export const reactionEvents: Migration = {
  async up(untyped: Kysely<unknown>) {
    const db = untyped as Kysely<MigrationDatabase>;
    await db.schema
      .createTable("reaction_events")
      .addColumn("message_id", "text", (c) => c.notNull())
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addPrimaryKeyConstraint("reaction_events_pk", ["message_id", "seq"])
      .execute();

    const BATCH = 500;
    let after: { room_id: string; seq: number } | null = null;
    for (;;) {
      let query = db
        .selectFrom("room_events")
        .select(["room_id", "seq", "frame"])
        .where("type", "in", ["reaction.added", "reaction.removed"])
        .orderBy("room_id")
        .orderBy("seq")
        .limit(BATCH);
      if (after) {
        const { room_id, seq } = after;
        query = query.where((eb) => eb.or([eb("room_id", ">", room_id), eb.and([eb("room_id", "=", room_id), eb("seq", ">", seq)])]));
      }
      const batch = await query.execute();
      if (batch.length === 0) break;
      const last = batch[batch.length - 1]!;
      after = { room_id: last.room_id, seq: Number(last.seq) };

      const events = batch.map((row) => ({ row, event: JSON.parse(row.frame) as { messageId: string; emoji: string } }));
      const ids = [...new Set(events.map((e) => e.event.messageId))];
      const deleted = new Set(
        (await db.selectFrom("messages").select("id").where("id", "in", ids).where("deleted_at", "is not", null).execute()).map((m) => m.id),
      );
      const live: { message_id: string; seq: number; room_id: string }[] = [];
      for (const { row, event } of events) {
        const emoji = deleted.has(event.messageId) ? "" : (normalizeEmoji(event.emoji) ?? "");
        if (emoji !== event.emoji) {
          await db.updateTable("room_events").set({ frame: JSON.stringify({ ...event, emoji }) }).where("room_id", "=", row.room_id).where("seq", "=", row.seq).execute();
        }
        if (emoji !== "") live.push({ message_id: event.messageId, seq: Number(row.seq), room_id: row.room_id });
      }
      if (live.length > 0) await db.insertInto("reaction_events").values(live).execute();
    }

    // Held reactions: the distinct emoji stored are few next to the rows; only the odd ones are touched.
    const stored = (await db.selectFrom("reactions").select("emoji").distinct().execute()).map((r) => r.emoji);
    for (const emoji of stored) {
      const qualified = normalizeEmoji(emoji);
      if (qualified === emoji) continue;
      if (qualified === null) {
        await db.deleteFrom("reactions").where("emoji", "=", emoji).execute();
        continue;
      }
      for (;;) {
        const held = await db.selectFrom("reactions").select(["message_id", "user_id", "group_seq"]).where("emoji", "=", emoji).limit(BATCH).execute();
        if (held.length === 0) break;
        for (const r of held) {
          const existing = await db.selectFrom("reactions").select(["user_id", "group_seq"]).where("message_id", "=", r.message_id).where("emoji", "=", qualified).execute();
          if (existing.some((e) => e.user_id === r.user_id)) {
            await db.deleteFrom("reactions").where("message_id", "=", r.message_id).where("emoji", "=", emoji).where("user_id", "=", r.user_id).execute();
            continue;
          }
          // One group per emoji on a message: the earlier place wins, for every row of the group.
          const groupSeq = Math.min(Number(r.group_seq), ...existing.map((e) => Number(e.group_seq)));
          await db
            .updateTable("reactions")
            .set({ emoji: qualified, group_seq: groupSeq })
            .where("message_id", "=", r.message_id)
            .where("emoji", "=", emoji)
            .where("user_id", "=", r.user_id)
            .execute();
          await db.updateTable("reactions").set({ group_seq: groupSeq }).where("message_id", "=", r.message_id).where("emoji", "=", qualified).execute();
        }
      }
    }
  },
};

/** The tables as this migration finds them (schema.ts is the latest shape; a migration must not follow it). */
interface MigrationDatabase {
  room_events: { room_id: string; seq: number; type: string; frame: string };
  messages: { id: string; deleted_at: string | null };
  reactions: { message_id: string; emoji: string; user_id: string; group_seq: number };
  reaction_events: { message_id: string; seq: number; room_id: string };
}
