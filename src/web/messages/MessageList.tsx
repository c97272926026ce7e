/**
 * The scrolling list of a room's messages.
 *
 * Scrolling rules, the ones people expect from a chat:
 * - it opens at the bottom;
 * - a new message keeps you at the bottom if you were there (or if it is
 *   yours); if you were reading older messages it stays put and offers a
 *   "new messages" button instead of yanking you down;
 * - near the top it loads the previous page, and the messages you were
 *   looking at stay where they were on screen. The anchor is the bottom edge
 *   of the message that was first: its top changes when it joins the run of
 *   the page above (its author line goes away), its bottom does not. The
 *   browser's own scroll anchoring is turned off in CSS so it does not apply
 *   a second correction;
 * - at the bottom it stays at the bottom when the list or its rows change
 *   size without a new message: the composer grows or shows the mention
 *   suggestions, a receipt or a reaction arrives after the first paint, the
 *   phone's keyboard opens. A ResizeObserver watches the list and its rows;
 *   before it, a room could open short of its newest message by as much as
 *   something below it grew after that first paint;
 * - a window detached from the present (a message opened from search far
 *   back: state/timeline.ts) loads the next newer page near the bottom, and
 *   offers "Jump to latest"; rows added by such a page are not "new
 *   messages": they are neither announced nor scrolled to.
 *
 * For a screen reader and the keyboard (as in Slack and Element):
 * - the messages are a list (`role="list"`, one `listitem` per message) that
 *   is not a live region: opening a room or loading a page reads nothing
 *   aloud. Only a message that arrives from someone else is said, once,
 *   through the app's announcer (a11y/announcer.tsx): "Bob: hello".
 * - the list is one Tab stop (a roving tabindex): the current message (the
 *   last one until another is focused) takes focus, ↑/↓ move between
 *   messages, Home/End go to the first/last, Enter goes into the message's
 *   controls and Escape comes back out. Tab inside a message goes through
 *   its controls only and then leaves the list, so the conversation list is a
 *   few Shift+Tabs from the composer however long the history is. A
 *   message's actions and quick reactions are shown (and in the
 *   accessibility tree) only while it is hovered or holds the focus (CSS).
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type FocusEvent, type KeyboardEvent } from "react";
import { announce, incomingSentence } from "@web/a11y/announcer";
import { lastMoveWasTab, prefersReducedMotion, tabbableBeside, tabbablesIn, watchTabbing } from "@web/a11y/focus";
import type { Timeline } from "@web/state/timeline";
import { ArrowDownIcon } from "@web/ui/icons";
import { textOrFiles } from "./attachmentText";
import { MessageItem, type MessageActions } from "./MessageItem";
import type { Row } from "./rows";

/** Within this many pixels of the bottom counts as "at the bottom". */
const BOTTOM_SLACK_PX = 80;
/** Within this many pixels of the top, the previous page is fetched. */
const TOP_PREFETCH_PX = 240;

/** The message actions are passed through to each MessageItem. */
export interface MessageListProps extends MessageActions {
  rows: readonly Row[];
  timeline: Timeline;
  roomName: string;
  onLoadOlder: () => void;
  /** Near the bottom of a window detached from the present: the next newer page. */
  onLoadNewer?: () => void;
  /** "Jump to latest" on a detached window: the newest page replaces it. */
  onJumpToPresent?: () => void;
  /** Row key of the message being edited, if any. */
  editingKey?: string | null;
}

