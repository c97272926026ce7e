/**
 * A thread: the original message and every reply to it, with a box to
 * reply there. A side panel on desktop, the full screen below 768 px
 * (styles.css, "Replies and threads"). It is a complementary landmark
 * (`<aside>`, named by its heading), rendered at the top level of the page
 * (a portal into <body>) so that it is not nested in the main landmark.
 * Escape or the close button closes it. Replies arrive live: the reducer
 * adds each `message.created` whose `replyTo` is this root (state/threads.ts).
 * The root and each reply show their reactions and the quick-reaction bar,
 * as in the conversation (Reactions.tsx, through RoomView's
 * ReactionsProvider, which React passes through the portal); `reaction.*`
 * events update the thread's copies live (state/threads.ts).
 * A reply sent here is a thread reply (`inThread`): it stays in the thread,
 * and the room's timeline shows only the root's summary, unless "Also send
 * to the room" is checked (Slack's "Also send to channel"), which puts one
 * copy in the timeline too. The box is unchecked again after each send.
 * Text is React text nodes, never HTML.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { createPortal } from "react-dom";
import type { Message } from "@shared/protocol/index.js";
import { useChat, useChatClient } from "@web/state/useChat";
import { CloseIcon, SendIcon } from "@web/ui/icons";
import { MessageAttachments } from "./Attachments";
import { checkDraft } from "./draft";
import { replyCountText } from "./ThreadSummary";
import { MessageReactions } from "./Reactions";
import type { DisplayMessage } from "./rows";
import { fullDateTime, timeOfDay } from "./time";

export interface ThreadPanelProps {
  roomId: string;
  rootId: string;
  onClose: () => void;
  /** Show the original in the room's message list. */
  onShowOriginal?: (rootId: string, seq: number) => void;
}

export function ThreadPanel({ roomId, rootId, onClose, onShowOriginal }: ThreadPanelProps) {
  const chat = useChatClient();
  const thread = useChat((s) => s.threads[rootId]);
  // The timeline's copy of the root is the freshest (live edits, deletion, count); the thread's is the fallback.
  const heldRoot = useChat((s) => s.timelines[roomId]?.messages.find((m) => m.id === rootId));
  const outbox = useChat((s) => s.outbox);
  const me = useChat((s) => s.me);
  const root = heldRoot ?? thread?.root ?? null;
  const replies = useMemo(() => thread?.replies ?? [], [thread?.replies]);
  const pending = outbox.filter((e) => e.roomId === roomId && e.replyTo !== undefined && !replies.some((r) => r.clientId === e.clientId && r.author.id === me?.id));
  const pendingHere = pending.filter((e) => e.replyTo === rootId || replies.some((r) => r.id === e.replyTo));
  const [text, setText] = useState("");
  const [refusal, setRefusal] = useState<string | null>(null);
  const [alsoInRoom, setAlsoInRoom] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const list = useRef<HTMLDivElement>(null);

  useEffect(() => {
    void chat.loadThread(roomId, rootId);
  }, [chat, roomId, rootId]);
  useLayoutEffect(() => {
    input.current?.focus();
  }, [rootId]);
  useLayoutEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight; // newest reply in view
  }, [replies.length, pendingHere.length]);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const check = checkDraft(text);
    if (!check.ok) {
      setRefusal(check.message);
      input.current?.focus();
      return;
    }
    chat.send(roomId, check.body, rootId, { inThread: true, alsoInRoom });
    setText("");
    setAlsoInRoom(false);
    setRefusal(null);
    input.current?.focus();
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    submit();
  }

  const count = Math.max(root?.replyCount ?? 0, replies.length);
  const panel = (
    <aside
      className="thread-panel"
      aria-labelledby="thread-panel-title"
      data-testid="thread-panel"
      data-root-id={rootId}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <header className="thread-panel__header">
        <h2 id="thread-panel-title" className="thread-panel__title">Thread</h2>
        <button type="button" className="icon-button" aria-label="Close thread" title="Close thread (Esc)" onClick={onClose}
          data-testid="thread-close">
          <CloseIcon aria-hidden="true" />
        </button>
      </header>
      <div className="thread-panel__list" ref={list} data-testid="thread-list">
        {root ? (
          <ThreadMessage message={root} root>
            {onShowOriginal ? (
              <button type="button" className="link-button thread-panel__show" onClick={() => onShowOriginal(root.id, root.seq)}
                data-testid="thread-show-original">
                Show in conversation
              </button>
            ) : null}
          </ThreadMessage>
        ) : thread?.error ? null : (
          <p className="muted">Loading the thread…</p>
        )}
        <div className="divider" role="separator" data-testid="thread-count-divider">
          <span>{replyCountText(count)}</span>
        </div>
        <ol className="thread-panel__replies" aria-label="Replies">
          {replies.map((m) => (
            <li key={m.id}>
              <ThreadMessage message={m} />
            </li>
          ))}
          {pendingHere.map((e) => (
            <li key={e.clientId}>
              <div className="thread-message thread-message--pending" data-testid="thread-message" data-status={e.status}>
                <div className="thread-message__head">
                  <bdi className="thread-message__author">{me?.displayName || me?.username}</bdi>
                  <span className="thread-message__time">{e.status === "failed" ? "not sent" : "sending…"}</span>
                </div>
                <p className="thread-message__body" data-testid="thread-message-body">{e.body}</p>
              </div>
            </li>
          ))}
        </ol>
        {thread?.hasMore ? (
          <button type="button" className="link-button" onClick={() => void chat.loadThread(roomId, rootId, true)} data-testid="thread-more">
            Load more replies
          </button>
        ) : null}
        {thread?.error ? (
          <p className="form__error" role="alert">
            {thread.error}
          </p>
        ) : null}
      </div>
      {root?.deletedAt ? (
        <p className="thread-panel__closed muted">The original message was deleted: no new replies.</p>
      ) : (
        <form className="thread-panel__composer" onSubmit={submit} data-testid="thread-composer">
          <textarea
            ref={input}
            className="composer__input thread-panel__input"
            rows={2}
            value={text}
            placeholder="Reply in thread"
            aria-label="Reply in thread"
            aria-invalid={refusal ? true : undefined}
            aria-describedby="thread-reason"
            onChange={(e) => {
              setText(e.target.value);
              setRefusal(null);
            }}
            onKeyDown={keyDown}
            data-testid="thread-input"
          />
          <button type="submit" className="composer__send" aria-label="Send reply" title="Send reply (Enter)" data-testid="thread-send">
            <SendIcon />
          </button>
          <label className="thread-panel__also">
            <input type="checkbox" checked={alsoInRoom} onChange={(e) => setAlsoInRoom(e.target.checked)} data-testid="thread-also-in-room" />
            Also send to the room
          </label>
          <span id="thread-reason" className="composer__reason" role="alert">
            {refusal ?? ""}
          </span>
        </form>
      )}
    </aside>
  );
  return createPortal(panel, document.body);
}

