/**
 * Per-room seq cursors: "apply by seq, never twice" (DESIGN.md invariant 4).
 *
 * Room events normally arrive in seq order, but not always: after a
 * reconnect the server may deliver a live event before the replay of the
 * events missed while away. A plain "ignore anything ≤ the highest seq seen"
 * would then drop the replayed ones. So a cursor keeps a floor (every seq up
 * to it has been applied) plus the few seqs above the floor that were
 * applied out of order; the floor is what `resume` reports to the server.
 */

export interface SeqCursor {
  /** Every event with seq ≤ floor has been applied (or is known to be skipped). */
  readonly floor: number;
  /** Seqs above the floor already applied, ascending. */
  readonly above: readonly number[];
}

export function cursorAt(floor: number): SeqCursor {
  return { floor, above: [] };
}

/**
 * Admits an event: `fresh` is false when it was applied before (so the
 * caller must ignore it), true otherwise, with the cursor that records it.
 */
export function admit(cursor: SeqCursor, seq: number): { cursor: SeqCursor; fresh: boolean } {
  if (seq <= cursor.floor || cursor.above.includes(seq)) return { cursor, fresh: false };
  let floor = cursor.floor;
  const above = [...cursor.above, seq].sort((a, b) => a - b);
  // Close the gap: everything contiguous from the floor moves into it.
  while (above[0] === floor + 1) {
    floor += 1;
    above.shift();
  }
  return { cursor: { floor, above }, fresh: true };
}

/**
 * The server says everything up to `seq` has been delivered (resume ack):
 * the floor moves up, even over seqs this client never saw (event types it
 * does not know), so later resumes do not ask for them again.
 */
export function catchUp(cursor: SeqCursor, seq: number): SeqCursor {
  if (seq <= cursor.floor) return cursor;
  let floor = seq;
  const above = cursor.above.filter((s) => s > seq);
  while (above[0] === floor + 1) {
    floor += 1;
    above.shift();
  }
  return { floor, above };
}

/** Highest seq applied so far. */
export function highestSeq(cursor: SeqCursor): number {
  return cursor.above.length > 0 ? (cursor.above[cursor.above.length - 1] ?? cursor.floor) : cursor.floor;
}
