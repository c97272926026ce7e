/**
 * The signed-in layout: sidebar and the open room. Also where the page's
 * environment (visibility, network) is fed to the ChatClient, and where the
 * URL's room is opened.
 */
import { useEffect, useState } from "react";
import type { Room } from "@shared/protocol/index.js";
import { RoomView } from "@web/messages/RoomView";
import type { ChatState } from "@web/state/chatReducer";
import { Sidebar } from "@web/rooms/Sidebar";
import { useChat, useChatClient } from "@web/state/useChat";
import { HashIcon } from "@web/ui/icons";
import { messageOf } from "./chatClient";
import { useRoomRoute } from "./route";

export function ChatShell() {
  const chat = useChatClient();
  const [routeRoomId, openRoom] = useRoomRoute();
  const tracked = useChat((s) => (routeRoomId ? s.rooms[routeRoomId] : undefined));
  const roomsLoaded = useChat((s) => s.roomsLoaded);

  useEffect(() => {
    const visibility = () => chat.setPageVisible(document.visibilityState === "visible");
    const online = () => chat.networkChanged(true);
    const offline = () => chat.networkChanged(false);
    visibility();
    document.addEventListener("visibilitychange", visibility);
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    return () => {
      document.removeEventListener("visibilitychange", visibility);
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
    };
  }, [chat]);

  // The tab title carries the unread total, so a background tab shows it.
  const unreadTotal = useChat((s) => unreadSum(s.rooms, s.activeRoomId));
  useEffect(() => {
    document.title = unreadTotal > 0 ? `(${unreadTotal}) Parley` : "Parley";
  }, [unreadTotal]);

  // Open the room in the URL once it is one of ours (after the first room list).
  const openId = tracked ? tracked.room.id : null;
  useEffect(() => {
    chat.openRoom(openId);
  }, [chat, openId]);

  let main;
  if (tracked) main = <RoomView key={tracked.room.id} room={tracked.room} onLeft={() => openRoom(null)} />;
  else if (routeRoomId && roomsLoaded) main = <NotAMember roomId={routeRoomId} onJoined={(room) => openRoom(room.id)} />;
  else main = <Welcome />;

  return (
    <div className="shell">
      <Sidebar activeRoomId={openId} onOpenRoom={openRoom} />
      <main className="shell__main">{main}</main>
    </div>
  );
}

/** Unread messages across rooms; the open room's are being read. */
function unreadSum(rooms: ChatState["rooms"], activeRoomId: string | null): number {
  let total = 0;
  for (const [roomId, tracked] of Object.entries(rooms)) if (roomId !== activeRoomId) total += tracked.room.unreadCount;
  return total;
}

function Welcome() {
  const me = useChat((s) => s.me);
  return (
    <div className="placeholder" data-testid="welcome">
      <div className="placeholder__art" aria-hidden="true">
        <HashIcon width={28} height={28} />
      </div>
      <h1>Welcome{me ? `, ${me.displayName || me.username}` : ""}</h1>
      <p>Pick a room on the left, browse public rooms, or start a direct message.</p>
    </div>
  );
}

/** A link to a room the user is not in: offer to join it when it is public. */
function NotAMember({ roomId, onJoined }: { roomId: string; onJoined: (room: Room) => void }) {
  const chat = useChatClient();
  const [room, setRoom] = useState<Room | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setRoom(null);
    setError(null);
    chat.api.room(roomId).then(
      (r) => current && setRoom(r),
      (e: unknown) => current && setError(messageOf(e)),
    );
    return () => {
      current = false;
    };
  }, [chat, roomId]);

  async function join() {
    try {
      onJoined(await chat.joinRoom(roomId));
    } catch (e) {
      setError(messageOf(e));
    }
  }

  return (
    <div className="placeholder" data-testid="not-a-member">
      {room ? (
        <>
          <h1>#{room.name}</h1>
          {room.topic ? <p>{room.topic}</p> : null}
          {room.kind === "public" ? (
            <button type="button" className="button button--primary" onClick={() => void join()}>
              Join room
            </button>
          ) : (
            <p>You are not a member of this room.</p>
          )}
        </>
      ) : (
        <p>{error ?? "Loading…"}</p>
      )}
    </div>
  );
}
