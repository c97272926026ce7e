import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, type Caller, type HttpAnswer } from "../support/client.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import type { AckFrame } from "@shared/protocol/frames.js";
import { MembersResponseSchema, RoomResponseSchema, RoomsResponseSchema } from "@shared/protocol/http.js";

/**
 * Issue 8, item 6: forced membership. Nobody can be put in more than
 * roomsPerUser rooms (direct ones included) nor a room hold more than
 * membersPerRoom members; the room list works however many rooms a user is
 * in; room creation, member adds and HTTP sends are rate-limited per user.
 * Limits are set low here (the test server's defaults are lenient). Nothing
 * waits on time: what did not happen is checked by reading state back, and
 * on sockets by an event sent after it (events arrive in seq order); the
 * rate-limit tests stop the limiter's clock (Date.now), so a window cannot
 * roll over mid-test however slow the machine.
 */

const ROOMS_PER_USER = 5;
const MEMBERS_PER_ROOM = 4;

/** A refusal for a bound: 409 limit_reached, naming whose bound in `details`. */
function expectLimitReached(res: HttpAnswer<unknown>, path: string): void {
  expect(res.status).toBe(409);
  const body = res.body as ErrorBody;
  expect(body.error.code).toBe("limit_reached");
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.details?.map((d) => d.path)).toEqual([path]);
}

/** Contract v1's 429: rate_limited in the error shape, with Retry-After: the whole window, in seconds (the clock is stopped). */
function expectRateLimited(res: HttpAnswer<unknown>, windowSeconds: number): void {
  expect(res.status).toBe(429);
  const body = res.body as ErrorBody;
  expect(body.error.code).toBe("rate_limited");
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(res.headers.get("retry-after")).toBe(String(windowSeconds));
}

const roomIds = async (caller: Caller): Promise<string[]> => {
  const res = await caller.get("/rooms");
  expect(res.status).toBe(200);
  return RoomsResponseSchema.parse(res.body).rooms.map((r) => r.id).sort();
};

const memberIds = async (caller: Caller, roomId: string): Promise<string[]> =>
  MembersResponseSchema.parse((await caller.get(`/rooms/${roomId}/members`)).body).members.map((m) => m.user.id);

