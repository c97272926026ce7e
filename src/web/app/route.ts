/**
 * The open room lives in the URL hash (`#/rooms/<id>`), so a reload or a
 * shared link opens the same room, and Back returns to the previous one.
 * The hash needs nothing from the server, which serves one index.html.
 */
import { useCallback, useSyncExternalStore } from "react";

const PREFIX = "#/rooms/";

/** The room id in a hash, or null. */
export function roomIdFromHash(hash: string): string | null {
  if (!hash.startsWith(PREFIX)) return null;
  const id = decodeURIComponent(hash.slice(PREFIX.length));
  return id.length > 0 ? id : null;
}

export function hashForRoom(roomId: string | null): string {
  return roomId === null ? "#/" : PREFIX + encodeURIComponent(roomId);
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

/** The open room id and a function to open another. */
export function useRoomRoute(): [string | null, (roomId: string | null) => void] {
  const roomId = useSyncExternalStore(subscribe, () => roomIdFromHash(window.location.hash));
  const open = useCallback((next: string | null) => {
    const hash = hashForRoom(next);
    if (window.location.hash !== hash) window.location.hash = hash;
  }, []);
  return [roomId, open];
}
