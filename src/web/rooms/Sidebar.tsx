/**
 * The sidebar: the user's rooms and direct messages (most recent activity
 * first, with preview and unread badge), the ways to find or start a
 * conversation, the connection status and the account menu.
 */
import { useEffect, useMemo, useState } from "react";
import type { Room } from "@shared/protocol/index.js";
import { ConnectionStatus } from "@web/realtime/ConnectionStatus";
import { previewOf, roomTitle } from "@web/state/rooms";
import { useChat, useChatClient } from "@web/state/useChat";
import { Avatar } from "@web/ui/Avatar";
import { BellOffIcon, CompassIcon, HashIcon, LockIcon, LogoutIcon, PlusIcon, SearchIcon, SettingsIcon } from "@web/ui/icons";
import { isMuted, muteLabel, sidebarOrder } from "@web/notifications/model";
import { useNotifyClock } from "@web/notifications/hooks";
import { PermissionBanner } from "@web/notifications/PermissionBanner";
import { SettingsDialog } from "@web/notifications/SettingsDialog";
import { useOpenSearch } from "@web/search/SearchPanel";
import { sidebarTime } from "@web/messages/time";
import { pageTitle, unreadTotal } from "@web/state/pageTitle";
import { showUnreadOnAppIcon } from "@web/notifications/badge";
import { BrowseRoomsDialog } from "./BrowseRoomsDialog";
import { CreateRoomDialog } from "./CreateRoomDialog";
import { NewDirectDialog } from "./NewDirectDialog";
import { PresenceDot } from "./PresenceDot";

type OpenDialog = "create" | "browse" | "direct" | "settings" | null;

export function Sidebar({ activeRoomId, onOpenRoom }: { activeRoomId: string | null; onOpenRoom: (roomId: string) => void }) {
  const chat = useChatClient();
  const tracked = useChat((s) => s.rooms);
  const me = useChat((s) => s.me);
  const roomsLoaded = useChat((s) => s.roomsLoaded);
  const [dialog, setDialog] = useState<OpenDialog>(null);
  const openSearch = useOpenSearch();

  // Muted conversations after the others (issue 19); the clock ticks when a mute ends, so the order changes on time.
  const settings = useChat((s) => s.notificationSettings);
  const allRooms = useMemo(() => Object.values(tracked).map((t) => t.room), [tracked]);
  const nowMs = useNotifyClock(allRooms, settings);
  const { rooms, directs } = useMemo(() => {
    const all = sidebarOrder(allRooms, nowMs);
    return { rooms: all.filter((r) => r.kind !== "direct"), directs: all.filter((r) => r.kind === "direct") };
  }, [allRooms, nowMs]);

  // The unread total in the page title, "(3) Parley" (the open room counts as read, as in the list).
  const total = useMemo(
    () => unreadTotal(Object.values(tracked).map((t) => (t.room.id === activeRoomId ? { unreadCount: 0 } : t.room))),
    [tracked, activeRoomId],
  );
  // And the open conversation's name, so the tab (and a screen reader's window title) says where one is.
  const openRoom = activeRoomId ? tracked[activeRoomId]?.room : undefined;
  const openName = openRoom ? `${openRoom.kind === "direct" ? "" : "#"}${roomTitle(openRoom)}` : null;
  useEffect(() => {
    document.title = pageTitle(total, openName);
    showUnreadOnAppIcon(total);
  }, [total, openName]);
  const [readAllError, setReadAllError] = useState<string | null>(null);
  const readAll = () => {
    setReadAllError(null);
    chat.readAll().catch(() => setReadAllError("Could not mark everything as read. Try again."));
  };

  const opened = (room: Room) => {
    setDialog(null);
    onOpenRoom(room.id);
  };

  return (
    <aside className="sidebar" data-testid="sidebar">
      <header className="sidebar__header">
        <div className="sidebar__brand">
          <span className="logo" aria-hidden="true">P</span>
          <span>Parley</span>
        </div>
        <ConnectionStatus />
      </header>
      {/* Looks like a search field, opens the search panel (search/SearchPanel.tsx); Ctrl/Cmd+K or / from anywhere. */}
      <div className="sidebar__search">
        <button type="button" className="search-box" onClick={() => openSearch()} aria-keyshortcuts="Control+K Meta+K /"
          data-testid="search-open">
          <SearchIcon />
          <span className="search-box__label">Search messages</span>
          <kbd className="search-box__key" aria-hidden="true">{isApple() ? "⌘K" : "Ctrl K"}</kbd>
        </button>
      </div>

      <nav className="sidebar__scroll" aria-label="Conversations" tabIndex={-1}>
        {total > 0 ? (
          <div className="sidebar__read-all">
            <button type="button" className="link-button" data-testid="mark-all-read" onClick={readAll}>
              Mark all as read
            </button>
          </div>
        ) : null}
        {readAllError ? <p className="form__error" role="alert">{readAllError}</p> : null}
        <section className="sidebar__section">
          <div className="sidebar__section-head">
            <h2>Rooms</h2>
            <div className="sidebar__actions">
              <button type="button" className="icon-button" title="Browse public rooms" aria-label="Browse public rooms"
                data-testid="browse-rooms" onClick={() => setDialog("browse")}>
                <CompassIcon />
              </button>
              <button type="button" className="icon-button" title="Create a room" aria-label="Create a room"
                data-testid="create-room" onClick={() => setDialog("create")}>
                <PlusIcon />
              </button>
            </div>
          </div>
          <ul className="room-list" data-testid="room-list">
            {rooms.map((room) => (
              <RoomListItem key={room.id} room={room} myId={me?.id ?? null} active={room.id === activeRoomId} onOpen={onOpenRoom} nowMs={nowMs} />
            ))}
          </ul>
          {roomsLoaded && rooms.length === 0 ? (
            <p className="sidebar__empty">
              No rooms yet.{" "}
              <button type="button" className="link-button" onClick={() => setDialog("browse")}>Browse</button> or{" "}
              <button type="button" className="link-button" onClick={() => setDialog("create")}>create one</button>.
            </p>
          ) : null}
        </section>

        <section className="sidebar__section">
          <div className="sidebar__section-head">
            <h2>Direct messages</h2>
            <div className="sidebar__actions">
              <button type="button" className="icon-button" title="New direct message" aria-label="New direct message"
                data-testid="new-direct" onClick={() => setDialog("direct")}>
                <PlusIcon />
              </button>
            </div>
          </div>
          <ul className="room-list" data-testid="direct-list">
            {directs.map((room) => (
              <RoomListItem key={room.id} room={room} myId={me?.id ?? null} active={room.id === activeRoomId} onOpen={onOpenRoom} nowMs={nowMs} />
            ))}
          </ul>
          {roomsLoaded && directs.length === 0 ? <p className="sidebar__empty">No conversations yet.</p> : null}
        </section>
      </nav>

      {/* After the list, beside the account's Settings: it offers, it does not stand between a person and their conversations. */}
      <PermissionBanner />
      {me ? (
        <footer className="sidebar__footer">
          <Avatar id={me.id} name={me.displayName || me.username} size={30} />
          <div className="sidebar__me">
            <span className="sidebar__me-name" data-testid="current-user">{me.displayName || me.username}</span>
            <span className="sidebar__me-handle">@{me.username}</span>
          </div>
          <button type="button" className="icon-button" title="Settings" aria-label="Settings" data-testid="open-settings"
            onClick={() => setDialog("settings")}>
            <SettingsIcon />
          </button>
          <button type="button" className="icon-button" title="Sign out" aria-label="Sign out" data-testid="logout"
            onClick={() => void chat.logout()}>
            <LogoutIcon />
          </button>
        </footer>
      ) : null}

      {dialog === "create" ? <CreateRoomDialog onClose={() => setDialog(null)} onCreated={opened} /> : null}
      {dialog === "browse" ? <BrowseRoomsDialog onClose={() => setDialog(null)} onOpened={opened} /> : null}
      {dialog === "direct" ? <NewDirectDialog onClose={() => setDialog(null)} onOpened={opened} /> : null}
      {dialog === "settings" ? <SettingsDialog onClose={() => setDialog(null)} /> : null}
    </aside>
  );
}

