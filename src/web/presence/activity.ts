/**
 * This tab's activity for presence: idle after IDLE_AFTER_MS without input,
 * or at once when the tab is hidden; active again on input while visible.
 * Each tab has its own socket, and the server counts a user online while any
 * socket is active, so "away" means every tab is hidden or untouched.
 */

/** Minutes without input before this tab says it is idle. */
export const IDLE_AFTER_MS = 5 * 60_000;
/** Input events are looked at no more than this often (mousemove fires a lot). */
const INPUT_THROTTLE_MS = 1_000;

/**
 * Watches the document and calls `report` on each change (not on every
 * event). Returns the function that stops watching.
 */
export function watchActivity(report: (state: "active" | "idle") => void, doc: Document = document, idleAfterMs = IDLE_AFTER_MS): () => void {
  let state: "active" | "idle" = doc.visibilityState === "hidden" ? "idle" : "active";
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastInput = 0;
  const set = (next: "active" | "idle") => {
    if (next === state) return;
    state = next;
    report(next);
  };
  const arm = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => set("idle"), idleAfterMs);
  };
  const onInput = () => {
    const now = Date.now();
    if (now - lastInput < INPUT_THROTTLE_MS) return;
    lastInput = now;
    if (doc.visibilityState === "hidden") return;
    set("active");
    arm();
  };
  const onVisibility = () => {
    if (doc.visibilityState === "hidden") set("idle");
    else {
      set("active");
      arm();
    }
  };
  const inputs = ["keydown", "pointerdown", "pointermove", "wheel", "focus"] as const;
  for (const e of inputs) doc.addEventListener(e, onInput, { passive: true, capture: true });
  doc.addEventListener("visibilitychange", onVisibility);
  if (state === "idle") report("idle");
  else arm();
  return () => {
    if (timer !== null) clearTimeout(timer);
    for (const e of inputs) doc.removeEventListener(e, onInput, { capture: true });
    doc.removeEventListener("visibilitychange", onVisibility);
  };
}
