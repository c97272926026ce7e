/**
 * Where keyboard focus can go: the tabbable elements of a part of the page,
 * and the ones just before or after it. Used by the message list (one Tab
 * stop, messages/MessageList.tsx) and the landmark shortcuts (F6,
 * a11y/shortcuts.ts). Tabbable follows the HTML focus rules the browser
 * applies to Tab: natively focusable or `tabindex` ≥ 0, not disabled, and
 * rendered (not `display: none`, not `visibility: hidden`, not inert).
 */

const FOCUSABLE = [
  "a[href]",
  "button:not(:disabled)",
  "input:not(:disabled):not([type='hidden'])",
  "select:not(:disabled)",
  "textarea:not(:disabled)",
  "[tabindex]",
  "[contenteditable='true']",
].join(",");

/** The element can take focus from Tab (rendered, visible, not inert, tabindex ≥ 0). */
export function isTabbable(el: Element): el is HTMLElement {
  if (!(el instanceof HTMLElement)) return false;
  if (el.tabIndex < 0) return false;
  if (el.closest("[inert]")) return false;
  return isShown(el);
}

/** Rendered and not `visibility: hidden` (content-visibility and opacity do not hide from focus). */
export function isShown(el: Element): boolean {
  const check = (el as Element & { checkVisibility?: (o: object) => boolean }).checkVisibility;
  if (typeof check === "function") return check.call(el, { visibilityProperty: true });
  return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
}

/** `root` (when tabbable) and its tabbable descendants, in document order. */
export function tabbablesIn(root: Element): HTMLElement[] {
  const all = [root, ...root.querySelectorAll(FOCUSABLE)];
  return all.filter(isTabbable);
}

/** The nearest tabbable element outside `container`, before or after it in document order. */
export function tabbableBeside(container: Element, side: "before" | "after"): HTMLElement | null {
  const all = [...document.querySelectorAll(FOCUSABLE)].filter((el) => !container.contains(el) && isTabbable(el));
  const following = (el: Element) => (container.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0;
  if (side === "after") return (all.find(following) as HTMLElement | undefined) ?? null;
  const before = all.filter((el) => !following(el));
  return (before[before.length - 1] as HTMLElement | undefined) ?? null;
}

/** Whether the user's last key was Tab (so a focus that lands somewhere came from tabbing, not a click or a script). */
let tabbing = false;
let watching = false;

/** Starts watching keys and pointers once; `lastMoveWasTab()` answers after that. */
export function watchTabbing(): void {
  if (watching || typeof document === "undefined") return;
  watching = true;
  document.addEventListener("keydown", (e) => (tabbing = e.key === "Tab"), true);
  document.addEventListener("pointerdown", () => (tabbing = false), true);
}

export function lastMoveWasTab(): boolean {
  return tabbing;
}

/** "reduce" when the user asked for less motion (prefers-reduced-motion). */
export function prefersReducedMotion(): boolean {
  return typeof window !== "undefined" && typeof window.matchMedia === "function" && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}
