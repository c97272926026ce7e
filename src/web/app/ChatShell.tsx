/**
 * The signed-in layout: sidebar and the open room. Also where the page's
 * environment (visibility, network) is fed to the ChatClient, and where the
 * URL's room is opened.
 */
import { useEffect, useRef, useState, type MouseEvent } from "react";
import { ErrorCode, type Room } from "@shared/protocol/index.js";
import { ApiError } from "@web/api/http";
import { LiveAnnouncer } from "@web/a11y/announcer";
import { isShown } from "@web/a11y/focus";
import { useFocusLanding, useShellShortcuts } from "@web/a11y/shortcuts";
import { RoomView } from "@web/messages/RoomView";
import { SearchHost } from "@web/search/SearchPanel";
import { Sidebar } from "@web/rooms/Sidebar";
import { useChat, useChatClient } from "@web/state/useChat";
import { HashIcon } from "@web/ui/icons";
import { messageOf } from "./chatClient";
import { ErrorBoundary } from "./ErrorBoundary";
import { ProblemView } from "./ProblemView";
import { hashForMessage, hashForRoom, useRoute } from "./route";
import { DesktopNotifier } from "@web/notifications/desktop";
import { messageLinkOf } from "@web/notifications/model";

export function ChatShell() {
  const chat = useChatClient();
  const [route, openRoom] = useRoute();
  const routeRoomId = route.kind === "room" ? route.roomId : null;
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

  // `#/rooms/<id>/<seq>` (a notification's link): open the room at that message, as a search result does.
  const routeSeq = route.kind === "room" ? (route.seq ?? null) : null;
  useEffect(() => {
    if (routeRoomId !== null && routeSeq !== null) chat.jumps.request({ roomId: routeRoomId, seq: routeSeq });
  }, [chat, routeRoomId, routeSeq]);

  // In-app notifications (issue 19): shown while no tab of mine is focused; a click opens the message here.
  useEffect(() => {
    const openUrl = (url: string) => {
      const link = messageLinkOf(url, window.location.origin);
      if (!link) return;
      window.focus();
      const hash = link.seq === null ? hashForRoom(link.roomId) : hashForMessage(link.roomId, link.seq);
      // The same link again changes no hash: ask for the jump directly.
      if (window.location.hash === hash) {
        if (link.seq !== null) chat.jumps.request({ roomId: link.roomId, seq: link.seq });
      } else {
        window.location.hash = hash;
      }
    };
    const notifier = new DesktopNotifier(openUrl);
    const stop = chat.onNotification((notification) => void notifier.notify(notification));
    return () => {
      stop();
      notifier.stop();
    };
  }, [chat]);

  // Open the room in the URL once it is one of ours (after the first room list).
  const openId = tracked ? tracked.room.id : null;
  useEffect(() => {
    chat.openRoom(openId);
  }, [chat, openId]);

  const home = () => openRoom(null);
  useShellShortcuts(openRoom);
  // The last room shown, so that "Back to conversations" (phone) lands on it in the list.
  const lastRoom = useRef<string | null>(null);
  useEffect(() => {
    if (openId) lastRoom.current = openId;
  }, [openId]);
  const viewKey = route.kind === "room" ? `room:${route.roomId}:${openId ?? ""}` : route.kind;
  useFocusLanding(viewKey, lastRoom);

  let main;
  if (route.kind === "notFound") main = <NotFound onBack={home} />;
  else if (tracked) main = <RoomView key={tracked.room.id} room={tracked.room} onLeft={home} />;
  else if (routeRoomId && roomsLoaded) main = <NotAMember roomId={routeRoomId} onJoined={(room) => openRoom(room.id)} onBack={home} />;
  else main = <Welcome />;

  // On a phone one pane shows at a time (styles.css, "Phone layout"): the route decides which.
  const pane = route.kind === "home" ? "list" : "conversation";
  return (
    <SearchHost onOpenRoom={openRoom}>
    <div className={`shell shell--${pane}`} data-pane={pane}>
      {/* The first Tab stops of the page (visible when focused): past the conversation list. */}
      <nav className="skip-links" aria-label="Skip links">
        <a href="#messages" className="skip-link" onClick={(e) => skipTo(e, ['[data-testid="message"][tabindex="0"]', "main h1"])}
          data-testid="skip-to-messages">Skip to messages</a>
        <a href="#composer" className="skip-link" onClick={(e) => skipTo(e, ['[data-testid="composer-input"]', "main h1"])}
          data-testid="skip-to-composer">Skip to message box</a>
      </nav>
      <LiveAnnouncer />
      <Sidebar activeRoomId={openId} onOpenRoom={openRoom} />
      <main className="shell__main" id="main">
        {/* A crash in the open room leaves the sidebar working; opening another room tries again. */}
        <ErrorBoundary scope="room" resetKey={route.kind === "room" ? `room:${route.roomId}` : route.kind} onBack={home}>
          {main}
        </ErrorBoundary>
      </main>
    </div>
    </SearchHost>
  );
}

