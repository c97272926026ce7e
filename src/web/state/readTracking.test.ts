import { describe, expect, it } from "vitest";
import { documentAttention, seqToMarkRead } from "./readTracking";
import { pageTitle, unreadTotal } from "./pageTitle";
import { ReceiptsStore, lastReadMineSeq, receiptOf } from "./receipts";

const focused = { visible: true, focused: true };
const room = { lastSeq: 10, lastReadSeq: 4, lastMessageSeq: 9 };

describe("seqToMarkRead: read only what is on screen in a tab with attention", () => {
  it("marks up to the newest message on screen, not further", () => {
    expect(seqToMarkRead([5, 6, 7], room, focused)).toBe(7);
  });
  it("marks the whole room (trailing membership events too) once its newest message is on screen", () => {
    expect(seqToMarkRead([8, 9], room, focused)).toBe(10);
  });
  it("marks nothing in a hidden or unfocused tab, or with nothing on screen", () => {
    expect(seqToMarkRead([9], room, { visible: false, focused: true })).toBeNull();
    expect(seqToMarkRead([9], room, { visible: true, focused: false })).toBeNull();
    expect(seqToMarkRead([], room, focused)).toBeNull();
  });
  it("never moves back: messages already read change nothing", () => {
    expect(seqToMarkRead([2, 3, 4], room, focused)).toBeNull();
  });
  it("reads the document's visibility and focus", () => {
    expect(documentAttention({ visibilityState: "visible", hasFocus: () => true })).toEqual(focused);
    expect(documentAttention({ visibilityState: "hidden", hasFocus: () => false })).toEqual({ visible: false, focused: false });
  });
});

describe("page title", () => {
  it("shows the unread total first, nothing when all is read, and caps it", () => {
    expect(pageTitle(unreadTotal([{ unreadCount: 2 }, { unreadCount: 0 }, { unreadCount: 1 }]))).toBe("(3) Parley");
    expect(pageTitle(unreadTotal([]))).toBe("Parley");
    expect(pageTitle(0)).toBe("Parley");
    expect(pageTitle(1500)).toBe("(999+) Parley");
  });

  it("names the open room after the count", () => {
    expect(pageTitle(0, "#general")).toBe("#general · Parley");
    expect(pageTitle(2, "bob")).toBe("(2) bob · Parley");
    expect(pageTitle(2, null)).toBe("(2) Parley");
  });
});

describe("receipts store", () => {
  it("keeps positions forward only and tells delivered from read, a read implying delivery", () => {
    const store = new ReceiptsStore();
    store.load("r", { me: 5, ada: 3 }, { me: 5, ada: 4 }, { me: "Me", ada: "Ada", bob: "Bob" });
    let r = store.getSnapshot()["r"];
    expect(receiptOf(r, 4, "me")).toEqual({ delivered: true, readers: [] });
    expect(receiptOf(r, 5, "me")).toEqual({ delivered: false, readers: [] });
    store.apply({ type: "receipts.updated", roomId: "r", reads: { ada: 2, bob: 6 }, delivered: {} });
    r = store.getSnapshot()["r"];
    expect(r?.reads.ada).toBe(3); // an older position does not move it back
    expect(receiptOf(r, 5, "me")).toEqual({ delivered: true, readers: ["Bob"] });
    expect(receiptOf(r, 3, "me")).toEqual({ delivered: true, readers: ["Ada", "Bob"] });
  });
  it("notifies only on a change", () => {
    const store = new ReceiptsStore();
    let calls = 0;
    store.subscribe(() => calls++);
    store.apply({ type: "receipts.updated", roomId: "r", reads: { a: 1 }, delivered: {} });
    store.apply({ type: "receipts.updated", roomId: "r", reads: { a: 1 }, delivered: {} });
    expect(calls).toBe(1);
  });
});

describe("lastReadMineSeq: where Read by N goes", () => {
  const mine = (seq: number, deletedAt: string | null = null) => ({ seq, author: { id: "me" }, deletedAt });
  const theirs = (seq: number) => ({ seq, author: { id: "ada" }, deletedAt: null });
  const receipts = (reads: Record<string, number>) => ({ reads, delivered: {}, names: {} });

  it("is my newest message at or before the furthest read of anyone else", () => {
    const messages = [mine(1), theirs(2), mine(3), mine(5), theirs(6), mine(7)];
    expect(lastReadMineSeq(receipts({ ada: 6, me: 7 }), messages, "me")).toBe(5);
    expect(lastReadMineSeq(receipts({ ada: 3, bob: 1 }), messages, "me")).toBe(3);
    expect(lastReadMineSeq(receipts({ ada: 9 }), messages, "me")).toBe(7);
  });
  it("skips deleted messages, ignores my own read position, and is null when nothing of mine is read", () => {
    expect(lastReadMineSeq(receipts({ ada: 6 }), [mine(1), mine(5, "2026-01-01T00:00:00.000Z")], "me")).toBe(1);
    expect(lastReadMineSeq(receipts({ me: 9 }), [mine(1)], "me")).toBeNull();
    expect(lastReadMineSeq(receipts({ ada: 0 }), [mine(1)], "me")).toBeNull();
    expect(lastReadMineSeq(undefined, [mine(1)], "me")).toBeNull();
  });
});
