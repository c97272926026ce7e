import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import type { ClientSpec } from "../lib/types.js";
import { cachedFixture, copyFixture, sourceHash } from "../lib/cache.js";
import { freePort } from "../lib/proc.js";
import { startServerProcess, type BenchContext, type MessagingSpec, type Prepared, type ServerHandle, type Target } from "./types.js";
import { SEED_SOURCES, seedParley, type SeedMeta } from "./parley-seed.js";
import { accountsFixture } from "./parley-accounts.js";

/**
 * Parley on the embedded default (SQLite WAL, synchronous=FULL, in-process
 * bus), started from its built entry point exactly as an operator would.
 * The only settings changed are the abuse limits (the load generator sends
 * far more than 50 commands/s per socket at the top steps, and signs up
 * thousands of accounts and opens thousands of sockets from one address)
 * and the log level.
 */

export const PARLEY_BENCH_ENV: Record<string, string> = {
  PARLEY_LOG_LEVEL: "warn",
  PARLEY_WS_COMMANDS_PER_SECOND: "1000000",
  PARLEY_LOGIN_ATTEMPTS_PER_MINUTE: "100000",
  // The load comes from one address, with thousands of accounts and sockets, at rates no person sends.
  PARLEY_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS: "1000000",
  PARLEY_SIGNUPS_PER_HOUR_PER_ADDRESS: "1000000",
  PARLEY_PASSWORD_HASH_QUEUE: "1000000",
  PARLEY_WS_SOCKETS_PER_ADDRESS: "1000000",
  PARLEY_WS_SOCKETS_PER_USER: "1000000",
  // The bound of the earlier runs (the default is now 1 MiB): keeps results comparable across sessions.
  PARLEY_WS_SEND_BUFFER_BYTES: String(4 * 1024 * 1024),
  PARLEY_WS_BYTES_PER_SECOND: "1000000000",
  PARLEY_HTTP_MESSAGES_PER_MINUTE: "100000000",
  PARLEY_ROOMS_CREATED_PER_HOUR: "1000000",
  PARLEY_MEMBER_ADDS_PER_MINUTE: "1000000",
  // The search scenario sends hundreds of searches a minute from one account.
  PARLEY_SEARCHES_PER_MINUTE: "1000000",
};

/** BENCH_PARLEY_NODE_ARGS: extra node flags for Parley, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (written at its graceful exit). */
export const parleyNodeArgs = (): string[] => process.env.BENCH_PARLEY_NODE_ARGS?.split(" ").filter(Boolean) ?? [];

/**
 * Starts Parley on `dataDir`. `metrics: true` also opens its metrics
 * listener on a free loopback port (`metricsUrl` of the handle), which the
 * messaging scenarios scrape before and after each step for the per-stage
 * breakdown; the other scenarios leave it off, as the default is. `env`:
 * more environment (the search scenario's PARLEY_DATABASE_URL).
 */
