import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino, { type Logger } from "pino";
import { randomBytes } from "node:crypto";
import { loadConfig, type ConfigInput } from "@server/config.js";
import { createServer, type ParleyServer } from "@server/app.js";
import type { BackfillOptions } from "@server/search/backfill.js";
import type { PushTls } from "@server/notifications/push/sender.js";

/** A real Parley node on 127.0.0.1 with an ephemeral port and its own temp data dir. */
export interface TestServer {
  baseUrl: string;
  wsUrl: string;
  dataDir: string;
  server: ParleyServer;
  /** Graceful stop; the data dir stays until `destroy` (so a restart can reuse it). */
  stop(): Promise<void>;
  /** Stops the node and starts a new one on the same data dir (and a new port). */
  restart(): Promise<TestServer>;
  /** Stops and deletes the data dir. */
  destroy(): Promise<void>;
}

const postgresByDataDir = new Map<string, { url: string; drop: () => Promise<void> }>();

const webDir = path.resolve(import.meta.dirname, "../../dist/web");

/**
 * The database the integration suite runs on: SQLite in the node's data dir
 * by default; with `PARLEY_TEST_POSTGRES_URL` set (vitest's
 * `integration-postgres` project sets it), a database of its own on that
 * PostgreSQL server, created for the node and dropped by `destroy`.
 */
export const testPostgresUrl = process.env.PARLEY_TEST_POSTGRES_URL ?? null;

/** Runs one statement on the maintenance database at `url`. */
async function postgresAdmin(url: string, statement: string): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Creates a PostgreSQL database with a unique name on the test server and
 * returns its URL and how to drop it (connections still open are ended).
 */
export async function createTestPostgresDatabase(baseUrl = testPostgresUrl): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!baseUrl) throw new Error("PARLEY_TEST_POSTGRES_URL is not set");
  const name = `parley_test_${process.env.PARLEY_TEST_RUN_ID ?? "x"}_${randomBytes(6).toString("hex")}`;
  await postgresAdmin(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => postgresAdmin(baseUrl, `drop database if exists ${name} with (force)`),
  };
}

/**
 * Starts a node for a test. Logs are silent unless PARLEY_TEST_LOG is set.
 * `dataDir` reuses a directory (restart tests); otherwise a fresh one is made.
 * `opts.logger`: where the node logs instead (a test that reads its log lines);
 * `opts.searchBackfill`: the search backfill's test hooks;
 * `opts.pushTls`: the CA the node's Web Push agent trusts (test/support/push-service.ts's `ca`).
 */
export async function startTestServer(
  overrides: ConfigInput & { dataDir?: string } = {},
  opts: { logger?: Logger; searchBackfill?: BackfillOptions; pushTls?: PushTls } = {},
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "parley-test-"));
  // On PostgreSQL the database outlives a restart like the data dir does: remembered per data dir.
  let postgres = postgresByDataDir.get(dataDir);
  if (testPostgresUrl && !overrides.databaseUrl && !postgres) {
    postgres = await createTestPostgresDatabase();
    postgresByDataDir.set(dataDir, postgres);
  }
  const config = loadConfig({
    values: {
      port: 0,
      host: "127.0.0.1",
      logLevel: (process.env.PARLEY_TEST_LOG as ConfigInput["logLevel"]) ?? "silent",
      webDir,
      // Tests sign up, log in, create rooms and open sockets often, all from 127.0.0.1;
      // each limit is tested on its own with a low value.
      loginAttemptsPerMinute: 1000,
      loginAttemptsPerMinutePerAddress: 100_000,
      signupsPerHourPerAddress: 100_000,
      passwordHashQueue: 10_000,
      roomsCreatedPerHour: 100_000,
      memberAddsPerMinute: 100_000,
      httpMessagesPerMinute: 100_000,
      wsSocketsPerAddress: 10_000,
      wsSocketsPerUser: 10_000,
      uploadsInProgressPerUser: 100,
      searchesPerMinute: 100_000,
      ...(postgres ? { databaseUrl: postgres.url } : {}),
      ...overrides,
      dataDir,
    },
  });
  const server = await createServer(config, { ...opts, logger: opts.logger ?? pino({ level: config.logLevel }) });
  const baseUrl = (await server.listen()).replace("localhost", "127.0.0.1");
  // The browser's Origin is the test URL: allow it like a configured public URL.
  config.allowedOrigins.push(baseUrl);
  const self: TestServer = {
    baseUrl,
    wsUrl: `${baseUrl.replace(/^http/, "ws")}/ws`,
    dataDir,
    server,
    stop: () => server.close(),
    async restart() {
      await server.close();
      return startTestServer({ ...overrides, dataDir }, opts);
    },
    async destroy() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      postgresByDataDir.delete(dataDir);
      await postgres?.drop();
    },
  };
  return self;
}
