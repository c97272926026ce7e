import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import pg from "pg";
import { copyDatabase } from "@server/store/copy.js";
import { summarizeSamples, type LatencySummary } from "../lib/hist.js";
import { cachedFixture, copyFixture, sourceHash } from "../lib/cache.js";
import { cpuTimeUs, machineBusyUs, memoryOf, nowUs } from "../lib/proc.js";
import { waitForQuiet } from "../lib/noise.js";
import { startParley } from "../targets/parley.js";
import type { BenchContext } from "../targets/types.js";
import { PHRASES, RARE, SEARCH_INDEX_SOURCES, SEARCH_SEED_SOURCES, indexSearch, seedSearchParley, type SearchSeedMeta } from "../targets/parley-search-seed.js";
import { bearerGet } from "../lib/http-get.js";

/**
 * search (issue 18 item 6): an installation of `messages` messages of varied
 * text (bench/targets/parley-search-seed.ts) with its search index built by
 * the backfill, served by Parley on SQLite and on PostgreSQL. One client,
 * one request at a time over a keep-alive connection, GET /api/v1/search
 * (the newest page: the first, 20 results) for each kind of query, sorted
 * by relevance and by date; latency is request written → body read.
 *
 * SQLite: the seeded file is indexed once (cached under bench/.cache/ with
 * the seed) by search/backfill.ts in this process. PostgreSQL: a database
 * of a unique name is made on `postgresUrl`, the seeded SQLite file copied
 * into it by `npm run copy-database`'s code (which leaves the index out),
 * indexed by the same backfill, and dropped at the end.
 */

export interface SearchOptions {
  messages: number;
  users: number;
  rooms: number;
  /** Measured requests per query kind and sort. */
  samples: number;
  /** Unrecorded requests per query kind and sort before the measured ones. */
  warmup: number;
  databases: ("sqlite" | "postgres")[];
  /** The PostgreSQL server's maintenance database (a database of its own is created on it). */
  postgresUrl: string;
  /** Messages per backfill batch while the index is built. */
  backfillBatch: number;
}

/** The query kinds measured, each a few queries of the same kind taken in turn (the rare words: those the seed used most, see `queryKinds`). */
export const QUERY_KINDS: { kind: string; queries: string[] }[] = [
  { kind: "one word (common)", queries: ["room", "message", "server", "client", "file"] },
  { kind: "rare word", queries: RARE.slice(0, 5) },
  { kind: "two-word phrase", queries: PHRASES.slice(0, 5).map((p) => `"${p}"`) },
  { kind: "three-letter substring", queries: ["xpe", "ndl", "mpt"] },
  { kind: "CJK", queries: ["数据库", "会議", "東京", "プロジェクト"] },
];

/** QUERY_KINDS with the rare words the seed actually wrote (a smaller seed holds some of them zero times). */
function queryKinds(counts: SearchSeedMeta["counts"]): typeof QUERY_KINDS {
  const rare = Object.entries(counts.rare)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([w]) => w);
  return QUERY_KINDS.map((k) => (k.kind === "rare word" ? { ...k, queries: rare } : k)).filter((k) => k.queries.length > 0);
}

export interface SearchQueryRun {
  kind: string;
  sort: "relevance" | "date";
  queries: { q: string; results: number; total: number; totalCapped: boolean }[];
  latency: LatencySummary;
}

export interface SearchDatabaseRun {
  database: "sqlite" | "postgres";
  setup: Record<string, number | string | boolean>;
  /** Building the index with the backfill: messages indexed, time (ms) and rate (messages/s). */
  index: { indexed: number; ms: number; perSecond: number; cached: boolean };
  runs: SearchQueryRun[];
  serverRssBytes: number | null;
  /** Other processes' CPU during the measurements, % of one core. */
  backgroundCpuPct: number | null;
  error?: string;
}

export interface SearchBenchResult {
  messages: number;
  rooms: number;
  counts: SearchSeedMeta["counts"];
  databases: SearchDatabaseRun[];
}


const cpuOfSelf = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The seeded installation, without its index (cached). */
async function seedFixture(ctx: BenchContext, opts: SearchOptions): Promise<{ dir: string; key: string; hit: boolean; buildMs: number }> {
  const key = sourceHash(SEARCH_SEED_SOURCES, { messages: opts.messages, users: opts.users, rooms: opts.rooms, v: 1 });
  const fixture = await cachedFixture(ctx.cacheDir, ctx.tmpDir, "parley-search-seed", key, async (dir) => {
    ctx.log(`search: seeding ${opts.messages.toLocaleString("en")} messages in ${opts.rooms} rooms directly into SQLite`);
    const meta = await seedSearchParley(path.join(dir, "data"), { users: opts.users, rooms: opts.rooms, messages: opts.messages, log: ctx.log });
    fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
  });
  return { ...fixture, key };
}

