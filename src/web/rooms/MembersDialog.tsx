/**
 * A room's members, and for the owner or an admin of a private room, the
 * picker to add people. Reloads when the room's member count changes, so
 * joins and leaves seen live show up here too.
 */
import { useEffect, useMemo, useState } from "react";
import type { Member, Room, User } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { useChat, useChatClient } from "@web/state/useChat";
import { Avatar } from "@web/ui/Avatar";
import { Dialog } from "@web/ui/Dialog";
import { UserPicker } from "./UserPicker";
import { PresenceDot } from "./PresenceDot";

/** Whether the caller may add people to this room. */
export function canAddMembers(room: Room): boolean {
  return room.kind === "private" && (room.role === "owner" || room.role === "admin");
}

export function MembersDialog({ room, startAdding, onClose }: { room: Room; startAdding: boolean; onClose: () => void }) {
  const chat = useChatClient();
  const me = useChat((s) => s.me);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [adding, setAdding] = useState(startAdding && canAddMembers(room));
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let current = true;
    chat.members(room.id).then(
      (list) => current && setMembers(list),
      (e: unknown) => current && setError(messageOf(e)),
    );
    return () => {
      current = false;
    };
  }, [chat, room.id, room.memberCount, reload]);

  const exclude = useMemo(
    () => new Set([...(members ?? []).map((m) => m.user.id), ...(me ? [me.id] : [])]),
    [members, me],
  );

  async function add(user: User) {
    setBusy(user.id);
    setError(null);
    try {
      await chat.addMember(room.id, user.id);
      setAdded(user.displayName || user.username);
      setReload((n) => n + 1);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <Dialog title={adding ? `Add people to ${room.name}` : `Members of ${room.name}`} onClose={onClose} testId="members-dialog">
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      {added ? <p className="notice" role="status" data-testid="member-added">{added} was added.</p> : null}
      {adding ? (
        <>
          <UserPicker exclude={exclude} onPick={(u) => void add(u)} actionLabel="Add" busyUserId={busy} />
          <button type="button" className="link-button" onClick={() => setAdding(false)}>Show members</button>
        </>
      ) : (
        <>
          {members === null && !error ? <p className="muted">Loading members…</p> : null}
          <ul className="pick-list" data-testid="member-list">
            {(members ?? []).map((member) => (
              <li key={member.user.id} className="pick-list__item" data-testid="member-item" data-username={member.user.username}>
                <Avatar id={member.user.id} name={member.user.displayName || member.user.username} size={32} />
                <PresenceDot userId={member.user.id} />
                <span className="pick-list__text">
                  <strong>
                    {member.user.displayName || member.user.username}
                    {member.user.id === me?.id ? " (you)" : ""}
                  </strong>
                  <small>@{member.user.username}</small>
                </span>
                {member.role !== "member" ? <span className="role-tag">{member.role}</span> : null}
              </li>
            ))}
          </ul>
          {canAddMembers(room) ? (
            <button type="button" className="button button--primary" onClick={() => setAdding(true)} data-testid="members-add">
              Add people
            </button>
          ) : null}
        </>
      )}
    </Dialog>
  );
}
