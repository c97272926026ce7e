import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, type Caller } from "../support/client.js";
import type { Room } from "@shared/protocol/entities.js";
import type { AckFrame } from "@shared/protocol/frames.js";
import { RoomResponseSchema, RoomsResponseSchema } from "@shared/protocol/http.js";

describe("rooms and direct messages", () => {
  let t: TestServer;
  let alice: Caller;
  let bob: Caller;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await signup(t.baseUrl, "alice");
    bob = await signup(t.baseUrl, "bob");
  });
  afterAll(() => t.destroy());

  it("creates public and private rooms; the creator is owner; public ones are discoverable", async () => {
    const res = await alice.post<{ room: Room }>("/rooms", { name: "  General  ", kind: "public", topic: "Everything" });
    expect(res.status).toBe(201);
    const room = RoomResponseSchema.parse(res.body).room;
    expect(room).toMatchObject({ name: "General", kind: "public", topic: "Everything", role: "owner", memberCount: 1, lastSeq: 1 });
    const priv = await createRoom(alice, "private");
    const list = RoomsResponseSchema.parse((await bob.get("/rooms/public")).body).rooms;
    expect(list.map((r) => r.id)).toContain(room.id);
    expect(list.map((r) => r.id)).not.toContain(priv);
    expect(list.find((r) => r.id === room.id)?.role).toBeNull();
    const joined = await bob.post<{ room: Room }>(`/rooms/${room.id}/join`);
    expect(joined.body.room).toMatchObject({ role: "member", memberCount: 2 });
    // Joining twice changes nothing.
    expect((await bob.post<{ room: Room }>(`/rooms/${room.id}/join`)).body.room.memberCount).toBe(2);
    const members = await bob.get<{ members: { user: { id: string }; role: string }[] }>(`/rooms/${room.id}/members`);
    expect(members.body.members.map((m) => [m.user.id, m.role])).toEqual([
      [alice.user.id, "owner"],
      [bob.user.id, "member"],
    ]);
  });

  it("opens one direct room per pair, from either side, and both talk live in it", async () => {
    const a = await SocketClient.connect(t.wsUrl, alice);
    const b = await SocketClient.connect(t.wsUrl, bob);
    const first = await alice.post<{ room: Room }>("/direct", { userId: bob.user.id });
    expect(first.status).toBe(200);
    expect(first.body.room).toMatchObject({ kind: "direct", name: bob.user.displayName, peer: { id: bob.user.id }, memberCount: 2 });
    const fromBob = await bob.post<{ room: Room }>("/direct", { userId: alice.user.id });
    expect(fromBob.body.room.id).toBe(first.body.room.id);
    expect(fromBob.body.room.name).toBe(alice.user.displayName);
    const dm = first.body.room.id;

    // Both open sockets joined the new room at once.
    await b.waitFor((f) => f.type === "member.joined" && f.roomId === dm && f.member.user.id === bob.user.id);
    const ack = (await a.command({ type: "message.send", roomId: dm, body: "psst", clientId: "dm1" })) as AckFrame;
    expect(ack.type).toBe("ack");
    await b.waitFor((f) => f.type === "message.created" && f.roomId === dm && f.message.body === "psst");
    await b.command({ type: "message.send", roomId: dm, body: "yes?", clientId: "dm2" });
    await a.waitFor((f) => f.type === "message.created" && f.roomId === dm && f.message.body === "yes?");

    const carol = await signup(t.baseUrl, "carol");
    expect((await carol.get(`/rooms/${dm}`)).status).toBe(404);
    expect((await carol.post(`/rooms/${dm}/join`)).status).toBe(404);
    expect((await alice.post(`/rooms/${dm}/leave`)).status).toBe(403);
    expect((await alice.post(`/rooms/${dm}/members`, { userId: carol.user.id })).status).toBe(403);
    expect((await alice.post("/direct", { userId: alice.user.id })).status).toBe(400);
    expect((await alice.post("/direct", { userId: "nobody" })).status).toBe(404);
    await Promise.all([a.close(), b.close()]);
  });

  it("lists my rooms most recent activity first, with last message and unread counts", async () => {
    const dana = await signup(t.baseUrl, "dana");
    const erin = await signup(t.baseUrl, "erin");
    const r1 = await createRoom(dana, "public", "first");
    const r2 = await createRoom(dana, "public", "second");
    await erin.post(`/rooms/${r1}/join`);
    await erin.post(`/rooms/${r2}/join`);
    await erin.post(`/rooms/${r2}/messages`, { body: "in r2" });
    await erin.post(`/rooms/${r1}/messages`, { body: "in r1 (1)" });
    await erin.post(`/rooms/${r1}/messages`, { body: "in r1 (2)" });
    const mine = RoomsResponseSchema.parse((await dana.get("/rooms")).body).rooms;
    expect(mine.map((r) => r.id)).toEqual([r1, r2]);
    expect(mine[0]).toMatchObject({ unreadCount: 2, lastMessage: { body: "in r1 (2)", author: { id: erin.user.id } } });
    expect(mine[1]).toMatchObject({ unreadCount: 1 });
    // My own messages are never unread.
    const erinsView = RoomsResponseSchema.parse((await erin.get("/rooms")).body).rooms;
    expect(erinsView.find((r) => r.id === r1)?.unreadCount).toBe(0);

    // Reading moves the position, tells my other sockets, and never goes back.
    const tab = await SocketClient.connect(t.wsUrl, dana);
    const other = await SocketClient.connect(t.wsUrl, dana);
    const head = mine[0]!.lastSeq;
    const ack = (await tab.command({ type: "room.read", roomId: r1, seq: head })) as AckFrame;
    expect(ack.lastReadSeq).toBe(head);
    await other.waitFor((f) => f.type === "room.read" && f.roomId === r1 && f.lastReadSeq === head);
    expect((await dana.post(`/rooms/${r1}/read`, { seq: 1 })).status).toBe(204);
    const after = RoomsResponseSchema.parse((await dana.get("/rooms")).body).rooms.find((r) => r.id === r1)!;
    expect([after.unreadCount, after.lastReadSeq]).toEqual([0, head]);
    const outsider = await signup(t.baseUrl, "frank");
    expect((await outsider.post(`/rooms/${r1}/read`, { seq: 1 })).status).toBe(403);
    await Promise.all([tab.close(), other.close()]);
  });

  it("leaving a room removes it from my list; the room stays for others", async () => {
    const room = await createRoom(alice, "public");
    await bob.post(`/rooms/${room}/join`);
    expect((await bob.post(`/rooms/${room}/leave`)).status).toBe(204);
    const mine = RoomsResponseSchema.parse((await bob.get("/rooms")).body).rooms;
    expect(mine.map((r) => r.id)).not.toContain(room);
    expect(RoomResponseSchema.parse((await alice.get(`/rooms/${room}`)).body).room.memberCount).toBe(1);
  });
});
