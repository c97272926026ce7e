import { afterEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Migrator, type Kysely } from "kysely";
import { openSqlite } from "@server/store/sqlite.js";
import { openStore } from "@server/store/store.js";
import type { Database } from "@server/store/schema.js";
import type { StoreDialect } from "@server/store/dialect.js";
import { migrationProvider } from "@server/store/migrations/index.js";
import { createTestPostgresDatabase, testPostgresUrl } from "../support/server.js";

const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();

/**
 * Migration 0011 on the database this project runs on (SQLite, or
 * PostgreSQL in integration-postgres): what the old emoji rule let into
 * the log and the reactions table is cleaned up, and every remaining
 * reaction event is listed per message for a later deletion to blank.
 */
describe("migration 0011: reaction events listed per message; what the old emoji rule let in is cleaned up", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A database of this project's kind, migrated up to 0009: its URL, and a handle on it until `close`. */
  async function databaseAt0009(): Promise<{ url: string; db: Kysely<Database>; close: () => Promise<void> }> {
    let url: string;
    let opened: { db: Kysely<Database>; dialect: StoreDialect; close: () => Promise<void> };
    if (testPostgresUrl) {
      const pg = await createTestPostgresDatabase();
      cleanups.push(pg.drop);
      url = pg.url;
      opened = await (await import("@server/store/postgres.js")).openPostgres(url, { poolSize: 2 });
    } else {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-migrate-"));
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      url = `sqlite:${path.join(dir, "parley.db")}`;
      opened = openSqlite(url.slice("sqlite:".length), { synchronous: "normal" });
    }
    const { error } = await new Migrator({ db: opened.db, provider: migrationProvider(opened.dialect) }).migrateTo("0009_partial_reply_index");
    expect(error).toBeUndefined();
    return { url, db: opened.db, close: opened.close };
  }

  it("blanks a deleted message's and a non-RGI emoji's events, writes other spellings fully-qualified, and lists the rest", async () => {
    const tagged = "👍" + [..."ssn=1"].map((c) => String.fromCodePoint(0xe0000 + c.codePointAt(0)!)).join("") + "\u{E007F}";
    const old = await databaseAt0009();
    const db = old.db;
    await db
      .insertInto("users")
      .values(["u1", "u2"].map((u) => ({ id: u, username: u, username_key: u, email: `${u}@x.org`, email_key: `${u}@x.org`, display_name: u, password_hash: "h", created_at: at(0) })))
      .execute();
    await db.insertInto("rooms").values({ id: "r1", kind: "public", name: "r1", topic: "", direct_key: null, created_by: "u1", created_at: at(0), last_seq: 9, last_activity_at: at(9), last_message_id: null }).execute();
    await db
      .insertInto("messages")
      .values([
        { room_id: "r1", seq: 1, id: "m1", author_id: "u1", body: "live", client_id: null, created_at: at(1) },
        { room_id: "r1", seq: 2, id: "m2", author_id: "u1", body: "", client_id: null, created_at: at(2), deleted_at: at(3) },
      ])
      .execute();
    const reactionEvents: [number, string, string, string][] = [
      [3, "m1", "👍", "u1"],
      [4, "m1", "❤", "u1"],
      [5, "m1", "❤️", "u2"],
      [6, "m1", tagged, "u1"],
      [7, "m2", "🦄", "u1"],
      [8, "m1", "👍️", "u2"],
      [9, "m1", "👍", "u2"],
    ];
    await db
      .insertInto("room_events")
      .values([
        ...[1, 2].map((seq) => ({ room_id: "r1", seq, type: "message.created", frame: JSON.stringify({ type: "message.created", roomId: "r1", seq }), created_at: at(seq) })),
        ...reactionEvents.map(([seq, messageId, emoji, userId]) => ({
          room_id: "r1",
          seq,
          type: "reaction.added",
          frame: JSON.stringify({ type: "reaction.added", roomId: "r1", seq, messageId, emoji, userId }),
          created_at: at(seq),
        })),
      ])
      .execute();
    const held: [string, string, number, number][] = [
      ["👍", "u1", 3, 3],
      ["❤", "u1", 4, 4],
      ["❤️", "u2", 5, 5],
      [tagged, "u1", 6, 6],
      ["👍️", "u2", 8, 8],
      ["👍", "u2", 9, 3],
    ];
    await db
      .insertInto("reactions")
      .values(held.map(([emoji, user_id, seq, group_seq]) => ({ message_id: "m1", emoji, user_id, room_id: "r1", seq, group_seq, created_at: at(seq) })))
      .execute();
    await old.close();

    const store = await openStore(old.url, { sqliteSynchronous: "normal", postgresPoolSize: 2 });
    try {
      const events = await store.db.selectFrom("room_events").select(["seq", "frame"]).where("type", "=", "reaction.added").orderBy("seq").execute();
      expect(events.map((e) => [Number(e.seq), (JSON.parse(e.frame) as { emoji: string }).emoji])).toEqual([
        [3, "👍"],
        [4, "❤️"],
        [5, "❤️"],
        [6, ""],
        [7, ""],
        [8, "👍"],
        [9, "👍"],
      ]);
      // Only the emoji changes: seqs, types, message and user stay.
      expect(JSON.parse(events[4]!.frame)).toEqual({ type: "reaction.added", roomId: "r1", seq: 7, messageId: "m2", emoji: "", userId: "u1" });
      // The tagged one is gone; ❤ became ❤️ in its group; bob's 👍️ went, since he held 👍 too.
      const rows = await store.db.selectFrom("reactions").select(["emoji", "user_id", "seq", "group_seq"]).orderBy("group_seq").orderBy("seq").execute();
      expect(rows.map((r) => `${r.emoji} ${r.user_id} ${Number(r.seq)} ${Number(r.group_seq)}`)).toEqual(["👍 u1 3 3", "👍 u2 9 3", "❤️ u1 4 4", "❤️ u2 5 4"]);
      const listed = await store.db.selectFrom("reaction_events").select(["message_id", "seq", "room_id"]).orderBy("seq").execute();
      expect(listed.map((r) => `${r.message_id} ${Number(r.seq)} ${r.room_id}`)).toEqual(["m1 3 r1", "m1 4 r1", "m1 5 r1", "m1 8 r1", "m1 9 r1"]);
    } finally {
      await store.close();
    }
  });
});
