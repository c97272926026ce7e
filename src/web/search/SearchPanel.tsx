/**
 * Message search (issue 18, item 5): the search box of the sidebar, opened
 * with Ctrl/Cmd+K anywhere or `/` outside a text field, and the panel of
 * results as one types, the way Slack's and Mattermost's work.
 *
 * - A modal <dialog> (the browser gives the focus trap and Escape); on a
 *   phone it takes the whole screen, with a back button. It stays mounted
 *   while signed in, so reopening it shows the last search as it was.
 * - The text box is an ARIA 1.2 combobox over a listbox of results grouped
 *   by conversation (`role="group"` named by the room): the focus stays in
 *   the box, ↑/↓ move the active result (`aria-activedescendant`), Enter
 *   opens it; a click or a tap opens one too.
 * - Filters in the text (from:@ada, in:#ops, has:file…) show as chips with
 *   a labelled remove button, as the shared parser reads them; quick chips
 *   add the common ones. "Search in this conversation" (the room header)
 *   limits it to the room (`roomId`), a chip too.
 * - Opening a result closes the panel and asks the room's view to show the
 *   message (search/jump.ts): the page around it, scrolled to, highlighted.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import { MAX_SEARCH_QUERY_CHARS, parseSearchQuery, type SearchHit, type SearchSort } from "@shared/protocol/search.js";
import { roomTitle } from "@web/state/rooms";
import { useChat, useChatClient } from "@web/state/useChat";
import type { ChatState } from "@web/state/chatReducer";
import { Avatar } from "@web/ui/Avatar";
import { ArrowLeftIcon, CloseIcon, SearchIcon } from "@web/ui/icons";
import { fullDateTime } from "@web/messages/time";
import { IDLE_SEARCH, SearchRunner, type SearchState } from "./searchClient";
import {
  addFilter,
  correctedWords,
  filterChips,
  groupHits,
  groupTitle,
  hitTime,
  hitsInShownOrder,
  jumpTargetOf,
  removeFilter,
  snippetRuns,
  totalLabel,
  wordsOf,
  type FilterChip,
} from "./searchModel";

/** Opens the search panel; with `roomId`, limited to that conversation. */
export type OpenSearch = (options?: { roomId?: string }) => void;

const SearchContext = createContext<OpenSearch>(() => {});

/** What the sidebar's search box and the room header's search button call. */
export function useOpenSearch(): OpenSearch {
  return useContext(SearchContext);
}

const NO_ROOMS: ChatState["rooms"] = {};

/** Quick filters offered as chips when not in effect. */
const QUICK_FILTERS: readonly { token: string; label: string; inEffect: (chips: readonly FilterChip[]) => boolean }[] = [
  { token: "has:file", label: "Has file", inEffect: (chips) => chips.some((c) => c.kind === "has") },
  { token: "is:mention", label: "Mentions me", inEffect: (chips) => chips.some((c) => c.kind === "is") },
];

/** A text field, where `/` is typed rather than opening search. */
function isTextField(el: Element | null): boolean {
  if (!el) return false;
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
  if (el instanceof HTMLInputElement) return !["button", "checkbox", "radio", "submit", "reset", "range", "color", "file"].includes(el.type);
  return el instanceof HTMLElement && el.isContentEditable;
}

/**
 * Provides `useOpenSearch` to the shell, installs Ctrl/Cmd+K and `/`, and
 * renders the panel. `onOpenRoom` switches the route to a room.
 */
