/**
 * The open room lives in the URL hash (`#/rooms/<id>`), so a reload or a
 * shared link opens the same room, and Back returns to the previous one.
 * `#/rooms/<id>/<seq>` opens the room at that message (a notification's
 * link, an email digest's: issue 19), as a search result does.
 * The hash needs nothing from the server, which serves one index.html.
 *
 * A hash is input from anyone who can send the user a link, so it is parsed
 * defensively: a malformed escape (`#/rooms/%`), an id with control
 * characters or over the id limit, or a path the app does not know is a
 * "not found" route, never an exception (an exception here used to blank
 * the whole app).
 */
import { useCallback, useMemo, useSyncExternalStore } from "react";
import { MAX_SEQ, findTextProblem } from "@shared/protocol/index.js";

const PREFIX = "#/rooms/";
/** Same bound as the server's room ids (RoomParamsSchema). */
const MAX_ROOM_ID_CHARS = 64;

export type Route =
  | { kind: "home" }
  | { kind: "room"; roomId: string; seq?: number }
  | { kind: "notFound"; hash: string };

/** What a hash points at; never throws. */
export function parseRoute(hash: string): Route {
  if (hash === "" || hash === "#" || hash === "#/") return { kind: "home" };
  if (!hash.startsWith(PREFIX)) return { kind: "notFound", hash };
  const segments = hash.slice(PREFIX.length).split("/");
  // One path segment, or two with a seq: "#/rooms/a/b" is not a room (an id with "/" arrives as %2F).
  if (segments.length > 2) return { kind: "notFound", hash };
  const [raw = "", seqText] = segments;
  let seq: number | undefined;
  if (seqText !== undefined) {
    // Digits only, no sign, no leading zero, within the protocol's bound: "1e3", "+5", "07" are not seqs.
    if (!/^[1-9][0-9]{0,15}$/.test(seqText)) return { kind: "notFound", hash };
    seq = Number(seqText);
    if (seq > MAX_SEQ) return { kind: "notFound", hash };
  }
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
  return seq === undefined ? { kind: "room", roomId: id } : { kind: "room", roomId: id, seq };
}

/** The room id in a hash, or null (home, or a route that is not a room). */
export function roomIdFromHash(hash: string): string | null {
  const route = parseRoute(hash);
  return route.kind === "room" ? route.roomId : null;
}

export function hashForRoom(roomId: string | null): string {
  return roomId === null ? "#/" : PREFIX + encodeURIComponent(roomId);
}

/** The hash that opens a room at the message of seq `seq`. */
export function hashForMessage(roomId: string, seq: number): string {
  return `${hashForRoom(roomId)}/${seq}`;
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
