/**
 * The connection indicator: connected / connecting / offline, with the time
 * to the next attempt and a way to skip the wait. `data-state` carries the
 * state for tests and styling.
 */
import { useEffect, useState } from "react";
import { useChat, useChatClient } from "@web/state/useChat";

export function ConnectionStatus() {
  const chat = useChatClient();
  const connection = useChat((s) => s.connection);
  const now = useTicker(connection.state === "offline" && connection.retryAt !== null);

  let label: string;
  if (connection.state === "connected") label = "Connected";
  else if (connection.state === "connecting") label = connection.attempt > 0 ? "Reconnecting…" : "Connecting…";
  else if (connection.networkDown) label = "Offline";
  else if (connection.retryAt !== null) label = `Offline · retry in ${Math.max(1, Math.ceil((connection.retryAt - now) / 1000))}s`;
  else label = "Offline";

  return (
    <div
      className={`connection connection--${connection.state}`}
      data-testid="connection-status"
      data-state={connection.state}
      role="status"
      aria-live="polite"
    >
      <span className="connection__dot" aria-hidden="true" />
      <span className="connection__label">{label}</span>
      {connection.state === "offline" && !connection.networkDown ? (
        <button type="button" className="link-button connection__retry" onClick={() => chat.reconnectNow()}>
          Retry now
        </button>
      ) : null}
    </div>
  );
}

/** The current time, refreshed every second while `active` (for the countdown). */
function useTicker(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}
