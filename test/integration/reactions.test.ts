import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, signup, type Caller } from "../support/client.js";
import { threePeople } from "../support/fixtures.js";
import type { AckFrame, ErrorFrame, ServerFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import type { Message } from "@shared/protocol/entities.js";
import { ReactionAddedEventSchema, ReactionRemovedEventSchema, type Reaction, type ReactionsResponse } from "@shared/protocol/reactions.js";

/**
 * Reactions over a real server, on both transports: what other members
 * see live, what history pages carry, what resume replays, who may react
 * to what, and the bounds (bad emoji, deleted messages, distinct emoji per
 * message). Every frame a SocketClient gets is checked against the shared
 * ServerFrameSchema; the events here also against their own schemas.
 */
describe("reactions", () => {
  let t: TestServer;
  let alice: Caller; // owner of the rooms (cookie)
  let bob: Caller; // a member (Bearer)
  let carol: Caller; // in no room
  let roomId: string; // public
  let privateRoom: string;

  const send = (as: Caller, room: string, body: string): Promise<Message> => postMessage(as, room, body);
  const path = (room: string, messageId: string, emoji: string) => `/rooms/${room}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;
  const put = (as: Caller, room: string, messageId: string, emoji: string) => as.request<ReactionsResponse>("PUT", path(room, messageId, emoji));
  const del = (as: Caller, room: string, messageId: string, emoji: string) => as.request<ReactionsResponse>("DELETE", path(room, messageId, emoji));
  const history = async (as: Caller, room: string, query = "limit=100"): Promise<Message[]> => {
    const res = await as.get<HistoryResponse>(`/rooms/${room}/messages?${query}`);
    expect(res.status).toBe(200);
    return res.body.messages;
  };
  const reactionsOf = async (room: string, id: string): Promise<Reaction[] | undefined> => (await history(alice, room)).find((m) => m.id === id)?.reactions;
  const lastSeq = async (room: string): Promise<number> => (await alice.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;
  const reactionEvents = (c: SocketClient, room: string) =>
    c.frames.filter((f): f is Extract<ServerFrame, { type: "reaction.added" | "reaction.removed" }> => (f.type === "reaction.added" || f.type === "reaction.removed") && f.roomId === room);

  beforeAll(async () => {
    // The bad-emoji case sends more malformed commands than the default 20 a minute one socket may.
    ({ t, alice, bob, carol, roomId, privateRoom } = await threePeople({ wsInvalidFramesPerMinute: 1000 }));
  });
  afterAll(() => t.destroy());

  it("a reaction reaches the other members live, and a fresh history page agrees with the events", async () => {
    const b = await SocketClient.connect(t.wsUrl, bob);
    const m = await send(bob, roomId, "lunch at noon?");
    const before = await lastSeq(roomId);

    const res = await put(alice, roomId, m.id, "👍");
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ messageId: m.id, reactions: [{ emoji: "👍", count: 1, userIds: [alice.user.id] }] });
    const ev = await b.waitFor((f) => f.type === "reaction.added" && f.messageId === m.id);
    expect(ReactionAddedEventSchema.parse(ev)).toEqual({ type: "reaction.added", roomId, seq: before + 1, messageId: m.id, emoji: "👍", userId: alice.user.id });
    // The room's seq moved for the reaction (invariant 4).
    expect(await lastSeq(roomId)).toBe(before + 1);

    // Bob adds his on the socket: the ack carries the message's reactions, and his own socket gets the event too.
    const ack = (await b.command({ type: "reaction.add", roomId, messageId: m.id, emoji: "👍" })) as AckFrame;
    expect(ack).toMatchObject({ type: "ack", reactions: [{ emoji: "👍", count: 2, userIds: [alice.user.id, bob.user.id] }] });
    await b.waitFor((f) => f.type === "reaction.added" && f.userId === bob.user.id);
    expect((await put(alice, roomId, m.id, "🎉")).status).toBe(201);

    expect(await reactionsOf(roomId, m.id)).toEqual([
      { emoji: "👍", count: 2, userIds: [alice.user.id, bob.user.id] },
      { emoji: "🎉", count: 1, userIds: [alice.user.id] },
    ]);
    expect(b.invalid).toEqual([]);
    await b.close();
  });

  it("toggling twice leaves nothing, on both transports; an add that exists and a remove that does not take no seq", async () => {
    const m = await send(alice, roomId, "toggle me");
    const a = await SocketClient.connect(t.wsUrl, alice);
    const start = await lastSeq(roomId);

    expect((await put(bob, roomId, m.id, "❤️")).status).toBe(201);
    const removed = await del(bob, roomId, m.id, "❤️");
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ messageId: m.id, reactions: [] });
    expect((await a.command({ type: "reaction.add", roomId, messageId: m.id, emoji: "😂" })) as AckFrame).toMatchObject({ type: "ack", reactions: [{ emoji: "😂", count: 1 }] });
    expect((await a.command({ type: "reaction.remove", roomId, messageId: m.id, emoji: "😂" })) as AckFrame).toMatchObject({ type: "ack", reactions: [] });
    expect(await reactionsOf(roomId, m.id)).toEqual([]);
    expect(await lastSeq(roomId)).toBe(start + 4);

    // Nothing to remove: 200, nothing changes, no event.
    const nothing = await del(bob, roomId, m.id, "❤️");
    expect(nothing.status).toBe(200);
    expect(nothing.body).toEqual({ messageId: m.id, reactions: [] });
    expect((await a.command({ type: "reaction.remove", roomId, messageId: m.id, emoji: "😂" })) as AckFrame).toMatchObject({ type: "ack", reactions: [] });
    expect(await lastSeq(roomId)).toBe(start + 4);
    const seen = reactionEvents(a, roomId).filter((f) => f.messageId === m.id);
    expect(seen.map((f) => `${f.type} ${f.emoji}`)).toEqual(["reaction.added ❤️", "reaction.removed ❤️", "reaction.added 😂", "reaction.removed 😂"]);
    for (const f of seen) (f.type === "reaction.added" ? ReactionAddedEventSchema : ReactionRemovedEventSchema).parse(f);
    await a.close();
  });

  it("one reaction per emoji per person: the same emoji again is 200 and counts once; another emoji is another reaction", async () => {
    const m = await send(alice, roomId, "count me once");
    const start = await lastSeq(roomId);
    expect((await put(bob, roomId, m.id, "🎉")).status).toBe(201);
    const again = await put(bob, roomId, m.id, "🎉");
    expect(again.status).toBe(200);
    expect(again.body.reactions).toEqual([{ emoji: "🎉", count: 1, userIds: [bob.user.id] }]);
    const b = await SocketClient.connect(t.wsUrl, bob);
    expect((await b.command({ type: "reaction.add", roomId, messageId: m.id, emoji: "🎉" })) as AckFrame).toMatchObject({ reactions: [{ emoji: "🎉", count: 1 }] });
    expect(await lastSeq(roomId)).toBe(start + 1);

    expect((await put(bob, roomId, m.id, "😮")).status).toBe(201);
    expect((await put(alice, roomId, m.id, "🎉")).status).toBe(201);
    expect(await reactionsOf(roomId, m.id)).toEqual([
      { emoji: "🎉", count: 2, userIds: [bob.user.id, alice.user.id] },
      { emoji: "😮", count: 1, userIds: [bob.user.id] },
    ]);
    // Removing one's own leaves the others' alone.
    expect((await del(bob, roomId, m.id, "🎉")).body.reactions).toEqual([
      { emoji: "🎉", count: 1, userIds: [alice.user.id] },
      { emoji: "😮", count: 1, userIds: [bob.user.id] },
    ]);
    await b.close();
  });

  it("accepts every kind of single emoji, the longest sequences included, percent-encoded in the path", async () => {
    const m = await send(alice, roomId, "so many kinds");
    const kinds = ["👍🏽", "❤️", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🧑🏻‍❤️‍💋‍🧑🏼", "©️", "☺️", "🏳️‍🌈", "🫱🏻‍🫲🏿"];
    for (const emoji of kinds) expect((await put(alice, roomId, m.id, emoji)).status, emoji).toBe(201);
    expect((await reactionsOf(roomId, m.id))?.map((r) => r.emoji)).toEqual(kinds);
  });

  it("a history page carries each message's aggregated reactions ([] for none), older pages too", async () => {
    const room = await createRoom(alice, "public");
    expect((await bob.post(`/rooms/${room}/join`)).status).toBe(200);
    const ms: Message[] = [];
    for (let i = 0; i < 5; i++) ms.push(await send(alice, room, `page message ${i}`));
    await put(alice, room, ms[0]!.id, "👍");
    await put(bob, room, ms[0]!.id, "👍");
    await put(bob, room, ms[0]!.id, "😢");
    await put(bob, room, ms[3]!.id, "🎉");

    const newest = await bob.get<HistoryResponse>(`/rooms/${room}/messages?limit=2`);
    expect(newest.body.messages.map((m) => m.id)).toEqual([ms[3]!.id, ms[4]!.id]);
    expect(newest.body.messages.map((m) => m.reactions)).toEqual([[{ emoji: "🎉", count: 1, userIds: [bob.user.id] }], []]);
    const older = await bob.get<HistoryResponse>(`/rooms/${room}/messages?before=${ms[3]!.seq}&limit=100`);
    const first = older.body.messages.find((m) => m.id === ms[0]!.id);
    expect(first?.reactions).toEqual([
      { emoji: "👍", count: 2, userIds: [alice.user.id, bob.user.id] },
      { emoji: "😢", count: 1, userIds: [bob.user.id] },
    ]);
    // Every message of a page has the field; messages of other rooms' reactions never leak in.
    for (const m of [...newest.body.messages, ...older.body.messages]) expect(Array.isArray(m.reactions), m.id).toBe(true);
    expect(older.body.messages.filter((m) => m.id !== ms[0]!.id).every((m) => m.reactions!.length === 0)).toBe(true);
  });

  it("a resume replays the adds and removes in seq order, exactly once, and ends where a fresh fetch agrees", async () => {
    const room = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    const m = await send(alice, room, "react while bob is away");
    const away = (await bob.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;

    const a = await SocketClient.connect(t.wsUrl, alice);
    await a.command({ type: "reaction.add", roomId: room, messageId: m.id, emoji: "👍" });
    await put(alice, room, m.id, "🎉");
    await a.command({ type: "reaction.remove", roomId: room, messageId: m.id, emoji: "👍" });
    await put(alice, room, m.id, "🎉"); // already there: no event
    await del(alice, room, m.id, "😮"); // not there: no event
    await a.command({ type: "reaction.add", roomId: room, messageId: m.id, emoji: "😮" });
    await a.close();

    const b = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b.command({ type: "resume", rooms: { [room]: away } })) as AckFrame;
    const replayed = reactionEvents(b, room);
    expect(replayed.map((f) => `${f.type} ${f.emoji}`)).toEqual(["reaction.added 👍", "reaction.added 🎉", "reaction.removed 👍", "reaction.added 😮"]);
    expect(replayed.map((f) => f.seq)).toEqual([away + 1, away + 2, away + 3, away + 4]);
    expect(ack.rooms).toEqual({ [room]: away + 4 });
    expect(replayed.every((f) => f.userId === alice.user.id && f.messageId === m.id)).toBe(true);

    // A second resume from the new position replays nothing.
    const again = (await b.command({ type: "resume", rooms: { [room]: away + 4 } })) as AckFrame;
    expect(again.rooms).toEqual({ [room]: away + 4 });
    expect(reactionEvents(b, room)).toHaveLength(4);
    // The events, applied, give what a fresh page shows.
    expect((await history(bob, room)).find((x) => x.id === m.id)?.reactions).toEqual([
      { emoji: "🎉", count: 1, userIds: [alice.user.id] },
      { emoji: "😮", count: 1, userIds: [alice.user.id] },
    ]);
    expect(b.invalid).toEqual([]);
    await b.close();
  });

  it("members only: 404 to a non-member of a private room, 403 to one of a public room, on both transports; nothing changes", async () => {
    const secret = await send(alice, privateRoom, "secret");
    const pub = await send(alice, roomId, "public but joined only");
    const c = await SocketClient.connect(t.wsUrl, carol);
    const hidden = await put(carol, privateRoom, secret.id, "👍");
    expect(hidden.status).toBe(404);
    expect(hidden.body).toMatchObject({ error: { code: "not_found" } });
    expect((await del(carol, privateRoom, secret.id, "👍")).status).toBe(404);
    expect((await c.command({ type: "reaction.add", roomId: privateRoom, messageId: secret.id, emoji: "👍" })) as ErrorFrame).toMatchObject({ type: "error", code: "not_found" });
    const outsider = await put(carol, roomId, pub.id, "👍");
    expect(outsider.status).toBe(403);
    expect(outsider.body).toMatchObject({ error: { code: "forbidden" } });
    expect((await del(carol, roomId, pub.id, "👍")).status).toBe(403);
    expect((await c.command({ type: "reaction.add", roomId, messageId: pub.id, emoji: "👍" })) as ErrorFrame).toMatchObject({ type: "error", code: "forbidden" });
    // A message id of another room is not found there, nor is an unknown one.
    expect((await put(bob, roomId, secret.id, "👍")).status).toBe(404);
    expect((await put(bob, roomId, "no-such-message", "👍")).status).toBe(404);
    expect(await reactionsOf(privateRoom, secret.id)).toEqual([]);
    expect(await reactionsOf(roomId, pub.id)).toEqual([]);
    await c.close();
  });

  it("a deleted message cannot be reacted to (404 on both transports), and its reactions went with it", async () => {
    const m = await send(bob, roomId, "about to go");
    expect((await put(alice, roomId, m.id, "👍")).status).toBe(201);
    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${m.id}`)).status).toBe(200);
    const before = await lastSeq(roomId);

    const res = await put(alice, roomId, m.id, "🎉");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: "not_found" } });
    expect((await del(alice, roomId, m.id, "👍")).status).toBe(404);
    const b = await SocketClient.connect(t.wsUrl, bob);
    expect((await b.command({ type: "reaction.add", roomId, messageId: m.id, emoji: "🎉" })) as ErrorFrame).toMatchObject({ type: "error", code: "not_found" });
    expect((await b.command({ type: "reaction.remove", roomId, messageId: m.id, emoji: "👍" })) as ErrorFrame).toMatchObject({ type: "error", code: "not_found" });
    expect(await lastSeq(roomId)).toBe(before);
    expect(await reactionsOf(roomId, m.id)).toEqual([]);
    expect(await t.server.store.db.selectFrom("reactions").select("emoji").where("message_id", "=", m.id).execute()).toEqual([]);
    await b.close();
  });

  it("an invalid emoji is 400 validation_failed on both transports and changes nothing", async () => {
    const m = await send(alice, roomId, "not emoji");
    const before = await lastSeq(roomId);
    const bad = ["a", "👍👍", "🇫", "👍 ", "ok👍", "1", "<b>", "\u200D", "\u{E0067}", "😀".repeat(17), "%F0", "#"];
    const a = await SocketClient.connect(t.wsUrl, alice);
    for (const emoji of bad) {
      const res = await put(alice, roomId, m.id, emoji);
      expect(res.status, JSON.stringify(emoji)).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "validation_failed", details: [{ path: expect.stringContaining("emoji") }] } });
      expect((await del(alice, roomId, m.id, emoji)).status, JSON.stringify(emoji)).toBe(400);
      for (const type of ["reaction.add", "reaction.remove"]) {
        const ws = (await a.command({ type, roomId, messageId: m.id, emoji })) as ErrorFrame;
        expect(ws, `${type} ${JSON.stringify(emoji)}`).toMatchObject({ type: "error", code: "validation_failed" });
      }
    }
    for (const emoji of ["", 7, null]) {
      expect((await a.command({ type: "reaction.add", roomId, messageId: m.id, emoji })) as ErrorFrame).toMatchObject({ type: "error", code: "validation_failed" });
    }
    expect(await lastSeq(roomId)).toBe(before);
    expect(await reactionsOf(roomId, m.id)).toEqual([]);
    expect(reactionEvents(a, roomId).filter((f) => f.messageId === m.id)).toEqual([]);
    await a.close();
  });

  it("one emoji is one reaction however it is written: ❤ and ❤️, 👍 and 👍️ are the same, stored fully-qualified, on both transports", async () => {
    const m = await send(alice, roomId, "heart it");
    const a = await SocketClient.connect(t.wsUrl, alice);
    const start = await lastSeq(roomId);
    const added = await put(bob, roomId, m.id, "❤");
    expect(added.status).toBe(201);
    expect(added.body.reactions).toEqual([{ emoji: "❤️", count: 1, userIds: [bob.user.id] }]);
    expect(await a.waitFor((f) => f.type === "reaction.added" && f.messageId === m.id)).toMatchObject({ emoji: "❤️" });
    expect((await put(bob, roomId, m.id, "❤️")).status).toBe(200);
    const b = await SocketClient.connect(t.wsUrl, bob);
    expect(await b.command({ type: "reaction.add", roomId, messageId: m.id, emoji: "👍️" })).toMatchObject({ reactions: [{ emoji: "❤️" }, { emoji: "👍", count: 1 }] });
    expect(await b.command({ type: "reaction.add", roomId, messageId: m.id, emoji: "👍" })).toMatchObject({ reactions: [{ emoji: "❤️" }, { emoji: "👍", count: 1 }] });
    expect(await lastSeq(roomId)).toBe(start + 2);
    // Taken back in the other spelling.
    expect((await del(bob, roomId, m.id, "❤️")).body.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [bob.user.id] }]);
    expect(await b.command({ type: "reaction.remove", roomId, messageId: m.id, emoji: "👍️" })).toMatchObject({ reactions: [] });
    await a.waitFor((f) => f.type === "reaction.removed" && f.messageId === m.id && f.emoji === "👍");
    expect(reactionEvents(a, roomId).filter((f) => f.messageId === m.id).map((f) => `${f.type} ${f.emoji}`)).toEqual([
      "reaction.added ❤️",
      "reaction.added 👍",
      "reaction.removed ❤️",
      "reaction.removed 👍",
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it("hidden text and look-alikes of 👍 are refused (400 validation_failed on both transports): nobody holds 12 reactions that all show 👍", async () => {
    const tags = (text: string) => [...text].map((c) => String.fromCodePoint(0xe0000 + c.codePointAt(0)!)).join("");
    const m = await send(alice, roomId, "smuggle here");
    const before = await lastSeq(roomId);
    const smuggled = [
      "👍" + "\uFE0F".repeat(15),
      "👍" + "\uFE0F".repeat(2),
      "👍" + tags("ssn=123-45-6789") + "\u{E007F}",
      "🏴" + tags("ssn=123") + "\u{E007F}",
      "👍\u200D👍\u200D👍",
      "👍\u200D👍",
    ];
    const a = await SocketClient.connect(t.wsUrl, alice);
    for (const emoji of smuggled) {
      const res = await put(alice, roomId, m.id, emoji);
      expect(res.status, JSON.stringify(emoji)).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "validation_failed", details: [{ path: expect.stringContaining("emoji") }] } });
      expect((await a.command({ type: "reaction.add", roomId, messageId: m.id, emoji })) as ErrorFrame, JSON.stringify(emoji)).toMatchObject({ type: "error", code: "validation_failed" });
    }
    expect(await lastSeq(roomId)).toBe(before);
    expect(await reactionsOf(roomId, m.id)).toEqual([]);
    expect(await t.server.store.db.selectFrom("reactions").select("emoji").where("message_id", "=", m.id).execute()).toEqual([]);
    await a.close();
  });

  it("a message takes at most reactionsPerMessage distinct emoji: a new one past it is 409 limit_reached, an existing one is still fine", async () => {
    const small = await startTestServer({ reactionsPerMessage: 3 });
    try {
      const [x, y] = await Promise.all([signup(small.baseUrl, "x"), signup(small.baseUrl, "y")]);
      const room = await createRoom(x, "public");
      expect((await y.post(`/rooms/${room}/join`)).status).toBe(200);
      const res = await x.post<{ message: Message }>(`/rooms/${room}/messages`, { body: "react away" });
      const id = res.body.message.id;
      const at = (as: Caller, emoji: string) => as.request<ReactionsResponse>("PUT", path(room, id, emoji));
      for (const emoji of ["👍", "❤️", "😂"]) expect((await at(x, emoji)).status).toBe(201);
      const head = (await x.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;

      const full = await at(y, "🎉");
      expect(full.status).toBe(409);
      expect(full.body).toMatchObject({ error: { code: "limit_reached", details: [{ path: "params.emoji" }] } });
      const ys = await SocketClient.connect(small.wsUrl, y);
      expect((await ys.command({ type: "reaction.add", roomId: room, messageId: id, emoji: "😮" })) as ErrorFrame).toMatchObject({ type: "error", code: "limit_reached" });
      expect((await x.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq).toBe(head);

      // An emoji already there takes more people; once one emoji is gone, a new one fits again.
      expect((await at(y, "👍")).status).toBe(201);
      expect((await x.request("DELETE", path(room, id, "😂"))).status).toBe(200);
      expect((await at(y, "🎉")).status).toBe(201);
      const page = await y.get<HistoryResponse>(`/rooms/${room}/messages`);
      expect(page.body.messages[0]!.reactions!.map((r) => `${r.emoji}${r.count}`)).toEqual(["👍2", "❤️1", "🎉1"]);
      await ys.close();
    } finally {
      await small.destroy();
    }
  });

  it("requires authentication", async () => {
    const m = await send(alice, roomId, "anyone?");
    for (const method of ["PUT", "DELETE"]) {
      const res = await fetch(`${t.baseUrl}/api/v1${path(roomId, m.id, "👍")}`, { method });
      expect(res.status, method).toBe(401);
    }
    // A cookie session without the CSRF token is refused too.
    const noCsrf = await alice.request("PUT", path(roomId, m.id, "👍"), undefined, { csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(await reactionsOf(roomId, m.id)).toEqual([]);
  });
});
