/**
 * The message composer. Enter sends, Shift+Enter adds a newline (and Enter
 * while an input method is composing, e.g. Japanese, only confirms the
 * composition). An empty or over-long draft is refused with the reason
 * shown, and a counter appears as the draft nears the limit. Sending works
 * offline too: the message waits in the outbox.
 */
import { useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { CloseIcon, SendIcon } from "@web/ui/icons";
import { checkDraft, draftCounter } from "./draft";
import { useTypingSignal } from "./typingSignal";
import { useMentionAutocomplete } from "./MentionAutocomplete";

/** Unsent drafts per room, kept while the page lives so switching rooms loses nothing. */
const drafts = new Map<string, string>();

/** Tallest the textarea grows before it scrolls, in px. */
const MAX_INPUT_HEIGHT = 200;

export interface ComposerProps {
  roomId: string;
  placeholder: string;
  onSend: (body: string) => void;
  /** Up arrow in an empty composer: edit the last own message. Returns false when there is none. */
  onEditLast?: () => boolean;
  /** Changing it moves the focus back here (after an edit ends). */
  focusSignal?: number;
  /** Typing started or stopped (throttled; see typingSignal.ts). */
  onTyping?: (state: "start" | "stop") => void;
  /** The room's member count (refetches the mention list when it changes). */
  memberCount?: number;
  /** The viewer is an owner or admin: `@room` and `@here` are offered. */
  canMentionEveryone?: boolean;
  /** The message being replied to (its author and the start of its text), shown above the input. */
  replyingTo?: { author: string; preview: string } | null;
  /** The reply bar's close button, or Escape: send a plain message again. */
  onCancelReply?: () => void;
}

export function Composer({ roomId, placeholder, onSend, onEditLast, focusSignal = 0, onTyping, memberCount = 0, canMentionEveryone = false, replyingTo = null, onCancelReply }: ComposerProps) {
  const typing = useTypingSignal(onTyping);
  const [text, setText] = useState(() => drafts.get(roomId) ?? "");
  const [refusal, setRefusal] = useState<string | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const mention = useMentionAutocomplete({ roomId, memberCount, canMentionEveryone, text, input, setText: change });
  const counter = draftCounter(text);
  const tooLong = counter?.over ?? false;
  // Over the limit is said as soon as it happens; "empty" only when trying to send.
  const liveCheck = tooLong ? checkDraft(text) : null;
  const reason = liveCheck && !liveCheck.ok ? liveCheck.message : refusal;

  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, MAX_INPUT_HEIGHT)}px`;
  }, [text]);

  const focusedRoom = useRef<string | null>(null);
  useLayoutEffect(() => {
    const opened = focusedRoom.current !== roomId;
    focusedRoom.current = roomId;
    // Opening a room on a touch screen would raise the on-screen keyboard over the conversation the person
    // came to read; there the composer takes focus when they tap it (or start an edit or a reply).
    if (opened && !window.matchMedia("(pointer: fine)").matches) return;
    input.current?.focus();
  }, [roomId, focusSignal, replyingTo]);

  function change(value: string) {
    setText(value);
    typing.changed(value);
    drafts.set(roomId, value);
    if (refusal) setRefusal(null);
  }

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const check = checkDraft(text);
    if (!check.ok) {
      setRefusal(check.message);
      input.current?.focus();
      return;
    }
    typing.stopped();
    onSend(check.body);
    setText("");
    drafts.delete(roomId);
    setRefusal(null);
    input.current?.focus();
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // An open mention list takes the arrows, Enter, Tab and Escape first.
    if (mention.keyDown(event)) return;
    if (event.key === "Escape" && replyingTo && onCancelReply) {
      event.preventDefault();
      onCancelReply();
      return;
    }
    // As in Slack: the up arrow in an empty composer edits your last message.
    if (event.key === "ArrowUp" && text === "" && !event.nativeEvent.isComposing && onEditLast?.()) {
      event.preventDefault();
      return;
    }
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    submit();
  }

  return (
    <form className={reason ? "composer composer--refused" : "composer"} onSubmit={submit} data-testid="composer">
      {mention.listbox}
      {replyingTo ? (
        <div className="composer__reply" data-testid="composer-reply">
          <span className="composer__reply-text">
            Replying to <bdi className="composer__reply-author">{replyingTo.author}</bdi>:{" "}
            <span className="composer__reply-preview">{replyingTo.preview}</span>
          </span>
          <button type="button" className="icon-button" aria-label="Cancel reply" title="Cancel reply (Esc)" onClick={onCancelReply}
            data-testid="composer-reply-cancel">
            <CloseIcon aria-hidden="true" />
          </button>
        </div>
      ) : null}
      <div className="composer__box">
        <textarea
          ref={input}
          className="composer__input"
          rows={1}
          value={text}
          placeholder={placeholder}
          aria-label={placeholder}
          aria-invalid={reason ? true : undefined}
          aria-describedby="composer-reason"
          {...mention.comboboxProps}
          onChange={(e) => {
            change(e.target.value);
            mention.changed(e.target.selectionStart);
          }}
          onSelect={(e) => mention.changed(e.currentTarget.selectionStart)}
          onKeyDown={keyDown}
          onBlur={() => typing.stopped()}
          data-testid="composer-input"
        />
        <button type="submit" className="composer__send" aria-label="Send" title="Send (Enter)" data-testid="composer-send">
          <SendIcon />
        </button>
      </div>
      <div className="composer__meta">
        <span id="composer-reason" className="composer__reason" role="alert" data-testid="composer-error">
          {reason ?? ""}
        </span>
        {counter ? (
          <span className={counter.over ? "composer__counter composer__counter--over" : "composer__counter"}
            data-testid="composer-counter">
            {counter.used.toLocaleString("en-US")} / {counter.limit.toLocaleString("en-US")}
          </span>
        ) : (
          <span className="composer__hint">
            <kbd>Enter</kbd> to send · <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line
          </span>
        )}
      </div>
    </form>
  );
}
