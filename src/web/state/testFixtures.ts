import type { Room, Self } from "@shared/protocol/index.js";

/** Shared fixtures of the state tests (imported by *.test.ts only, never by the app). */

export const me: Self = { id: "me", username: "me", displayName: "Me", createdAt: "2025-01-01T00:00:00Z", email: "me@x.io" };

/** A public room of two, read up to `lastSeq`. */
export function room(id: string, lastSeq: number, overrides: Partial<Room> = {}): Room {
  return {
    id,
    kind: "public",
    name: id,
    topic: "",
    createdAt: "2025-01-01T00:00:00Z",
    lastSeq,
    lastActivityAt: "2025-01-01T00:00:00Z",
    memberCount: 2,
    role: "member",
    peer: null,
    lastMessage: null,
    lastReadSeq: lastSeq,
    unreadCount: 0,
    ...overrides,
  };
}