export function MessageList({
  rows,
  timeline,
  roomName,
  onLoadOlder,
  onLoadNewer,
  onJumpToPresent,
  onRetry,
  onDiscard,
  editingKey = null,
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
}: MessageListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  // The message that takes the list's one Tab stop; null: the last one.
  const [currentKey, setCurrentKey] = useState<string | null>(null);
  useEffect(watchTabbing, []);
  // Geometry as of the last render, to tell a prepend from an append.
  const before = useRef({ scrollTop: 0, atBottom: true, firstKey: "", firstBottom: 0, lastKey: "", count: 0, detached: false });
  const [showJump, setShowJump] = useState(false);
  // "Jump to latest" was pressed: once the newest page is in, the list goes to the bottom.
  const toPresent = useRef(false);

  const firstKey = firstMessageKey(rows);
  const lastRow = lastMessageRow(rows);
  const lastKey = lastRow?.key ?? "";
  const tabStopKey = currentKey !== null && rows.some((r) => r.key === currentKey) ? currentKey : lastKey;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const prev = before.current;
    if (prev.count === 0 && rows.length > 0) {
      el.scrollTop = el.scrollHeight; // first paint: newest at the bottom
    } else if ((toPresent.current || (prev.detached && firstKey !== prev.firstKey)) && !timeline.hasNewer) {
      // Back at the present: "Jump to latest", or a send from a detached window (the newest page replaced it).
      // Before the prepend rule: the last row may be the same one (my message, pending, then stored).
      toPresent.current = false;
      el.scrollTop = el.scrollHeight;
    } else if (firstKey !== prev.firstKey && lastKey === prev.lastKey) {
      // Older page prepended: move by as much as the old first message moved.
      const moved = bottomOf(el, prev.firstKey);
      if (moved !== null) el.scrollTop += moved - prev.firstBottom;
    } else if (lastKey !== prev.lastKey && (prev.detached || timeline.hasNewer)) {
      // A page of a detached window (or the window replaced by one): not arrivals, and the reading place stays.
    } else if (lastKey !== prev.lastKey) {
      const mine = lastRow?.kind === "message" && lastRow.message.mine;
      announceArrivals(rows, prev.lastKey);
      if (prev.atBottom || mine) {
        el.scrollTop = el.scrollHeight;
        setShowJump(false);
      } else {
        setShowJump(true);
      }
    } else if (prev.atBottom) {
      el.scrollTop = el.scrollHeight; // same messages, taller (a failure note, a wrapped edit)
    }
    before.current = {
      scrollTop: el.scrollTop,
      atBottom: isAtBottom(el),
      firstKey,
      firstBottom: bottomOf(el, firstKey) ?? 0,
      lastKey,
      count: rows.length,
      detached: timeline.hasNewer,
    };
    // A first page shorter than the viewport cannot be scrolled up: fetch more now.
    if (timeline.loaded && timeline.hasOlder && timeline.loading === null && el.scrollHeight <= el.clientHeight + TOP_PREFETCH_PX) {
      onLoadOlder();
    }
  }, [rows, firstKey, lastKey, lastRow, timeline.loaded, timeline.hasOlder, timeline.hasNewer, timeline.loading, onLoadOlder]);

  // Sizes changed without a new row (see the rules above): a list that was at the bottom stays there.
  const resizes = useRef<ResizeObserver | null>(null);
  // A layout effect, declared before the one that observes the rows: it exists when the first rows come.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      // Only when nothing scrolled since the last look: a jump to a quoted message (scrollIntoView) moves
      // scrollTop before its scroll event arrives, and must not be undone. Growth alone leaves scrollTop as it was.
      const unscrolled = Math.abs(el.scrollTop - before.current.scrollTop) < 1;
      if (!before.current.atBottom || !unscrolled || el.scrollHeight - el.clientHeight - el.scrollTop < 1) return;
      el.scrollTop = el.scrollHeight;
      before.current = { ...before.current, scrollTop: el.scrollTop, firstBottom: bottomOf(el, before.current.firstKey) ?? 0 };
    });
    observer.observe(el);
    resizes.current = observer;
    return () => {
      observer.disconnect();
      resizes.current = null;
    };
  }, []);
  useLayoutEffect(() => {
    const el = scroller.current;
    // Observing a row already observed does nothing; a row that left stays observed until the list goes.
    if (el && resizes.current) for (const row of Array.from(el.children)) resizes.current.observe(row);
  }, [rows]);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = isAtBottom(el);
    before.current = {
      ...before.current,
      scrollTop: el.scrollTop,
      atBottom,
      firstBottom: bottomOf(el, before.current.firstKey) ?? 0,
    };
    if (atBottom) setShowJump(false);
    if (el.scrollTop < TOP_PREFETCH_PX && timeline.hasOlder && timeline.loading === null && timeline.loaded) onLoadOlder();
    const fromBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
    if (fromBottom < TOP_PREFETCH_PX && timeline.hasNewer && timeline.loading === null) onLoadNewer?.();
  }, [timeline.hasOlder, timeline.hasNewer, timeline.loading, timeline.loaded, onLoadOlder, onLoadNewer]);

  const jumpToBottom = () => {
    const el = scroller.current;
    if (el) el.scrollTo({ top: el.scrollHeight, behavior: prefersReducedMotion() ? "auto" : "smooth" });
    setShowJump(false);
  };

  const messageElements = () => [...(list.current?.querySelectorAll<HTMLElement>('[data-testid="message"]') ?? [])];

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const target = event.target as HTMLElement;
    // A dialog opened from a message (the emoji picker) keeps its own keys.
    if (!list.current || target.closest('dialog, [role="dialog"]')) return;
    const message = target.closest<HTMLElement>('[data-testid="message"]');
    if (!message || !list.current.contains(message)) return;
    if (event.key === "Tab" && !event.altKey && !event.ctrlKey && !event.metaKey) {
      // Through this message's controls, then out of the list (not into the next message's).
      const stops = [message, ...tabbablesIn(message).filter((el) => el !== message)];
      const at = stops.indexOf(document.activeElement as HTMLElement);
      if (at < 0) return;
      const next = stops[at + (event.shiftKey ? -1 : 1)] ?? tabbableBeside(list.current, event.shiftKey ? "before" : "after");
      if (next) {
        event.preventDefault();
        next.focus();
      }
      return;
    }
    if (target !== message) {
      if (event.key === "Escape" && !event.defaultPrevented) {
        event.preventDefault();
        message.focus();
      }
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const all = messageElements();
    const at = all.indexOf(message);
    let next: HTMLElement | undefined;
    if (event.key === "ArrowUp") {
      next = all[at - 1];
      if (!next && timeline.hasOlder && timeline.loading === null) onLoadOlder();
    } else if (event.key === "ArrowDown") {
      next = all[at + 1];
      if (!next && timeline.hasNewer && timeline.loading === null) onLoadNewer?.();
    }
    else if (event.key === "Home") next = all[0];
    else if (event.key === "End") next = all[all.length - 1];
    else if (event.key === "Enter") next = tabbablesIn(message).find((el) => el !== message);
    else return;
    event.preventDefault();
    next?.focus();
  };

  const onFocus = (event: FocusEvent<HTMLDivElement>) => {
    const message = (event.target as HTMLElement).closest<HTMLElement>('[data-testid="message"]');
    const key = message?.dataset.rowKey;
    if (!message || !key || !list.current) return;
    const fromOutside = !(event.relatedTarget instanceof Node && list.current.contains(event.relatedTarget));
    if (fromOutside && lastMoveWasTab() && !(key === tabStopKey && event.target === message)) {
      // Tabbing into the list lands on its current message, whichever control the browser picked.
      list.current.querySelector<HTMLElement>(`[data-row-key="${CSS.escape(tabStopKey)}"]`)?.focus();
      return;
    }
    setCurrentKey(key);
  };

  return (
    <div className="message-list-wrap">
      <div className="message-list" ref={scroller} onScroll={onScroll} data-testid="message-list">
        <div className="message-list__top">
          {timeline.loading === "older" ? (
            <p className="muted" data-testid="loading-older">Loading older messages…</p>
          ) : timeline.loaded && !timeline.hasOlder ? (
            <div className="room-start" data-testid="room-start">
              <strong>This is the beginning of {roomName}.</strong>
            </div>
          ) : null}
          {timeline.error ? (
            <p className="form__error" role="alert">
              {timeline.error}
            </p>
          ) : null}
        </div>
        {!timeline.loaded && timeline.loading === "latest" ? <p className="muted message-list__loading">Loading messages…</p> : null}
        {/* A list's children are list items, so the day and "New messages" dividers are items too (not focus stops). */}
        <div className="message-list__rows" role="list" aria-label={`Messages in ${roomName}`} ref={list}
          onKeyDown={onKeyDown} onFocus={onFocus} data-testid="message-rows">
        {rows.map((row) => {
          switch (row.kind) {
            case "day":
              return (
                <div key={row.key} className="divider" role="listitem">
                  <span>{row.label}</span>
                </div>
              );
            case "unread":
              return (
                <div key={row.key} className="divider divider--unread" role="listitem" data-testid="unread-divider">
                  <span>New messages</span>
                </div>
              );
            case "message":
              return (
                <MessageItem
                  key={row.key}
                  message={row.message}
                  firstOfRun={row.firstOfRun}
                  lastOfRun={row.lastOfRun}
                  tabStop={row.key === tabStopKey}
                  onRetry={onRetry}
                  onDiscard={onDiscard}
                  editing={row.key === editingKey && !row.message.deleted}
                  canModerate={canModerate}
                  onEdit={onEdit}
                  onSaveEdit={onSaveEdit}
                  onCancelEdit={onCancelEdit}
                  onDelete={onDelete}
                  onShowHistory={onShowHistory}
                  roomId={roomId}
                  onReply={onReply}
                  onJump={onJump}
                  onOpenThread={onOpenThread}
                />
              );
          }
        })}
        </div>
      </div>
      {timeline.hasNewer ? (
        <button type="button" className="jump-button" data-testid="jump-to-present"
          onClick={() => {
            toPresent.current = true;
            onJumpToPresent?.();
          }}>
          <ArrowDownIcon /> Jump to latest
        </button>
      ) : showJump ? (
        <button type="button" className="jump-button" onClick={jumpToBottom} data-testid="jump-to-latest">
          <ArrowDownIcon /> New messages
        </button>
      ) : null}
    </div>
  );
}

