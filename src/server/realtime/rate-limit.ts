/**
 * Token buckets per socket: `perSecond` frames and `bytesPerSecond` bytes
 * sustained, bursts of 4× each. A frame that either bucket cannot pay for is
 * refused with `rate_limited`, before it is parsed; a client that keeps
 * sending while refused (ten bursts' worth of frames within one refill
 * window) is flooding and gets closed (DESIGN.md invariant 5 allows that one close).
 */
export class CommandRateLimit {
  private tokens: number;
  private byteTokens: number;
  private refused = 0;
  private last: number;
  private readonly capacity: number;
  private readonly byteCapacity: number;

  /**
   * `perSecond` frames and `bytesPerSecond` bytes (Infinity: no byte limit);
   * `now` returns milliseconds, injectable for tests.
   */
  constructor(
    private readonly perSecond: number,
    private readonly bytesPerSecond: number = Infinity,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(4 * perSecond, 10);
    this.byteCapacity = 4 * bytesPerSecond;
    this.tokens = this.capacity;
    this.byteTokens = this.byteCapacity;
    this.last = now();
  }

  /** Counts one frame of `bytes` bytes (its payload length, before any decoding). */
  take(bytes = 0): "ok" | "limited" | "flood" {
    const now = this.now();
    const elapsed = (now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perSecond);
    // Guarded: 0 × Infinity is NaN.
    if (elapsed > 0) this.byteTokens = Math.min(this.byteCapacity, this.byteTokens + elapsed * this.bytesPerSecond);
    this.refused = Math.max(0, this.refused - elapsed * this.perSecond);
    if (this.tokens >= 1 && this.byteTokens >= bytes) {
      this.tokens -= 1;
      this.byteTokens -= bytes;
      return "ok";
    }
    this.refused += 1;
    return this.refused > 10 * this.capacity ? "flood" : "limited";
  }
}

/**
 * Malformed frames a socket may send: `perMinute` in any minute
 * (a token bucket of that size, refilled at that rate). Past it the socket
 * is closed with 1008: a client that keeps sending what it was told is
 * wrong is broken or probing, and each refusal costs the server an answer.
 */
export class InvalidFrameLimit {
  private tokens: number;
  private last: number;

  /** `now` returns milliseconds; injectable for tests. */
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perMinute;
    this.last = now();
  }

  /** Counts one bad frame; true when the socket is past its budget and must be closed. */
  count(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens < 0;
  }
}
