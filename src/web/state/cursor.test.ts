import { describe, expect, it } from "vitest";
import { admit, catchUp, cursorAt, highestSeq, type SeqCursor } from "./cursor";

function admitAll(cursor: SeqCursor, seqs: number[]): { cursor: SeqCursor; fresh: number[] } {
  const fresh: number[] = [];
  for (const seq of seqs) {
    const result = admit(cursor, seq);
    if (result.fresh) fresh.push(seq);
    cursor = result.cursor;
  }
  return { cursor, fresh };
}

describe("seq cursor", () => {
  it("applies in-order events once and ignores replays at or below the floor", () => {
    const { cursor, fresh } = admitAll(cursorAt(3), [2, 3, 4, 5, 5, 4]);
    expect(fresh).toEqual([4, 5]);
    expect(cursor).toEqual({ floor: 5, above: [] });
  });

  it("keeps a live event that overtook the resume replay, and still applies the replay", () => {
    // Client had 5; live 8 arrives first, then the replay 6, 7, 8.
    const { cursor, fresh } = admitAll(cursorAt(5), [8, 6, 7, 8]);
    expect(fresh).toEqual([8, 6, 7]);
    expect(cursor).toEqual({ floor: 8, above: [] });
    expect(highestSeq(cursor)).toBe(8);
  });

  it("reports the contiguous floor for resume while a gap is open", () => {
    const { cursor } = admitAll(cursorAt(1), [2, 4, 5]);
    expect(cursor.floor).toBe(2);
    expect(highestSeq(cursor)).toBe(5);
  });

  it("lets a resume ack close a gap left by events it could not parse", () => {
    let { cursor } = admitAll(cursorAt(1), [2, 4]);
    cursor = catchUp(cursor, 3);
    expect(cursor).toEqual({ floor: 4, above: [] });
    expect(admit(cursor, 3).fresh).toBe(false);
    expect(catchUp(cursor, 2)).toBe(cursor);
  });
});
