/**
 * The emoji picker: a modal dialog with a search box and a grid of emoji,
 * by group or by search. Its data is Emojibase's (the `emojibase-data`
 * package: CLDR labels and tags, GitHub shortcodes), loaded with dynamic
 * imports when the picker first opens, so none of it is in the initial
 * bundle; this component itself is loaded lazily by Reactions.tsx.
 *
 * Search matches the label ("party popper"), a tag ("party", "tada") or a
 * shortcode (":tada:"), words in any order. Keyboard: type to search,
 * ↓ or Enter from the search box (Enter picks the first match), arrows
 * move in the grid (one tab stop), Enter or Space picks, Escape closes.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { normalizeEmoji } from "@shared/protocol/index.js";
import { Dialog } from "@web/ui/Dialog";

/** One pickable emoji, as the picker needs it. */
export interface PickerEmoji {
  emoji: string;
  label: string;
  group: number;
  /** Label, tags and shortcodes, lower-cased: what a search matches. */
  words: readonly string[];
}

/** Emojibase's groups (meta/groups.json keys), in its order; 2 (components: skin tones, hair) is not pickable. */
const GROUPS: readonly { id: number; label: string; icon: string }[] = [
  { id: 0, label: "Smileys & emotion", icon: "😀" },
  { id: 1, label: "People & body", icon: "👋" },
  { id: 3, label: "Animals & nature", icon: "🐻" },
  { id: 4, label: "Food & drink", icon: "🍔" },
  { id: 5, label: "Travel & places", icon: "✈️" },
  { id: 6, label: "Activities", icon: "⚽" },
  { id: 7, label: "Objects", icon: "💡" },
  { id: 8, label: "Symbols", icon: "❤️" },
  { id: 9, label: "Flags", icon: "🏁" },
];
const COLUMNS = 8;
/** Matches shown at most: enough to scan, few enough to render at once. */
const MAX_RESULTS = 120;

let loading: Promise<PickerEmoji[]> | null = null;

/** The picker's data, imported once per page (two JSON chunks, ~70 KB gzipped). */
export function loadEmoji(): Promise<PickerEmoji[]> {
  loading ??= Promise.all([import("emojibase-data/en/compact.json"), import("emojibase-data/en/shortcodes/github.json")]).then(
    ([data, shortcodes]) => toPickerEmoji(data.default, shortcodes.default),
  ).catch((error: unknown) => {
    loading = null; // a failed chunk load may succeed on the next open
    throw error;
  });
  return loading;
}

/**
 * Emojibase's compact records → what the picker shows: pickable groups
 * only, in Emojibase's order, each emoji in the fully-qualified form the
 * server stores (normalizeEmoji: Emojibase writes 👍️ with a VS16, the
 * server 👍), so that a pick matches the chip of the same reaction.
 */
export function toPickerEmoji(
  data: readonly { unicode: string; label: string; hexcode: string; group?: number; order?: number; tags?: string[] }[],
  shortcodes: Readonly<Record<string, string | string[]>>,
): PickerEmoji[] {
  const out: (PickerEmoji & { order: number })[] = [];
  for (const e of data) {
    if (e.group === undefined || e.group === 2) continue;
    const codes = shortcodes[e.hexcode];
    const words = [e.label, ...(e.tags ?? []), ...(codes === undefined ? [] : Array.isArray(codes) ? codes : [codes])].map((w) => w.toLowerCase());
    out.push({ emoji: normalizeEmoji(e.unicode) ?? e.unicode, label: e.label, group: e.group, words, order: e.order ?? Number.MAX_SAFE_INTEGER });
  }
  out.sort((a, b) => a.order - b.order);
  return out.map(({ order: _order, ...e }) => e);
}

/**
 * The emoji matching `query`: every word of the query must start a word of
 * the label, a tag or a shortcode ("party" → 🎉 🥳; "red heart"; ":tada:").
 * Label matches first, then Emojibase's order.
 */