/**
 * Says the messages that came after `previousLastKey` from other people
 * (stored, not deleted): one announcement, however many arrived.
 */
function announceArrivals(rows: readonly Row[], previousLastKey: string): void {
  const from = rows.findIndex((r) => r.key === previousLastKey);
  if (from < 0) return;
  const arrived = [];
  for (const row of rows.slice(from + 1)) {
    if (row.kind === "message" && !row.message.mine && row.message.status === "sent" && !row.message.deleted) arrived.push(row.message);
  }
  // A message of files only is said by its files ("Bob: Photo"), not as an empty sentence.
  if (arrived.length > 0) announce(incomingSentence(arrived.map((m) => ({ authorName: m.authorName, body: textOrFiles(m) }))));
}

/** Bottom edge of the message row `key`, relative to the scroller's top edge on screen. */
function bottomOf(scroller: HTMLElement, key: string): number | null {
  if (!key) return null;
  const row = scroller.querySelector(`[data-row-key="${CSS.escape(key)}"]`);
  if (!row) return null;
  return row.getBoundingClientRect().bottom - scroller.getBoundingClientRect().top;
}

function isAtBottom(el: HTMLElement): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK_PX;
}

function firstMessageKey(rows: readonly Row[]): string {
  for (const row of rows) if (row.kind === "message") return row.key;
  return "";
}

function lastMessageRow(rows: readonly Row[]): Extract<Row, { kind: "message" }> | undefined {
  for (let i = rows.length - 1; i >= 0; i -= 1) {
    const row = rows[i]!;
    if (row.kind === "message") return row;
  }
  return undefined;
}
