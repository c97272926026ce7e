import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import net from "node:net";

const alias = {
  "@shared": fileURLToPath(new URL("./src/shared", import.meta.url)),
  "@server": fileURLToPath(new URL("./src/server", import.meta.url)),
  "@web": fileURLToPath(new URL("./src/web", import.meta.url)),
};

/** The PostgreSQL and Redis servers the scaled-out suites use (the machine's own by default). */
const postgresUrl = process.env.PARLEY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.PARLEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** True when something accepts TCP connections at the URL's host and port within 1 s. */
function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort), timeout: 1000 });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Projects: unit (pure logic, fast); integration (a real server on an
 * ephemeral port, real HTTP and WebSocket clients) on SQLite, and again on
 * PostgreSQL; cluster (several nodes on PostgreSQL + Redis, failures);
 * e2e (the built web app in real Chromium; needs `npm run build` first,
 * which `npm test` does). On CI (`CI=true`) every project runs and a
 * missing PostgreSQL or Redis fails it; elsewhere, the suites that need one
 * that is not running are left out with a notice.
 */
export default defineConfig(async () => {
  const ci = process.env.CI === "true" || process.env.CI === "1";
  const hasPostgres = ci || (await reachable(postgresUrl, 5432));
  const hasRedis = ci || (await reachable(redisUrl, 6379));
  if (!hasPostgres || !hasRedis) {
    console.warn(
      `\n[parley] ${[!hasPostgres && `PostgreSQL (${postgresUrl})`, !hasRedis && `Redis (${redisUrl})`].filter(Boolean).join(" and ")} not running: ` +
        "the PostgreSQL and multi-node suites are left out of this run (CI=true runs them and fails without them).\n",
    );
  }
  const integration = { environment: "node" as const, testTimeout: 20_000, hookTimeout: 30_000 };
  return {
    resolve: { alias },
    test: {
      projects: [
        {
          resolve: { alias },
          test: { name: "unit", include: ["src/**/*.test.ts", "test/unit/**/*.test.ts"], environment: "node" },
        },
        {
          resolve: { alias },
          test: { name: "integration", include: ["test/integration/**/*.test.ts"], ...integration },
        },
        ...(hasPostgres
          ? [
              {
                resolve: { alias },
                test: {
                  name: "integration-postgres",
                  include: ["test/integration/**/*.test.ts"],
                  // Each test node gets a database of its own on this server (test/support/server.ts).
                  env: { PARLEY_TEST_POSTGRES_URL: postgresUrl },
                  globalSetup: ["test/support/postgres-setup.ts"],
                  ...integration,
                },
              },
            ]
          : []),
        ...(hasPostgres && hasRedis
          ? [
              {
                resolve: { alias },
                test: {
                  name: "cluster",
                  include: ["test/cluster/**/*.test.ts"],
                  env: { PARLEY_TEST_POSTGRES_URL: postgresUrl, PARLEY_TEST_REDIS_URL: redisUrl },
                  globalSetup: ["test/support/postgres-setup.ts"],
                  environment: "node" as const,
                  testTimeout: 60_000,
                  hookTimeout: 60_000,
                  // These tests restart the machine's Redis and PostgreSQL: one file at a time.
                  fileParallelism: false,
                },
              },
            ]
          : []),
        {
          resolve: { alias },
          test: {
            name: "e2e",
            include: ["e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 60_000,
            hookTimeout: 60_000,
            // One browser at a time: the machine has two cores.
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
