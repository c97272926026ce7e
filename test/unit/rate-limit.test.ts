import { describe, expect, it } from "vitest";
import { CommandRateLimit } from "@server/realtime/rate-limit.js";

describe("CommandRateLimit", () => {
  it("allows a burst of 4× the rate, then refuses, then refills over time", () => {
    let now = 0;
    const limit = new CommandRateLimit(10, () => now);
    const burst = Array.from({ length: 40 }, () => limit.take());
    expect(burst.every((v) => v === "ok")).toBe(true);
    expect(limit.take()).toBe("limited");
    now += 100; // 0.1 s refills one token at 10/s
    expect(limit.take()).toBe("ok");
    expect(limit.take()).toBe("limited");
  });

  it("calls a client that keeps sending while refused a flood", () => {
    // The clock stands still: every command after the burst lands in the same instant.
    const limit = new CommandRateLimit(10, () => 0);
    const verdicts = Array.from({ length: 500 }, () => limit.take());
    expect(verdicts.slice(0, 40).every((v) => v === "ok")).toBe(true);
    expect(verdicts.slice(40, 400).every((v) => v === "limited")).toBe(true);
    expect(verdicts.at(-1)).toBe("flood");
  });

  it("never floods a client that keeps to the rate", () => {
    let now = 0;
    const limit = new CommandRateLimit(10, () => now);
    for (let i = 0; i < 1000; i++) {
      now += 100;
      expect(limit.take()).toBe("ok");
    }
  });
});
