/** A user's presence as a dot, with its meaning as accessible text ("online", "away", "offline, last seen …"). */
import { presenceLabel } from "@web/presence/ephemeral";
import { usePresence } from "@web/presence/usePresence";

export function PresenceDot({ userId, name }: { userId: string; name?: string }) {
  const presence = usePresence(userId);
  const label = presenceLabel(presence);
  const full = name ? `${name}: ${label}` : label;
  return (
    <span
      className={`presence-dot presence-dot--${presence.status}`}
      role="img"
      aria-label={full}
      title={full}
      data-testid="presence-dot"
      data-status={presence.status}
    />
  );
}
