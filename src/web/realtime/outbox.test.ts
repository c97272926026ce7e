import { describe, expect, it } from "vitest";
import {
  EMPTY_OUTBOX,
  discard,
  enqueue,
  markFailed,
  markSending,
  requeueInFlight,
  retry,
  sendable,
  settle,
  type Outbox,
} from "./outbox";

const at = "2025-01-01T00:00:00.000Z";

function compose(outbox: Outbox, clientId: string, roomId = "r1", body = clientId): Outbox {
  return enqueue(outbox, { clientId, roomId, body, composedAt: at });
}

describe("outbox", () => {
  it("keeps composed messages in order and sends one per room at a time", () => {
    let box = compose(compose(compose(EMPTY_OUTBOX, "a"), "b"), "c", "r2");
    expect(sendable(box).map((e) => e.clientId)).toEqual(["a", "c"]);

    box = markSending(box, "a", "cmd-1");
    expect(sendable(box).map((e) => e.clientId)).toEqual(["c"]);

    box = settle(box, "a");
    expect(sendable(box).map((e) => e.clientId)).toEqual(["b", "c"]);
  });

  it("requeues an unacked send after a drop with the same clientId", () => {
    let box = markSending(compose(EMPTY_OUTBOX, "a"), "a", "cmd-1");
    box = requeueInFlight(box);
    const [entry] = sendable(box);
    expect(entry).toMatchObject({ clientId: "a", status: "queued", commandId: null, attempts: 1 });

    box = markSending(box, "a", "cmd-2");
    expect(box[0]).toMatchObject({ clientId: "a", status: "sending", commandId: "cmd-2", attempts: 2 });
  });

  it("ignores a second enqueue of the same clientId", () => {
    const box = compose(compose(EMPTY_OUTBOX, "a"), "a");
    expect(box).toHaveLength(1);
  });

  it("settles by clientId whichever of ack or event arrives first, once", () => {
    let box = markSending(compose(EMPTY_OUTBOX, "a"), "a", "cmd-1");
    box = settle(box, "a");
    expect(box).toHaveLength(0);
    expect(settle(box, "a")).toBe(box);
    expect(settle(box, null)).toBe(box);
  });

  it("marks a refused send failed, lets the next one go, and retries it on demand", () => {
    let box = compose(compose(EMPTY_OUTBOX, "a"), "b");
    box = markSending(box, "a", "cmd-1");
    box = markFailed(box, "cmd-1", { code: "rate_limited", message: "Slow down." });
    expect(box[0]).toMatchObject({ status: "failed", error: { code: "rate_limited" } });
    expect(sendable(box).map((e) => e.clientId)).toEqual(["b"]);

    box = retry(box, "a");
    expect(box[0]).toMatchObject({ clientId: "a", status: "queued", error: null });
  });

  it("only discards failed entries, never one that may already be stored", () => {
    let box = markSending(compose(EMPTY_OUTBOX, "a"), "a", "cmd-1");
    expect(discard(box, "a")).toHaveLength(1);
    box = markFailed(box, "cmd-1", { code: "forbidden", message: "No." });
    expect(discard(box, "a")).toHaveLength(0);
  });

  it("does not fail an entry for an error about a stale command id", () => {
    let box = markSending(compose(EMPTY_OUTBOX, "a"), "a", "cmd-1");
    box = requeueInFlight(box);
    box = markSending(box, "a", "cmd-2");
    const after = markFailed(box, "cmd-1", { code: "x", message: "late" });
    expect(after[0]?.status).toBe("sending");
  });
});
