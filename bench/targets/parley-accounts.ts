import fs from "node:fs";
import path from "node:path";
import { cachedFixture, copyFixture, sourceHash } from "../lib/cache.js";
import { stopChild } from "../lib/proc.js";
import { pool, type BenchContext } from "./types.js";
import { startParley } from "./parley.js";

/**
 * Accounts for the messaging scenarios, made through Parley's HTTP API
 * (signup with real argon2 hashing on the server core, a Bearer token each,
 * public rooms created and joined, direct rooms opened), once; the data
 * directory is cached and copied for each run.
 */

export interface AccountsMeta {
  users: { id: string; token: string }[];
  rooms: { id: string; members: number[] }[];
  directs: { id: string; members: number[] }[];
}

const PASSWORD = "bench-Quokka-harness-7";

async function call<T>(base: string, method: string, urlPath: string, opts: { bearer?: string; cookie?: string; csrf?: string; body?: unknown } = {}): Promise<{ status: number; body: T; cookie: string | null }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers["x-csrf-token"] = opts.csrf;
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${base}/api/v1${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    if (res.status === 429 && attempt < 20) {
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get("retry-after") ?? 1)));
      continue;
    }
    if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${text.slice(0, 300)}`);
    const setCookie = res.headers.get("set-cookie");
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, cookie: setCookie ? setCookie.split(";")[0]! : null };
  }
}

/**
 * Signs up `users` accounts over HTTP (real argon2 hashing on the server
 * core), makes a Bearer token for each, puts them in public rooms of
 * `roomSize` (the first creates, the others join) and opens a direct room
 * for each pair (2k, 2k+1).
 */
async function makeAccounts(ctx: BenchContext, dataDir: string, users: number, roomSize: number): Promise<AccountsMeta> {
  const server = await startParley(ctx, dataDir);
  try {
    const base = server.httpUrl;
    const t0 = Date.now();
    const made = await pool(
      Array.from({ length: users }, (_, i) => i),
      8,
      async (i) => {
        const username = `bench${i}`;
        const signup = await call<{ user: { id: string }; csrfToken: string }>(base, "POST", "/auth/signup", {
          body: { email: `${username}@bench.test`, username, password: PASSWORD, passwordConfirm: PASSWORD },
        });
        const token = await call<{ token: string }>(base, "POST", "/tokens", { cookie: signup.cookie ?? "", csrf: signup.body.csrfToken, body: { name: "bench" } });
        if ((i + 1) % 250 === 0) ctx.log(`  signed up ${i + 1} / ${users} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
        return { id: signup.body.user.id, token: token.body.token };
      },
    );
    const rooms: AccountsMeta["rooms"] = [];
    for (let start = 0, r = 0; start < users; start += roomSize, r++) {
      const members = Array.from({ length: Math.min(roomSize, users - start) }, (_, k) => start + k);
      const owner = made[members[0]!]!;
      const room = await call<{ room: { id: string } }>(base, "POST", "/rooms", { bearer: owner.token, body: { name: `bench room ${r}`, kind: "public" } });
      await pool(members.slice(1), 8, (m) => call(base, "POST", `/rooms/${room.body.room.id}/join`, { bearer: made[m]!.token }));
      rooms.push({ id: room.body.room.id, members });
    }
    const pairs = Array.from({ length: Math.floor(users / 2) }, (_, p) => [2 * p, 2 * p + 1]);
    const directs = await pool(pairs, 8, async ([a, b]) => {
      const room = await call<{ room: { id: string } }>(base, "POST", "/direct", { bearer: made[a!]!.token, body: { userId: made[b!]!.id } });
      return { id: room.body.room.id, members: [a!, b!] };
    });
    return { users: made, rooms, directs };
  } finally {
    await stopChild(server.child);
  }
}

/** Accounts for the messaging scenarios: made over the API once, then copied from the cache. */
export async function accountsFixture(ctx: BenchContext, users: number, roomSize: number): Promise<{ dataDir: string; meta: AccountsMeta; setup: Record<string, number | boolean> }> {
  const key = sourceHash(["src/server/store/migrations", "src/server/auth/credentials.ts", "bench/targets/parley-accounts.ts"], { users, roomSize, v: 1 });
  const fixture = await cachedFixture(ctx.cacheDir, ctx.tmpDir, "parley-accounts", key, async (dir) => {
    ctx.log(`parley: signing up ${users} accounts over HTTP (cached afterwards under ${ctx.cacheDir ?? "no cache"})`);
    const meta = await makeAccounts(ctx, path.join(dir, "data"), users, roomSize);
    fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
  });
  const t0 = Date.now();
  const copy = copyFixture(fixture.dir, ctx.tmpDir, "parley-run");
  const meta = JSON.parse(fs.readFileSync(path.join(copy, "meta.json"), "utf8")) as AccountsMeta;
  return { dataDir: path.join(copy, "data"), meta, setup: { fixtureCached: fixture.hit, fixtureBuildMs: fixture.buildMs, copyMs: Date.now() - t0 } };
}

