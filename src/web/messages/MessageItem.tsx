/**
 * One message. The body is a plain React text node (never HTML: DESIGN.md
 * invariant 6); `white-space: pre-wrap` in CSS keeps its newlines.
 *
 * A stored message shows its actions on hover or keyboard focus: Edit on
 * one's own, Delete on one's own (and on anyone's for a room's owner or
 * admin). "(edited)" is a button that opens the edit history; a deleted
 * message is a tombstone in its place. While edited, the body is a textarea:
 * Enter saves, Shift+Enter is a new line, Escape cancels.
 *
 * For a screen reader each message is a list item named by its author
 * ("You" for one's own, the author on every message of a run, not only
 * the first), its time and its text (`aria-labelledby`); MessageList gives
 * one message of the list the Tab stop (`tabStop`) and moves it with the
 * arrow keys.
 *
 * On touch (any width), a tap or a long press on a stored message opens its
 * action sheet (MessageActionSheet), with every action at 44 px and nothing
 * laid over another message; so does the "More actions" button, for the
 * keyboard and the mouse. Below 768 px the hover bar and the icon buttons
 * give way to that sheet, and the time and receipt go under the bubble
 * (styles.css, "Phone layout") so a bubble keeps the width for its text.
 *
 * A message's files (issue 17) are in its bubble, above its text
 * (Attachments.tsx); a message of files only has no text paragraph. A
 * deleted message's files are gone with it.
 */
