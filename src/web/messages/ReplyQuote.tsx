/**
 * The quote a reply shows of its thread's root: the root's author and the
 * start of its text ("message deleted" once it is). Activating it jumps to
 * the root (`onJump`). Text is a React text node, never HTML.
 *
 * When the timeline holds the root, its current text is quoted (an edit or
 * a deletion shows at once); otherwise the preview the reply carries. A
 * root of files only is quoted by its files in words ("Photo", "2 files").
 */
import type { ReplyTo } from "@shared/protocol/index.js";
import { REPLY_PREVIEW_CHARS } from "@shared/protocol/index.js";
import { useChat } from "@web/state/useChat";
import { textOrFiles } from "./attachmentText";

export function ReplyQuote({ roomId, replyTo, onJump }: { roomId: string; replyTo: ReplyTo; onJump?: (replyTo: ReplyTo) => void }) {
  const held = useChat((s) => s.timelines[roomId]?.messages.find((m) => m.id === replyTo.id));
  const deleted = held ? Boolean(held.deletedAt) : replyTo.deleted;
  // A root of files only has no text: its files in words ("Photo"); the server's preview of one is "".
  const preview = held && !deleted ? quoteOf(textOrFiles(held)) : replyTo.preview || "Attachment";
  const author = replyTo.author.displayName || replyTo.author.username;
  const text = deleted ? "message deleted" : preview;
  return (
    <button
      type="button"
      className={deleted ? "reply-quote reply-quote--deleted" : "reply-quote"}
      onClick={() => onJump?.(replyTo)}
      title="Show the original message"
      data-testid="reply-quote"
      data-reply-to={replyTo.id}
    >
      {/* Its accessible name is its visible text (WCAG 2.5.3), with "Reply to" said to screen readers only. */}
      <span className="reply-quote__sr">Reply to </span>
      <bdi className="reply-quote__author">{author}</bdi>
      <span className="reply-quote__text" data-testid="reply-quote-text">{text}</span>
    </button>
  );
}

/** The client's cut of a root's current text, as the server cuts previews. */
export function quoteOf(body: string): string {
  const chars = Array.from(body);
  return chars.length <= REPLY_PREVIEW_CHARS ? body : `${chars.slice(0, REPLY_PREVIEW_CHARS).join("").trimEnd()}…`;
}