/**
 * What MessageReactions needs of a stored message (rows.ts builds the same
 * for the conversation): its id, that it is stored, deleted or not, and
 * its reactions.
 */
function reactionsView(message: Message, meId: string | undefined): DisplayMessage {
  return {
    key: `m:${message.id}`,
    id: message.id,
    seq: message.seq,
    clientId: message.clientId,
    authorId: message.author.id,
    authorName: message.author.displayName || message.author.username,
    authorUsername: message.author.username,
    body: message.body,
    at: message.createdAt,
    mine: message.author.id === meId,
    status: "sent",
    error: null,
    editedAt: message.editedAt ?? null,
    deleted: Boolean(message.deletedAt),
    ...(message.reactions?.length && !message.deletedAt ? { reactions: message.reactions } : {}),
  };
}

function ThreadMessage({ message, root = false, children }: { message: Message; root?: boolean; children?: ReactNode }) {
  const author = message.author.displayName || message.author.username;
  const meId = useChat((s) => s.me?.id);
  // A new object only when the message changes, so the memoized MessageReactions skips other re-renders.
  const forReactions = useMemo(() => reactionsView(message, meId), [message, meId]);
  return (
    <div className={root ? "thread-message thread-message--root" : "thread-message"} data-testid={root ? "thread-root" : "thread-message"}
      data-message-id={message.id} data-deleted={message.deletedAt ? "true" : undefined}>
      <div className="thread-message__head">
        <bdi className="thread-message__author">{author}</bdi>
        <time className="thread-message__time" dateTime={message.createdAt} title={fullDateTime(message.createdAt)}>
          {timeOfDay(message.createdAt)}
        </time>
        {message.editedAt && !message.deletedAt ? <span className="thread-message__time">(edited)</span> : null}
        {message.alsoInRoom ? <span className="thread-message__time" data-testid="thread-also-sent">· also sent to the room</span> : null}
      </div>
      {message.deletedAt ? (
        <p className="thread-message__body message__tombstone">message deleted</p>
      ) : (
        <>
          {message.attachments?.length ? <MessageAttachments attachments={message.attachments} /> : null}
          {message.body !== "" || !message.attachments?.length ? <p className="thread-message__body" data-testid="thread-message-body">{message.body}</p> : null}
        </>
      )}
      <MessageReactions message={forReactions} />
      {children}
    </div>
  );
}