import { createPortal } from "react-dom";
import { memo, useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";
import { Avatar } from "@web/ui/Avatar";
import { CopyIcon, MoreIcon, PencilIcon, ReplyIcon, ThreadIcon, TrashIcon } from "@web/ui/icons";
import type { ReplyTo } from "@shared/protocol/index.js";
import { MessageAttachments } from "./Attachments";
import { ReplyQuote } from "./ReplyQuote";
import { ThreadSummary } from "./ThreadSummary";
import { useChat } from "@web/state/useChat";
import { checkDraft } from "./draft";
import { MessageActionSheet, type SheetAction } from "./MessageActionSheet";
import { MessageReactions, useReactionChoice } from "./Reactions";
import { ReceiptMark } from "./ReceiptMark";
import { mentionParts } from "./mentionText";
import type { DisplayMessage } from "./rows";
import { fullDateTime, timeOfDay } from "./time";

/** What a message's actions do: MessageList takes them and hands them to each MessageItem. */
export interface MessageActions {
  onRetry: (clientId: string) => void;
  onDiscard: (clientId: string) => void;
  /** The viewer may delete others' messages (room owner or admin). */
  canModerate?: boolean;
  onEdit?: (message: DisplayMessage) => void;
  /** Saves an edit; rejects with a sentence to show when it failed. */
  onSaveEdit?: (message: DisplayMessage, body: string) => Promise<void>;
  onCancelEdit?: () => void;
  onDelete?: (message: DisplayMessage) => void;
  onShowHistory?: (message: DisplayMessage) => void;
  /** The room, for the reply quote (which quotes the timeline's copy of the root when it holds one). */
  roomId?: string;
  /** Quote-reply to this message (the composer quotes it; the reply shows in the timeline). */
  onReply?: (message: DisplayMessage) => void;
  /** The reply quote was activated: show the original. */
  onJump?: (replyTo: ReplyTo) => void;
  /** Open this message's thread (its root's, for a reply): "Reply in thread" and the thread summary. */
  onOpenThread?: (message: DisplayMessage) => void;
}

export interface MessageItemProps extends MessageActions {
  message: DisplayMessage;
  firstOfRun: boolean;
  lastOfRun: boolean;
  /** This message's body is being edited. */
  editing?: boolean;
  /** This message is the list's one Tab stop (tabindex 0; the others -1, reached with the arrow keys). */
  tabStop?: boolean;
}

export const MessageItem = memo(function MessageItem({
  message,
  firstOfRun,
  lastOfRun,
  onRetry,
  onDiscard,
  editing = false,
  tabStop = false,
  canModerate = false,
  onEdit,
  onSaveEdit,
  onCancelEdit,
  onDelete,
  onShowHistory,
  roomId,
  onReply,
  onJump,
  onOpenThread,
}: MessageItemProps) {
  const classes = [
    "message",
    message.mine ? "message--mine" : "message--theirs",
    firstOfRun ? "message--first" : "",
    lastOfRun ? "message--last" : "",
    message.status !== "sent" ? `message--${message.status}` : "",
    message.deleted ? "message--deleted" : "",
    message.mentionsMe ? "message--mention" : "",
  ].join(" ");
  const myUsername = useChat((s) => s.me?.username ?? "");
  const stored = message.status === "sent" && message.id !== null && !message.deleted;
  const canEdit = stored && message.mine && onEdit !== undefined;
  const canDelete = stored && (message.mine || canModerate) && onDelete !== undefined;
  const canReply = stored && onReply !== undefined;
  const canThread = stored && onOpenThread !== undefined;
  // The message's name for assistive technology: author, time, text (and why it failed).
  const id = useId();
  const showAuthor = !message.mine && firstOfRun;
  const timeId = message.status === "failed" ? null : `${id}-time`;
  const failed = message.status === "failed" && message.clientId !== null;
  const labelledBy = [`${id}-author`, timeId, editing ? null : `${id}-body`, failed ? `${id}-failure` : null].filter(Boolean).join(" ");

  const reactions = useReactionChoice(message);
  const [sheetOpen, setSheetOpen] = useState(false);
  // What had the focus when the sheet opened (the message, or "More actions"): it gets it back on close.
  const sheetOpener = useRef<HTMLElement | null>(null);
  const openSheet = () => {
    sheetOpener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    setSheetOpen(true);
  };
  const sheetWasOpen = useRef(false);
  useEffect(() => {
    if (sheetOpen) {
      sheetWasOpen.current = true;
      return;
    }
    if (!sheetWasOpen.current) return;
    sheetWasOpen.current = false;
    const opener = sheetOpener.current;
    sheetOpener.current = null;
    // The dialog's own restore fails for "More actions": with the focus in the sheet the message held none, so its
    // actions were out of the tree (styles.css). Unless the chosen action moved the focus on purpose (Edit), the
    // message takes it first (its actions come back), then the opener.
    if (document.activeElement && document.activeElement !== document.body) return;
    root.current?.focus({ preventScroll: true });
    if (opener && opener !== root.current && opener.isConnected) opener.focus({ preventScroll: true });
  }, [sheetOpen]);
  const [copied, setCopied] = useState(false);
  const root = useRef<HTMLDivElement>(null);

  // A tap or a long press (touch only: a mouse has the hover bar) on a stored message opens its sheet.
  // Native listeners: the bubble is not a control of its own (the keyboard has "More actions").
  useEffect(() => {
    const el = root.current;
    if (!el || !stored || editing) return;
    let pointer = "";
    const onPointerDown = (event: PointerEvent) => {
      pointer = event.pointerType;
    };
    const open = (event: Event) => {
      if (pointer !== "touch") return;
      const target = event.target instanceof Element ? event.target : null;
      // Its own controls (reactions, quote, "(edited)", thread link, Read by, files and players) keep their taps.
      if (!target || target.closest("button, a, input, textarea, audio, video, [role='slider'], [role='tooltip'], dialog")) return;
      if (!target.closest(".message__line")) return;
      event.preventDefault(); // a long press: no text-selection menu over the sheet
      el.focus({ preventScroll: true }); // where focus comes back to when the sheet closes
      sheetOpener.current = el;
      setSheetOpen(true);
    };
    el.addEventListener("pointerdown", onPointerDown);
    el.addEventListener("click", open);
    el.addEventListener("contextmenu", open);
    return () => {
      el.removeEventListener("pointerdown", onPointerDown);
      el.removeEventListener("click", open);
      el.removeEventListener("contextmenu", open);
    };
  }, [stored, editing]);

  useEffect(() => {
    if (!copied) return;
    const timer = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);

  const sheetActions: SheetAction[] = [];
  if (canReply) sheetActions.push({ label: "Reply", icon: <ReplyIcon />, testId: "sheet-reply", onSelect: () => onReply?.(message) });
  if (canThread) sheetActions.push({ label: "Reply in thread", icon: <ThreadIcon />, testId: "sheet-thread", onSelect: () => onOpenThread?.(message) });
  if (canEdit) sheetActions.push({ label: "Edit", icon: <PencilIcon />, testId: "sheet-edit", onSelect: () => onEdit?.(message) });
  if (stored) {
    sheetActions.push({
      label: "Copy text",
      icon: <CopyIcon />,
      testId: "sheet-copy",
      onSelect: () => void navigator.clipboard?.writeText(message.body).then(() => setCopied(true), () => undefined),
    });
  }
  if (canDelete) sheetActions.push({ label: "Delete", icon: <TrashIcon />, testId: "sheet-delete", danger: true, onSelect: () => onDelete?.(message) });

  return (
    <div
      ref={root}
      className={classes}
      role="listitem"
      tabIndex={tabStop ? 0 : -1}
      aria-labelledby={labelledBy}
      data-testid="message"
      data-row-key={message.key}
      data-seq={message.seq ?? undefined}
      data-client-id={message.clientId ?? undefined}
      data-message-id={message.id ?? undefined}
      data-status={message.status}
      data-mine={message.mine ? "true" : "false"}
      data-deleted={message.deleted ? "true" : undefined}
      data-mentions-me={message.mentionsMe ? "true" : undefined}
    >
      {!message.mine ? (
        <div className="message__gutter">
          {lastOfRun ? <Avatar id={message.authorId} name={message.authorName} size={28} /> : null}
        </div>
      ) : null}
      <div className="message__column">
        {!showAuthor ? (
          // Follow-ups and one's own messages show no author line; a screen reader still says who wrote them.
          <span className="visually-hidden" id={`${id}-author`}>{message.mine ? "You" : message.authorName}</span>
        ) : null}
        {showAuthor ? (
          <div className="message__author" id={`${id}-author`}>
            {/* <bdi>: a right-to-left name cannot reorder the handle after it. */}
            <bdi data-testid="message-author">{message.authorName}</bdi>
            {message.authorUsername !== message.authorName ? (
              // Display names are not unique: the @username says who really wrote it.
              <span className="message__handle" data-testid="message-author-handle">@{message.authorUsername}</span>
            ) : null}
          </div>
        ) : null}
        {message.replyTo && roomId ? <ReplyQuote roomId={roomId} replyTo={message.replyTo} onJump={onJump} /> : null}
        <div className="message__line">
          {editing && onSaveEdit && onCancelEdit ? (
            <MessageEditor message={message} onSave={onSaveEdit} onCancel={onCancelEdit} />
          ) : (
            <div className={message.attachments && !message.deleted ? "message__bubble message__bubble--files" : "message__bubble"} id={`${id}-body`}>
              {message.deleted ? (
                <p className="message__body message__tombstone" data-testid="message-tombstone">
                  message deleted
                </p>
              ) : (
                <>
                  {message.mentionsMe ? (
                    // Not color only: the highlight says in words why it is there.
                    <span className="message__mention-tag" data-testid="message-mention-tag">@ Mentions you</span>
                  ) : null}
                  {message.attachments ? <MessageAttachments attachments={message.attachments} /> : null}
                  {message.body !== "" || !message.attachments ? (
                    <p className="message__body" data-testid="message-body">
                      {mentionParts(message.body, myUsername, message.mentions).map((part, i) =>
                        part.kind === "mention" ? (
                          <span key={i} className="mention" data-testid="message-mention">{part.text}</span>
                        ) : (
                          part.text
                        ),
                      )}
                    </p>
                  ) : null}
                </>
              )}
            </div>
          )}
          <span className="message__info">
          {message.editedAt && !message.deleted ? (
            <button
              type="button"
              className="link-button message__edited"
              title={`Edited ${fullDateTime(message.editedAt)}: view the edit history`}
              aria-label={`(edited) ${fullDateTime(message.editedAt)}, view edit history`}
              onClick={() => onShowHistory?.(message)}
              data-testid="message-edited"
            >
              (edited)
            </button>
          ) : null}
          <span className="message__meta">
            {message.status === "sent" ? (
              <time id={timeId ?? undefined} dateTime={message.at} title={fullDateTime(message.at)} data-testid="message-time">
                {timeOfDay(message.at)}
              </time>
            ) : message.status === "failed" ? null : (
              <span className="message__pending" id={timeId ?? undefined} data-testid="message-pending" title={fullDateTime(message.at)}>
                sending…
              </span>
            )}
            {message.status === "sent" && message.mine && message.seq !== null && !message.deleted ? <ReceiptMark seq={message.seq} /> : null}
          </span>
          {copied ? <span className="message__notice" role="status" data-testid="message-copied">Copied</span> : null}
          </span>
          {stored && !editing ? (
            <div className="message__actions" data-testid="message-actions">
              {canReply ? (
                <button type="button" className="icon-button message__action" aria-label="Reply" title="Reply"
                  onClick={() => onReply?.(message)} data-testid="message-reply">
                  <ReplyIcon aria-hidden="true" />
                </button>
              ) : null}
              {canThread ? (
                // Not "Reply …": a name that starts so would also answer to the quote-reply's "Reply".
                <button type="button" className="icon-button message__action" aria-label="Open thread" title="Reply in thread"
                  onClick={() => onOpenThread?.(message)} data-testid="message-thread">
                  <ThreadIcon aria-hidden="true" />
                </button>
              ) : null}
              {canEdit ? (
                <button type="button" className="icon-button message__action" aria-label="Edit message" title="Edit"
                  onClick={() => onEdit?.(message)} data-testid="message-edit">
                  <PencilIcon aria-hidden="true" />
                </button>
              ) : null}
              {canDelete ? (
                <button type="button" className="icon-button message__action" aria-label="Delete message" title="Delete"
                  onClick={() => onDelete?.(message)} data-testid="message-delete">
                  <TrashIcon aria-hidden="true" />
                </button>
              ) : null}
              <button type="button" className="icon-button message__action message__more" aria-label="More actions"
                title="More actions" aria-haspopup="dialog" onClick={openSheet} data-testid="message-more">
                <MoreIcon aria-hidden="true" />
              </button>
            </div>
          ) : null}
        </div>
        <MessageReactions message={message} choice={reactions} />
        {message.replyCount && message.id !== null && onOpenThread ? (
          <ThreadSummary count={message.replyCount} repliers={message.repliers} lastReplyAt={message.lastReplyAt ?? null} onOpen={() => onOpenThread(message)} />
        ) : null}
        {message.status === "failed" && message.clientId ? (
          <div className="message__failure" role="alert" data-testid="message-failure">
            <span id={`${id}-failure`}>Not sent: {message.error ?? "the server refused it."}</span>
            <button type="button" className="link-button" onClick={() => onRetry(message.clientId!)} data-testid="message-retry">
              Retry
            </button>
            <button type="button" className="link-button" onClick={() => onDiscard(message.clientId!)}>
              Discard
            </button>
          </div>
        ) : null}
        {/* Into <body>: the open sheet is not part of the message (its focus does not count as the message's). */}
        {sheetOpen && stored
          ? createPortal(
              <MessageActionSheet message={message} reactions={reactions} actions={sheetActions} onClose={() => setSheetOpen(false)} />,
              document.body,
            )
          : null}
      </div>
    </div>
  );
});

export { replyCountText } from "./ThreadSummary";

/** The body being edited in place: Enter saves, Shift+Enter is a new line, Escape cancels. */
function MessageEditor({
  message,
  onSave,
  onCancel,
}: {
  message: DisplayMessage;
  onSave: (message: DisplayMessage, body: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [text, setText] = useState(message.body);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);

  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  }, [text]);

  async function save() {
    const check = checkDraft(text);
    if (!check.ok) {
      setError(check.message);
      return;
    }
    if (check.body === message.body) {
      onCancel(); // the same text: nothing to change
      return;
    }
    setBusy(true);
    try {
      await onSave(message, check.body);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The edit failed.");
      setBusy(false);
    }
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Escape") {
      event.preventDefault();
      onCancel();
    } else if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      if (!busy) void save();
    }
  }

  const errorId = `edit-error-${message.key}`;
  return (
    <div className="message-editor" data-testid="message-editor">
      <textarea
        ref={input}
        className="message-editor__input"
        value={text}
        rows={1}
        aria-label="Edit message"
        aria-invalid={error ? true : undefined}
        aria-describedby={errorId}
        onChange={(e) => {
          setText(e.target.value);
          setError(null);
        }}
        onKeyDown={keyDown}
        data-testid="message-editor-input"
      />
      <div className="message-editor__meta">
        <span id={errorId} className="message-editor__error" role="alert" data-testid="message-editor-error">{error ?? ""}</span>
        <span className="message-editor__hint">
          <kbd>Enter</kbd> to save · <kbd>Esc</kbd> to cancel
        </span>
      </div>
    </div>
  );
}
