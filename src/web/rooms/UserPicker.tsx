/** Search people (GET /users?q=) and pick one: for direct messages and for adding members. */
import { useEffect, useState } from "react";
import type { User } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { useChatClient } from "@web/state/useChat";
import { Avatar } from "@web/ui/Avatar";
import { SearchIcon } from "@web/ui/icons";

/** Typing pauses this long before a search goes out, so each keystroke is not a request. */
const SEARCH_DEBOUNCE_MS = 200;

export interface UserPickerProps {
  /** People not to offer (yourself, existing members). */
  exclude: ReadonlySet<string>;
  onPick: (user: User) => void;
  /** Label of the button on each row. */
  actionLabel: string;
  /** The user whose pick is in progress. */
  busyUserId?: string | null;
}

export function UserPicker({ exclude, onPick, actionLabel, busyUserId = null }: UserPickerProps) {
  const chat = useChatClient();
  const [q, setQ] = useState("");
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      chat.searchUsers(q.trim()).then(
        (found) => {
          if (!current) return;
          setUsers(found);
          setError(null);
        },
        (e: unknown) => current && setError(messageOf(e)),
      );
    }, q ? SEARCH_DEBOUNCE_MS : 0);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [chat, q]);

  const shown = (users ?? []).filter((u) => !exclude.has(u.id));

  return (
    <div className="user-picker">
      <div className="search-input">
        <SearchIcon />
        <input autoFocus placeholder="Search people by name" value={q} onChange={(e) => setQ(e.target.value)}
          data-testid="user-search" aria-label="Search people" />
      </div>
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      {users !== null && shown.length === 0 ? <p className="muted">No one found.</p> : null}
      <ul className="pick-list">
        {shown.map((user) => (
          <li key={user.id} className="pick-list__item" data-testid="user-result" data-username={user.username}>
            <Avatar id={user.id} name={user.displayName || user.username} size={32} />
            <span className="pick-list__text">
              <strong>{user.displayName || user.username}</strong>
              <small>@{user.username}</small>
            </span>
            <button type="button" className="button button--primary" disabled={busyUserId !== null}
              onClick={() => onPick(user)} data-testid="user-pick">
              {busyUserId === user.id ? "…" : actionLabel}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
