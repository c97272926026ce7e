import { describe, expect, it } from "vitest";
import { hashForMessage, hashForRoom, parseRoute, roomIdFromHash } from "./route";

describe("parseRoute", () => {
  it("home for an empty hash", () => {
    for (const hash of ["", "#", "#/"]) expect(parseRoute(hash)).toEqual({ kind: "home" });
  });
  it("a room id, decoded", () => {
    expect(parseRoute("#/rooms/abc")).toEqual({ kind: "room", roomId: "abc" });
    expect(parseRoute(hashForRoom("a b/c"))).toEqual({ kind: "room", roomId: "a b/c" });
  });
  it("never throws on a malformed escape: not found instead", () => {
    for (const hash of ["#/rooms/%", "#/rooms/%E0%A4%A", "#/rooms/%ZZ", "#/rooms/%C0%80"]) {
      expect(() => parseRoute(hash)).not.toThrow();
      expect(parseRoute(hash)).toEqual({ kind: "notFound", hash });
    }
  });
  it("not found for unknown paths, empty ids, extra segments, control characters and over-long ids", () => {
    for (const hash of ["#/nope", "#rooms/x", "#/rooms/", "#/rooms/a/b/c", "#/rooms/a%00b", "#/rooms/%1B", `#/rooms/${"x".repeat(65)}`]) {
      expect(parseRoute(hash).kind, hash).toBe("notFound");
    }
    expect(roomIdFromHash("#/rooms/%")).toBeNull();
  });
  it("a room at a message: #/rooms/<id>/<seq> (notifications, email links)", () => {
    expect(parseRoute("#/rooms/abc/42")).toEqual({ kind: "room", roomId: "abc", seq: 42 });
    expect(parseRoute(hashForMessage("a b/c", 7))).toEqual({ kind: "room", roomId: "a b/c", seq: 7 });
    expect(hashForMessage("a b/c", 7)).toBe("#/rooms/a%20b%2Fc/7");
    expect(roomIdFromHash("#/rooms/abc/42")).toBe("abc");
  });
  it("not found for a seq that is not a positive integer within the protocol's bound", () => {
    for (const hash of ["#/rooms/a/b", "#/rooms/a/0", "#/rooms/a/-1", "#/rooms/a/07", "#/rooms/a/1e3", "#/rooms/a/+5", "#/rooms/a/1.5",
      "#/rooms/a/", "#/rooms//5", "#/rooms/a/2147483648", "#/rooms/a/99999999999999999999"]) {
      expect(parseRoute(hash).kind, hash).toBe("notFound");
    }
    expect(parseRoute("#/rooms/a/2147483647")).toEqual({ kind: "room", roomId: "a", seq: 2147483647 });
  });
});