describe("membership bounds", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ roomsPerUser: ROOMS_PER_USER, membersPerRoom: MEMBERS_PER_ROOM });
  });
  afterAll(() => t.destroy());

  it("a user in roomsPerUser rooms (a direct one included) cannot be added, join, create or open a new DM; a DM to them is refused", async () => {
    const [victim, erin, carol, dave] = await Promise.all([signup(t.baseUrl, "victim"), signup(t.baseUrl, "erin"), signup(t.baseUrl, "carol"), signup(t.baseUrl, "dave")]);
    const owners = await Promise.all([0, 1].map((i) => signup(t.baseUrl, `owner${i}`)));
    // One direct room and four private rooms of others: the victim is at the bound.
    const dm = RoomResponseSchema.parse((await erin.post("/direct", { userId: victim.user.id })).body).room.id;
    for (let i = 0; i < ROOMS_PER_USER - 1; i++) {
      const owner = owners[i % 2]!;
      const room = await createRoom(owner, "private");
      expect((await owner.post(`/rooms/${room}/members`, { userId: victim.user.id })).status).toBe(201);
    }
    const before = await roomIds(victim);
    expect(before).toHaveLength(ROOMS_PER_USER);
    expect(before).toContain(dm);

    // Added to one more: refused, and nothing happened (no member.joined, same list, same members).
    const victimSocket = await SocketClient.connect(t.wsUrl, victim);
    const carolSocket = await SocketClient.connect(t.wsUrl, carol);
    const full = await createRoom(carol, "private");
    const head = RoomResponseSchema.parse((await carol.get(`/rooms/${full}`)).body).room.lastSeq;
    expectLimitReached(await carol.post(`/rooms/${full}/members`, { userId: victim.user.id }), "body.userId");
    expect(RoomResponseSchema.parse((await carol.get(`/rooms/${full}`)).body).room.lastSeq).toBe(head);
    expect(await memberIds(carol, full)).toEqual([carol.user.id]);
    // The next event of the room reaches carol's socket; a member.joined would have come first.
    const ack = (await carolSocket.command({ type: "message.send", roomId: full, body: "still just me", clientId: "after-refusal" })) as AckFrame;
    expect(ack.type).toBe("ack");
    await carolSocket.waitFor((f) => f.type === "message.created" && f.roomId === full);
    expect(carolSocket.frames.filter((f) => f.type === "member.joined" && f.roomId === full).map((f) => f.type === "member.joined" && f.member.user.id)).toEqual([carol.user.id]);
    expect(victimSocket.frames.some((f) => "roomId" in f && f.roomId === full)).toBe(false);

    // Joining a public room, creating one, or opening a new DM: refused in the caller's name.
    const open = await createRoom(carol, "public");
    expectLimitReached(await victim.post(`/rooms/${open}/join`), "caller");
    expect(await memberIds(carol, open)).toEqual([carol.user.id]);
    expectLimitReached(await victim.post("/rooms", { name: "one too many", kind: "private" }), "caller");
    expectLimitReached(await victim.post("/direct", { userId: dave.user.id }), "caller");
    // A DM that would push the peer past the bound: refused in the peer's name; neither list changes.
    expectLimitReached(await dave.post("/direct", { userId: victim.user.id }), "body.userId");
    expect(await roomIds(dave)).toEqual([]);
    expect(await roomIds(victim)).toEqual(before);

    // The existing DM still opens: it creates nothing.
    expect((await victim.post("/direct", { userId: erin.user.id })).status).toBe(200);
    // The bound counts current rooms: after leaving one, the victim can be added again.
    const [leaving] = before.filter((id) => id !== dm);
    expect((await victim.post(`/rooms/${leaving}/leave`)).status).toBe(204);
    expect((await carol.post(`/rooms/${full}/members`, { userId: victim.user.id })).status).toBe(201);
    expect(await roomIds(victim)).toHaveLength(ROOMS_PER_USER);
    await Promise.all([victimSocket.close(), carolSocket.close()]);
  });

  it("a room with membersPerRoom members takes nobody more, by join or by add", async () => {
    const owner = await signup(t.baseUrl, "owner");
    const room = await createRoom(owner, "public");
    const joiners = await Promise.all(Array.from({ length: MEMBERS_PER_ROOM }, (_, i) => signup(t.baseUrl, `joiner${i}`)));
    for (const j of joiners.slice(0, MEMBERS_PER_ROOM - 1)) expect((await j.post(`/rooms/${room}/join`)).status).toBe(200);
    const last = joiners[MEMBERS_PER_ROOM - 1]!;
    const members = await memberIds(owner, room);
    expect(members).toHaveLength(MEMBERS_PER_ROOM);
    const head = RoomResponseSchema.parse((await owner.get(`/rooms/${room}`)).body).room.lastSeq;

    expectLimitReached(await last.post(`/rooms/${room}/join`), "params.roomId");
    expectLimitReached(await owner.post(`/rooms/${room}/members`, { userId: last.user.id }), "params.roomId");
    expect(await memberIds(owner, room)).toEqual(members);
    expect(await roomIds(last)).toEqual([]);
    const after = RoomResponseSchema.parse((await owner.get(`/rooms/${room}`)).body).room;
    expect([after.lastSeq, after.memberCount]).toEqual([head, MEMBERS_PER_ROOM]);
    // Re-adding a member, or joining again, is not a new seat: still allowed.
    expect((await owner.post(`/rooms/${room}/members`, { userId: joiners[0]!.user.id })).status).toBe(200);
    expect((await joiners[0]!.post(`/rooms/${room}/join`)).status).toBe(200);
  });
});

describe("a room list past SQLite's parameter limit", () => {
  // SQLite binds at most 32,766 parameters; the list once bound one per room.
  const ROOMS = 33_000;
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ roomsPerUser: ROOMS + 10 });
  });
  afterAll(() => t.destroy());

  it("GET /rooms answers for a user in 33,000 rooms", async () => {
    const user = await signup(t.baseUrl, "hoarder");
    const other = await signup(t.baseUrl, "other");
    // Memberships stored directly, in one transaction: through the API this would take minutes.
    const db = t.server.store.db;
    const at = new Date().toISOString();
    await db.transaction().execute(async (trx) => {
      for (let start = 0; start < ROOMS; start += 500) {
        const ids = Array.from({ length: Math.min(500, ROOMS - start) }, (_, k) => `bulk-${String(start + k).padStart(5, "0")}`);
        await trx
          .insertInto("rooms")
          .values(ids.map((id) => ({ id, kind: "private" as const, name: id, topic: "", direct_key: null, created_by: other.user.id, created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null })))
          .execute();
        await trx
          .insertInto("room_members")
          .values(ids.map((id) => ({ room_id: id, user_id: user.user.id, role: "member" as const, joined_at: at, last_read_seq: 0 })))
          .execute();
      }
    });
    // One room with a message from someone else, so the list's joins have something to find.
    const room = await createRoom(other, "public");
    expect((await user.post(`/rooms/${room}/join`)).status).toBe(200);
    expect((await other.post(`/rooms/${room}/messages`, { body: "hello" })).status).toBe(201);

    const res = await user.get("/rooms");
    expect(res.status).toBe(200);
    const rooms = RoomsResponseSchema.parse(res.body).rooms;
    expect(rooms).toHaveLength(ROOMS + 1);
    expect(rooms[0]).toMatchObject({ id: room, unreadCount: 1, memberCount: 2, lastMessage: { body: "hello" } });
    expect(rooms[1]).toMatchObject({ kind: "private", role: "member", memberCount: 1, unreadCount: 0 });
  });
});

