/**
 * The open room: header, messages (stored and pending), composer. Marks the
 * room read only as far as messages are actually on screen in a visible,
 * focused tab (state/readTracking.ts), never merely because it was opened.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Attachment, Room } from "@shared/protocol/index.js";
import { RoomHeader } from "@web/rooms/RoomHeader";
import { roomTitle } from "@web/state/rooms";
import { EMPTY_TIMELINE } from "@web/state/timeline";
import { ReadTracker, documentAttention, seqToMarkRead } from "@web/state/readTracking";
import { useChat, useChatClient } from "@web/state/useChat";
import { Composer } from "./Composer";
import { DeleteMessageDialog } from "./DeleteMessageDialog";
import { EditHistoryDialog } from "./EditHistoryDialog";
import { MessageList } from "./MessageList";
import { ReactionsProvider } from "./Reactions";
import { ThreadPanel } from "./ThreadPanel";
import { quoteOf } from "./ReplyQuote";
import { inTimeline, type ReplyTo } from "@shared/protocol/index.js";
import { TypingLine } from "./TypingLine";
import { VoiceRecorder } from "./VoiceRecorder";
import { textOrFiles } from "./attachmentText";
import { buildRows, displayMessages, type DisplayMessage } from "./rows";
import { jumpTargetOfMessage, type JumpTarget } from "@web/search/jump";

/** How long a message opened from search (or a quote) stays highlighted. */
const HIGHLIGHT_MS = 2000;

/** Highlights a message for a moment (`message--highlight`), so the eye finds it after the jump. */
function flash(el: HTMLElement): void {
  el.classList.add("message--highlight");
  window.setTimeout(() => el.classList.remove("message--highlight"), HIGHLIGHT_MS);
}

