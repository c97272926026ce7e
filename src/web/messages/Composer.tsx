/**
 * The message composer. Enter sends, Shift+Enter adds a newline (and Enter
 * while an input method is composing, e.g. Japanese, only confirms the
 * composition). An empty or over-long draft is refused with the reason
 * shown, and a counter appears as the draft nears the limit. Sending works
 * offline too: the message waits in the outbox.
 *
 * Files (issue 17) are attached by the "Attach files" button, by dropping
 * them anywhere on the conversation (a drop zone shows while they are
 * dragged over it) or by pasting an image. They upload at once and show as
 * chips (AttachmentChips); Send waits until every one has uploaded, so a
 * message never goes with some of its files missing, and a message of
 * files only needs no text.
 */
import { useEffect, useLayoutEffect, useRef, useState, type ClipboardEvent, type FormEvent, type KeyboardEvent, type ReactNode, type RefObject } from "react";
import { createPortal } from "react-dom";
import type { Attachment } from "@shared/protocol/index.js";
import { useChatClient } from "@web/state/useChat";
import { CloseIcon, PaperclipIcon, SendIcon } from "@web/ui/icons";
import { AttachmentChips, useUploadQueue } from "./AttachmentChips";
import { checkDraft, draftCounter } from "./draft";
import { MAX_ATTACHMENTS, sendCheck } from "./uploadQueue";
import { useTypingSignal } from "./typingSignal";
import { useMentionAutocomplete } from "./MentionAutocomplete";

/** Unsent drafts per room, kept while the page lives so switching rooms loses nothing. */
const drafts = new Map<string, string>();

/** Tallest the textarea grows before it scrolls, in px. */
const MAX_INPUT_HEIGHT = 200;

export interface ComposerProps {
  roomId: string;
  placeholder: string;
  /** Sends the text (may be "" when there are files) with the uploaded files, in the order chosen. */
  onSend: (body: string, attachments: readonly Attachment[]) => void;
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
  /** Beside "Attach files": the voice note recorder's button (messages/VoiceRecorder.tsx), when there is one. */
  recorder?: ReactNode;
}

export function Composer({ roomId, placeholder, onSend, onEditLast, focusSignal = 0, onTyping, memberCount = 0, canMentionEveryone = false, replyingTo = null, onCancelReply, recorder }: ComposerProps) {
  const typing = useTypingSignal(onTyping);
  const chat = useChatClient();
  const uploads = useUploadQueue(chat.api.transport);
  const files = sendCheck(uploads.queue);
  // Said when more files were chosen than a message takes.
  const [fileNotice, setFileNotice] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const form = useRef<HTMLFormElement>(null);
  const drop = useFileDrop(form, addFiles);
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
    if (!files.ok) {
      setRefusal(files.reason);
      return;
    }
    const check = checkDraft(text);
    // Files alone make a message: no text is then no reason to refuse.
    const filesOnly = !check.ok && check.reason === "empty" && files.attachments.length > 0;
    if (!check.ok && !filesOnly) {
      setRefusal(check.message);
      input.current?.focus();
      return;
    }
    typing.stopped();
    onSend(check.ok ? check.body : "", files.attachments);
    uploads.clearSent();
    setFileNotice(null);
    setText("");
    drafts.delete(roomId);
    setRefusal(null);
    input.current?.focus();
  }

  /** Queues chosen, dropped or pasted files (they start uploading at once). */
  function addFiles(chosen: readonly File[]) {
    if (chosen.length === 0) return;
    const leftOut = uploads.add(chosen);
    setFileNotice(leftOut > 0 ? `A message takes up to ${MAX_ATTACHMENTS} files: ${leftOut === 1 ? "1 was" : `${leftOut} were`} left out.` : null);
    if (refusal) setRefusal(null);
  }

  function paste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const pasted = Array.from(event.clipboardData.files);
    // Copied cells or a document bring a picture of themselves beside their text: the text is what was meant.
    if (pasted.length === 0 || event.clipboardData.types.includes("text/plain")) return;
    event.preventDefault();
    addFiles(pasted);
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
    <form ref={form} className={reason ? "composer composer--refused" : "composer"} onSubmit={submit} data-testid="composer">
      {mention.listbox}
      {drop.zone}
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
      <AttachmentChips uploads={uploads} notice={fileNotice} />
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
          onPaste={paste}
          data-testid="composer-input"
        />
        {/* After the input, so that Tab from the messages (and the skip link) still lands in the text first. */}
        <span className="composer__tool">
          <button type="button" className="icon-button composer__attach" aria-label="Attach files" aria-describedby="composer-attach-tip"
            onClick={() => fileInput.current?.click()} data-testid="composer-attach">
            <PaperclipIcon aria-hidden="true" width={18} height={18} />
          </button>
          <span className="composer__tip" id="composer-attach-tip" role="tooltip">Attach files (or drop or paste them)</span>
        </span>
        <input ref={fileInput} type="file" multiple hidden tabIndex={-1} data-testid="composer-file-input"
          onChange={(e) => {
            addFiles(Array.from(e.target.files ?? []));
            e.target.value = ""; // the same file can be chosen again after it was removed
          }} />
        {recorder}
        <button type="submit" className="composer__send" aria-label="Send" title={files.ok ? "Send (Enter)" : files.reason}
          aria-disabled={files.ok ? undefined : true} data-testid="composer-send">
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

/**
 * Files dragged over the conversation (the room view around `inside`): a
 * drop zone covers it while they are over it, and dropping them hands them
 * to `onFiles`. Only drags that carry files count (not a dragged text
 * selection). Native listeners on the room view, which the composer does not
 * render; the zone is a portal into it.
 */
function useFileDrop(inside: RefObject<HTMLElement | null>, onFiles: (files: readonly File[]) => void): { zone: ReactNode } {
  const [area, setArea] = useState<HTMLElement | null>(null);
  const [over, setOver] = useState(false);
  const latest = useRef(onFiles);
  latest.current = onFiles;

  useEffect(() => {
    const view = inside.current?.closest<HTMLElement>(".room-view") ?? null;
    setArea(view);
    if (!view) return;
    // dragenter and dragleave come in pairs for every element crossed: the count is 0 once the drag has left.
    let depth = 0;
    const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes("Files") ?? false;
    const enter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth += 1;
      setOver(true);
    };
    const dragOver = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // allows the drop
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    };
    const leave = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const dropped = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // else the browser opens the file in place of the app
      depth = 0;
      setOver(false);
      latest.current(Array.from(event.dataTransfer?.files ?? []));
    };
    view.addEventListener("dragenter", enter);
    view.addEventListener("dragover", dragOver);
    view.addEventListener("dragleave", leave);
    view.addEventListener("drop", dropped);
    return () => {
      view.removeEventListener("dragenter", enter);
      view.removeEventListener("dragover", dragOver);
      view.removeEventListener("dragleave", leave);
      view.removeEventListener("drop", dropped);
    };
  }, [inside]);

  const zone = over && area
    ? createPortal(
        <div className="drop-zone" data-testid="drop-zone" aria-hidden="true">
          <p className="drop-zone__text">Drop files to attach them</p>
        </div>,
        area,
      )
    : null;
  return { zone };
}
