/** "N online" in a room's header: members whose presence is online or away (the signed-in user included). */
import type { Room } from "@shared/protocol/index.js";
import { useChat } from "@web/state/useChat";
import { useEphemeral, useRoomMembers } from "@web/presence/usePresence";

export function OnlineCount({ room }: { room: Room }) {
  const me = useChat((s) => s.me);
  const members = useRoomMembers(room.id, room.memberCount);
  const presence = useEphemeral((s) => s.presence);
  if (!members) return null;
  const n = members.filter((m) => m.user.id === me?.id || (presence[m.user.id]?.status ?? "offline") !== "offline").length;
  return (
    <span className="online-count" data-testid="online-count">
      <span className={`presence-dot presence-dot--${n > 0 ? "online" : "offline"}`} aria-hidden="true" />
      {n} online
    </span>
  );
}