/** A skip link: focuses the first shown element of `selectors` (the hash is the route, so it is not followed). */
function skipTo(event: MouseEvent, selectors: readonly string[]): void {
  event.preventDefault();
  for (const selector of selectors) {
    const el = document.querySelector<HTMLElement>(selector);
    if (el && isShown(el)) {
      if (el.tabIndex < 0 && !el.hasAttribute("tabindex")) el.tabIndex = -1;
      el.focus();
      return;
    }
  }
}

function Welcome() {
  const me = useChat((s) => s.me);
  return (
    <div className="placeholder" data-testid="welcome">
      <div className="placeholder__art" aria-hidden="true">
        <HashIcon width={28} height={28} />
      </div>
      <h1 tabIndex={-1}>Welcome{me ? `, ${me.displayName || me.username}` : ""}</h1>
      <p>Pick a room on the left, browse public rooms, or start a direct message.</p>
    </div>
  );
}

/** A link that leads nowhere (a malformed route, or a room that does not exist or is hidden from us). */
function NotFound({ onBack }: { onBack: () => void }) {
  return (
    <ProblemView
      testId="not-found"
      role="none"
      title="Nothing here"
      actions={
        <a href="#/" className="button button--primary" onClick={(e) => { e.preventDefault(); onBack(); }} data-testid="not-found-back">
          Back to your rooms
        </a>
      }
    >
      <p>This link does not lead to a room you can see. It may be mistyped, or the room may be private or gone.</p>
    </ProblemView>
  );
}

/** A link to a room the user is not in: offer to join it when it is public. */
function NotAMember({ roomId, onJoined, onBack }: { roomId: string; onJoined: (room: Room) => void; onBack: () => void }) {
  const chat = useChatClient();
  const [room, setRoom] = useState<Room | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);

  useEffect(() => {
    let current = true;
    setRoom(null);
    setError(null);
    setMissing(false);
    chat.api.room(roomId).then(
      (r) => current && setRoom(r),
      (e: unknown) => {
        if (!current) return;
        const gone = e instanceof ApiError && (e.code === ErrorCode.NotFound || e.code === ErrorCode.ValidationFailed);
        if (gone) setMissing(true);
        else setError(messageOf(e));
      },
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

  if (missing) return <NotFound onBack={onBack} />;
  return (
    <div className="placeholder" data-testid="not-a-member">
      {room ? (
        <>
          <h1>#<bdi>{room.name}</bdi></h1>
          {room.topic ? <p>{room.topic}</p> : null}
          {room.kind === "public" ? (
            <button type="button" className="button button--primary" onClick={() => void join()}>
              Join room
            </button>
          ) : (
            <p>You are not a member of this room.</p>
          )}
          {/* On a phone the list is not beside this pane. */}
          <a href="#/" className="button phone-only" onClick={(e) => { e.preventDefault(); onBack(); }}>Back to your rooms</a>
        </>
      ) : (
        <>
          <p role={error ? "alert" : "status"}>{error ?? "Loading…"}</p>
          {error ? (
            <a href="#/" className="button" onClick={(e) => { e.preventDefault(); onBack(); }}>Back to your rooms</a>
          ) : null}
        </>
      )}
    </div>
  );
}