export function SearchHost({ onOpenRoom, children }: { onOpenRoom: (roomId: string) => void; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const [roomScope, setRoomScope] = useState<string | null>(null);
  // Bumped on every open, so an open while open focuses the box again.
  const [openCount, setOpenCount] = useState(0);
  const openSearch = useCallback<OpenSearch>((options) => {
    setRoomScope(options?.roomId ?? null);
    setOpen(true);
    setOpenCount((n) => n + 1);
  }, []);

  useEffect(() => {
    const keyDown = (event: globalThis.KeyboardEvent) => {
      if (event.defaultPrevented || event.isComposing) return;
      const commandK = (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "k";
      const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTextField(document.activeElement);
      if (!commandK && !slash) return;
      // Another dialog has the focus (a picker, a confirmation): its keys are its own.
      const dialog = document.querySelector("dialog[open]");
      if (dialog && !dialog.matches('[data-testid="search-dialog"]')) return;
      event.preventDefault();
      // Ctrl/Cmd+K searches everywhere (as in Slack); the room header's button limits it to a room.
      openSearch();
    };
    document.addEventListener("keydown", keyDown);
    return () => document.removeEventListener("keydown", keyDown);
  }, [openSearch]);

  return (
    <SearchContext.Provider value={openSearch}>
      {children}
      <SearchPanel open={open} openCount={openCount} roomScope={roomScope} onRoomScope={setRoomScope}
        onClose={() => setOpen(false)} onOpenRoom={onOpenRoom} />
    </SearchContext.Provider>
  );
}

interface SearchPanelProps {
  open: boolean;
  openCount: number;
  roomScope: string | null;
  onRoomScope: (roomId: string | null) => void;
  onClose: () => void;
  onOpenRoom: (roomId: string) => void;
}

function SearchPanel({ open, openCount, roomScope, onRoomScope, onClose, onOpenRoom }: SearchPanelProps) {
  const chat = useChatClient();
  // Room names for the group headings and the scope chip; not followed while closed (every event changes `rooms`).
  const rooms = useChat((s) => (open ? s.rooms : NO_ROOMS));
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const ids = useId();
  const [text, setText] = useState("");
  const [sort, setSort] = useState<SearchSort>("relevance");
  // The text and sort as of now, for the search run on opening: that effect runs after paint, and typing may
  // have come first (its closure's text would then be the previous one, and would cancel the typed search).
  const latest = useRef({ text, sort });
  latest.current = { text, sort };
  const [state, setState] = useState<SearchState>(IDLE_SEARCH);
  const [active, setActive] = useState(-1);
  const runner = useMemo(() => new SearchRunner((request, signal) => chat.search(request, signal), setState), [chat]);
  useEffect(() => () => runner.cancel(), [runner]);

  // Open: the modal dialog, the box focused with its text selected (typing replaces it), the search run again.
  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (open) {
      if (!el.open) {
        opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
        el.showModal();
      }
      input.current?.focus();
      input.current?.select();
    } else if (el.open) {
      el.close();
      runner.cancel();
    }
  }, [open, openCount, runner]);
  useEffect(() => {
    // Only when opened or re-scoped: typing goes through `change` (debounced).
    if (open) runner.now({ q: latest.current.text, roomId: roomScope, sort: latest.current.sort });
  }, [open, openCount, roomScope, runner]);

  const close = useCallback(
    (returnFocus = true) => {
      onClose();
      const back = opener.current;
      opener.current = null;
      if (returnFocus && back?.isConnected) requestAnimationFrame(() => back.focus());
    },
    [onClose],
  );

  const query = (q: string, nextSort = sort, scope = roomScope) => ({ q, roomId: scope, sort: nextSort });
  const change = (value: string) => {
    latest.current = { ...latest.current, text: value };
    setText(value);
    setActive(-1);
    runner.update(query(value));
  };
  const setAndSearch = (value: string, scope = roomScope) => {
    latest.current = { ...latest.current, text: value };
    setText(value);
    setActive(-1);
    runner.now(query(value, sort, scope));
    input.current?.focus();
  };
  const chooseSort = (next: SearchSort) => {
    setSort(next);
    setActive(-1);
    runner.now(query(text, next));
  };
  const removeScope = () => {
    onRoomScope(null);
    setActive(-1);
    input.current?.focus();
  };

  const removeAllFilters = () => {
    let next = text;
    for (const chip of filterChips(parseSearchQuery(text))) next = removeFilter(next, chip);
    // Dropping the scope searches again too (the effect on `roomScope`), with the text as set here.
    if (roomScope !== null) onRoomScope(null);
    setAndSearch(next, null);
  };

  const titleOf = useCallback(
    (room: SearchHit["room"]) => {
      const tracked = rooms[room.id]?.room;
      return tracked ? `${tracked.kind === "direct" ? "" : "#"}${roomTitle(tracked)}` : groupTitle(room);
    },
    [rooms],
  );
  const groups = useMemo(() => groupHits(state.hits, titleOf), [state.hits, titleOf]);
  const ordered = useMemo(() => hitsInShownOrder(groups), [groups]);
  const chips = useMemo(() => filterChips(parseSearchQuery(text)), [text]);
  const scopeRoom = roomScope ? rooms[roomScope]?.room : undefined;
  const scopeLabel = scopeRoom ? `in:${scopeRoom.kind === "direct" ? "" : "#"}${roomTitle(scopeRoom)}` : roomScope ? "in:this conversation" : null;
  const filtered = chips.length > 0 || roomScope !== null;
  const optionId = (index: number) => `${ids}-hit-${index}`;
  const activeHit = active >= 0 ? ordered[active] : undefined;

  const openHit = (hit: SearchHit) => {
    chat.jumps.request(jumpTargetOf(hit));
    close(false);
    onOpenRoom(hit.room.id);
  };

  // The active option stays in view as ↑/↓ move it.
  useEffect(() => {
    if (active < 0) return;
    document.getElementById(optionId(active))?.scrollIntoView({ block: "nearest" });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [active]);

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (ordered.length === 0) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive((at) => Math.min(ordered.length - 1, Math.max(0, at < 0 ? 0 : at + step)));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (activeHit) openHit(activeHit);
      else runner.now(query(text));
    }
  };

  const response = state.response;
  const loading = state.status === "loading";
  const status = loading
    ? "Searching…"
    : state.status === "done" && response
      ? totalLabel(state.hits.length, response)
      : "";
  const words = wordsOf(state.query?.q ?? text);

  return (
    <dialog ref={dialog} className="search" aria-label="Search messages" data-testid="search-dialog"
      onCancel={(event) => {
        // Escape: React owns the open state; the focus goes back to what opened it.
        event.preventDefault();
        close();
      }}
      onMouseDown={(event) => {
        if (event.target === dialog.current) close();
      }}>
      <div className="search__panel">
        <div className="search__bar">
          {/* Phones: a way back where people look for it, top left. */}
          <button type="button" className="icon-button search__back" aria-label="Close search" title="Close search"
            onClick={() => close()} data-testid="search-back">
            <ArrowLeftIcon width={20} height={20} />
          </button>
          <span className="search__icon" aria-hidden="true"><SearchIcon /></span>
          <input
            ref={input}
            className="search__input"
            type="text"
            role="combobox"
            aria-label="Search messages"
            aria-expanded={ordered.length > 0}
            aria-controls={`${ids}-results`}
            aria-autocomplete="list"
            aria-activedescendant={activeHit ? optionId(active) : undefined}
            aria-describedby={`${ids}-status`}
            placeholder={scopeLabel ? `Search ${scopeLabel.slice(3)}` : "Search messages"}
            value={text}
            maxLength={MAX_SEARCH_QUERY_CHARS}
            enterKeyHint="search"
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => change(e.target.value)}
            onKeyDown={onKeyDown}
            data-testid="search-input"
          />
          {text !== "" ? (
            <button type="button" className="link-button search__clear" aria-label="Clear search"
              onClick={() => setAndSearch("")} data-testid="search-clear">
              Clear
            </button>
          ) : null}
          <button type="button" className="icon-button search__close" aria-label="Close search" title="Close search (Escape)"
            onClick={() => close()} data-testid="search-close">
            <CloseIcon />
          </button>
        </div>

        <div className="search__filters" role="group" aria-label="Filters" data-testid="search-filters">
          {scopeLabel ? (
            <span className="filter-chip" data-testid="filter-chip" data-filter={scopeLabel}>
              {scopeLabel}
              <button type="button" className="filter-chip__remove" aria-label={`Remove filter ${scopeLabel}`} onClick={removeScope}>
                <CloseIcon width={14} height={14} />
              </button>
            </span>
          ) : null}
          {chips.map((chip) => (
            <span key={chip.label} className="filter-chip" data-testid="filter-chip" data-filter={chip.label}>
              {chip.label}
              <button type="button" className="filter-chip__remove" aria-label={`Remove filter ${chip.label}`}
                onClick={() => setAndSearch(removeFilter(text, chip))}>
                <CloseIcon width={14} height={14} />
              </button>
            </span>
          ))}
          {QUICK_FILTERS.filter((f) => !f.inEffect(chips)).map((f) => (
            <button key={f.token} type="button" className="chip chip--add" onClick={() => setAndSearch(addFilter(text, f.token))}
              data-testid="quick-filter" data-filter={f.token}>
              + {f.label}
            </button>
          ))}
        </div>

        <div className="search__toolbar">
          <p className="search__status" id={`${ids}-status`} role="status" data-testid="search-status">{status}</p>
          <div className="segmented" role="group" aria-label="Sort results">
            <button type="button" aria-pressed={sort === "relevance"} onClick={() => chooseSort("relevance")} data-testid="sort-relevance">
              Relevance
            </button>
            <button type="button" aria-pressed={sort === "date"} onClick={() => chooseSort("date")} data-testid="sort-date">
              Newest
            </button>
          </div>
        </div>

        {response?.corrections?.length && state.status === "done" ? (
          <p className="search__correction" data-testid="search-correction">
            Showing results for <strong>{correctedWords(response.corrections)}</strong>
          </p>
        ) : null}
        {state.error ? <p className="form__error search__error" role="alert" data-testid="search-error">{state.error}</p> : null}

        <div className="search__results" data-testid="search-results" data-state={state.status}
          data-query={state.query ? `${state.query.q}|${state.query.roomId ?? ""}|${state.query.sort}` : undefined}>
          <div id={`${ids}-results`} role="listbox" aria-label="Search results" aria-busy={loading}
            className={loading ? "search__list search__list--stale" : "search__list"}>
            {groups.map((group, g) => (
              <div key={group.roomId} role="group" aria-labelledby={`${ids}-group-${g}`} className="search__group"
                data-testid="search-group" data-room-id={group.roomId}>
                <div role="presentation" id={`${ids}-group-${g}`} className="search__group-title" data-testid="search-group-title">
                  <bdi>{group.title}</bdi>
                </div>
                {group.hits.map((hit) => {
                  const index = ordered.indexOf(hit);
                  return (
                    <SearchResult key={hit.message.id} hit={hit} id={optionId(index)} active={index === active}
                      onPick={() => openHit(hit)} onHover={() => setActive(index)} />
                  );
                })}
              </div>
            ))}
          </div>

          {state.status === "done" && state.hits.length === 0 ? (
            <div className="search__empty" data-testid="search-empty">
              <p><strong>No messages match{words ? <> “<bdi>{words}</bdi>”</> : null}{filtered ? " with these filters" : ""}.</strong></p>
              {filtered ? (
                <p>
                  Try removing a filter to search more widely.{" "}
                  {words ? (
                    <button type="button" className="link-button" onClick={removeAllFilters} data-testid="search-remove-filters">
                      Remove all filters
                    </button>
                  ) : null}
                </p>
              ) : (
                <p>Check the spelling, or try fewer or shorter words.</p>
              )}
            </div>
          ) : null}
          {state.status === "idle" && text.trim() === "" ? <SearchHints scoped={scopeLabel !== null} /> : null}

          {response?.nextCursor && state.status === "done" ? (
            <div className="search__more">
              <button type="button" className="button" disabled={state.loadingMore} onClick={() => void runner.loadMore()}
                data-testid="search-more">
                {state.loadingMore ? "Loading…" : "Load more results"}
              </button>
            </div>
          ) : null}
        </div>
      </div>
    </dialog>
  );
}

