import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KyselyPlugin, PluginTransformQueryArgs, RootOperationNode } from "kysely";
import { openStore, type Store } from "@server/store/store.js";
import { nowIso } from "@server/store/ids.js";
import { myRoomIds, publicRoomIds, roomIdOf, roomViews, UNREAD_CAP } from "@server/rooms/views.js";

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

  const unread = async (userId: string) =>
    Object.fromEntries((await roomViews(store.db, userId, myRoomIds(store.db, userId))).map((r) => [r.id, r.unreadCount]));

  it("counts others' messages after the read position, capped, in one pass over all rooms", async () => {
    // ann: bob wrote 107 of busy's 160 messages, past the cap; quiet: 3.
    expect(await unread("ann")).toEqual({ busy: UNREAD_CAP, quiet: 3 });
    await store.db.updateTable("room_members").set({ last_read_seq: 120 }).where("user_id", "=", "ann").where("room_id", "=", "busy").execute();
    // Seqs 121..160 by bob: those not divisible by 3, i.e. 27.
    expect(await unread("ann")).toEqual({ busy: 27, quiet: 3 });
    // bob: ann wrote every third of busy (53 messages), none in quiet.
    expect(await unread("bob")).toEqual({ busy: 53, quiet: 0 });
  });

  it("builds views from my memberships, the public list or one room: peers, last messages, member counts", async () => {
    const at = nowIso();
    await store.db.insertInto("users").values({ id: "cy", username: "cy", username_key: "cy", email: "cy@x", email_key: "cy@x", display_name: "Cy", password_hash: "x", created_at: at }).execute();
    // A direct room of ann and cy, newer than the others; its last message is the preview.
    await store.db.insertInto("rooms").values({ id: "dm", kind: "direct", name: "ann, cy", topic: "", direct_key: "ann:cy", created_by: "ann", created_at: at, last_seq: 1, last_activity_at: "9999-01-01T00:00:00.000Z", last_message_id: "d1" }).execute();
    for (const id of ["ann", "cy"]) await store.db.insertInto("room_members").values({ room_id: "dm", user_id: id, role: "member", joined_at: at, last_read_seq: 0 }).execute();
    await store.db.insertInto("messages").values({ id: "d1", room_id: "dm", seq: 1, author_id: "cy", body: "hi ann", client_id: "c1", created_at: at }).execute();

    const mine = await roomViews(store.db, "ann", myRoomIds(store.db, "ann"));
    // Most recent activity first; busy and quiet tie, and the id breaks it.
    expect(mine.map((r) => r.id)).toEqual(["dm", "quiet", "busy"]);
    expect(mine[0]).toMatchObject({ kind: "direct", name: "Cy", peer: { id: "cy" }, memberCount: 2, role: "member", unreadCount: 1, lastMessage: { id: "d1", body: "hi ann", clientId: "c1", author: { id: "cy", displayName: "Cy" } } });
    // cy is in the direct room only; nobody else sees it.
    expect((await roomViews(store.db, "cy", myRoomIds(store.db, "cy"))).map((r) => [r.id, r.name])).toEqual([["dm", "ann"]]);
    // The public list: not a member, so no role, preview or unread count.
    const pub = await roomViews(store.db, "cy", publicRoomIds(store.db, 200));
    expect(pub.map((r) => r.id).sort()).toEqual(["busy", "quiet"]);
    expect(pub.find((r) => r.id === "busy")).toMatchObject({ role: null, lastMessage: null, unreadCount: 0, lastReadSeq: 0, memberCount: 2, peer: null });
    expect((await roomViews(store.db, "ann", roomIdOf(store.db, "quiet"))).map((r) => [r.id, r.memberCount, r.unreadCount])).toEqual([["quiet", 2, 3]]);
    expect(await roomViews(store.db, "ann", roomIdOf(store.db, "nope"))).toEqual([]);
  });

  it("lists a user's rooms in three queries whose parameters do not grow with the number of rooms", async () => {
    const at = nowIso();
    const ids = Array.from({ length: 300 }, (_, i) => `many${String(i).padStart(3, "0")}`);
    await store.db.insertInto("rooms").values(ids.map((id) => ({ id, kind: "private" as const, name: id, topic: "", direct_key: null, created_by: "ann", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }))).execute();
    await store.db.insertInto("room_members").values(ids.map((id) => ({ room_id: id, user_id: "ann", role: "member" as const, joined_at: at, last_read_seq: 0 }))).execute();
    // Records every query roomViews runs, compiled as the database sees it.
    const seen: RootOperationNode[] = [];
    const recorder: KyselyPlugin = {
      transformQuery: (args: PluginTransformQueryArgs) => {
        seen.push(args.node);
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const db = store.db.withPlugin(recorder);
    // (The subquery is built without the recorder: a plugin sees each subquery as a query of its own.)
    const views = await roomViews(db, "ann", myRoomIds(store.db, "ann"));
    expect(views).toHaveLength(302);
    expect(seen).toHaveLength(3);
    const counts = seen.map((node) => store.db.getExecutor().compileQuery(node, { queryId: "q" }).parameters.length);
    // A fixed handful (the user id in the membership, unread and mention subqueries, and their caps): the old
    // list bound one parameter per room, and failed past SQLite's 32,766.
    for (const n of counts) expect(n).toBeLessThanOrEqual(8);
  });
});
