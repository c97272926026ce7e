import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "@server/store/store.js";
import { nowIso } from "@server/store/ids.js";
import { AppError } from "@server/errors.js";
import { MembershipReads } from "@server/rooms/membership-reads.js";
import { ReadPositions, storePositions } from "@server/rooms/positions.js";

// Issue 16 item 15(b): the soak's event-loop stalls were a thousand awaited membership checks and position writes in one turn.
describe("membership checks and position writes, per event-loop turn", () => {
  let store: Store;
  let statements: string[];

  beforeEach(async () => {
    statements = [];
    store = await openStore("sqlite::memory:", { sqliteSynchronous: "full", onQuery: (_ms, sql) => statements.push(sql) });
    const at = nowIso();
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    for (const id of [...users, "outsider"]) {
      await store.db.insertInto("users").values({ id, username: id, username_key: id, email: `${id}@x`, email_key: `${id}@x`, display_name: id, password_hash: "x", created_at: at }).execute();
    }
    for (const [room, kind] of [["pub", "public"], ["priv", "private"]] as const) {
      await store.db.insertInto("rooms").values({ id: room, kind, name: room, topic: "", direct_key: null, created_by: "u0", created_at: at, last_seq: 40, last_activity_at: at, last_message_id: null }).execute();
      await store.db.insertInto("room_members").values(users.map((id) => ({ room_id: room, user_id: id, role: "member", joined_at: at, last_read_seq: 0 }))).execute();
    }
    statements = [];
  });
  afterEach(() => store.close());

  const code = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => (e instanceof AppError ? e.code : String(e)));

  it("answers every check of one turn with two queries, each as requireMember would", async () => {
    const reads = new MembershipReads(store.db);
    const members = Array.from({ length: 60 }, (_, i) => reads.require(`u${i}`, i % 2 ? "pub" : "priv"));
    const refused = [reads.require("outsider", "pub"), reads.require("outsider", "priv"), reads.require("u1", "gone")];
    const found = await Promise.all(members);
    expect(found.map((f) => [f.member.user_id, f.room.id])).toEqual(Array.from({ length: 60 }, (_, i) => [`u${i}`, i % 2 ? "pub" : "priv"]));
    expect(found[0]!.room.last_seq).toBe(40);
    expect(await Promise.all(refused.map(code))).toEqual(["forbidden", "not_found", "not_found"]);
    expect(statements).toHaveLength(2);
  });

  it("caches nothing: a leave between turns is seen by the next check", async () => {
    const reads = new MembershipReads(store.db);
    await reads.require("u3", "priv");
    await store.db.deleteFrom("room_members").where("room_id", "=", "priv").where("user_id", "=", "u3").execute();
    expect(await code(reads.require("u3", "priv"))).toBe("not_found");
  });

  it("splits a turn's checks into batches of at most the given size", async () => {
    const reads = new MembershipReads(store.db, 25);
    await Promise.all(Array.from({ length: 60 }, (_, i) => reads.require(`u${i}`, "pub")));
    expect(statements).toHaveLength(6); // 25 + 25 + 10, two queries each
  });

  it("a failed read fails every check of its batch, and the next turn reads again", async () => {
    const reads = new MembershipReads(store.db);
    await store.db.schema.alterTable("room_members").renameTo("room_members_away").execute();
    const failed = await Promise.all([code(reads.require("u1", "pub")), code(reads.require("u2", "pub"))]);
    expect(failed.every((c) => c.includes("room_members"))).toBe(true);
    await store.db.schema.alterTable("room_members_away").renameTo("room_members").execute();
    expect(await code(reads.require("u1", "pub"))).toBe("ok");
  });

  it("stores positions with one UPDATE per room and seq, never moving one back", async () => {
    await store.db.updateTable("room_members").set({ last_delivered_seq: 30 }).where("user_id", "=", "u5").execute();
    statements = [];
    const moves = Array.from({ length: 60 }, (_, i) => ({ roomId: i % 2 ? "pub" : "priv", userId: `u${i}`, seq: 20 }));
    await storePositions(store.db, "last_delivered_seq", moves);
    expect(statements.filter((s) => s.startsWith("update"))).toHaveLength(2);
    const rows = await store.db.selectFrom("room_members").select(["room_id", "user_id", "last_delivered_seq"]).where("user_id", "in", ["u4", "u5", "outsider"]).execute();
    // u5 (pub) was at 30 already; u4 (priv) moved; u5's priv membership was not asked to move.
    expect(rows.map((r) => [r.room_id, r.user_id, Number(r.last_delivered_seq)]).sort()).toEqual([
      ["priv", "u4", 20],
      ["priv", "u5", 30],
      ["pub", "u4", 0],
      ["pub", "u5", 30],
    ]);
  });

  it("stores the read positions asked in one turn in one transaction", async () => {
    const positions = new ReadPositions(store.db);
    await Promise.all(Array.from({ length: 40 }, (_, i) => positions.store("pub", `u${i}`, 10 + (i % 2))));
    expect(statements.filter((s) => s.startsWith("update"))).toHaveLength(2);
    expect(statements.filter((s) => s === "begin")).toHaveLength(1);
    const read = await store.db.selectFrom("room_members").select(["user_id", "last_read_seq"]).where("room_id", "=", "pub").where("user_id", "in", ["u0", "u1", "u50"]).execute();
    expect(Object.fromEntries(read.map((r) => [r.user_id, Number(r.last_read_seq)]))).toEqual({ u0: 10, u1: 11, u50: 0 });
  });
});