/** One result: the author, when, the snippet with the matches marked (text only: never HTML). */
function SearchResult({ hit, id, active, onPick, onHover }: { hit: SearchHit; id: string; active: boolean; onPick: () => void; onHover: () => void }) {
  const { message } = hit;
  const author = message.author.displayName || message.author.username;
  const inThread = message.inThread === true && message.alsoInRoom !== true;
  return (
    <div id={id} role="option" aria-selected={active} className={active ? "search-hit search-hit--active" : "search-hit"}
      data-testid="search-hit" data-message-id={message.id}
      // The focus stays in the text box (the combobox): a press must not take it.
      onMouseDown={(e) => e.preventDefault()}
      onClick={onPick}
      onMouseMove={active ? undefined : onHover}>
      <Avatar id={message.author.id} name={author} size={28} />
      <div className="search-hit__text">
        <div className="search-hit__head">
          <bdi className="search-hit__author" data-testid="search-hit-author">{author}</bdi>
          <time className="search-hit__time" dateTime={message.createdAt} title={fullDateTime(message.createdAt)}>{hitTime(message.createdAt)}</time>
          {inThread ? <span className="search-hit__where">in a thread</span> : null}
          {hit.matchedIn === "file" ? <span className="search-hit__where">in a file name</span> : null}
        </div>
        <p className="search-hit__snippet" data-testid="search-hit-snippet">
          {snippetRuns(hit.snippet).map((run, i) => (run.match ? <mark key={i}>{run.text}</mark> : <span key={i}>{run.text}</span>))}
        </p>
      </div>
    </div>
  );
}

/** What to type, before anything is typed. */
function SearchHints({ scoped }: { scoped: boolean }) {
  return (
    <div className="search__hints" data-testid="search-hints">
      <p>{scoped ? "Search the messages of this conversation." : "Search the messages of all your conversations."}</p>
      <ul>
        <li><code>deploy</code> finds deploys, deployed, redeployment</li>
        <li><code>"release notes"</code> finds the words in this order</li>
        <li><code>deplo*</code> finds words that start with it; <code>-draft</code> leaves a word out</li>
        <li><code>from:@ada</code>, <code>in:#general</code>, <code>after:2026-11-01</code>, <code>before:2026-12-01</code>, <code>has:file</code>, <code>is:mention</code></li>
      </ul>
    </div>
  );
}
