import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, postMessage, unique, type Caller } from "../support/client.js";
import { threePeople } from "../support/fixtures.js";
import type { AckFrame, ErrorFrame, ServerFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse, MessageEditsResponse } from "@shared/protocol/http.js";
import type { Message } from "@shared/protocol/entities.js";

/**
 * Editing (with history) and deleting messages over a real server, on both
 * transports: who may, what everyone sees live, what history and resume
 * replay, and that a deletion leaves no trace of the text in the database.
 */
describe("editing and deleting messages", () => {
  let t: TestServer;
  let alice: Caller; // owner of the rooms (cookie)
  let bob: Caller; // a member (Bearer)
  let carol: Caller; // in no room
  let roomId: string; // public
  let privateRoom: string;

  const send = (as: Caller, room: string, body: string): Promise<Message> => postMessage(as, room, body);
  const patch = (as: Caller, room: string, messageId: string, body: unknown) =>
    as.request<{ message: Message }>("PATCH", `/rooms/${room}/messages/${messageId}`, body);
  const del = (as: Caller, room: string, messageId: string) => as.request<{ message: Message }>("DELETE", `/rooms/${room}/messages/${messageId}`);
  const edits = (as: Caller, room: string, messageId: string) => as.get<MessageEditsResponse>(`/rooms/${room}/messages/${messageId}/edits`);
  const history = async (as: Caller, room: string): Promise<Message[]> => {
    const res = await as.get<HistoryResponse>(`/rooms/${room}/messages?limit=100`);
    expect(res.status).toBe(200);
    return res.body.messages;
  };
  const byId = async (room: string, id: string): Promise<Message | undefined> => (await history(alice, room)).find((m) => m.id === id);
  const roomEvents = (f: ServerFrame, room: string): boolean => "seq" in f && "roomId" in f && f.roomId === room;

  beforeAll(async () => {
    ({ t, alice, bob, carol, roomId, privateRoom } = await threePeople());
  });
  afterAll(() => t.destroy());

  it("an edit reaches another member's socket live, and history shows the new text with editedAt", async () => {
    const b = await SocketClient.connect(t.wsUrl, bob);
    const m = await send(alice, roomId, "first draft");
    expect(m.editedAt).toBeNull();
    expect(m.deletedAt).toBeNull();
    const res = await patch(alice, roomId, m.id, { body: "  second draft  " });
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({ id: m.id, seq: m.seq, body: "second draft", deletedAt: null });
    expect(res.body.message.editedAt).toEqual(expect.any(String));

    const ev = await b.waitFor((f) => f.type === "message.edited" && f.message.id === m.id);
    if (ev.type !== "message.edited") throw new Error("unreachable");
    expect(ev.message).toEqual(res.body.message);
    expect(ev.seq).toBeGreaterThan(m.seq);
    // A history page adds the message's reactions, which answers and events leave out.
    expect(await byId(roomId, m.id)).toEqual({ ...res.body.message, reactions: [] });
    // The room's seq moved for the edit (invariant 4).
    const room = await alice.get<{ room: { lastSeq: number } }>(`/rooms/${roomId}`);
    expect(room.body.room.lastSeq).toBe(ev.seq);
    await b.close();
  });

  it("the edit history lists earlier versions to members only: 404 to a non-member of a private room, 403 to a public one", async () => {
    const m = await send(alice, privateRoom, "v1");
    expect((await patch(alice, privateRoom, m.id, { body: "v2" })).status).toBe(200);
    expect((await patch(alice, privateRoom, m.id, { body: "v3" })).status).toBe(200);
    const seen = await edits(bob, privateRoom, m.id);
    expect(seen.status).toBe(200);
    expect(seen.body.edits.map((e) => e.body)).toEqual(["v1", "v2"]);
    expect(seen.body.edits[0]!.createdAt).toBe(m.createdAt);
    expect(seen.body.edits[1]!.createdAt).toBe(seen.body.edits[0]!.replacedAt);
    expect(seen.body.edits[0]!.seq).toBeLessThan(seen.body.edits[1]!.seq);

    const hidden = await edits(carol, privateRoom, m.id);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toMatchObject({ error: { code: "not_found" } });
    const pub = await send(alice, roomId, "public v1");
    expect((await patch(alice, roomId, pub.id, { body: "public v2" })).status).toBe(200);
    const outsider = await edits(carol, roomId, pub.id);
    expect(outsider.status).toBe(403);
    expect(outsider.body).toMatchObject({ error: { code: "forbidden" } });
    // A message id of another room is not found there.
    expect((await edits(bob, roomId, m.id)).status).toBe(404);
    expect((await edits(bob, roomId, "no-such-message")).status).toBe(404);
    // Never edited: an empty history.
    const plain = await send(bob, roomId, "never edited");
    expect((await edits(alice, roomId, plain.id)).body).toEqual({ edits: [] });
  });

  it("only the author edits (403 over HTTP and on the socket), and the same text again changes nothing", async () => {
    const m = await send(alice, roomId, "mine to edit");
    const byBob = await patch(bob, roomId, m.id, { body: "hijacked" });
    expect(byBob.status).toBe(403);
    expect(byBob.body).toMatchObject({ error: { code: "forbidden" } });
    // Not even the room's owner edits someone else's message.
    const fromBob = await send(bob, roomId, "bob's words");
    expect((await patch(alice, roomId, fromBob.id, { body: "owner's words" })).status).toBe(403);
    const b = await SocketClient.connect(t.wsUrl, bob);
    const wsRefused = (await b.command({ type: "message.edit", roomId, messageId: m.id, body: "hijacked" })) as ErrorFrame;
    expect(wsRefused).toMatchObject({ type: "error", code: "forbidden" });
    expect((await byId(roomId, m.id))?.body).toBe("mine to edit");
    expect((await byId(roomId, fromBob.id))?.body).toBe("bob's words");

    const before = (await alice.get<{ room: { lastSeq: number } }>(`/rooms/${roomId}`)).body.room.lastSeq;
    const same = await patch(alice, roomId, m.id, { body: "  mine to edit " });
    expect(same.status).toBe(200);
    expect(same.body.message.editedAt).toBeNull();
    expect((await alice.get<{ room: { lastSeq: number } }>(`/rooms/${roomId}`)).body.room.lastSeq).toBe(before);
    expect((await edits(alice, roomId, m.id)).body.edits).toEqual([]);
    await b.close();
  });

  it("an edit is validated like a send: empty, invisible-only or too long is 400 and changes nothing, on both transports", async () => {
    const m = await send(alice, roomId, "valid text");
    const bad = ["", "   ", "\u200B\u200B", "x".repeat(4001), "a\u202Eb"];
    const a = await SocketClient.connect(t.wsUrl, alice);
    for (const body of bad) {
      const res = await patch(alice, roomId, m.id, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "validation_failed" } });
      const ws = (await a.command({ type: "message.edit", roomId, messageId: m.id, body })) as ErrorFrame;
      expect(ws).toMatchObject({ type: "error", code: "validation_failed" });
    }
    expect((await patch(alice, roomId, m.id, {})).status).toBe(400);
    expect((await byId(roomId, m.id))).toMatchObject({ body: "valid text", editedAt: null });
    expect((await edits(alice, roomId, m.id)).body.edits).toEqual([]);
    expect(a.frames.some((f) => f.type === "message.edited" && f.message.id === m.id)).toBe(false);
    await a.close();
  });

  it("the author deletes over HTTP and the owner and an admin delete anyone's; another member may not (403)", async () => {
    const b = await SocketClient.connect(t.wsUrl, bob);
    const own = await send(alice, roomId, "alice deletes this");
    const res = await del(alice, roomId, own.id);
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({ id: own.id, seq: own.seq, body: "" });
    expect(res.body.message.deletedAt).toEqual(expect.any(String));
    const ev = await b.waitFor((f) => f.type === "message.deleted" && f.messageId === own.id);
    expect(ev).toMatchObject({ type: "message.deleted", roomId, messageId: own.id, deletedBy: alice.user.id, message: res.body.message });

    const bobs = await send(bob, roomId, "owner deletes this");
    const fromAlice = await send(alice, roomId, "bob may not delete this");
    const refused = await del(bob, roomId, fromAlice.id);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: "forbidden" } });
    const wsRefused = (await b.command({ type: "message.delete", roomId, messageId: fromAlice.id })) as ErrorFrame;
    expect(wsRefused).toMatchObject({ type: "error", code: "forbidden" });
    expect((await byId(roomId, fromAlice.id))?.body).toBe("bob may not delete this");
    expect((await del(alice, roomId, bobs.id)).status).toBe(200); // the owner
    expect((await byId(roomId, bobs.id))).toMatchObject({ body: "" });

    // An admin may too (no endpoint grants admin yet: set it in the database).
    const dave = await signup(t.baseUrl, "dave");
    expect((await dave.post(`/rooms/${roomId}/join`)).status).toBe(200);
    await t.server.store.db.updateTable("room_members").set({ role: "admin" }).where("room_id", "=", roomId).where("user_id", "=", dave.user.id).execute();
    expect((await del(dave, roomId, fromAlice.id)).status).toBe(200);

    // A deleted message cannot be edited nor deleted again; a non-member of a private room learns nothing.
    expect((await patch(alice, roomId, own.id, { body: "back from the dead" })).status).toBe(404);
    expect((await del(alice, roomId, own.id)).status).toBe(404);
    const wsEdit = (await b.command({ type: "message.edit", roomId, messageId: bobs.id, body: "again" })) as ErrorFrame;
    expect(wsEdit).toMatchObject({ type: "error", code: "not_found" });
    const secret = await send(alice, privateRoom, "secret");
    expect((await del(carol, privateRoom, secret.id)).status).toBe(404);
    expect((await del(carol, roomId, bobs.id)).status).toBe(403);
    await b.close();
  });

  it("after a deletion the text is gone: history, edit history, room list preview, and every table of the database", async () => {
    const text = `forget-me-${unique()}`;
    const m = await send(alice, privateRoom, `${text} v1`);
    expect((await patch(alice, privateRoom, m.id, { body: `${text} v2` })).status).toBe(200);
    expect((await patch(alice, privateRoom, m.id, { body: `${text} v3` })).status).toBe(200);
    expect((await edits(bob, privateRoom, m.id)).body.edits).toHaveLength(2);
    const unreadBefore = (await bob.get<{ room: { unreadCount: number } }>(`/rooms/${privateRoom}`)).body.room.unreadCount;
    expect(unreadBefore).toBeGreaterThan(0);

    expect((await del(alice, privateRoom, m.id)).status).toBe(200);
    const shown = (await history(bob, privateRoom)).find((x) => x.id === m.id);
    expect(shown).toMatchObject({ id: m.id, seq: m.seq, body: "" });
    expect(shown?.deletedAt).toEqual(expect.any(String));
    expect((await edits(bob, privateRoom, m.id)).body).toEqual({ edits: [] });
    const room = (await bob.get<{ room: { lastMessage: Message | null; unreadCount: number } }>(`/rooms/${privateRoom}`)).body.room;
    expect(room.lastMessage).toMatchObject({ id: m.id, body: "" });
    // A deleted message is not unread.
    expect(room.unreadCount).toBe(unreadBefore - 1);

    const db = t.server.store.db;
    const like = `%${text}%`;
    const count = async (table: string, column: string): Promise<number> => {
      const row = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${sql.ref(column)} like ${like}`.execute(db);
      return Number(row.rows[0]!.n);
    };
    expect(await count("messages", "body")).toBe(0);
    expect(await count("message_edits", "body")).toBe(0);
    expect(await count("room_events", "frame")).toBe(0);
    // Its rows are still there: the tombstone, and every seq of the log (only their frames changed).
    const events = await db.selectFrom("room_events").select(["seq", "type", "frame"]).where("room_id", "=", privateRoom).orderBy("seq").execute();
    expect(events.map((e) => Number(e.seq))).toEqual(events.map((_, i) => i + 1));
    expect(await db.selectFrom("message_edits").select("seq").where("message_id", "=", m.id).execute()).toEqual([]);
  });

  it("a resume from before the message replays its created and edit events without the text, then the deletion, in seq order, once each", async () => {
    const text = `resume-secret-${unique()}`;
    const room = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    const start = (await bob.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;

    const a = await SocketClient.connect(t.wsUrl, alice);
    const m = ((await a.command({ type: "message.send", roomId: room, body: `${text} one`, clientId: "r-1" })) as AckFrame).message!;
    const other = await send(bob, room, "unrelated");
    const edited = (await a.command({ type: "message.edit", roomId: room, messageId: m.id, body: `${text} two` })) as AckFrame;
    expect(edited.message).toMatchObject({ body: `${text} two` });
    const deleted = (await a.command({ type: "message.delete", roomId: room, messageId: m.id })) as AckFrame;
    expect(deleted.message).toMatchObject({ id: m.id, body: "" });
    await a.close();

    const b = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b.command({ type: "resume", rooms: { [room]: start } })) as AckFrame;
    const replayed = b.frames.filter((f) => roomEvents(f, room)) as (ServerFrame & { seq: number })[];
    expect(replayed.map((f) => f.type)).toEqual(["message.created", "message.created", "message.edited", "message.deleted"]);
    expect(replayed.map((f) => f.seq)).toEqual([start + 1, start + 2, start + 3, start + 4]);
    expect(ack.rooms).toEqual({ [room]: start + 4 });
    expect(JSON.stringify(b.frames)).not.toContain(text);
    const created = replayed[0]!;
    expect(created).toMatchObject({ type: "message.created", message: { id: m.id, seq: m.seq, body: "" } });
    expect(replayed[1]).toMatchObject({ message: { id: other.id, body: "unrelated" } });
    expect(replayed[3]).toMatchObject({ type: "message.deleted", messageId: m.id });
    expect(b.invalid).toEqual([]);
    await b.close();
  });

  it("a deletion blanks the emoji of its message's reaction events: a resume from 0 replays their seqs, none of their emoji", async () => {
    const room = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    const react = (as: Caller, method: "PUT" | "DELETE", messageId: string, emoji: string) =>
      as.request(method, `/rooms/${room}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
    const m = await send(alice, room, "react, then vanish");
    const other = await send(bob, room, "I stay");
    expect((await react(bob, "PUT", m.id, "🦄")).status).toBe(201);
    expect((await react(bob, "DELETE", m.id, "🦄")).status).toBe(200);
    expect((await react(alice, "PUT", m.id, "🦄")).status).toBe(201);
    const a = await SocketClient.connect(t.wsUrl, alice);
    expect(await a.command({ type: "reaction.add", roomId: room, messageId: m.id, emoji: "🐙" })).toMatchObject({ type: "ack" });
    expect(await a.command({ type: "reaction.add", roomId: room, messageId: other.id, emoji: "🐢" })).toMatchObject({ type: "ack" });
    expect((await del(alice, room, m.id)).status).toBe(200);
    await a.close();

    const b = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b.command({ type: "resume", rooms: { [room]: 0 } })) as AckFrame;
    const replayed = b.frames.filter((f) => roomEvents(f, room)) as (ServerFrame & { seq: number })[];
    // Every seq once, in order (invariant 4): the reaction events keep their seqs and types.
    expect(replayed.map((f) => f.seq)).toEqual(replayed.map((_, i) => i + 1));
    expect(ack.rooms).toEqual({ [room]: replayed.length });
    const ofMessage = replayed.filter((f) => (f.type === "reaction.added" || f.type === "reaction.removed") && f.messageId === m.id);
    expect(ofMessage.map((f) => [f.type, "emoji" in f ? f.emoji : undefined, "userId" in f ? f.userId : undefined])).toEqual([
      ["reaction.added", "", bob.user.id],
      ["reaction.removed", "", bob.user.id],
      ["reaction.added", "", alice.user.id],
      ["reaction.added", "", alice.user.id],
    ]);
    const text = JSON.stringify(b.frames);
    expect(text).not.toContain("🦄");
    expect(text).not.toContain("🐙");
    // Another message's reactions keep theirs.
    expect(replayed.find((f) => f.type === "reaction.added" && f.messageId === other.id)).toMatchObject({ emoji: "🐢" });
    expect(b.invalid).toEqual([]);
    await b.close();

    // Nor does the database keep them anywhere.
    const db = t.server.store.db;
    const frames = await db.selectFrom("room_events").select("frame").where("room_id", "=", room).execute();
    expect(frames.filter((f) => f.frame.includes("🦄") || f.frame.includes("🐙"))).toEqual([]);
    expect(await db.selectFrom("reactions").select("emoji").where("message_id", "=", m.id).execute()).toEqual([]);
  });

  it("a resume from before an edit replays the edit exactly once, and WS and HTTP edits give the same events", async () => {
    const m = await send(alice, roomId, "resume me");
    const a = await SocketClient.connect(t.wsUrl, alice);
    // Bob is away from here on: his last seq is the room's head now.
    const lastSeq = (await bob.get<{ room: { lastSeq: number } }>(`/rooms/${roomId}`)).body.room.lastSeq;

    const viaWs = (await a.command({ type: "message.edit", roomId, messageId: m.id, body: "edited on the socket" })) as AckFrame;
    const viaHttp = await patch(alice, roomId, m.id, { body: "edited over HTTP" });
    expect(viaWs.message).toMatchObject({ id: m.id, body: "edited on the socket" });
    expect(viaHttp.body.message).toMatchObject({ id: m.id, body: "edited over HTTP" });
    const wsEvent = await a.waitFor((f) => f.type === "message.edited" && f.message.body === "edited on the socket");
    const httpEvent = await a.waitFor((f) => f.type === "message.edited" && f.message.body === "edited over HTTP");
    expect(wsEvent).toMatchObject({ message: viaWs.message });
    expect(httpEvent).toMatchObject({ message: viaHttp.body.message });

    const b2 = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b2.command({ type: "resume", rooms: { [roomId]: lastSeq } })) as AckFrame;
    // Anything that went live on b2 before the resume is not repeated: seqs once each, ascending, no gaps.
    const seqs = b2.frames.filter((f) => roomEvents(f, roomId)).map((f) => (f as { seq: number }).seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual([lastSeq + 1, lastSeq + 2]);
    const got = b2.frames.filter((f) => f.type === "message.edited" && f.message.id === m.id);
    expect(got.map((f) => (f.type === "message.edited" ? f.message.body : ""))).toEqual(["edited on the socket", "edited over HTTP"]);
    expect(ack.rooms).toEqual({ [roomId]: lastSeq + 2 });
    await Promise.all([a.close(), b2.close()]);
  });

  it("requires authentication", async () => {
    const m = await send(alice, roomId, "anyone?");
    for (const [method, path] of [
      ["PATCH", `/rooms/${roomId}/messages/${m.id}`],
      ["DELETE", `/rooms/${roomId}/messages/${m.id}`],
      ["GET", `/rooms/${roomId}/messages/${m.id}/edits`],
    ] as const) {
      const res = await fetch(`${t.baseUrl}/api/v1${path}`, { method, headers: { "content-type": "application/json" }, body: method === "PATCH" ? JSON.stringify({ body: "x" }) : undefined });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect((await byId(roomId, m.id))?.body).toBe("anyone?");
  });
});
