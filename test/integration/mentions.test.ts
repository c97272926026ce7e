import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, signupBot, unique, type Caller } from "../support/client.js";
import type { AckFrame, ErrorFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import type { Message, Room } from "@shared/protocol/entities.js";

/**
 * Mentions over a real server: `@username` of a member is resolved at send
 * and at edit, stored, carried on the message live, in history and on
 * resume; `@room`/`@here` count only from owners and admins; the room list's
 * `mentionCount` counts my mentions after my read position.
 */
describe("mentions", () => {
  let t: TestServer;
  let ada: Caller; // owner of the room (cookie)
  let bob: Caller; // a member (Bearer)
  let cleo: Caller; // a member
  let dan: Caller; // in no room
  let roomId: string;

  const send = async (as: Caller, room: string, body: string): Promise<Message> => {
    const res = await as.post<{ message: Message }>(`/rooms/${room}/messages`, { body, clientId: `c-${unique()}` });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.message;
  };
  const patch = (as: Caller, room: string, messageId: string, body: unknown) =>
    as.request<{ message: Message }>("PATCH", `/rooms/${room}/messages/${messageId}`, body);
  const inHistory = async (as: Caller, room: string, id: string): Promise<Message | undefined> =>
    (await as.get<HistoryResponse>(`/rooms/${room}/messages?limit=100`)).body.messages.find((m) => m.id === id);
  const roomOf = async (as: Caller, room: string): Promise<Room> => {
    const res = await as.get<{ rooms: Room[] }>("/rooms");
    expect(res.status).toBe(200);
    const found = res.body.rooms.find((r) => r.id === room);
    if (!found) throw new Error("room not in the list");
    return found;
  };
  const mentionCount = async (as: Caller, room: string): Promise<number | undefined> => (await roomOf(as, room)).mentionCount;
  const head = async (room: string): Promise<number> => (await ada.get<{ room: Room }>(`/rooms/${room}`)).body.room.lastSeq;
  const readAll = async (as: Caller, room: string): Promise<void> => {
    expect((await as.post(`/rooms/${room}/read`, { seq: await head(room) })).status).toBe(204);
  };
  const mentionRows = (messageId: string) =>
    t.server.store.db.selectFrom("message_mentions").select(["user_id", "room_id", "seq"]).where("message_id", "=", messageId).orderBy("user_id").execute();

  beforeAll(async () => {
    t = await startTestServer();
    [ada, cleo, dan] = await Promise.all([signup(t.baseUrl, "ada"), signup(t.baseUrl, "cleo"), signup(t.baseUrl, "dan")]);
    bob = await signupBot(t.baseUrl, "bob");
    roomId = await createRoom(ada, "public");
    for (const c of [bob, cleo]) expect((await c.post(`/rooms/${roomId}/join`)).status).toBe(200);
  });
  afterAll(() => t.destroy());

  it("a member's @name is recorded and carried on the message: ack, live event, history; case-insensitive, deduped", async () => {
    const b = await SocketClient.connect(t.wsUrl, bob);
    const c = await SocketClient.connect(t.wsUrl, cleo);
    const body = `hey @${bob.user.username.toUpperCase()}, and again @${bob.user.username}!`;
    const ack = (await c.command({ type: "message.send", roomId, body, clientId: `c-${unique()}` })) as AckFrame;
    expect(ack.type).toBe("ack");
    const sent = ack.message as Message;
    expect(sent.mentions).toEqual({ userIds: [bob.user.id], room: false, here: false });
    const live = await b.waitFor((f) => f.type === "message.created" && f.message.id === sent.id);
    if (live.type !== "message.created") throw new Error("unreachable");
    expect(live.message).toEqual(sent);
    // History carries the same message (other features may add fields of their own there).
    expect(await inHistory(ada, roomId, sent.id)).toMatchObject(sent);
    expect(await mentionRows(sent.id)).toEqual([{ user_id: bob.user.id, room_id: roomId, seq: sent.seq }]);
    await Promise.all([b.close(), c.close()]);
  });

  it("a non-member's @name, an email address and a plain body are no mentions (no mentions field, no rows)", async () => {
    const plain = await send(ada, roomId, "no mention here");
    expect(plain.mentions).toBeUndefined();
    const outsider = await send(ada, roomId, `ping @${dan.user.username} and @nobody_${unique()}`);
    expect(outsider.mentions).toBeUndefined();
    const email = await send(ada, roomId, `write to ${bob.user.username}@example.test or x@${bob.user.username}`);
    expect(email.mentions).toBeUndefined();
    for (const m of [plain, outsider, email]) {
      expect(await mentionRows(m.id)).toEqual([]);
      expect((await inHistory(ada, roomId, m.id))?.mentions).toBeUndefined();
    }
    // The author may name themself: carried on the message, but nobody is notified of their own message.
    const self = await send(ada, roomId, `note to @${ada.user.username}`);
    expect(self.mentions).toEqual({ userIds: [ada.user.id], room: false, here: false });
    expect(await mentionRows(self.id)).toEqual([]);
  });

  it("@room and @here count from the owner and an admin; from a member they are plain text", async () => {
    const byMember = await send(bob, roomId, "@room @here lunch?");
    expect(byMember.mentions).toBeUndefined();
    expect(await mentionRows(byMember.id)).toEqual([]);

    const byOwner = await send(ada, roomId, "@room and @here: standup");
    expect(byOwner.mentions).toEqual({ userIds: [], room: true, here: true });
    // @room gives every other member a mention row; never the author.
    expect((await mentionRows(byOwner.id)).map((r) => r.user_id).sort()).toEqual([bob.user.id, cleo.user.id].sort());

    const hereOnly = await send(ada, roomId, `@here with @${cleo.user.username}`);
    expect(hereOnly.mentions).toEqual({ userIds: [cleo.user.id], room: false, here: true });
    // @here is not stored per user (who is online is ephemeral): only the named member's row.
    expect((await mentionRows(hereOnly.id)).map((r) => r.user_id)).toEqual([cleo.user.id]);

    // An admin (no endpoint grants the role yet: set it in the store) may too.
    await t.server.store.db.updateTable("room_members").set({ role: "admin" }).where("room_id", "=", roomId).where("user_id", "=", cleo.user.id).execute();
    const byAdmin = await send(cleo, roomId, "@ROOM heads up");
    expect(byAdmin.mentions).toEqual({ userIds: [], room: true, here: false });
    await t.server.store.db.updateTable("room_members").set({ role: "member" }).where("room_id", "=", roomId).where("user_id", "=", cleo.user.id).execute();
  });

  it("mentionCount in GET /rooms goes up for the mentioned user only, and resets after room.read", async () => {
    const room = await createRoom(ada, "private");
    for (const c of [bob, cleo]) expect((await ada.post(`/rooms/${room}/members`, { userId: c.user.id })).status).toBe(201);
    expect(await mentionCount(bob, room)).toBe(0);
    await send(ada, room, `@${bob.user.username} one`);
    await send(cleo, room, `@${bob.user.username} two`);
    await send(ada, room, "not a mention");
    expect(await mentionCount(bob, room)).toBe(2);
    expect(await mentionCount(cleo, room)).toBe(0);
    expect(await mentionCount(ada, room)).toBe(0);
    // The author's own message is never a mention of them, even with @room.
    await send(bob, room, "@room hello");
    expect(await mentionCount(bob, room)).toBe(2);

    // room.read over the socket resets it.
    const b = await SocketClient.connect(t.wsUrl, bob);
    const read = (await b.command({ type: "room.read", roomId: room, seq: await head(room) })) as AckFrame;
    expect(read.type).toBe("ack");
    expect(await mentionCount(bob, room)).toBe(0);
    await send(ada, room, `again @${bob.user.username}`);
    expect(await mentionCount(bob, room)).toBe(1);
    // And over HTTP.
    await readAll(bob, room);
    expect(await mentionCount(bob, room)).toBe(0);
    // Deleting a mentioning message takes its mention away.
    const gone = await send(ada, room, `@${cleo.user.username} soon deleted`);
    expect(await mentionCount(cleo, room)).toBe(1);
    expect((await ada.request("DELETE", `/rooms/${room}/messages/${gone.id}`)).status).toBe(200);
    expect(await mentionCount(cleo, room)).toBe(0);
    expect(await mentionRows(gone.id)).toEqual([]);
    expect((await inHistory(ada, room, gone.id))?.mentions).toBeUndefined();
    await b.close();
  });

  it("an edit that adds a mention records it, one that removes it removes it (live and in history)", async () => {
    const room = await createRoom(ada, "private");
    expect((await ada.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    await readAll(bob, room);
    const b = await SocketClient.connect(t.wsUrl, bob);
    const m = await send(ada, room, "hello team");
    expect(await mentionCount(bob, room)).toBe(1 - 1);

    const added = await patch(ada, room, m.id, { body: `hello @${bob.user.username}` });
    expect(added.status).toBe(200);
    expect(added.body.message.mentions).toEqual({ userIds: [bob.user.id], room: false, here: false });
    const ev = await b.waitFor((f) => f.type === "message.edited" && f.message.id === m.id && f.message.mentions !== undefined);
    if (ev.type !== "message.edited") throw new Error("unreachable");
    expect(ev.message).toEqual(added.body.message);
    expect(await mentionRows(m.id)).toEqual([{ user_id: bob.user.id, room_id: room, seq: m.seq }]);
    expect(await mentionCount(bob, room)).toBe(1);

    // Over the socket this time: the same service.
    const a = await SocketClient.connect(t.wsUrl, ada);
    const removed = (await a.command({ type: "message.edit", roomId: room, messageId: m.id, body: "hello everyone" })) as AckFrame;
    expect(removed.type).toBe("ack");
    expect((removed.message as Message).mentions).toBeUndefined();
    await b.waitFor((f) => f.type === "message.edited" && f.message.id === m.id && f.message.body === "hello everyone");
    expect(await mentionRows(m.id)).toEqual([]);
    expect(await mentionCount(bob, room)).toBe(0);
    expect((await inHistory(bob, room, m.id))?.mentions).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });

  it("bad input is refused as before and records nothing", async () => {
    const before = await head(roomId);
    const a = await SocketClient.connect(t.wsUrl, ada);
    for (const body of ["", "   ", `@${bob.user.username}${"x".repeat(4000)}`, "@\u202Ebob"]) {
      const res = await ada.post(`/rooms/${roomId}/messages`, { body });
      expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
      const ws = (await a.command({ type: "message.send", roomId, body, clientId: `c-${unique()}` })) as ErrorFrame;
      expect(ws).toMatchObject({ type: "error", code: "validation_failed" });
    }
    // A non-member may not mention anyone into a room it cannot write to.
    const refused = await dan.post(`/rooms/${roomId}/messages`, { body: `@${bob.user.username} hi` });
    expect(refused.status).toBe(403);
    expect(await head(roomId)).toBe(before);
    const rows = await t.server.store.db.selectFrom("message_mentions").select("seq").where("room_id", "=", roomId).where("seq", ">", before).execute();
    expect(rows).toEqual([]);
    await a.close();
  });

  it("resume replays a mentioning message with its mentions, once, in order", async () => {
    const lastSeq = await head(roomId);
    const m1 = await send(ada, roomId, `first @${bob.user.username}`);
    const m2 = await send(cleo, roomId, "second, plain");
    const b = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b.command({ type: "resume", rooms: { [roomId]: lastSeq } })) as AckFrame;
    const replayed = b.messages(roomId).map((f) => f.message);
    expect(replayed.map((m) => m.id)).toEqual([m1.id, m2.id]);
    expect(replayed[0]).toEqual(m1);
    expect(replayed[0]?.mentions).toEqual({ userIds: [bob.user.id], room: false, here: false });
    expect(replayed[1]?.mentions).toBeUndefined();
    expect(ack.rooms).toEqual({ [roomId]: m2.seq });
    await b.close();
  });
});
