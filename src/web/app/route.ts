/**
 * The open room lives in the URL hash (`#/rooms/<id>`), so a reload or a
 * shared link opens the same room, and Back returns to the previous one.
 * The hash needs nothing from the server, which serves one index.html.
 *
 * A hash is input from anyone who can send the user a link, so it is parsed
 * defensively: a malformed escape (`#/rooms/%`), an id with control
 * characters or over the id limit, or a path the app does not know is a
 * "not found" route, never an exception (an exception here used to blank
 * the whole app).
 */
import { useCallback, useMemo, useSyncExternalStore } from "react";
import { findTextProblem } from "@shared/protocol/index.js";

const PREFIX = "#/rooms/";
/** Same bound as the server's room ids (RoomParamsSchema). */
const MAX_ROOM_ID_CHARS = 64;

export type Route =
  | { kind: "home" }
  | { kind: "room"; roomId: string }
  | { kind: "notFound"; hash: string };

/** What a hash points at; never throws. */
export function parseRoute(hash: string): Route {
  if (hash === "" || hash === "#" || hash === "#/") return { kind: "home" };
  if (!hash.startsWith(PREFIX)) return { kind: "notFound", hash };
  const raw = hash.slice(PREFIX.length);
  // One path segment: "#/rooms/a/b" is not a room (an id with "/" arrives as %2F).
  if (raw.includes("/")) return { kind: "notFound", hash };
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    // URIError: a lone "%" or a truncated/invalid UTF-8 escape.
    return { kind: "notFound", hash };
  }
  if (id.length === 0 || id.length > MAX_ROOM_ID_CHARS || findTextProblem(id, "id") !== null) {
    return { kind: "notFound", hash };
  }
  return { kind: "room", roomId: id };
}

/** The room id in a hash, or null (home, or a route that is not a room). */
export function roomIdFromHash(hash: string): string | null {
  const route = parseRoute(hash);
  return route.kind === "room" ? route.roomId : null;
}

export function hashForRoom(roomId: string | null): string {
  return roomId === null ? "#/" : PREFIX + encodeURIComponent(roomId);
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

/** The current route and a function to open a room (null: home). */
export function useRoute(): [Route, (roomId: string | null) => void] {
  // The snapshot is the raw hash (a string, so React can compare it); parsing is memoized.
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  const route = useMemo(() => parseRoute(hash), [hash]);
  const open = useCallback((next: string | null) => {
    const target = hashForRoom(next);
    if (window.location.hash !== target) window.location.hash = target;
  }, []);
  return [route, open];
}
