/**
 * Mention autocomplete for the composer: typing `@` and a few letters opens
 * a list of the room's members whose username or display name starts with
 * them (and `@room` / `@here` for the room's owners and admins, the only
 * ones whose broadcast mentions count). ARIA 1.2 combobox pattern: the
 * textarea is the combobox (`aria-expanded`, `aria-controls`,
 * `aria-activedescendant`), the list a `listbox` of `option`s; focus stays
 * in the textarea. ArrowDown/ArrowUp move, Enter or Tab insert
 * `@username `, Escape closes (until the query changes).
 */
import { useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from "react";
import type { Member } from "@shared/protocol/index.js";
import { useRoomMembers } from "@web/presence/usePresence";
import { useChat } from "@web/state/useChat";
import { Avatar } from "@web/ui/Avatar";

/** Most options shown at once. */
export const MAX_MENTION_OPTIONS = 8;

/** An option of the list: what it inserts and how it reads. */
export interface MentionOption {
  key: string;
  /** Inserted in place of the `@query`, followed by a space. */
  insert: string;
  label: string;
  detail: string;
  userId: string | null;
}

/**
 * The `@query` being typed at the caret: an `@` at the start or after a
 * character that cannot end a word (so not in `ada@example.com`), then up to
 * 32 username characters up to the caret. Null when the caret is elsewhere.
 */
export function mentionQueryAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|[^\p{L}\p{N}_.+\-@])@([A-Za-z0-9_.-]{0,32})$/u.exec(before);
  if (!match) return null;
  const query = match[2] ?? "";
  return { start: caret - query.length - 1, query };
}

/**
 * The options for a query: members (not me) whose username or display name
 * starts with it, case-insensitive, usernames first; then `@room` and
 * `@here` when the viewer may use them. At most MAX_MENTION_OPTIONS.
 */
export function mentionOptions(members: readonly Member[], query: string, myId: string | null, canMentionEveryone: boolean): MentionOption[] {
  const q = query.toLowerCase();
  const scored: { option: MentionOption; rank: number }[] = [];
  for (const m of members) {
    if (m.user.id === myId) continue;
    const username = m.user.username.toLowerCase();
    const words = m.user.displayName.toLowerCase().split(/\s+/);
    const rank = username.startsWith(q) ? 0 : words.some((w) => w.startsWith(q)) ? 1 : -1;
    if (rank < 0) continue;
    scored.push({
      rank,
      option: { key: m.user.id, insert: `@${m.user.username}`, label: m.user.displayName || m.user.username, detail: `@${m.user.username}`, userId: m.user.id },
    });
  }
  scored.sort((a, b) => a.rank - b.rank || a.option.detail.localeCompare(b.option.detail));
  const options = scored.map((s) => s.option);
  if (canMentionEveryone) {
    if ("room".startsWith(q)) options.push({ key: "@room", insert: "@room", label: "@room", detail: "Notify everyone in this room", userId: null });
    if ("here".startsWith(q)) options.push({ key: "@here", insert: "@here", label: "@here", detail: "Notify everyone online in this room", userId: null });
  }
  return options.slice(0, MAX_MENTION_OPTIONS);
}

export interface MentionAutocompleteOptions {
  roomId: string;
  memberCount: number;
  canMentionEveryone: boolean;
  text: string;
  input: RefObject<HTMLTextAreaElement | null>;
  /** Sets the composer's text (after an insertion). */
  setText: (text: string) => void;
}

/**
 * The autocomplete's state for one composer. Call `changed(caret)` when the
 * text or the caret moves, `keyDown(event)` first in the textarea's key
 * handler (true: the key was the list's), spread `comboboxProps` on the
 * textarea and render `listbox`.
 */
export function useMentionAutocomplete({ roomId, memberCount, canMentionEveryone, text, input, setText }: MentionAutocompleteOptions) {
  const myId = useChat((s) => s.me?.id ?? null);
  const listId = useId();
  const [caret, setCaret] = useState(text.length);
  const [active, setActive] = useState(0);
  // Escape closes the list for this `@query`; typing on (a new query) opens it again.
  const [dismissed, setDismissed] = useState<string | null>(null);
  // Members are fetched once the user first types "@" in this room, not before.
  const [wanted, setWanted] = useState(false);
  const members = useRoomMembers(roomId, memberCount, wanted);
  const pendingCaret = useRef<number | null>(null);

  const found = mentionQueryAt(text, caret);
  const typingMention = found !== null;
  useEffect(() => {
    if (typingMention) setWanted(true);
  }, [typingMention]);
  const options = useMemo(
    () => (found && members ? mentionOptions(members, found.query, myId, canMentionEveryone) : []),
    [found?.query, found?.start, members, myId, canMentionEveryone], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const open = found !== null && dismissed !== `${found.start}:${found.query}` && options.length > 0;
  const activeIndex = Math.min(active, Math.max(0, options.length - 1));

  useLayoutEffect(() => {
    if (pendingCaret.current === null || !input.current) return;
    input.current.setSelectionRange(pendingCaret.current, pendingCaret.current);
    pendingCaret.current = null;
  }, [text, input]);

  const changed = useCallback((position: number) => {
    setCaret(position);
    setActive(0);
  }, []);

  const pick = useCallback(
    (option: MentionOption) => {
      if (!found) return;
      const inserted = `${option.insert} `;
      const next = text.slice(0, found.start) + inserted + text.slice(caret);
      const position = found.start + inserted.length;
      pendingCaret.current = position;
      setCaret(position);
      setActive(0);
      setText(next);
      input.current?.focus();
    },
    [found, text, caret, setText, input],
  );

  const keyDown = useCallback(
    (event: KeyboardEvent<HTMLTextAreaElement>): boolean => {
      if (!open || event.nativeEvent.isComposing) return false;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        setActive((activeIndex + step + options.length) % options.length);
        return true;
      }
      if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
        const option = options[activeIndex];
        if (!option) return false;
        event.preventDefault();
        pick(option);
        return true;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        setDismissed(found ? `${found.start}:${found.query}` : null);
        return true;
      }
      return false;
    },
    [open, options, activeIndex, pick, found],
  );

  const optionId = (i: number) => `${listId}-option-${i}`;
  const comboboxProps = {
    role: "combobox" as const,
    "aria-autocomplete": "list" as const,
    "aria-expanded": open,
    "aria-controls": listId,
    "aria-activedescendant": open ? optionId(activeIndex) : undefined,
  };

  const listbox = (
    <ul
      id={listId}
      role="listbox"
      aria-label="People to mention"
      className="mention-list"
      hidden={!open}
      data-testid="mention-listbox"
    >
      {open
        ? options.map((option, i) => (
            <li
              key={option.key}
              id={optionId(i)}
              role="option"
              aria-selected={i === activeIndex}
              className={i === activeIndex ? "mention-list__option mention-list__option--active" : "mention-list__option"}
              data-testid="mention-option"
              data-insert={option.insert}
              // mousedown, not click: the textarea keeps the focus.
              onMouseDown={(e) => {
                e.preventDefault();
                pick(option);
              }}
            >
              {option.userId ? <Avatar id={option.userId} name={option.label} size={22} /> : <span className="mention-list__at" aria-hidden="true">@</span>}
              <bdi className="mention-list__label">{option.label}</bdi>
              <span className="mention-list__detail">{option.detail}</span>
            </li>
          ))
        : null}
    </ul>
  );

  return { open, changed, keyDown, comboboxProps, listbox };
}
