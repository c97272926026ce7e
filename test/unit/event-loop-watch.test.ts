import { describe, expect, it } from "vitest";
import pino from "pino";
import { Writable } from "node:stream";
import { EventLoopDrift, parseSchedstat, queryObserver, splitStall, watchEventLoop } from "@server/metrics/event-loop.js";
import { queryLog } from "@server/store/sqlite.js";
import { createMetrics } from "@server/metrics/registry.js";
import { parsePromText, Scrape } from "../../bench/lib/prom-text.js";

/** The event-loop watch (issue 16 item 15b): stalls named with their length, in the log and in a histogram. */

describe("EventLoopDrift", () => {
  it("reports a tick's lateness beyond its interval once it reaches the threshold", () => {
    const d = new EventLoopDrift(50, 100, 1_000);
    expect(d.tick(1_050)).toBeNull(); // on time
    expect(d.tick(1_180)).toBeNull(); // 80 ms late: under the threshold
    expect(d.tick(1_230 + 100)).toBe(100); // exactly the threshold
    expect(d.tick(1_380 + 1_250)).toBe(1_250); // a 1.25 s stall
    expect(d.tick(2_680)).toBeNull(); // the next tick measures from the late one, not from the schedule
  });
});

describe("splitStall", () => {
  it("splits a stall into work on the CPU, waiting for a CPU and sleep inside a call", () => {
    const before = parseSchedstat("1000000000 2000000000 50\n")!;
    expect(before).toEqual({ cpuMs: 1000, waitMs: 2000 });
    // A 650 ms gap: 100 ms of our work, 500 ms runnable behind other processes, the rest asleep.
    const after = parseSchedstat("1100000000 2500000000 60")!;
    expect(splitStall(before, after, 650)).toEqual({ cpuMs: 100, waitMs: 500, offCpuMs: 50 });
  });

  it("refuses what is not a schedstat line", () => {
    expect(parseSchedstat("")).toBeNull();
    expect(parseSchedstat("x y z")).toBeNull();
  });
});

describe("watchEventLoop", () => {
  it("logs 'event loop blocked N ms' at warn and reports the stall", async () => {
    const lines: { level: number; msg: string; blockedMs: number }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        done();
      },
    });
    const seen: number[] = [];
    const watch = watchEventLoop(pino(sink), { intervalMs: 5, thresholdMs: 30, onBlocked: (ms) => seen.push(ms) });
    try {
      // Hold the loop until the watch has certainly missed its tick by the threshold.
      const until = performance.now() + 80;
      while (performance.now() < until) {
        /* busy: the stall under test */
      }
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (seen.length > 0) {
            clearInterval(poll);
            resolve();
          }
        }, 1);
      });
    } finally {
      watch.stop();
    }
    expect(seen[0]).toBeGreaterThanOrEqual(30);
    const line = lines.find((l) => l.msg.startsWith("event loop blocked"));
    expect(line).toMatchObject({ level: 40, blockedMs: seen[0] });
    expect(line?.msg).toMatch(new RegExp(`^event loop blocked ${seen[0]} ms`));
  });

  it("counts stalls in parley_event_loop_blocked_seconds", async () => {
    const m = createMetrics({ enabled: true });
    m.eventLoopBlocked(1_250);
    m.eventLoopBlocked(120);
    const s = new Scrape(parsePromText(await m.registry!.metrics()));
    expect(s.value("parley_event_loop_blocked_seconds_count")).toBe(2);
    expect(s.value("parley_event_loop_blocked_seconds_sum")).toBeCloseTo(1.37, 9);
    expect(s.buckets("parley_event_loop_blocked_seconds").find((b) => b.le === 1)?.count).toBe(1);
  });
});

describe("queryObserver", () => {
  it("counts every query and logs those of 100 ms or more with their SQL, never their parameters", () => {
    const lines: { msg: string; queryMs: number; sql: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        done();
      },
    });
    const seen: number[] = [];
    const observe = queryObserver(pino(sink), { query: (ms) => seen.push(ms) });
    // Kysely's log event, as queryLog hands it on.
    const log = queryLog(observe) as (event: unknown) => void;
    log({ level: "query", queryDurationMillis: 3, query: { sql: "select 1", parameters: [] } });
    log({ level: "query", queryDurationMillis: 150.4, query: { sql: "select * from rooms where id = ?", parameters: ["secret"] } });
    expect(seen).toEqual([3, 150.4]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: "slow query 150 ms", queryMs: 150, sql: "select * from rooms where id = ?" });
    expect(JSON.stringify(lines[0])).not.toContain("secret");
  });
});
