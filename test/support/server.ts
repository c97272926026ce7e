import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig, type ConfigInput } from "@server/config.js";
import { createServer, type ParleyServer } from "@server/app.js";

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

const webDir = path.resolve(import.meta.dirname, "../../dist/web");

/**
 * Starts a node for a test. Logs are silent unless PARLEY_TEST_LOG is set.
 * `dataDir` reuses a directory (restart tests); otherwise a fresh one is made.
 */
export async function startTestServer(overrides: ConfigInput & { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "parley-test-"));
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
      ...overrides,
      dataDir,
    },
  });
  const server = await createServer(config, { logger: pino({ level: config.logLevel }) });
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
      return startTestServer({ ...overrides, dataDir });
    },
    async destroy() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
