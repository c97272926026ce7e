import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { createRoom, postMessage, signup, socketPool, unique, type Caller, type HttpAnswer } from "../support/client.js";
import { threePeople } from "../support/fixtures.js";
import { SearchResponseSchema, type SearchResponse } from "@shared/protocol/search.js";
import { HistoryResponseSchema } from "@shared/protocol/http.js";
import type { AckFrame, ErrorFrame } from "@shared/protocol/frames.js";
import type { ErrorBody } from "@shared/protocol/errors.js";

/**
 * Search's transports (issue 18) over a real server: GET /api/v1/search,
 * GET /rooms/:roomId/messages?search= and the socket's `search` command:
 * their shapes, their refusals (each a stable code, changing nothing, the
 * server and the socket going on), the operator's query length and the
 * per-user search budget that the three share. What search finds is
 * search.test.ts's; here, only that each transport answers what the service
 * answers, and only what the searcher may read.
 */

type Answer = HttpAnswer<SearchResponse & ErrorBody>;

/** GET /search with these query parameters (URL-encoded here). */
const search = (as: Caller, query: Record<string, string>): Promise<Answer> => as.get(`/search?${new URLSearchParams(query).toString()}`);
/** GET /rooms/:roomId/messages with these query parameters. */
const roomMessages = (as: Caller, roomId: string, query: Record<string, string>): Promise<Answer> =>
  as.get(`/rooms/${roomId}/messages?${new URLSearchParams(query).toString()}`);

/** A 200 whose body is exactly a SearchResponse: nothing missing, nothing more (the room route writes its answer unchecked). */
function searchResponse(res: Answer): SearchResponse {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(SearchResponseSchema.parse(res.body)).toEqual(res.body);
  return res.body;
}

/** A 400 validation_failed whose details point at `path`. */
function refused(res: Answer, path: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.code).toBe("validation_failed");
  expect(res.body.error.details?.map((d) => d.path)).toContain(path);
}

const ids = (r: SearchResponse): string[] => r.results.map((h) => h.message.id);

