import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "@server/store/store.js";
import { nowIso } from "@server/store/ids.js";
import { roomViews, UNREAD_CAP } from "@server/rooms/views.js";

describe("roomViews unread counts", () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
    const at = nowIso();
    for (const id of ["ann", "bob"]) {
      await store.db.insertInto("users").values({ id, username: id, username_key: id, email: `${id}@x`, email_key: `${id}@x`, display_name: id, password_hash: "x", created_at: at }).execute();
    }
    for (const room of ["busy", "quiet"]) {
      await store.db.insertInto("rooms").values({ id: room, kind: "public", name: room, topic: "", direct_key: null, created_by: "ann", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
      for (const id of ["ann", "bob"]) await store.db.insertInto("room_members").values({ room_id: room, user_id: id, role: "member", joined_at: at, last_read_seq: 0 }).execute();
    }
    // busy: 160 messages, every third by ann herself; quiet: 3 by bob.
    const rows = [];
    for (let seq = 1; seq <= 160; seq++) rows.push({ id: `b${seq}`, room_id: "busy", seq, author_id: seq % 3 === 0 ? "ann" : "bob", body: "x", client_id: null, created_at: at });
    for (let seq = 1; seq <= 3; seq++) rows.push({ id: `q${seq}`, room_id: "quiet", seq, author_id: "bob", body: "x", client_id: null, created_at: at });
    await store.db.insertInto("messages").values(rows).execute();
    await store.db.updateTable("rooms").set({ last_seq: 160 }).where("id", "=", "busy").execute();
    await store.db.updateTable("rooms").set({ last_seq: 3 }).where("id", "=", "quiet").execute();
  });
  afterEach(() => store.close());

  const unread = async (userId: string) => {
    const rooms = await store.db.selectFrom("rooms").selectAll().orderBy("id").execute();
    return Object.fromEntries((await roomViews(store.db, userId, rooms)).map((r) => [r.id, r.unreadCount]));
  };

  it("counts others' messages after the read position, capped, in one pass over all rooms", async () => {
    // ann: bob wrote 107 of busy's 160 messages, past the cap; quiet: 3.
    expect(await unread("ann")).toEqual({ busy: UNREAD_CAP, quiet: 3 });
    await store.db.updateTable("room_members").set({ last_read_seq: 120 }).where("user_id", "=", "ann").where("room_id", "=", "busy").execute();
    // Seqs 121..160 by bob: those not divisible by 3, i.e. 27.
    expect(await unread("ann")).toEqual({ busy: 27, quiet: 3 });
    // bob: ann wrote every third of busy (53 messages), none in quiet.
    expect(await unread("bob")).toEqual({ busy: 53, quiet: 0 });
  });
});
