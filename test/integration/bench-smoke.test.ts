import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createContext, runScenario } from "../../bench/suite.js";

/**
 * A tiny run of the benchmark harness (bench/, `npm run bench`) so it cannot
 * rot: the built Parley (dist/, which `npm test` builds first) as a child
 * process, 20 accounts signed up over HTTP in 2 rooms of 10, two
 * load-generator processes sending real `message.send` frames for 2 s.
 * Every delivery must be counted and none lost. No pinning (taskset may be
 * missing, and other test files run beside this one), no cache, no waiting
 * for a quiet machine.
 */
describe("benchmark harness (smoke)", () => {
  it("drives Parley over its real protocol and counts every delivery", async () => {
    const ctx = createContext({
      pin: false,
      parleyMain: fileURLToPath(new URL("../../dist/server/main.js", import.meta.url)),
      cacheDir: null,
      log: () => undefined,
      quiet: { quietPct: 100_000, noisyPct: 100_000, retries: 0, maxWaitMs: 0, budgetMs: 0 },
    });
    try {
      const result = await runScenario(ctx, "room-fanout", ["parley"], true, {
        messaging: {
          clients: 20,
          roomSize: 10,
          // 20 sends/s × 9 other members.
          steps: [180],
          durationMs: 2_000,
          drainMs: 5_000,
          warmupMs: 500,
          workers: 2,
          // Judge counting, not speed: a loaded test machine may be slow.
          p99LimitMs: 60_000,
          loadgenSaturationPct: 100_000,
        },
      });
      const run = result.messaging?.[0];
      expect(run?.error).toBeUndefined();
      expect(run?.connect?.opened).toBe(20);
      const step = run!.steps[0]!;
      expect(step.sends).toBeGreaterThan(20);
      expect(step.expected).toBe(step.sends * 9);
      expect(step.delivered).toBe(step.expected);
      expect(step.lost).toBe(0);
      expect(step.errors).toBe(0);
      expect(step.duplicates).toBe(0);
      expect(step.echoes).toBe(step.sends);
      expect(step.acks).toBe(step.sends);
      expect(step.latency.count).toBe(step.delivered);
      expect(step.latency.p50).toBeGreaterThan(0);
      expect(step.serverCpuUsPerDelivery).toBeGreaterThan(0);
      // The per-stage breakdown's pipeline: Parley's metrics listener scraped around the step, CPU split by thread.
      expect(step.parleyBreakdown?.metricsScraped, "Parley's /metrics scraped (dist/ older than the metrics listener? npm run build)").toBe(true);
      expect(step.parleyBreakdown?.totalCpuUs).toBeGreaterThan(0);
    } finally {
      ctx.cleanup();
    }
  }, 60_000);

  it("seeds, indexes with the backfill and measures every search query kind on SQLite", async () => {
    const ctx = createContext({
      pin: false,
      parleyMain: fileURLToPath(new URL("../../dist/server/main.js", import.meta.url)),
      cacheDir: null,
      log: () => undefined,
      quiet: { quietPct: 100_000, noisyPct: 100_000, retries: 0, maxWaitMs: 0, budgetMs: 0 },
    });
    try {
      const result = await runScenario(ctx, "search", ["parley"], true, { search: { messages: 5_000, samples: 3, warmup: 1, databases: ["sqlite"] } });
      const sqlite = result.search?.databases[0];
      expect(sqlite?.error).toBeUndefined();
      expect(sqlite?.index.indexed).toBe(5_000);
      // Every kind but the rare words (too rare for 5,000 messages), by relevance and by date, each query finding something.
      expect(sqlite!.runs.length).toBeGreaterThanOrEqual(8);
      for (const run of sqlite!.runs) {
        expect(run.latency.count).toBe(3);
        for (const q of run.queries) expect(q.results).toBeGreaterThan(0);
      }
    } finally {
      ctx.cleanup();
    }
  }, 60_000);
});
