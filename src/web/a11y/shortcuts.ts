/**
 * The signed-in app's keyboard shortcuts and focus landing (issue 16):
 *
 * - F6 / Shift+F6 move between the page's regions, as in browsers, Slack
 *   and Element: the conversation list, the messages, the composer, the
 *   open thread. Each region is entered at its natural place (the open
 *   conversation in the list, the list's current message, the text box).
 * - Alt+↑ / Alt+↓ open the previous / next conversation in the sidebar's
 *   order. (Ctrl/Cmd+K is left to the search box.)
 * - When focus would otherwise fall to <body> (a room opened on a phone,
 *   "Back to conversations", signing in), it lands on the open room's title,
 *   the conversation just left, or the conversation list.
 */
import { useEffect, useRef } from "react";
import { isShown, tabbablesIn } from "./focus";

/** The regions F6 visits, in order: the element that marks it, and where focus goes in it. */
const REGIONS: readonly { region: string; target: readonly string[] }[] = [
  { region: '[data-testid="sidebar"]', target: ['[data-testid="room-item"][aria-current="page"]', '[data-testid="room-item"]'] },
  { region: '[data-testid="message-rows"]', target: ['[data-testid="message"][tabindex="0"]'] },
  { region: '[data-testid="composer"]', target: ['[data-testid="composer-input"]'] },
  { region: '[data-testid="thread-panel"]', target: ["textarea"] },
  // With no room open: the main pane (welcome, not found, join).
  { region: "main.shell__main:not(:has([data-testid=\"room-view\"]))", target: ["h1"] },
];

/** A dialog is open: its own focus rules apply, the page's shortcuts do not. */
function dialogOpen(): boolean {
  return document.querySelector('dialog[open], [role="dialog"]:not([hidden])') !== null;
}

/** Focuses `el`, reached by the keyboard, and says whether it took focus. */
function focusOn(el: HTMLElement | null | undefined): boolean {
  if (!el || !isShown(el)) return false;
  el.focus();
  return document.activeElement === el;
}

/** Focuses a region: its preferred element, else its first tabbable, else the region itself. */
function enterRegion(region: HTMLElement, targets: readonly string[]): boolean {
  for (const selector of targets) {
    if (focusOn(region.querySelector<HTMLElement>(selector))) return true;
  }
  if (focusOn(tabbablesIn(region)[0])) return true;
  return false;
}

/** F6 (Shift+F6 backwards): the next shown region after the one holding the focus. */
export function cycleRegion(backwards: boolean): void {
  const shown = REGIONS.flatMap((r) => {
    const el = document.querySelector<HTMLElement>(r.region);
    return el && isShown(el) ? [{ el, target: r.target }] : [];
  });
  if (shown.length === 0) return;
  // In document order, so F6 follows the page from top-left to bottom-right.
  shown.sort((a, b) => (a.el.compareDocumentPosition(b.el) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  const active = document.activeElement;
  let at = shown.findIndex((r) => active && r.el.contains(active));
  if (at < 0) {
    // Between regions (the room's header) or nowhere: as if the focus sat just before the first region after it.
    const after = active && active !== document.body
      ? shown.findIndex((r) => active.compareDocumentPosition(r.el) & Node.DOCUMENT_POSITION_FOLLOWING)
      : 0;
    const slot = after < 0 ? shown.length : after;
    at = backwards ? slot : slot - 1;
  }
  for (let step = 1; step <= shown.length; step += 1) {
    const next = shown[(((at + (backwards ? -step : step)) % shown.length) + shown.length) % shown.length]!;
    if (enterRegion(next.el, next.target)) return;
  }
}

/** The conversation `offset` places from the open one, in the sidebar's order; null when there is none. */
export function neighbourRoomId(offset: number): string | null {
  const items = [...document.querySelectorAll<HTMLElement>('[data-testid="room-item"]')];
  if (items.length === 0) return null;
  const at = items.findIndex((el) => el.getAttribute("aria-current") === "page");
  const next = at < 0 ? (offset > 0 ? 0 : items.length - 1) : at + offset;
  return items[next]?.dataset.roomId ?? null;
}

/**
 * Installs F6 and Alt+↑/↓ on the document while mounted. `openRoom` opens
 * a conversation by id (the route).
 */
export function useShellShortcuts(openRoom: (roomId: string) => void): void {
  const open = useRef(openRoom);
  open.current = openRoom;
  useEffect(() => {
    const keyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || dialogOpen()) return;
      if (event.key === "F6" && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        cycleRegion(event.shiftKey);
      } else if (event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
        const roomId = neighbourRoomId(event.key === "ArrowUp" ? -1 : 1);
        if (roomId === null) return;
        event.preventDefault();
        open.current(roomId);
      }
    };
    document.addEventListener("keydown", keyDown);
    return () => document.removeEventListener("keydown", keyDown);
  }, []);
}

/**
 * After the view changes (`viewKey`: the route), puts the focus somewhere
 * useful if it fell to <body> or onto something no longer shown: the
 * conversation `leftRoomId` in the list, else the main pane's heading (the
 * room's title, "Welcome"), else the conversation list.
 */
export function useFocusLanding(viewKey: string, leftRoom: { readonly current: string | null }): void {
  useEffect(() => {
    let frame = 0;
    // Two frames: after React's commit and the layout effects that focus on purpose (the composer on desktop).
    frame = requestAnimationFrame(() => {
      frame = requestAnimationFrame(() => {
        const active = document.activeElement;
        if (active && active !== document.body && isShown(active)) return;
        const leftRoomId = leftRoom.current;
        const left = leftRoomId ? document.querySelector<HTMLElement>(`[data-testid="room-item"][data-room-id="${CSS.escape(leftRoomId)}"]`) : null;
        if (focusOn(left)) return;
        if (focusOn(document.querySelector<HTMLElement>("main.shell__main h1"))) return;
        focusOn(document.querySelector<HTMLElement>('[data-testid="sidebar"] nav'));
      });
    });
    return () => cancelAnimationFrame(frame);
  }, [viewKey, leftRoom]);
}
