/**
 * React access to the ephemeral store (typing, presence), and a room's
 * members for the typing line's names and the header's "N online".
 */
import { useEffect, useState, useSyncExternalStore } from "react";
import type { Member, Presence } from "@shared/protocol/index.js";
import { useChat, useChatClient } from "@web/state/useChat";
import { OFFLINE, type EphemeralState } from "./ephemeral";

/** A slice of the ephemeral state; like useChat, the selector must return a stable value. */
export function useEphemeral<T>(select: (state: EphemeralState) => T): T {
  const client = useChatClient();
  return useSyncExternalStore(client.ephemeral.subscribe, () => select(client.ephemeral.getState()));
}

/** One user's presence; the signed-in user is online (this tab is connected, or will be). */
export function usePresence(userId: string): Presence {
  const me = useChat((s) => s.me);
  const p = useEphemeral((s) => s.presence[userId]);
  if (userId === me?.id) return { status: "online", lastSeenAt: null };
  return p ?? OFFLINE;
}

/**
 * A room's members, fetched when the room opens and again when its member
 * count changes (not while `enabled` is false); null while loading, disabled or when the fetch failed (the callers
 * degrade: a name falls back, a count is not shown).
 */
export function useRoomMembers(roomId: string, memberCount: number, enabled = true): readonly Member[] | null {
  const chat = useChatClient();
  const [members, setMembers] = useState<{ roomId: string; list: readonly Member[] } | null>(null);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    chat.api.members(roomId).then(
      (list) => {
        if (!live) return;
        setMembers({ roomId, list });
        chat.askPresence(list.map((m) => m.user.id)); // people met since ready, e.g. in a room just joined
      },
      () => {
        // Not worth an error on screen: the header and the typing line do without.
      },
    );
    return () => {
      live = false;
    };
  }, [chat, roomId, memberCount, enabled]);
  return members?.roomId === roomId ? members.list : null;
}
