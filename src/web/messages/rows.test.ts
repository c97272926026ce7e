import { describe, expect, it } from "vitest";
import type { Message } from "@shared/protocol/index.js";
import { enqueue, EMPTY_OUTBOX } from "@web/realtime/outbox";
import { buildRows, displayMessages } from "./rows";

const me = { id: "me", username: "me", displayName: "Me" };

function message(seq: number, authorId: string, minute: number, clientId: string | null = null): Message {
  return {
    id: `id${seq}`,
    roomId: "r1",
    seq,
    author: { id: authorId, username: authorId, displayName: authorId.toUpperCase() },
    body: `body ${seq}`,
    clientId,
    createdAt: new Date(2025, 5, 10, 12, minute).toISOString(),
  };
}

describe("displayMessages", () => {
  it("shows pending entries after stored ones and hides one already stored", () => {
    let outbox = enqueue(EMPTY_OUTBOX, { clientId: "c1", roomId: "r1", body: "body 2", composedAt: new Date().toISOString() });
    outbox = enqueue(outbox, { clientId: "c2", roomId: "r1", body: "later", composedAt: new Date().toISOString() });
    const shown = displayMessages([message(1, "bo", 0), message(2, "me", 1, "c1")], outbox, me);
    expect(shown.map((m) => [m.body, m.status])).toEqual([
      ["body 1", "sent"],
      ["body 2", "sent"],
      ["later", "queued"],
    ]);
    // The stored copy keeps the pending row's key, so it replaces it in place.
    expect(shown[1]!.key).toBe("c:c1");
    expect(shown[2]!.key).toBe("c:c2");
  });
});

describe("buildRows", () => {
  it("groups runs by author and time, with a day divider and an unread divider", () => {
    const shown = displayMessages(
      [message(1, "bo", 0), message(2, "bo", 1), message(3, "me", 2), message(5, "bo", 3), message(6, "bo", 30)],
      [],
      me,
    );
    const rows = buildRows(shown, 3, new Date(2025, 5, 10, 18));
    expect(rows.map((r) => (r.kind === "message" ? `${r.message.seq}${r.firstOfRun ? "F" : ""}${r.lastOfRun ? "L" : ""}` : r.kind))).toEqual([
      "day",
      "1F",
      "2L",
      "3FL",
      "unread",
      "5FL",
      "6FL",
    ]);
    expect(rows[0]).toMatchObject({ kind: "day", label: "Today" });
  });

  it("places no unread divider when nothing by others is new", () => {
    const shown = displayMessages([message(1, "bo", 0), message(2, "me", 1)], [], me);
    expect(buildRows(shown, 1).some((r) => r.kind === "unread")).toBe(false);
    expect(buildRows(shown, null).some((r) => r.kind === "unread")).toBe(false);
  });
});
