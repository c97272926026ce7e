/**
 * A thread's summary under its root in the timeline, as Slack, Element and
 * Mattermost show it: the most recent repliers' avatars, "N replies" and
 * "last reply <time>", all one button that opens the thread. The replies
 * themselves stay in the thread (thread replies are not in the timeline:
 * RoomView), so this line is how the room sees that a thread moved.
 * The avatars are decorative (aria-hidden): a visually hidden "from Bob,
 * Carol" says who, after the visible text, so the button's name starts
 * with what it shows (WCAG 2.5.3).
 */
import type { Author } from "@shared/protocol/index.js";
import { Avatar } from "@web/ui/Avatar";
import { timeOfDay } from "./time";

/** "1 reply", "3 replies". */
export function replyCountText(count: number): string {
  return count === 1 ? "1 reply" : `${count} replies`;
}

/** Who replied, for a screen reader: ", from Bob, Carol" ("" for nobody). */
export function repliersText(repliers: readonly Author[]): string {
  return repliers.length > 0 ? `, from ${repliers.map((r) => r.displayName || r.username).join(", ")}` : "";
}

export function ThreadSummary({
  count,
  repliers = [],
  lastReplyAt,
  onOpen,
}: {
  count: number;
  repliers?: readonly Author[] | undefined;
  lastReplyAt: string | null;
  onOpen: () => void;
}) {
  return (
    <button type="button" className="link-button thread-link" onClick={onOpen} data-testid="thread-link" title="Open the thread">
      {repliers.length > 0 ? (
        <span className="thread-link__repliers" data-testid="thread-repliers">
          {repliers.map((r) => (
            <Avatar key={r.id} id={r.id} name={r.displayName || r.username} size={20} />
          ))}
        </span>
      ) : null}
      <span data-testid="thread-count">{replyCountText(count)}</span>
      {lastReplyAt ? (
        <span className="thread-link__last">
          {" "}· last reply <time dateTime={lastReplyAt} data-testid="thread-last-reply">{timeOfDay(lastReplyAt)}</time>
        </span>
      ) : null}
      {repliers.length > 0 ? <span className="thread-link__who">{repliersText(repliers)}</span> : null}
    </button>
  );
}
