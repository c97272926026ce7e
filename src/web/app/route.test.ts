import { describe, expect, it } from "vitest";
import { hashForRoom, parseRoute, roomIdFromHash } from "./route";

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
    for (const hash of ["#/nope", "#rooms/x", "#/rooms/", "#/rooms/a/b", "#/rooms/a%00b", "#/rooms/%1B", `#/rooms/${"x".repeat(65)}`]) {
      expect(parseRoute(hash).kind, hash).toBe("notFound");
    }
    expect(roomIdFromHash("#/rooms/%")).toBeNull();
  });
});