/** The seeded installation with its index built by the backfill on SQLite (cached). */
async function indexedSqliteFixture(ctx: BenchContext, opts: SearchOptions, seed: { dir: string; key: string }): Promise<{ dir: string; hit: boolean; buildMs: number; index: { indexed: number; ms: number } }> {
  const key = sourceHash(SEARCH_INDEX_SOURCES, { seed: seed.key, batch: opts.backfillBatch, v: 1 });
  const fixture = await cachedFixture(ctx.cacheDir, ctx.tmpDir, "parley-search-indexed", key, async (dir) => {
    for (const entry of ["data", "meta.json"]) fs.cpSync(path.join(seed.dir, entry), path.join(dir, entry), { recursive: true });
    ctx.log(`search: indexing ${opts.messages.toLocaleString("en")} messages on SQLite with the backfill (batches of ${opts.backfillBatch})`);
    const index = await indexSearch(`sqlite:${path.join(dir, "data", "parley.db")}`, { batch: opts.backfillBatch, log: ctx.log });
    ctx.log(`search: SQLite index built: ${index.indexed.toLocaleString("en")} messages in ${(index.ms / 1000).toFixed(1)} s`);
    fs.writeFileSync(path.join(dir, "index.json"), JSON.stringify(index));
  });
  const index = JSON.parse(fs.readFileSync(path.join(fixture.dir, "index.json"), "utf8")) as { indexed: number; ms: number };
  return { ...fixture, index };
}

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Every query kind × sort against a running server. */
async function measure(ctx: BenchContext, baseUrl: string, pid: number, token: string, opts: SearchOptions, kinds: typeof QUERY_KINDS): Promise<{ runs: SearchQueryRun[]; backgroundCpuPct: number | null }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const runs: SearchQueryRun[] = [];
  const busy0 = machineBusyUs();
  const ours0 = (cpuTimeUs(pid) ?? 0) + cpuOfSelf();
  const wall0 = Date.now();
  try {
    for (const { kind, queries } of kinds) {
      for (const sort of ["relevance", "date"] as const) {
        const url = (q: string) => `${baseUrl}/api/v1/search?q=${encodeURIComponent(q)}&sort=${sort}&limit=20`;
        const first: SearchQueryRun["queries"] = [];
        for (const q of queries) {
          const res = await bearerGet(agent, url(q), token);
          if (res.status !== 200) throw new Error(`search ${q} (${sort}): ${res.status} ${res.body.slice(0, 300)}`);
          const body = JSON.parse(res.body) as { results: unknown[]; total: number; totalCapped: boolean };
          if (body.results.length === 0) throw new Error(`search ${q} (${sort}) found nothing: the seed or the index is wrong`);
          first.push({ q, results: body.results.length, total: body.total, totalCapped: body.totalCapped });
        }
        for (let i = 0; i < opts.warmup; i++) await bearerGet(agent, url(queries[i % queries.length]!), token);
        await waitForQuiet([pid], ctx.quiet, ctx.log);
        const samples: number[] = [];
        for (let i = 0; i < opts.samples; i++) {
          const t0 = nowUs();
          const res = await bearerGet(agent, url(queries[i % queries.length]!), token);
          samples.push(nowUs() - t0);
          if (res.status !== 200) throw new Error(`search ${queries[i % queries.length]} (${sort}): ${res.status} ${res.body.slice(0, 300)}`);
        }
        const latency = summarizeSamples(samples);
        ctx.log(`  ${kind}, sort=${sort}: p50 ${latency.p50} ms, p99 ${latency.p99} ms (${first.map((f) => `${f.q}: ${f.total}${f.totalCapped ? "+" : ""}`).join(", ")})`);
        runs.push({ kind, sort, queries: first, latency });
      }
    }
  } finally {
    agent.destroy();
  }
  const busy1 = machineBusyUs();
  const ours1 = (cpuTimeUs(pid) ?? 0) + cpuOfSelf();
  const backgroundCpuPct = busy0 !== null && busy1 !== null ? Math.max(0, Math.round((busy1 - busy0 - (ours1 - ours0)) / (Date.now() - wall0) / 10)) : null;
  return { runs, backgroundCpuPct };
}