describe("search over HTTP and the socket", () => {
  let t: TestServer;
  let alice: Caller; // cookie; owns roomId and privateRoom
  let bob: Caller; // Bearer; a member of both
  let carol: Caller; // cookie; in neither, in a room of her own
  let roomId: string;
  let privateRoom: string;
  let carolRoom: string;
  /** A word no other test's messages hold, so that what it finds is known. */
  const word = `quokka${unique().replace(/[^a-z]/g, "")}`;
  const inRoom: string[] = [];
  let inPrivate: string;
  let inCarolRoom: string;
  const sockets = socketPool(() => t.wsUrl);

  beforeAll(async () => {
    ({ t, alice, bob, carol, roomId, privateRoom } = await threePeople());
    carolRoom = await createRoom(carol, "public", "carol's");
    inRoom.push((await postMessage(alice, roomId, `a ${word} in the lobby`)).id);
    inRoom.push((await postMessage(bob, roomId, `${word} picnic report`)).id);
    await postMessage(bob, roomId, "nothing to see here");
    inPrivate = (await postMessage(alice, privateRoom, `the secret ${word} plans`)).id;
    inCarolRoom = (await postMessage(carol, carolRoom, `a ${word} elsewhere`)).id;
  });
  afterAll(async () => {
    await sockets.closeAll();
    await t.destroy();
  });

  it("GET /search answers a SearchResponse of the messages in my rooms, and of no other room", async () => {
    const found = searchResponse(await search(alice, { q: word }));
    expect(ids(found).sort()).toEqual([...inRoom, inPrivate].sort());
    expect(found.total).toBe(3);
    expect(found.totalCapped).toBe(false);
    expect(found.nextCursor).toBeNull();
    expect(found.sort).toBe("relevance");
    for (const hit of found.results) expect([roomId, privateRoom]).toContain(hit.room.id);
    // Carol sees her own room's, and nothing of the rooms she is not in.
    expect(ids(searchResponse(await search(carol, { q: word })))).toEqual([inCarolRoom]);
    // A Bearer caller (a bot) the same as a cookie one.
    expect(ids(searchResponse(await search(bob, { q: word }))).sort()).toEqual([...inRoom, inPrivate].sort());
  });

  it("pages by the opaque cursor, and sorts by date when asked", async () => {
    const first = searchResponse(await search(alice, { q: word, limit: "2", sort: "date" }));
    expect(first.sort).toBe("date");
    expect(first.results).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const rest = searchResponse(await search(alice, { q: word, limit: "2", sort: "date", cursor: first.nextCursor! }));
    expect(rest.results).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
    // Newest first: the private room's message was sent last.
    expect([...ids(first), ...ids(rest)]).toEqual([inPrivate, inRoom[1], inRoom[0]]);
  });

  it("refuses without credentials: 401 unauthenticated", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/search?q=${word}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as ErrorBody).error.code).toBe("unauthenticated");
  });

  it("refuses bad input with 400 validation_failed naming the field, and goes on serving", async () => {
    refused(await alice.get("/search"), "querystring.q");
    refused(await search(alice, { q: "" }), "querystring.q");
    refused(await search(alice, { q: "   " }), "querystring.q");
    refused(await search(alice, { q: "x".repeat(501) }), "querystring.q");
    refused(await search(alice, { q: word, sort: "newest" }), "querystring.sort");
    refused(await search(alice, { q: word, limit: "0" }), "querystring.limit");
    refused(await search(alice, { q: word, limit: "51" }), "querystring.limit");
    refused(await search(alice, { q: word, limit: "many" }), "querystring.limit");
    refused(await search(alice, { q: word, cursor: "c".repeat(201) }), "querystring.cursor");
    refused(await search(alice, { q: word, roomId: "r".repeat(65) }), "querystring.roomId");
    // What the schema lets through and the service refuses: a cursor it never gave, a filter it cannot read.
    for (const query of [{ q: word, cursor: "not-a-cursor" }, { q: "before:yesterday" }] as Record<string, string>[]) {
      const res = await search(alice, query);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect(ids(searchResponse(await search(alice, { q: word })))).toHaveLength(3);
  });

  it("GET /rooms/:roomId/messages?search= searches that room only, as GET /search with its roomId does", async () => {
    const inThisRoom = searchResponse(await roomMessages(alice, roomId, { search: word }));
    expect(ids(inThisRoom).sort()).toEqual([...inRoom].sort());
    for (const hit of inThisRoom.results) expect(hit.room.id).toBe(roomId);
    expect(inThisRoom).toEqual(searchResponse(await search(alice, { q: word, roomId })));
    // Its sort, cursor and limit are GET /search's.
    const page = searchResponse(await roomMessages(alice, roomId, { search: word, sort: "date", limit: "1" }));
    expect(ids(page)).toEqual([inRoom[1]]);
    const next = searchResponse(await roomMessages(alice, roomId, { search: word, sort: "date", limit: "1", cursor: page.nextCursor! }));
    expect(ids(next)).toEqual([inRoom[0]]);
    expect(ids(searchResponse(await roomMessages(alice, privateRoom, { search: word })))).toEqual([inPrivate]);
    // Without search: contract v1's history page, unchanged.
    const history = await roomMessages(alice, roomId, { limit: "2" });
    expect(history.status).toBe(200);
    expect(HistoryResponseSchema.parse(history.body)).toEqual(history.body);
    expect(history.body).not.toHaveProperty("results");
  });

  it("?search= refuses history's cursors and a search's limit over 50; without search, the v1 page ignores search's options", async () => {
    for (const cursor of ["before", "after", "around"]) refused(await roomMessages(alice, roomId, { search: word, [cursor]: "1" }), "querystring.search");
    for (const ignored of [{ sort: "date" }, { sort: "anything" }, { cursor: "x" }] as Record<string, string>[]) {
      const page = await roomMessages(alice, roomId, ignored);
      expect(page.status).toBe(200);
      expect(page.body).toHaveProperty("messages");
    }
    refused(await roomMessages(alice, roomId, { search: word, limit: "51" }), "querystring.limit");
    refused(await roomMessages(alice, roomId, { search: "" }), "querystring.search");
    refused(await roomMessages(alice, roomId, { search: word, sort: "newest" }), "querystring.sort");
    // History's own limit is still 100.
    expect((await roomMessages(alice, roomId, { limit: "100" })).status).toBe(200);
  });

  it("a room I may not read answers as history does: 404 for a private room, 403 for a public one not joined", async () => {
    for (const room of [privateRoom, roomId]) {
      const history = await roomMessages(carol, room, {});
      expect([403, 404]).toContain(history.status);
      const searched = await roomMessages(carol, room, { search: word });
      expect(searched.status).toBe(history.status);
      expect(searched.body.error.code).toBe(history.body.error.code);
      const global = await search(carol, { q: word, roomId: room });
      expect(global.status).toBe(history.status);
    }
    expect((await roomMessages(carol, privateRoom, {})).status).toBe(404);
    expect((await roomMessages(carol, roomId, {})).status).toBe(403);
    const missing = await roomMessages(alice, "no-such-room", { search: word });
    expect(missing.status).toBe(404);
  });

  it("the socket's search acks GET /search's answer", async () => {
    const s = await sockets.connect(bob);
    for (const query of [{ q: word }, { q: word, roomId }, { q: word, sort: "date", limit: "2" }] as Record<string, string>[]) {
      const http = searchResponse(await search(bob, query));
      const { limit, ...rest } = query;
      const ack = (await s.command({ type: "search", ...rest, ...(limit ? { limit: Number(limit) } : {}) })) as AckFrame;
      expect(ack.type, JSON.stringify(ack)).toBe("ack");
      expect(ack.search).toEqual(SearchResponseSchema.parse(http));
    }
    const first = (await s.command({ type: "search", q: word, sort: "date", limit: 2 })) as AckFrame;
    const next = (await s.command({ type: "search", q: word, sort: "date", limit: 2, cursor: first.search!.nextCursor })) as AckFrame;
    expect(next.search?.results.map((h) => h.message.id)).toEqual([inRoom[0]]);
  });

  it("a bad search on the socket gets an error frame with its id and a stable code; the socket stays open", async () => {
    const s = await sockets.connect(carol);
    const bad: [Record<string, unknown>, string, string | null][] = [
      [{ q: "" }, "validation_failed", "q"],
      [{ q: "x".repeat(501) }, "validation_failed", "q"],
      [{ q: word, sort: "newest" }, "validation_failed", "sort"],
      [{ q: word, limit: 0 }, "validation_failed", "limit"],
      [{ q: word, cursor: "not-a-cursor" }, "validation_failed", null],
      [{ q: word, roomId: privateRoom }, "not_found", null],
      [{ q: word, roomId }, "forbidden", null],
    ];
    for (const [fields, code, path] of bad) {
      const answer = (await s.command({ type: "search", ...fields })) as ErrorFrame;
      expect(answer.type, JSON.stringify(answer)).toBe("error");
      expect(answer.id).toEqual(expect.any(String));
      expect(answer.code).toBe(code);
      if (path) expect(answer.details?.map((d) => d.path)).toContain(path);
    }
    expect((await s.command({ type: "ping" })).type).toBe("ack");
    const ok = (await s.command({ type: "search", q: word })) as AckFrame;
    expect(ok.search?.results.map((h) => h.message.id)).toEqual([inCarolRoom]);
    expect(s.closeInfo).toBeNull();
  });
});

