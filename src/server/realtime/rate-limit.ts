/**
 * A token bucket per socket: `perSecond` commands sustained, bursts of 4×.
 * Over it a command is refused with `rate_limited`; a client that keeps
 * sending while refused (ten bursts' worth within one refill window) is
 * flooding and gets closed (DESIGN.md invariant 5 allows that one close).
 */
export class CommandRateLimit {
  private tokens: number;
  private refused = 0;
  private last: number;
  private readonly capacity: number;

  /** `now` returns milliseconds; injectable for tests. */
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(4 * perSecond, 10);
    this.tokens = this.capacity;
    this.last = now();
  }

  take(): "ok" | "limited" | "flood" {
    const now = this.now();
    const elapsed = (now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perSecond);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refused = Math.max(0, this.refused - elapsed * this.perSecond);
      return "ok";
    }
    this.refused += 1;
    return this.refused > 10 * this.capacity ? "flood" : "limited";
  }
}
