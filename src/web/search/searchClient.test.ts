import { describe, expect, it } from "vitest";
import type { SearchHit, SearchRequest, SearchResponse } from "@shared/protocol/search.js";
import { ApiError } from "@web/api/http";
import { SearchRunner, requestOf, type SearchState } from "./searchClient";

/** A manual clock: timers run when the test says so. */
function fakeClock() {
  const timers = new Map<number, { fn: () => void; at: number }>();
  let now = 0;
  let next = 1;
  return {
    setTimer: (fn: () => void, ms: number) => {
      const id = next++;
      timers.set(id, { fn, at: now + ms });
      return id;
    },
    clearTimer: (id: unknown) => void timers.delete(id as number),
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(id);
          t.fn();
        }
      }
    },
    pending: () => timers.size,
  };
}

/** A fake server: each request waits until the test answers it. */
function fakeServer() {
  const calls: { request: SearchRequest; signal: AbortSignal; resolve: (r: SearchResponse) => void; reject: (e: unknown) => void }[] = [];
  const fetchPage = (request: SearchRequest, signal: AbortSignal) =>
    new Promise<SearchResponse>((resolve, reject) => {
      calls.push({ request, signal, resolve, reject });
      signal.addEventListener("abort", () => reject(signal.reason));
    });
  return { calls, fetchPage };
}

function hit(id: string): SearchHit {
  return {
    message: { id, roomId: "r1", seq: 1, author: { id: "u", username: "ada", displayName: "Ada" }, body: id, clientId: null, createdAt: "2026-12-01T10:00:00.000Z" },
    room: { id: "r1", name: "general", kind: "public" },
    snippet: [{ text: id, match: true }],
  } as SearchHit;
}

function page(ids: string[], nextCursor: string | null = null, total = ids.length): SearchResponse {
  return {
    results: ids.map(hit),
    total,
    totalCapped: false,
    nextCursor,
    sort: "relevance",
    filters: { from: [], in: [], before: null, after: null, hasFile: false, mentionsMe: false },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const clock = fakeClock();
  const server = fakeServer();
  const states: SearchState[] = [];
  const runner = new SearchRunner(server.fetchPage, (s) => states.push(s), { setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  return { clock, server, states, runner };
}

const q = (text: string) => ({ q: text, roomId: null, sort: "relevance" as const });

describe("SearchRunner", () => {
  it("waits for a pause in typing before asking, and asks once", async () => {
    const { clock, server, runner } = setup();
    for (const text of ["d", "de", "dep", "deploy"]) {
      runner.update(q(text));
      clock.advance(100);
    }
    expect(server.calls).toHaveLength(0);
    clock.advance(250);
    expect(server.calls.map((c) => c.request.q)).toEqual(["deploy"]);
    server.calls[0]!.resolve(page(["a", "b"]));
    await flush();
    expect(runner.current.status).toBe("done");
    expect(runner.current.hits.map((h) => h.message.id)).toEqual(["a", "b"]);
  });

  it("aborts the request in flight when the query changes, and never shows its late answer", async () => {
    const { clock, server, runner } = setup();
    runner.update(q("dep"));
    clock.advance(250);
    runner.update(q("deploy"));
    expect(server.calls[0]!.signal.aborted).toBe(true);
    clock.advance(250);
    server.calls[0]!.resolve(page(["stale"]));
    server.calls[1]!.resolve(page(["fresh"]));
    await flush();
    expect(runner.current.query?.q).toBe("deploy");
    expect(runner.current.hits.map((h) => h.message.id)).toEqual(["fresh"]);
  });

  it("keeps the previous hits shown while the next query loads", async () => {
    const { clock, server, runner } = setup();
    runner.now(q("deploy"));
    server.calls[0]!.resolve(page(["a"]));
    await flush();
    runner.update(q("deploy notes"));
    clock.advance(250);
    expect(runner.current.status).toBe("loading");
    expect(runner.current.hits.map((h) => h.message.id)).toEqual(["a"]);
  });

  it("clears at once for an empty query, and cancels what was pending", () => {
    const { clock, server, runner } = setup();
    runner.update(q("deploy"));
    runner.update(q("   "));
    clock.advance(1000);
    expect(server.calls).toHaveLength(0);
    expect(runner.current.status).toBe("idle");
  });

  it("does not send a query the shared parser refuses, and says why", async () => {
    const { server, runner } = setup();
    runner.now(q("deploy before:yesterday"));
    await flush();
    expect(server.calls).toHaveLength(0);
    expect(runner.current.status).toBe("error");
    expect(runner.current.error).toContain("YYYY-MM-DD");
  });

  it("loads the next page with the answer's cursor and appends it", async () => {
    const { server, runner } = setup();
    runner.now({ q: "deploy", roomId: "r1", sort: "date" });
    server.calls[0]!.resolve(page(["a", "b"], "cursor-2", 3));
    await flush();
    const more = runner.loadMore();
    expect(runner.current.loadingMore).toBe(true);
    expect(server.calls[1]!.request).toEqual({ q: "deploy", roomId: "r1", sort: "date", cursor: "cursor-2" });
    server.calls[1]!.resolve(page(["c"], null, 3));
    await more;
    expect(runner.current.hits.map((h) => h.message.id)).toEqual(["a", "b", "c"]);
    expect(runner.current.response?.nextCursor).toBeNull();
    await runner.loadMore(); // the last page: nothing more to ask
    expect(server.calls).toHaveLength(2);
  });

  it("says a refusal in words and keeps the query", async () => {
    const { server, runner } = setup();
    runner.now(q("deploy"));
    server.calls[0]!.reject(new ApiError(429, "rate_limited", "Too many requests."));
    await flush();
    expect(runner.current).toMatchObject({ status: "error", query: { q: "deploy" } });
    expect(runner.current.error).toMatch(/wait a moment/i);
  });

  it("cancel aborts what is in flight and leaves the state as it was", async () => {
    const { server, runner } = setup();
    runner.now(q("deploy"));
    runner.cancel();
    expect(server.calls[0]!.signal.aborted).toBe(true);
    await flush();
    expect(runner.current.status).toBe("loading");
  });
});

describe("requestOf", () => {
  it("sends the trimmed text, the room and the order, nothing empty", () => {
    expect(requestOf({ q: "  deploy ", roomId: null, sort: "relevance" })).toEqual({ q: "deploy", sort: "relevance" });
    expect(requestOf({ q: "x", roomId: "r1", sort: "date" }, "c", 20)).toEqual({ q: "x", roomId: "r1", sort: "date", cursor: "c", limit: 20 });
  });
});
