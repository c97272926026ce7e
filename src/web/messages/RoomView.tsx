/**
 * The open room: header, messages (stored and pending), composer. Marks the
 * room read while it is open and the page is visible, as messages arrive.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import type { Room } from "@shared/protocol/index.js";
import { RoomHeader } from "@web/rooms/RoomHeader";
import { roomTitle } from "@web/state/rooms";
import { EMPTY_TIMELINE } from "@web/state/timeline";
import { useChat, useChatClient } from "@web/state/useChat";
import { Composer } from "./Composer";
import { DeleteMessageDialog } from "./DeleteMessageDialog";
import { EditHistoryDialog } from "./EditHistoryDialog";
import { MessageList } from "./MessageList";
import { TypingLine } from "./TypingLine";
import { buildRows, displayMessages, type DisplayMessage } from "./rows";

export function RoomView({ room, onLeft }: { room: Room; onLeft: () => void }) {
  const chat = useChatClient();
  const me = useChat((s) => s.me);
  const timeline = useChat((s) => s.timelines[room.id]) ?? EMPTY_TIMELINE;
  const outbox = useChat((s) => s.outbox);
  const pageVisible = useChat((s) => s.pageVisible);
  const connection = useChat((s) => s.connection);
  // The first connect is not worth a banner; a lost connection is.
  const disconnected = connection.state === "offline" || (connection.state === "connecting" && connection.attempt > 0);
  // Where "New" goes: the read position when the room was opened. It stays
  // put while the room is open, even though the room is marked read at once.
  const [unreadAfterSeq] = useState(() => (room.unreadCount > 0 ? room.lastReadSeq : null));

  const rows = useMemo(() => {
    if (!me) return [];
    const pending = outbox.filter((e) => e.roomId === room.id);
    return buildRows(displayMessages(timeline.messages, pending, me), unreadAfterSeq);
  }, [me, outbox, room.id, timeline.messages, unreadAfterSeq]);

  useEffect(() => {
    if (pageVisible && timeline.loaded && (room.lastSeq > room.lastReadSeq || room.unreadCount > 0)) chat.markRead(room.id);
  }, [chat, room.id, room.lastSeq, room.lastReadSeq, room.unreadCount, pageVisible, timeline.loaded]);

  const loadOlder = useCallback(() => void chat.loadOlder(room.id), [chat, room.id]);
  const retry = useCallback((clientId: string) => chat.retry(clientId), [chat]);
  const discard = useCallback((clientId: string) => chat.discard(clientId), [chat]);
  const send = useCallback((body: string) => chat.send(room.id, body), [chat, room.id]);
  const typing = useCallback((state: "start" | "stop") => chat.typing(room.id, state), [chat, room.id]);

  // Editing and deleting: which message is edited in place, which dialog is open.
  const [editingKey, setEditingKey] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<DisplayMessage | null>(null);
  const [historyOf, setHistoryOf] = useState<DisplayMessage | null>(null);
  const [composerFocus, setComposerFocus] = useState(0);
  const canModerate = room.role === "owner" || room.role === "admin";
  const startEdit = useCallback((message: DisplayMessage) => setEditingKey(message.key), []);
  const endEdit = useCallback(() => {
    setEditingKey(null);
    setComposerFocus((n) => n + 1);
  }, []);
  const saveEdit = useCallback(
    async (message: DisplayMessage, body: string) => {
      if (message.id === null) return;
      await chat.editMessage(room.id, message.id, body);
      endEdit();
    },
    [chat, room.id, endEdit],
  );
  const confirmDelete = useCallback(
    async (message: DisplayMessage) => {
      if (message.id !== null) await chat.deleteMessage(room.id, message.id);
    },
    [chat, room.id],
  );
  const closeDelete = useCallback(() => {
    setDeleting(null);
    setComposerFocus((n) => n + 1);
  }, []);
  const editLast = useCallback((): boolean => {
    for (let i = rows.length - 1; i >= 0; i -= 1) {
      const row = rows[i]!;
      if (row.kind === "message" && row.message.mine && row.message.status === "sent" && row.message.id !== null && !row.message.deleted) {
        setEditingKey(row.key);
        return true;
      }
    }
    return false;
  }, [rows]);

  const title = roomTitle(room);
  const placeholder = room.kind === "direct" ? `Message ${title}` : `Message #${title}`;

  return (
    <section className="room-view" data-testid="room-view" data-room-id={room.id}>
      <RoomHeader room={room} onLeft={onLeft} />
      {disconnected ? (
        <div className="offline-banner" role="status" data-testid="offline-banner">
          {connection.state === "connecting" ? "Reconnecting…" : "You are offline."} Messages you send will go out when the
          connection is back.
        </div>
      ) : null}
      <MessageList
        rows={rows}
        timeline={timeline}
        roomName={room.kind === "direct" ? `your conversation with ${title}` : `#${title}`}
        onLoadOlder={loadOlder}
        onRetry={retry}
        onDiscard={discard}
        editingKey={editingKey}
        canModerate={canModerate}
        onEdit={startEdit}
        onSaveEdit={saveEdit}
        onCancelEdit={endEdit}
        onDelete={setDeleting}
        onShowHistory={setHistoryOf}
      />
      <TypingLine room={room} />
      <Composer key={room.id} roomId={room.id} placeholder={placeholder} onSend={send} onEditLast={editLast} focusSignal={composerFocus}
        onTyping={typing} />
      {deleting ? <DeleteMessageDialog message={deleting} onConfirm={confirmDelete} onClose={closeDelete} /> : null}
      {historyOf ? <EditHistoryDialog roomId={room.id} message={historyOf} onClose={() => setHistoryOf(null)} /> : null}
    </section>
  );
}
