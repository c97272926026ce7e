/**
 * "alice is typing…" under the messages: a polite live region, always in the
 * page (empty when nobody types) so that screen readers announce changes.
 */
import { useMemo } from "react";
import type { Room } from "@shared/protocol/index.js";
import { typingSentence } from "@web/presence/ephemeral";
import { useEphemeral, useRoomMembers } from "@web/presence/usePresence";

const NOBODY: readonly string[] = [];

export function TypingLine({ room }: { room: Room }) {
  const typing = useEphemeral((s) => s.typing[room.id]) ?? NOBODY;
  // A direct room's typist is its peer: no member list needed.
  const members = useRoomMembers(room.id, room.memberCount, typing.some((id) => id !== room.peer?.id));
  const text = useMemo(() => {
    const names = typing.map((id) => {
      if (room.peer?.id === id) return room.peer.displayName || room.peer.username;
      const m = members?.find((x) => x.user.id === id);
      return m ? m.user.displayName || m.user.username : "someone";
    });
    return typingSentence(names);
  }, [typing, members, room.peer]);
  return (
    <div className="typing-line" aria-live="polite" data-testid="typing-line">
      {text}
    </div>
  );
}
