/** The open room's header: name, topic, member count, and the room's actions. */
import { useState } from "react";
import type { Room } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { roomTitle } from "@web/state/rooms";
import { useChatClient } from "@web/state/useChat";
import { Avatar } from "@web/ui/Avatar";
import { Dialog } from "@web/ui/Dialog";
import { BellIcon, BellOffIcon, DoorIcon, HashIcon, LockIcon, SearchIcon, UserPlusIcon, UsersIcon } from "@web/ui/icons";
import { isMuted, muteLabel } from "@web/notifications/model";
import { useNotifyClock } from "@web/notifications/hooks";
import { RoomNotificationsDialog } from "@web/notifications/RoomNotificationsDialog";
import { useOpenSearch } from "@web/search/SearchPanel";
import { MembersDialog, canInvite, inviteLabel } from "./MembersDialog";
import { BackToConversations, RoomActionsMenu, roomActions } from "./RoomActionsMenu";
import { PresenceDot } from "./PresenceDot";
import { OnlineCount } from "./OnlineCount";

type OpenDialog = "members" | "add" | "leave" | "notifications" | null;

export function RoomHeader({ room, onLeft }: { room: Room; onLeft: () => void }) {
  const [dialog, setDialog] = useState<OpenDialog>(null);
  const title = roomTitle(room);
  const openSearch = useOpenSearch();
  const nowMs = useNotifyClock([room], null);
  const muted = isMuted(room, nowMs);
  const notifyName = `Notifications for ${room.kind === "direct" ? title : `#${title}`}${muted ? ` (${muteLabel(room, new Date(nowMs))?.toLowerCase()})` : ""}`;

  return (
    <header className="room-header">
      <div className="room-header__title">
        {/* Phones only (CSS): one pane at a time, so a way back to the list. */}
        <BackToConversations />
        <span className="room-header__icon">
          {room.kind === "direct" ? (
            <Avatar id={room.peer?.id ?? room.id} name={title} size={32} />
          ) : room.kind === "private" ? (
            <LockIcon />
          ) : (
            <HashIcon />
          )}
        </span>
        <div className="room-header__text">
          {/* Focusable by script: where focus lands when the room opens on a phone (a11y/shortcuts.ts). */}
          <h1 data-testid="room-title" tabIndex={-1}><bdi>{title}</bdi></h1>
          {room.kind === "direct" && room.peer ? (
            // Always shown for a conversation: the display name can be anyone's, the @username is unique.
            <p className="room-header__topic room-header__handle">
              <PresenceDot userId={room.peer.id} /> <span data-testid="room-peer-handle">@{room.peer.username}</span>
            </p>
          ) : room.topic ? (
            <p className="room-header__topic" data-testid="room-topic" title={room.topic}>
              <bdi>{room.topic}</bdi>
            </p>
          ) : null}
        </div>
      </div>
      {/* On every layout, direct conversations included: searching the open conversation (issue 18). */}
      <button type="button" className="icon-button room-header__search" aria-label="Search in this conversation"
        title="Search in this conversation" onClick={() => openSearch({ roomId: room.id })} data-testid="search-in-room">
        <SearchIcon width={18} height={18} />
      </button>
      {/* The room's level and mute (issue 19). On a phone a group room has it in its menu instead (room-header__notify--folded). */}
      <button type="button" className={`icon-button room-header__notify${room.kind !== "direct" ? " room-header__notify--folded" : ""}${muted ? " room-header__notify--muted" : ""}`}
        aria-label={notifyName} title={notifyName} onClick={() => setDialog("notifications")} data-testid="room-notifications"
        data-muted={muted ? "true" : undefined}>
        {muted ? <BellOffIcon width={18} height={18} /> : <BellIcon width={18} height={18} />}
      </button>
      {room.kind !== "direct" ? (
        <div className="room-header__actions">
          <OnlineCount room={room} />
          <button type="button" className="chip" onClick={() => setDialog("members")} data-testid="member-count"
            title="Members" aria-label={`${room.memberCount} members`}>
            <UsersIcon /> {room.memberCount}
          </button>
          {canInvite(room) ? (
            <button type="button" className="chip" onClick={() => setDialog("add")} data-testid="add-member">
              <UserPlusIcon /> {inviteLabel(room)}
            </button>
          ) : null}
          <button type="button" className="chip" onClick={() => setDialog("leave")} data-testid="leave-room">
            <DoorIcon /> Leave
          </button>
        </div>
      ) : null}
      {/* Phones only (CSS): the actions above, folded into a menu. */}
      {room.kind !== "direct" ? <RoomActionsMenu actions={roomActions(room, setDialog)} /> : null}
      {dialog === "members" || dialog === "add" ? (
        <MembersDialog room={room} startAdding={dialog === "add"} onClose={() => setDialog(null)} />
      ) : null}
      {dialog === "leave" ? <LeaveDialog room={room} onClose={() => setDialog(null)} onLeft={onLeft} /> : null}
      {dialog === "notifications" ? <RoomNotificationsDialog room={room} onClose={() => setDialog(null)} /> : null}
    </header>
  );
}

function LeaveDialog({ room, onClose, onLeft }: { room: Room; onClose: () => void; onLeft: () => void }) {
  const chat = useChatClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function leave() {
    setBusy(true);
    setError(null);
    try {
      await chat.leaveRoom(room.id);
      onLeft();
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Leave ${room.name}?`} onClose={onClose} testId="leave-dialog">
      <p>
        {room.kind === "public"
          ? "You will stop getting its messages. You can join again at any time."
          : "You will stop getting its messages. To come back, someone in the room has to add you again."}
      </p>
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      <div className="form__actions">
        <button type="button" className="button" onClick={onClose}>Cancel</button>
        <button type="button" className="button button--danger" disabled={busy} onClick={() => void leave()}
          data-testid="leave-confirm">
          {busy ? "Leaving…" : "Leave room"}
        </button>
      </div>
    </Dialog>
  );
}
