import { describe, expect, it } from "vitest";
import { JumpRequests } from "./jump";

describe("JumpRequests", () => {
  it("keeps a request until the view of its room takes it, once", () => {
    const jumps = new JumpRequests();
    let told = 0;
    const stop = jumps.subscribe(() => (told += 1));
    jumps.request({ roomId: "r1", messageId: "m1", seq: 3 });
    expect(told).toBe(1);
    expect(jumps.take("r2")).toBeNull(); // another room's view leaves it
    expect(jumps.take("r1")).toEqual({ roomId: "r1", messageId: "m1", seq: 3 });
    expect(jumps.take("r1")).toBeNull();
    stop();
    jumps.request({ roomId: "r1", messageId: "m2", seq: 4 });
    expect(told).toBe(1);
  });

  it("replaces a request not yet taken with the newer one", () => {
    const jumps = new JumpRequests();
    jumps.request({ roomId: "r1", messageId: "m1", seq: 3 });
    jumps.request({ roomId: "r2", messageId: "m9", seq: 9 });
    expect(jumps.take("r1")).toBeNull();
    expect(jumps.take("r2")?.messageId).toBe("m9");
  });
});
