import { describe, expect, it } from "vitest";
import type { Message } from "@shared/protocol/index.js";
import { JumpRequests, jumpTargetOfMessage } from "./jump";

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

describe("jumpTargetOfMessage (a link that names only a seq, resolved once the page around it is loaded)", () => {
  const author = { id: "u", username: "u", displayName: "u" };
  const base: Message = { id: "m5", roomId: "r", seq: 5, author, body: "x", clientId: null, createdAt: "2026-01-01T00:00:00Z" };
  it("a message of the timeline is shown itself", () => {
    expect(jumpTargetOfMessage(base)).toEqual({ roomId: "r", messageId: "m5", seq: 5 });
  });
  it("a reply kept in its thread shows its root, with the thread opened", () => {
    const reply: Message = { ...base, inThread: true, replyTo: { id: "m2", seq: 2, author, preview: "root", deleted: false } };
    expect(jumpTargetOfMessage(reply)).toEqual({ roomId: "r", messageId: "m5", seq: 5, thread: { rootId: "m2", rootSeq: 2 } });
    expect(jumpTargetOfMessage({ ...reply, alsoInRoom: true })).toEqual({ roomId: "r", messageId: "m5", seq: 5 });
  });
});
