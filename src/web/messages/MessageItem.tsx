/**
 * One message. The body is a plain React text node (never HTML: DESIGN.md
 * invariant 6); `white-space: pre-wrap` in CSS keeps its newlines.
 */
import { memo } from "react";
import { Avatar } from "@web/ui/Avatar";
import type { DisplayMessage } from "./rows";
import { fullDateTime, timeOfDay } from "./time";

export interface MessageItemProps {
  message: DisplayMessage;
  firstOfRun: boolean;
  lastOfRun: boolean;
  onRetry: (clientId: string) => void;
  onDiscard: (clientId: string) => void;
}

export const MessageItem = memo(function MessageItem({ message, firstOfRun, lastOfRun, onRetry, onDiscard }: MessageItemProps) {
  const classes = [
    "message",
    message.mine ? "message--mine" : "message--theirs",
    firstOfRun ? "message--first" : "",
    lastOfRun ? "message--last" : "",
    message.status !== "sent" ? `message--${message.status}` : "",
  ].join(" ");

  return (
    <div
      className={classes}
      data-testid="message"
      data-row-key={message.key}
      data-seq={message.seq ?? undefined}
      data-client-id={message.clientId ?? undefined}
      data-status={message.status}
      data-mine={message.mine ? "true" : "false"}
    >
      {!message.mine ? (
        <div className="message__gutter">
          {lastOfRun ? <Avatar id={message.authorId} name={message.authorName} size={28} /> : null}
        </div>
      ) : null}
      <div className="message__column">
        {!message.mine && firstOfRun ? (
          <div className="message__author">
            {/* <bdi>: a right-to-left name cannot reorder the handle after it. */}
            <bdi data-testid="message-author">{message.authorName}</bdi>
            {message.authorUsername !== message.authorName ? (
              // Display names are not unique: the @username says who really wrote it.
              <span className="message__handle" data-testid="message-author-handle">@{message.authorUsername}</span>
            ) : null}
          </div>
        ) : null}
        <div className="message__line">
          <div className="message__bubble">
            <p className="message__body" data-testid="message-body">{message.body}</p>
          </div>
          <span className="message__meta">
            {message.status === "sent" ? (
              <time dateTime={message.at} title={fullDateTime(message.at)} data-testid="message-time">
                {timeOfDay(message.at)}
              </time>
            ) : message.status === "failed" ? null : (
              <span className="message__pending" data-testid="message-pending" title={fullDateTime(message.at)}>
                sending…
              </span>
            )}
          </span>
        </div>
        {message.status === "failed" && message.clientId ? (
          <div className="message__failure" role="alert" data-testid="message-failure">
            <span>Not sent: {message.error ?? "the server refused it."}</span>
            <button type="button" className="link-button" onClick={() => onRetry(message.clientId!)} data-testid="message-retry">
              Retry
            </button>
            <button type="button" className="link-button" onClick={() => onDiscard(message.clientId!)}>
              Discard
            </button>
          </div>
        ) : null}
      </div>
    </div>
  );
});