export async function startParley(ctx: BenchContext, dataDir: string, opts: { timeoutMs?: number; metrics?: boolean; env?: Record<string, string> } = {}): Promise<ServerHandle> {
  const metricsPort = opts.metrics ? await freePort() : null;
  const server = await startServerProcess(ctx, {
    name: "parley",
    args: (port) => [...parleyNodeArgs(), ctx.parleyMain, "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir],
    env: {
      ...PARLEY_BENCH_ENV,
      ...ctx.parleyEnv,
      ...opts.env,
      ...(metricsPort !== null ? { PARLEY_METRICS_PORT: String(metricsPort), PARLEY_METRICS_HOST: "127.0.0.1" } : {}),
    },
    healthPath: "/healthz",
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  if (metricsPort !== null) server.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  return server;
}

export const parleyWsUrl = (server: ServerHandle): string => `ws://127.0.0.1:${server.port}/ws`;

/** A seeded database (see parley-seed.ts), cached, copied for this run. */
export async function seededFixture(
  ctx: BenchContext,
  opts: { users: number; roomSize: number; messages: number },
): Promise<{ dataDir: string; meta: SeedMeta; setup: Record<string, number | boolean> }> {
  const key = sourceHash(SEED_SOURCES, { ...opts, v: 1 });
  const fixture = await cachedFixture(ctx.cacheDir, ctx.tmpDir, "parley-seed", key, async (dir) => {
    ctx.log(`parley: seeding ${opts.users} users, ${opts.messages.toLocaleString("en")} messages directly into SQLite`);
    const meta = await seedParley(path.join(dir, "data"), { ...opts, log: ctx.log });
    fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
  });
  const t0 = Date.now();
  const copy = copyFixture(fixture.dir, ctx.tmpDir, "parley-run");
  const meta = JSON.parse(fs.readFileSync(path.join(copy, "meta.json"), "utf8")) as SeedMeta;
  return { dataDir: path.join(copy, "data"), meta, setup: { fixtureCached: fixture.hit, fixtureBuildMs: fixture.buildMs, copyMs: Date.now() - t0 } };
}

/**
 * Gives each user one Web Push subscription, written straight into the
 * running server's SQLite file (WAL: the server keeps serving). Endpoints
 * under .invalid (RFC 2606): the accounts stay connected for the whole run,
 * so none is pushed to; the run measures deciding who to notify.
 * @returns what was done, for the log
 */
function subscribeEveryone(dbFile: string, userIds: readonly string[]): string {
  const db = new Database(dbFile);
  try {
    db.pragma("busy_timeout = 5000");
    const table = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'push_subscriptions'").get();
    if (!table) return "this build has no push subscriptions: --push-subscribed changes nothing";
    const insert = db.prepare("insert into push_subscriptions (id, user_id, endpoint, p256dh, auth, label, created_at, last_push_at) values (?, ?, ?, ?, ?, ?, ?, null) on conflict (endpoint) do nothing");
    // A real P-256 point and auth secret's shape; never used to encrypt (nobody is pushed to).
    const p256dh = Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString("base64url");
    const at = new Date().toISOString();
    db.transaction(() => {
      for (const id of userIds) insert.run(`bench-push-${id}`, id, `https://push.invalid/bench/${id}`, p256dh, randomBytes(16).toString("base64url"), "bench", at);
    })();
    return `subscribed ${userIds.length} accounts to Web Push`;
  } finally {
    db.close();
  }
}

function specsFor(server: ServerHandle, tokens: string[], groups: { id: string; members: number[] }[]): ClientSpec[] {
  const url = parleyWsUrl(server);
  const clients: ClientSpec[] = [];
  for (const g of groups) {
    g.members.forEach((index, slot) => {
      clients.push({ index, url, headers: { authorization: `Bearer ${tokens[index]!}` }, roomId: g.id, roomSize: g.members.length, slot });
    });
  }
  return clients.sort((a, b) => a.index - b.index);
}

export const parley: Target = {
  name: "parley",
  protocol: "parley",
  description: "Parley, embedded default (SQLite WAL synchronous=FULL, in-process bus), built entry point",
  async messaging(ctx: BenchContext, spec: MessagingSpec): Promise<Prepared> {
    const fixture = await accountsFixture(ctx, spec.clients, spec.roomSize);
    const t0 = Date.now();
    const server = await startParley(ctx, fixture.dataDir, { metrics: true });
    if (ctx.pushSubscribed) ctx.log(`parley: ${subscribeEveryone(path.join(fixture.dataDir, "parley.db"), fixture.meta.users.map((u) => u.id))}`);
    const groups = spec.use === "direct" ? fixture.meta.directs : fixture.meta.rooms;
    const tokens = fixture.meta.users.map((u) => u.token);
    return { server, clients: specsFor(server, tokens, groups), setup: { ...fixture.setup, startMs: Date.now() - t0 } };
  },
  async connections(ctx: BenchContext, count: number, roomSize: number): Promise<Prepared> {
    const fixture = await seededFixture(ctx, { users: count, roomSize, messages: 0 });
    const t0 = Date.now();
    const server = await startParley(ctx, fixture.dataDir);
    const tokens = fixture.meta.users.map((u) => u.token);
    return { server, clients: specsFor(server, tokens, fixture.meta.rooms), setup: { ...fixture.setup, startMs: Date.now() - t0 } };
  },
};