describe("--search-query-max-chars", () => {
  const sockets = socketPool(() => t.wsUrl);
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ searchQueryMaxChars: 20 });
  });
  afterAll(async () => {
    await sockets.closeAll();
    await t.destroy();
  });

  it("refuses a longer query on every transport, naming it; up to it, and longer only by spaces trimmed, is searched", async () => {
    const ann = await signup(t.baseUrl, "ann");
    const room = await createRoom(ann, "public");
    await postMessage(ann, room, "wombat");
    const long = `${"wombat ".repeat(3)}xyz`; // 24 characters
    refused(await search(ann, { q: long }), "querystring.q");
    refused(await roomMessages(ann, room, { search: long }), "querystring.search");
    const s = await sockets.connect(ann);
    const err = (await s.command({ type: "search", q: long })) as ErrorFrame;
    expect(err).toMatchObject({ type: "error", code: "validation_failed", details: [{ path: "q" }] });
    // Twenty characters exactly; and a longer one made of spaces around a word (the schema trims first).
    searchResponse(await search(ann, { q: `wombat ${"z".repeat(13)}` }));
    expect(ids(searchResponse(await search(ann, { q: `   wombat${" ".repeat(20)}` })))).toHaveLength(1);
    expect(s.closeInfo).toBeNull();
  });
});

describe("--searches-per-minute", () => {
  const sockets = socketPool(() => t.wsUrl);
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ searchesPerMinute: 3 });
  });
  afterAll(async () => {
    await sockets.closeAll();
    await t.destroy();
  });

  it("is per user and shared by GET /search, ?search= and the socket; past it 429 with Retry-After, and nothing else is refused", async () => {
    const [ann, ben, cat] = await Promise.all([signup(t.baseUrl, "ann"), signup(t.baseUrl, "ben"), signup(t.baseUrl, "cat")]);
    const room = await createRoom(ann, "public");
    await postMessage(ann, room, "wombat");

    // Ann: one search by each transport, then the fourth is refused whichever way it comes.
    expect((await search(ann, { q: "wombat" })).status).toBe(200);
    expect((await roomMessages(ann, room, { search: "wombat" })).status).toBe(200);
    const s = await sockets.connect(ann);
    expect(((await s.command({ type: "search", q: "wombat" })) as AckFrame).search?.results).toHaveLength(1);
    for (const res of [await search(ann, { q: "wombat" }), await roomMessages(ann, room, { search: "wombat" })]) {
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe("rate_limited");
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    const wsRefused = (await s.command({ type: "search", q: "wombat" })) as ErrorFrame;
    expect(wsRefused).toMatchObject({ type: "error", code: "rate_limited" });
    expect(wsRefused.retryAfter).toBeGreaterThan(0);
    // The socket goes on, and Ann's history (no search) is not on the search budget.
    expect((await s.command({ type: "ping" })).type).toBe("ack");
    expect(s.closeInfo).toBeNull();
    expect((await roomMessages(ann, room, {})).status).toBe(200);

    // Others are not touched by Ann's budget.
    expect((await search(ben, { q: "wombat" })).status).toBe(200);
    // Searches the schema refused do not spend it: Cat still has three (on the socket), then HTTP is refused.
    for (let i = 0; i < 3; i++) refused(await search(cat, { q: "" }), "querystring.q");
    const c = await sockets.connect(cat);
    for (let i = 0; i < 3; i++) expect((await c.command({ type: "search", q: "wombat" })).type).toBe("ack");
    expect((await search(cat, { q: "wombat" })).status).toBe(429);
  });
});