export async function runSearch(ctx: BenchContext, opts: SearchOptions): Promise<SearchBenchResult> {
  const seed = await seedFixture(ctx, opts);
  const meta = JSON.parse(fs.readFileSync(path.join(seed.dir, "meta.json"), "utf8")) as SearchSeedMeta;
  const token = meta.users[0]!.token;
  const result: SearchBenchResult = { messages: meta.messages, rooms: meta.rooms.length, counts: meta.counts, databases: [] };
  const seedSetup = { seedCached: seed.hit, seedBuildMs: seed.buildMs };

  /** Starts a server on the copied installation `copy` (its database chosen by `env`), measures every query kind, stops it and removes the copy. */
  const serveAndMeasure = async (run: SearchDatabaseRun, copy: string, env: Record<string, string>): Promise<void> => {
    const t1 = Date.now();
    const server = await startParley(ctx, path.join(copy, "data"), { timeoutMs: 120_000, env });
    run.setup.startMs = Date.now() - t1;
    try {
      ctx.log(`search: ${run.database === "sqlite" ? "SQLite" : "PostgreSQL"}, ${meta.messages.toLocaleString("en")} messages`);
      const measured = await measure(ctx, server.httpUrl, server.pid, token, opts, queryKinds(meta.counts));
      run.runs = measured.runs;
      run.backgroundCpuPct = measured.backgroundCpuPct;
      run.serverRssBytes = memoryOf(server.pid)?.rss ?? null;
    } finally {
      await server.stop();
      fs.rmSync(copy, { recursive: true, force: true });
    }
  };

  if (opts.databases.includes("sqlite")) {
    const run: SearchDatabaseRun = { database: "sqlite", setup: { ...seedSetup }, index: { indexed: 0, ms: 0, perSecond: 0, cached: false }, runs: [], serverRssBytes: null, backgroundCpuPct: null };
    result.databases.push(run);
    try {
      const indexed = await indexedSqliteFixture(ctx, opts, seed);
      run.index = { ...indexed.index, perSecond: Math.round((indexed.index.indexed * 1000) / Math.max(1, indexed.index.ms)), cached: indexed.hit };
      const t0 = Date.now();
      const copy = copyFixture(indexed.dir, ctx.tmpDir, "parley-search-run");
      run.setup.copyMs = Date.now() - t0;
      await serveAndMeasure(run, copy, {});
    } catch (err) {
      run.error = (err as Error).stack ?? String(err);
      ctx.log(`search on SQLite failed: ${(err as Error).message}`);
    }
  }

  if (opts.databases.includes("postgres")) {
    const run: SearchDatabaseRun = { database: "postgres", setup: { ...seedSetup }, index: { indexed: 0, ms: 0, perSecond: 0, cached: false }, runs: [], serverRssBytes: null, backgroundCpuPct: null };
    result.databases.push(run);
    const name = `parley_bench_search_${ctx.runId.replace(/[^a-z0-9]/gi, "_").toLowerCase()}`;
    const url = new URL(opts.postgresUrl);
    url.pathname = `/${name}`;
    let created = false;
    try {
      await admin(opts.postgresUrl, `create database ${name}`);
      created = true;
      const copy = copyFixture(seed.dir, ctx.tmpDir, "parley-search-pg");
      const t0 = Date.now();
      ctx.log(`search: copying ${meta.messages.toLocaleString("en")} messages into PostgreSQL (${name})`);
      await copyDatabase({ from: `sqlite:${path.join(copy, "data", "parley.db")}`, to: url.toString(), batchRows: 5000 });
      run.setup.copyDatabaseMs = Date.now() - t0;
      ctx.log(`search: copied in ${((Date.now() - t0) / 1000).toFixed(1)} s; indexing with the backfill (batches of ${opts.backfillBatch})`);
      const index = await indexSearch(url.toString(), { batch: opts.backfillBatch, log: ctx.log });
      run.index = { ...index, perSecond: Math.round((index.indexed * 1000) / Math.max(1, index.ms)), cached: false };
      ctx.log(`search: PostgreSQL index built: ${index.indexed.toLocaleString("en")} messages in ${(index.ms / 1000).toFixed(1)} s`);
      await admin(url.toString(), "vacuum analyze");
      await serveAndMeasure(run, copy, { PARLEY_DATABASE_URL: url.toString() });
    } catch (err) {
      run.error = (err as Error).stack ?? String(err);
      ctx.log(`search on PostgreSQL failed: ${(err as Error).message}`);
    } finally {
      if (created) await admin(opts.postgresUrl, `drop database if exists ${name} with (force)`).catch((err: unknown) => ctx.log(`could not drop ${name}: ${String(err)}`));
    }
  }
  return result;
}
