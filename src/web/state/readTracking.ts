/**
 * Read tracking: a room's read position moves only when a message is
 * actually on screen in a visible, focused tab, never merely because the
 * page loaded. The rules are pure functions (unit-tested); ReadTracker binds
 * them to the DOM with an IntersectionObserver on the message rows
 * (`[data-seq]`) and re-checks when the tab gains focus or becomes visible.
 */

/** The tab can read: it is visible and has focus (a background window does not read). */
export interface Attention {
  visible: boolean;
  focused: boolean;
}

/**
 * The seq to mark read, or null: the newest message seq on screen, if the tab
 * has attention and it is past the read position. When the newest message of
 * the room is on screen, the whole room up to `lastSeq` counts as read (so
 * trailing membership events leave nothing unread).
 */
export function seqToMarkRead(
  visibleSeqs: Iterable<number>,
  room: { lastSeq: number; lastReadSeq: number; lastMessageSeq: number | null },
  attention: Attention,
): number | null {
  if (!attention.visible || !attention.focused) return null;
  let newest = -1;
  for (const seq of visibleSeqs) if (seq > newest) newest = seq;
  if (newest < 0) return null;
  const target = room.lastMessageSeq !== null && newest >= room.lastMessageSeq ? Math.max(newest, room.lastSeq) : newest;
  return target > room.lastReadSeq ? target : null;
}

/** The browser's view of attention. */
export function documentAttention(doc: Pick<Document, "visibilityState" | "hasFocus">): Attention {
  return { visible: doc.visibilityState === "visible", focused: doc.hasFocus() };
}

/** Watches the timeline's message rows under `root`; calls `check(visibleSeqs)` when what is on screen, or the tab's attention, changes. */
export class ReadTracker {
  private readonly visible = new Set<number>();
  private readonly observed = new WeakSet<Element>();
  private readonly observer: IntersectionObserver;
  private readonly recheck = (): void => this.check(this.visible);

  constructor(
    private readonly root: HTMLElement,
    private readonly check: (visibleSeqs: ReadonlySet<number>) => void,
  ) {
    // A row counts when most of it is inside the scroller's viewport.
    this.observer = new IntersectionObserver((entries) => this.onEntries(entries), { root, threshold: 0.6 });
    window.addEventListener("focus", this.recheck);
    document.addEventListener("visibilitychange", this.recheck);
    this.scan();
  }

  /** Starts observing rows rendered since the last scan (call after each render of the list). */
  scan(): void {
    // The room's timeline only: a side panel (a thread) showing a later seq does not read the timeline up to it.
    for (const el of this.root.querySelectorAll<HTMLElement>('[data-testid="message-list"] [data-seq]')) {
      if (this.observed.has(el)) continue;
      this.observed.add(el);
      this.observer.observe(el);
    }
  }

  /** Re-evaluates now (the room's read position changed). */
  poke(): void {
    this.recheck();
  }

  disconnect(): void {
    this.observer.disconnect();
    window.removeEventListener("focus", this.recheck);
    document.removeEventListener("visibilitychange", this.recheck);
  }

  private onEntries(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const seq = Number((entry.target as HTMLElement).dataset.seq);
      if (!Number.isFinite(seq)) continue;
      // A row removed from the DOM reports not intersecting; keyed by seq, so a re-render keeps its state.
      if (entry.isIntersecting && entry.target.isConnected) this.visible.add(seq);
      else this.visible.delete(seq);
    }
    this.check(this.visible);
  }
}
