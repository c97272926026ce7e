import { describe, expect, it } from "vitest";
import { validate, version } from "uuid";
import { newId } from "@server/store/ids.js";

describe("newId", () => {
  it("makes distinct UUIDv7s across many refills of its random pool", () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 300)) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
  });

  it("orders ids made in different milliseconds by time", async () => {
    const first = newId();
    await new Promise((r) => setTimeout(r, 3));
    const second = newId();
    expect(first < second).toBe(true);
    // The first 48 bits are the Unix time in ms.
    const ms = Number.parseInt(second.replace(/-/g, "").slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(1_000);
  });
});
