/**
 * Reactions on a message: the counts per emoji under the bubble, and the
 * quick reactions (👍 ❤️ 😂 🎉 😮 😢 and "Add reaction", which opens the
 * emoji picker) shown on hover or keyboard focus of a message.
 *
 * Each count is a toggle button: `aria-pressed` says whether I reacted,
 * its label says who did ("👍 2, reacted by you and bob; click to remove
 * yours"), and the same names show beside it on hover or focus. Clicking
 * adds or takes back my reaction over HTTP; the message changes when the
 * `reaction.*` event comes back, as it does for everyone else's.
 *
 * RoomView provides the room's context once (ReactionsProvider): the
 * names of the members, fetched only while some message shows reactions,
 * and the toggle. The picker and its emoji data are loaded only when it
 * first opens (React.lazy + a dynamic import), so they stay out of the
 * initial bundle.
 */
import {
  createContext,
  lazy,
  memo,
  Suspense,
  useCallback,
  useContext,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import type { Reaction, Room } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { useRoomMembers } from "@web/presence/usePresence";
import { useChat, useChatClient } from "@web/state/useChat";
import type { DisplayMessage } from "./rows";

const EmojiPicker = lazy(() => import("./EmojiPicker"));

/** The quick reactions, in the order shown. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"] as const;

const NO_REACTIONS: readonly Reaction[] = [];

/** Names listed in a label before "and N others". */
const NAMES_SHOWN = 10;

interface ReactionsContextValue {
  meId: string;
  /** A reactor's name for people: "you" for me, a member's display name, "someone" for a former member. */
  nameOf: (userId: string) => string;
  /** Adds (`on`) or takes back my reaction; rejects with a sentence to show. */
  toggle: (messageId: string, emoji: string, on: boolean) => Promise<void>;
}

const ReactionsContext = createContext<ReactionsContextValue | null>(null);

/** The open room's reactions context: member names (fetched while `hasReactions`) and the toggle. */
export function ReactionsProvider({ room, hasReactions, children }: { room: Room; hasReactions: boolean; children: ReactNode }) {
  const chat = useChatClient();
  const meId = useChat((s) => s.me?.id) ?? "";
  // A direct room's other reactor is its peer: no member list needed there.
  const members = useRoomMembers(room.id, room.memberCount, hasReactions && room.kind !== "direct");
  const value = useMemo<ReactionsContextValue>(() => {
    const names = new Map<string, string>();
    for (const m of members ?? []) names.set(m.user.id, m.user.displayName || m.user.username);
    if (room.peer) names.set(room.peer.id, room.peer.displayName || room.peer.username);
    return {
      meId,
      nameOf: (userId) => (userId === meId ? "you" : (names.get(userId) ?? "someone")),
      toggle: async (messageId, emoji, on) => {
        try {
          await chat.setReaction(room.id, messageId, emoji, on);
        } catch (error) {
          throw new Error(messageOf(error));
        }
      },
    };
  }, [chat, meId, members, room.id, room.peer]);
  return <ReactionsContext.Provider value={value}>{children}</ReactionsContext.Provider>;
}

/** "you, ada and bob" / "ada, bob … and 3 others". */
export function namesSentence(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN);
  const rest = names.length - shown.length;
  const parts = rest > 0 ? [...shown, `${rest} ${rest === 1 ? "other" : "others"}`] : shown;
  if (parts.length <= 1) return parts[0] ?? "";
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/**
 * What can be done about one message's reactions, in one place for the
 * hover bar, the counts and the message's action sheet: `choose` adds an
 * emoji or takes mine back (a second click undoes), `picking` opens the
 * emoji picker, `error` is the last failure's sentence. `available` is
 * false outside a ReactionsProvider and for a pending or deleted message.
 */
export interface ReactionChoice {
  available: boolean;
  /** Whether I reacted with `emoji`. */
  isMine: (emoji: string) => boolean;
  choose: (emoji: string) => void;
  toggle: (emoji: string, on: boolean) => void;
  error: string | null;
  picking: boolean;
  setPicking: (open: boolean) => void;
}

/** The reaction choice of `message` (see ReactionChoice). */
export function useReactionChoice(message: DisplayMessage): ReactionChoice {
  const context = useContext(ReactionsContext);
  const [error, setError] = useState<string | null>(null);
  const [picking, setPicking] = useState(false);
  const messageId = message.id;
  const reactions = message.reactions ?? NO_REACTIONS;
  const meId = context?.meId ?? "";

  const toggle = useCallback(
    (emoji: string, on: boolean) => {
      if (!context || messageId === null) return;
      setError(null);
      context.toggle(messageId, emoji, on).catch((e: unknown) => setError(e instanceof Error ? e.message : "That did not work."));
    },
    [context, messageId],
  );
  const isMine = useCallback((emoji: string) => reactions.some((r) => r.emoji === emoji && r.userIds.includes(meId)), [reactions, meId]);
  const choose = useCallback((emoji: string) => toggle(emoji, !isMine(emoji)), [toggle, isMine]);
  const available = context !== null && messageId !== null && message.status === "sent" && !message.deleted;
  return useMemo(
    () => ({ available, isMine, choose, toggle, error, picking, setPicking }),
    [available, isMine, choose, toggle, error, picking],
  );
}

/**
 * A stored message's reactions and quick-reaction bar; nothing for a
 * pending or deleted message, or outside a ReactionsProvider. `choice` is
 * the message's (MessageItem shares it with its action sheet); without
 * it, the component keeps its own.
 */
export const MessageReactions = memo(function MessageReactions({ message, choice }: { message: DisplayMessage; choice?: ReactionChoice }) {
  const context = useContext(ReactionsContext);
  const own = useReactionChoice(message);
  const { available, choose, toggle, error, picking, setPicking } = choice ?? own;
  const reactions = message.reactions ?? NO_REACTIONS;

  if (!context || !available) return null;
  return (
    <>
      {reactions.length > 0 ? (
        <div className="reactions" role="group" aria-label="Reactions" data-testid="reactions">
          {reactions.map((reaction) => (
            <ReactionButton key={reaction.emoji} reaction={reaction} context={context} onToggle={toggle} />
          ))}
        </div>
      ) : null}
      {error ? (
        <p className="reactions__error" role="alert" data-testid="reaction-error">
          {error}
        </p>
      ) : null}
      <QuickReactionBar onChoose={choose} onOpenPicker={() => setPicking(true)} />
      {picking ? (
        <Suspense fallback={null}>
          <EmojiPicker
            onPick={(emoji) => {
              setPicking(false);
              choose(emoji);
            }}
            onClose={() => setPicking(false)}
          />
        </Suspense>
      ) : null}
    </>
  );
});

function ReactionButton({
  reaction,
  context,
  onToggle,
}: {
  reaction: Reaction;
  context: ReactionsContextValue;
  onToggle: (emoji: string, on: boolean) => void;
}) {
  const mine = reaction.userIds.includes(context.meId);
  // Me first, then in the order they reacted.
  const ordered = mine ? [context.meId, ...reaction.userIds.filter((id) => id !== context.meId)] : reaction.userIds;
  const who = namesSentence(ordered.map(context.nameOf));
  const label = `${reaction.emoji} ${reaction.count}, reacted by ${who}; click to ${mine ? "remove yours" : "add yours"}`;
  return (
    <button
      type="button"
      className={mine ? "reaction reaction--mine" : "reaction"}
      aria-pressed={mine}
      aria-label={label}
      onClick={() => onToggle(reaction.emoji, !mine)}
      data-testid="reaction"
      data-emoji={reaction.emoji}
      data-count={reaction.count}
    >
      <span className="reaction__emoji" aria-hidden="true">{reaction.emoji}</span>
      <span className="reaction__count" aria-hidden="true">{reaction.count}</span>
      {/* Who reacted, shown on hover and focus (the label already says it to screen readers). */}
      <span className="reaction__who" aria-hidden="true" data-testid="reaction-who">{who}</span>
    </button>
  );
}

/**
 * The quick reactions and "Add reaction", on hover or focus of the
 * message. One tab stop (a toolbar with a roving tabindex): arrows move
 * between its buttons, so a keyboard user is not made to tab through seven
 * buttons per message.
 */
function QuickReactionBar({ onChoose, onOpenPicker }: { onChoose: (emoji: string) => void; onOpenPicker: () => void }) {
  const [active, setActive] = useState(0);
  const bar = useRef<HTMLDivElement>(null);
  const count = QUICK_REACTIONS.length + 1;

  function keyDown(event: KeyboardEvent<HTMLDivElement>) {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let next: number | null = null;
    if (event.key in moves) next = (active + moves[event.key]! + count) % count;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = count - 1;
    if (next === null) return;
    event.preventDefault();
    setActive(next);
    bar.current?.querySelectorAll<HTMLButtonElement>("button")[next]?.focus();
  }

  return (
    <div ref={bar} className="reaction-bar" role="toolbar" aria-label="React" onKeyDown={keyDown} data-testid="reaction-bar">
      {QUICK_REACTIONS.map((emoji, i) => (
        <button
          key={emoji}
          type="button"
          className="reaction-bar__button"
          tabIndex={i === active ? 0 : -1}
          aria-label={`React with ${emoji}`}
          title={`React with ${emoji}`}
          onFocus={() => setActive(i)}
          onClick={() => onChoose(emoji)}
          data-testid="quick-reaction"
          data-emoji={emoji}
        >
          {emoji}
        </button>
      ))}
      <button
        type="button"
        className="reaction-bar__button reaction-bar__more"
        tabIndex={active === QUICK_REACTIONS.length ? 0 : -1}
        aria-label="Add reaction"
        aria-haspopup="dialog"
        title="Add reaction"
        onFocus={() => setActive(QUICK_REACTIONS.length)}
        onClick={onOpenPicker}
        data-testid="add-reaction"
      >
        <span aria-hidden="true">☺︎+</span>
      </button>
    </div>
  );
}
