/**
 * A room's members, and "Invite": in a public room, for everyone, the
 * room's link to share (whoever opens it is offered "Join room"); for the
 * owner or an admin of any room but a direct one, the picker to add people
 * at once (POST /rooms/:id/members). Reloads when the room's member count
 * changes, so joins and leaves seen live show up here too.
 */
import { useEffect, useMemo, useState } from "react";
import type { Member, Room, User } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { useChat, useChatClient } from "@web/state/useChat";
import { Avatar } from "@web/ui/Avatar";
import { Dialog } from "@web/ui/Dialog";
import { UserPicker } from "./UserPicker";
import { PresenceDot } from "./PresenceDot";

/** Whether the caller may add people to this room (the server's rule: its owner or an admin; never a direct room). */
export function canAddMembers(room: Room): boolean {
  return room.kind !== "direct" && (room.role === "owner" || room.role === "admin");
}

/** Whether the room offers to invite: anyone in a public room (its link), whoever may add people elsewhere. */
export function canInvite(room: Room): boolean {
  return room.kind === "public" || canAddMembers(room);
}

/** What the invite action is called: "Invite" in a public room, where anyone may join; "Add" in a private one. */
export function inviteLabel(room: Room): "Invite" | "Add" {
  return room.kind === "public" ? "Invite" : "Add";
}

/** The room's address in this app (`#/rooms/<id>`): a non-member who opens it is offered to join. */
export function roomLink(room: Room): string {
  return `${window.location.origin}${window.location.pathname}#/rooms/${encodeURIComponent(room.id)}`;
}

export function MembersDialog({ room, startAdding, onClose }: { room: Room; startAdding: boolean; onClose: () => void }) {
  const chat = useChatClient();
  const me = useChat((s) => s.me);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [adding, setAdding] = useState(startAdding && canInvite(room));
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
    <Dialog title={adding ? `${inviteLabel(room)} people to ${room.name}` : `Members of ${room.name}`} onClose={onClose} testId="members-dialog">
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      {added ? <p className="notice" role="status" data-testid="member-added">{added} was added.</p> : null}
      {adding ? (
        <>
          {room.kind === "public" ? <InviteLink room={room} /> : null}
          {canAddMembers(room) ? <UserPicker exclude={exclude} onPick={(u) => void add(u)} actionLabel="Add" busyUserId={busy} /> : null}
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
          {canInvite(room) ? (
            <button type="button" className="button button--primary" onClick={() => setAdding(true)} data-testid="members-add">
              {inviteLabel(room)} people
            </button>
          ) : null}
        </>
      )}
    </Dialog>
  );
}

/** A public room's link, to paste anywhere; Copy puts it on the clipboard. */
function InviteLink({ room }: { room: Room }) {
  const link = roomLink(room);
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  return (
    <div className="invite-link">
      <label htmlFor="invite-link-input">Anyone with this link can join the room</label>
      <div className="invite-link__row">
        <input id="invite-link-input" className="invite-link__input" readOnly value={link} data-testid="invite-link"
          onFocus={(e) => e.target.select()} />
        <button type="button" className="button" data-testid="invite-copy"
          onClick={() => {
            navigator.clipboard?.writeText(link).then(() => setCopied("yes"), () => setCopied("failed"));
          }}>
          Copy link
        </button>
      </div>
      <p className="field__hint" role="status" data-testid="invite-copied">
        {copied === "yes" ? "Link copied." : copied === "failed" ? "Could not copy: select the link and copy it." : ""}
      </p>
    </div>
  );
}