/** Apple keyboards say ⌘ where others say Ctrl. */
function isApple(): boolean {
  return typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
}

function RoomListItem({ room, myId, active, onOpen, nowMs }: { room: Room; myId: string | null; active: boolean; onOpen: (id: string) => void; nowMs: number }) {
  const title = roomTitle(room);
  // A display name is not unique and anyone can pick "Alice": the @username is, so a
  // conversation shows it whenever it differs from the name (impersonation, TR 36 §2).
  const handle = room.kind === "direct" && room.peer && room.peer.username !== title ? room.peer.username : null;
  const unread = active ? 0 : room.unreadCount;
  const mentioned = active ? 0 : (room.mentionCount ?? 0);
  // A muted room keeps its count, but quieter: dimmed, not bold, a grey badge, and a muted bell that says so in words.
  const muted = isMuted(room, nowMs);
  const classes = ["room-item", active ? "room-item--active" : "", unread > 0 && !muted ? "room-item--unread" : "", muted ? "room-item--muted" : ""].join(" ");
  return (
    <li>
      <button
        type="button"
        className={classes}
        onClick={() => onOpen(room.id)}
        aria-current={active ? "page" : undefined}
        data-testid="room-item"
        data-room-id={room.id}
        data-room-name={title}
        data-muted={muted ? "true" : undefined}
        title={handle ? `${title} (@${handle})` : undefined}
      >
        <span className="room-item__icon">
          {room.kind === "direct" ? (
            <>
              <Avatar id={room.peer?.id ?? room.id} name={title} size={28} />
              {room.peer ? <PresenceDot userId={room.peer.id} /> : null}
            </>
          ) : room.kind === "private" ? (
            <LockIcon />
          ) : (
            <HashIcon />
          )}
        </span>
        <span className="room-item__text">
          <span className="room-item__top">
            {/* <bdi>: a right-to-left name cannot reorder the text around it. */}
            <bdi className="room-item__name">{title}</bdi>
            {handle ? <span className="room-item__handle" data-testid="room-handle">@{handle}</span> : null}
            {muted ? (
              <span className="room-item__muted" role="img" aria-label={muteLabel(room, new Date(nowMs)) ?? "Muted"}
                title={muteLabel(room, new Date(nowMs)) ?? "Muted"} data-testid="room-muted">
                <BellOffIcon width={13} height={13} />
              </span>
            ) : null}
            {room.lastMessage ? <span className="room-item__time">{sidebarTime(room.lastMessage.createdAt)}</span> : null}
          </span>
          <span className="room-item__bottom">
            <span className="room-item__preview" data-testid="room-preview">{previewOf(room, myId)}</span>
            {mentioned > 0 ? (
              // "@" + count, and a label in words (not color only).
              <span className="badge badge--mention" data-testid="mention-badge"
                aria-label={`${mentioned > 99 ? "99+" : mentioned} ${mentioned === 1 ? "mention" : "mentions"}`}>
                @{mentioned > 99 ? "99+" : mentioned}
              </span>
            ) : null}
            {unread > 0 ? (
              <span className={muted ? "badge badge--muted" : "badge"} data-testid="unread-badge" aria-label={`${unread} unread`}>
                {unread > 99 ? "99+" : unread}
              </span>
            ) : null}
          </span>
        </span>
      </button>
    </li>
  );
}
