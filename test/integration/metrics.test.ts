import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Prometheus metrics: served only by the separate metrics listener
 * (--metrics-port), on loopback by default, never by the public port.
 */
describe("metrics listener", () => {
  let t: TestServer;
  let metricsUrl: string;

  beforeAll(async () => {
    t = await startTestServer({ metricsPort: 0 });
    metricsUrl = t.server.metricsUrl!;
  });
  afterAll(() => t.destroy());

  it("binds 127.0.0.1 on a port of its own, learnt from the server once listening", () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(metricsUrl).port).not.toBe(new URL(t.baseUrl).port);
  });

  it("serves the send path's histograms and Node's default metrics as Prometheus text", async () => {
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'parley_send_stage_seconds_count{stage="work"}',
      "parley_group_commit_size_bucket",
      "parley_group_commit_queue_seconds",
      "parley_group_commit_run_seconds",
      "parley_fsync_seconds",
      "parley_fanout_seconds",
      "parley_open_sockets 0",
      "nodejs_eventloop_lag_seconds",
      "process_cpu_seconds_total",
    ]) {
      expect(text, name).toContain(name);
    }
  });

  it("counts room events, database queries and what the sockets hold unsent", async () => {
    const { signup, createRoom, postMessage } = await import("../support/client.js");
    const scrape = async () => (await fetch(metricsUrl)).text();
    const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    const before = await scrape();
    const alice = await signup(t.baseUrl, "alice");
    const roomId = await createRoom(alice, "public");
    await postMessage(alice, roomId, "counted");
    const after = await scrape();
    // The room's creation (member.joined) and the message: two seq'd events.
    expect(value(after, "parley_room_events_total") - value(before, "parley_room_events_total")).toBe(2);
    expect(value(after, "parley_db_query_seconds_count")).toBeGreaterThan(value(before, "parley_db_query_seconds_count"));
    expect(value(after, "parley_send_queue_bytes")).toBe(0);
  });

  it("serves nothing else", async () => {
    expect((await fetch(new URL("/", metricsUrl))).status).toBe(404);
    expect((await fetch(new URL("/healthz", metricsUrl))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: "POST" })).status).toBe(405);
  });

  it("is not on the public port", async () => {
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("closes with the server", async () => {
    const other = await startTestServer({ metricsPort: 0 });
    const url = other.server.metricsUrl!;
    expect((await fetch(url)).status).toBe(200);
    await other.destroy();
    expect(other.server.metricsUrl).toBeNull();
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe("without a metrics port", () => {
  it("collects nothing and serves no metrics anywhere", async () => {
    const t = await startTestServer();
    try {
      expect(t.server.metricsUrl).toBeNull();
      expect(t.server.metrics.registry).toBeNull();
      expect((await fetch(`${t.baseUrl}/metrics`)).status).toBe(404);
    } finally {
      await t.destroy();
    }
  });
});
