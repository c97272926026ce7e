/** Browse the public rooms and join one (or open it when already a member). */
import { useEffect, useMemo, useState } from "react";
import type { Room } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { useChat, useChatClient } from "@web/state/useChat";
import { Dialog } from "@web/ui/Dialog";
import { HashIcon, SearchIcon } from "@web/ui/icons";

export function BrowseRoomsDialog({ onClose, onOpened }: { onClose: () => void; onOpened: (room: Room) => void }) {
  const chat = useChatClient();
  const mine = useChat((s) => s.rooms);
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [joining, setJoining] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    chat.publicRooms().then(
      (list) => current && setRooms(list),
      (e: unknown) => current && setError(messageOf(e)),
    );
    return () => {
      current = false;
    };
  }, [chat]);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (rooms ?? []).filter((r) => !needle || r.name.toLowerCase().includes(needle) || r.topic.toLowerCase().includes(needle));
  }, [rooms, filter]);

  async function join(room: Room) {
    if (mine[room.id]) {
      onOpened(room);
      return;
    }
    setJoining(room.id);
    setError(null);
    try {
      onOpened(await chat.joinRoom(room.id));
    } catch (e) {
      setError(messageOf(e));
      setJoining(null);
    }
  }

  return (
    <Dialog title="Browse public rooms" onClose={onClose} testId="browse-dialog" wide>
      <div className="search-input">
        <SearchIcon />
        <input autoFocus placeholder="Filter rooms" value={filter} onChange={(e) => setFilter(e.target.value)}
          data-testid="browse-filter" aria-label="Filter rooms" />
      </div>
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      {rooms === null && !error ? <p className="muted">Loading rooms…</p> : null}
      {rooms !== null && shown.length === 0 ? <p className="muted">No public rooms{filter ? " match" : " yet"}.</p> : null}
      <ul className="pick-list">
        {shown.map((room) => {
          const member = Boolean(mine[room.id]);
          return (
            <li key={room.id} className="pick-list__item" data-testid="public-room" data-room-name={room.name}>
              <span className="pick-list__icon"><HashIcon /></span>
              <span className="pick-list__text">
                <strong>{room.name}</strong>
                <small>
                  {room.memberCount} {room.memberCount === 1 ? "member" : "members"}
                  {room.topic ? ` · ${room.topic}` : ""}
                </small>
              </span>
              <button type="button" className={member ? "button" : "button button--primary"} disabled={joining !== null}
                onClick={() => void join(room)} data-testid="join-room">
                {member ? "Open" : joining === room.id ? "Joining…" : "Join"}
              </button>
            </li>
          );
        })}
      </ul>
    </Dialog>
  );
}
