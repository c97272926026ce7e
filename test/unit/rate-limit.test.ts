import { describe, expect, it } from "vitest";
import { CommandRateLimit, InvalidFrameLimit } from "@server/realtime/rate-limit.js";

describe("CommandRateLimit", () => {
  it("allows a burst of 4× the rate, then refuses, then refills over time", () => {
    let now = 0;
    const limit = new CommandRateLimit(10, Infinity, () => now);
    const burst = Array.from({ length: 40 }, () => limit.take());
    expect(burst.every((v) => v === "ok")).toBe(true);
    expect(limit.take()).toBe("limited");
    now += 100; // 0.1 s refills one token at 10/s
    expect(limit.take()).toBe("ok");
    expect(limit.take()).toBe("limited");
  });

  it("calls a client that keeps sending while refused a flood", () => {
    // The clock stands still: every command after the burst lands in the same instant.
    const limit = new CommandRateLimit(10, Infinity, () => 0);
    const verdicts = Array.from({ length: 500 }, () => limit.take());
    expect(verdicts.slice(0, 40).every((v) => v === "ok")).toBe(true);
    expect(verdicts.slice(40, 400).every((v) => v === "limited")).toBe(true);
    expect(verdicts.at(-1)).toBe("flood");
  });

  it("never floods a client that keeps to the rate", () => {
    let now = 0;
    const limit = new CommandRateLimit(10, Infinity, () => now);
    for (let i = 0; i < 1000; i++) {
      now += 100;
      expect(limit.take()).toBe("ok");
    }
  });

  it("counts bytes too: few large frames are refused where many small ones pass", () => {
    let now = 0;
    // 1,000 frames/s (no frame limit in play), 64 KiB/s: bursts of 256 KiB.
    const limit = new CommandRateLimit(1000, 64 * 1024, () => now);
    const big = 60 * 1024;
    expect([1, 2, 3, 4].map(() => limit.take(big))).toEqual(["ok", "ok", "ok", "ok"]);
    expect(limit.take(big)).toBe("limited");
    // The bytes left in the bucket still pay for small frames.
    expect(limit.take(100)).toBe("ok");
    now += 1000; // one second refills 64 KiB
    expect(limit.take(big)).toBe("ok");
    expect(limit.take(big)).toBe("limited");
  });

  it("never refuses a client that keeps to the byte rate", () => {
    let now = 0;
    const limit = new CommandRateLimit(1000, 64 * 1024, () => now);
    for (let i = 0; i < 1000; i++) {
      now += 1000;
      expect(limit.take(64 * 1024)).toBe("ok");
    }
  });
});

describe("InvalidFrameLimit", () => {
  it("allows `perMinute` bad frames in a minute, then says close", () => {
    const invalid = new InvalidFrameLimit(5, () => 0);
    expect(Array.from({ length: 5 }, () => invalid.count())).toEqual([false, false, false, false, false]);
    expect(invalid.count()).toBe(true);
  });

  it("forgives at the same rate: a slow trickle of mistakes never closes", () => {
    let now = 0;
    const invalid = new InvalidFrameLimit(5, () => now);
    for (let i = 0; i < 100; i++) {
      now += 12_000; // one per 12 s = 5 per minute
      expect(invalid.count()).toBe(false);
    }
  });
});