export function searchEmoji(all: readonly PickerEmoji[], query: string, limit = MAX_RESULTS): PickerEmoji[] {
  const terms = query.toLowerCase().replace(/:/g, " ").split(/[\s_]+/).filter(Boolean);
  if (terms.length === 0) return [];
  const starts = (word: string, term: string) => word.startsWith(term) || word.split(/[\s_-]+/).some((part) => part.startsWith(term));
  const hits = all.filter((e) => terms.every((term) => e.words.some((w) => starts(w, term))));
  const labelFirst = (e: PickerEmoji) => (terms.every((term) => starts(e.words[0] ?? "", term)) ? 0 : 1);
  return hits
    .map((e, i) => ({ e, i, rank: labelFirst(e) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .slice(0, limit)
    .map((x) => x.e);
}

export default function EmojiPicker({ onPick, onClose }: { onPick: (emoji: string) => void; onClose: () => void }) {
  const [all, setAll] = useState<PickerEmoji[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState("");
  const [group, setGroup] = useState(GROUPS[0]!.id);
  const [active, setActive] = useState(0);
  const grid = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);

  // The search box takes the focus once the dialog is open (its showModal runs in the Dialog's
  // effect, after this component's; focus() on an input of a closed dialog does nothing).
  useEffect(() => {
    const frame = requestAnimationFrame(() => search.current?.focus());
    return () => cancelAnimationFrame(frame);
  }, []);

  useEffect(() => {
    let live = true;
    loadEmoji().then(
      (list) => live && setAll(list),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, []);

  const shown = useMemo(() => {
    if (!all) return [];
    return query.trim() ? searchEmoji(all, query) : all.filter((e) => e.group === group);
  }, [all, query, group]);
  const activeIndex = Math.min(active, Math.max(0, shown.length - 1));
  const groupLabel = GROUPS.find((g) => g.id === group)?.label ?? "";

  function focusCell(index: number) {
    setActive(index);
    grid.current?.querySelectorAll<HTMLButtonElement>("button")[index]?.focus();
  }

  function searchKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Enter" && shown[0]) {
      event.preventDefault();
      onPick(shown[0].emoji);
    } else if (event.key === "ArrowDown" && shown.length > 0) {
      event.preventDefault();
      focusCell(0);
    }
  }

  function gridKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    const move = moves[event.key];
    if (move === undefined) {
      if (event.key === "Home") focusCell(0);
      else if (event.key === "End") focusCell(shown.length - 1);
      else return;
      event.preventDefault();
      return;
    }
    event.preventDefault();
    const next = activeIndex + move;
    if (next >= 0 && next < shown.length) focusCell(next);
  }

  const status = failed
    ? "The emoji could not be loaded. Close and try again."
    : all === null
      ? "Loading emoji…"
      : query.trim()
        ? shown.length === 0
          ? `No emoji match “${query.trim()}”.`
          : `${shown.length}${shown.length === MAX_RESULTS ? "+" : ""} ${shown.length === 1 ? "match" : "matches"}`
        : "";

  return (
    <Dialog title="Add a reaction" onClose={onClose} testId="emoji-picker">
      <div className="emoji-picker">
        <input
          type="search"
          className="emoji-picker__search"
          placeholder="Search emoji"
          aria-label="Search emoji"
          aria-describedby="emoji-picker-status"
          ref={search}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={searchKeyDown}
          data-testid="emoji-search"
        />
        {/* Kept in place while searching (hidden, out of the tab order and of the accessibility tree), and the
            grid has a fixed height: the dialog keeps its size and the search box does not jump as matches narrow. */}
        <div className={query.trim() ? "emoji-picker__groups emoji-picker__groups--hidden" : "emoji-picker__groups"}
          role="group" aria-label="Emoji groups" aria-hidden={query.trim() ? true : undefined}>
            {GROUPS.map((g) => (
              <button
                key={g.id}
                type="button"
                className="emoji-picker__group"
                aria-label={g.label}
                aria-pressed={g.id === group}
                title={g.label}
                onClick={() => {
                  setGroup(g.id);
                  setActive(0);
                }}
              >
                <span aria-hidden="true">{g.icon}</span>
              </button>
            ))}
          </div>
        <p id="emoji-picker-status" className="emoji-picker__status" role="status" data-testid="emoji-status">
          {status}
        </p>
        <div
          ref={grid}
          className="emoji-picker__grid"
          role="group"
          aria-label={query.trim() ? "Matching emoji" : groupLabel}
          onKeyDown={gridKeyDown}
          data-testid="emoji-grid"
        >
          {shown.map((e, i) => (
            <button
              key={e.emoji}
              type="button"
              className="emoji-picker__emoji"
              tabIndex={i === activeIndex ? 0 : -1}
              aria-label={e.label}
              title={e.label}
              onFocus={() => setActive(i)}
              onClick={() => onPick(e.emoji)}
              data-testid="emoji-option"
              data-emoji={e.emoji}
            >
              {e.emoji}
            </button>
          ))}
        </div>
      </div>
    </Dialog>
  );
}
