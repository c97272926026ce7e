import { describe, expect, it } from "vitest";
import { createMetrics, noMetrics, registerSocketGauges, STAGE_BUCKETS_SECONDS, WAIT_BUCKETS_SECONDS } from "@server/metrics/registry.js";
import { noSendPathObserver } from "@server/metrics/send-path.js";
import { parsePromText, quantileBetween, Scrape } from "../../bench/lib/prom-text.js";
import { sendBreakdown } from "../../bench/lib/send-breakdown.js";

/** The node's Prometheus registry, its send-path observer, and the benchmark's reading of both. */

const scrape = async (m: ReturnType<typeof createMetrics>): Promise<Scrape> => new Scrape(parsePromText(await m.registry!.metrics()));

describe("createMetrics", () => {
  it("collects nothing when metrics are off", () => {
    const m = createMetrics({ enabled: false });
    expect(m).toBe(noMetrics);
    expect(m.registry).toBeNull();
    expect(m.sendPath).toBe(noSendPathObserver);
    registerSocketGauges(m, { sockets: () => 1, queuedBytes: () => 1 }); // no registry: a no-op, not a throw
  });

  it("gives each node its own registry, with Node's default metrics", async () => {
    const a = createMetrics({ enabled: true });
    const b = createMetrics({ enabled: true });
    expect(a.registry).not.toBe(b.registry);
    a.sendPath.stage("work", 1);
    const text = await b.registry!.metrics();
    expect(text).toContain("nodejs_eventloop_lag_seconds");
    expect(text).toContain("process_cpu_seconds_total");
    // b saw none of a's observations.
    expect(new Scrape(parsePromText(text)).value("parley_send_stage_seconds_count", { stage: "work" })).toBe(0);
  });

  it("exports every stage from the start, at zero", async () => {
    const s = await scrape(createMetrics({ enabled: true }));
    for (const stage of ["intake", "work", "commit", "publish", "flush"]) {
      expect(s.value("parley_send_stage_seconds_count", { stage }), stage).toBe(0);
    }
  });

  it("stores stage, batch and fan-out reports in seconds, in buckets from 1 µs", async () => {
    const m = createMetrics({ enabled: true });
    m.sendPath.stage("intake", 0.004); // 4 µs
    m.sendPath.stage("work", 0.05);
    m.sendPath.stage("work", 0.07);
    m.sendPath.stage("commit", 0.3);
    m.sendPath.batch({ size: 2, queueMs: 1.2, runMs: 0.42, fsyncMs: 0.8, events: 1 });
    m.sendPath.fanout(0.15);
    const s = await scrape(m);
    expect(s.value("parley_send_stage_seconds_count", { stage: "work" })).toBe(2);
    expect(s.value("parley_send_stage_seconds_sum", { stage: "work" })).toBeCloseTo(0.00012, 12);
    expect(s.value("parley_send_stage_seconds_sum", { stage: "intake" })).toBeCloseTo(0.000004, 12);
    // 4 µs lands in the 5 µs bucket, not the 2 µs one.
    expect(s.value("parley_send_stage_seconds_bucket", { stage: "intake", le: "0.000002" })).toBe(0);
    expect(s.value("parley_send_stage_seconds_bucket", { stage: "intake", le: "0.000005" })).toBe(1);
    expect(s.value("parley_group_commit_size_sum")).toBe(2);
    expect(s.value("parley_group_commit_size_count")).toBe(1);
    expect(s.value("parley_group_commit_queue_seconds_sum")).toBeCloseTo(0.0012, 12);
    expect(s.value("parley_group_commit_run_seconds_sum")).toBeCloseTo(0.00042, 12);
    expect(s.value("parley_fsync_seconds_sum")).toBeCloseTo(0.0008, 12);
    expect(s.value("parley_fanout_seconds_count")).toBe(1);
  });

  it("has buckets over the ranges the send path spans", () => {
    expect(STAGE_BUCKETS_SECONDS[0]).toBe(1e-6);
    expect(STAGE_BUCKETS_SECONDS.at(-1)).toBe(0.1);
    expect(WAIT_BUCKETS_SECONDS[0]).toBe(1e-5);
    expect(WAIT_BUCKETS_SECONDS.at(-1)).toBe(5);
    for (const b of [STAGE_BUCKETS_SECONDS, WAIT_BUCKETS_SECONDS]) expect([...b].sort((x, y) => x - y)).toEqual(b);
  });

  it("reads the open-socket count at each scrape", async () => {
    const m = createMetrics({ enabled: true });
    let open = 3;
    registerSocketGauges(m, { sockets: () => open, queuedBytes: () => 0 });
    expect((await scrape(m)).value("parley_open_sockets")).toBe(3);
    open = 7;
    expect((await scrape(m)).value("parley_open_sockets")).toBe(7);
  });
});