describe("per-user rate limits", () => {
  const MAX = 3;
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ roomsCreatedPerHour: MAX, memberAddsPerMinute: MAX, httpMessagesPerMinute: MAX });
  });
  afterAll(() => t.destroy());
  // The limiter's windows are measured with Date.now (the server runs in this process).
  beforeEach(() => {
    const now = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(now);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("POST /rooms and new direct rooms share roomsCreatedPerHour; reopening a DM is not counted; per user", async () => {
    const [alice, bob, carol, dave] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "bob"), signup(t.baseUrl, "carol"), signup(t.baseUrl, "dave")]);
    expect((await alice.post("/rooms", { name: "one", kind: "public" })).status).toBe(201);
    expect((await alice.post("/direct", { userId: bob.user.id })).status).toBe(200);
    // Reopened, from either side: nothing created, nothing counted.
    for (let i = 0; i < MAX + 1; i++) expect((await alice.post("/direct", { userId: bob.user.id })).status).toBe(200);
    expect((await alice.post("/rooms", { name: "three", kind: "private" })).status).toBe(201);
    const before = await roomIds(alice);

    expectRateLimited(await alice.post("/rooms", { name: "four", kind: "public" }), 3600);
    expectRateLimited(await alice.post("/direct", { userId: carol.user.id }), 3600);
    expect(await roomIds(alice)).toEqual(before);
    expect(await roomIds(carol)).toEqual([]);
    // The existing DM still opens; others are unaffected.
    expect((await alice.post("/direct", { userId: bob.user.id })).status).toBe(200);
    expect((await dave.post("/rooms", { name: "dave's", kind: "public" })).status).toBe(201);
    expect((await carol.post("/direct", { userId: alice.user.id })).status).toBe(200);
  });

  it("POST /rooms/:id/members: memberAddsPerMinute per user", async () => {
    const [owner, other] = await Promise.all([signup(t.baseUrl, "owner"), signup(t.baseUrl, "other")]);
    const people = await Promise.all(Array.from({ length: MAX + 2 }, (_, i) => signup(t.baseUrl, `p${i}`)));
    const room = await createRoom(owner, "private");
    for (const p of people.slice(0, MAX)) expect((await owner.post(`/rooms/${room}/members`, { userId: p.user.id })).status).toBe(201);
    const refused = people[MAX]!;
    expectRateLimited(await owner.post(`/rooms/${room}/members`, { userId: refused.user.id }), 60);
    expect(await memberIds(owner, room)).not.toContain(refused.user.id);
    // Another user's budget is their own.
    const theirs = await createRoom(other, "private");
    expect((await other.post(`/rooms/${theirs}/members`, { userId: refused.user.id })).status).toBe(201);
  });

  it("POST /rooms/:id/messages: httpMessagesPerMinute per user; the socket is not counted", async () => {
    const [alice, bob] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "bob")]);
    const room = await createRoom(alice, "public");
    expect((await bob.post(`/rooms/${room}/join`)).status).toBe(200);
    for (let i = 0; i < MAX; i++) expect((await alice.post(`/rooms/${room}/messages`, { body: `m${i}` })).status).toBe(201);
    const head = RoomResponseSchema.parse((await alice.get(`/rooms/${room}`)).body).room.lastSeq;
    expectRateLimited(await alice.post(`/rooms/${room}/messages`, { body: "one too many" }), 60);
    expect(RoomResponseSchema.parse((await alice.get(`/rooms/${room}`)).body).room.lastSeq).toBe(head);
    expect((await bob.post(`/rooms/${room}/messages`, { body: "mine" })).status).toBe(201);
    const socket = await SocketClient.connect(t.wsUrl, alice);
    const ack = (await socket.command({ type: "message.send", roomId: room, body: "over the socket", clientId: "ws1" })) as AckFrame;
    expect(ack.type).toBe("ack");
    await socket.close();
  });
});
