/**
 * A message's actions in one place for touch and narrow screens: a modal
 * dialog (a bottom sheet below 768 px, a small centred dialog above) opened
 * by a tap or a long press on the message, or by its "More actions" button.
 * As WhatsApp's and Slack's apps do: the quick reactions and "Add
 * reaction", then Reply, Reply in thread, Edit, Copy text and Delete, as the
 * message allows, and Cancel. Every target is at least 44 px tall.
 *
 * The native <dialog> (ui/Dialog) traps focus and closes on Escape; focus
 * moves to the first reaction when it opens and back to where it came from
 * (the message, or its "More actions" button) when it closes, unless the
 * chosen action moved it (Edit's text box, the composer of a reply).
 *
 * It only calls the handlers MessageItem already has for the hover bar and
 * the icon buttons, so each action lives in one place.
 */
import { useEffect, useRef, type ReactNode } from "react";
import { Dialog } from "@web/ui/Dialog";
import { QUICK_REACTIONS, type ReactionChoice } from "./Reactions";
import type { DisplayMessage } from "./rows";
import { fullDateTime } from "./time";

/** One action row of the sheet. */
export interface SheetAction {
  label: string;
  icon: ReactNode;
  testId: string;
  danger?: boolean;
  onSelect: () => void;
}

/** How much of the body the sheet quotes, so it is clear which message it is about. */
const QUOTE_CHARS = 80;

export function MessageActionSheet({
  message,
  reactions,
  actions,
  onClose,
}: {
  message: DisplayMessage;
  reactions: ReactionChoice;
  actions: readonly SheetAction[];
  onClose: () => void;
}) {
  const first = useRef<HTMLButtonElement>(null);
  // The Dialog's showModal runs in its effect, before this one (children first): the dialog is open here.
  useEffect(() => first.current?.focus(), []);

  const quote = message.body.length > QUOTE_CHARS ? `${message.body.slice(0, QUOTE_CHARS - 1)}…` : message.body;
  const run = (action: () => void) => {
    onClose();
    action();
  };

  return (
    <Dialog title="Message actions" onClose={onClose} testId="message-sheet" sheet>
      <p className="message-sheet__quote" data-testid="message-sheet-quote">
        <bdi className="message-sheet__author">{message.mine ? "You" : message.authorName}</bdi>
        <time className="message-sheet__time" dateTime={message.at}>{fullDateTime(message.at)}</time>
        <span className="message-sheet__text">{quote}</span>
      </p>
      {reactions.available ? (
        <div className="message-sheet__reactions" role="group" aria-label="React">
          {QUICK_REACTIONS.map((emoji, i) => (
            <button
              key={emoji}
              ref={i === 0 ? first : undefined}
              type="button"
              className="message-sheet__reaction"
              aria-label={`React with ${emoji}`}
              aria-pressed={reactions.isMine(emoji)}
              onClick={() => run(() => reactions.choose(emoji))}
              data-testid="sheet-reaction"
              data-emoji={emoji}
            >
              {emoji}
            </button>
          ))}
          <button
            type="button"
            className="message-sheet__reaction message-sheet__more-reactions"
            aria-label="Add reaction"
            aria-haspopup="dialog"
            onClick={() => run(() => reactions.setPicking(true))}
            data-testid="sheet-add-reaction"
          >
            <span aria-hidden="true">☺︎+</span>
          </button>
        </div>
      ) : null}
      <ul className="message-sheet__actions">
        {actions.map((action, i) => (
          <li key={action.testId}>
            <button
              ref={i === 0 && !reactions.available ? first : undefined}
              type="button"
              className={action.danger ? "message-sheet__action message-sheet__action--danger" : "message-sheet__action"}
              onClick={() => run(action.onSelect)}
              data-testid={action.testId}
            >
              <span className="message-sheet__icon" aria-hidden="true">{action.icon}</span>
              {action.label}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="button button--block message-sheet__cancel" onClick={onClose} data-testid="sheet-cancel">
        Cancel
      </button>
    </Dialog>
  );
}