describe("benchmark breakdown from two scrapes", () => {
  it("parses the exposition format: labels with escapes, +Inf, comments", () => {
    const samples = parsePromText(
      ['# HELP x y', '# TYPE x histogram', 'x_bucket{le="+Inf",a="q\\"uote\\\\"} 3', "plain 1.5e-3 1700000000000", "", "garbage{"].join("\n"),
    );
    expect(samples).toEqual([
      { name: "x_bucket", labels: { le: "+Inf", a: 'q"uote\\' }, value: 3 },
      { name: "plain", labels: {}, value: 0.0015 },
    ]);
  });

  it("interpolates a quantile inside the bucket that holds it", () => {
    const before = [{ le: 0.001, count: 0 }, { le: 0.002, count: 0 }, { le: Infinity, count: 0 }];
    const after = [{ le: 0.001, count: 2 }, { le: 0.002, count: 4 }, { le: Infinity, count: 4 }];
    expect(quantileBetween(before, after, 0.5)).toBeCloseTo(0.001, 9);
    expect(quantileBetween(before, after, 0.75)).toBeCloseTo(0.0015, 9);
    expect(quantileBetween(after, after, 0.5)).toBeNull();
  });

  it("turns the registry's deltas and thread CPU into µs per message", async () => {
    const m = createMetrics({ enabled: true });
    m.sendPath.stage("work", 0.5); // before the step: not counted
    const before = await scrape(m);
    for (let i = 0; i < 4; i++) {
      m.sendPath.stage("intake", 0.01);
      m.sendPath.stage("work", 0.02);
    }
    m.sendPath.stage("commit", 0.04);
    m.sendPath.stage("publish", 0.02);
    m.sendPath.stage("flush", 0.008);
    m.sendPath.batch({ size: 4, queueMs: 1, runMs: 0.12, fsyncMs: 0.6, events: 1 });
    for (let i = 0; i < 4; i++) m.sendPath.fanout(0.3);
    const after = await scrape(m);
    const b = sendBreakdown({ before, after }, { before: { mainUs: 1000, otherUs: 500, totalUs: 1500 }, after: { mainUs: 1400, otherUs: 700, totalUs: 2100 } }, 99);
    expect(b).not.toBeNull();
    expect(b!.messages).toBe(4); // from the work stage, not the 99 sends written
    expect(b!.messagesFrom).toBe("work-stage");
    expect(b!.stageUs).toEqual({ intake: 10, work: 20, commit: 10, publish: 5, flush: 2 });
    expect(b!.stagesUs).toBe(47);
    expect(b!.mainThreadCpuUs).toBe(100);
    expect(b!.mainOutsideStagesUs).toBe(53);
    expect(b!.otherThreadsCpuUs).toBe(50);
    expect(b!.totalCpuUs).toBe(150);
    expect(b!.otherUs).toBe(103);
    expect(b!.batches).toBe(1);
    expect(b!.meanBatchSize).toBe(4);
    expect(b!.meanQueueMs).toBe(1);
    expect(b!.meanFsyncMs).toBe(0.6);
    // 0.3 ms falls in the (0.2, 0.5] ms bucket: the median interpolates to its middle.
    expect(b!.fanoutP50Ms).toBeCloseTo(0.35, 3);
  });

  it("still gives the CPU per message when the metrics are missing", () => {
    const cpu = { before: { mainUs: 0, otherUs: 0, totalUs: 0 }, after: { mainUs: 800, otherUs: 200, totalUs: 1000 } };
    const b = sendBreakdown({ before: null, after: null }, cpu, 10);
    expect(b).toMatchObject({ messages: 10, messagesFrom: "sends-written", metricsScraped: false, stageUs: null, totalCpuUs: 100, mainThreadCpuUs: 80, otherUs: null });
    // An empty scrape (a build without the histograms) reads as zeros, not a failure.
    const empty = new Scrape([]);
    const z = sendBreakdown({ before: empty, after: empty }, cpu, 10);
    expect(z).toMatchObject({ metricsScraped: true, stagesUs: 0, otherUs: 100, batches: 0, meanBatchSize: null, fanoutP50Ms: null });
    expect(sendBreakdown({ before: empty, after: empty }, cpu, 0)).toBeNull();
  });
});
