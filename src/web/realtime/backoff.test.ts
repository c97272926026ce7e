import { describe, expect, it } from "vitest";
import { DEFAULT_BACKOFF, reconnectDelay } from "./backoff";

describe("reconnectDelay", () => {
  it("doubles from 0.5 s while jitter keeps at least half of each step", () => {
    expect(reconnectDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(250);
    expect(reconnectDelay(0, DEFAULT_BACKOFF, () => 1)).toBe(500);
    expect(reconnectDelay(1, DEFAULT_BACKOFF, () => 1)).toBe(1000);
    expect(reconnectDelay(3, DEFAULT_BACKOFF, () => 1)).toBe(4000);
    expect(reconnectDelay(3, DEFAULT_BACKOFF, () => 0)).toBe(2000);
  });

  it("never exceeds the 15 s ceiling, even after days offline", () => {
    for (const attempt of [5, 6, 10, 100, 10_000]) {
      const delay = reconnectDelay(attempt, DEFAULT_BACKOFF, () => 0.999);
      expect(delay).toBeLessThanOrEqual(15_000);
      expect(delay).toBeGreaterThanOrEqual(7_500);
    }
  });

  it("spreads clients out: different random draws give different delays", () => {
    const delays = new Set([0.1, 0.4, 0.7, 0.95].map((r) => reconnectDelay(4, DEFAULT_BACKOFF, () => r)));
    expect(delays.size).toBe(4);
  });

  it("treats a negative or fractional attempt as the first one", () => {
    expect(reconnectDelay(-3, DEFAULT_BACKOFF, () => 1)).toBe(500);
    expect(reconnectDelay(0.7, DEFAULT_BACKOFF, () => 1)).toBe(500);
  });
});
