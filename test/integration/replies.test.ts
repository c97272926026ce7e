import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, unique, type Caller } from "../support/client.js";
import { threePeople } from "../support/fixtures.js";
import type { AckFrame, ErrorFrame, ServerFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse, RepliesResponse } from "@shared/protocol/http.js";
import type { Message } from "@shared/protocol/entities.js";

/**
 * Replies and threads over a real server, on both transports: a reply's
 * quote of its root, one-level threads, the root's counters in history and
 * live, the replies endpoint, refusals that store nothing, membership,
 * resume, and history `around` a seq.
 */
describe("replies and threads", () => {
  let t: TestServer;
  let alice: Caller; // owner of the rooms (cookie)
  let bob: Caller; // a member (Bearer)
  let carol: Caller; // in no room
  let roomId: string; // public
  let privateRoom: string;
  let otherRoom: string;

  const send = (as: Caller, room: string, body: string, replyTo?: string): Promise<Message> =>
    postMessage(as, room, body, replyTo ? { replyTo } : {});
  const thread = (as: Caller, room: string, messageId: string, query = "") =>
    as.get<RepliesResponse>(`/rooms/${room}/messages/${messageId}/replies${query}`);
  const history = async (as: Caller, room: string, query = "?limit=100"): Promise<HistoryResponse> => {
    const res = await as.get<HistoryResponse>(`/rooms/${room}/messages${query}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const byId = async (room: string, id: string): Promise<Message | undefined> => (await history(alice, room)).messages.find((m) => m.id === id);
  const lastSeq = async (room: string): Promise<number> => (await alice.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;
  const messageCount = async (room: string): Promise<number> => {
    const row = await t.server.store.db.selectFrom("messages").select((eb) => eb.fn.countAll<number>().as("n")).where("room_id", "=", room).executeTakeFirstOrThrow();
    return Number(row.n);
  };

  beforeAll(async () => {
    ({ t, alice, bob, carol, roomId, privateRoom } = await threePeople());
    otherRoom = await createRoom(alice, "public");
  });
  afterAll(() => t.destroy());

  it("a reply over HTTP carries the root's author and the first 100 characters; another member sees it live, and the root's counters", async () => {
    const b = await SocketClient.connect(t.wsUrl, bob);
    const long = `${"a".repeat(60)} ${"b".repeat(60)}`;
    const root = await send(alice, roomId, long);
    expect(root).toMatchObject({ replyTo: null, replyCount: 0, lastReplyAt: null });
    const reply = await send(bob, roomId, "answer", root.id);
    expect(reply.replyTo).toEqual({ id: root.id, seq: root.seq, author: root.author, preview: `${"a".repeat(60)} ${"b".repeat(39)}…`, deleted: false });

    const ev = await b.waitFor((f) => f.type === "message.created" && f.message.id === reply.id);
    if (ev.type !== "message.created") throw new Error("unreachable");
    expect(ev.message).toEqual(reply);
    const seenRoot = await byId(roomId, root.id);
    expect(seenRoot).toMatchObject({ replyCount: 1, lastReplyAt: reply.createdAt, replyTo: null });
    // (Other features may add fields that a send's answer leaves out: compare what the send said.)
    expect(await byId(roomId, reply.id)).toMatchObject(reply);
    expect(b.invalid).toEqual([]);
    await b.close();
  });

  it("a reply over the WebSocket is acked with its quote and reaches everyone; a short root is quoted whole", async () => {
    const a = await SocketClient.connect(t.wsUrl, alice);
    const b = await SocketClient.connect(t.wsUrl, bob);
    const root = await send(alice, roomId, "short root");
    const ack = (await b.command({ type: "message.send", roomId, body: "ws answer", clientId: `w-${unique()}`, replyTo: root.id })) as AckFrame;
    expect(ack.type).toBe("ack");
    expect(ack.message!.replyTo).toEqual({ id: root.id, seq: root.seq, author: root.author, preview: "short root", deleted: false });
    const ev = await a.waitFor((f) => f.type === "message.created" && f.message.id === ack.message!.id);
    expect(ev).toMatchObject({ message: ack.message });
    // A retry with the same clientId is the same reply, counted once.
    const again = (await b.command({ type: "message.send", roomId, body: "ws answer", clientId: ack.message!.clientId, replyTo: root.id })) as AckFrame;
    expect(again.message).toEqual(ack.message);
    expect(await byId(roomId, root.id)).toMatchObject({ replyCount: 1 });
    await Promise.all([a.close(), b.close()]);
  });

  it("a reply to a reply attaches to the root (threads are one level)", async () => {
    const root = await send(alice, roomId, "root of a thread");
    const first = await send(bob, roomId, "first reply", root.id);
    const second = await send(alice, roomId, "reply to the reply", first.id);
    expect(second.replyTo).toMatchObject({ id: root.id, seq: root.seq, preview: "root of a thread" });
    expect(await byId(roomId, root.id)).toMatchObject({ replyCount: 2, lastReplyAt: second.createdAt });
    expect(await byId(roomId, first.id)).toMatchObject({ replyCount: 0, lastReplyAt: null });
    // The thread of a reply is its root's thread.
    const viaReply = await thread(bob, roomId, first.id);
    expect(viaReply.status).toBe(200);
    expect(viaReply.body.root.id).toBe(root.id);
    expect(viaReply.body.replies.map((m) => m.id)).toEqual([first.id, second.id]);
  });

  it("the replies endpoint lists the root and its replies in seq order, paging with after and limit", async () => {
    const root = await send(alice, roomId, "paged thread");
    const replies: Message[] = [];
    for (let i = 0; i < 5; i++) {
      replies.push(await send(i % 2 ? alice : bob, roomId, `reply ${i}`, root.id));
      await send(bob, roomId, `noise ${i}`); // not in the thread
    }
    const first = await thread(bob, roomId, root.id, "?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.root).toMatchObject({ id: root.id, replyCount: 5, lastReplyAt: replies[4]!.createdAt });
    expect(first.body.replies.map((m) => m.body)).toEqual(["reply 0", "reply 1"]);
    expect(first.body.hasMore).toBe(true);
    const next = await thread(bob, roomId, root.id, `?limit=2&after=${first.body.replies[1]!.seq}`);
    expect(next.body.replies.map((m) => m.body)).toEqual(["reply 2", "reply 3"]);
    const last = await thread(bob, roomId, root.id, `?after=${next.body.replies[1]!.seq}`);
    expect(last.body.replies.map((m) => m.body)).toEqual(["reply 4"]);
    expect(last.body.hasMore).toBe(false);
    expect([...first.body.replies, ...next.body.replies, ...last.body.replies]).toMatchObject(replies);
    // A message nobody answered is a thread of one.
    const lone = await send(alice, roomId, "lonely");
    expect((await thread(alice, roomId, lone.id)).body).toMatchObject({ root: lone, replies: [], hasMore: false });
    // Bad input: a stable code.
    const bad = await thread(alice, roomId, root.id, "?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: "validation_failed" } });
  });

  it("the replies endpoint carries reactions on the root and on each reply, as history does", async () => {
    const react = async (as: Caller, messageId: string, emoji: string, method: "PUT" | "DELETE" = "PUT") => {
      const res = await as.request(method, `/rooms/${roomId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
      expect(res.status).toBe(method === "PUT" ? 201 : 200);
    };
    const root = await send(alice, roomId, "react to the thread");
    const liked = await send(bob, roomId, "liked reply", root.id);
    const plain = await send(alice, roomId, "reply nobody reacts to", root.id);
    const undone = await send(bob, roomId, "reaction taken back", root.id);
    const gone = await send(bob, roomId, "reacted, then deleted", root.id);
    await react(alice, root.id, "👍");
    await react(bob, root.id, "👍");
    await react(bob, root.id, "🎉");
    await react(alice, liked.id, "❤️");
    await react(alice, undone.id, "😮");
    await react(alice, undone.id, "😮", "DELETE");
    await react(alice, gone.id, "👍");
    expect((await bob.request("DELETE", `/rooms/${roomId}/messages/${gone.id}`)).status).toBe(200);

    const res = await thread(bob, roomId, root.id);
    expect(res.status).toBe(200);
    expect(res.body.root.reactions).toEqual([
      { emoji: "👍", count: 2, userIds: [alice.user.id, bob.user.id] },
      { emoji: "🎉", count: 1, userIds: [bob.user.id] },
    ]);
    const reactionsById = Object.fromEntries(res.body.replies.map((m) => [m.id, m.reactions]));
    expect(reactionsById).toEqual({
      [liked.id]: [{ emoji: "❤️", count: 1, userIds: [alice.user.id] }],
      [plain.id]: [],
      [undone.id]: [],
      [gone.id]: [], // a deleted message has none
    });
    // The same reactions as a history page shows for the same messages.
    const page = await history(bob, roomId);
    for (const m of [res.body.root, ...res.body.replies]) expect(page.messages.find((h) => h.id === m.id)?.reactions).toEqual(m.reactions);
    // A later page of the thread carries them too; so does the thread opened through a reply's id.
    const later = await thread(bob, roomId, root.id, `?after=${liked.seq}&limit=1`);
    expect(later.body.replies).toMatchObject([{ id: plain.id, reactions: [] }]);
    const viaReply = await thread(alice, roomId, liked.id, "?limit=1");
    expect(viaReply.body.root.reactions).toEqual(res.body.root.reactions);
    expect(viaReply.body.replies).toMatchObject([{ id: liked.id, reactions: reactionsById[liked.id] }]);
  });

  it("a reply to a deleted, unknown or other room's message is refused 404 over both transports, and nothing is stored", async () => {
    const gone = await send(alice, roomId, "to be deleted");
    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${gone.id}`)).status).toBe(200);
    const elsewhere = await send(alice, otherRoom, "in another room");
    const root = await send(alice, roomId, "live root");
    const b = await SocketClient.connect(t.wsUrl, bob);
    const beforeSeq = await lastSeq(roomId);
    const beforeCount = await messageCount(roomId);
    for (const target of [gone.id, "no-such-message", elsewhere.id]) {
      const res = await bob.post<{ error: { code: string } }>(`/rooms/${roomId}/messages`, { body: "nope", replyTo: target });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
      const err = (await b.command({ type: "message.send", roomId, body: "nope", clientId: `x-${unique()}`, replyTo: target })) as ErrorFrame;
      expect(err).toMatchObject({ type: "error", code: "not_found" });
    }
    // A bad replyTo is a validation error, and the socket stays open.
    const invalid = (await b.command({ type: "message.send", roomId, body: "nope", clientId: `x-${unique()}`, replyTo: "x".repeat(65) })) as ErrorFrame;
    expect(invalid).toMatchObject({ type: "error", code: "validation_failed" });
    expect(await lastSeq(roomId)).toBe(beforeSeq);
    expect(await messageCount(roomId)).toBe(beforeCount);
    expect(await byId(roomId, gone.id)).toMatchObject({ replyCount: 0 });
    // Still usable: a good reply goes through on the same socket.
    const ok = (await b.command({ type: "message.send", roomId, body: "yes", clientId: `y-${unique()}`, replyTo: root.id })) as AckFrame;
    expect(ok.type).toBe("ack");
    expect(b.closeInfo).toBeNull();
    // A reply whose root was deleted since cannot be answered either: the thread's root is gone.
    const inThread = await send(bob, roomId, "reply in doomed thread", root.id);
    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${root.id}`)).status).toBe(200);
    expect((await bob.post(`/rooms/${roomId}/messages`, { body: "late", replyTo: inThread.id })).status).toBe(404);
    await b.close();
  });

  it("deleting a root shows 'deleted' in its replies' quotes and erases its text from their stored events", async () => {
    const secret = `root-secret-${unique()}`;
    const room = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    const start = await lastSeq(room);
    const root = await send(alice, room, secret);
    const reply = await send(bob, room, "a reply", root.id);
    expect((await bob.request("PATCH", `/rooms/${room}/messages/${reply.id}`, { body: "an edited reply" })).status).toBe(200);
    expect((await alice.request("DELETE", `/rooms/${room}/messages/${root.id}`)).status).toBe(200);
    expect(await byId(room, reply.id)).toMatchObject({ body: "an edited reply", replyTo: { id: root.id, preview: "", deleted: true } });
    const t1 = await thread(bob, room, root.id);
    expect(t1.body.root).toMatchObject({ body: "", replyCount: 1 });
    expect(t1.body.replies.map((m) => m.id)).toEqual([reply.id]);
    const b = await SocketClient.connect(t.wsUrl, bob);
    await b.command({ type: "resume", rooms: { [room]: start } });
    expect(JSON.stringify(b.frames)).not.toContain(secret);
    const frames = await t.server.store.db.selectFrom("room_events").select("frame").where("room_id", "=", room).execute();
    expect(frames.map((f) => f.frame).join("\n")).not.toContain(secret);
    await b.close();
  });

  it("non-members cannot reply nor read a thread: 404 for a private room, 403 for a public one", async () => {
    const priv = await send(alice, privateRoom, "private root");
    const pub = await send(alice, roomId, "public root");
    const c = await SocketClient.connect(t.wsUrl, carol);
    const before = await messageCount(privateRoom);
    expect((await carol.post(`/rooms/${privateRoom}/messages`, { body: "hi", replyTo: priv.id })).status).toBe(404);
    expect((await carol.post(`/rooms/${roomId}/messages`, { body: "hi", replyTo: pub.id })).status).toBe(403);
    expect((await thread(carol, privateRoom, priv.id)).status).toBe(404);
    expect((await thread(carol, roomId, pub.id)).status).toBe(403);
    expect(await c.command({ type: "message.send", roomId: privateRoom, body: "hi", clientId: "c1", replyTo: priv.id })).toMatchObject({ code: "not_found" });
    expect(await c.command({ type: "message.send", roomId, body: "hi", clientId: "c2", replyTo: pub.id })).toMatchObject({ code: "forbidden" });
    expect(await messageCount(privateRoom)).toBe(before);
    expect(await byId(privateRoom, priv.id)).toMatchObject({ replyCount: 0 });
    // Unauthenticated.
    const anon = await fetch(`${t.baseUrl}/api/v1/rooms/${roomId}/messages/${pub.id}/replies`);
    expect(anon.status).toBe(401);
    await c.close();
  });

  it("resume replays a reply with its replyTo, once, in seq order", async () => {
    const room = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    const start = await lastSeq(room);
    const root = await send(alice, room, "resume root");
    const a = await SocketClient.connect(t.wsUrl, alice);
    const ack = (await a.command({ type: "message.send", roomId: room, body: "resume reply", clientId: "rr-1", replyTo: root.id })) as AckFrame;
    await a.close();
    const b = await SocketClient.connect(t.wsUrl, bob);
    const done = (await b.command({ type: "resume", rooms: { [room]: start } })) as AckFrame;
    const replayed = b.frames.filter((f): f is Extract<ServerFrame, { type: "message.created" }> => f.type === "message.created" && f.roomId === room);
    expect(replayed.map((f) => f.seq)).toEqual([start + 1, start + 2]);
    expect(replayed[1]!.message).toEqual(ack.message);
    expect(replayed[1]!.message.replyTo).toMatchObject({ id: root.id, seq: root.seq, preview: "resume root", deleted: false });
    expect(done.rooms).toEqual({ [room]: start + 2 });
    expect(b.invalid).toEqual([]);
    await b.close();
  });

  it("history around= returns the page containing the seq, with hasMore both ways", async () => {
    const room = await createRoom(alice, "public");
    const sent: Message[] = [];
    for (let i = 0; i < 30; i++) sent.push(await send(alice, room, `m${i}`));
    const target = sent[12]!;
    const page = await history(alice, room, `?around=${target.seq}&limit=10`);
    expect(page.messages.map((m) => m.body)).toEqual(["m7", "m8", "m9", "m10", "m11", "m12", "m13", "m14", "m15", "m16"]);
    expect(page.hasMore).toBe(true);
    expect(page.hasMoreAfter).toBe(true);
    const seqs = page.messages.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    // Near the start and the end.
    const head = await history(alice, room, `?around=${sent[1]!.seq}&limit=10`);
    expect(head.messages[0]!.body).toBe("m0");
    expect(head.messages.map((m) => m.body)).toContain("m1");
    expect(head.hasMore).toBe(false);
    const tail = await history(alice, room, `?around=${sent[29]!.seq}&limit=10`);
    expect(tail.messages.at(-1)!.body).toBe("m29");
    expect(tail.hasMoreAfter).toBe(false);
    // One cursor at a time.
    const both = await alice.get<{ error: { code: string } }>(`/rooms/${room}/messages?around=3&before=9`);
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe("validation_failed");
    // Members only.
    expect((await carol.get(`/rooms/${privateRoom}/messages?around=1`)).status).toBe(404);
  });

  describe("thread replies (issue 16): kept in their thread unless also sent to the room", () => {
    type Created = Extract<ServerFrame, { type: "message.created" }>;
    const author = (c: Caller) => ({ id: c.user.id, username: c.user.username, displayName: c.user.displayName });
    const roomOf = async (as: Caller, room: string) =>
      (await as.get<{ room: { unreadCount: number; mentionCount?: number; lastReadSeq: number } }>(`/rooms/${room}`)).body.room;

    it("a thread reply is flagged in the ack, the live event, history, the thread and resume; a quote-reply is not; the root names its repliers", async () => {
      const room = await createRoom(alice, "private");
      expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
      expect((await alice.post(`/rooms/${room}/members`, { userId: carol.user.id })).status).toBe(201);
      const root = await send(alice, room, "where shall we eat?");
      const start = await lastSeq(room);
      const a = await SocketClient.connect(t.wsUrl, alice);
      const b = await SocketClient.connect(t.wsUrl, bob);

      // bob in the thread, over the socket: inThread, not in the room.
      const ack = (await b.command({ type: "message.send", roomId: room, body: "the noodle place", clientId: `tr-${unique()}`, replyTo: root.id, inThread: true })) as AckFrame;
      expect(ack.type).toBe("ack");
      const inThread = ack.message!;
      expect(inThread).toMatchObject({ inThread: true, alsoInRoom: false, replyTo: { id: root.id } });
      const live = (await a.waitFor((f) => f.type === "message.created" && f.message.id === inThread.id)) as Created;
      expect(live.message).toEqual(inThread);
      // alice in the thread, also sent to the room, over HTTP.
      const both = await postMessage(alice, room, "fine by me", { replyTo: root.id, inThread: true, alsoInRoom: true });
      expect(both).toMatchObject({ inThread: true, alsoInRoom: true });
      // carol quote-replies from the timeline: as before, no flag.
      const quote = await send(carol, room, "I'm in", root.id);
      expect(quote).not.toHaveProperty("inThread");
      expect(quote).not.toHaveProperty("alsoInRoom");
      // bob again: he moves to the front of the repliers, once.
      const again = await postMessage(bob, room, "7 pm?", { replyTo: root.id, inThread: true });

      // History (contract v1: every message, ascending seq) carries the flags; the root counts all four.
      const page = await history(bob, room);
      const byIdIn = (id: string) => page.messages.find((m) => m.id === id);
      expect(page.messages.map((m) => m.id)).toEqual([root.id, inThread.id, both.id, quote.id, again.id]);
      expect(byIdIn(inThread.id)).toMatchObject({ inThread: true, alsoInRoom: false });
      expect(byIdIn(inThread.id)).not.toHaveProperty("repliers");
      expect(byIdIn(both.id)).toMatchObject({ inThread: true, alsoInRoom: true });
      expect(byIdIn(quote.id)).not.toHaveProperty("inThread");
      expect(byIdIn(root.id)).toMatchObject({ replyCount: 4, lastReplyAt: again.createdAt, repliers: [author(bob), author(carol), author(alice)] });
      expect(byIdIn(root.id)).not.toHaveProperty("inThread");

      // The thread: the same root summary and the same flags.
      const th = await thread(carol, room, root.id);
      expect(th.body.root).toMatchObject({ replyCount: 4, repliers: [author(bob), author(carol), author(alice)] });
      expect(th.body.replies.map((m) => [m.id, m.inThread ?? false, m.alsoInRoom ?? false])).toEqual([
        [inThread.id, true, false],
        [both.id, true, true],
        [quote.id, false, false],
        [again.id, true, false],
      ]);

      // Resume replays each kind exactly as it was delivered live.
      const c = await SocketClient.connect(t.wsUrl, carol);
      await c.command({ type: "resume", rooms: { [room]: start } });
      const replayed = c.frames.filter((f): f is Created => f.type === "message.created" && f.roomId === room);
      expect(replayed.map((f) => f.message.id)).toEqual([inThread.id, both.id, quote.id, again.id]);
      expect(replayed[0]!.message).toEqual(inThread);
      expect(replayed[1]!.message).toMatchObject({ inThread: true, alsoInRoom: true });
      expect(replayed[2]!.message).not.toHaveProperty("inThread");
      expect([a, b, c].flatMap((x) => x.invalid)).toEqual([]);
      await Promise.all([a.close(), b.close(), c.close()]);
    });

    it("an edit and a deletion keep a thread reply in its thread; the root's summary stays (deleted replies count)", async () => {
      const root = await send(alice, roomId, "edit me in a thread");
      const reply = await postMessage(bob, roomId, "first draft", { replyTo: root.id, inThread: true });
      const a = await SocketClient.connect(t.wsUrl, alice);
      expect((await bob.request("PATCH", `/rooms/${roomId}/messages/${reply.id}`, { body: "second draft" })).status).toBe(200);
      const edited = await a.waitFor((f) => f.type === "message.edited" && f.message.id === reply.id);
      expect(edited).toMatchObject({ message: { body: "second draft", inThread: true, alsoInRoom: false } });
      expect((await bob.request("DELETE", `/rooms/${roomId}/messages/${reply.id}`)).status).toBeLessThan(300);
      const deleted = await a.waitFor((f) => f.type === "message.deleted" && f.message.id === reply.id);
      expect(deleted).toMatchObject({ message: { body: "", inThread: true, alsoInRoom: false } });
      expect(await byId(roomId, reply.id)).toMatchObject({ deletedAt: expect.any(String), inThread: true, alsoInRoom: false });
      expect(await byId(roomId, root.id)).toMatchObject({ replyCount: 1, repliers: [author(bob)] });
      expect(a.invalid).toEqual([]);
      await a.close();
    });

    it("inThread without replyTo, or alsoInRoom without inThread, is refused over both transports and stores nothing", async () => {
      const root = await send(alice, roomId, "a root for refusals");
      const before = await messageCount(roomId);
      const noReply = await alice.post<{ error: { code: string; details: { path: string }[] } }>(`/rooms/${roomId}/messages`, { body: "x", inThread: true });
      expect(noReply.status).toBe(400);
      expect(noReply.body.error).toMatchObject({ code: "validation_failed", details: [{ path: "inThread" }] });
      const notThread = await alice.post<{ error: { code: string; details: { path: string }[] } }>(`/rooms/${roomId}/messages`, { body: "x", replyTo: root.id, alsoInRoom: true });
      expect(notThread.status).toBe(400);
      expect(notThread.body.error).toMatchObject({ code: "validation_failed", details: [{ path: "alsoInRoom" }] });
      const notBoolean = await alice.post(`/rooms/${roomId}/messages`, { body: "x", replyTo: root.id, inThread: "yes" });
      expect(notBoolean.status).toBe(400);
      const b = await SocketClient.connect(t.wsUrl, bob);
      const err = (await b.command({ type: "message.send", roomId, body: "x", clientId: `r-${unique()}`, alsoInRoom: true, inThread: true })) as ErrorFrame;
      expect(err).toMatchObject({ type: "error", code: "validation_failed" });
      expect(b.closeInfo).toBeNull();
      await b.close();
      expect(await messageCount(roomId)).toBe(before);
      expect(await byId(roomId, root.id)).toMatchObject({ replyCount: 0 });
    });

    it("a thread-only reply is not unread in the room; one that mentions you counts as a mention; one also sent to the room is unread", async () => {
      const room = await createRoom(alice, "private");
      expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
      const root = await send(alice, room, "a root");
      expect((await bob.post(`/rooms/${room}/read`, { seq: root.seq })).status).toBeLessThan(300);
      expect(await roomOf(bob, room)).toMatchObject({ unreadCount: 0, mentionCount: 0 });
      await postMessage(alice, room, "only in the thread", { replyTo: root.id, inThread: true });
      await postMessage(alice, room, `@${bob.user.username} look`, { replyTo: root.id, inThread: true });
      expect(await roomOf(bob, room)).toMatchObject({ unreadCount: 0, mentionCount: 1 });
      await postMessage(alice, room, "in the thread and the room", { replyTo: root.id, inThread: true, alsoInRoom: true });
      await send(alice, room, "quoted", root.id);
      expect(await roomOf(bob, room)).toMatchObject({ unreadCount: 2, mentionCount: 1 });
    });
  });
});