/** The element matching `selector` once it is in the page (a thread's replies arriving), or null after `timeoutMs`. */
async function appears(selector: string, timeoutMs = 5000): Promise<HTMLElement | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const el = document.querySelector<HTMLElement>(selector);
    if (el || Date.now() > deadline) return el;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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

  // The timeline shows every message but the thread replies kept in their thread (the thread panel shows those).
  const shown = useMemo(() => timeline.messages.filter(inTimeline), [timeline.messages]);
  const rows = useMemo(() => {
    if (!me) return [];
    const pending = outbox.filter((e) => e.roomId === room.id && inTimeline(e));
    return buildRows(displayMessages(shown, pending, me), unreadAfterSeq);
  }, [me, outbox, room.id, shown, unreadAfterSeq]);
  // The newest message the timeline shows: once it is on screen the room is read, thread replies after it included.
  const lastShownSeq = useRef<number | null>(null);
  lastShownSeq.current = shown.at(-1)?.seq ?? null;

  // Read tracking: the rows on screen, checked against the tab's attention (visible and focused).
  const viewRef = useRef<HTMLElement>(null);
  const tracker = useRef<ReadTracker | null>(null);
  const roomRef = useRef(room);
  roomRef.current = room;
  useEffect(() => {
    const el = viewRef.current;
    if (!el || typeof IntersectionObserver === "undefined") return;
    const t = new ReadTracker(el, (seqs) => {
      const r = roomRef.current;
      const lastMessageSeq = r.lastMessage && !inTimeline(r.lastMessage) ? lastShownSeq.current : (r.lastMessage?.seq ?? null);
      const seq = seqToMarkRead(seqs, { lastSeq: r.lastSeq, lastReadSeq: r.lastReadSeq, lastMessageSeq }, documentAttention(document));
      if (seq !== null) chat.markRead(r.id, seq);
    });
    tracker.current = t;
    return () => {
      t.disconnect();
      tracker.current = null;
    };
  }, [chat, room.id]);
  useEffect(() => {
    tracker.current?.scan();
    tracker.current?.poke();
  }, [rows, room.lastSeq, room.lastReadSeq, pageVisible]);
  useEffect(() => {
    void chat.loadReceipts(room.id);
  }, [chat, room.id]);

  const loadOlder = useCallback(() => void chat.loadOlder(room.id), [chat, room.id]);
  const loadNewer = useCallback(() => void chat.loadNewer(room.id), [chat, room.id]);
  const jumpToPresent = useCallback(() => void chat.jumpToPresent(room.id), [chat, room.id]);
  const retry = useCallback((clientId: string) => chat.retry(clientId), [chat]);
  const discard = useCallback((clientId: string) => chat.discard(clientId), [chat]);
  // Replies and threads: the message the composer replies to, the open thread.
  const [replyingTo, setReplyingTo] = useState<DisplayMessage | null>(null);
  const [threadRootId, setThreadRootId] = useState<string | null>(null);
  const send = useCallback(
    (body: string, attachments: readonly Attachment[]) => {
      chat.send(room.id, body, replyingTo?.id ?? undefined, undefined, attachments);
      setReplyingTo(null);
    },
    [chat, room.id, replyingTo],
  );
  // A voice note is a message of that one file (a reply, if the composer was replying).
  const sendVoiceNote = useCallback((upload: Attachment) => send("", [upload]), [send]);
  const startReply = useCallback((message: DisplayMessage) => setReplyingTo(message), []);
  const cancelReply = useCallback(() => setReplyingTo(null), []);
  // Closing a thread returns the focus to what opened it ("N replies"), as a dialog does; else to the composer.
  const threadOpener = useRef<HTMLElement | null>(null);
  // A reply's thread is its root's (threads are one level).
  const openThread = useCallback((message: DisplayMessage) => {
    threadOpener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    setThreadRootId(message.replyTo?.id ?? message.id);
  }, []);
  const closeThread = useCallback(() => {
    const rootId = threadRootId;
    setThreadRootId(null);
    const opener = threadOpener.current;
    threadOpener.current = null;
    const inList = rootId ? viewRef.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(rootId)}"] [data-testid="thread-link"]`) : null;
    const target = opener?.isConnected && opener !== document.body ? opener : inList;
    if (target) requestAnimationFrame(() => target.focus());
    else setComposerFocus((n) => n + 1);
  }, [threadRootId]);
  // A quote was activated: bring the original into the list (older pages, bounded), scroll to it, flash it.
  const showMessage = useCallback(
    async (messageId: string, seq: number) => {
      const reached = await chat.revealSeq(room.id, seq);
      // After the pages rendered (the list keeps its place when a page is prepended).
      await new Promise((resolve) => requestAnimationFrame(() => resolve(null)));
      const el = viewRef.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(messageId)}"]`);
      if (!reached || !el) {
        setThreadRootId(messageId); // too far back to load here: its thread shows it
        return;
      }
      el.scrollIntoView({ block: "center" });
      flash(el);
    },
    [chat, room.id],
  );
  const jump = useCallback((replyTo: ReplyTo) => void showMessage(replyTo.id, replyTo.seq), [showMessage]);

  // A message opened from search (search/jump.ts): the page around it, scrolled to, highlighted and focused;
  // a reply kept in its thread shows its root here and opens the thread, where the reply is highlighted.
  const showFound = useCallback(
    async (asked: JumpTarget) => {
      let target = asked;
      if (target.messageId === undefined) {
        // Only the seq is known (a notification's link): the message is found in the page around it.
        await chat.loadAround(room.id, target.seq);
        const found = chat.store.getState().timelines[room.id]?.messages.find((m) => m.seq === target.seq);
        if (!found) return; // not a message's seq (a reaction, a join), or a page that failed: the room is open, that is all
        target = jumpTargetOfMessage(found);
      }
      const messageId = target.messageId ?? "";
      const shownId = target.thread?.rootId ?? messageId;
      await chat.loadAround(room.id, target.thread?.rootSeq ?? target.seq);
      await new Promise((resolve) => requestAnimationFrame(() => resolve(null)));
      const el = viewRef.current?.querySelector<HTMLElement>(`[data-testid="message"][data-message-id="${CSS.escape(shownId)}"]`);
      if (el) {
        el.scrollIntoView({ block: "center" });
        flash(el);
        if (!target.thread) el.focus({ preventScroll: true });
      }
      if (target.thread) {
        threadOpener.current = el?.querySelector<HTMLElement>('[data-testid="thread-link"]') ?? el ?? null;
        setThreadRootId(target.thread.rootId);
        const reply = await appears(`[data-testid="thread-panel"] [data-message-id="${CSS.escape(messageId)}"]`);
        if (reply) {
          reply.scrollIntoView({ block: "center" });
          flash(reply);
        }
      }
    },
    [chat, room.id],
  );
  useEffect(() => {
    const take = () => {
      const target = chat.jumps.take(room.id);
      if (target) void showFound(target);
    };
    take();
    return chat.jumps.subscribe(take);
  }, [chat, room.id, showFound]);
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
  // Reactors' names come from the member list: fetched only once some message has reactions (the open thread's included).
  const thread = useChat((s) => (threadRootId ? s.threads[threadRootId] : undefined));
  const hasReactions = useMemo(
    () => [...timeline.messages, ...(thread?.root ? [thread.root] : []), ...(thread?.replies ?? [])].some((m) => (m.reactions?.length ?? 0) > 0),
    [timeline.messages, thread?.root, thread?.replies],
  );

  return (
    <section className={threadRootId ? "room-view room-view--thread-open" : "room-view"} data-testid="room-view" data-room-id={room.id} ref={viewRef}>
      <RoomHeader room={room} onLeft={onLeft} />
      {disconnected ? (
        <div className="offline-banner" role="status" data-testid="offline-banner">
          {connection.state === "connecting" ? "Reconnecting…" : "You are offline."} Messages you send will go out when the
          connection is back.
        </div>
      ) : null}
      <ReactionsProvider room={room} hasReactions={hasReactions}>
      <MessageList
        rows={rows}
        timeline={timeline}
        roomName={room.kind === "direct" ? `your conversation with ${title}` : `#${title}`}
        onLoadOlder={loadOlder}
        onLoadNewer={loadNewer}
        onJumpToPresent={jumpToPresent}
        onRetry={retry}
        onDiscard={discard}
        editingKey={editingKey}
        canModerate={canModerate}
        onEdit={startEdit}
        onSaveEdit={saveEdit}
        onCancelEdit={endEdit}
        onDelete={setDeleting}
        onShowHistory={setHistoryOf}
        roomId={room.id}
        onReply={startReply}
        onJump={jump}
        onOpenThread={openThread}
      />
      {/* The thread panel is a portal into <body>; it still takes this provider's context for its reactions. */}
      {threadRootId ? (
        <ThreadPanel key={threadRootId} roomId={room.id} rootId={threadRootId} onClose={closeThread}
          onShowOriginal={(id, seq) => void showMessage(id, seq)} />
      ) : null}
      </ReactionsProvider>
      <TypingLine room={room} />
      <Composer key={room.id} roomId={room.id} placeholder={placeholder} onSend={send} onEditLast={editLast} focusSignal={composerFocus}
        onTyping={typing} memberCount={room.memberCount} canMentionEveryone={canModerate}
        replyingTo={replyingTo ? { author: replyingTo.authorName, preview: replyingTo.deleted ? "message deleted" : quoteOf(textOrFiles(replyingTo)) } : null}
        onCancelReply={cancelReply} recorder={<VoiceRecorder onSend={sendVoiceNote} />} />
      {deleting ? <DeleteMessageDialog message={deleting} onConfirm={confirmDelete} onClose={closeDelete} /> : null}
      {historyOf ? <EditHistoryDialog roomId={room.id} message={historyOf} onClose={() => setHistoryOf(null)} /> : null}
    </section>
  );
}
